"""MusicBrainz WS/2 client: HTTP and parsing only.

Every call goes through :class:`sidetrack.http.ServiceHttp` (one session, timeouts,
retries, shared rate limiter, one error tree) and returns frozen dataclasses.
Settings are read by ``metadata.providers.get_musicbrainz_client``, never here.

API reference: https://musicbrainz.org/doc/MusicBrainz_API (search, lookup, browse).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sidetrack.http.errors import UnavailableError
from sidetrack.http.options import HttpOptions
from sidetrack.http.transport import ServiceHttp
from sidetrack.parsing import as_list, lenient_int, parse_mbid

logger = logging.getLogger(__name__)

SERVICE = "musicbrainz"
MAX_LIMIT = 100  # search and browse both cap `limit` at 100

T = TypeVar("T")


# --- Results ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArtistCreditPart:
    artist_mbid: str | None
    artist_name: str
    artist_sort_name: str | None
    credited_name: str  # the name as printed on this release/recording
    join_phrase: str
    disambiguation: str


@dataclass(frozen=True, slots=True)
class Artist:
    mbid: str
    name: str
    sort_name: str | None
    type: str | None
    country: str | None
    disambiguation: str
    score: int | None  # search relevance 0-100; None for lookups


@dataclass(frozen=True, slots=True)
class ReleaseGroup:
    mbid: str
    title: str
    primary_type: str | None
    secondary_types: tuple[str, ...]
    first_release_date: str | None
    disambiguation: str
    artist_credit: tuple[ArtistCreditPart, ...]
    score: int | None


@dataclass(frozen=True, slots=True)
class Track:
    mbid: str | None
    number: str | None  # as printed ("A1", "4"); position is the 1-based index
    position: int | None
    title: str
    length_ms: int | None
    recording_mbid: str | None
    recording_title: str | None
    recording_length_ms: int | None
    # The track's own credit (a compilation's tracks differ from the release's);
    # empty when MusicBrainz sent none.
    artist_credit: tuple[ArtistCreditPart, ...] = ()


@dataclass(frozen=True, slots=True)
class Medium:
    position: int | None
    format: str | None
    track_count: int
    title: str | None
    tracks: tuple[Track, ...]


@dataclass(frozen=True, slots=True)
class Release:
    mbid: str
    title: str
    date: str | None
    country: str | None
    status: str | None
    barcode: str | None  # "" means "has no barcode", None means unknown (MusicBrainz's convention)
    release_group_mbid: str | None
    artist_credit: tuple[ArtistCreditPart, ...]
    media: tuple[Medium, ...]
    disambiguation: str = ""


@dataclass(frozen=True, slots=True)
class RecordingRelease:
    mbid: str
    title: str
    status: str | None
    date: str | None
    country: str | None
    release_group_mbid: str | None
    primary_type: str | None
    secondary_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Recording:
    mbid: str
    title: str
    length_ms: int | None
    disambiguation: str
    video: bool
    first_release_date: str | None
    artist_credit: tuple[ArtistCreditPart, ...]
    releases: tuple[RecordingRelease, ...]
    isrcs: tuple[str, ...]
    score: int | None


@dataclass(frozen=True, slots=True)
class SearchPage(Generic[T]):
    count: int  # total hits on the server, not len(items)
    offset: int
    items: tuple[T, ...]


def render_artist_credit(credit: Iterable[ArtistCreditPart]) -> str:
    """Display string of a credit: each credited name followed by its join phrase."""
    return "".join(part.credited_name + part.join_phrase for part in credit)


# --- Lenient value parsing (pure) ---------------------------------------------

_PARTIAL_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse_partial_date(value: Any) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as given; anything else (empty, ``??``) → None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _PARTIAL_DATE_RE.match(text)
    if match is None:  # also rejects "", "1997-??-??" and "????"
        return None
    year, month, day = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        return None
    if day is not None:
        try:
            dt.date(int(year), int(month), int(day))
        except ValueError:
            return None
    return text


def parse_score(value: Any) -> int | None:
    # Some clients have seen `score` as a string; accept both, reject the rest.
    score = lenient_int(value)
    return score if score is not None and 0 <= score <= 100 else None


def _length(value: Any) -> int | None:
    length = lenient_int(value)
    return length if length is not None and length > 0 else None


def _text(value: Any) -> str | None:
    """Non-empty string or None."""
    if isinstance(value, str) and value.strip():
        return value
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in as_list(value) if isinstance(item, str) and item)


# --- Payload parsing (pure) ---------------------------------------------------


def parse_artist_credit(value: Any) -> tuple[ArtistCreditPart, ...]:
    parts = []
    for raw in as_list(value):
        item = _dict(raw)
        artist = _dict(item.get("artist"))
        artist_name = _str(artist.get("name")) or _str(item.get("name"))
        parts.append(
            ArtistCreditPart(
                artist_mbid=parse_mbid(artist.get("id")),
                artist_name=artist_name,
                artist_sort_name=_text(artist.get("sort-name")),
                credited_name=_str(item.get("name")) or artist_name,
                join_phrase=_str(item.get("joinphrase")),
                disambiguation=_str(artist.get("disambiguation")),
            )
        )
    return tuple(parts)


def parse_artist(data: Any) -> Artist | None:
    data = _dict(data)
    mbid = parse_mbid(data.get("id"))
    if mbid is None:
        return None
    return Artist(
        mbid=mbid,
        name=_str(data.get("name")),
        sort_name=_text(data.get("sort-name")),
        type=_text(data.get("type")),
        country=_text(data.get("country")),
        disambiguation=_str(data.get("disambiguation")),
        score=parse_score(data.get("score")),
    )


def parse_release_group(data: Any) -> ReleaseGroup | None:
    data = _dict(data)
    mbid = parse_mbid(data.get("id"))
    if mbid is None:
        return None
    return ReleaseGroup(
        mbid=mbid,
        title=_str(data.get("title")),
        primary_type=_text(data.get("primary-type")),
        secondary_types=_strings(data.get("secondary-types")),
        first_release_date=parse_partial_date(data.get("first-release-date")),
        disambiguation=_str(data.get("disambiguation")),
        artist_credit=parse_artist_credit(data.get("artist-credit")),
        score=parse_score(data.get("score")),
    )


def parse_track(data: Any) -> Track:
    data = _dict(data)
    recording = _dict(data.get("recording"))
    return Track(
        mbid=parse_mbid(data.get("id")),
        number=_text(data.get("number")),
        position=lenient_int(data.get("position")),
        title=_str(data.get("title")) or _str(recording.get("title")),
        length_ms=_length(data.get("length")),
        recording_mbid=parse_mbid(recording.get("id")),
        recording_title=_text(recording.get("title")),
        recording_length_ms=_length(recording.get("length")),
        artist_credit=parse_artist_credit(
            data.get("artist-credit") or recording.get("artist-credit")
        ),
    )


def parse_medium(data: Any) -> Medium:
    data = _dict(data)
    # Lookups and browses say "tracks"; search results embed a partial "track" list.
    tracks = tuple(parse_track(t) for t in as_list(data.get("tracks") or data.get("track")))
    track_count = lenient_int(data.get("track-count"))
    return Medium(
        position=lenient_int(data.get("position")),
        format=_text(data.get("format")),
        track_count=track_count if track_count is not None else len(tracks),
        title=_text(data.get("title")),
        tracks=tracks,
    )


def parse_release(data: Any, *, release_group_mbid: str | None = None) -> Release | None:
    data = _dict(data)
    mbid = parse_mbid(data.get("id"))
    if mbid is None:
        return None
    barcode = data.get("barcode")
    return Release(
        mbid=mbid,
        title=_str(data.get("title")),
        date=parse_partial_date(data.get("date")),
        country=_text(data.get("country")),
        status=_text(data.get("status")),
        barcode=barcode if isinstance(barcode, str) else None,
        release_group_mbid=parse_mbid(_dict(data.get("release-group")).get("id"))
        or release_group_mbid,
        artist_credit=parse_artist_credit(data.get("artist-credit")),
        media=tuple(parse_medium(m) for m in as_list(data.get("media"))),
        disambiguation=_str(data.get("disambiguation")),
    )


def parse_recording_release(data: Any) -> RecordingRelease | None:
    data = _dict(data)
    mbid = parse_mbid(data.get("id"))
    if mbid is None:
        return None
    group = _dict(data.get("release-group"))
    return RecordingRelease(
        mbid=mbid,
        title=_str(data.get("title")),
        status=_text(data.get("status")),
        date=parse_partial_date(data.get("date")),
        country=_text(data.get("country")),
        release_group_mbid=parse_mbid(group.get("id")),
        primary_type=_text(group.get("primary-type")),
        secondary_types=_strings(group.get("secondary-types")),
    )


def parse_recording(data: Any) -> Recording | None:
    data = _dict(data)
    mbid = parse_mbid(data.get("id"))
    if mbid is None:
        return None
    return Recording(
        mbid=mbid,
        title=_str(data.get("title")),
        length_ms=_length(data.get("length")),
        disambiguation=_str(data.get("disambiguation")),
        video=data.get("video") is True,  # search hits carry null
        first_release_date=parse_partial_date(data.get("first-release-date")),
        artist_credit=parse_artist_credit(data.get("artist-credit")),
        releases=_parse_all(data.get("releases"), parse_recording_release),
        isrcs=_strings(data.get("isrcs")),
        score=parse_score(data.get("score")),
    )


def _parse_all(items: Any, parse: Callable[[Any], T | None]) -> tuple[T, ...]:
    parsed = []
    for item in as_list(items):
        result = parse(item)
        if result is None:
            logger.debug("skipping a MusicBrainz entity without a valid id")
            continue
        parsed.append(result)
    return tuple(parsed)


# --- Lucene query building (pure) ---------------------------------------------

# https://lucene.apache.org/core/4_3_0/queryparser/org/apache/lucene/queryparser/classic/package-summary.html#Escaping_Special_Characters
# `&&` and `||` are covered by escaping every `&` and `|`.
_LUCENE_SPECIAL = frozenset('+-&|!(){}[]^"~*?:\\/')
_OPERATOR_WORD_RE = re.compile(r"\b(AND|OR|NOT)\b")


def lucene_escape(value: str) -> str:
    """Escape Lucene syntax in a user value and lower-case bare AND/OR/NOT words.

    Lower-casing (as musicbrainzngs does) stops "Rock AND Roll" from being read as
    an operator; the search analyzers are case-insensitive, so matching is unchanged.
    """
    escaped = "".join("\\" + char if char in _LUCENE_SPECIAL else char for char in value)
    return _OPERATOR_WORD_RE.sub(lambda m: m.group(1).lower(), escaped)


def build_query(*clauses: str, **fields: str | None) -> str:
    """``field:(escaped terms)`` for each non-blank field, joined with AND.

    Blank or None values are skipped (a source often lacks an album or artist);
    ``ValueError`` if nothing is left to search for. ``clauses`` are appended
    verbatim, for pre-built syntax such as a date range.
    """
    parts = []
    for field, value in fields.items():
        terms = " ".join((value or "").split())  # collapse newlines/tabs/runs of spaces
        if terms:
            # Loose field:(terms) rather than a quoted phrase: source noise like
            # "(Remastered)" lowers the score instead of excluding the right hit.
            parts.append(f"{field}:({lucene_escape(terms)})")
    if not parts:
        raise ValueError("a MusicBrainz search needs at least one non-blank field")
    return " AND ".join([*parts, *clauses])


def first_release_year_clause(year: int) -> str:
    """Release-group filter on ``firstreleasedate`` for one year.

    The search server indexes dates as Solr ``DateRangeField`` (metabrainz/mbsssss
    common/fieldtypes.xml), which takes ranges and truncated dates but not
    wildcards, so ``firstreleasedate:1997*`` is unsafe; the range below matches
    "1997", "1997-05" and "1997-05-12" alike (and would also work on a string field).
    Field listed under Release Group in https://musicbrainz.org/doc/MusicBrainz_API/Search.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise ValueError(f"year must be an integer between 1 and 9999, not {year!r}")
    return f"firstreleasedate:[{year:04d} TO {year:04d}-12-31]"


