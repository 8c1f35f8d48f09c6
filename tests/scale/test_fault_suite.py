"""Every fault the emulator can inject, through the real ``manage.py ingest``.

Each case gets its own emulated world and Sidetrack user on one module-wide
database (a SQLite file, or a throwaway PostgreSQL database when DATABASE_URL
names a server). A transient fault hits the middle of each history walk (the
request after Last.fm's page 1 and page 3, after ListenBrainz's first page)
``HTTP_MAX_RETRIES + 2`` times in a row: the first run exhausts its retries on that page
and fails with the cursor after the pages it stored, the second run meets the
fault once more, retries and finishes. It must end with exactly the expected
listens. Permanent errors must leave the account in "error" with a clear
``last_error`` and a non-zero exit code, after one request.

At the end, everything the subprocesses printed (at LOG_LEVEL=DEBUG, where
urllib3 logs every URL) and every text column of the database are searched for
the Last.fm API key and secret the subprocesses were given.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.test_ingest_e2e import Scenario
from tests.emulator import Arrival, Emulator, EmuScrobble, World
from tests.emulator.faults import LASTFM_STATUSES, Fault
from tests.scale._support import (
    Database,
    Listen,
    base_environment,
    describe,
    scratch_database,
    shell,
    text_columns_containing,
)

API_KEY = "scale-lastfm-key-" + secrets.token_hex(8)
API_SECRET = "scale-lastfm-secret-" + secrets.token_hex(8)
MAX_RETRIES = 2  # 3 attempts per call
FIRES = MAX_RETRIES + 2  # every attempt of run 1 on the page, and the first of run 2
LASTFM_LISTENS = 500  # 3 pages of 200
LB_LISTENS = 1100  # 2 pages of 1000
LB_PAGE = 1000  # listens per ListenBrainz page
SUITE_ENV = {
    "LASTFM_API_KEY": API_KEY,
    "LASTFM_API_SECRET": API_SECRET,
    "HTTP_MAX_RETRIES": str(MAX_RETRIES),
    "HTTP_BACKOFF_FACTOR": "0.05",
    "LOG_LEVEL": "DEBUG",  # the most a deployment could log, keys included if unredacted
}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str | None = None  # fault injected on each service's mid-walk page
    options: dict[str, Any] = field(default_factory=dict)
    listenbrainz: bool = True
    env: dict[str, str] = field(default_factory=dict)
    paging: str | None = None  # "arrivals" or "deletions" during paging
    max_runs: int = 2
    # Permanent errors: the text last_error must hold; how the world refuses.
    permanent: str = ""
    lastfm: bool = True
    refusal: str = ""  # "unknown", "private", "bad_key"

    @property
    def user(self) -> str:
        return f"fault-{self.id}".replace("_", "-")

    @property
    def lastfm_name(self) -> str:
        return f"lfm_{self.id}"

    @property
    def lb_name(self) -> str:
        return f"lb_{self.id}"

    def accounts(self) -> list[tuple[str, str]]:
        return [("lastfm", self.lastfm_name)] * self.lastfm + [
            ("listenbrainz", self.lb_name)
        ] * self.listenbrainz


TRANSIENT = [
    Case("http_500", "http_500"),
    Case("http_503_retry_after", "http_503", {"retry_after": 1}),
    Case("http_429_rate_limit_headers", "http_429", {"retry_after": 1}),
    Case("timeout", "timeout", {"delay": 2.0}, env={"HTTP_READ_TIMEOUT": "1"}),
    Case("connection_reset", "reset"),
    Case("malformed_json", "malformed_json"),
    Case("truncated_body", "truncated"),
    *(
        Case(
            f"lastfm_{code}_http_{status}",
            "lastfm_error",
            {"lastfm_code": code, "status": status},
            listenbrainz=False,
        )
        for code in (8, 11, 16, 29)
        for status in (200, LASTFM_STATUSES[code])
    ),
    # A scrobble stamped during the run is after the run's `to`: up to 3 runs.
    Case("arrivals_during_paging", paging="arrivals", max_runs=3),
    Case("deletions_during_paging", paging="deletions"),
]
PERMANENT = [
    Case(
        "lastfm_6_unknown_user",
        permanent="Last.fm error 6: User not found",
        listenbrainz=False,
        refusal="unknown",
    ),
    Case(
        "lastfm_10_invalid_key",
        permanent="Last.fm error 10: Invalid API key",
        listenbrainz=False,
        refusal="bad_key",
    ),
    Case(
        "lastfm_17_private_profile",
        permanent="Last.fm error 17: Login: User required to be logged in",
        listenbrainz=False,
        refusal="private",
    ),
    Case(
        "listenbrainz_unknown_user",
        permanent="Cannot find user: lb_listenbrainz_unknown_user",
        lastfm=False,
        refusal="unknown",
    ),
]


# --- The module's database, outputs and summary ------------------------------------------


@dataclass
class Row:
    case: str
    faults: int = 0  # answers the emulator faulted (its counters)
    changes: int = 0  # arrivals or deletions applied during paging
    runs: list[int] = field(default_factory=list)  # exit codes
    expected: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    extra: int = 0
    status: str = ""


@dataclass
class Suite:
    db: Database
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (label, text)
    rows: list[Row] = field(default_factory=list)

    def record(self, label: str, result: subprocess.CompletedProcess[str]) -> None:
        self.outputs.append((f"{label} stdout", result.stdout))
        self.outputs.append((f"{label} stderr", result.stderr))


CONNECT = """
import json, os
from accounts.services import connect_account
for user, source, name in json.loads(os.environ["FAULT_ACCOUNTS"]):
    connect_account(username=user, source=source, external_username=name)
