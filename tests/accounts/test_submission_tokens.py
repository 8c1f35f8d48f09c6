"""Submission tokens for the /1/ API: made, listed and revoked through the REST API,
the admin and ``manage.py submit_token``; stored hashed, shown once, never logged."""

from __future__ import annotations

import hashlib
import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ExternalAccount, SubmissionToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def valid(token: str) -> bool:
    return Client().get("/1/validate-token", {"token": token}).json()["valid"]


def test_api_creates_a_token_shown_once_and_stored_hashed(alice, caplog):
    caplog.set_level(logging.DEBUG)
    made = api(alice).post("/api/submission-tokens/", {"name": "Navidrome"}, format="json")

    assert made.status_code == 201
    token = made.json()["token"]
    assert made.json()["name"] == "Navidrome"
    assert made.json()["prefix"] == token[:8]
    assert made.json()["active"] is True
    row = SubmissionToken.objects.get()
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(SubmissionToken.objects.values().get())
    assert valid(token)
    listed = api(alice).get("/api/submission-tokens/").json()
    assert "token" not in str(listed)
    assert token not in str(listed)
    assert token not in caplog.text


def test_api_lists_and_revokes_only_your_own_tokens(alice, bob):
    mine = api(alice).post("/api/submission-tokens/", {}, format="json").json()
    theirs = api(bob).post("/api/submission-tokens/", {}, format="json").json()

    listed = api(alice).get("/api/submission-tokens/").json()
    ids = [item["id"] for item in listed["results"]]
    assert ids == [mine["id"]]
    refused = api(alice).delete(f"/api/submission-tokens/{theirs['id']}/")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert valid(theirs["token"])

    revoked = api(alice).delete(f"/api/submission-tokens/{mine['id']}/")
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert revoked.json()["revoked_at"] is not None
    assert not valid(mine["token"])


def test_api_needs_a_login(db):
    assert APIClient().get("/api/submission-tokens/").status_code in (401, 403)


def test_submitted_is_not_a_source_you_connect(alice):
    answer = api(alice).post(
        "/api/accounts/", {"source": "submitted", "external_username": "alice"}, format="json"
    )
    assert answer.status_code == 400
    assert not ExternalAccount.objects.exists()


def test_command_prints_a_new_token_on_its_last_line(alice):
    out, err = StringIO(), StringIO()

    call_command("submit_token", "--user", "alice", "--name", "cli", stdout=out, stderr=err)

    token = out.getvalue().strip().splitlines()[-1]
    assert valid(token)
    assert SubmissionToken.objects.get().name == "cli"
    assert token not in err.getvalue()


def test_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no Sidetrack user named 'nobody'"):
        call_command("submit_token", "--user", "nobody", stdout=StringIO(), stderr=StringIO())


def test_admin_add_shows_the_token_once_and_revoke_action_revokes(admin_client, alice):
    answer = admin_client.post(
        "/admin/accounts/submissiontoken/add/",
        {"user": alice.pk, "name": "Jellyfin"},
        follow=True,
    )

    assert answer.status_code == 200
    row = SubmissionToken.objects.get()
    messages = [str(m) for m in answer.context["messages"]]
    token = next(word for m in messages for word in m.split() if len(word) == 40)
    assert token.startswith(row.prefix)
    assert valid(token)
    page = admin_client.get(f"/admin/accounts/submissiontoken/{row.pk}/change/").content.decode()
    assert token not in page

    admin_client.post(
        "/admin/accounts/submissiontoken/",
        {"action": "revoke", "_selected_action": [row.pk]},
        follow=True,
    )
    assert not valid(token)
    listing = admin_client.get("/admin/accounts/submissiontoken/")
    assert listing.status_code == 200


def test_a_submitted_account_is_listed_but_never_polled(alice, queued_tasks):
    token = api(alice).post("/api/submission-tokens/", {}, format="json").json()["token"]
    body = {
        "listen_type": "single",
        "payload": [
            {
                "listened_at": 1_700_000_000,
                "track_metadata": {"artist_name": "a", "track_name": "b"},
            }
        ],
    }
    Client().post(
        "/1/submit-listens",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    listed = api(alice).get("/api/accounts/").json()["results"]
    assert [(a["source"], a["external_username"]) for a in listed] == [("submitted", "alice")]

    refused = api(alice).post(f"/api/accounts/{listed[0]['id']}/ingest/")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_polled"
    assert queued_tasks == []
