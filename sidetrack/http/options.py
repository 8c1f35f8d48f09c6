"""The HTTP settings every client shares, in one object: a client constructor takes
its own values (base URL, keys) and one :class:`HttpOptions`, which it hands to
``ServiceHttp`` whole instead of forwarding six arguments."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sidetrack.http.ratelimit import RateLimiter

# Longest server-requested wait we sit through inside one call; longer ones surface
# as a retryable error so the caller can stop and resume later instead of blocking.
RETRY_AFTER_MAX_SECONDS = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a client tries. Unit tests use ``RetryPolicy.none()``."""

    total: int = 4
    backoff_factor: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = RETRY_AFTER_MAX_SECONDS

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(total=0, backoff_factor=0.0)


@dataclass(frozen=True)
class HttpOptions:
    """User-Agent, timeouts (connect, read), retries, an optional shared rate
    limiter, and the sleep and clock the waits use (tests pass their own)."""

    user_agent: str
    timeout: tuple[float, float] = (5.0, 30.0)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limiter: RateLimiter | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