"""


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Iterator[Suite]:
    started = time.monotonic()
    with scratch_database(tmp_path_factory.mktemp("faults")) as db:
        suite = Suite(db)
        # Every case's accounts in one process: connect_account per case costs ~1 s each.
        accounts = [(c.user, s, n) for c in TRANSIENT + PERMANENT for s, n in c.accounts()]
        shell(base_environment(db, FAULT_ACCOUNTS=json.dumps(accounts)), CONNECT)
        yield suite
    print(_table(suite.rows, time.monotonic() - started))


COLUMNS = (  # (title, width, Row -> value)
    ("case", -30, lambda r: r.case),
    ("faults", 6, lambda r: r.faults),
    ("changes", 7, lambda r: r.changes),
    ("runs (exit codes)", -18, lambda r: f"{len(r.runs)} ({','.join(map(str, r.runs))})"),
    ("expected", 8, lambda r: r.expected),
    ("stored", 7, lambda r: r.stored),
    ("lost", 5, lambda r: r.lost),
    ("dup", 4, lambda r: r.duplicated),
    ("extra", 5, lambda r: r.extra),
    ("account status", -14, lambda r: r.status),
)


def _line(values: list[object]) -> str:
    return " ".join(
        f"{v!s:<{-w}}" if w < 0 else f"{v!s:>{w}}"
        for v, (_, w, _) in zip(values, COLUMNS, strict=True)
    ).rstrip()


def _table(rows: list[Row], seconds: float) -> str:
    header = _line([title for title, _, _ in COLUMNS])
    lines = ["", f"[fault suite] {len(rows)} cases in {seconds:.0f} s", header, "-" * len(header)]
    lines += [_line([value(r) for _, _, value in COLUMNS]) for r in rows]

    def total(name: str) -> int:
        return sum(getattr(r, name) for r in rows)

    totals = ["total", total("faults"), total("changes"), "", total("expected")]
    totals += [total("stored"), total("lost"), total("duplicated"), total("extra"), ""]
    return "\n".join([*lines, _line(totals)])


# --- One case -------------------------------------------------------------------------------


@dataclass
class FaultScenario(Scenario):
    """The e2e scenario, with this suite's Last.fm credentials and retry settings."""

    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(**{**SUITE_ENV, **self.extra_env, **extra})


