"""ListenBrainz API client: HTTP and parsing only.

Reads a user's listens and playing-now item (the MBID mapper, a metadata
lookup, lives in ``metadata.clients.mbid_mapper``).
https://listenbrainz.readthedocs.io/en/latest/users/api/

Malformed listens never raise: a listen is kept as long as it has a usable
integer ``listened_at`` (missing names become ``""``); anything else lands in
``ListensPage.malformed`` so ingest can log it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import requests

from sidetrack.http.errors import UnavailableError
from sidetrack.http.options import HttpOptions
from sidetrack.http.transport import ServiceHttp
from sidetrack.parsing import as_list, lenient_int, stripped

SERVICE = "listenbrainz"
# listenbrainz/webserver/views/api_tools.py MAX_ITEMS_PER_GET (raised from 100 to 1000
# by listenbrainz-server PR #2572).
MAX_ITEMS_PER_GET = 1000


class MalformedListenError(ValueError):
    """A listen without a usable ``listened_at`` or ``track_metadata``."""


# Named tuples: a history is parsed into one LBListen (and mapping) per listen,
# and a tuple is made in a fifth of a dataclass's time.


class MappedArtist(NamedTuple):
    artist_mbid: str | None
    credited_name: str
    join_phrase: str


class MbidMapping(NamedTuple):
    """ListenBrainz's own match of a listen to MusicBrainz (``track_metadata.mbid_mapping``)."""

    recording_mbid: str
    recording_name: str | None
    release_mbid: str | None
    artist_mbids: tuple[str, ...]
    artists: tuple[MappedArtist, ...]

    @property
    def artist_credit(self) -> str:
        """The credited artist string, e.g. ``"Lost Frequencies & Calum Scott"``."""
        return "".join(a.credited_name + a.join_phrase for a in self.artists)


class LBListen(NamedTuple):
    listened_at: datetime  # UTC
    inserted_at: datetime | None
    recording_msid: str | None
    user_name: str
    track_name: str
    artist_name: str
    release_name: str | None
    additional_info: dict[str, Any]
    duration_ms: int | None
    source_recording_mbid: str | None  # what the submitting client claimed
    mapping: MbidMapping | None  # what ListenBrainz's mapper matched
    raw: Mapping[str, Any]  # the listen as decoded


@dataclass(frozen=True)
class ListensPage:
    user: str
    count: int  # as reported by the server
    listens: tuple[LBListen, ...]  # newest first
    latest_listen_ts: int | None
    oldest_listen_ts: int | None
    malformed: tuple[Any, ...] = ()


@dataclass(frozen=True)
class NowPlaying:
    track_name: str
    artist_name: str
    release_name: str | None
    additional_info: dict[str, Any]
    source_recording_mbid: str | None
    duration_ms: int | None
    raw: dict[str, Any]


