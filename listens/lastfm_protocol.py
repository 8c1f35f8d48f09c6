"""Last.fm's scrobble protocol (Scrobbling 2.0) as values: reading ``track.scrobble`` and
``track.updateNowPlaying`` parameters, and writing Last.fm's answers in XML
(``<lfm status="ok">``, the default) or JSON (``format=json``). Pure: no I/O, no Django.

Shapes and codes follow https://www.last.fm/api/scrobbling, /api/show/track.scrobble
and /api/errorcodes."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import orjson

MAX_SCROBBLES_PER_REQUEST = 50
MAX_TEXT_LENGTH = 1000


class ErrorCode(enum.IntEnum):
    INVALID_METHOD = 3
    AUTH_FAILED = 4
    INVALID_FORMAT = 5
    INVALID_PARAMETERS = 6
    OPERATION_FAILED = 8
    INVALID_SESSION = 9
    INVALID_API_KEY = 10
    INVALID_SIGNATURE = 13
    TOKEN_NOT_AUTHORIZED = 14
    TOKEN_EXPIRED = 15
    SUSPENDED_API_KEY = 26
    RATE_LIMITED = 29


# HTTP statuses Last.fm answers its errors with; clients read the code in the body.
HTTP_STATUS = {
    ErrorCode.INVALID_METHOD: 400,
    ErrorCode.INVALID_FORMAT: 400,
    ErrorCode.INVALID_PARAMETERS: 400,
    ErrorCode.OPERATION_FAILED: 500,
    ErrorCode.RATE_LIMITED: 429,
}


class IgnoredCode(enum.IntEnum):
    """Why one scrobble of a batch was ignored (``ignoredMessage code``)."""

    NOT_IGNORED = 0
    ARTIST = 1
    TRACK = 2
    TIMESTAMP_TOO_OLD = 3
    TIMESTAMP_TOO_NEW = 4


IGNORED_TEXT = {
    IgnoredCode.NOT_IGNORED: "",
    IgnoredCode.ARTIST: "Artist was ignored",
    IgnoredCode.TRACK: "Track was ignored",
    IgnoredCode.TIMESTAMP_TOO_OLD: "Timestamp was too old",
    IgnoredCode.TIMESTAMP_TOO_NEW: "Timestamp was too new",
}


class ProtocolError(Exception):
    """The request is refused as a whole with Last.fm error ``code``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Scrobble:
    """One track as a client sent it (``timestamp`` None for now playing), and whether
    it is ignored and why."""

    artist: str
    track: str
    album: str = ""
    album_artist: str = ""
    timestamp: int | None = None
    duration: int | None = None
    track_number: int | None = None
    mbid: str | None = None
    ignored: IgnoredCode = IgnoredCode.NOT_IGNORED

    def listen(self, *, client: str) -> dict[str, Any]:
        """The track as a ListenBrainz-shaped listen, what the /1/ store path takes."""
        info: dict[str, Any] = {"submission_client": client}
        if self.duration:
            info["duration"] = self.duration
        if self.track_number:
            info["tracknumber"] = self.track_number
        if self.mbid:
            # Last.fm's "track mbid" is a MusicBrainz recording MBID; a hint, verified.
            info["recording_mbid"] = self.mbid
        if self.album_artist:
            info["release_artist_name"] = self.album_artist
        metadata: dict[str, Any] = {"artist_name": self.artist, "track_name": self.track}
        if self.album:
            metadata["release_name"] = self.album
        metadata["additional_info"] = info
        listen: dict[str, Any] = {"track_metadata": metadata}
        if self.timestamp is not None:
            listen["listened_at"] = self.timestamp
        return listen


_INDEXED = re.compile(r"^([A-Za-z]+)\[(\d{1,6})\]$")


