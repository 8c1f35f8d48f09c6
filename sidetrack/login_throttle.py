"""Password guessing gets a small burst, then 429: failed logins are counted per
client address and per username in the shared cache (Redis or the database), so
every web process sees the same counts.

Failures are counted from Django's ``user_login_failed`` signal, which every
password check sends (the API token view and the admin login alike); each door
asks :func:`login_wait` before checking a password.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

KEY_PREFIX = "login-failures"


def _counters(request: Any, username: Any, now: float) -> list[tuple[str, int]]:
    """(cache key, limit) for the client and, when one was given, the username,
    in the current fixed window."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    bucket = int(now // window)
    # DRF's client address: REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES proxies.
    client = BaseThrottle().get_ident(request) or ""
    counters = [
        (f"{KEY_PREFIX}:client:{_digest(client)}:{bucket}", settings.LOGIN_FAILURES_PER_CLIENT)
    ]
    if isinstance(username, str) and username.strip():
        # Hashed: cache keys stay short and safe whatever the text.
        name = _digest(username.strip().casefold())
        counters.append(
            (f"{KEY_PREFIX}:user:{name}:{bucket}", settings.LOGIN_FAILURES_PER_USERNAME)
        )
    return counters


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def login_wait(
    request: Any, username: Any, *, clock: Callable[[], float] = time.time
) -> int | None:
    """Seconds until this client may try a password for ``username`` again, or None
    when it may now."""
    now = clock()
    counters = _counters(request, username, now)
    counts = cache.get_many([key for key, _ in counters])
    if all(counts.get(key, 0) < limit for key, limit in counters):
        return None
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    return max(1, math.ceil((now // window + 1) * window - now))


def record_login_failure(
    request: Any, username: Any, *, clock: Callable[[], float] = time.time
) -> None:
    if request is None:  # a password checked outside a request (a command): nothing to throttle
        return
    timeout = settings.LOGIN_FAILURE_WINDOW_SECONDS + 60
    for key, _ in _counters(request, username, clock()):
        # add + incr: atomic in Redis and in the database cache, so concurrent
        # failures on several processes are all counted.
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=timeout)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    record_login_failure(request, credentials.get("username"))