class ListenBrainzClient:
    """ListenBrainz client over one :class:`ServiceHttp` session."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        options: HttpOptions,
    ) -> None:
        self.http = ServiceHttp(
            service=SERVICE,
            base_url=base_url,
            options=options,
            secrets=(token,) if token else (),
        )
        if token:
            # A header, never a query parameter: requests don't log headers and
            # errors only show the (redacted) URL.
            self.http.session.headers["Authorization"] = f"Token {token}"

    def __repr__(self) -> str:
        return f"ListenBrainzClient(base_url={self.http.base_url!r})"

    def close(self) -> None:
        self.http.close()

    def get_listens(
        self,
        user: str,
        *,
        min_ts: int | None = None,
        max_ts: int | None = None,
        count: int = MAX_ITEMS_PER_GET,
    ) -> ListensPage:
        """Up to ``count`` listens strictly between ``min_ts`` and ``max_ts``, newest first.

        Both bounds are exclusive: paging back with ``max_ts`` = the oldest
        ``listened_at`` seen skips other listens sharing that second.
        """
        count = max(1, min(count, MAX_ITEMS_PER_GET))
        response = self.http.get_json(
            f"user/{quote(user, safe='')}/listens",
            {"count": count, "min_ts": min_ts, "max_ts": max_ts},
            check_body=_require_payload,
        )
        return parse_listens_page(response.data, user=user)

    def get_playing_now(self, user: str) -> NowPlaying | None:
        response = self.http.get_json(
            f"user/{quote(user, safe='')}/playing-now", check_body=_require_payload
        )
        return parse_playing_now(response.data)


def _require_payload(data: Any, response: requests.Response) -> None:
    # Errors come with real statuses; a 2xx without a payload object is a broken
    # answer, retried like a transient failure.
    if response.status_code < 400 and not (
        isinstance(data, dict) and isinstance(data.get("payload"), dict)
    ):
        raise UnavailableError(
            "unexpected answer: no 'payload' object in the body",
            service=SERVICE,
            status=response.status_code,
            url=response.url,
            retryable=True,
        )


# --- parsing (pure) -------------------------------------------------------------


def parse_listens_page(data: Any, *, user: str = "") -> ListensPage:
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(payload, dict):
        raise UnavailableError(
            "unexpected answer: no 'payload' object in the body", service=SERVICE, retryable=True
        )
    raw_listens = payload.get("listens")
    raw_listens = raw_listens if isinstance(raw_listens, list) else []
    listens: list[LBListen] = []
    malformed: list[Any] = []
    for item in raw_listens:
        try:
            listens.append(parse_listen(item))
        except MalformedListenError:
            malformed.append(item)
    count = lenient_int(payload.get("count"))
    return ListensPage(
        user=stripped(payload.get("user_id")) or user,
        count=count if count is not None else len(raw_listens),
        listens=tuple(listens),
        latest_listen_ts=lenient_int(payload.get("latest_listen_ts")),
        oldest_listen_ts=lenient_int(payload.get("oldest_listen_ts")),
        malformed=tuple(malformed),
    )


def parse_listen(data: Any) -> LBListen:
    """One listen from the API or a user export line; raises :class:`MalformedListenError`."""
    if not isinstance(data, dict):
        raise MalformedListenError(f"listen is a {type(data).__name__}, not an object")
    listened_at = _timestamp(data.get("listened_at"))
    if listened_at is None:
        raise MalformedListenError(f"unusable listened_at: {data.get('listened_at')!r}")
    metadata = data.get("track_metadata")
    if not isinstance(metadata, dict):
        raise MalformedListenError("missing track_metadata")
    info = _info(metadata)
    return LBListen(
        listened_at=listened_at,
        inserted_at=_inserted_at(data.get("inserted_at")),
        # top level in API answers, inside track_metadata in user exports
        recording_msid=_first_str(
            data.get("recording_msid"), metadata.get("recording_msid"), info.get("recording_msid")
        ),
        user_name=stripped(data.get("user_name")),
        track_name=stripped(metadata.get("track_name")),
        artist_name=stripped(metadata.get("artist_name")),
        release_name=stripped(metadata.get("release_name")) or None,
        additional_info=info,
        duration_ms=_duration_ms(info),
        source_recording_mbid=stripped(info.get("recording_mbid")) or None,
        mapping=parse_mbid_mapping(metadata.get("mbid_mapping")),
        raw=data,
    )


def parse_mbid_mapping(data: Any) -> MbidMapping | None:
    recording_mbid = stripped(data.get("recording_mbid")) if isinstance(data, dict) else ""
    if not recording_mbid:
        return None
    artists = tuple(
        MappedArtist(
            artist_mbid=stripped(a.get("artist_mbid")) or None,
            credited_name=stripped(a.get("artist_credit_name")),
            # join phrases carry meaningful spaces (" & "): don't strip them
            join_phrase=a.get("join_phrase") if isinstance(a.get("join_phrase"), str) else "",
        )
        for a in as_list(data.get("artists"))
        if isinstance(a, dict)
    )
    return MbidMapping(
        recording_mbid=recording_mbid,
        recording_name=stripped(data.get("recording_name")) or None,
        release_mbid=stripped(data.get("release_mbid")) or None,
        artist_mbids=tuple(m for m in map(stripped, as_list(data.get("artist_mbids"))) if m),
        artists=artists,
    )


def parse_playing_now(data: Any) -> NowPlaying | None:
    payload = data.get("payload") if isinstance(data, dict) else None
    listens = payload.get("listens") if isinstance(payload, dict) else None
    for item in listens if isinstance(listens, list) else []:
        metadata = item.get("track_metadata") if isinstance(item, dict) else None
        if isinstance(metadata, dict):
            info = _info(metadata)
            return NowPlaying(
                track_name=stripped(metadata.get("track_name")),
                artist_name=stripped(metadata.get("artist_name")),
                release_name=stripped(metadata.get("release_name")) or None,
                additional_info=info,
                source_recording_mbid=stripped(info.get("recording_mbid")) or None,
                duration_ms=_duration_ms(info),
                raw=dict(item),
            )
    return None


def _timestamp(value: Any) -> datetime | None:
    # Exports may write whole seconds as floats (1748964167.0): accept those only.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _inserted_at(value: Any) -> datetime | None:
    # Seconds (int or float) today; older servers sent an HTTP-date string.
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str) and value.strip():
            try:
                return datetime.fromtimestamp(float(value), tz=UTC)
            except ValueError:
                parsed = parsedate_to_datetime(value)
                return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    except (OverflowError, OSError, ValueError, TypeError):
        return None
    return None


def _duration_ms(info: Mapping[str, Any]) -> int | None:
    for key, factor in (("duration_ms", 1), ("duration", 1000)):
        value = info.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            number = float(value)
        except (ValueError, OverflowError):
            continue
        # A duration past ~24 days is noise (and 1e306 would overflow round()).
        if 0 < number * factor < 2**31:
            return round(number * factor)
    return None


def _info(metadata: Mapping[str, Any]) -> dict[str, Any]:
    info = metadata.get("additional_info")
    return info if isinstance(info, dict) else {}


def _first_str(*values: Any) -> str | None:
    for value in values:
        if text := stripped(value):
            return text
    return None
