"""/api/accounts/: list, connect, disconnect, queue an ingest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import ExternalAccount, ListenSource
from accounts.services import ingest_started
from listens.models import IngestRun, ListenEvent
from tests.api.conftest import client_for, make_account, make_listen

pytestmark = pytest.mark.django_db


INGEST = "listens.tasks.ingest_account_task"
TASTE = "listens.tasks.taste_snapshot_task"


@pytest.fixture
def queued(queued_tasks):
    return queued_tasks


def fresh(account: ExternalAccount) -> ExternalAccount:
    # A shared cache (Redis) outlives the test database: forget earlier queued ingests.
    cache.delete(f"ingest-queued:{account.pk}")
    return account


def test_list_shows_ingest_state(as_alice, alice):
    finished = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    account = make_account(
        alice,
        ListenSource.LASTFM,
        "alice-fm",
        status=ExternalAccount.Status.RETRYING,
        last_error="lastfm: Operation failed | HTTP 500",
        last_ingested_ts=int(datetime(2024, 3, 1, 12, 0, tzinfo=UTC).timestamp()),
        last_ingest_finished_at=finished,
    )

    [item] = as_alice.get("/api/accounts/").json()["results"]

    assert item["id"] == account.pk
    assert item["source"] == "lastfm"
    assert item["external_username"] == "alice-fm"
    assert item["status"] == "retrying"
    assert item["last_error"] == "lastfm: Operation failed | HTTP 500"
    assert item["last_ingested_at"] == "2024-03-01T12:00:00Z"
    assert item["last_ingest_finished_at"] == "2024-03-01T12:30:00Z"


def test_a_never_ingested_account_has_no_cursor(as_alice, alice):
    make_account(alice)
    [item] = as_alice.get("/api/accounts/").json()["results"]
    assert item["last_ingested_at"] is None
    assert item["status"] == "new"


def test_connect_creates_then_returns_the_same_account(as_alice, alice, queued):
    first = as_alice.post(
        "/api/accounts/", {"source": "listenbrainz", "external_username": "AliceLB"}, format="json"
    )
    again = as_alice.post(
        "/api/accounts/", {"source": "listenbrainz", "external_username": "alicelb"}, format="json"
    )

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["user"] == "alice"
    assert ExternalAccount.objects.filter(user=alice).count() == 1


def test_connect_rejects_an_unknown_source(as_alice):
    response = as_alice.post(
        "/api/accounts/", {"source": "spotify", "external_username": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "source" in response.json()["error"]["detail"]


def test_connect_rejects_a_blank_name(as_alice):
    response = as_alice.post(
        "/api/accounts/", {"source": "lastfm", "external_username": "   "}, format="json"
    )
    assert response.status_code == 400
    assert "external_username" in response.json()["error"]["detail"]


def test_disconnect_disables_and_keeps_listens(as_alice, alice):
    account = make_account(alice)
    listen = make_listen(account)

    response = as_alice.delete(f"/api/accounts/{account.pk}/")

    assert response.status_code == 200
    assert response.json()["status"] == "disabled"
    account.refresh_from_db()
    assert account.status == ExternalAccount.Status.DISABLED
    assert ListenEvent.objects.filter(pk=listen.pk).exists()


def test_reconnecting_a_disconnected_account_enables_it(as_alice, alice, queued):
    account = make_account(alice, ListenSource.LASTFM, "alice-fm", status="disabled")

    response = as_alice.post(
        "/api/accounts/", {"source": "lastfm", "external_username": "alice-fm"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "new"
    account.refresh_from_db()
    assert account.enabled


def test_ingest_queues_a_task_named_in_the_answer(as_alice, alice, queued):
    account = fresh(make_account(alice))

    response = as_alice.post(f"/api/accounts/{account.pk}/ingest/")

    assert response.status_code == 202
    [(func, args, kwargs)] = queued
    assert (func, args) == (INGEST, (account.pk,))
    assert response.json() == {
        "account": account.pk,
        "queued": True,
        "task": kwargs["task_name"],
        "run": None,
    }


def test_twenty_ingest_requests_queue_one_task(as_alice, alice, queued):
    account = fresh(make_account(alice))

    answers = [as_alice.post(f"/api/accounts/{account.pk}/ingest/") for _ in range(20)]

    assert len(queued) == 1
    task = queued[0][2]["task_name"]
    assert {answer.status_code for answer in answers} == {202}
    assert [answer.json()["queued"] for answer in answers] == [True] + [False] * 19
    assert {answer.json()["task"] for answer in answers} == {task}


def test_once_the_worker_starts_the_task_a_new_request_queues_again(as_alice, alice, queued):
    account = fresh(make_account(alice))
    as_alice.post(f"/api/accounts/{account.pk}/ingest/")
    first = queued[0][2]["queued_as"]

    ingest_started(account_id=account.pk, queued_as=first)
    again = as_alice.post(f"/api/accounts/{account.pk}/ingest/")

    assert again.json()["queued"] is True
    assert len(queued) == 2
    assert queued[1][2]["queued_as"] != first


def test_ingest_while_a_worker_holds_the_claim_names_its_run_and_queues_nothing(
    as_alice, alice, queued
):
    account = fresh(make_account(alice))
    run = IngestRun.objects.create(account=account)
    ExternalAccount.objects.filter(pk=account.pk).update(
        ingest_claimed_until=timezone.now() + timedelta(minutes=5), ingest_claim_token="x"
    )

    response = as_alice.post(f"/api/accounts/{account.pk}/ingest/")

    assert response.status_code == 202
    assert response.json() == {"account": account.pk, "queued": False, "task": None, "run": run.pk}
    assert queued == []


def test_connect_refuses_accounts_past_the_cap(as_alice, alice, queued, settings):
    settings.MAX_ACCOUNTS_PER_USER = 2
    make_account(alice, ListenSource.LASTFM, "one")
    make_account(alice, ListenSource.LISTENBRAINZ, "two", status=ExternalAccount.Status.DISABLED)

    refused = as_alice.post(
        "/api/accounts/", {"source": "lastfm", "external_username": "three"}, format="json"
    )
    again = as_alice.post(
        "/api/accounts/", {"source": "listenbrainz", "external_username": "TWO"}, format="json"
    )

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_accounts"
    assert again.status_code == 200  # connecting one you have is not a new account
    assert ExternalAccount.objects.filter(user=alice).count() == 2


def test_reconnecting_queues_no_taste_snapshot(
    as_alice, alice, queued, django_capture_on_commit_callbacks
):
    body = {"source": "lastfm", "external_username": "alice-fm"}

    with django_capture_on_commit_callbacks(execute=True):
        first = as_alice.post("/api/accounts/", body, format="json")
        as_alice.delete(f"/api/accounts/{first.json()['id']}/")
        for _ in range(3):
            as_alice.post("/api/accounts/", body, format="json")

    assert [(func, args) for func, args, _ in queued] == [(TASTE, (first.json()["id"],))]


def test_a_name_another_user_connected_is_refused(as_alice, bob, queued):
    make_account(bob, ListenSource.LASTFM, "BobFM", status=ExternalAccount.Status.DISABLED)

    response = as_alice.post(
        "/api/accounts/", {"source": "lastfm", "external_username": "bobfm"}, format="json"
    )
    other_source = as_alice.post(
        "/api/accounts/", {"source": "listenbrainz", "external_username": "bobfm"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "name_taken"
    assert "bob" not in response.json()["error"]["message"].replace("bobfm", "")
    assert other_source.status_code == 201
    assert not ExternalAccount.objects.filter(user__username="alice", source="lastfm").exists()


def test_a_username_with_spaces_connects_to_its_own_user(django_user_model, bob, queued):
    spaced = django_user_model.objects.create_user(" bob ", password="spaced-password-1")

    response = client_for(spaced).post(
        "/api/accounts/", {"source": "listenbrainz", "external_username": "spaced"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["user"] == " bob "
    assert ExternalAccount.objects.get().user == spaced
    assert not ExternalAccount.objects.filter(user=bob).exists()


def test_ingest_of_a_disconnected_account_is_a_conflict(as_alice, alice, queued):
    account = make_account(alice, status=ExternalAccount.Status.DISABLED)

    response = as_alice.post(f"/api/accounts/{account.pk}/ingest/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_disabled"
    assert queued == []
