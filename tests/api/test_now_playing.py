"""/api/now-playing/: one entry per enabled account; an upstream failure stays in its entry."""

from __future__ import annotations

import json
import time

import pytest
import responses
from django.core.cache import cache

from accounts.models import ExternalAccount, ListenSource
from tests.api.conftest import make_account
from tests.payloads import load_payload
from tests.slow_upstream import gathering_server, hanging_server

pytestmark = pytest.mark.django_db

LASTFM = "https://lastfm.test/2.0/"
LISTENBRAINZ = "https://lb.test/1/"


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def accounts(alice):
    made = [
        make_account(alice, ListenSource.LASTFM, "alice-fm"),
        make_account(alice, ListenSource.LISTENBRAINZ, "alice-lb"),
        make_account(
            alice, ListenSource.LISTENBRAINZ, "old", status=ExternalAccount.Status.DISABLED
        ),
    ]
    # Shared caches (Redis) outlive the test transaction.
    cache.delete_many([f"now-playing:{account.pk}" for account in made])
    return made


def test_each_account_reports_its_track_or_its_error(as_alice, accounts, mocked):
    lastfm, listenbrainz, _ = accounts
    mocked.get(
        LASTFM,
        json=load_payload(
            "lastfm",
            "lastfm__user.getRecentTracks__limit1_nowplaying_returns_2_tracks_fred_again.json",
        ),
    )
    mocked.get(LISTENBRAINZ + "user/alice-lb/playing-now", json={"error": "down"}, status=503)

    response = as_alice.get("/api/now-playing/")

    assert response.status_code == 200
    fm, lb = response.json()
    assert fm["account"] == {"id": lastfm.pk, "source": "lastfm", "external_username": "alice-fm"}
    assert fm["error"] is None
    assert fm["now_playing"] | {"fetched_at": None} == {
        "source": "lastfm",
        "track_name": "leavemealone",
        "artist_name": "Fred again..",
        "album_name": "leavemealone",
        "recording_mbid": None,
        "fetched_at": None,
    }
    assert lb["account"]["id"] == listenbrainz.pk
    assert lb["now_playing"] is None
    assert lb["error"]["code"] == "upstream_unavailable"
    assert lb["error"]["service"] == "listenbrainz"


def test_nothing_playing_is_null(as_alice, accounts, mocked):
    mocked.get(
        LASTFM,
        json=load_payload("lastfm", "lastfm__user.getRecentTracks__20_tracks_2014_trimmed.json"),
    )
    mocked.get(
        LISTENBRAINZ + "user/alice-lb/playing-now",
        json=load_payload(
            "listenbrainz", "listenbrainz__user_playing-now__empty_no_playing_now.json"
        ),
    )

    entries = as_alice.get("/api/now-playing/").json()

    assert [(e["now_playing"], e["error"]) for e in entries] == [(None, None), (None, None)]


def test_a_missing_setting_is_reported_per_account(as_alice, accounts, settings):
    settings.LASTFM_API_KEY = ""
    settings.LISTENBRAINZ_USER_AGENT = ""

    entries = as_alice.get("/api/now-playing/").json()

    assert [e["error"]["code"] for e in entries] == ["not_configured", "not_configured"]
    assert "LASTFM_API_KEY" in entries[0]["error"]["message"]


# --- Deadline, concurrency and cached failures -------------------------------------------


def lb_accounts(user, count: int) -> list[ExternalAccount]:
    made = [make_account(user, ListenSource.LISTENBRAINZ, f"lb-{i}") for i in range(count)]
    cache.delete_many([f"now-playing:{account.pk}" for account in made])
    return made


def test_accounts_are_asked_at_the_same_time(as_alice, alice, external_settings):
    made = lb_accounts(alice, 3)
    body = json.dumps(
        load_payload(
            "listenbrainz", "listenbrainz__user_playing-now__spotify_listen_liblistenbrainz.json"
        )
    ).encode()
    # Answers only when all three requests are waiting together: one at a time, each
    # would wait alone and get a 503.
    with gathering_server(3, body, wait_seconds=2) as upstream:
        external_settings.LISTENBRAINZ_BASE_URL = upstream.base_url
        entries = as_alice.get("/api/now-playing/").json()

    assert [entry["account"]["id"] for entry in entries] == [account.pk for account in made]
    assert [entry["error"] for entry in entries] == [None, None, None]
    assert all(entry["now_playing"]["track_name"] for entry in entries)
    assert upstream.answered == 3


def test_a_hung_upstream_costs_one_deadline_without_retries(as_alice, alice, external_settings):
    lastfm = [make_account(alice, ListenSource.LASTFM, f"fm-{i}") for i in range(6)]
    everyone = lastfm + lb_accounts(alice, 7)
    cache.delete_many([f"now-playing:{account.pk}" for account in lastfm])
    external_settings.UPSTREAM_DEADLINE_SECONDS = 0.5
    external_settings.HTTP_READ_TIMEOUT = 3.0
    external_settings.HTTP_MAX_RETRIES = 4  # a web request must not use them

    with hanging_server() as upstream:
        external_settings.LASTFM_BASE_URL = upstream.base_url + "2.0/"
        external_settings.LISTENBRAINZ_BASE_URL = upstream.base_url + "1/"
        started = time.monotonic()
        response = as_alice.get("/api/now-playing/")
        elapsed = time.monotonic() - started
        asked = len(upstream.connections)

    assert response.status_code == 200
    entries = response.json()
    assert [entry["account"]["id"] for entry in entries] == [account.pk for account in everyone]
    assert {entry["error"]["code"] for entry in entries} == {"upstream_unavailable"}
    assert {entry["now_playing"] for entry in entries} == {None}
    assert asked == 13  # one request per account: no retries
    # One account after another, each waiting its 3 s read timeout, would take 39 s.
    assert elapsed < 3


def test_a_failing_source_is_not_asked_again_at_once(as_alice, alice, mocked):
    [account] = lb_accounts(alice, 1)
    down = mocked.get(LISTENBRAINZ + "user/lb-0/playing-now", json={"error": "down"}, status=503)

    first = as_alice.get("/api/now-playing/").json()
    again = as_alice.get("/api/now-playing/").json()

    assert down.call_count == 1
    assert first == again
    assert first[0]["error"]["code"] == "upstream_unavailable"
    assert first[0]["account"]["id"] == account.pk
