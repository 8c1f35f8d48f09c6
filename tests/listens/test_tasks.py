"""django-q2 tasks run the services on real accounts (HTTP through ``responses``)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import responses
from django.utils import timezone
from responses import matchers

from accounts.models import ExternalAccount, ListenSource
from listens.models import IngestRun, ListenEvent, TasteSnapshot
from listens.tasks import (
    ingest_account_task,
    ingest_all_task,
    taste_snapshot_task,
    taste_snapshots_all_task,
)
from tests.payloads import load_payload

pytestmark = pytest.mark.django_db

LASTFM = "https://lastfm.test/2.0/"
LB_PAGE = "listenbrainz__user_listens__2024_android_mbid_mapping_complete.json"  # 25 listens


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:  # fails the test if a registered call is unused
        yield rsps


def account(user, source: str, name: str, **fields) -> ExternalAccount:
    return ExternalAccount.objects.create(
        user=user, source=source, external_username=name, **fields
    )


def lastfm_method(method: str, user: str) -> list:
    return [matchers.query_param_matcher({"method": method, "user": user}, strict_match=False)]


def test_ingest_account_task_ingests_and_summarises(mocked, bob):
    lb = account(bob, ListenSource.LISTENBRAINZ, "jasjeet")
    mocked.get(
        "https://lb.test/1/user/jasjeet/listens",
        json=load_payload("listenbrainz", LB_PAGE),
        match=[matchers.query_param_matcher({"count": "1000", "min_ts": "1"}, strict_match=False)],
    )

    result = ingest_account_task(lb.pk)

    run = IngestRun.objects.get(account=lb)
    assert result == {
        "account": lb.pk,
        "run": run.pk,
        "status": "succeeded",
        "pages": 1,
        "new": 25,
        "known": 0,
        "unresolved": run.unresolved,
        "errors": 0,
        "error": "",
    }
    assert ListenEvent.objects.filter(account=lb).count() == 25
    lb.refresh_from_db()
    assert lb.status == ExternalAccount.Status.OK
    assert lb.last_ingested_ts is not None


def test_ingest_account_task_reports_a_source_failure_without_raising(mocked, alice):
    fm = account(alice, ListenSource.LASTFM, "nosuchuser")
    mocked.get(
        LASTFM,
        status=404,
        json=load_payload(
            "lastfm", "lastfm__error__error6_no_user_with_that_name_was_found_recenttracks.json"
        ),
        match=lastfm_method("user.getRecentTracks", "nosuchuser"),
    )

    result = ingest_account_task(fm.pk)

    assert result["status"] == "failed"
    assert "Last.fm error 6" in result["error"]


def test_ingest_account_task_skips_quietly_when_claimed_disabled_or_gone(mocked, bob):
    claimed = account(
        bob,
        ListenSource.LISTENBRAINZ,
        "jasjeet",
        ingest_claimed_until=timezone.now() + timedelta(minutes=5),
        ingest_claim_token="other-worker",
    )
    disabled = account(bob, ListenSource.LASTFM, "bob", status=ExternalAccount.Status.DISABLED)

    assert ingest_account_task(claimed.pk)["reason"] == "already running"
    assert ingest_account_task(disabled.pk)["reason"] == "missing or disabled"
    assert ingest_account_task(999999)["status"] == "skipped"
    assert not IngestRun.objects.exists()


def test_ingest_all_task_queues_one_task_per_enabled_account(alice, bob):
    first = account(alice, ListenSource.LASTFM, "alice")
    second = account(bob, ListenSource.LISTENBRAINZ, "bob")
    account(bob, ListenSource.LASTFM, "bob", status=ExternalAccount.Status.DISABLED)

    with mock.patch("django_q.tasks.async_task") as queue:
        result = ingest_all_task()

    assert result == {"queued": 2}
    assert queue.call_args_list == [
        mock.call("listens.tasks.ingest_account_task", first.pk),
        mock.call("listens.tasks.ingest_account_task", second.pk),
    ]


def test_taste_snapshot_task_stores_both_charts(mocked, alice):
    fm = account(alice, ListenSource.LASTFM, "aurvandil")
    mocked.get(
        LASTFM,
        json=load_payload("lastfm", "lastfm__user.getTopArtists__2_artists_aurvandil.json"),
        match=lastfm_method("user.getTopArtists", "aurvandil"),
    )
    mocked.get(
        LASTFM,
        json=load_payload("lastfm", "lastfm__user.getTopAlbums__3_albums_tehrikkit.json"),
        match=lastfm_method("user.getTopAlbums", "aurvandil"),
    )

    result = taste_snapshot_task(fm.pk)

    snapshots = TasteSnapshot.objects.filter(account=fm)
    assert sorted(result["snapshots"]) == sorted(s.pk for s in snapshots)
    assert {(s.kind, s.period, len(s.items)) for s in snapshots} == {
        ("artists", "overall", 2),
        ("albums", "overall", 3),
    }
    assert snapshots.get(kind="artists").items[0]["name"] == "Anathema"


def test_taste_snapshot_task_skips_listenbrainz_accounts(mocked, alice):
    lb = account(alice, ListenSource.LISTENBRAINZ, "alice")

    assert taste_snapshot_task(lb.pk)["status"] == "skipped"
    assert not TasteSnapshot.objects.exists()


def test_taste_snapshots_all_task_queues_enabled_lastfm_accounts(alice, bob):
    fm = account(alice, ListenSource.LASTFM, "alice")
    account(alice, ListenSource.LISTENBRAINZ, "alice")
    account(bob, ListenSource.LASTFM, "bob", status=ExternalAccount.Status.DISABLED)

    with mock.patch("django_q.tasks.async_task") as queue:
        result = taste_snapshots_all_task(period="7day")

    assert result == {"queued": 1}
    queue.assert_called_once_with("listens.tasks.taste_snapshot_task", fm.pk, "7day")