def _world(case: Case, seed: int) -> World:
    names = [case.lastfm_name] * (case.lastfm and case.refusal != "unknown")
    names += [case.lb_name] * (case.listenbrainz and case.refusal != "unknown")
    world = World.synthetic(seed=seed, user_names=names, listens_per_user=LASTFM_LISTENS)
    if case.lb_name in names:
        # ListenBrainz answers 1000 listens a page: go past one page.
        more = world.make_scrobbles(case.lb_name, LB_LISTENS - LASTFM_LISTENS, seed=seed)
        world.add_scrobbles(more)
    if case.refusal == "private":
        world.add_user(case.lastfm_name, private=True, listenbrainz=False)
    return world


@dataclass
class MidWalkFault(Fault):
    """A fault rule that lets its first ``skip`` matching requests through, so it
    hits a history walk after some pages are stored, whatever their parameters."""

    skip: int = 0
    let_through: int = field(default=0, init=False)

    def matches(self, service: str, method: str, path: str, params: Mapping[str, str]) -> bool:
        if not super().matches(service, method, path, params):
            return False
        if self.let_through < self.skip:
            self.let_through += 1  # under the plan's lock
            return False
        return True


def _mid_walk_faults(sc: FaultScenario, case: Case) -> None:
    options = {"times": FIRES, **case.options}
    if case.lastfm:
        # Page 1 (for the page count) and page 3 pass; page 2 fails.
        params = {"method": "user.getRecentTracks", "user": case.lastfm_name}
        sc.emu.faults.add(
            MidWalkFault(case.kind, service="lastfm", params=params, skip=2, **options)
        )
    if case.listenbrainz:
        # The first page passes; the second fails.
        path = f"user/{case.lb_name}/listens"
        sc.emu.faults.add(
            MidWalkFault(case.kind, service="listenbrainz", path=path, skip=1, **options)
        )


def _paging_changes(sc: FaultScenario, case: Case) -> list[Arrival]:
    lfm, lb = case.lastfm_name, case.lb_name
    lfm_history = sc.world.scrobbles(lfm)
    lb_history = sc.world.scrobbles(lb)
    if case.paging == "arrivals":
        started = int(time.time())

        def around_the_start(_world: World) -> list[EmuScrobble]:
            return [
                EmuScrobble(lfm, started - 1, "Late Artist", "Scrobbled Just Before The Run"),
                EmuScrobble(lfm, int(time.time()) + 1, "Late Artist", "Scrobbled During The Run"),
            ]

        return [
            # Last.fm: newer than the history, older than the run, after page 3 was read.
            Arrival(lfm, after=2, add=sc.world.make_scrobbles(lfm, 25, seed=3), service="lastfm"),
            Arrival(lfm, after=4, add=around_the_start, service="lastfm"),
            # ListenBrainz: newer than everything, after the first page.
            Arrival(lb, after=1, add=sc.world.make_scrobbles(lb, 30, seed=4)),
        ]
    # Deletions in the part of each history not read yet: Last.fm's newest 400
    # (pages 1 and 2, after page 3 was read), ListenBrainz's second page.
    lfm_gone = {s.ts for s in lfm_history[-399:][::9]}
    lb_gone = {s.ts for s in lb_history[LB_PAGE:][::7]}
    return [
        Arrival(lfm, after=2, remove=lambda s: s.ts in lfm_gone, service="lastfm"),
        Arrival(lb, after=1, remove=lambda s: s.ts in lb_gone),
    ]


def _expected(sc: FaultScenario, case: Case) -> set[Listen]:
    expected: set[Listen] = set()
    for source, name in case.accounts():
        if sc.world.user(name) is not None and not case.permanent:
            expected |= sc.expected(source, name)
    return expected


def _fill(row: Row, stored: Counter[Listen], expected: set[Listen]) -> None:
    row.expected = len(expected)
    row.stored = sum(stored.values())
    row.lost = len(expected - set(stored))
    row.duplicated = sum(n - 1 for n in stored.values() if n > 1)
    row.extra = len(set(stored) - expected)