def parse_scrobbles(
    params: Mapping[str, str], *, now: float, oldest: int, future_seconds: int
) -> list[Scrobble]:
    """The scrobbles of a ``track.scrobble`` request (indexed ``artist[i]``... or one
    un-indexed), in index order. A scrobble before ``oldest`` or more than
    ``future_seconds`` ahead of ``now``, or without artist or title, is ignored (with
    its code); a missing or malformed required field refuses the request."""
    indexed: dict[int, dict[str, str]] = {}
    for name, value in params.items():
        match = _INDEXED.match(name)
        if match:
            indexed.setdefault(int(match[2]), {})[match[1]] = value
    if not indexed:
        if not any(key in params for key in ("artist", "track", "timestamp")):
            raise ProtocolError(
                ErrorCode.INVALID_PARAMETERS,
                "Invalid parameters - artist[0], track[0] and timestamp[0] are required.",
            )
        indexed = {0: dict(params)}
    if len(indexed) > MAX_SCROBBLES_PER_REQUEST or max(indexed) >= MAX_SCROBBLES_PER_REQUEST:
        raise ProtocolError(
            ErrorCode.INVALID_PARAMETERS,
            f"Invalid parameters - at most {MAX_SCROBBLES_PER_REQUEST} scrobbles a request "
            f"(indices 0 to {MAX_SCROBBLES_PER_REQUEST - 1}).",
        )
    scrobbles = []
    for index in sorted(indexed):
        fields = indexed[index]
        timestamp = _timestamp(fields.get("timestamp"), f"timestamp[{index}]")
        scrobble = _scrobble(fields, index, timestamp)
        if scrobble.ignored == IgnoredCode.NOT_IGNORED:
            if timestamp < oldest:
                scrobble = _ignore(scrobble, IgnoredCode.TIMESTAMP_TOO_OLD)
            elif timestamp > now + future_seconds:
                scrobble = _ignore(scrobble, IgnoredCode.TIMESTAMP_TOO_NEW)
        scrobbles.append(scrobble)
    return scrobbles


def parse_now_playing(params: Mapping[str, str]) -> Scrobble:
    """The track of a ``track.updateNowPlaying`` request (un-indexed parameters)."""
    return _scrobble(params, None, None)


def _scrobble(fields: Mapping[str, str], index: int | None, timestamp: int | None) -> Scrobble:
    at = "" if index is None else f"[{index}]"
    for required in ("artist", "track"):
        if required not in fields:
            raise ProtocolError(
                ErrorCode.INVALID_PARAMETERS, f"Invalid parameters - {required}{at} is required."
            )
    artist, track = _text(fields.get("artist")), _text(fields.get("track"))
    scrobble = Scrobble(
        artist=artist,
        track=track,
        album=_text(fields.get("album")),
        album_artist=_text(fields.get("albumArtist")),
        timestamp=timestamp,
        duration=_small_int(fields.get("duration")),
        track_number=_small_int(fields.get("trackNumber")),
        mbid=_mbid(fields.get("mbid")),
    )
    if not artist or len(artist) > MAX_TEXT_LENGTH:
        return _ignore(scrobble, IgnoredCode.ARTIST)
    if not track or len(track) > MAX_TEXT_LENGTH:
        return _ignore(scrobble, IgnoredCode.TRACK)
    return scrobble


def _ignore(scrobble: Scrobble, code: IgnoredCode) -> Scrobble:
    return Scrobble(**{**scrobble.__dict__, "ignored": code})


def _text(value: str | None) -> str:
    # NUL cannot be stored; PostgreSQL refuses it.
    return (value or "").replace("\x00", "").strip()


def _timestamp(value: str | None, name: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise ProtocolError(
            ErrorCode.INVALID_PARAMETERS,
            f"Invalid parameters - {name} is required, UTC unix seconds.",
        ) from None


def _small_int(value: str | None) -> int | None:
    """A duration or track number: a positive integer, else left out (clients send
    ``""`` or ``0`` for unknown)."""
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    return number if 0 < number < 2**31 else None


def _mbid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID((value or "").strip()))
    except ValueError:
        return None


