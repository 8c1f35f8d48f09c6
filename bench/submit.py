"""Submit bench: the ListenBrainz-compatible /1/submit-listens on a live server.

    .venv/bin/python -m bench.submit [--seconds 15] [--workers 4] [--clients 4]

Starts ``gunicorn sidetrack.wsgi`` (``--workers`` sync workers) on a throwaway
database: a fresh SQLite file, or, when DATABASE_URL names a PostgreSQL server, a
``bench_submit_<pid>`` database there (dropped afterwards). With REDIS_URL set the
shared cache (the rate limiter's counters) is Redis, else the database cache.

1. Throughput: ``--clients`` threads post ``import`` requests of 100 new listens each,
   back to back, for ``--seconds``: listens stored per second, and requests per second.
2. Latency under load: 20 ``import`` requests a second (100 listens each, paced,
   open loop) while one client posts a ``single`` listen every 100 ms; p50/p95 of the
   single submits (target p95 < 50 ms) and the import rate actually served.
3. Last.fm protocol throughput: ``--clients`` threads post ``track.scrobble`` batches of
   50 (indexed ``artist[i]``...) to /2.0/ with a session key, back to back.
4. Last.fm protocol latency under load: 20 ``track.scrobble`` batches of 50 a second
   (paced, open loop) while one client posts ``track.updateNowPlaying`` every 100 ms;
   p50/p95 of the now-playing calls (target, as for /1/: p95 < 50 ms).
5. Raw inserts: the same number of listens as phase 1 inserted straight into the
   table with one ``executemany`` per 100 (no HTTP, no resolution, no duplicate
   check): the /1/ API's throughput as a share of that.

Listens draw their text from 2000 tracks (recordings are reused, as a real history
reuses them) and each has its own second. Exit code 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

import requests

from bench._django import DEFAULT_ENV, throwaway_database

IMPORT_SIZE = 100
SCROBBLE_BATCH = 50  # Last.fm's maximum
IMPORTS_PER_SECOND = 20
SINGLE_EVERY = 0.1
SINGLE_P95_MS = 50
TRACKS = 2000
_FIRST_TS = 1_600_000_000
_clock = count(_FIRST_TS)  # one second per listen, never reused in a run
_clock_lock = threading.Lock()


def configure(database_url: str) -> dict[str, str]:
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    env = {
        **DEFAULT_ENV,
        "DATABASE_URL": database_url,
        "SIDETRACK_ENV_FILE": "/nonexistent/sidetrack-bench.env",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LISTENBRAINZ_API_RATE_LIMIT": "100000000",
    }
    os.environ.update(env)
    return {**os.environ, **env}


def next_seconds(n: int) -> list[int]:
    with _clock_lock:
        return [next(_clock) for _ in range(n)]


def listen_body(listen_type: str, n: int) -> bytes:
    payload = []
    for ts in next_seconds(n):
        track = ts % TRACKS
        payload.append(
            {
                "listened_at": ts,
                "track_metadata": {
                    "artist_name": f"Artist {track % 300}",
                    "track_name": f"Track {track}",
                    "release_name": f"Album {track % 500}",
                    "additional_info": {"submission_client": "bench", "duration_ms": 200_000},
                },
            }
        )
    return json.dumps({"listen_type": listen_type, "payload": payload}).encode()


def scrobble_body(session_key: str, n: int) -> bytes:
    params = {"method": "track.scrobble", "api_key": "bench", "sk": session_key}
    for index, ts in enumerate(next_seconds(n)):
        track = ts % TRACKS
        params[f"artist[{index}]"] = f"Artist {track % 300}"
        params[f"track[{index}]"] = f"Track {track}"
        params[f"album[{index}]"] = f"Album {track % 500}"
        params[f"timestamp[{index}]"] = str(ts)
        params[f"duration[{index}]"] = "200"
    return urlencode(params).encode()


def now_playing_body(session_key: str) -> bytes:
    track = next_seconds(1)[0] % TRACKS
    params = {"method": "track.updateNowPlaying", "api_key": "bench", "sk": session_key}
    params |= {"artist": f"Artist {track % 300}", "track": f"Track {track}", "duration": "200"}
    return urlencode(params).encode()


@contextmanager
def gunicorn(env: dict[str, str], workers: int) -> Iterator[str]:
    """The e2e tests' gunicorn, its log in a temporary file (tracebacks reported)."""
    from tests.e2e.web import gunicorn as serve

    log = Path(tempfile.mkstemp(prefix="bench-submit-gunicorn-", suffix=".log")[1])
    try:
        with serve(env, log, workers=workers, access_log=False) as base:
            yield base
    finally:
        errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
        if errors:
            print(f"server log has {len(errors)} traceback(s): {log}")


