"""A request rate shared by every process and host: slots claimed in the shared cache."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from sidetrack.http.deadline import DeadlineExceeded, deadline_left


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until this process may send one request."""


class SharedRateLimiter:
    """At most ``rate`` requests per second across every process sharing ``cache``.

    Time is cut into slots of ``1 / rate`` seconds; a request claims the first
    free slot starting now or later with the cache's atomic ``add`` (a unique
    row in the database cache, SET NX in Redis) and sleeps until that slot
    begins. Workers on several hosts therefore share one budget.
    """

    def __init__(
        self,
        cache: Any,
        *,
        key: str,
        rate: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.key = key
        self.rate = rate
        self._sleep = sleep
        self._clock = clock

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        interval = 1.0 / self.rate
        # Claimed slots are only ever ahead of now, so a short expiry is safe.
        expiry = max(60, math.ceil(interval * 10))
        # A grant that arrives after its slot began (a slow cache round trip) would
        # crowd the next slot's holder: give that slot up and take a later one.
        lateness_allowed = min(0.01, interval / 10)
        slot = math.ceil(self._clock() / interval)
        left = deadline_left()
        while True:
            while not self.cache.add(f"{self.key}:{slot}", 1, timeout=expiry):
                slot += 1
            wait = slot * interval - self._clock()
            if left is not None and wait > left:
                # The slot is given up unused: a caller past its deadline must not sleep.
                raise DeadlineExceeded(f"next free slot in {wait:.1f} s")
            if wait >= -lateness_allowed:
                break
            slot = max(slot + 1, math.ceil(self._clock() / interval))
        if wait > 0:
            self._sleep(wait)