@pytest.mark.parametrize("case", TRANSIENT, ids=lambda c: c.id)
def test_transient_fault_ends_with_exactly_the_expected_listens(suite, case):
    seed = 100 + TRANSIENT.index(case)
    row = Row(case.id)
    suite.rows.append(row)
    with Emulator(_world(case, seed), lastfm_api_keys={API_KEY}) as emu:
        sc = FaultScenario(suite.db, emu, case.user, extra_env=case.env)
        changes = []
        if case.paging:
            changes = [emu.add_arrival(a) for a in _paging_changes(sc, case)]
        else:
            _mid_walk_faults(sc, case)
        results = []
        for attempt in range(1, case.max_runs + 1):
            result = sc.ingest()
            suite.record(f"{case.id} run {attempt}", result)
            results.append(result)
            row.runs.append(result.returncode)
            if result.returncode == 0 and set(sc.stored()) >= _expected(sc, case):
                break
        row.faults = sum(c["faults"] for c in emu.counters.values())
        row.changes = sum(1 for change in changes if change.fired)
        stored, expected = sc.stored(), _expected(sc, case)
        _fill(row, stored, expected)
        row.status = ",".join(status for status, _ in sc.accounts().values())
        assert not emu.errors, emu.errors[0]

    output = "\n\n".join(describe(r) for r in results)
    assert results[-1].returncode == 0, output
    if case.paging:
        assert all(change.fired for change in changes), "a history change never happened"
    else:
        unfired = [f"{f.service} {f.kind}" for f in emu.faults.faults if f.fired < FIRES]
        assert not unfired, f"faults not injected {FIRES} times: {unfired}"
    assert row.duplicated == 0, f"{row.duplicated} listens stored twice"
    assert row.lost == 0, f"{row.lost} listens lost\n{output}"
    assert row.extra == 0, f"{row.extra} listens stored that the source no longer has"
    assert set(row.status.split(",")) == {"ok"}


@pytest.mark.parametrize("case", PERMANENT, ids=lambda c: c.id)
def test_permanent_error_marks_the_account_and_fails_the_command(suite, case):
    row = Row(case.id)
    suite.rows.append(row)
    keys = {"another-key-" + secrets.token_hex(8)} if case.refusal == "bad_key" else {API_KEY}
    with Emulator(_world(case, 200), lastfm_api_keys=keys) as emu:
        sc = FaultScenario(suite.db, emu, case.user)
        result = sc.ingest()
        suite.record(f"{case.id} run 1", result)
        row.runs.append(result.returncode)
        _fill(row, sc.stored(), set())
        row.faults = sum(c["faults"] for c in emu.counters.values())
        ((status, error),) = sc.accounts().values()
        row.status = status
        history = [r for r in emu.requests if r.service in ("lastfm", "listenbrainz")]
        assert not emu.errors, emu.errors[0]

    assert result.returncode != 0, describe(result)
    assert "1 of 1 accounts failed" in result.stderr, describe(result)
    assert status == "error"
    assert case.permanent in error
    assert row.stored == 0
    assert len(history) == 1, f"a permanent error was retried: {len(history)} requests"


def test_no_secret_in_any_output_or_text_column(suite):
    assert suite.outputs, "run the fault cases first"
    needles = (API_KEY, API_SECRET)
    leaks = [
        f"{label}: ...{text[max(0, text.find(n) - 120) : text.find(n) + 40]}..."
        for label, text in suite.outputs
        for n in needles
        if n in text
    ]
    assert not leaks, f"{len(leaks)} outputs hold the Last.fm key or secret:\n" + "\n".join(
        leaks[:5]
    )
    columns = text_columns_containing(suite.db, needles)
    assert not columns, f"the Last.fm key or secret is stored in {columns}"
    # The search looked where a key would be: urllib3's DEBUG lines carry every URL.
    assert any("api_key=[REDACTED]" in text for _, text in suite.outputs)
    (payloads,) = suite.db.rows("SELECT COUNT(*) FROM listens_listenevent")[0]
    assert payloads > 0
