"""Concurrent writers on one database: two ``ingest`` processes and the web server
(gunicorn, two workers) write at once, and none of them fails.

On the embedded default (a SQLite file) this is what WAL, the 30 s busy timeout
and IMMEDIATE transactions are for: without them one writer meets another's lock
and fails with "database is locked". On PostgreSQL (CI's second run) it runs
the same way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.e2e.test_ingest_e2e import (
    API_KEY,
    ROOT,
    assert_exactly,
    base_environment,
    describe,
    manage,
    synthetic,
)
from tests.e2e.web import gunicorn
from tests.emulator import Emulator
from tests.scale._support import is_postgres, scratch_database, stored_listens

LISTENERS = ("writer_one", "writer_two")


def test_two_ingests_and_the_web_server_write_at_once_without_a_lock_error(tmp_path):
    world = synthetic(21, 3000, *LISTENERS)
    with scratch_database(tmp_path) as db, Emulator(world, lastfm_api_keys={API_KEY}) as emu:
        # Small batches: many short write transactions from each ingest.
        # The API writers connect an account per request: no per-user cap in the way.
        env = base_environment(
            db,
            **emu.env,
            DEBUG="false",
            INGEST_BATCH_LISTENS="200",
            MAX_ACCOUNTS_PER_USER="1000000",
        )
        admin = manage(env, "ensure_admin")
        assert admin.returncode == 0, describe(admin)
        password = re.search(r"Admin login: admin / (\S+)", admin.stdout).group(1)
        for name in LISTENERS:
            connected = manage(
                env, "connect_account", "--user", name, "--source", "lastfm", "--name", name
            )
            assert connected.returncode == 0, describe(connected)

        with gunicorn(env, tmp_path / "web.log") as web:
            token = requests.post(
                f"{web}/api/auth/token/",
                data={"username": "admin", "password": password},
                timeout=30,
            ).json()["token"]
            answers: list[int] = []
            stop = threading.Event()

            def write_through_the_api(prefix: str) -> None:
                # Each request writes: the account, its queued first ingest, the
                # throttle's cache entry.
                session = requests.Session()
                session.headers["Authorization"] = f"Token {token}"
                n = 0
                while not stop.is_set():
                    n += 1
                    answer = session.post(
                        f"{web}/api/accounts/",
                        json={"source": "listenbrainz", "external_username": f"{prefix}{n}"},
                        timeout=60,
                    )
                    answers.append(answer.status_code)

            writers = [
                threading.Thread(target=write_through_the_api, args=(prefix,))
                for prefix in ("web_a", "web_b")
            ]
            for writer in writers:
                writer.start()
            ingests = [
                subprocess.Popen(
                    [sys.executable, "manage.py", "ingest", "--user", name],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for name in LISTENERS
            ]
            try:
                results = []
                for ingest in ingests:
                    out, err = ingest.communicate(timeout=300)
                    results.append(
                        subprocess.CompletedProcess(ingest.args, ingest.returncode, out, err)
                    )
            finally:
                time.sleep(0.5)  # the API writers overlap the ingests' last batches too
                stop.set()
                for writer in writers:
                    writer.join(timeout=120)
        web_log = (tmp_path / "web.log").read_text()

        for result in results:
            assert result.returncode == 0, describe(result)
            assert "locked" not in result.stdout + result.stderr, describe(result)
        assert "database is locked" not in web_log, web_log[-3000:]
        assert len(answers) >= 10, answers  # the web server did write throughout
        assert set(answers) == {201}, sorted(set(answers))
        print(f"{len(answers)} API writes during the ingests")
        for name in LISTENERS:
            expected = {("lastfm", name, s.ts, s.artist, s.track) for s in world.scrobbles(name)}
            assert_exactly(stored_listens(db, user=name), expected)


@pytest.mark.skipif(is_postgres(os.environ.get("DATABASE_URL", "")), reason="SQLite pragmas")
def test_sqlite_connections_are_tuned_for_several_processes(tmp_path):
    with scratch_database(tmp_path) as db:
        code = (
            "from django.db import connection\n"
            "with connection.cursor() as c:\n"
            "    for p in ('journal_mode', 'synchronous', 'foreign_keys', 'busy_timeout'):\n"
            "        print(p, c.execute(f'PRAGMA {p}').fetchone()[0])\n"
        )
        result = manage(base_environment(db), "shell", "-c", code)
        assert result.returncode == 0, describe(result)
        assert result.stdout.split("\n")[-5:-1] == [
            "journal_mode wal",
            "synchronous 1",  # NORMAL
            "foreign_keys 1",
            "busy_timeout 30000",
        ]
