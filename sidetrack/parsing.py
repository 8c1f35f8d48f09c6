"""Lenient value readers shared by the API clients: payloads from the wild carry
numbers as strings, empty strings for "none", and the wrong type now and then."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

# Invisible letters that render as nothing although Unicode calls them letters.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
# Control (Cc), format (Cf: zero-width space and joiners, BOM, direction marks),
# lone surrogates (Cs) and separators (Zs, Zl, Zp).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


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


def is_blank_name(value: Any) -> bool:
    """True when ``value`` is not a string or shows nothing once cleaned: only NUL,
    control, zero-width or other format characters, and whitespace.

    The one rule for "a name that is empty after cleaning", used wherever listens
    come in (the /1/ API, the export importer, the pollers) and for club names. It
    judges; it does not clean: a real name keeps its joiners and direction marks."""
    if not isinstance(value, str):
        return True
    for char in value:
        if char in _FILLERS or char.isspace():
            continue
        if unicodedata.category(char) not in _INVISIBLE_CATEGORIES:
            return False
    return True
