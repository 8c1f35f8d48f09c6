"""Last.fm API 2.0 client: HTTP and parsing only.

Reads ``user.getRecentTracks``, ``user.getTopArtists`` and ``user.getTopAlbums``
into frozen dataclasses, and trades a web-authentication token for its session
(``auth.getSession``, signed with the API secret). Last.fm reports errors as
``{"error": N, "message": ...}`` under any HTTP status, including 200, so every body goes through
:func:`check_lastfm_body` before it is parsed.
https://www.last.fm/api/errorcodes
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import requests

from sidetrack.http.errors import (
    AuthError,
    ExternalApiError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from sidetrack.http.options import HttpOptions
from sidetrack.http.transport import ServiceHttp
from sidetrack.parsing import lenient_int, parse_mbid, stripped

SERVICE = "lastfm"
MAX_RECENT_TRACKS_LIMIT = 200
PERIODS = frozenset({"overall", "7day", "1month", "3month", "6month", "12month"})

# Error codes by what a caller should do about them (API_NOTES.md, Last.fm section).
TRANSIENT_CODES = frozenset({8, 11, 16})
RATE_LIMITED_CODE = 29
AUTH_CODES = frozenset({4, 9, 10, 13, 14, 17, 26})
INVALID_PARAMS_CODE = 6
# Parameters Last.fm leaves out of api_sig (https://www.last.fm/api/authspec, section 8).
UNSIGNED_PARAMS = frozenset({"format", "callback", "api_sig"})
# Error 6 covers both "invalid parameters" and the several wordings of an unknown user.
_USER_NOT_FOUND_RE = re.compile(r"(?i)\buser\b.*\bnot\s+(?:be\s+)?found\b|\bno user\b")


class LastfmTrack(NamedTuple):
    """One scrobble (or the now-playing item). A named tuple: a history is parsed
    into one per listen, and a tuple is made in a fifth of a dataclass's time."""

    artist_name: str
    artist_mbid: str | None
    track_name: str
    track_mbid: str | None
    album_name: str | None
    album_mbid: str | None
    listened_at: datetime | None  # UTC; None for the now-playing item
    now_playing: bool
    loved: bool | None  # only with extended=1
    url: str | None
    raw: Mapping[str, Any]  # the item as decoded


@dataclass(frozen=True)
class RecentTracksPage:
    user: str
    page: int
    per_page: int
    total_pages: int | None  # None when the answer has no @attr block
    total: int | None
    tracks: tuple[LastfmTrack, ...]  # scrobbles only, newest first
    now_playing: LastfmTrack | None
    # Items that are neither a scrobble with a usable date nor the now-playing item.
    malformed: tuple[Any, ...] = ()


@dataclass(frozen=True)
class TopArtist:
    name: str
    mbid: str | None
    playcount: int
    rank: int | None
    url: str | None


@dataclass(frozen=True)
class TopAlbum:
    name: str
    mbid: str | None
    artist_name: str
    artist_mbid: str | None
    playcount: int
    rank: int | None
    url: str | None


@dataclass(frozen=True)
class TopArtistsPage:
    user: str
    period: str
    page: int
    per_page: int
    total_pages: int | None
    total: int | None
    items: tuple[TopArtist, ...]


@dataclass(frozen=True)
class TopAlbumsPage:
    user: str
    period: str
    page: int
    per_page: int
    total_pages: int | None
    total: int | None
    items: tuple[TopAlbum, ...]


@dataclass(frozen=True)
class AuthSession:
    """``auth.getSession``'s answer: the Last.fm user who approved the token."""

    name: str
    key: str = field(repr=False)  # the session key: Sidetrack keeps none, never shows it
    subscriber: bool


