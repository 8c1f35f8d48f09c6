"""``sidetrack backup`` while an ingest writes, ``sidetrack restore`` into a fresh data
directory, and every listen compared. Always on a SQLite file: that is what the
commands are for (PostgreSQL has pg_dump)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing

from tests.e2e.test_ingest_e2e import (
    API_KEY,
    ROOT,
    Database,
    assert_exactly,
    base_environment,
    describe,
    manage,
    migrate,
    synthetic,
)
from tests.emulator import Emulator
from tests.scale._support import stored_listens

LISTENER = "backed_up"
LISTENS = 3000


def listens_in(path) -> Counter:
    return stored_listens(Database(url=f"sqlite:///{path}", sqlite_path=path))


def fresh_directory_env(env: dict[str, str], data_dir) -> dict[str, str]:
    """The same settings on the embedded default of another data directory."""
    return {
        **{k: v for k, v in env.items() if k != "DATABASE_URL"},
        "SIDETRACK_DATA_DIR": str(data_dir),
    }


def test_backup_during_ingest_restores_into_a_fresh_directory_with_every_listen(tmp_path):
    live = tmp_path / "live" / "sidetrack.sqlite3"
    live.parent.mkdir()
    db = Database(url=f"sqlite:///{live}", sqlite_path=live)
    migrate(db)
    world = synthetic(22, LISTENS, LISTENER)
    with Emulator(world, lastfm_api_keys={API_KEY}) as emu:
        # Every history page answers late, so the ingest writes for some seconds
        # whatever the machine's speed, and backups catch it half-way.
        emu.add_fault(
            "timeout",
            service="lastfm",
            params={"method": "user.getRecentTracks"},
            times=None,
            delay=0.4,
        )
        # A backup taken mid-ingest holds that ingest's claim on the account; restored,
        # the claim lapses after INGEST_CLAIM_SECONDS (renewed after every batch).
        env = base_environment(db, **emu.env, INGEST_BATCH_LISTENS="200", INGEST_CLAIM_SECONDS="3")
        expected = {
            ("lastfm", LISTENER, s.ts, s.artist, s.track) for s in world.scrobbles(LISTENER)
        }
        connected = manage(
            env, "connect_account", "--user", "u", "--source", "lastfm", "--name", LISTENER
        )
        assert connected.returncode == 0, describe(connected)

        # Backups, one after another, for as long as the ingest writes.
        ingest = subprocess.Popen(
            [sys.executable, "manage.py", "ingest", "--user", "u"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        backups = []
        while ingest.poll() is None:
            path = tmp_path / f"backup-{len(backups)}.sqlite3"
            made = manage(env, "backup", str(path))
            assert made.returncode == 0, describe(made)
            assert made.stdout.startswith(f"Backed up to {path} (")
            backups.append(path)
            time.sleep(0.2)
        out, err = ingest.communicate()
        assert ingest.returncode == 0, f"{out}\n{err}"
        final = tmp_path / "final.sqlite3"
        assert manage(env, "backup", str(final)).returncode == 0

        # A copy made mid-ingest holds some listens, not all: it was taken while writing.
        mid = next(p for p in backups if 0 < sum(listens_in(p).values()) < LISTENS)
        restored_dir = tmp_path / "restored"
        restored_env = fresh_directory_env(env, restored_dir)
        restore = manage(restored_env, "restore", str(mid))
        assert restore.returncode == 0, describe(restore)
        restored = restored_dir / "db.sqlite3"
        assert restore.stdout.splitlines()[0] == f"Restored {mid} into {restored}"
        assert listens_in(restored) == listens_in(mid)
        # The copy is one moment's database: its cursor matches its listens, so an
        # ingest on the restored database completes the history with nothing twice.
        time.sleep(3)  # the copied claim lapses
        rerun = manage(restored_env, "ingest", "--user", "u")
        assert rerun.returncode == 0, describe(rerun)
        assert_exactly(listens_in(restored), expected)

    # The last backup restored elsewhere is the live database, listen for listen.
    again = tmp_path / "again"
    assert manage(fresh_directory_env(env, again), "restore", str(final)).returncode == 0
    assert listens_in(again / "db.sqlite3") == stored_listens(db)
    assert_exactly(stored_listens(db), expected)


def test_restore_refuses_a_file_that_is_not_a_sidetrack_database(tmp_path):
    env = fresh_directory_env(base_environment(Database(url="")), tmp_path / "data")
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    foreign = tmp_path / "foreign.sqlite3"
    with closing(sqlite3.connect(foreign)) as other:
        other.execute("CREATE TABLE t (x)")

    refused = [manage(env, "restore", str(path)) for path in (not_sqlite, foreign)]

    assert [r.returncode for r in refused] == [1, 1]
    assert [r.stderr.strip() for r in refused] == [
        f"CommandError: {not_sqlite} is not a SQLite database",
        f"CommandError: {foreign} is not a Sidetrack database (no migrations table)",
    ]
    assert not (tmp_path / "data" / "db.sqlite3").exists()
