"""Two workers ingesting one account at the same moment, each on its own connection.

SQLite serialises writers on one file, so only PostgreSQL shows what the unique
constraint does when two transactions insert the same listens at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import responses
from django.db import connection, connections

from accounts.models import ExternalAccount, ListenSource
from listens.ingest import store
from listens.ingest.claims import AccountClaims
from listens.ingest.run import ingest_account
from listens.models import IngestRun, ListenEvent
from tests.listens.test_ingest import FakeLastfm, at, lastfm_scrobble

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_700_000_000
RUN_START = T0 + 3600
# Two listens share each second: 24 listens on five pages of five.
HISTORY = [lastfm_scrobble(T0 + 60 * (i // 2), f"Track {i:02d}") for i in range(24)]


@pytest.fixture
def account(alice, external_settings):
    if connection.vendor == "sqlite":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing runs concurrently")
    return ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="rj"
    )


class PastTheClaim(AccountClaims):
    """Both workers get past the claim, as two hosts could while it lapses: the
    unique constraint is then the last word."""

    def claim(self, account: ExternalAccount) -> str:
        return "bypassed"

    def renew(self, account: ExternalAccount, token: str) -> None:
        pass


def run_two_workers(
    account: ExternalAccount,
    fake: FakeLastfm,
    lockstep: threading.Barrier,
    find_recordings: Callable = store.recordings_for_tracks,
) -> list[IngestRun]:
    """Both workers wait for each other before every request: they read and store
    the same pages at the same time."""
    runs: list[IngestRun] = []
    failures: list[BaseException] = []

    def in_lockstep(request):
        lockstep.wait()
        return fake.callback(request)

    def worker() -> None:
        try:
            own = ExternalAccount.objects.get(pk=account.pk)
            memo = store.RecordingMemo(find_recordings=find_recordings)
            run = ingest_account(
                account=own, now=at(RUN_START), page_size=5, memo=memo, claims=PastTheClaim()
            )
            runs.append(run)
        except BaseException as error:
            failures.append(error)
            lockstep.abort()
        finally:
            connections.close_all()

    with responses.RequestsMock() as mocked:
        mocked.add_callback(responses.GET, "https://lastfm.test/2.0/", callback=in_lockstep)
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert failures == []
    return runs


def stored(account: ExternalAccount) -> list[tuple[int, str]]:
    return sorted(
        (int(e.listened_at.timestamp()), e.track_name)
        for e in ListenEvent.objects.filter(account=account)
    )


def test_two_workers_at_once_store_each_listen_once(account):
    fake = FakeLastfm(HISTORY)

    runs = run_two_workers(account, fake, threading.Barrier(2, timeout=10))

    assert [r.status for r in runs] == [IngestRun.Status.SUCCEEDED] * 2
    assert len(fake.requests) == 2 * 6  # page 1, then pages 5 to 1, for each worker
    assert stored(account) == sorted((int(s["date"]["uts"]), s["name"]) for s in HISTORY)
    account.refresh_from_db()
    assert account.last_ingested_ts == RUN_START - 1


def test_two_workers_at_once_count_each_new_listen_once(account):
    lockstep = threading.Barrier(2, timeout=10)

    def both_arrive_together(*args, **kwargs):
        # Both workers reach the page transaction at once: only the account-row
        # lock inside it keeps them from both counting the page as new.
        lockstep.wait()
        return store.recordings_for_tracks(*args, **kwargs)

    runs = run_two_workers(account, FakeLastfm(HISTORY), lockstep, both_arrive_together)

    assert stored(account) == sorted((int(s["date"]["uts"]), s["name"]) for s in HISTORY)
    assert sum(r.listens_new for r in runs) == len(HISTORY)
