"""One way to name a client and one cache-backed counter, for every limit on requests:
the login throttle, wrong-token counting, the /1/ API's rate limit and DRF's throttles.

Counts live in the shared cache (Redis, or the database cache), so every web process
on every host sees the same numbers. A window is fixed (it starts at a multiple of
its length), as ListenBrainz's ``X-RateLimit-Reset`` describes it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from rest_framework import throttling
from rest_framework.settings import api_settings


def client_address(request: Any) -> str:
    """The address a request came from: ``REMOTE_ADDR``, or behind ``NUM_PROXIES``
    proxies the entry that many hops from the right of ``X-Forwarded-For`` (entries
    further left are whatever the client wrote). An IPv6 address stands for its
    /64 network: one subscriber usually holds a whole one."""
    meta = request.META
    address = meta.get("REMOTE_ADDR") or ""
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-min(proxies, len(hops))]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def digest(text: str) -> str:
    """A short, safe cache-key part for any text (usernames, tokens: never stored as such)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class Count:
    """Where one counter stands in its window."""

    used: int
    limit: int
    reset_at: float  # when the window ends (epoch seconds)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def wait(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))


def _key(name: str, window: int, now: float) -> tuple[str, float]:
    start = math.floor(now / window) * window
    return f"rate:{name}:{window}:{int(start)}", start + window


def hit(name: str, *, limit: int, window: int, clock: Callable[[], float] = time.time) -> Count:
    """Count one more event for ``name`` in its current window."""
    now = clock()
    key, reset_at = _key(name, window, now)
    # add + incr: atomic in Redis and in the database cache, so concurrent requests on
    # several processes are all counted.
    cache.add(key, 0, timeout=window + 60)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 60)
        used = 1
    return Count(used, limit, reset_at)


def peek(
    names: Iterable[str], *, window: int, clock: Callable[[], float] = time.time
) -> dict[str, int]:
    """The current window's counts of ``names`` (0 for none), without counting."""
    now = clock()
    keys = {name: _key(name, window, now)[0] for name in names}
    found = cache.get_many(list(keys.values()))
    return {name: int(found.get(key, 0)) for name, key in keys.items()}


def window_wait(window: int, *, clock: Callable[[], float] = time.time) -> int:
    now = clock()
    return max(1, math.ceil(_key("", window, now)[1] - now))


class AnonRateThrottle(throttling.AnonRateThrottle):
    """DRF's anonymous throttle, naming clients as everything else does."""

    def get_ident(self, request: Any) -> str:
        return client_address(request)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_address(request)
