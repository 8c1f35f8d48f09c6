"""Helpers shared by the scale-out and fault suites.

The database plumbing (throwaway PostgreSQL database or SQLite file, running
``manage.py`` with a clean environment) comes from the end-to-end suite; what
is added here: a scratch database as a context manager, reading listens back,
scanning every text column for a string, per-run Redis keys, qcluster
processes, and sliding-window request counts.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.test_ingest_e2e import (
    COMMAND_TIMEOUT,
    POSTGRES_SCHEMES,
    ROOT,
    Database,
    Listen,
    assert_exactly,
    base_environment,
    describe,
    epoch,
    manage,
    migrate,
    throwaway_postgres,
)

__all__ = [
    "COMMAND_TIMEOUT",
    "ROOT",
    "Database",
    "Listen",
    "assert_exactly",
    "base_environment",
    "describe",
    "epoch",
    "manage",
]


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in POSTGRES_SCHEMES


@contextmanager
def scratch_database(directory: Path) -> Iterator[Database]:
    """A migrated database for subprocesses: a throwaway PostgreSQL database when
    DATABASE_URL names a server, else a SQLite file in ``directory``."""
    server = os.environ.get("DATABASE_URL", "")
    if is_postgres(server):
        with throwaway_postgres(server) as db:
            migrate(db)
            yield db
    else:
        path = directory / "sidetrack.sqlite3"
        db = Database(url=f"sqlite:///{path}", sqlite_path=path)
        migrate(db)
        yield db


def stored_listens(db: Database, *, user: str | None = None) -> Counter[Listen]:
    """Every stored listen as (source, account name, unix time, artist, track), counted."""
    query = (
        "SELECT a.source, a.external_username, l.listened_at, l.artist_name, l.track_name"
        " FROM listens_listenevent l"
        " JOIN accounts_externalaccount a ON a.id = l.account_id"
        " JOIN auth_user u ON u.id = l.user_id"
    )
    rows = db.rows(query + " WHERE u.username = %s", (user,)) if user else db.rows(query)
    return Counter((src, name, epoch(at), art, track) for src, name, at, art, track in rows)


def listen_count(db: Database) -> int:
    return db.rows("SELECT COUNT(*) FROM listens_listenevent")[0][0]


def text_columns_containing(db: Database, needles: Sequence[str]) -> dict[str, int]:
    """``{"table.column": rows}`` for every text-like column holding any needle."""
    found: dict[str, int] = {}
    if db.sqlite_path is not None:
        with closing(sqlite3.connect(db.sqlite_path)) as connection:
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            ]
            for table in tables:
                for _, column, kind, *_ in connection.execute(f'PRAGMA table_info("{table}")'):
                    kind = (kind or "").lower()
                    if not any(t in kind for t in ("char", "text", "clob", "json", "blob")):
                        continue
                    for needle in needles:
                        (count,) = connection.execute(
                            f'SELECT COUNT(*) FROM "{table}"'  # noqa: S608 - names from the schema
                            f' WHERE instr(CAST("{column}" AS TEXT), ?) > 0',
                            (needle,),
                        ).fetchone()
                        if count:
                            found[f"{table}.{column}"] = found.get(f"{table}.{column}", 0) + count
        return found
    import psycopg
    from psycopg import sql

    with psycopg.connect(db.psycopg_url) as connection:
        columns = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type IN"
            " ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')"
        ).fetchall()
        for table, column in columns:
            for needle in needles:
                query = sql.SQL("SELECT COUNT(*) FROM {} WHERE strpos({}::text, %s) > 0").format(
                    sql.Identifier(table), sql.Identifier(column)
                )
                (count,) = connection.execute(query, (needle,)).fetchone()
                if count:
                    found[f"{table}.{column}"] = found.get(f"{table}.{column}", 0) + count
    return found


# --- Redis: keys of our own ---------------------------------------------------------------


@contextmanager
def redis_namespace(server_url: str, *, cluster: str, cache_prefix: str) -> Iterator[None]:
    """Run with Q_CLUSTER_NAME=cluster and CACHE_KEY_PREFIX=cache_prefix on
    ``server_url``; removes what they wrote afterwards. django-q2 names its Redis
    keys after the cluster (``django_q:<name>:q`` is the queue), the cache after
    the prefix, so concurrent runs on one Redis database never share a key."""
    import redis

    client = redis.Redis.from_url(server_url)
    try:
        yield
    finally:
        for pattern in (f"django_q:{cluster}:*", f"{cache_prefix}:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
        client.close()


# --- qcluster processes ---------------------------------------------------------------


@dataclass
class Cluster:
    """One ``manage.py qcluster`` in its own session, so SIGKILL takes its workers too."""

    name: str
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    killed_at: float | None = None

    @classmethod
    def start(cls, name: str, env: dict[str, str], log_dir: Path) -> Cluster:
        log_path = log_dir / f"qcluster-{name}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, log_path, process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: the guard, its workers, monitor and pusher."""
        self.killed_at = time.time()
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.killed_at is not None and not self.alive():
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        # Workers busy in a MusicBrainz sleep may outlive the guard: end the group.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def shell(env: dict[str, str], code: str, *, timeout: float = COMMAND_TIMEOUT) -> str:
    """``manage.py shell -c code``; fails the test on a non-zero exit."""
    result = manage(env, "shell", "-c", code, timeout=timeout)
    assert result.returncode == 0, describe(result)
    return result.stdout


# --- Request rates ----------------------------------------------------------------------


def max_in_window(times: Iterable[float], width: float) -> int:
    """The most events in any half-open window [t, t + width)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - width:
            start += 1
        best = max(best, end - start + 1)
    return best


def min_gap(times: Iterable[float]) -> float | None:
    ordered = sorted(times)
    gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
    return min(gaps) if gaps else None
