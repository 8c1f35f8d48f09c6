"""Validating a ListenBrainz ``submit-listens`` body, the way ListenBrainz itself does
(``listenbrainz/webserver/views/api_tools.py``): pure, no I/O. A bad listen fails the
whole request with a message naming the listen and the field, so nothing of it is
stored; what passes is handed on as the listens' JSON, unchanged."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

LISTEN_TYPES = ("single", "import", "playing_now")
MAX_LISTENS_PER_REQUEST = 1000
MAX_LISTEN_SIZE = 10240  # bytes of one listen's JSON
MAX_TAGS_PER_LISTEN = 50
MAX_TAG_SIZE = 64
# 2002-10-01 UTC: ListenBrainz's LISTEN_MINIMUM_TS (Last.fm's start).
LISTEN_MINIMUM_TS = 1033430400
# A player's clock may run a little ahead of ours.
MAX_FUTURE_SECONDS = 600
MAX_TEXT_LENGTH = 1000

# additional_info keys whose values must be MBIDs, one or a list.
_MBID_KEYS = ("recording_mbid", "release_mbid", "release_group_mbid", "track_mbid")
_MBID_LIST_KEYS = ("artist_mbids", "work_mbids")
_STRING_KEYS = (
    "isrc",
    "spotify_id",
    "origin_url",
    "music_service",
    "music_service_name",
    "media_player",
    "media_player_version",
    "submission_client",
    "submission_client_version",
)


class SubmissionInvalid(ValueError):
    """The request is refused as a whole (HTTP 400); the message names the field."""


@dataclass(frozen=True)
class Submission:
    listen_type: str
    listens: list[dict[str, Any]]


def parse_submission(body: bytes, *, now: float | None = None) -> Submission:
    """The submission in ``body``, every listen checked; raises ``SubmissionInvalid``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise SubmissionInvalid("Cannot parse JSON document.") from error
    if not isinstance(data, dict):
        raise SubmissionInvalid("Invalid JSON document submitted.")
    listen_type = data.get("listen_type")
    if "listen_type" not in data:
        raise SubmissionInvalid("JSON document must contain the key listen_type.")
    if listen_type not in LISTEN_TYPES:
        raise SubmissionInvalid(
            f"listen_type must be one of {', '.join(LISTEN_TYPES)}, not {listen_type!r}."
        )
    payload = data.get("payload")
    if not isinstance(payload, list) or not payload:
        raise SubmissionInvalid("JSON document must contain a non-empty list payload.")
    if listen_type in ("single", "playing_now") and len(payload) != 1:
        raise SubmissionInvalid(
            f"JSON document should contain exactly one listen for listen_type {listen_type}."
        )
    if len(payload) > MAX_LISTENS_PER_REQUEST:
        raise SubmissionInvalid(
            f"Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} "
            "listens at once."
        )
    now = time.time() if now is None else now
    for index, listen in enumerate(payload):
        _check_listen(listen, listen_type, f"payload[{index}]", now)
    return Submission(listen_type, payload)


def _check_listen(listen: Any, listen_type: str, where: str, now: float) -> None:
    if not isinstance(listen, dict):
        raise SubmissionInvalid(f"{where}: a listen must be a JSON object.")
    if len(orjson.dumps(listen)) > MAX_LISTEN_SIZE:
        raise SubmissionInvalid(f"{where}: listen is larger than {MAX_LISTEN_SIZE} bytes.")
    if listen_type == "playing_now":
        if "listened_at" in listen:
            raise SubmissionInvalid(
                f"{where}.listened_at: JSON document must not contain listened_at while "
                "submitting playing_now."
            )
    else:
        _check_listened_at(listen.get("listened_at"), "listened_at" in listen, where, now)
    metadata = listen.get("track_metadata")
    if not isinstance(metadata, dict):
        raise SubmissionInvalid(f"{where}.track_metadata: required, a JSON object.")
    for key in ("artist_name", "track_name"):
        value = metadata.get(key)
        if not isinstance(value, str) or not value.strip():
            raise SubmissionInvalid(f"{where}.track_metadata.{key}: required, a non-empty string.")
        if len(value) > MAX_TEXT_LENGTH:
            raise SubmissionInvalid(f"{where}.track_metadata.{key}: longer than allowed.")
    release = metadata.get("release_name")
    if release is not None and not isinstance(release, str):
        raise SubmissionInvalid(f"{where}.track_metadata.release_name: must be a string.")
    info = metadata.get("additional_info")
    if info is not None:
        _check_additional_info(info, f"{where}.track_metadata.additional_info")


def _check_listened_at(value: Any, present: bool, where: str, now: float) -> None:
    field = f"{where}.listened_at"
    if not present:
        raise SubmissionInvalid(f"{field}: JSON document must contain the key listened_at.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise SubmissionInvalid(f"{field}: must be an integer (UTC unix seconds).")
    if value < LISTEN_MINIMUM_TS:
        raise SubmissionInvalid(
            f"{field}: value {value} is too low: listens before {LISTEN_MINIMUM_TS} "
            "(2002-10-01) are refused."
        )
    if value > now + MAX_FUTURE_SECONDS:
        raise SubmissionInvalid(f"{field}: value {value} is in the future.")


def _check_additional_info(info: Any, where: str) -> None:
    if not isinstance(info, dict):
        raise SubmissionInvalid(f"{where}: must be a JSON object.")
    for key in _MBID_KEYS:
        if key in info and info[key] is not None and not _is_mbid(info[key]):
            raise SubmissionInvalid(f"{where}.{key}: must be an MBID (a UUID).")
    for key in _MBID_LIST_KEYS:
        if key in info and info[key] is not None:
            value = info[key]
            if not isinstance(value, list) or not all(_is_mbid(item) for item in value):
                raise SubmissionInvalid(f"{where}.{key}: must be a list of MBIDs.")
    for key in _STRING_KEYS:
        if key in info and info[key] is not None and not isinstance(info[key], str):
            raise SubmissionInvalid(f"{where}.{key}: must be a string.")
    for key in ("duration_ms", "duration"):
        if key in info and info[key] is not None:
            value = info[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SubmissionInvalid(f"{where}.{key}: must be a non-negative integer.")
    number = info.get("tracknumber")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int | str)):
        raise SubmissionInvalid(f"{where}.tracknumber: must be an integer or a string.")
    if "tags" in info and info["tags"] is not None:
        tags = info["tags"]
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise SubmissionInvalid(f"{where}.tags: must be a list of strings.")
        if len(tags) > MAX_TAGS_PER_LISTEN:
            raise SubmissionInvalid(f"{where}.tags: at most {MAX_TAGS_PER_LISTEN} tags.")
        if any(len(tag) > MAX_TAG_SIZE for tag in tags):
            raise SubmissionInvalid(f"{where}.tags: each at most {MAX_TAG_SIZE} characters.")


def _is_mbid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value.strip())
    except ValueError:
        return False
    return True
