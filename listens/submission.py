"""Validating a ListenBrainz ``submit-listens`` body exactly as ListenBrainz does
(``listenbrainz/webserver/views/{api,api_tools}.py``, its integration tests the spec):
pure, no I/O. A bad listen fails the whole request with ListenBrainz's own error text,
so nothing of it is stored; what passes is handed on normalized the way ListenBrainz
stores it (names stripped, empty MBID fields dropped, numbers converted)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from sidetrack.parsing import is_blank_name, parse_mbid

LISTEN_TYPES = ("single", "import", "playing_now")
MAX_LISTENS_PER_REQUEST = 1000
# ListenBrainz allows 10240 bytes per listen, counted over the whole document.
MAX_LISTEN_SIZE = 10240
MAX_PAYLOAD_SIZE = MAX_LISTEN_SIZE * MAX_LISTENS_PER_REQUEST  # 10240000 bytes
MAX_TAGS_PER_LISTEN = 50
MAX_TAG_SIZE = 64
# 2002-10-01 UTC: ListenBrainz's LISTEN_MINIMUM_TS (Last.fm's start). Its error text
# says 1033410600; the check uses this.
LISTEN_MINIMUM_TS = 1033430400
# A player's clock may run ahead of ours: ListenBrainz allows an hour.
MAX_FUTURE_SECONDS = 3600
MAX_DURATION = 24 * 24 * 60 * 60  # 24 days, in seconds
MAX_DURATION_MS = MAX_DURATION * 1000
# ListenBrainz sets no depth; past 255 levels its JSON encoder (and ours) fails. Real
# clients nest one or two levels (read back flattened into dotted keys).
MAX_ADDITIONAL_INFO_DEPTH = 16

_SINGLE_MBID_KEYS = ("release_mbid", "recording_mbid", "release_group_mbid", "track_mbid")
_MBID_LIST_KEYS = ("artist_mbids", "work_mbids")


class SubmissionInvalid(ValueError):
    """The request is refused as a whole (HTTP 400). ``listen`` is the listen at
    fault, if one is: ListenBrainz echoes its fields in the error body."""

    def __init__(self, message: str, listen: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.listen = listen


@dataclass(frozen=True)
class Submission:
    listen_type: str
    listens: list[dict[str, Any]] = field(default_factory=list)


def parse_submission(body: bytes, *, now: float | None = None) -> Submission:
    """The submission in ``body``, every listen checked and normalized; raises
    ``SubmissionInvalid`` with ListenBrainz's text. The caller refuses bodies past
    ``MAX_PAYLOAD_SIZE`` before reading them."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise SubmissionInvalid(f"Cannot parse JSON document: {error}") from error
    if not isinstance(data, dict):
        raise SubmissionInvalid(
            "Invalid JSON document submitted. Top level of JSON document should be a json object."
        )
    if "payload" not in data:
        raise SubmissionInvalid("Invalid JSON document submitted.")
    payload = data["payload"]
    if not isinstance(payload, list):
        raise SubmissionInvalid("The payload in the JSON document should be a list of listens.")
    if not payload:
        raise SubmissionInvalid("JSON document does not contain any listens")
    if len(payload) > MAX_LISTENS_PER_REQUEST:
        raise SubmissionInvalid(
            f"Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} "
            "listens at once."
        )
    if len(body) > len(payload) * MAX_LISTEN_SIZE:
        raise SubmissionInvalid(
            "JSON document is too large. Each listens may not be larger than "
            f"{MAX_LISTEN_SIZE} bytes."
        )
    if "listen_type" not in data:
        raise SubmissionInvalid("Invalid JSON document submitted.")
    listen_type = data["listen_type"]
    if not isinstance(listen_type, str) or listen_type not in LISTEN_TYPES:
        raise SubmissionInvalid("JSON document requires a valid listen_type key.")
    if listen_type in ("single", "playing_now") and len(payload) > 1:
        raise SubmissionInvalid(
            "JSON document contains more than listen for a single/playing_now. "
            "It should contain only one."
        )
    now = time.time() if now is None else now
    return Submission(
        listen_type, [validate_listen(item, listen_type, now=now) for item in payload]
    )


