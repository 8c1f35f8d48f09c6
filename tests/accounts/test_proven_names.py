"""Proving a Last.fm name yours (Connect with Last.fm): a proven owner takes the name
over from unproven claims, and a proven name is nobody else's to connect."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ExternalAccount
from accounts.services import (
    NameProvenByAnotherUser,
    NameTakenByAnotherUser,
    TooManyAccounts,
    connect_account,
    connect_proven_account,
    connect_user_account,
)
from tests.api.conftest import make_account

pytestmark = pytest.mark.django_db


def test_a_proven_owner_takes_the_name_over_from_an_unproven_claim(
    alice, bob, queued_tasks, django_capture_on_commit_callbacks
):
    claim = make_account(bob, name="rj", status="ok", last_ingested_ts=1_700_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        proven = connect_proven_account(user=alice, source="lastfm", external_username="RJ")
    assert proven.created
    assert proven.taken_over == 1
    assert proven.account.proven_at is not None
    claim.refresh_from_db()
    assert claim.status == ExternalAccount.Status.DISABLED
    assert claim.taken_over_at is not None
    assert claim.last_ingested_ts == 1_700_000_000  # what was fetched stays
    # A new Last.fm account gets its first taste snapshot, as any new connect does.
    assert ("listens.tasks.taste_snapshot_task", (proven.account.pk,), {}) in queued_tasks


def test_the_loser_cannot_connect_or_reconnect_a_name_proven_by_someone_else(alice, bob):
    make_account(bob, name="rj", status="ok")
    connect_proven_account(user=alice, source="lastfm", external_username="rj")
    with pytest.raises(NameProvenByAnotherUser, match="proven with Last.fm"):
        connect_user_account(user=bob, source="lastfm", external_username="RJ")
    assert ExternalAccount.objects.get(user=bob).status == ExternalAccount.Status.DISABLED
    with pytest.raises(NameProvenByAnotherUser):
        connect_proven_account(user=bob, source="lastfm", external_username="rj")


def test_a_name_proven_by_someone_else_is_refused_to_a_new_user_too(alice, bob):
    connect_proven_account(user=alice, source="lastfm", external_username="rj")
    with pytest.raises(NameProvenByAnotherUser):
        connect_user_account(user=bob, source="lastfm", external_username="rj")
    assert not ExternalAccount.objects.filter(user=bob).exists()
    # Staff may still share it on purpose (the command's --allow-shared).
    account, created = connect_account(
        username="bob", source="lastfm", external_username="rj", allow_shared=True
    )
    assert created
    assert account.proven_at is None


def test_proving_your_own_unproven_account_marks_it_and_re_enables_it(alice):
    mine = make_account(alice, name="rj", status="disabled", last_ingested_ts=1)
    proven = connect_proven_account(user=alice, source="lastfm", external_username="RJ")
    assert not proven.created
    assert proven.account.pk == mine.pk
    mine.refresh_from_db()
    assert mine.proven_at is not None
    assert mine.status == ExternalAccount.Status.OK
    first = mine.proven_at
    again = connect_proven_account(user=alice, source="lastfm", external_username="rj")
    assert again.account.proven_at == first  # the first proof's date stays


def test_an_unproven_name_another_user_connected_still_blocks_a_plain_connect(alice, bob):
    make_account(bob, name="rj")
    with pytest.raises(NameTakenByAnotherUser):
        connect_user_account(user=alice, source="lastfm", external_username="rj")


def test_proving_counts_against_the_account_cap(alice):
    make_account(alice, name="one")
    with pytest.raises(TooManyAccounts):
        connect_proven_account(user=alice, source="lastfm", external_username="rj", max_accounts=1)


def test_the_database_keeps_one_proven_owner_per_name(alice, bob):
    now = timezone.now()
    make_account(alice, name="rj", proven_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_account(bob, name="RJ", proven_at=now)
    make_account(bob, name="RJ")  # unproven: allowed by the database (the services decide)


def test_the_accounts_api_shows_proven_and_taken_over(alice, bob):
    make_account(bob, name="rj")
    connect_proven_account(user=alice, source="lastfm", external_username="rj")
    api = APIClient()
    api.force_authenticate(alice)
    (mine,) = api.get("/api/accounts/").json()["results"]
    assert mine["proven_at"] is not None
    assert mine["taken_over_at"] is None
    api.force_authenticate(bob)
    (theirs,) = api.get("/api/accounts/").json()["results"]
    assert theirs["proven_at"] is None
    assert theirs["taken_over_at"] is not None
    assert theirs["status"] == "disabled"
    refused = api.post("/api/accounts/", {"source": "lastfm", "external_username": "rj"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "name_proven"
