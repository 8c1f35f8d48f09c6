"""What an account is playing now (cached, never a listen) and its Last.fm taste charts."""

from __future__ import annotations

import uuid

import pytest
import responses
from responses import matchers

from accounts.models import ExternalAccount, ListenSource
from listens.models import ListenEvent, TasteSnapshot
from listens.now_playing import now_playing
from listens.taste import take_taste_snapshot
from metadata.identity import ReportedTrack, store_alias
from metadata.matching import text_key_digest
from metadata.models import Recording, RecordingAlias
from tests.caches import clear_cache
from tests.payloads import load_payload

pytestmark = pytest.mark.django_db

LASTFM_URL = "https://lastfm.test/2.0/"
LB_URL = "https://lb.test/1/"
API_KEY = "lfm-test-key-0123456789abcdef"  # conftest.external_settings


@pytest.fixture(autouse=True)
def empty_cache(db, external_settings):
    external_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def lastfm_account(alice):
    return ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="loige"
    )


@pytest.fixture
def lb_account(alice):
    return ExternalAccount.objects.create(
        user=alice, source=ListenSource.LISTENBRAINZ, external_username="yelnah"
    )


def lastfm_query(method: str, **params: str) -> list:
    return [
        matchers.query_param_matcher(
            {"method": method, "format": "json", "api_key": API_KEY, **params}
        )
    ]


def serve_lb_playing_now(mocked, user: str, fixture: str) -> None:
    mocked.get(f"{LB_URL}user/{user}/playing-now", json=load_payload("listenbrainz", fixture))


# --- Now playing -----------------------------------------------------------------------------


def test_lastfm_now_playing_returns_the_playing_track_and_caches_it(lastfm_account, mocked):
    mocked.get(
        LASTFM_URL,
        json=load_payload(
            "lastfm", "lastfm__user.getRecentTracks__extended1_nowplaying_trimmed.json"
        ),
        match=lastfm_query("user.getRecentTracks", user="loige", page="1", limit="1", extended="1"),
    )

    playing = now_playing(account=lastfm_account)
    again = now_playing(account=lastfm_account)

    assert (playing.track_name, playing.artist_name, playing.album_name) == (
        "Do You Feel",
        "The Rocket Summer",
        "Do You Feel",
    )
    assert (playing.source, playing.recording_mbid) == ("lastfm", None)
    assert again == playing
    assert len(mocked.calls) == 1
    # The answer's two scrobbles are not ingested either.
    assert not ListenEvent.objects.exists()


def test_listenbrainz_now_playing_returns_the_playing_track_and_caches_it(lb_account, mocked):
    serve_lb_playing_now(
        mocked, "yelnah", "listenbrainz__user_playing-now__kodi_jack_white_from_code_comment.json"
    )

    playing = now_playing(account=lb_account)
    again = now_playing(account=lb_account)

    assert (playing.track_name, playing.artist_name, playing.album_name) == (
        "Machine Gun Silhouette",
        "Jack White",
        "Acoustic Recordings 1998-2016",
    )
    # The submitted recording_mbid is an unverified hint: not reported as the MBID.
    assert (playing.source, playing.recording_mbid) == ("listenbrainz", None)
    assert again == playing
    assert len(mocked.calls) == 1
    assert not ListenEvent.objects.exists()


def test_now_playing_reports_the_mbid_already_decided_for_that_text(lb_account, mocked):
    serve_lb_playing_now(
        mocked, "yelnah", "listenbrainz__user_playing-now__kodi_jack_white_from_code_comment.json"
    )
    mbid = uuid.UUID("d48ef3ed-40c2-45df-b9c8-e90a88dfe75d")
    recording = Recording.objects.create(
        mbid=mbid,
        status=Recording.Status.RESOLVED,
        title="Machine Gun Silhouette",
        artist_name="Jack White",
    )
    reported = ReportedTrack(
        "Jack White", "Machine Gun Silhouette", "Acoustic Recordings 1998-2016"
    )
    store_alias(
        key=reported.key,
        reported=reported,
        recording=recording,
        decided_by=RecordingAlias.DecidedBy.RESOLVER,
    )

    playing = now_playing(account=lb_account)

    assert playing.recording_mbid == str(mbid)
    assert [call.request.url for call in mocked.calls] == [f"{LB_URL}user/yelnah/playing-now"]