# --- Client -------------------------------------------------------------------


def _require_mbid(value: str, what: str) -> str:
    mbid = parse_mbid(value)
    if mbid is None:
        raise ValueError(f"{what} must be a MusicBrainz id (UUID), not {value!r}")
    return mbid


def _check_paging(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, not {offset}")


def _malformed(what: str) -> UnavailableError:
    return UnavailableError(
        f"malformed MusicBrainz {what} response", service=SERVICE, retryable=True
    )


class MusicBrainzClient:
    """Search, lookup and browse on MusicBrainz WS/2 (JSON)."""

    def __init__(
        self,
        *,
        base_url: str,
        options: HttpOptions,
    ) -> None:
        self.http = ServiceHttp(
            service=SERVICE,
            base_url=base_url,
            options=options,
        )

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        response = self.http.get_json(path, {**params, "fmt": "json"})
        if not isinstance(response.data, Mapping):
            raise _malformed(path.split("/", 1)[0])
        return response.data

    def _search(
        self,
        entity: str,
        key: str,
        query: str,
        limit: int,
        offset: int,
        parse: Callable[[Any], T | None],
    ) -> SearchPage[T]:
        _check_paging(limit, offset)
        data = self._get(f"{entity}/", {"query": query, "limit": limit, "offset": offset})
        count = lenient_int(data.get("count"))
        page_offset = lenient_int(data.get("offset"))
        return SearchPage(
            count=count if count is not None else 0,
            offset=page_offset if page_offset is not None else offset,
            items=_parse_all(data.get(key), parse),
        )

    def _lookup(
        self, entity: str, mbid: str, inc: Sequence[str], parse: Callable[[Any], T | None]
    ) -> T:
        mbid = _require_mbid(mbid, f"{entity} id")
        params = {"inc": "+".join(inc)} if inc else {}
        # A merged MBID answers with the canonical entity: callers get the body's id.
        result = parse(self._get(f"{entity}/{mbid}", params))
        if result is None:
            raise _malformed(entity)
        return result

    # Release groups

    def search_release_groups(
        self, artist: str, title: str, *, year: int | None = None, limit: int = 25, offset: int = 0
    ) -> SearchPage[ReleaseGroup]:
        clauses = [first_release_year_clause(year)] if year is not None else []
        query = build_query(*clauses, releasegroup=title, artist=artist)
        return self._search(
            "release-group", "release-groups", query, limit, offset, parse_release_group
        )

    def lookup_release_group(self, mbid: str) -> ReleaseGroup:
        return self._lookup("release-group", mbid, ("artist-credits",), parse_release_group)

    # Releases

    def browse_releases(self, release_group_mbid: str, *, page_size: int = 100) -> list[Release]:
        """Every release of a release group, with media, tracks and recordings.

        A page that includes tracks is cut at ~500 tracks (never mid-release), so it
        may hold fewer releases than ``limit``: advance by what arrived and stop at
        ``release-count``. https://musicbrainz.org/doc/MusicBrainz_API#Browse
        """
        group = _require_mbid(release_group_mbid, "release group id")
        _check_paging(page_size, 0)
        releases: list[Release] = []
        offset = 0
        while True:
            data = self._get(
                "release/",
                {
                    "release-group": group,
                    "inc": "recordings+media+artist-credits",
                    "limit": page_size,
                    "offset": offset,
                },
            )
            page = as_list(data.get("releases"))
            if not page:  # never loop on an empty page, whatever release-count says
                break
            releases.extend(
                _parse_all(page, lambda item: parse_release(item, release_group_mbid=group))
            )
            offset += len(page)
            total = lenient_int(data.get("release-count"))
            if total is not None and offset >= total:
                break
        return releases

    def lookup_release(
        self,
        mbid: str,
        *,
        inc: Sequence[str] = ("recordings", "artist-credits", "release-groups", "media"),
    ) -> Release:
        return self._lookup("release", mbid, inc, parse_release)

    # Artists

    def search_artists(self, name: str, *, limit: int = 25, offset: int = 0) -> SearchPage[Artist]:
        query = build_query(artist=name)
        return self._search("artist", "artists", query, limit, offset, parse_artist)

    def lookup_artist(self, mbid: str) -> Artist:
        return self._lookup("artist", mbid, (), parse_artist)

    # Recordings

    def search_recordings(
        self,
        title: str,
        artist: str,
        *,
        release: str | None = None,
        limit: int = 25,
        offset: int = 0,
    ) -> SearchPage[Recording]:
        query = build_query(recording=title, artist=artist, release=release)
        return self._search("recording", "recordings", query, limit, offset, parse_recording)

    def search_recordings_by_ids(
        self, mbids: Sequence[str], *, limit: int = 100
    ) -> SearchPage[Recording]:
        """The recordings with these MBIDs, with their releases, in one search
        (``rid:(a OR b …)``): where one lookup per MBID would cost one request each.
        A merged-away MBID is not found; only a lookup follows merges."""
        ids = [_require_mbid(mbid, "recording id") for mbid in mbids]
        if not ids:
            raise ValueError("a MusicBrainz search needs at least one recording id")
        query = "rid:(" + " OR ".join(lucene_escape(mbid) for mbid in ids) + ")"
        return self._search("recording", "recordings", query, limit, 0, parse_recording)

    def lookup_recording(
        self,
        mbid: str,
        *,
        inc: Sequence[str] = ("artist-credits", "releases", "release-groups", "isrcs"),
    ) -> Recording:
        return self._lookup("recording", mbid, inc, parse_recording)
