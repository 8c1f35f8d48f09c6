"""What a source reported, in one shape: ``IncomingListen``, its text and payload
cleaned the way every source's is (NULs and lone surrogates dropped, secrets
redacted), whether it was polled or submitted."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from listens.clients.lastfm import LastfmTrack
from listens.clients.listenbrainz import LBListen, parse_listen
from metadata.identity import ReportedTrack
from metadata.matching import identity_key_digest, text_key_digest
from metadata.resolution import Hint
from sidetrack.http.redaction import (
    REDACTED,
    SECRET_PARAM_NAMES,
    SECRETS,
    SecretRegistry,
    redact_text,
)
from sidetrack.parsing import is_blank_name, parse_mbid


class IncomingListen(NamedTuple):
    """One listen as a source reported it, in one shape. Made with :meth:`of`.

    A named tuple rather than a frozen dataclass: ingest makes one per listen, and a
    tuple is made in a fifth of the time."""

    listened_at: datetime
    track_name: str
    artist_name: str
    album_name: str
    duration_ms: int | None
    hints: tuple[Hint, ...]
    raw_json: str  # the payload as stored: serialized, secrets redacted, NULs dropped
    track_key: str  # the text's key (metadata.matching): with the time, the listen's
    identity_key: str  # (artist, title, album, source MBID): what it resolves by

    @classmethod
    def of(
        cls,
        *,
        listened_at: datetime,
        track_name: str,
        artist_name: str,
        album_name: str,
        duration_ms: int | None,
        hints: tuple[Hint, ...],
        raw_json: str,
    ) -> IncomingListen:
        key = text_key_digest(artist_name, track_name)
        hint = hints[0].mbid if hints else None
        identity = identity_key_digest(artist_name, track_name, album_name, hint)
        return cls(
            listened_at,
            track_name,
            artist_name,
            album_name,
            duration_ms,
            hints,
            raw_json,
            key,
            identity,
        )

    @property
    def reported(self) -> ReportedTrack:
        mbid = self.hints[0].mbid if self.hints else None
        return ReportedTrack(
            self.artist_name, self.track_name, self.album_name, self.duration_ms, mbid
        )


def clean_text(text: str | None, limit: int = 5000) -> str:
    # PostgreSQL refuses NUL in text and JSON, and no database stores half an
    # emoji (a lone surrogate from a name cut short upstream).
    if not text:
        return ""
    if "\x00" in text or not text.isascii():
        text = _encodable(text.replace("\x00", ""))
    return text.strip()[:limit]


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def clean_payload(value: Any, *, secrets: SecretRegistry = SECRETS) -> Any:
    """The payload as stored: secrets redacted (as ``redact_mapping`` does), NULs
    dropped and NaN or infinities made null (PostgreSQL refuses both in JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        text = _encodable(value.replace("\x00", ""))
        return redact_text(text, secrets=secrets) if value else value
    if isinstance(value, dict):
        return {
            (key := _encodable(redact_text(str(k).replace("\x00", ""), secrets=secrets))): (
                REDACTED if key.lower() in SECRET_PARAM_NAMES else clean_payload(v, secrets=secrets)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_payload(v, secrets=secrets) for v in value]
    return value


def payload_json(raw: Any, *, secrets: SecretRegistry = SECRETS) -> str:
    """``raw`` as stored, serialized: what ``clean_payload`` would make of it.

    This runs for every listen, and almost every payload needs no cleaning: it is
    serialized once and scanned for anything cleaning could change (an escaped NUL,
    a secret's name or value, ``=`` as in ``api_key=…``). Only a payload where one
    shows up (or might), or that orjson refuses (a lone surrogate), is cleaned first.
    """
    try:
        text = orjson.dumps(raw).decode()
    except orjson.JSONEncodeError:
        text = None
    if text is None or _may_need_cleaning(text, secrets=secrets):
        cleaned = clean_payload(raw, secrets=secrets)
        try:
            text = orjson.dumps(cleaned).decode()
        except orjson.JSONEncodeError:  # an integer past 64 bits
            text = json.dumps(cleaned, ensure_ascii=False)
    return text


# A secret-named key (or value) in lower-cased serialized JSON.
_SECRET_NAME_RE = re.compile('"(?:' + "|".join(sorted(SECRET_PARAM_NAMES)) + ')"')


def _may_need_cleaning(text: str, *, secrets: SecretRegistry) -> bool:
    # Plain substring tests and a case-sensitive pattern: a case-insensitive one
    # took longer than the serializing.
    if "\\u0000" in text or "=" in text or _SECRET_NAME_RE.search(text.lower()):
        return True
    # A registered secret is letters and digits (real keys and tokens), which JSON
    # leaves as they are.
    return any(secret in text for secret in secrets.values)


def blank_name_field(listen: IncomingListen) -> str | None:
    """``"artist_name"`` or ``"track_name"`` when that name is empty after cleaning
    (``sidetrack.parsing.is_blank_name``), else None: such a listen is never stored."""
    if is_blank_name(listen.artist_name):
        return "artist_name"
    if is_blank_name(listen.track_name):
        return "track_name"
    return None


def positive_int(value: int | None) -> int | None:
    return value if isinstance(value, int) and 0 < value < 2**31 else None


def incoming_from_lastfm(track: LastfmTrack) -> IncomingListen:
    mbid = parse_mbid(track.track_mbid)
    return IncomingListen.of(
        listened_at=track.listened_at,
        track_name=clean_text(track.track_name),
        artist_name=clean_text(track.artist_name),
        album_name=clean_text(track.album_name),
        duration_ms=None,
        hints=(Hint(mbid),) if mbid else (),
        raw_json=payload_json(track.raw),
    )


def incoming_from_listenbrainz(listen: LBListen) -> IncomingListen:
    hints = []
    submitted = parse_mbid(listen.source_recording_mbid)
    if submitted:
        hints.append(Hint(submitted))
    mapping = listen.mapping
    mapped = parse_mbid(mapping.recording_mbid) if mapping else None
    if mapping and mapped:
        hints.append(Hint(mapped, mapping.recording_name, mapping.artist_credit))
    return IncomingListen.of(
        listened_at=listen.listened_at,
        track_name=clean_text(listen.track_name),
        artist_name=clean_text(listen.artist_name),
        album_name=clean_text(listen.release_name),
        duration_ms=positive_int(listen.duration_ms),
        hints=tuple(hints),
        raw_json=payload_json(listen.raw),
    )


def incoming_from_submission(listen: dict[str, Any]) -> IncomingListen:
    """A listen a player submitted to the /1/ API (already validated by
    ``listens.submission``). Its MBIDs are the client's hints, verified like a
    poller's; an ``mbid_mapping`` is ListenBrainz's mapper's word, which a client
    cannot speak for, so it is dropped."""
    metadata = listen.get("track_metadata")
    if isinstance(metadata, dict) and "mbid_mapping" in metadata:
        listen = {**listen, "track_metadata": {**metadata}}
        del listen["track_metadata"]["mbid_mapping"]
    return incoming_from_listenbrainz(parse_listen(listen))