def test_an_unresolved_text_has_no_mbid_while_playing(lb_account, mocked):
    serve_lb_playing_now(
        mocked, "yelnah", "listenbrainz__user_playing-now__kodi_jack_white_from_code_comment.json"
    )
    Recording.objects.create(
        unresolved_key=text_key_digest("Jack White", "Machine Gun Silhouette"),
        title="Machine Gun Silhouette",
        artist_name="Jack White",
    )

    assert now_playing(account=lb_account).recording_mbid is None


def test_nothing_playing_is_cached_too(lb_account, mocked):
    serve_lb_playing_now(
        mocked, "yelnah", "listenbrainz__user_playing-now__empty_no_playing_now.json"
    )

    assert now_playing(account=lb_account) is None
    assert now_playing(account=lb_account) is None
    assert len(mocked.calls) == 1


def test_now_playing_is_cached_per_account(lb_account, bob, mocked):
    serve_lb_playing_now(
        mocked, "yelnah", "listenbrainz__user_playing-now__kodi_jack_white_from_code_comment.json"
    )
    serve_lb_playing_now(
        mocked, "bob-lb", "listenbrainz__user_playing-now__empty_no_playing_now.json"
    )
    bobs = ExternalAccount.objects.create(
        user=bob, source=ListenSource.LISTENBRAINZ, external_username="bob-lb"
    )

    assert now_playing(account=lb_account).track_name == "Machine Gun Silhouette"
    assert now_playing(account=bobs) is None
    assert len(mocked.calls) == 2


# --- Taste snapshots -------------------------------------------------------------------------


def test_taste_snapshot_stores_top_artists_and_albums_with_playcounts_and_mbids(
    lastfm_account, mocked
):
    mocked.get(
        LASTFM_URL,
        json=load_payload("lastfm", "lastfm__user.getTopArtists__2_artists_aurvandil.json"),
        match=lastfm_query(
            "user.getTopArtists", user="loige", period="overall", page="1", limit="50"
        ),
    )
    mocked.get(
        LASTFM_URL,
        json=load_payload("lastfm", "lastfm__user.getTopAlbums__3_albums_tehrikkit.json"),
        match=lastfm_query(
            "user.getTopAlbums", user="loige", period="overall", page="1", limit="50"
        ),
    )

    take_taste_snapshot(account=lastfm_account)

    artists = TasteSnapshot.objects.get(account=lastfm_account, kind="artists")
    assert artists.period == "overall"
    assert artists.items == [
        {
            "rank": 1,
            "name": "Anathema",
            "mbid": "20aa23e3-3532-42ca-acf6-e8c2e9df2688",
            "playcount": 5216,
        },
        {
            "rank": 2,
            "name": "Insomnium",
            "mbid": "c1f8e226-75ea-4fe6-83ce-59c122bcbca4",
            "playcount": 4670,
        },
    ]
    albums = TasteSnapshot.objects.get(account=lastfm_account, kind="albums")
    assert [(a["rank"], a["name"], a["artist_name"], a["playcount"]) for a in albums.items] == [
        (1, "Crystal Castles", "Crystal Castles", 2206),
        (2, "In Ghost Colours", "Cut Copy", 1422),
        (3, "The Reminder", "Feist", 1360),
    ]
    assert albums.items[1]["mbid"] == "32bb96fa-e91b-49e7-ba07-98c2e5edd28c"


def test_taste_snapshot_stores_empty_mbids_as_none_for_the_period_asked(lastfm_account, mocked):
    mocked.get(
        LASTFM_URL,
        json=load_payload("lastfm", "lastfm__user.getTopArtists__3_artists_2018_no_top_attr.json"),
        match=lastfm_query("user.getTopArtists", user="loige", period="7day", page="1", limit="50"),
    )
    mocked.get(
        LASTFM_URL,
        json=load_payload("lastfm", "lastfm__user.getTopAlbums__3_albums_2018_no_top_attr.json"),
        match=lastfm_query("user.getTopAlbums", user="loige", period="7day", page="1", limit="50"),
    )

    take_taste_snapshot(account=lastfm_account, period="7day")

    albums = TasteSnapshot.objects.get(kind="albums")
    assert albums.period == "7day"
    assert [(a["name"], a["mbid"], a["playcount"]) for a in albums.items] == [
        ("Performer", None, 187),
        ("Pig City", None, 50),
        ("Earth Loop", None, 48),
    ]
    assert TasteSnapshot.objects.get(kind="artists").items[2]["name"] == "Carpenter Brut"


def test_taste_snapshot_refuses_a_listenbrainz_account(lb_account, mocked):
    with pytest.raises(ValueError, match="Last.fm"):
        take_taste_snapshot(account=lb_account)

    assert not TasteSnapshot.objects.exists()
    assert len(mocked.calls) == 0
