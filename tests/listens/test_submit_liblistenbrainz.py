"""A real ListenBrainz client, liblistenbrainz, pointed at the live test server: what it
submits is stored as sent, and it reads it back."""

from __future__ import annotations

import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from liblistenbrainz import Listen, ListenBrainz
from liblistenbrainz.errors import InvalidAuthTokenException, ListenBrainzAPIException

from accounts.models import ListenSource
from accounts.submission_tokens import create_submission_token
from listens.models import ListenEvent
from listens.profile import listen_profile_update

pytestmark = pytest.mark.django_db(transaction=True)

RECORDING_MBID = "2cfad207-3f55-4aec-8120-86cf66e34d59"


@pytest.fixture(autouse=True)
def server_threads_close_their_connections(monkeypatch):
    """liblistenbrainz never closes its kept-alive sockets: with persistent database
    connections (CONN_MAX_AGE) the live server's thread for each would hold its
    connection past the test, and PostgreSQL could not drop the test database at the
    end. Here those threads close it after every request."""
    monkeypatch.setitem(connections.settings[DEFAULT_DB_ALIAS], "CONN_MAX_AGE", 0)


@pytest.fixture
def client(live_server, alice, settings) -> ListenBrainz:
    settings.LISTENBRAINZ_API_RATE_LIMIT = 1000
    lb = ListenBrainz(api_base_url=live_server.url)
    lb.set_auth_token(create_submission_token(user=alice, name="liblistenbrainz")[1])
    return lb


def test_liblistenbrainz_submits_single_import_and_playing_now_and_reads_back(client, alice):
    now = int(time.time())
    single = Listen(
        track_name="Never Gonna Give You Up",
        artist_name="Rick Astley",
        release_name="Whenever you need somebody",
        recording_mbid=RECORDING_MBID,
        listened_at=now - 3600,
        tags=["pop"],
    )
    assert client.submit_single_listen(single) == {"status": "ok"}
    batch = [
        Listen(track_name=f"Track {i}", artist_name="Comete", listened_at=now - 3000 + i)
        for i in range(5)
    ]
    assert client.submit_multiple_listens(batch) == {"status": "ok"}
    playing = Listen(track_name="On Air", artist_name="Comete", release_name="Live")
    assert client.submit_playing_now(playing) == {"status": "ok"}

    stored = {
        (int(e.listened_at.timestamp()), e.artist_name, e.track_name, e.album_name, e.source)
        for e in ListenEvent.objects.filter(user=alice)
    }
    assert stored == {
        (
            now - 3600,
            "Rick Astley",
            "Never Gonna Give You Up",
            "Whenever you need somebody",
            "submitted",
        ),
        *((now - 3000 + i, "Comete", f"Track {i}", "", ListenSource.SUBMITTED) for i in range(5)),
    }
    rick = ListenEvent.objects.get(artist_name="Rick Astley")
    assert rick.raw_payload["track_metadata"]["additional_info"]["tags"] == ["pop"]

    listens = client.get_listens("alice", count=3)
    assert [item.track_name for item in listens] == ["Track 4", "Track 3", "Track 2"]
    assert listens[0].listened_at == now - 2996
    older = client.get_listens("alice", max_ts=now - 3000)
    assert [(item.track_name, item.release_name) for item in older] == [
        ("Never Gonna Give You Up", "Whenever you need somebody")
    ]
    now_playing = client.get_playing_now("alice")
    assert (now_playing.track_name, now_playing.artist_name) == ("On Air", "Comete")
    assert client.remaining_requests is not None


def test_liblistenbrainz_token_check_and_refusals(live_server, alice):
    lb = ListenBrainz(api_base_url=live_server.url)
    token = create_submission_token(user=alice)[1]
    lb.set_auth_token(token)  # raises unless /1/validate-token says it is valid

    with pytest.raises(InvalidAuthTokenException):
        ListenBrainz(api_base_url=live_server.url).set_auth_token("0" * 40)
    stale = ListenBrainz(api_base_url=live_server.url)
    stale.set_auth_token("0" * 40, check_validity=False)
    with pytest.raises(ListenBrainzAPIException) as refused:
        stale.submit_single_listen(
            Listen(track_name="x", artist_name="y", listened_at=int(time.time()))
        )
    assert refused.value.status_code == 401
    assert ListenEvent.objects.count() == 0


def test_liblistenbrainz_reads_back_additional_info_and_counts_anonymously_once_public(
    client, live_server, alice
):
    now = int(time.time())
    sent = Listen(
        track_name="Every Step Every Way",
        artist_name="Majid Jordan",
        release_name="Majid Jordan",
        listened_at=now - 600,
        recording_mbid=RECORDING_MBID,
        artist_mbids=["abaa7001-0d80-4e58-be5d-d2d246fd9d87"],
        tracknumber="7",
        isrc="USUM71603358",
        spotify_id="https://open.spotify.com/track/1rrgWMXGCGHru5bIRxGFV0",
        tags=["r&b"],
        additional_info={
            "music_service": "spotify.com",
            "submission_client": "liblistenbrainz",
            "duration_ms": "222000",  # a numeric string: converted, as ListenBrainz does
            "player": {"name": "mpv", "version": "0.38"},
        },
    )
    assert client.submit_single_listen(sent) == {"status": "ok"}
    anonymous = ListenBrainz(api_base_url=live_server.url)
    with pytest.raises(ListenBrainzAPIException) as private:
        anonymous.get_listens("alice")
    assert private.value.status_code == 404  # as for a user who does not exist

    listen_profile_update(user=alice, listens_public=True)
    [back] = anonymous.get_listens("alice")

    assert (back.track_name, back.artist_name, back.release_name) == (
        "Every Step Every Way",
        "Majid Jordan",
        "Majid Jordan",
    )
    assert back.recording_mbid == RECORDING_MBID
    assert back.artist_mbids == ["abaa7001-0d80-4e58-be5d-d2d246fd9d87"]
    assert (back.tracknumber, back.isrc, back.tags) == ("7", "USUM71603358", ["r&b"])
    assert back.spotify_id == "https://open.spotify.com/track/1rrgWMXGCGHru5bIRxGFV0"
    assert back.additional_info["music_service"] == "spotify.com"
    assert back.additional_info["submission_client"] == "liblistenbrainz"
    assert back.additional_info["duration_ms"] == 222000
    assert back.additional_info["player.name"] == "mpv"
    assert back.additional_info["player.version"] == "0.38"
    assert back.recording_msid == back.additional_info["recording_msid"]
    assert anonymous.get_user_listen_count("alice") == 1
