"""/api/now-playing/: one entry per enabled account; an upstream failure stays in its entry."""

from __future__ import annotations

import pytest
import responses
from django.core.cache import cache

from accounts.models import ExternalAccount, ListenSource
from tests.api.conftest import make_account
from tests.payloads import load_payload

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
