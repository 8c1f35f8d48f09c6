"""Django for benches: settings from the environment, a throwaway database.

    with throwaway_django({"MUSICBRAINZ_BASE_URL": emu.env["MUSICBRAINZ_BASE_URL"]}):
        from metadata.resolution import resolve_unresolved  # import models only inside
        ...

Every bench takes its database one way: a fresh SQLite file in a temporary
directory, deleted afterwards, or, when ``DATABASE_URL`` names a PostgreSQL server,
a ``<name>_<pid>`` database created on it and dropped afterwards (the named database
is never touched).
A ``.env`` file is ignored, so a developer's settings cannot leak into the figures.

Settings are read once per process, so this can be entered once per process, and
the environment (service URLs, ...) must be known before entering it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

BENCH_USER_AGENT = "SidetrackBench/0.1 ( bench@example.org )"

# Quiet, no sleeping, no retries: a bench measures requests, not backoff.
DEFAULT_ENV = {
    "DJANGO_SETTINGS_MODULE": "sidetrack.settings",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "SIDETRACK_MUSICBRAINZ_APP_NAME": BENCH_USER_AGENT,
    "LISTENBRAINZ_USER_AGENT": BENCH_USER_AGENT,
    "MUSICBRAINZ_RATE_LIMIT": "0",
    "HTTP_MAX_RETRIES": "0",
    "HTTP_BACKOFF_FACTOR": "0",
}


# listens_listenevent's columns as the benches seed and re-insert them (without id).
LISTEN_COLUMNS = (
    "user_id",
    "account_id",
    "source",
    "listened_at",
    "recording_id",
    "track_name",
    "artist_name",
    "album_name",
    "track_key",
    "raw_payload",
    "duplicate_of_id",
    "ingested_at",
)


@contextmanager
def throwaway_django(env: Mapping[str, str] | None = None, *, name: str = "bench") -> Iterator[str]:
    """Set Django up against a migrated throwaway database (``throwaway_database``:
    ``<name>_<pid>`` on the PostgreSQL server ``DATABASE_URL`` names, else a SQLite
    file); yields its description."""
    import django
    from django.apps import apps

    if apps.ready:
        raise RuntimeError("Django is already set up in this process: run one bench per process")
    with throwaway_database(name) as (database_url, where):
        workdir = tempfile.mkdtemp(prefix="sidetrack-bench-")
        os.environ.update(DEFAULT_ENV)
        os.environ.update(env or {})
        os.environ["SIDETRACK_ENV_FILE"] = os.path.join(workdir, "no.env")  # never read .env
        os.environ["DATABASE_URL"] = database_url
        try:
            django.setup()
            from django.core.management import call_command
            from django.db import connections

            call_command("migrate", verbosity=0, interactive=False)
            try:
                yield where
            finally:
                connections.close_all()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def reset_database() -> None:
    """Empty every table (between two runs of a bench on one database)."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "psql")


@contextmanager
def throwaway_database(name: str) -> Iterator[tuple[str, str]]:
    """Yield (DATABASE_URL, description) of a database made for one bench run:
    ``<name>_<pid>`` on the PostgreSQL server ``DATABASE_URL`` names (that database
    itself is never touched), else a SQLite file in a temporary directory."""
    server = os.environ.get("DATABASE_URL", "").strip()
    parts = urlsplit(server)
    if parts.scheme in POSTGRES_SCHEMES:
        import psycopg
        from psycopg import sql

        admin_url = urlunsplit(parts._replace(scheme="postgresql"))
        database = f"{name}_{os.getpid()}"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        try:
            where = f"PostgreSQL database {database} on {parts.hostname} (dropped afterwards)"
            yield urlunsplit(parts._replace(path=f"/{database}")), where
        finally:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as admin:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                admin.execute(drop.format(sql.Identifier(database)))
    else:
        workdir = tempfile.mkdtemp(prefix=f"{name}-")
        try:
            path = os.path.join(workdir, "bench.sqlite3")
            yield f"sqlite:///{path}", f"SQLite file {path} (deleted afterwards)"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def insert_listens(rows: list[tuple]) -> None:
    """Insert listens fast: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

    Each row is (id, user_id, account_id, source, listened_at (aware datetime),
    recording_id, track_name, artist_name, album_name, track_key, duplicate_of_id);
    ``raw_payload`` is ``{}`` and ``ingested_at`` now. Resets the id sequence.
    """
    import io
    import json
    from datetime import UTC, datetime

    from django.db import connection, transaction

    table = "listens_listenevent"
    columns = ("id", *LISTEN_COLUMNS)
    names = ", ".join(columns)
    ingested = datetime.now(UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            for r in rows:
                dup = "\\N" if r[10] is None else str(r[10])
                text = "\t".join(str(v).replace("\\", "\\\\").replace("\t", " ") for v in r[6:10])
                buffer.write(
                    f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4].isoformat()}\t{r[5]}\t{text}\t"
                    f"{{}}\t{dup}\t{ingested.isoformat()}\n"
                )
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        else:
            stamp = ingested.replace(tzinfo=None).isoformat(" ")
            payload = json.dumps({})
            marks = ", ".join("?" * len(columns))
            connection.connection.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",
                (
                    (*r[:4], r[4].strftime("%Y-%m-%d %H:%M:%S"), *r[5:10], payload, r[10], stamp)
                    for r in rows
                ),
            )
