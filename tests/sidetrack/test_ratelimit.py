from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache.backends.locmem import LocMemCache

from sidetrack.http.deadline import DeadlineExceeded, upstream_deadline
from sidetrack.http.ratelimit import SharedRateLimiter

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_limiter_spaces_requests_by_the_rate():
    clock = FakeClock(1000.25)
    cache = LocMemCache("ratelimit-unit", {})
    limiter = SharedRateLimiter(cache, key="mb", rate=2, sleep=clock.sleep, clock=clock)

    grants = []
    for _ in range(5):
        limiter.acquire()
        grants.append(clock.now)

    assert grants == [1000.5, 1001.0, 1001.5, 1002.0, 1002.5]


def test_two_limiters_on_one_cache_share_the_budget():
    clock = FakeClock(50.0)
    cache = LocMemCache("ratelimit-shared", {})
    first = SharedRateLimiter(cache, key="mb", rate=1, sleep=lambda s: None, clock=clock)
    second = SharedRateLimiter(cache, key="mb", rate=1, sleep=lambda s: None, clock=clock)

    first.acquire()
    second.acquire()
    first.acquire()

    # Three grants at one instant take three consecutive one-second slots.
    assert [cache.get(f"mb:{slot}") for slot in (50, 51, 52, 53)] == [1, 1, 1, None]


def test_zero_rate_means_unlimited():
    limiter = SharedRateLimiter(LocMemCache("x", {}), key="mb", rate=0, sleep=_fail_sleep)
    limiter.acquire()


def _fail_sleep(seconds: float) -> None:
    raise AssertionError("must not sleep")


def test_two_processes_together_stay_within_the_rate(tmp_path):
    """Two worker processes on the configured shared cache (Redis when REDIS_URL
    is set, else the database cache in a SQLite file) never exceed the rate."""
    rate, per_process = 4.0, 8
    env = {**os.environ, "MUSICBRAINZ_RATE_LIMIT": str(rate), "PYTHONPATH": str(ROOT)}
    env.setdefault("CACHE_KEY_PREFIX", "sidetrack")
    env["CACHE_KEY_PREFIX"] += f"-ratelimit-test-{os.getpid()}-{time.time_ns()}"
    if not env.get("REDIS_URL"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        subprocess.run(
            [sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True
        )

    start_at = time.time() + 3  # both processes are up and contending by then
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.sidetrack.ratelimit_worker",
                str(per_process),
                str(start_at),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]

    per_worker = [[float(line) for line in out.split()] for out in outputs]
    assert [len(times) for times in per_worker] == [per_process, per_process]
    grants = sorted(t for times in per_worker for t in times)
    gaps = [later - earlier for earlier, later in zip(grants, grants[1:], strict=False)]
    # Sleep may overshoot but never undershoot; allow a little scheduling jitter.
    assert min(gaps) >= 1 / rate - 0.03, gaps
    elapsed = grants[-1] - grants[0]
    assert elapsed >= (len(grants) - 1) / rate - 0.05


def test_a_grant_that_arrives_late_gives_its_slot_up():
    clock = FakeClock(100.0)

    class SlowCache(LocMemCache):
        def add(self, *args, **kwargs):
            clock.now += 0.3  # a slow round trip to a shared cache
            return super().add(*args, **kwargs)

    limiter = SharedRateLimiter(
        SlowCache("slow", {}), key="mb", rate=2, sleep=clock.sleep, clock=clock
    )

    limiter.acquire()

    # Slot 100.0 was already 0.3 s gone when granted; the request waits for 101.0.
    assert clock.now == 101.0


def test_a_slot_beyond_the_deadline_fails_at_once_instead_of_sleeping():
    clock = FakeClock(1000.0)
    cache = LocMemCache("ratelimit-deadline", {})
    limiter = SharedRateLimiter(cache, key="mb", rate=0.1, sleep=clock.sleep, clock=clock)
    limiter.acquire()  # takes the slot at 1000 s; the next one is 10 s away

    with upstream_deadline(2), pytest.raises(DeadlineExceeded):
        limiter.acquire()
    assert clock.now == 1000.0  # no sleep
    limiter.acquire()  # without a deadline it waits for the next free slot
    assert clock.now == 1020.0