class Poster:
    """One keep-alive session per thread."""

    def __init__(self, base: str, token: str, *, path: str = "/1/submit-listens") -> None:
        self.url = f"{base}{path}"
        if path.startswith("/2.0/"):
            self.headers = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.local = threading.local()
        self.failures = 0

    def post(self, body: bytes) -> float:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        started = time.perf_counter()
        response = session.post(self.url, data=body, headers=self.headers, timeout=60)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            self.failures += 1
        return elapsed


def throughput(
    poster: Poster, clients: int, seconds: float, body: Callable[[], bytes] | None = None
) -> tuple[int, float]:
    stop = time.monotonic() + seconds
    done = [0] * clients
    body = body or (lambda: listen_body("import", IMPORT_SIZE))

    def client(index: int) -> None:
        while time.monotonic() < stop:
            poster.post(body())
            done[index] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), time.perf_counter() - started


def latency_under_load(
    poster: Poster,
    seconds: float,
    load: Callable[[], bytes] | None = None,
    probe: Callable[[], bytes] | None = None,
) -> tuple[list[float], float]:
    """Probe latencies (ms; a single submit by default) while batches (imports by
    default) are fired at IMPORTS_PER_SECOND."""
    imports_done = [0]
    stop = time.monotonic() + seconds
    load = load or (lambda: listen_body("import", IMPORT_SIZE))
    probe = probe or (lambda: listen_body("single", 1))

    def one_import() -> None:
        poster.post(load())
        imports_done[0] += 1

    def pacer() -> None:
        with ThreadPoolExecutor(max_workers=32) as pool:
            tick = time.monotonic()
            while tick < stop:
                pool.submit(one_import)
                tick += 1 / IMPORTS_PER_SECOND
                time.sleep(max(0.0, tick - time.monotonic()))

    loader = threading.Thread(target=pacer)
    started = time.perf_counter()
    loader.start()
    time.sleep(1.0)  # let the load settle first
    latencies = []
    while time.monotonic() < stop:
        tick = time.monotonic()
        latencies.append(1000 * poster.post(probe()))
        time.sleep(max(0.0, tick + SINGLE_EVERY - time.monotonic()))
    loader.join()
    return latencies, imports_done[0] / (time.perf_counter() - started)


