"""End to end: the real ``manage.py ingest`` in a subprocess, against the emulator.

Every command runs as a deployment runs it: its own process, settings from the
environment only (``SIDETRACK_ENV_FILE`` points nowhere, so a developer's .env
cannot leak in), the service base URLs pointing at ``tests/emulator``, and a
database that process can open: a temporary SQLite file, or, when DATABASE_URL
names a PostgreSQL server (CI's second run), a throwaway database on that server
for this module. Results are read back with plain sqlite3/psycopg queries, never
through pytest-django's test database.

REDIS_URL is dropped from the subprocesses' environment on purpose: the cache
and django-q's broker then live in the throwaway database, so nothing leaks into
a shared Redis.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.emulator import Arrival, Emulator, EmuScrobble, World

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "e2e-lastfm-key-0123456789abcdef"
AGENT = "SidetrackE2E/0.1 ( e2e@example.org )"
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "psql")
COMMAND_TIMEOUT = 120

Listen = tuple[str, str, int, str, str]  # (source, account name, unix time, artist, track)


# --- A database the subprocesses can see ----------------------------------------------


@dataclass(frozen=True)
class Database:
    url: str  # DATABASE_URL for the subprocesses
    sqlite_path: Path | None = None
    psycopg_url: str = ""

    def rows(self, query: str, params: tuple = ()) -> list[tuple]:
        if self.sqlite_path is not None:
            with closing(sqlite3.connect(self.sqlite_path)) as connection:
                return connection.execute(query.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.psycopg_url) as connection:
            return connection.execute(query, params).fetchall()


@contextmanager
def throwaway_postgres(server_url: str) -> Iterator[Database]:
    import psycopg
    from psycopg import sql

    parts = urlsplit(server_url)
    # The maintenance database: the one DATABASE_URL names may not exist yet.
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    name = f"sidetrack_e2e_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield Database(
            url=urlunsplit(parts._replace(path=f"/{name}")),
            psycopg_url=urlunsplit(parts._replace(scheme="postgresql", path=f"/{name}")),
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def base_environment(database: Database, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        DATABASE_URL=database.url,
        SIDETRACK_ENV_FILE="/nonexistent/sidetrack-e2e.env",
        LASTFM_API_KEY=API_KEY,
        LASTFM_API_SECRET="e2e-lastfm-secret-fedcba9876543210",
        LISTENBRAINZ_USER_AGENT=AGENT,
        SIDETRACK_MUSICBRAINZ_APP_NAME=AGENT,
        HTTP_BACKOFF_FACTOR="0.05",
        MUSICBRAINZ_RATE_LIMIT="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(
    env: dict[str, str], *args: str, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    out, err = result.stdout[-3000:], result.stderr[-3000:]
    return f"exit {result.returncode}\nstdout:\n{out}\nstderr:\n{err}"


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Iterator[Database]:
    server = os.environ.get("DATABASE_URL", "")
    if urlsplit(server).scheme in POSTGRES_SCHEMES:
        with throwaway_postgres(server) as db:
            migrate(db)
            yield db
    else:
        path = tmp_path_factory.mktemp("e2e") / "sidetrack.sqlite3"
        db = Database(url=f"sqlite:///{path}", sqlite_path=path)
        migrate(db)
        yield db


def migrate(db: Database) -> None:
    """``manage.py migrate``: the only set-up a deployment's database needs."""
    result = manage(base_environment(db), "migrate", "--noinput", "-v", "0")
    assert result.returncode == 0, describe(result)


# --- One scenario: an emulated world, a Sidetrack user, its accounts ------------------------


