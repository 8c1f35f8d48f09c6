"""/api/unresolved/: the staff curation queue and resolving a recording by hand."""

from __future__ import annotations

import uuid

import pytest
import responses

from accounts.models import ListenSource
from listens.models import ListenEvent
from metadata.models import CurationDecision, Recording, RecordingAlias
from tests.api.conftest import make_account, make_listen, resolved_recording, unresolved_recording

pytestmark = pytest.mark.django_db

MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
BAND = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
MB = "https://mb.test/ws/2/"


@pytest.fixture
def lastfm(alice):
    return make_account(alice, ListenSource.LASTFM, "alice-fm")


def test_queue_lists_unresolved_recordings_most_listened_first(as_carol, lastfm, alice):
    listenbrainz = make_account(alice, ListenSource.LISTENBRAINZ, "alice-lb")
    rare = make_listen(lastfm, track="Rare", artist="Band", album="B-Sides").recording
    common = make_listen(lastfm, track="Common", artist="Band").recording
    first = make_listen(lastfm, track="Common", artist="Band")
    # A cross-source copy counts once.
    make_listen(listenbrainz, track="Common", artist="Band", duplicate_of=first)
    make_listen(lastfm, recording=resolved_recording("Resolved"))
    Recording.objects.filter(pk=rare.pk).update(last_error="no candidate with the same title")

    body = as_carol.get("/api/unresolved/").json()

    assert body["count"] == 2
    assert [(r["id"], r["listen_count"]) for r in body["results"]] == [(common.pk, 2), (rare.pk, 1)]
    assert body["results"][1] | {"id": 0} == {
        "id": 0,
        "title": "Rare",
        "artist_name": "Band",
        "album_name": "B-Sides",
        "status": "unresolved",
        "listen_count": 1,
        "every_album_listen_count": 1,
        "hint_mbid": None,
        "resolution_attempts": 0,
        "last_attempt_at": None,
        "next_attempt_at": None,
        "last_error": "no candidate with the same title",
    }


def mock_lookup(mocked, mbid: str = MBID, title: str = "Song", **kwargs) -> None:
    """MusicBrainz's answer to the curation's recording lookup."""
    body = {
        "id": mbid,
        "title": title,
        "length": 201000,
        "disambiguation": "",
        "artist-credit": [
            {"name": "Band", "joinphrase": "", "artist": {"id": BAND, "name": "Band"}}
        ],
    }
    mocked.get(MB + f"recording/{mbid}", json=body, **kwargs)


@pytest.fixture
def mocked(external_settings):
    external_settings.MBID_MAPPER_ENABLED = False
    with responses.RequestsMock() as mocked:
        yield mocked


def test_staff_resolve_goes_through_the_curation_service(as_carol, carol, lastfm, mocked):
    listens = [make_listen(lastfm, track="Song", artist="Band") for _ in range(3)]
    recording = listens[0].recording
    mock_lookup(mocked)

    response = as_carol.post(
        f"/api/unresolved/{recording.pk}/resolve/", {"mbid": MBID}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["mbid"] == MBID
    assert response.json()["status"] == "resolved"
    recording.refresh_from_db()
    assert str(recording.mbid) == MBID
    # MusicBrainz's title and length replace the reported text, as in the admin.
    assert (recording.title, recording.length_ms) == ("Song", 201000)
    assert ListenEvent.objects.filter(recording__mbid=MBID).count() == 3
    alias = RecordingAlias.objects.get(recording=recording)
    assert (alias.decided_by, alias.curator_id) == ("curator", carol.pk)
    decision = CurationDecision.objects.get()
    assert (decision.action, decision.curator_id, decision.listen_count) == (
        "assign",
        carol.pk,
        3,
    )
    # It left the queue.
    assert as_carol.get("/api/unresolved/").json()["count"] == 0


def test_staff_resolve_follows_a_merged_mbid(as_carol, lastfm, mocked):
    recording = make_listen(lastfm, track="Song", artist="Band").recording
    canonical = "0f3ba5a5-1111-4b7c-9f06-3b40b8b1a3c1"
    # A merged MBID answers with the canonical recording.
    body = {"id": canonical, "title": "Song", "artist-credit": []}
    mocked.get(MB + f"recording/{MBID}", json=body)

    response = as_carol.post(
        f"/api/unresolved/{recording.pk}/resolve/", {"mbid": MBID}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["mbid"] == canonical


def test_staff_resolve_scopes_this_album_or_every_album(as_carol, lastfm, mocked):
    on_album = make_listen(lastfm, track="Polly", artist="Band", album="Nevermind").recording
    make_listen(lastfm, track="Polly", artist="Band", album="Nevermind")
    elsewhere = make_listen(lastfm, track="Polly", artist="Band", album="Unplugged").recording
    queue = {r["id"]: r for r in as_carol.get("/api/unresolved/").json()["results"]}
    assert (queue[on_album.pk]["listen_count"], queue[on_album.pk]["every_album_listen_count"]) == (
        2,
        3,
    )
    mock_lookup(mocked, title="Polly")

    response = as_carol.post(
        f"/api/unresolved/{on_album.pk}/resolve/", {"mbid": MBID}, format="json"
    )

    assert response.status_code == 200
    assert ListenEvent.objects.filter(recording__mbid=MBID).count() == 2
    assert Recording.objects.filter(pk=elsewhere.pk, mbid__isnull=True).exists()

    response = as_carol.post(
        f"/api/unresolved/{elsewhere.pk}/resolve/",
        {"mbid": MBID, "scope": "text"},
        format="json",
    )
    assert response.status_code == 200
    assert ListenEvent.objects.filter(recording__mbid=MBID).count() == 3


def test_staff_resolve_of_an_mbid_musicbrainz_lacks_is_a_400(as_carol, lastfm, mocked):
    recording = make_listen(lastfm, track="Song", artist="Band").recording
    mocked.get(MB + f"recording/{MBID}", status=404, json={"error": "Not Found"})

    response = as_carol.post(
        f"/api/unresolved/{recording.pk}/resolve/", {"mbid": MBID}, format="json"
    )

    assert response.status_code == 400
    assert "MusicBrainz has no recording" in str(response.json()["error"]["detail"])
    assert Recording.objects.filter(pk=recording.pk, mbid__isnull=True).exists()


def test_staff_resolve_merges_into_a_stored_recording(as_carol, lastfm, mocked):
    stored = resolved_recording("Song", mbid=uuid.UUID(MBID))
    known = make_listen(lastfm, recording=stored)
    unknown = make_listen(lastfm, track="Song (typo)", artist="Band")
    orphan = unknown.recording
    mock_lookup(mocked)

    response = as_carol.post(f"/api/unresolved/{orphan.pk}/resolve/", {"mbid": MBID}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == stored.pk
    assert not Recording.objects.filter(pk=orphan.pk).exists()
    assert set(ListenEvent.objects.filter(recording=stored).values_list("pk", flat=True)) == {
        known.pk,
        unknown.pk,
    }


def test_resolving_an_already_resolved_recording_is_a_404(as_carol):
    stored = resolved_recording("Song")
    response = as_carol.post(f"/api/unresolved/{stored.pk}/resolve/", {"mbid": MBID}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_resolve_needs_a_valid_mbid(as_carol):
    recording = unresolved_recording("Band", "Song")
    response = as_carol.post(
        f"/api/unresolved/{recording.pk}/resolve/", {"mbid": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "mbid" in response.json()["error"]["detail"]
