"""Scale-out: two ``manage.py qcluster`` processes on the Redis broker share the work.

Runs only on CI's second run (REDIS_URL set, DATABASE_URL naming PostgreSQL):
the ORM broker and SQLite are not what several hosts would share.

20 accounts (10 Last.fm, 10 ListenBrainz) live on the emulator; ingest and
resolution are scheduled through django-q2 (``setup_schedules`` with 1-minute
intervals; the schedules are due at once). django-q2's scheduler runs in each
cluster's guard every 30 s, so the first runs start ~30 s after the clusters,
the next ~60 s after. One cluster is SIGKILLed (its whole process group, as a
host dying) while it ingests; a third cluster is started in its place. Then:

- every expected listen is stored exactly once;
- no account was ingested by two workers at once (its IngestRun intervals never
  overlap; a run left "running" by the dead cluster ends at the kill);
- MusicBrainz traffic from every worker together stays under
  MUSICBRAINZ_RATE_LIMIT: the SharedRateLimiter hands out one slot per 1/rate
  seconds, and a request can only leave late, never early, so any window of W
  seconds holds at most rate * W + 1 requests (the +1 is the jitter of one late
  request next to an on-time one). Each cluster sends its own MusicBrainz
  User-Agent so the log shows whose traffic it was; the limiter's cache key is
  the same for all.

Concurrent runs share one Redis database but no key: each run's clusters get
their own Q_CLUSTER_NAME (the settings' Q_CLUSTER["name"], which names
django-q2's queue and stats keys) and CACHE_KEY_PREFIX (the rate limiter's slots).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from typing import NamedTuple

import pytest

from listens.management.commands.setup_schedules import SCHEDULES
from tests.emulator import Emulator, LoggedRequest, World
from tests.scale._support import (
    Cluster,
    Database,
    assert_exactly,
    base_environment,
    is_postgres,
    listen_count,
    max_in_window,
    min_gap,
    redis_namespace,
    scratch_database,
    shell,
    stored_listens,
)

pytestmark = pytest.mark.skipif(
    not (os.environ.get("REDIS_URL") and is_postgres(os.environ.get("DATABASE_URL", ""))),
    reason=(
        "multi-worker scale test needs REDIS_URL and a PostgreSQL DATABASE_URL "
        "(CI's second run): several qclusters must share a Redis queue and a real database"
    ),
)

API_KEY = "scale-lastfm-key-" + secrets.token_hex(8)
MB_RATE = 2  # requests per second, across every worker
LASTFM_NAMES = [f"lfm_scale_{i:02d}" for i in range(10)]
LB_NAMES = [f"lb_scale_{i:02d}" for i in range(10)]
LISTENS_PER_ACCOUNT = 400  # Last.fm: page 1, then pages 2 and 1 again; ListenBrainz: 1 page
HISTORY_LATENCY = 0.25  # seconds added to every history answer, so ingests take a while
TEST_BUDGET = 120.0
MB_SPAN_WANTED = 12.0  # seconds of MusicBrainz traffic to measure

SETUP = """
import json, os
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule
from accounts.services import connect_account

for source, name in json.loads(os.environ["SCALE_ACCOUNTS"]):
    connect_account(username=os.environ["SCALE_USER"], source=source, external_username=name)
call_command("setup_schedules")
# Not measured here: keep the weekly taste snapshots and re-pairing out of the way.
Schedule.objects.filter(
    func__in=["listens.tasks.taste_snapshots_all_task", "listens.tasks.repair_duplicates_all_task"]
).update(
    next_run=timezone.now() + timedelta(days=7)
)
# A resolution run still going when the next one is due (500 recordings at 1 req/s
# outlast any short interval): stand it in with a second schedule row, so two
# resolvers in different workers share the MusicBrainz budget from the first tick.
resolve = Schedule.objects.get(func="metadata.tasks.resolve_unresolved_task")
Schedule.objects.create(
    name="Resolve unresolved recordings (overlapping run)",
    func=resolve.func,
    schedule_type=resolve.schedule_type,
    minutes=resolve.minutes,
    repeats=-1,
    next_run=resolve.next_run,
)
from django.conf import settings
print(settings.Q_CLUSTER["name"])
print(Schedule.objects.count())
"""


class Run(NamedTuple):
    account: int
    name: str
    started: datetime
    finished: datetime | None
    new: int
    error: str

    @property
    def cut(self) -> bool:
        """Left by a dead worker: still "running", or closed as abandoned by the
        account's next run (listens.ingest.claims.close_abandoned_runs)."""
        return self.finished is None or self.error.startswith("abandoned")