def validate_listen(listen: Any, listen_type: str, *, now: float | None = None) -> dict[str, Any]:
    """One listen checked as ListenBrainz checks it, returned normalized (a copy);
    raises ``SubmissionInvalid``. Also used to check what ``export_listens`` writes."""
    if listen is None:
        raise SubmissionInvalid("Listen is empty and cannot be validated.")
    if not isinstance(listen, dict):
        raise SubmissionInvalid("Each listen in the payload should be a json object.")
    _check_depth(listen)
    listen = copy.deepcopy(listen)  # normalized in place below
    if listen_type == "playing_now":
        if "listened_at" in listen:
            raise SubmissionInvalid(
                "JSON document must not contain listened_at while submitting playing_now.",
                listen,
            )
        _require_track_metadata(listen)
        if len(listen) > 1:
            raise SubmissionInvalid(
                "JSON document may only contain track_metadata as top level key when "
                "submitting playing_now.",
                listen,
            )
    else:
        _check_listened_at(listen, time.time() if now is None else now)
        _require_track_metadata(listen)
        if len(listen) > 2:
            raise SubmissionInvalid(
                "JSON document may only contain listened_at and track_metadata top level keys",
                listen,
            )
    metadata = listen["track_metadata"]
    if metadata is None:
        raise SubmissionInvalid(
            "JSON document may not have track_metadata with null value.", listen
        )
    if not isinstance(metadata, dict):
        raise SubmissionInvalid("track_metadata must be a json object.", listen)
    _check_name(listen, "track_name")
    _check_name(listen, "artist_name")
    _check_name(listen, "release_name", required=False)
    if "additional_info" in metadata:
        if metadata["additional_info"] is None:
            del metadata["additional_info"]
        else:
            _check_additional_info(listen)
    _check_no_nul(listen, listen)
    return listen


def _require_track_metadata(listen: dict[str, Any]) -> None:
    if "track_metadata" not in listen:
        raise SubmissionInvalid(
            "JSON document must contain the key track_metadata at the top level.", listen
        )


def _check_listened_at(listen: dict[str, Any], now: float) -> None:
    if "listened_at" not in listen:
        raise SubmissionInvalid(
            "JSON document must contain the key listened_at at the top level.", listen
        )
    try:
        # int() as ListenBrainz: 1486449409.7 and "1486449409" are accepted.
        value = int(listen["listened_at"])
    except (ValueError, TypeError, OverflowError):
        raise SubmissionInvalid(
            "JSON document must contain an int value for listened_at.", listen
        ) from None
    listen["listened_at"] = value
    if value >= int(now) + MAX_FUTURE_SECONDS:
        raise SubmissionInvalid("Value for key listened_at is too high.", listen)
    if value < LISTEN_MINIMUM_TS:
        raise SubmissionInvalid(
            "Value for key listened_at is too low. listened_at timestamp should be greater "
            "than 1033410600 (2002-10-01 00:00:00 UTC).",
            listen,
        )


def _check_name(listen: dict[str, Any], key: str, *, required: bool = True) -> None:
    metadata = listen["track_metadata"]
    if key not in metadata:
        if required:
            raise SubmissionInvalid(
                f"JSON document does not contain required field track_metadata.{key}.", listen
            )
        return
    value = metadata[key]
    if not isinstance(value, str):
        raise SubmissionInvalid(f"track_metadata.{key} must be a single string.", listen)
    metadata[key] = value.strip()
    # Stricter than ListenBrainz (which only strips whitespace): a name made only of
    # control or zero-width characters is as empty, and would be stored as "".
    if is_blank_name(metadata[key]):
        if required:
            raise SubmissionInvalid(f"field track_metadata.{key} is empty.", listen)
        del metadata[key]