class LastfmClient:
    """Read-only Last.fm client over one :class:`ServiceHttp` session."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        base_url: str,
        options: HttpOptions,
    ) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        # The secret is only needed for signed (write) calls; it is registered so
        # that it is redacted wherever it might show up.
        self.http = ServiceHttp(
            service=SERVICE,
            base_url=base_url,
            options=options,
            secrets=(api_key, api_secret),
        )

    def __repr__(self) -> str:
        return f"LastfmClient(base_url={self.http.base_url!r})"

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, root: str, params: Mapping[str, Any]) -> Any:
        query = {"method": method, **params, "format": "json", "api_key": self._api_key}

        def check(data: Any, response: requests.Response) -> None:
            check_lastfm_body(data, response)
            if response.status_code < 400:
                _root(data, root, method)  # wrong shape: retried like a transient error

        return self.http.get_json("", query, check_body=check).data

    def get_session(self, token: str) -> AuthSession:
        """The session of the user who approved ``token`` on Last.fm's auth page
        (https://www.last.fm/api/webauth, https://www.last.fm/api/show/auth.getSession).
        A token is good for one session, within an hour of being made."""
        if not self._api_secret:
            raise ValueError("auth.getSession is signed: the client needs the API secret")
        params = {"method": "auth.getSession", "token": token, "api_key": self._api_key}
        query = {**params, "api_sig": api_signature(params, self._api_secret), "format": "json"}

        def check(data: Any, response: requests.Response) -> None:
            check_lastfm_body(data, response)
            if response.status_code < 400:
                _root(data, "session", "auth.getSession")

        data = self.http.get_json("", query, check_body=check).data
        return parse_session(data)

    def get_recent_tracks(
        self,
        user: str,
        *,
        page: int = 1,
        limit: int = 200,
        from_ts: int | None = None,
        to_ts: int | None = None,
        extended: bool = True,
    ) -> RecentTracksPage:
        """One page of ``user``'s scrobbles, newest first, between ``from_ts`` and ``to_ts``.

        Pin ``to_ts`` for a whole run: pages shift as new scrobbles arrive.
        """
        _check_page(page)
        limit = max(1, min(limit, MAX_RECENT_TRACKS_LIMIT))
        data = self._call(
            "user.getRecentTracks",
            "recenttracks",
            {
                "user": user,
                "page": page,
                "limit": limit,
                "from": from_ts,
                "to": to_ts,
                "extended": 1 if extended else 0,
            },
        )
        return parse_recent_tracks(data, user=user, page=page, per_page=limit)

    def get_top_artists(
        self, user: str, *, period: str = "overall", page: int = 1, limit: int = 50
    ) -> TopArtistsPage:
        _check_period(period)
        _check_page(page)
        data = self._call(
            "user.getTopArtists",
            "topartists",
            {"user": user, "period": period, "page": page, "limit": limit},
        )
        return parse_top_artists(data, user=user, period=period, page=page, per_page=limit)

    def get_top_albums(
        self, user: str, *, period: str = "overall", page: int = 1, limit: int = 50
    ) -> TopAlbumsPage:
        _check_period(period)
        _check_page(page)
        data = self._call(
            "user.getTopAlbums",
            "topalbums",
            {"user": user, "period": period, "page": page, "limit": limit},
        )
        return parse_top_albums(data, user=user, period=period, page=page, per_page=limit)


def api_signature(params: Mapping[str, Any], secret: str) -> str:
    """Last.fm's ``api_sig``: md5 of each signed parameter as name+value, sorted by
    name, then the secret (https://www.last.fm/api/authspec, section 8)."""
    signed = sorted(name for name in params if name not in UNSIGNED_PARAMS)
    text = "".join(f"{name}{params[name]}" for name in signed)
    return hashlib.md5((text + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


# --- errors -----------------------------------------------------------------


def check_lastfm_body(data: Any, response: requests.Response) -> None:
    """``check_body`` hook: raise for any body carrying an ``error`` key, whatever the status."""
    if isinstance(data, dict) and "error" in data:
        raise lastfm_error(data, status=response.status_code, url=response.url)


def lastfm_error(
    data: Mapping[str, Any], *, status: int | None = None, url: str | None = None
) -> ExternalApiError:
    """The exception for a Last.fm error body."""
    code = lenient_int(data.get("error"))
    message = data.get("message")
    if not isinstance(message, str) or not message:
        message = "request failed"
    text = f"Last.fm error {code if code is not None else data.get('error')!r}: {message[:500]}"
    kwargs: dict[str, Any] = {
        "service": SERVICE,
        "status": status,
        "code": code if code is not None else str(data.get("error")),
        "url": url,
    }
    if code == RATE_LIMITED_CODE:
        return RateLimitedError(text, retryable=True, **kwargs)
    if code in TRANSIENT_CODES:
        return UnavailableError(text, retryable=True, **kwargs)
    if code in AUTH_CODES:
        return AuthError(text, **kwargs)
    if code == INVALID_PARAMS_CODE and _USER_NOT_FOUND_RE.search(message):
        return NotFoundError(text, **kwargs)
    return ExternalApiError(text, **kwargs)


def _root(data: Any, key: str, method: str) -> Mapping[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise UnavailableError(
            f"unexpected answer to {method}: no {key!r} object in the body",
            service=SERVICE,
            retryable=True,
        )
    return value


# --- parsing (pure) -------------------------------------------------------------


def parse_recent_tracks(
    data: Any, *, user: str = "", page: int = 1, per_page: int = MAX_RECENT_TRACKS_LIMIT
) -> RecentTracksPage:
    """Parse a ``user.getRecentTracks`` body; ``user``/``page``/``per_page`` fill gaps."""
    root = _root(data, "recenttracks", "user.getRecentTracks")
    attr = _attrs(root)
    tracks: list[LastfmTrack] = []
    malformed: list[Any] = []
    now_playing: LastfmTrack | None = None
    # The now-playing item comes on top of `limit`: a limit=1 page can hold 2 items.
    for item in _items(root, "track"):
        track = parse_track(item) if isinstance(item, dict) else None
        if track is None:
            malformed.append(item)
        elif track.now_playing and now_playing is None:
            now_playing = track
        elif track.listened_at is not None and not track.now_playing:
            tracks.append(track)
        else:
            malformed.append(item)
    return RecentTracksPage(
        user=stripped(attr.get("user")) or user,
        page=_page(attr, page),
        per_page=lenient_int(attr.get("perPage")) or per_page,
        total_pages=lenient_int(attr.get("totalPages")),
        total=lenient_int(attr.get("total")),
        tracks=tuple(tracks),
        now_playing=now_playing,
        malformed=tuple(malformed),
    )


def parse_session(data: Any) -> AuthSession:
    """Parse an ``auth.getSession`` body: ``{"session": {"name", "key", "subscriber"}}``."""
    root = _root(data, "session", "auth.getSession")
    name = stripped(root.get("name"))
    if not name:
        raise UnavailableError(
            "unexpected answer to auth.getSession: the session has no user name",
            service=SERVICE,
        )
    return AuthSession(
        name=name,
        key=stripped(root.get("key")),
        subscriber=lenient_int(root.get("subscriber")) == 1,
    )


def parse_track(item: Mapping[str, Any]) -> LastfmTrack:
    """One ``recenttracks.track`` item, extended (``artist.name``) or not (``artist.#text``)."""
    artist = item.get("artist")
    album = item.get("album")
    attr = item.get("@attr")
    now_playing = isinstance(attr, dict) and str(attr.get("nowplaying", "")).lower() == "true"
    return LastfmTrack(
        artist_name=_name(artist),
        artist_mbid=parse_mbid(artist.get("mbid")) if isinstance(artist, dict) else None,
        track_name=stripped(item.get("name")),
        track_mbid=parse_mbid(item.get("mbid")),
        album_name=_name(album) or None,
        album_mbid=parse_mbid(album.get("mbid")) if isinstance(album, dict) else None,
        listened_at=None if now_playing else _uts(item.get("date")),
        now_playing=now_playing,
        loved=_loved(item.get("loved")),
        url=stripped(item.get("url")) or None,
        raw=item,
    )


def parse_top_artists(
    data: Any, *, user: str = "", period: str = "overall", page: int = 1, per_page: int = 50
) -> TopArtistsPage:
    root = _root(data, "topartists", "user.getTopArtists")
    attr = _attrs(root)
    items = tuple(
        TopArtist(
            name=_name(item),
            mbid=parse_mbid(item.get("mbid")),
            playcount=lenient_int(item.get("playcount")) or 0,
            rank=_rank(item),
            url=stripped(item.get("url")) or None,
        )
        for item in _items(root, "artist")
        if isinstance(item, dict)
    )
    return TopArtistsPage(
        user=stripped(attr.get("user")) or user,
        period=stripped(attr.get("type")) or period,
        page=_page(attr, page),
        per_page=lenient_int(attr.get("perPage")) or per_page,
        total_pages=lenient_int(attr.get("totalPages")),
        total=lenient_int(attr.get("total")),
        items=items,
    )


def parse_top_albums(
    data: Any, *, user: str = "", period: str = "overall", page: int = 1, per_page: int = 50
) -> TopAlbumsPage:
    root = _root(data, "topalbums", "user.getTopAlbums")
    attr = _attrs(root)
    items = []
    for item in _items(root, "album"):
        if not isinstance(item, dict):
            continue
        artist = item.get("artist")
        items.append(
            TopAlbum(
                name=_name(item),
                mbid=parse_mbid(item.get("mbid")),
                artist_name=_name(artist),
                artist_mbid=parse_mbid(artist.get("mbid")) if isinstance(artist, dict) else None,
                playcount=lenient_int(item.get("playcount")) or 0,
                rank=_rank(item),
                url=stripped(item.get("url")) or None,
            )
        )
    return TopAlbumsPage(
        user=stripped(attr.get("user")) or user,
        period=stripped(attr.get("type")) or period,
        page=_page(attr, page),
        per_page=lenient_int(attr.get("perPage")) or per_page,
        total_pages=lenient_int(attr.get("totalPages")),
        total=lenient_int(attr.get("total")),
        items=tuple(items),
    )


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, not {period!r}")


def _check_page(page: int) -> None:
    if page < 1:
        raise ValueError(f"page numbers start at 1, not {page}")


def _attrs(root: Mapping[str, Any]) -> Mapping[str, Any]:
    # Current answers carry an "@attr" block; the 2014 empty-history answer put the
    # same keys directly on the root object.
    attr = root.get("@attr")
    return attr if isinstance(attr, dict) else root


def _items(root: Mapping[str, Any], key: str) -> list[Any]:
    # A single item comes as an object, no item at all as a missing key.
    value = root.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _page(attr: Mapping[str, Any], requested: int) -> int:
    # 2014-era answers report page "0" for the first page.
    return lenient_int(attr.get("page")) or requested


def _rank(item: Mapping[str, Any]) -> int | None:
    attr = item.get("@attr")
    return lenient_int(attr.get("rank")) if isinstance(attr, dict) else None


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return stripped(value.get("name")) or stripped(value.get("#text"))
    return stripped(value)


def _loved(value: Any) -> bool | None:
    number = lenient_int(value)
    return None if number is None else number == 1


def _uts(date: Any) -> datetime | None:
    seconds = lenient_int(date.get("uts")) if isinstance(date, dict) else None
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
