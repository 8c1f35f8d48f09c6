"""/api/accounts/: list, connect, disconnect, queue an ingest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import ExternalAccount, ListenSource
from listens.models import ListenEvent
from tests.api.conftest import make_account, make_listen

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args: calls.append(args))
    return calls


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


def test_ingest_queues_a_task_once_committed(
    as_alice, alice, queued, django_capture_on_commit_callbacks
):
    account = make_account(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(f"/api/accounts/{account.pk}/ingest/")

    assert response.status_code == 202
    assert response.json() == {"account": account.pk, "queued": True}
    assert queued == [("listens.tasks.ingest_account_task", account.pk)]


def test_ingest_of_a_disconnected_account_is_a_conflict(
    as_alice, alice, queued, django_capture_on_commit_callbacks
):
    account = make_account(alice, status=ExternalAccount.Status.DISABLED)

    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(f"/api/accounts/{account.pk}/ingest/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_disabled"
    assert queued == []