# --- answers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str
    status: int = 200


def _xml(root: ElementTree.Element, status: int = 200) -> Answer:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        root, encoding="utf-8", xml_declaration=False
    )
    return Answer(body, "text/xml; charset=utf-8", status)


def _json(data: Any, status: int = 200) -> Answer:
    return Answer(orjson.dumps(data), "application/json", status)


def _lfm(status: str) -> ElementTree.Element:
    return ElementTree.Element("lfm", status=status)


# Characters XML 1.0 cannot carry at all (control characters a tag may hold).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _sub(parent: ElementTree.Element, tag: str, text: str = "", **attrs: str) -> None:
    element = ElementTree.SubElement(parent, tag, **attrs)
    element.text = _NOT_XML.sub("", text)


def error_answer(code: ErrorCode, message: str, fmt: str) -> Answer:
    status = HTTP_STATUS.get(code, 403)
    if fmt == "json":
        return _json({"error": int(code), "message": message}, status)
    root = _lfm("failed")
    _sub(root, "error", message, code=str(int(code)))
    return _xml(root, status)


def token_answer(token: str, fmt: str) -> Answer:
    if fmt == "json":
        return _json({"token": token})
    root = _lfm("ok")
    _sub(root, "token", token)
    return _xml(root)


def session_answer(name: str, key: str, fmt: str) -> Answer:
    if fmt == "json":
        return _json({"session": {"name": name, "key": key, "subscriber": 0}})
    root = _lfm("ok")
    session = ElementTree.SubElement(root, "session")
    _sub(session, "name", name)
    _sub(session, "key", key)
    _sub(session, "subscriber", "0")
    return _xml(root)


def _track_fields(scrobble: Scrobble) -> list[tuple[str, str]]:
    return [
        ("track", scrobble.track),
        ("artist", scrobble.artist),
        ("album", scrobble.album),
        ("albumArtist", scrobble.album_artist),
    ]


def _json_track(scrobble: Scrobble) -> dict[str, Any]:
    body: dict[str, Any] = {
        tag: {"corrected": "0", "#text": text} for tag, text in _track_fields(scrobble)
    }
    body["ignoredMessage"] = {
        "code": str(int(scrobble.ignored)),
        "#text": IGNORED_TEXT[scrobble.ignored],
    }
    return body


def _xml_track(parent: ElementTree.Element, scrobble: Scrobble) -> None:
    for tag, text in _track_fields(scrobble):
        _sub(parent, tag, text, corrected="0")
    if scrobble.timestamp is not None:
        _sub(parent, "timestamp", str(scrobble.timestamp))
    _sub(parent, "ignoredMessage", IGNORED_TEXT[scrobble.ignored], code=str(int(scrobble.ignored)))


def now_playing_answer(scrobble: Scrobble, fmt: str) -> Answer:
    if fmt == "json":
        return _json({"nowplaying": _json_track(scrobble)})
    root = _lfm("ok")
    _xml_track(ElementTree.SubElement(root, "nowplaying"), scrobble)
    return _xml(root)


def scrobbles_answer(scrobbles: list[Scrobble], fmt: str) -> Answer:
    ignored = sum(1 for s in scrobbles if s.ignored != IgnoredCode.NOT_IGNORED)
    accepted = len(scrobbles) - ignored
    if fmt == "json":
        items = [{**_json_track(s), "timestamp": str(s.timestamp)} for s in scrobbles]
        # Last.fm answers one scrobble as an object, several as a list.
        scrobble: Any = items[0] if len(items) == 1 else items
        attr = {"accepted": accepted, "ignored": ignored}
        return _json({"scrobbles": {"scrobble": scrobble, "@attr": attr}})
    root = _lfm("ok")
    element = ElementTree.SubElement(
        root, "scrobbles", accepted=str(accepted), ignored=str(ignored)
    )
    for item in scrobbles:
        _xml_track(ElementTree.SubElement(element, "scrobble"), item)
    return _xml(root)