@dataclass
class Scenario:
    db: Database
    emu: Emulator
    user: str  # the Sidetrack user; every command is limited to it

    @property
    def world(self) -> World:
        return self.emu.world

    def env(self, **extra: str) -> dict[str, str]:
        return base_environment(self.db, **self.emu.env, **extra)

    def connect(self, *accounts: tuple[str, str]) -> None:
        """``manage.py connect_account`` for each (source, name), side by side."""
        running = [
            subprocess.Popen(
                [sys.executable, "manage.py", "connect_account", "--user", self.user]
                + ["--source", source, "--name", name],
                cwd=ROOT,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for source, name in accounts
        ]
        for process in running:
            out, err = process.communicate(timeout=COMMAND_TIMEOUT)
            assert process.returncode == 0, f"connect_account failed:\n{out}\n{err}"

    def ingest(self, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return manage(self.env(**extra_env), "ingest", "--user", self.user)

    def stored(self) -> Counter[Listen]:
        rows = self.db.rows(
            "SELECT a.source, a.external_username, l.listened_at, l.artist_name, l.track_name"
            " FROM listens_listenevent l"
            " JOIN accounts_externalaccount a ON a.id = l.account_id"
            " JOIN auth_user u ON u.id = l.user_id"
            " WHERE u.username = %s",
            (self.user,),
        )
        return Counter((src, name, epoch(at), art, track) for src, name, at, art, track in rows)

    def stored_for(self, source: str, name: str) -> Counter[Listen]:
        return Counter({k: n for k, n in self.stored().items() if k[:2] == (source, name)})

    def expected(self, source: str, name: str) -> set[Listen]:
        return {(source, name, s.ts, s.artist, s.track) for s in self.world.scrobbles(name)}

    def accounts(self) -> dict[str, tuple[str, str]]:
        """External name -> (status, last_error)."""
        rows = self.db.rows(
            "SELECT a.external_username, a.status, a.last_error"
            " FROM accounts_externalaccount a JOIN auth_user u ON u.id = a.user_id"
            " WHERE u.username = %s",
            (self.user,),
        )
        return {name: (status, error) for name, status, error in rows}

    def history_answers(self, name: str) -> int:
        return self.emu.history_requests(name)


def epoch(value: datetime | str) -> int:
    # SQLite hands back the stored text ("2020-09-13 12:26:40", UTC); psycopg an aware datetime.
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


@contextmanager
def scenario(db: Database, world: World, user: str) -> Iterator[Scenario]:
    with Emulator(world, lastfm_api_keys={API_KEY}) as emu:
        yield Scenario(db, emu, f"{user}-{secrets.token_hex(3)}")
        assert not emu.errors, emu.errors[0]


def synthetic(seed: int, listens: int, *names: str) -> World:
    return World.synthetic(seed=seed, user_names=list(names), listens_per_user=listens)


def assert_exactly(stored: Counter[Listen], expected: set[Listen]) -> None:
    duplicates = {k: n for k, n in stored.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} listens stored twice, e.g. {next(iter(duplicates))}"
    missing, extra = expected - set(stored), set(stored) - expected
    assert not missing, f"{len(missing)} missing, e.g. {sorted(missing)[:2]}"
    assert not extra, f"{len(extra)} unexpected, e.g. {sorted(extra)[:2]}"


# --- (i) and (vi): a first ingest of two accounts, a re-run, an export ------------------------

LASTFM_USER = "lfm_first"
LB_USER = "lb_first"


@dataclass
class FirstIngest:
    scenario: Scenario
    first: subprocess.CompletedProcess[str]
    rerun: subprocess.CompletedProcess[str]
    rerun_requests: Counter[str]  # per service
    export: subprocess.CompletedProcess[str]
    expected: dict[str, set[Listen]]


@pytest.fixture(scope="module")
def first_ingest(database) -> Iterator[FirstIngest]:
    world = synthetic(11, 2500, LASTFM_USER, LB_USER)
    with scenario(database, world, "first") as sc:
        sc.connect(("lastfm", LASTFM_USER), ("listenbrainz", LB_USER))
        first = sc.ingest()
        seen = len(sc.emu.requests)
        rerun = sc.ingest()
        requests = Counter(r.service for r in sc.emu.requests[seen:])
        export = manage(sc.env(), "export_listens", "--user", sc.user)
        yield FirstIngest(
            sc,
            first,
            rerun,
            requests,
            export,
            {
                "lastfm": sc.expected("lastfm", LASTFM_USER),
                "listenbrainz": sc.expected("listenbrainz", LB_USER),
            },
        )


def test_first_ingest_stores_exactly_the_lastfm_history(first_ingest):
    assert first_ingest.first.returncode == 0, describe(first_ingest.first)
    stored = first_ingest.scenario.stored_for("lastfm", LASTFM_USER)
    assert_exactly(stored, first_ingest.expected["lastfm"])


def test_first_ingest_stores_exactly_the_listenbrainz_history(first_ingest):
    assert first_ingest.first.returncode == 0, describe(first_ingest.first)
    stored = first_ingest.scenario.stored_for("listenbrainz", LB_USER)
    assert_exactly(stored, first_ingest.expected["listenbrainz"])


def test_rerun_stores_nothing_new_with_one_request_per_account(first_ingest):
    rerun = first_ingest.rerun
    assert rerun.returncode == 0, describe(rerun)
    assert "Total: 0 new listens from 2 accounts (0 failed, 0 skipped)" in rerun.stdout
    assert first_ingest.rerun_requests == Counter({"lastfm": 1, "listenbrainz": 1})
    assert max(first_ingest.scenario.stored().values()) == 1


def test_export_writes_one_json_line_per_stored_listen(first_ingest):
    export = first_ingest.export
    assert export.returncode == 0, describe(export)
    lines = export.stdout.splitlines()
    stored = first_ingest.scenario.stored()
    assert len(lines) == sum(stored.values())
    exported = Counter(
        (
            row["track_metadata"]["additional_info"]["source"],
            row["listened_at"],
            row["track_metadata"]["artist_name"],
            row["track_metadata"]["track_name"],
        )
        for row in map(json.loads, lines)
    )
    assert exported == Counter((s, when, artist, track) for s, _, when, artist, track in stored)


# --- (ii) SIGKILL mid-ingest, then a re-run ------------------------------------------------


def test_rerun_after_sigkill_mid_ingest_stores_every_listen_once(database, tmp_path):
    name = "lfm_killed"
    world = synthetic(12, 4000, name)
    with scenario(database, world, "killed") as sc:
        sc.connect(("lastfm", name))
        # A one-second claim, so the dead worker's claim lapses quickly; a
        # transaction per page, so that the kill lands between stored pages.
        env = sc.env(INGEST_CLAIM_SECONDS="1", INGEST_BATCH_LISTENS="200")
        log = (tmp_path / "killed.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "ingest", "--user", sc.user],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + COMMAND_TIMEOUT
        # Page 1 (the window's size), then the oldest pages: kill once some are stored.
        while not sc.stored():
            assert process.poll() is None, "ingest finished before it could be killed"
            assert time.monotonic() < deadline, "ingest never got going"
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        log.close()
        expected = sc.expected("lastfm", name)
        assert 0 < sum(sc.stored().values()) < len(expected)

        time.sleep(1.5)
        rerun = manage(env, "ingest", "--user", sc.user)

        assert rerun.returncode == 0, describe(rerun)
        assert_exactly(sc.stored(), expected)


# --- (iii) Scrobbles arriving while Last.fm is paged ------------------------------------------


def test_arrivals_during_paging_are_all_stored_after_a_second_run(database):
    name = "lfm_arrivals"
    world = synthetic(13, 2000, name)
    with scenario(database, world, "arrivals") as sc:
        sc.connect(("lastfm", name))
        started = int(time.time())
        # Newer than the history, older than the run: they land inside the paged window.
        newer = sc.emu.add_arrival(
            Arrival(name, after=3, add=world.make_scrobbles(name, 25, seed=3), service="lastfm")
        )

        def around_the_start(_world: World) -> list[EmuScrobble]:
            return [
                EmuScrobble(name, started - 1, "Late Artist", "Scrobbled Just Before The Run"),
                EmuScrobble(name, int(time.time()) + 1, "Late Artist", "Scrobbled During The Run"),
            ]

        late = sc.emu.add_arrival(Arrival(name, after=6, add=around_the_start, service="lastfm"))

        first = sc.ingest()
        # "During the run" is dated a second ahead: the second run must start after it,
        # or it rightly belongs to a third.
        time.sleep(2)
        second = sc.ingest()

        assert newer.fired
        assert late.fired
        assert first.returncode == 0, describe(first)
        assert second.returncode == 0, describe(second)
        assert_exactly(sc.stored(), sc.expected("lastfm", name))


# --- (iv) A fault mix during the first run --------------------------------------------------


def test_fault_mix_on_the_first_run_loses_nothing_after_two_runs(database):
    lastfm_name, lb_name = "lfm_faults", "lb_faults"
    world = synthetic(14, 1500, lastfm_name, lb_name)  # Last.fm: 8 pages of 200
    with scenario(database, world, "faults") as sc:
        sc.connect(("lastfm", lastfm_name), ("listenbrainz", lb_name))
        faults = sc.emu.faults
        lastfm_pages = {
            "8": [("http_500", {"times": 2})],
            "7": [("http_503", {"retry_after": 1})],
            "6": [("http_429", {})],
            "5": [("lastfm_error", {"lastfm_code": 8, "status": 200, "times": 2})],
            "4": [("truncated", {})],
            "3": [("malformed_json", {})],
            "2": [("reset", {})],
        }
        for page, rules in lastfm_pages.items():
            for kind, options in rules:
                options = {"times": 1, **options}
                faults.add(kind, service="lastfm", params={"page": page}, **options)
        for kind, options in [
            ("http_500", {}),
            ("http_503", {"retry_after": 1}),
            ("http_429", {"retry_after": 1}),
            ("malformed_json", {}),
            ("truncated", {}),
            ("reset", {}),
        ]:
            faults.add(kind, service="listenbrainz", path="listens", times=1, **options)

        runs = [sc.ingest()]
        if runs[0].returncode != 0:
            runs.append(sc.ingest())

        assert runs[-1].returncode == 0, "\n\n".join(describe(r) for r in runs)
        unfired = [f"{f.service} {f.kind}" for f in faults.faults if f.fired < (f.times or 0)]
        assert not unfired, f"faults never injected: {unfired}"
        assert_exactly(
            sc.stored(),
            sc.expected("lastfm", lastfm_name) | sc.expected("listenbrainz", lb_name),
        )


# --- (v) Permanent errors: that account gives up, the others go on ------------------------------


def test_permanent_errors_fail_their_account_only(database):
    lb_name = "lb_fine"
    world = synthetic(15, 900, lb_name)
    world.add_user("lfm_private", private=True)
    with scenario(database, world, "permanent") as sc:
        sc.connect(
            ("lastfm", "lfm_nobody"),  # unknown to Last.fm: error 6
            ("lastfm", "lfm_private"),  # hides its listens: error 17
            ("listenbrainz", lb_name),
        )

        result = sc.ingest()

        assert result.returncode != 0, describe(result)
        assert "2 of 3 accounts failed" in result.stderr
        assert_exactly(sc.stored(), sc.expected("listenbrainz", lb_name))
        accounts = sc.accounts()
        assert accounts[lb_name] == ("ok", "")
        status, error = accounts["lfm_nobody"]
        assert status == "error"
        assert "Last.fm error 6: User not found" in error
        status, error = accounts["lfm_private"]
        assert status == "error"
        assert "Last.fm error 17: Login: User required to be logged in" in error
        assert all(API_KEY not in error for _, error in accounts.values())


# --- Retries within one run (bugs found here) ---------------------------------------------


def test_listenbrainz_5xx_is_retried_after_the_backoff_not_the_rate_limit_window(database):
    name = "lb_backoff"
    with scenario(database, synthetic(16, 50, name), "backoff") as sc:
        sc.emu.config.lb_rate_window = 3  # every answer says "resets in 1 to 3 s"
        sc.connect(("listenbrainz", name))
        sc.emu.faults.add("http_500", service="listenbrainz", path="listens", times=1)

        result = sc.ingest()

        assert result.returncode == 0, describe(result)
        fault, retry = [r for r in sc.emu.requests if r.service == "listenbrainz"][:2]
        assert (fault.status, retry.status) == (500, 200)
        # HTTP_BACKOFF_FACTOR=0.05; plenty of headroom, yet below the smallest reset (1 s).
        assert retry.time - fault.time < 0.9


def test_truncated_body_is_retried_within_the_run(database):
    name = "lfm_truncated"
    with scenario(database, synthetic(17, 300, name), "truncated") as sc:
        sc.connect(("lastfm", name))
        sc.emu.faults.add("truncated", service="lastfm", params={"page": "2"}, times=1)

        result = sc.ingest()

        assert result.returncode == 0, describe(result)
        assert_exactly(sc.stored(), sc.expected("lastfm", name))
