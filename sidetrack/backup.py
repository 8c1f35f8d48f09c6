"""Backups of the embedded SQLite database: a consistent copy while everything runs.

SQLite's online backup API (https://www.sqlite.org/backup.html) copies the database
inside one read transaction: in WAL mode writers go on meanwhile, and the copy is the
database as of one moment, committed transactions only. A file copy of ``db.sqlite3``
would miss what still sits in ``db.sqlite3-wal`` and can catch a half-written page.
PostgreSQL has its own tools (README: ``pg_dump`` / ``pg_restore``).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


@dataclass(frozen=True)
class BackupCopy:
    path: Path
    size_bytes: int
    migrations: int


@dataclass(frozen=True)
class Restored:
    database: Path
    previous: Path | None  # the database as it was before, kept beside it
    pending_migrations: int  # the backup is older than the code: run migrate


def sqlite_database_path(alias: str = "default") -> Path:
    database = settings.DATABASES[alias]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        raise BackupError(
            "backup and restore are for the embedded SQLite database; on PostgreSQL use "
            "pg_dump and pg_restore (README.md, Backups)"
        )
    return Path(database["NAME"])


def backup_database(*, target: Path, alias: str = "default") -> BackupCopy:
    """Copy the live database to ``target`` (which must not exist) and check the copy."""
    source = sqlite_database_path(alias)
    if target.exists():
        raise BackupError(f"{target} exists; name a new file")
    if not source.is_file():
        raise BackupError(f"no database at {source}: nothing to back up")
    partial = target.with_name(f".{target.name}.partial")
    try:
        _copy(source, partial)
        migrations = _check(partial)
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as error:
        raise BackupError(f"cannot write {target}: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return BackupCopy(path=target, size_bytes=target.stat().st_size, migrations=migrations)


def restore_database(*, backup: Path, alias: str = "default") -> Restored:
    """Put a backup in place of the database, after checking it is a whole Sidetrack
    database this code can run. The database it replaces is kept beside it.

    Stop the web server and the workers first: their open connections would go on
    with the database they had."""
    database = sqlite_database_path(alias)
    if not backup.is_file():
        raise BackupError(f"no such file: {backup}")
    _check(backup)
    pending = _pending_migrations(backup)
    connections[alias].close()
    previous = None
    if database.is_file():
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        previous = database.with_name(f"{database.name}.before-restore-{stamp}")
        _copy(database, previous)
    database.parent.mkdir(parents=True, exist_ok=True)
    _copy(backup, database)
    return Restored(database=database, previous=previous, pending_migrations=pending)


def _copy(source: Path, target: Path) -> None:
    # One step (pages=-1): one read transaction, so the copy is one moment's database.
    with (
        closing(sqlite3.connect(source, timeout=30)) as reader,
        closing(sqlite3.connect(target, timeout=30)) as writer,
    ):
        reader.backup(writer, pages=-1)


def _check(path: Path) -> int:
    """The number of applied migrations in a readable, intact Sidetrack database."""
    with path.open("rb") as head:
        if head.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path} is not a SQLite database")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path} is damaged: {'; '.join(problems[:3])}")
            (tables,) = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'django_migrations'"
            ).fetchone()
            if not tables:
                raise BackupError(f"{path} is not a Sidetrack database (no migrations table)")
            return db.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} cannot be read: {error}") from error


def _pending_migrations(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        applied = set(db.execute("SELECT app, name FROM django_migrations").fetchall())
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    newer = sorted(applied - known)
    if newer:
        app, name = newer[0]
        raise BackupError(
            f"the backup was made by a newer Sidetrack (migration {app}.{name} is unknown "
            "here); install that version first"
        )
    return len(known - applied)
