"""API read bench: listen pages and stats latency on a large listening history.

    .venv/bin/python -m bench.api [--listens 1000000] [--repeat 30] [--seed 1]

Seeds ``--listens`` listens for one user into a throwaway database: a fresh SQLite
file, or, when DATABASE_URL names a PostgreSQL server, a ``bench_api_<pid>``
database created on that server and dropped afterwards (the named database is
never touched). The user has one Last.fm account holding the history and a
ListenBrainz account holding copies of ~3% of its listens (``duplicate_of`` set),
3000 recordings (70% with an MBID, most of those with an artist credit), listens
spread over 5 years. Seeding is raw SQL (``executemany`` on SQLite, ``COPY`` on
PostgreSQL), then ANALYZE. Every request goes through Django's test ``Client``
(``force_login``, DEBUG off, the user throttle's rate raised so it never refuses;
its cache read/write still counts), timed after 3 warm-ups, 30 repetitions:

- ``/api/listens/?page_size=100`` (first page);
- the page reached by following ``next`` 50 times (deep cursor page);
- ``/api/listens/?page_size=100&source=lastfm&resolved=true``;
- ``/api/stats/top-artists/?since=<1 year ago>`` and ``/api/stats/top-recordings/``.

Exit code 0 whatever the figures: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bench._django import DEFAULT_ENV, LISTEN_COLUMNS, throwaway_database

LISTENS_P50_MS = 50
STATS_P50_MS = 300
WARMUPS = 3
DEEP_PAGES = 50
PAGE_SIZE = 100
RECORDINGS = 3000
CREDITS = 400
DUPLICATE_SHARE = 0.03
YEARS = 5
COLUMNS = ("id", *LISTEN_COLUMNS)


def configure(database_url: str) -> None:
    # WhiteNoise looks for collected static files, which no bench serves.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    os.environ.update(DEFAULT_ENV)
    os.environ.pop("REDIS_URL", None)  # cache (throttle counters) in the throwaway database
    os.environ.update(
        DATABASE_URL=database_url,
        SIDETRACK_ENV_FILE="/nonexistent/sidetrack-bench.env",
        ALLOWED_HOSTS="testserver,localhost",
        API_THROTTLE_USER="100000000/min",
        API_THROTTLE_ANON="100000000/min",
    )


# --- Seeding ---------------------------------------------------------------------------


def seed(n_listens: int, rng: random.Random) -> tuple[object, float]:
    """Create the user, accounts, recordings and listens; return (user, seconds)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.models import ExternalAccount, ListenSource
    from metadata.models import ArtistCredit, Recording

    started = time.perf_counter()
    user = get_user_model().objects.create_user("bench_listener", password="x")
    lastfm = ExternalAccount.objects.create(
        user=user, source=ListenSource.LASTFM, external_username="bench_listener"
    )
    lbz = ExternalAccount.objects.create(
        user=user, source=ListenSource.LISTENBRAINZ, external_username="bench_listener"
    )
    credits = ArtistCredit.objects.bulk_create(
        ArtistCredit(key=hashlib.sha256(f"credit{i}".encode()).hexdigest(), name=f"Artist {i}")
        for i in range(CREDITS)
    )
    recordings = []
    for i in range(RECORDINGS):
        credit = credits[rng.randrange(CREDITS)]
        title = f"Track {i}"
        if rng.random() < 0.7:  # resolved; 10% of those without a credit row
            has_credit = rng.random() < 0.9
            recordings.append(
                Recording(
                    mbid=uuid.UUID(int=rng.getrandbits(128), version=4),
                    status=Recording.Status.RESOLVED,
                    title=title,
                    artist_name=credit.name,
                    artist_credit=credit if has_credit else None,
                )
            )
        else:
            recordings.append(
                Recording(
                    status=Recording.Status.UNRESOLVED,
                    title=title,
                    artist_name=credit.name,
                    unresolved_key=hashlib.sha256(f"rec{i}".encode()).hexdigest(),
                )
            )
    Recording.objects.bulk_create(recordings, batch_size=500)
    rec_rows = list(Recording.objects.values_list("id", "title", "artist_name"))
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(rec_rows))]  # long tail
    keys = {
        rid: hashlib.sha256(f"{a}\x1f{t}".lower().encode()).hexdigest() for rid, t, a in rec_rows
    }

    n_dupes = int(n_listens * DUPLICATE_SHARE)
    n_main = n_listens - n_dupes
    now = int(time.time())
    span = YEARS * 365 * 86400
    # Unique seconds, oldest first: ids grow with time, as ingest stores them.
    seconds = sorted(rng.sample(range(now - span, now), n_main))
    picks = rng.choices(rec_rows, weights=weights, k=n_main)
    ingested = datetime.now(UTC)
    uid, main_id, lbz_id = user.pk, lastfm.pk, lbz.pk
    rows: list[tuple] = []
    for i, (ts, (rid, title, artist)) in enumerate(zip(seconds, picks, strict=True), start=1):
        rows.append((i, uid, main_id, "lastfm", ts, rid, title, artist, "Album", keys[rid], None))
    for j, src in enumerate(sorted(rng.sample(range(n_main), n_dupes)), start=n_main + 1):
        _, _, _, _, ts, rid, title, artist, album, key, _ = rows[src]
        rows.append((j, uid, lbz_id, "listenbrainz", ts, rid, title, artist, album, key, src + 1))

    table = "listens_listenevent"
    cols = ", ".join(COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            ing = ingested.isoformat()
            for r in rows:
                when = datetime.fromtimestamp(r[4], UTC).isoformat()
                dup = "\\N" if r[10] is None else str(r[10])
                buffer.write(
                    f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{when}\t{r[5]}\t{r[6]}\t{r[7]}\t{r[8]}\t"
                    f"{r[9]}\t{{}}\t{dup}\t{ing}\n"
                )
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        else:
            ing = ingested.replace(tzinfo=None).isoformat(" ")
            payload = json.dumps({})
            sqlite_rows = (
                (
                    *r[:4],
                    datetime.fromtimestamp(r[4], UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    *r[5:10],
                    payload,
                    r[10],
                    ing,
                )
                for r in rows
            )
            marks = ", ".join("?" * len(COLUMNS))
            connection.connection.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})", sqlite_rows
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user, time.perf_counter() - started