def _check_additional_info(listen: dict[str, Any]) -> None:
    info = listen["track_metadata"]["additional_info"]
    if not isinstance(info, dict):
        raise SubmissionInvalid("track_metadata.additional_info must be a json object.", listen)
    if "tags" in info:
        tags = info["tags"]
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise SubmissionInvalid(
                "track_metadata.additional_info.tags must be a list of strings.", listen
            )
        if len(tags) > MAX_TAGS_PER_LISTEN:
            raise SubmissionInvalid(
                f"JSON document may not contain more than {MAX_TAGS_PER_LISTEN} items in "
                "track_metadata.additional_info.tags.",
                listen,
            )
        if any(len(tag) > MAX_TAG_SIZE for tag in tags):
            raise SubmissionInvalid(
                "JSON document may not contain track_metadata.additional_info.tags longer "
                f"than {MAX_TAG_SIZE} characters.",
                listen,
            )
    if "duration" in info and "duration_ms" in info:
        raise SubmissionInvalid(
            "JSON document should not contain both duration and duration_ms.", listen
        )
    _check_duration(listen, info, "duration", MAX_DURATION)
    _check_duration(listen, info, "duration_ms", MAX_DURATION_MS)
    for key in _SINGLE_MBID_KEYS:
        if key in info:
            if not info[key]:  # null or "": dropped, as Spotify-sourced clients send them
                del info[key]
            elif not _is_uuid(info[key]):
                raise SubmissionInvalid(f"{key} MBID format invalid.", listen)
    for key in _MBID_LIST_KEYS:
        if key in info:
            if not info[key]:
                del info[key]
                continue
            if not isinstance(info[key], list):
                raise SubmissionInvalid(f"{key} MBID format invalid.", listen)
            mbids = [item for item in info[key] if item]
            if not all(_is_uuid(item) for item in mbids):
                raise SubmissionInvalid(f"{key} MBID format invalid.", listen)
            info[key] = mbids


def _check_duration(listen: dict[str, Any], info: dict[str, Any], key: str, limit: int) -> None:
    if key not in info:
        return
    try:
        # As ListenBrainz: 1222.6 and "300000" are converted, null and "abc" are not.
        value = int(float(info[key]))
    except (ValueError, TypeError, OverflowError):
        raise SubmissionInvalid(
            f"Value for {key} is invalid, should be a positive integer.", listen
        ) from None
    if value <= 0:
        raise SubmissionInvalid(
            f"Value for {key} is invalid, should be a positive integer.", listen
        )
    if value > limit:
        raise SubmissionInvalid(
            f"Value for {key} is too large, max permitted value is {limit}", listen
        )
    info[key] = value


def _is_uuid(value: Any) -> bool:
    # As ListenBrainz's check: surrounding spaces make an MBID invalid.
    return isinstance(value, str) and value == value.strip() and parse_mbid(value) is not None


def _check_no_nul(value: Any, listen: dict[str, Any]) -> None:
    # PostgreSQL stores no NUL in text or JSON; ListenBrainz refuses them (and names
    # the value). Checked last, as ListenBrainz does.
    if isinstance(value, str):
        if "\x00" in value:
            raise SubmissionInvalid(f"{value} contains a unicode null", listen)
    elif isinstance(value, dict):
        for item in value.values():
            _check_no_nul(item, listen)
    elif isinstance(value, list):
        for item in value:
            _check_no_nul(item, listen)


def _check_depth(listen: dict[str, Any]) -> None:
    """Refuse a listen nested deeper than ``additional_info`` may be (it is serialized
    again when stored; past 255 levels that fails). Iterative: recursion is what a
    deep document would break."""
    limit = MAX_ADDITIONAL_INFO_DEPTH + 2  # the listen and track_metadata above it
    stack: list[tuple[Any, int]] = [(listen, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise SubmissionInvalid(
                "track_metadata.additional_info may not be nested more than "
                f"{MAX_ADDITIONAL_INFO_DEPTH} levels deep."
            )
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
