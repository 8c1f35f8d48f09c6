"""/api/unresolved/: the staff curation queue and resolving a recording by hand."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import ListenSource
from listens.models import ListenEvent
from metadata.models import Recording, RecordingAlias
from tests.api.conftest import make_account, make_listen, resolved_recording, unresolved_recording

pytestmark = pytest.mark.django_db

MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"


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
        "album_name": "",
        "status": "unresolved",
        "listen_count": 1,
        "hint_mbid": None,
        "resolution_attempts": 0,
        "last_attempt_at": None,
        "next_attempt_at": None,
        "last_error": "no candidate with the same title",
    }


def test_staff_resolve_points_every_listen_at_the_mbid(as_carol, carol, lastfm):
    listens = [make_listen(lastfm, track="Song", artist="Band") for _ in range(3)]
    recording = listens[0].recording

    response = as_carol.post(
        f"/api/unresolved/{recording.pk}/resolve/", {"mbid": MBID}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["mbid"] == MBID
    assert response.json()["status"] == "resolved"
    recording.refresh_from_db()
    assert str(recording.mbid) == MBID
    assert ListenEvent.objects.filter(recording__mbid=MBID).count() == 3
    alias = RecordingAlias.objects.get(recording=recording)
    assert (alias.decided_by, alias.curator_id) == ("curator", carol.pk)
    # It left the queue.
    assert as_carol.get("/api/unresolved/").json()["count"] == 0


def test_staff_resolve_merges_into_a_stored_recording(as_carol, lastfm):
    stored = resolved_recording("Song", mbid=uuid.UUID(MBID))
    known = make_listen(lastfm, recording=stored)
    unknown = make_listen(lastfm, track="Song (typo)", artist="Band")
    orphan = unknown.recording

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
