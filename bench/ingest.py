"""Ingest bench: listens per second against raw inserts, peak memory, re-run cost.

    .venv/bin/python -m bench.ingest [--listens 100000] [--artists 300] [--seed 1]
                                     [--in-process] [--source lastfm|listenbrainz]

One synthetic user with ``--listens`` scrobbles on Last.fm and ListenBrainz (the
same history; ``--source`` picks the one ingested, Last.fm by default) is served
by the local emulator in a separate process (``python -m tests.emulator``), as the real API is
on another machine: its JSON serving neither competes with the ingest for the GIL
nor counts as ingest time. The bench builds the same deterministic world in its
own process, checks that both worlds' scrobbles hash the same and drops its copy:
a worker holds none either. ``--in-process`` serves it from a thread of the bench's process
instead (the old set-up). Django is set up in this process against a throwaway
database: a fresh SQLite file, or, when DATABASE_URL names a PostgreSQL server, a
database created on that server for this run and dropped afterwards (the named
database is never touched). Then:

1. warm cache: the same history is ingested by another Sidetrack user first
   (untimed), so every text's recording exists (resolved where the source's MBID
   settles it), as a previous ingest leaves them; the timed ingest creates none;
2. timed: ``ingest_account`` of the bench account, as in production (pages of
   200 from Last.fm or 1000 from ListenBrainz, about 4000 listens a transaction,
   the next page fetched while a batch is stored);
3. baseline: the rows step 2 stored are read back, deleted, and inserted again
   with one DB-API ``executemany`` (same table, same columns, one transaction):
   the denominator of the speed ratio, on a table in the same state;
4. re-run with nothing new: upstream requests for the account, from the
   emulator's request counters (``GET /_emulator/counters`` of the subprocess,
   or the in-process emulator's counters).

Peak RSS is the process's high-water mark (``ru_maxrss``) right after step 2; it
includes the world as it was built (and, with ``--in-process``, the emulator
serving it) and the warm-up. Exit code 0 whatever the figures: this is a report,
not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from bench._django import DEFAULT_ENV, LISTEN_COLUMNS, throwaway_database
from tests.emulator import Emulator, World
from tests.emulator.__main__ import COUNTERS_PATH, scrobble_digest

# Targets from the issue.
MIN_RAW_RATIO = 0.3
MAX_PEAK_RSS_MB = 200
RERUN_REQUESTS_PER_ACCOUNT = 1

ROOT = Path(__file__).resolve().parent.parent
LISTENER = "bench_listener"
LASTFM_KEY = "bench-lastfm-key-0123456789abcdef"


class Upstream(Protocol):
    """The emulator the bench ingests from, wherever it runs."""

    env: dict[str, str]  # the *_BASE_URL variables

    def request_counts(self) -> Counter[str]:
        """Requests served so far, per service."""
        ...

    def serving_seconds(self) -> float:
        """Time the emulator spent answering them, all services (without the network)."""
        ...


class InProcessUpstream:
    def __init__(self, emulator: Emulator) -> None:
        self.env = emulator.env
        self._emulator = emulator

    def request_counts(self) -> Counter[str]:
        return Counter({s: c["requests"] for s, c in self._emulator.counters.items()})

    def serving_seconds(self) -> float:
        return sum(logged.duration for logged in self._emulator.requests)


class SubprocessUpstream:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        root = env["LASTFM_BASE_URL"].removesuffix("lastfm/2.0/").rstrip("/")
        self._counters_url = root + COUNTERS_PATH

    def _counters(self) -> dict[str, dict[str, float]]:
        with urllib.request.urlopen(self._counters_url, timeout=10) as answer:
            return json.load(answer)

    def request_counts(self) -> Counter[str]:
        return Counter({s: int(c["requests"]) for s, c in self._counters().items()})

    def serving_seconds(self) -> float:
        return sum(c.get("seconds", 0.0) for c in self._counters().values())


@contextmanager
def emulator_process(listens: int, artists: int, seed: int) -> Iterator[subprocess.Popen[str]]:
    """Start ``python -m tests.emulator`` serving the bench's world; always stop it."""
    command = [
        sys.executable,
        "-m",
        "tests.emulator",
        "--seed",
        str(seed),
        "--artists",
        str(artists),
        "--listens",
        str(listens),
        "--user-name",
        LISTENER,
        "--lastfm-api-key",
        LASTFM_KEY,
        "--digest",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def read_announcement(process: subprocess.Popen[str]) -> dict[str, str]:
    """The subprocess's ``NAME=value`` lines, up to and including ``DIGEST``."""
    assert process.stdout is not None
    lines: dict[str, str] = {}
    while "DIGEST" not in lines:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process exited with code {process.wait()}")
        name, _, value = line.strip().partition("=")
        lines[name] = value
    return lines


def build_world(listens: int, artists: int, seed: int) -> tuple[World, int]:
    """The world, and how many distinct (artist, track) texts its history holds."""
    started = time.perf_counter()
    world = World.synthetic(
        seed, n_artists=artists, user_names=[LISTENER], listens_per_user=listens
    )
    scrobbles = world.scrobbles(LISTENER)
    texts = len({(s.artist, s.track) for s in scrobbles})
    print(
        f"world: {len(scrobbles)} scrobbles, {texts} distinct (artist, track) texts, "
        f"built in {time.perf_counter() - started:.1f}s"
    )
    return world, texts


@contextmanager
def upstream(
    listens: int, artists: int, seed: int, in_process: bool
) -> Iterator[tuple[int, Upstream]]:
    """Yield the history's number of distinct texts and an :class:`Upstream` serving it."""
    if in_process:
        world, texts = build_world(listens, artists, seed)
        with Emulator(world, lastfm_api_keys={LASTFM_KEY}) as emu:
            print("emulator: in this process, on a thread")
            yield texts, InProcessUpstream(emu)
        return
    # Started first: it builds its world while this process builds the same one.
    with emulator_process(listens, artists, seed) as process:
        world, texts = build_world(listens, artists, seed)
        started = time.perf_counter()
        lines = read_announcement(process)
        waited = time.perf_counter() - started
        count, sha = scrobble_digest(world)
        if lines["DIGEST"] != f"{count} {sha}":
            raise RuntimeError(f"emulator world differs: {lines['DIGEST']} != {count} {sha}")
        env = {name: value for name, value in lines.items() if name.endswith("_BASE_URL")}
        print(
            f"emulator: process {process.pid}, same {count} scrobbles (sha256 {sha[:16]}), "
            f"waited {waited:.1f}s for it"
        )
        # The world is the emulator's: a copy kept here would only add to this
        # process's heap (and to the garbage collector's work during the ingest).
        del world
        gc.collect()
        yield texts, SubprocessUpstream(env)


def configure(emulator_env: dict[str, str], database_url: str) -> None:
    """The environment Django reads at setup: quiet, no retries, this run's services."""
    os.environ.update(DEFAULT_ENV)
    os.environ.update(emulator_env)
    os.environ.pop("REDIS_URL", None)  # cache and queue in the throwaway database
    os.environ.update(
        DATABASE_URL=database_url,
        SIDETRACK_ENV_FILE="/nonexistent/sidetrack-bench.env",
        LASTFM_API_KEY=LASTFM_KEY,
        LASTFM_API_SECRET="bench-lastfm-secret",
    )


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run(
    listens: int, artists: int, seed: int, in_process: bool = False, source: str = "lastfm"
) -> None:
    with (
        upstream(listens, artists, seed, in_process) as (texts, emu),
        throwaway_database("sidetrack_bench_ingest") as (database_url, where),
    ):
        configure(emu.env, database_url)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        try:
            call_command("migrate", verbosity=0, interactive=False)
            print(f"database: {where}")
            measure(texts, emu, source)
        finally:
            connections.close_all()


class Stopwatch:
    """Total time spent in a function while the bench runs (wraps a module attribute)."""

    def __init__(self, module: object, name: str) -> None:
        self.seconds = 0.0
        inner = getattr(module, name)

        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(module, name, timed)


def measure(texts: int, emu: Upstream, source: str = "lastfm") -> None:
    from django.db import connection, transaction

    from accounts.services import connect_account
    from listens.ingest import run as ingest_run
    from listens.ingest import store as ingest_store
    from listens.models import ListenEvent
    from metadata.models import Recording

    # 1. Warm cache: the same history ingested first by another Sidetrack user, so
    # every text's recording (and, where the source's hint settles it, its MBID and
    # alias) is stored as a previous ingest leaves it.
    warm, _ = connect_account(username="bench-warm-up", source=source, external_username=LISTENER)
    started = time.perf_counter()
    warmed = ingest_run.ingest_account(account=warm)
    resolved = Recording.objects.filter(mbid__isnull=False).count()
    print(
        f"warm cache: {warmed.listens_new} listens of another user in "
        f"{time.perf_counter() - started:.1f}s ({warmed.status}): "
        f"{Recording.objects.count()} recordings for {texts} texts, {resolved} with an MBID"
    )
    account, _ = connect_account(username="bench", source=source, external_username=LISTENER)
    rss_before = current_rss_mb()

    # 2. Timed ingest, with where the time goes.
    store = Stopwatch(ingest_run, "store_page")
    hints = Stopwatch(ingest_store, "_verify_free_hints")
    recordings_before = Recording.objects.count()
    requests_before = emu.request_counts()
    serving_before = emu.serving_seconds()
    started = time.perf_counter()
    timed = ingest_run.ingest_account(account=account)
    elapsed = time.perf_counter() - started
    peak = peak_rss_mb()
    rate = timed.listens_new / elapsed
    requests = emu.request_counts() - requests_before
    serving = emu.serving_seconds() - serving_before
    new_recordings = Recording.objects.count() - recordings_before
    print(
        f"timed ingest: {timed.listens_new} listens ({timed.listens_known} known) in "
        f"{timed.pages} pages, {elapsed:.1f}s = {rate:,.0f} listens/s ({timed.status}); "
        f"requests {dict(requests)}; recordings created {new_recordings}"
    )
    print(
        f"  of which store_page {store.seconds:.1f}s (hint checks {hints.seconds:.1f}s), "
        f"the rest {elapsed - store.seconds:.1f}s (waiting for a page, claim); pages are "
        f"fetched and parsed on a thread meanwhile, sharing the GIL"
    )
    print(f"  upstream: the emulator spent {serving:.1f}s answering (not Sidetrack's time)")
    print(f"RSS: {rss_before:.0f} MB before the timed ingest, peak {peak:.0f} MB (ru_maxrss)")

    # 3. The same rows through one plain executemany, on the table in the same state.
    table = ListenEvent._meta.db_table
    columns = ", ".join(LISTEN_COLUMNS)
    postgres = connection.vendor == "postgresql"
    select = columns.replace("raw_payload", "raw_payload::text") if postgres else columns
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {table} WHERE account_id = %s", [account.pk])
        rows = cursor.fetchall()
        cursor.execute(f"DELETE FROM {table} WHERE account_id = %s", [account.pk])
        if postgres:
            cursor.execute(f"VACUUM ANALYZE {table}")
    placeholders = ", ".join(["%s"] * len(LISTEN_COLUMNS))
    insert = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(insert, rows)
    raw_elapsed = time.perf_counter() - started
    raw_rate = len(rows) / raw_elapsed
    ratio = rate / raw_rate
    print(
        f"raw executemany: {len(rows)} rows in {raw_elapsed:.2f}s = {raw_rate:,.0f} rows/s; "
        f"ingest / raw = {ratio:.3f}"
    )
    del rows

    # 4. Re-run with nothing new.
    before = emu.request_counts()
    rerun = ingest_run.ingest_account(account=account)
    rerun_requests = emu.request_counts() - before
    print(f"re-run: {rerun.listens_new} new, upstream requests {dict(rerun_requests)}")
    musicbrainz = emu.request_counts()["musicbrainz"]
    print(f"MusicBrainz requests during the whole bench: {musicbrainz}")

    rerun_total = sum(rerun_requests.values())
    print()
    print(f"{verdict(ratio >= MIN_RAW_RATIO)}  ingest speed {ratio:.3f} x raw (>= {MIN_RAW_RATIO})")
    print(f"{verdict(peak < MAX_PEAK_RSS_MB)}  peak RSS {peak:.0f} MB (< {MAX_PEAK_RSS_MB} MB)")
    ok = rerun_total == RERUN_REQUESTS_PER_ACCOUNT and rerun.listens_new == 0
    print(f"{verdict(ok)}  re-run requests per account: {rerun_total} (= 1)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--listens", type=int, default=100_000)
    parser.add_argument("--artists", type=int, default=300, help="about 33 tracks each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve the emulator from a thread of this process (the old set-up)",
    )
    parser.add_argument(
        "--source",
        choices=["lastfm", "listenbrainz"],
        default="lastfm",
        help="the service the history is ingested from (pages of 200 or 1000)",
    )
    args = parser.parse_args(argv)
    run(args.listens, args.artists, args.seed, in_process=args.in_process, source=args.source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
