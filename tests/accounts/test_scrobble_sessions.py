"""Session keys and API keys for the Last.fm-compatible /2.0/ endpoint: made, listed and
revoked through the REST API, the admin and ``manage.py scrobble_api_key``; session keys
stored hashed and shown once."""

from __future__ import annotations

import hashlib
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ScrobbleApiKey, ScrobbleSession
from accounts.scrobble_auth import request_signature

pytestmark = pytest.mark.django_db

BUILT_IN_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _roomy_rate_limit(settings):
    settings.LISTENBRAINZ_API_RATE_LIMIT = 1000


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def scrobble_status(session_key: str, api_key: str = BUILT_IN_KEY, secret: str = "") -> str:
    """The error code (or "ok") of a one-track scrobble with ``session_key``."""
    params = {"method": "track.scrobble", "api_key": api_key, "sk": session_key}
    params |= {"artist": "A", "track": "T", "timestamp": "1700000000", "format": "json"}
    if secret:
        params["api_sig"] = request_signature(params, secret)
    body = Client().post("/2.0/", params).json()
    return str(body.get("error", "ok"))


def test_api_creates_a_session_key_shown_once_and_stored_hashed(alice, caplog):
    caplog.set_level(logging.DEBUG)
    made = api(alice).post("/api/scrobble-sessions/", {"name": "Old Player"}, format="json")

    assert made.status_code == 201
    key = made.json()["session_key"]
    assert len(key) == 32
    assert made.json()["name"] == "Old Player"
    assert made.json()["prefix"] == key[:8]
    row = ScrobbleSession.objects.get()
    assert row.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ScrobbleSession.objects.values().get())
    assert scrobble_status(key) == "ok"
    listed = api(alice).get("/api/scrobble-sessions/").json()
    assert key not in str(listed)
    assert "session_key" not in str(listed)
    assert key not in caplog.text


def test_api_lists_and_revokes_only_your_own_session_keys(alice, bob):
    mine = api(alice).post("/api/scrobble-sessions/", {}, format="json").json()
    theirs = api(bob).post("/api/scrobble-sessions/", {}, format="json").json()

    listed = api(alice).get("/api/scrobble-sessions/").json()
    assert [item["id"] for item in listed["results"]] == [mine["id"]]
    assert api(alice).delete(f"/api/scrobble-sessions/{theirs['id']}/").status_code == 404
    assert scrobble_status(theirs["session_key"]) == "ok"

    revoked = api(alice).delete(f"/api/scrobble-sessions/{mine['id']}/")
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert scrobble_status(mine["session_key"]) == "9"


def test_api_needs_a_login(db):
    response = APIClient().get("/api/scrobble-sessions/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_admin_add_shows_the_session_key_once_and_revoke_action_revokes(admin_client, alice):
    answer = admin_client.post(
        "/admin/accounts/scrobblesession/add/", {"user": alice.pk, "name": "Car"}, follow=True
    )

    assert answer.status_code == 200
    row = ScrobbleSession.objects.get()
    messages = [str(m) for m in answer.context["messages"]]
    key = next(word for m in messages for word in m.split() if len(word) == 32)
    assert key.startswith(row.prefix)
    assert scrobble_status(key) == "ok"
    page = admin_client.get(f"/admin/accounts/scrobblesession/{row.pk}/change/").content.decode()
    assert key not in page

    admin_client.post(
        "/admin/accounts/scrobblesession/",
        {"action": "revoke", "_selected_action": [row.pk]},
        follow=True,
    )
    assert scrobble_status(key) == "9"


def test_command_issues_an_api_key_whose_requests_must_be_signed(alice):
    out, err = StringIO(), StringIO()
    call_command("scrobble_api_key", "My Player", stdout=out, stderr=err)

    key, secret = out.getvalue().strip().splitlines()[-1].split()
    row = ScrobbleApiKey.objects.get()
    assert (row.name, row.key, row.secret) == ("My Player", key, secret)
    assert "api_sig" in err.getvalue()
    session_key = api(alice).post("/api/scrobble-sessions/", {}, format="json").json()
    assert scrobble_status(session_key["session_key"], key) == "13"
    assert scrobble_status(session_key["session_key"], key, secret) == "ok"


def test_admin_adds_an_api_key_showing_the_secret_once_and_revokes_it(admin_client):
    answer = admin_client.post(
        "/admin/accounts/scrobbleapikey/add/", {"name": "Desk Player"}, follow=True
    )

    assert answer.status_code == 200
    row = ScrobbleApiKey.objects.get()
    assert row.name == "Desk Player"
    assert any(row.secret in str(m) for m in answer.context["messages"])
    page = admin_client.get(f"/admin/accounts/scrobbleapikey/{row.pk}/change/").content.decode()
    assert row.secret not in page
    admin_client.post(
        "/admin/accounts/scrobbleapikey/",
        {"action": "revoke", "_selected_action": [row.pk]},
        follow=True,
    )
    row.refresh_from_db()
    assert row.revoked_at is not None
