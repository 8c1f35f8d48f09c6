"""One deadline for every upstream call a web request makes: timeouts shrink to the
time left, and waits that would pass it fail at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("sidetrack_upstream_deadline", default=None)


class DeadlineExceeded(Exception):
    """Waiting (for a rate-limit slot) would end after the caller's deadline."""


@contextmanager
def upstream_deadline(seconds: float | None) -> Iterator[None]:
    """Calls made inside (on this thread, or in a copied context) end by ``seconds``
    from now: timeouts shrink to the time left, waits that would pass it fail at
    once. Nested deadlines keep the sooner one. ``None`` or 0: no deadline."""
    if not seconds or seconds <= 0:
        yield
        return
    deadline = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline_left() -> float | None:
    """Seconds until the current deadline (negative once passed), None without one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