def _runs(db: Database) -> list[Run]:
    rows = db.rows(
        "SELECT a.id, a.external_username, r.started_at, r.finished_at, r.listens_new,"
        " r.error_message"
        " FROM listens_ingestrun r JOIN accounts_externalaccount a ON a.id = r.account_id"
        " ORDER BY r.started_at"
    )
    return [Run(*row) for row in rows]


def _processing(log: str, func: str) -> int:
    return len(re.findall(rf"processing \S+ '{re.escape(func)}'", log))


def _mid_walk(requests: list[LoggedRequest], agent: str) -> bool:
    """``agent``'s newest Last.fm history request is still being answered (it is
    younger than the added latency) and is the third of its account's walk (page 1,
    page 2, page 1 again): page 2 is stored, the rest of the run is not."""
    history = [
        r
        for r in requests
        if r.client_id == agent and r.params.get("method", "").lower() == "user.getrecenttracks"
    ]
    if not history or time.time() - history[-1].time > HISTORY_LATENCY / 3:
        return False
    user = history[-1].params.get("user")
    return sum(1 for r in history if r.params.get("user") == user) >= 3


def _busy_seconds(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, finish in sorted(intervals):
        if finish > end:
            total += finish - max(start, end)
            end = finish
    return total


def test_two_qclusters_store_everything_once_within_the_musicbrainz_budget(tmp_path):
    began = time.monotonic()
    deadline = began + TEST_BUDGET
    world = World.synthetic(
        seed=21, user_names=LASTFM_NAMES + LB_NAMES, listens_per_user=LISTENS_PER_ACCOUNT
    )
    expected = {
        ("lastfm", name, s.ts, s.artist, s.track)
        for name in LASTFM_NAMES
        for s in world.scrobbles(name)
    } | {
        ("listenbrainz", name, s.ts, s.artist, s.track)
        for name in LB_NAMES
        for s in world.scrobbles(name)
    }
    prefix = f"scale{os.getpid()}{secrets.token_hex(3)}"
    user = f"scale-{secrets.token_hex(3)}"
    with (
        scratch_database(tmp_path) as db,
        redis_namespace(os.environ["REDIS_URL"], cluster=prefix, cache_prefix=prefix),
        Emulator(
            world,
            lastfm_api_keys={API_KEY},
            mb_rate_limit=MB_RATE,
            mb_enforce_rate_limit=True,  # 503 to a User-Agent going too fast, as MusicBrainz does
        ) as emu,
    ):
        env = base_environment(
            db,
            **emu.env,
            LASTFM_API_KEY=API_KEY,
            REDIS_URL=os.environ["REDIS_URL"],
            # Queue, cluster stats and cache keys of this run only.
            Q_CLUSTER_NAME=prefix,
            CACHE_KEY_PREFIX=prefix,
            MUSICBRAINZ_RATE_LIMIT=str(MB_RATE),
            # Every answer from MusicBrainz itself: the resolver now asks it so little
            # with the mapper on that the shared rate limit would see too little traffic.
            MBID_MAPPER_ENABLED="false",
            Q_WORKERS="2",
            INGEST_INTERVAL_MINUTES="1",
            RESOLVE_INTERVAL_MINUTES="1",
            # A dead worker's claim lapses before the next tick re-queues its account.
            INGEST_CLAIM_SECONDS="5",
            SCALE_USER=user,
            SCALE_ACCOUNTS=json.dumps(
                [("lastfm", n) for n in LASTFM_NAMES] + [("listenbrainz", n) for n in LB_NAMES]
            ),
        )
        history = (
            {"service": "lastfm", "params": {"method": "user.getRecentTracks"}},
            {"service": "listenbrainz", "path": r"/listens$"},
        )
        for rule in history:  # a "timeout" shorter than the read timeout: a slow answer
            emu.faults.add("timeout", delay=HISTORY_LATENCY, times=None, **rule)
        clusters: list[Cluster] = []
        try:
            cluster_name, schedules = shell(env, SETUP).splitlines()[-2:]
            assert cluster_name == prefix, "settings.Q_CLUSTER['name'] ignores Q_CLUSTER_NAME"
            assert schedules == str(len(SCHEDULES) + 1)  # each once, and the overlapping one
            # Their schedulers first run 30 s from now; the schedules are due already.
            clusters += [Cluster.start(n, _agent(env, n), tmp_path) for n in ("a", "b")]
            started = time.time()
            victim = clusters[0]

            # Kill cluster "a" half-way through an account: one page stored, one asked for.
            while not _mid_walk(emu.requests, _agent(env, "a")["LISTENBRAINZ_USER_AGENT"]):
                assert all(c.alive() for c in clusters), victim.log()[-3000:]
                assert time.monotonic() < deadline, "no ingest started:\n" + victim.log()[-3000:]
                time.sleep(0.01)
            victim.kill()
            running_at_kill = _unfinished(db)
            stored_at_kill = listen_count(db)
            clusters.append(Cluster.start("c", _agent(env, "c"), tmp_path))

            # Settle: every listen stored, no live run, enough MusicBrainz traffic seen.
            while time.monotonic() < deadline - 10:
                mb = [r.time for r in emu.requests if r.service == "musicbrainz"]
                live = [r for r in _unfinished(db) if r not in running_at_kill]
                if (
                    listen_count(db) == len(expected)
                    and not live
                    and len(mb) > 1
                    and mb[-1] - mb[0] >= MB_SPAN_WANTED
                ):
                    break
                time.sleep(0.5)
            settled = time.time()
        finally:
            for cluster in clusters:
                cluster.stop()
        logs = {c.name: c.log() for c in clusters}

        stored = stored_listens(db, user=user)
        runs = _runs(db)
        tasks = db.rows("SELECT func, success FROM django_q_task")
    requests = emu.requests

    # --- figures -------------------------------------------------------------------
    mb = sorted(r.time for r in requests if r.service == "musicbrainz")
    mb_503 = sum(1 for r in requests if r.service == "musicbrainz" and r.status == 503)
    by_cluster = Counter(
        r.client_id.split("/")[0].rsplit("-", 1)[-1] for r in requests if r.service == "musicbrainz"
    )
    asked: dict[tuple, set[str]] = {}
    for r in requests:
        if r.service == "musicbrainz":
            asked.setdefault((r.path, tuple(sorted(r.params.items()))), set()).add(r.client_id)
    repeated = len(mb) - len(asked)  # the same URL asked again
    across = sum(1 for agents in asked.values() if len(agents) > 1)  # by another cluster
    failed = [func for func, success in tasks if not success]
    failures = [line for log in logs.values() for line in log.splitlines() if "Failed '" in line]
    deadlocks = [line for line in failures if line.endswith("- deadlock detected")]
    tracebacks = [_traceback_after(log, line) for log in logs.values() for line in failures]
    cut = [run for run in runs if run.cut]
    finished = [(r.started.timestamp(), r.finished.timestamp(), r.new) for r in runs if not r.cut]
    first_start = min(s for s, _, _ in finished)
    last_end = max(f for _, f, _ in finished)
    total = sum(stored.values())
    busy = _busy_seconds([(s, f) for s, f, _ in finished])
    mb_span = (mb[-1] - mb[0]) if len(mb) > 1 else 0.0
    per10, per1 = max_in_window(mb, 10.0), max_in_window(mb, 1.0)
    gap = min_gap(mb)
    resolvers = {
        name: _processing(log, "metadata.tasks.resolve_unresolved_task")
        for name, log in logs.items()
    }
    ingests = {
        name: _processing(log, "listens.tasks.ingest_account_task") for name, log in logs.items()
    }
    print(
        f"\n[multi-worker] {len(LASTFM_NAMES)}+{len(LB_NAMES)} accounts, {total} listens stored"
        f" ({len(expected)} expected); {len(runs)} ingest runs, {len(cut)} cut"
        f" by SIGKILL of cluster a ({stored_at_kill} listens stored at the kill),"
        f" {len(failed)} tasks failed ({len(deadlocks)} on a PostgreSQL deadlock)"
        f"\n[multi-worker] ingest: {total / (last_end - first_start):.0f} listens/s overall"
        f" (first run start to last run end, {last_end - first_start:.1f} s, incl. the wait"
        f" for the next tick), {total / busy:.0f} listens/s while ingesting ({busy:.1f} s)"
        f"\n[multi-worker] ingest tasks per cluster {ingests}, resolve tasks per cluster"
        f" {resolvers}"
        f"\n[multi-worker] MusicBrainz: {len(mb)} requests over {mb_span:.1f} s"
        f" (limit {MB_RATE}/s): max {per10} in any 10 s window ({per10 / 10:.1f} req/s),"
        f" max {per1} in any 1 s window, min gap {gap if gap is None else f'{gap:.3f}'} s,"
        f" per cluster {dict(sorted(by_cluster.items()))}, {repeated} repeats"
        f" ({across} URLs asked by two clusters),"
        f" {mb_503} answered 503; settled {settled - started:.0f} s after the clusters"
        f" started, test {time.monotonic() - began:.0f} s"
    )

    # --- checks --------------------------------------------------------------------
    assert not emu.errors, emu.errors[0]
    assert stored_at_kill < len(expected), "everything was stored before the kill"
    assert_exactly(stored, expected)

    assert cut, "the SIGKILL landed between ingests: no run was cut"
    kill_time = datetime.fromtimestamp(clusters[0].killed_at, tz=UTC)
    intervals: dict[int, list[tuple[datetime, datetime, str]]] = {}
    for run in runs:
        finish = run.finished
        if run.cut:
            # Only the dead cluster's runs may be cut; it did nothing after the kill.
            assert run.started < kill_time, f"{run.name}: a run started after the kill was cut"
            finish = kill_time
        intervals.setdefault(run.account, []).append((run.started, finish, run.name))
    for spans in intervals.values():
        spans.sort()
        for (s1, f1, name), (s2, _f2, _) in zip(spans, spans[1:], strict=False):
            assert s2 >= f1, f"{name}: ingest runs overlap ({s1}..{f1} and one from {s2})"

    assert mb_span >= MB_SPAN_WANTED, f"too little MusicBrainz traffic: {len(mb)} requests"
    assert per10 <= MB_RATE * 10 + 1, f"{per10} MusicBrainz requests within 10 s"
    assert per1 <= MB_RATE * 1 + 1, f"{per1} MusicBrainz requests within 1 s"
    # New recordings are inserted in key order, so workers never deadlock on them
    # (test_concurrent_writes.py reproduces the old failure).
    shown = "\n\n".join([t for t in tracebacks if t][:3]) or "\n".join(failures[:3])
    assert not failed, f"{len(failed)} django-q tasks failed ({failed}):\n{shown}"


def _traceback_after(log: str, failure_line: str) -> str:
    """The failure line and the traceback django-q logs under it, up to the next log line."""
    if failure_line not in log:
        return ""
    tail = log[log.index(failure_line) :].splitlines()
    block = [tail[0]]
    for line in tail[1:]:
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line):
            break
        block.append(line)
    return "\n".join(block[:80])


def _agent(env: dict[str, str], cluster: str) -> dict[str, str]:
    """Each cluster's User-Agents name it (Last.fm gets the MusicBrainz one), so the
    request log tells them apart; the rate limiter's cache key does not depend on it."""
    agent = f"SidetrackScale-{cluster}/0.1 ( x@example.org )"
    return {**env, "SIDETRACK_MUSICBRAINZ_APP_NAME": agent, "LISTENBRAINZ_USER_AGENT": agent}


def _unfinished(db: Database) -> list[tuple[int, datetime]]:
    return [(run.account, run.started) for run in _runs(db) if run.finished is None]
