"""Lenient value readers shared by the API clients: payloads from the wild carry
numbers as strings, empty strings for "none", and the wrong type now and then."""

from __future__ import annotations

import re
import uuid
from typing import Any


def lenient_int(value: Any) -> int | None:
    """An int from an int, a whole float or a numeric string; None for anything else."""
    if isinstance(value, bool):  # bool is an int subclass; never a count or a score
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:  # also "²" and strings past int()'s digit limit
            return None
    return None


def stripped(value: Any) -> str:
    """The string without surrounding space, "" for anything that is not a string."""
    return value.strip() if isinstance(value, str) else ""


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_CANONICAL_MBID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_mbid(value: Any) -> str | None:
    """A MusicBrainz id as canonical lower-case UUID text, None for anything else
    (empty, not a string, not a UUID). The one MBID reader: clients, payloads,
    selectors and the submission API all read MBIDs with it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if _CANONICAL_MBID_RE.fullmatch(value):
        return value  # as nearly every MBID comes: skip building a UUID per listen
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None
