"""Lenient value readers shared by the API clients: payloads from the wild carry
numbers as strings, empty strings for "none", and the wrong type now and then."""

from __future__ import annotations

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
