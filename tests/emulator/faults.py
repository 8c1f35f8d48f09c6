"""Fault injection and history changes during paging.

A :class:`FaultPlan` holds :class:`Fault` rules; each request takes the first rule
that matches it and still has shots left (``times``), subject to ``probability``
drawn from the plan's seeded RNG. An :class:`Arrival` adds or deletes scrobbles
once a user's history has been requested ``after`` times.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.emulator.data import EmuScrobble, World


class FaultKind(StrEnum):
    HTTP_500 = "http_500"
    HTTP_503 = "http_503"  # with Retry-After when retry_after is set
    HTTP_429 = "http_429"  # with Retry-After; ListenBrainz also gets X-RateLimit-* at 0
    LASTFM_ERROR = "lastfm_error"  # {"error": lastfm_code} with its usual status, or `status`
    TIMEOUT = "timeout"  # sleep `delay` seconds before answering
    RESET = "reset"  # close the socket with an RST, no answer
    MALFORMED_JSON = "malformed_json"  # 200 with a body that is not JSON
    TRUNCATED = "truncated"  # the real answer, cut in half under a full Content-Length


# Last.fm error codes: transient 8, 11, 16, 29; permanent 6, 10, 17 (API_NOTES.md).
LASTFM_MESSAGES = {
    2: "Invalid service - This service does not exist",
    3: "Invalid Method - No method with that name in this package",
    4: "Authentication Failed - You do not have permissions to access the service",
    6: "User not found",
    8: "Operation failed - Most likely the backend service failed. Please try again.",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    11: "Service Offline - This service is temporarily offline. Try again later.",
    16: "There was a temporary error processing your request. Please try again",
    17: "Login: User required to be logged in",
    26: "Suspended API key - Access for your account has been suspended, please contact Last.fm",
    29: (
        "Rate Limit Exceeded - This application has made too many requests in a short period."
        " If this is your API key, see https://www.last.fm/api/tos#4.4 for information about"
        " raising the limit."
    ),
}
LASTFM_STATUSES = {6: 404, 8: 500, 10: 403, 11: 503, 16: 503, 17: 403, 26: 403, 29: 429}


@dataclass
class Fault:
    """One rule. ``path`` is a regex searched in the service-relative path
    (``user/alice/listens``, ``recording/<mbid>``; ``""`` for Last.fm), ``params``
    a subset of the query parameters (values compared case-insensitively, so
    ``{"method": "user.getRecentTracks", "page": "2"}`` works)."""

    kind: FaultKind | str
    service: str | None = None
    path: str | None = None
    method: str | None = None
    params: Mapping[str, str] | None = None
    times: int | None = 1  # None: no limit (combine with probability)
    probability: float = 1.0
    retry_after: int | None = None
    lastfm_code: int = 8
    status: int | None = None  # HTTP status override, e.g. 200 for a Last.fm error body
    delay: float = 2.0  # TIMEOUT: longer than the client's read timeout
    body: bytes | None = None  # override the canned body of an HTTP error
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)

    def matches(self, service: str, method: str, path: str, params: Mapping[str, str]) -> bool:
        if self.service is not None and self.service != service:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is not None and not re.search(self.path, path):
            return False
        if self.params:
            for key, value in self.params.items():
                if params.get(key, "").lower() != str(value).lower():
                    return False
        return self.times is None or self.fired < self.times


class FaultPlan:
    """Thread-safe list of :class:`Fault` rules with a seeded RNG for probabilities."""

    def __init__(self, faults: Iterable[Fault] = (), *, seed: int = 0) -> None:
        self._faults = list(faults)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, kind: FaultKind | str | Fault, **options: object) -> Fault:
        """Add a rule: ``plan.add("http_503", service="musicbrainz", retry_after=1)``."""
        fault = kind if isinstance(kind, Fault) else Fault(kind, **options)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    @property
    def injected(self) -> int:
        with self._lock:
            return sum(f.fired for f in self._faults)

    def pick(self, service: str, method: str, path: str, params: Mapping[str, str]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.matches(service, method, path, params):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
        return None


@dataclass
class Arrival:
    """Change ``user``'s history once their history was served ``after`` times.

    Counted requests are answered (not faulted) ``user.getRecentTracks`` and
    ``user/<name>/listens`` calls, of ``service`` only when set. The change lands
    after the ``after``-th answer was computed and before it is sent, so that
    answer shows the old history and every later one the new.
    """

    user: str
    after: int
    add: Sequence[EmuScrobble] | Callable[[World], Iterable[EmuScrobble]] = ()
    remove: Callable[[EmuScrobble], bool] | None = None
    service: str | None = None
    fired: bool = field(default=False, init=False)
    removed: list[EmuScrobble] = field(default_factory=list, init=False)

    def apply(self, world: World) -> None:
        with world.lock:
            scrobbles = self.add(world) if callable(self.add) else self.add
            world.add_scrobbles(scrobbles)
            if self.remove is not None:
                self.removed = world.remove_scrobbles(self.user, self.remove)
            self.fired = True