# --- Timing ----------------------------------------------------------------------------


def timed(client: object, url: str, repeat: int) -> list[float]:
    for _ in range(WARMUPS):
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code, answer.content[:300])
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (url, answer.status_code)
    return times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def explain(client: object, url: str) -> None:
    """Print the slowest SQL statement on listens of one request and its plan (EXPLAIN QUERY PLAN
    on SQLite, EXPLAIN ANALYZE on PostgreSQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    listen_queries = [q for q in captured.captured_queries if "listens_listenevent" in q["sql"]]
    slowest = max(listen_queries, key=lambda query: float(query["time"]))
    sql = slowest["sql"]
    prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        plan = cursor.fetchall()
    print(f"  slowest statement ({float(slowest['time']) * 1000:.1f} ms): {sql}")
    for row in plan:
        print("   ", row[-1] if connection.vendor != "postgresql" else row[0])


def measure(user: object, repeat: int, *, show_plans: bool = False) -> None:
    from django.test import Client

    client = Client()
    client.force_login(user)

    first = f"/api/listens/?page_size={PAGE_SIZE}"
    url = first
    for _ in range(DEEP_PAGES):
        following = client.get(url).json()["next"]
        if following is None:  # fewer pages than DEEP_PAGES: time the last one
            break
        url = following
    deep = url
    since = (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = [
        ("listens first page", first, LISTENS_P50_MS),
        (f"listens page {DEEP_PAGES + 1} (cursor)", deep, LISTENS_P50_MS),
        (
            "listens source=lastfm&resolved=true",
            first + "&source=lastfm&resolved=true",
            LISTENS_P50_MS,
        ),
        ("stats top-artists since 1 year", f"/api/stats/top-artists/?since={since}", STATS_P50_MS),
        ("stats top-recordings all time", "/api/stats/top-recordings/", STATS_P50_MS),
    ]
    print(f"{'endpoint':40} {'p50 ms':>8} {'p95 ms':>8}  target")
    for name, case_url, target in cases:
        times = timed(client, case_url, repeat)
        p50 = statistics.median(times)
        verdict = "PASS" if p50 < target else "FAIL"
        print(f"{name:40} {p50:8.1f} {p95(times):8.1f}  {verdict}: p50 < {target} ms")
        if show_plans:
            explain(client, case_url)


def run(n_listens: int | None, repeat: int, seed_value: int, *, show_plans: bool = False) -> None:
    with throwaway_database("bench_api") as (database_url, where):
        configure(database_url)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        if n_listens is None:
            n_listens = 1_000_000
        print(f"database: {where}")
        user, seconds = seed(n_listens, random.Random(seed_value))
        print(
            f"seeded {n_listens} listens ({int(n_listens * DUPLICATE_SHARE)} cross-source "
            f"duplicates), {RECORDINGS} recordings, in {seconds:.1f} s; ANALYZE done"
        )
        print(f"{repeat} repetitions after {WARMUPS} warm-ups, page_size={PAGE_SIZE}")
        measure(user, repeat, show_plans=show_plans)
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument("--listens", type=int, default=None, help="default 1000000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--explain", action="store_true", help="print each case's slowest statement and its plan"
    )
    args = parser.parse_args(argv)
    run(args.listens, args.repeat, args.seed, show_plans=args.explain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
