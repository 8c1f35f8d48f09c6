"""Connect with Last.fm on "Your sources", end to end against the emulated Last.fm:
the button sends the member to Last.fm's auth page, Last.fm sends them back with a
token, Sidetrack trades it (signed auth.getSession) for the name and connects it proven."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from accounts.models import ExternalAccount
from tests.api.conftest import make_account
from tests.emulator import Emulator, World

pytestmark = pytest.mark.django_db

KEY = "lfm-test-key-0123456789abcdef"
SECRET = "lfm-test-secret-fedcba9876543210"


@pytest.fixture
def lastfm(external_settings):
    """The emulated Last.fm (API and auth page), approving as RJ, checking signatures."""
    with Emulator(
        World(), lastfm_api_keys={KEY}, lastfm_auth_user="RJ", lastfm_api_secret=SECRET
    ) as emu:
        external_settings.LASTFM_BASE_URL = emu.urls["lastfm"]
        external_settings.LASTFM_AUTH_URL = emu.urls["lastfm_auth"]
        yield emu


def approve_on_lastfm(web: Client) -> str:
    """Press the button, let (emulated) Last.fm approve: the URL Last.fm sends back to."""
    started = web.post("/sources/lastfm/")
    assert started.status_code == 302
    to_lastfm = started["Location"]
    sent = parse_qs(urlsplit(to_lastfm).query)
    assert sent["api_key"] == [KEY]
    assert sent["cb"][0].startswith("http://testserver/sources/lastfm/done/?state=")
    assert SECRET not in to_lastfm
    back = requests.get(to_lastfm, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    return back.headers["Location"]


def returned(web: Client, url: str):
    parts = urlsplit(url)
    return web.get(f"{parts.path}?{parts.query}", follow=True)


def test_connect_with_lastfm_connects_the_approved_name_proven(
    web_alice, alice, lastfm, queued_tasks
):
    page = returned(web_alice, approve_on_lastfm(web_alice))
    account = ExternalAccount.objects.get(user=alice)
    assert (account.source, account.external_username) == ("lastfm", "RJ")
    assert account.proven_at is not None
    text = page.content.decode()
    assert "Connected RJ on Last.fm, proven yours." in text
    assert "Proven yours with Last.fm on" in text
    assert "listens.tasks.ingest_account_task" in [call[0] for call in queued_tasks]
    (session_call,) = [r for r in lastfm.requests if r.params.get("method") == "auth.getSession"]
    assert session_call.status == 200
    assert session_call.params["api_sig"]  # signed, and the emulator checked it
    assert SECRET not in str(session_call.params)


def test_the_proven_owner_takes_over_and_the_other_member_reads_why(
    web_alice, web_bob, bob, lastfm, queued_tasks
):
    make_account(bob, name="rj", status="ok")
    assert b"Not proven" in web_bob.get("/sources/").content
    page = returned(web_alice, approve_on_lastfm(web_alice))
    assert b"their account of it is stopped" in page.content
    theirs = web_bob.get("/sources/").content.decode()
    assert "Taken over: on " in theirs
    assert "another Sidetrack user proved, by signing in to Last.fm, that &#x27;rj&#x27;" in theirs
    assert 'data-state="taken"' in theirs
    refused = web_bob.post(
        "/sources/connect/", {"source": "lastfm", "external_username": "rj"}, follow=True
    )
    assert refused.status_code == 409
    assert b"has proven with Last.fm that" in refused.content
    assert ExternalAccount.objects.get(user=bob).status == ExternalAccount.Status.DISABLED


def test_a_return_not_started_by_this_member_connects_nothing(
    web_alice, web_bob, alice, bob, lastfm
):
    # Bob approves on Last.fm, then gets Alice's browser to open his return URL.
    url = approve_on_lastfm(web_bob)
    page = returned(web_alice, url)
    assert b"does not match a Connect with Last.fm started here" in page.content
    assert not ExternalAccount.objects.exists()
    # And a return URL works once: the state is spent.
    first = returned(web_bob, url)
    assert b"proven yours" in first.content
    again = returned(web_bob, url)
    assert b"does not match" in again.content


def test_an_unapproved_or_spent_token_is_said_plainly(web_alice, lastfm):
    url = approve_on_lastfm(web_alice)
    lastfm.lastfm_tokens.clear()  # Last.fm forgot the token (expired)
    page = returned(web_alice, url)
    assert b"Last.fm did not confirm the approval" in page.content
    assert not ExternalAccount.objects.exists()


def test_lastfm_down_while_confirming_is_a_clear_message(web_alice, lastfm):
    url = approve_on_lastfm(web_alice)
    lastfm.add_fault("http_503", service="lastfm", times=None)
    page = returned(web_alice, url)
    assert b"Last.fm could not be reached to confirm your name" in page.content
    assert not ExternalAccount.objects.exists()


def test_without_the_api_secret_the_button_is_not_offered_and_the_page_says_why(
    web_alice, settings
):
    settings.LASTFM_API_KEY = KEY
    settings.LASTFM_API_SECRET = ""
    text = web_alice.get("/sources/").content.decode()
    assert "Connect with Last.fm</button>" not in text
    assert "the operator has not set LASTFM_API_SECRET" in text
    refused = web_alice.post("/sources/lastfm/", follow=True)
    assert b"Connect with Last.fm is not set up on this Sidetrack." in refused.content