def raw_insert_rate(n_listens: int) -> float:
    """Listens per second inserted straight into the table, 100 a statement batch."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import ExternalAccount
    from listens.ingest.store import db_datetime_adapter
    from listens.models import ListenEvent
    from metadata.models import Recording

    account = ExternalAccount.objects.get(source="submitted")
    recording = Recording.objects.order_by("pk").first()
    adapt = db_datetime_adapter(connection)
    table = connection.ops.quote_name(ListenEvent._meta.db_table)
    sql = (
        f"INSERT INTO {table} (user_id, account_id, source, listened_at, recording_id, "
        "track_name, artist_name, album_name, track_key, raw_payload, ingested_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
    )
    from datetime import UTC, datetime

    started = time.perf_counter()
    for start in range(0, n_listens, IMPORT_SIZE):
        rows = []
        for ts in next_seconds(min(IMPORT_SIZE, n_listens - start)):
            when = adapt(datetime.fromtimestamp(ts, tz=UTC))
            track = ts % TRACKS
            rows.append(
                (
                    account.user_id,
                    account.pk,
                    "submitted",
                    when,
                    recording.pk,
                    f"Track {track}",
                    f"Artist {track % 300}",
                    f"Album {track % 500}",
                    f"{ts:064x}",
                    "{}",
                    adapt(timezone.now()),
                )
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    return n_listens / (time.perf_counter() - started)


def run(seconds: float, workers: int, clients: int) -> None:
    with throwaway_database("bench_submit") as (database_url, where):
        env = configure(database_url)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection

        from accounts.scrobble_auth import create_scrobble_session
        from accounts.submission_tokens import create_submission_token
        from listens.models import ListenEvent

        call_command("migrate", verbosity=0, interactive=False)
        user = get_user_model().objects.create_user("bench", password=None)
        token = create_submission_token(user=user, name="bench")[1]
        session_key = create_scrobble_session(user=user, name="bench")[1]
        connection.close()
        cache = "Redis" if os.environ.get("REDIS_URL") else "database cache"
        print(f"database: {where}; shared cache: {cache}; gunicorn workers: {workers}")
        with gunicorn(env, workers) as base:
            poster = Poster(base, token)
            poster.post(listen_body("import", IMPORT_SIZE))  # warm-up: the account, imports
            requests_done, elapsed = throughput(poster, clients, seconds)
            api_rate = requests_done * IMPORT_SIZE / elapsed
            print(
                f"1. throughput: {requests_done} import requests of {IMPORT_SIZE} in "
                f"{elapsed:.1f} s with {clients} clients: {requests_done / elapsed:.1f} "
                f"requests/s, {api_rate:.0f} listens/s"
            )
            latencies, served = latency_under_load(poster, seconds)
            p50 = statistics.median(latencies)
            p95 = statistics.quantiles(latencies, n=20)[-1]
            verdict = (
                "PASS" if p95 < SINGLE_P95_MS and served >= IMPORTS_PER_SECOND * 0.95 else "FAIL"
            )
            print(
                f"2. single submit under {IMPORTS_PER_SECOND} imports/s asked "
                f"({served:.1f}/s served): p50 {p50:.1f} ms, p95 {p95:.1f} ms over "
                f"{len(latencies)} submits  {verdict}: p95 < {SINGLE_P95_MS} ms"
            )
            if poster.failures:
                print(f"   {poster.failures} requests failed (non-200)")
            lastfm = Poster(base, token, path="/2.0/")
            batch = lambda: scrobble_body(session_key, SCROBBLE_BATCH)  # noqa: E731
            lastfm.post(batch())  # warm-up
            batches, elapsed = throughput(lastfm, clients, seconds, batch)
            scrobbles_rate = batches * SCROBBLE_BATCH / elapsed
            print(
                f"3. Last.fm track.scrobble: {batches} batches of {SCROBBLE_BATCH} in "
                f"{elapsed:.1f} s with {clients} clients: {batches / elapsed:.1f} requests/s, "
                f"{scrobbles_rate:.0f} scrobbles/s"
            )
            latencies, served = latency_under_load(
                lastfm, seconds, batch, lambda: now_playing_body(session_key)
            )
            p50 = statistics.median(latencies)
            p95 = statistics.quantiles(latencies, n=20)[-1]
            verdict = (
                "PASS" if p95 < SINGLE_P95_MS and served >= IMPORTS_PER_SECOND * 0.95 else "FAIL"
            )
            print(
                f"4. Last.fm track.updateNowPlaying under {IMPORTS_PER_SECOND} scrobble batches/s "
                f"asked ({served:.1f}/s served): p50 {p50:.1f} ms, p95 {p95:.1f} ms over "
                f"{len(latencies)} calls  {verdict}: p95 < {SINGLE_P95_MS} ms"
            )
            if lastfm.failures:
                print(f"   {lastfm.failures} Last.fm requests failed (non-200)")
        stored = ListenEvent.objects.count()
        raw_rate = raw_insert_rate(requests_done * IMPORT_SIZE)
        print(
            f"5. raw inserts: {raw_rate:.0f} listens/s; the API's throughput is "
            f"{api_rate / raw_rate:.1%} of it ({stored} listens stored through the API)"
        )
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.submit", description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    run(args.seconds, args.workers, args.clients)
    return 0


if __name__ == "__main__":
    sys.exit(main())
