"""/api/listens/: shape, each filter, duplicates and cursor pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import ListenSource
from listens.models import ListenEvent
from metadata.models import Release, ReleaseGroup, Track
from tests.api.conftest import (
    T0,
    make_account,
    make_artist,
    make_credit,
    make_listen,
    resolved_recording,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lastfm(alice):
    return make_account(alice, ListenSource.LASTFM, "alice-fm")


@pytest.fixture
def listenbrainz(alice):
    return make_account(alice, ListenSource.LISTENBRAINZ, "alice-lb")


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_a_listen_shows_its_text_and_recording(as_alice, lastfm):
    credit = make_credit("Portishead", make_artist("Portishead"))
    recording = resolved_recording("Roads", credit, length_ms=305000)
    listen = make_listen(
        lastfm, at=T0, track="Roads", artist="Portishead", album="Dummy", recording=recording
    )

    [item] = as_alice.get("/api/listens/").json()["results"]

    assert item == {
        "id": listen.pk,
        "listened_at": "2024-03-01T12:00:00Z",
        "source": "lastfm",
        "account": lastfm.pk,
        "user": "alice",
        "track_name": "Roads",
        "artist_name": "Portishead",
        "album_name": "Dummy",
        "recording": {
            "id": recording.pk,
            "mbid": str(recording.mbid),
            "title": "Roads",
            "artist_credit": "Portishead",
            "status": "resolved",
        },
        "duplicate_of": None,
    }


def test_an_unresolved_listen_has_a_recording_without_mbid(as_alice, lastfm):
    make_listen(lastfm, track="Demo", artist="Garage Band")

    [item] = as_alice.get("/api/listens/").json()["results"]

    assert item["recording"]["mbid"] is None
    assert item["recording"]["status"] == "unresolved"
    assert item["recording"]["artist_credit"] == "Garage Band"


def test_since_is_inclusive(as_alice, lastfm):
    make_listen(lastfm, at=T0 - timedelta(seconds=1))
    at_start = make_listen(lastfm, at=T0)
    later = make_listen(lastfm, at=T0 + timedelta(hours=1))

    assert ids(as_alice.get("/api/listens/", {"since": T0.isoformat()})) == [later.pk, at_start.pk]


def test_until_is_exclusive(as_alice, lastfm):
    before = make_listen(lastfm, at=T0 - timedelta(seconds=1))
    make_listen(lastfm, at=T0)

    assert ids(as_alice.get("/api/listens/", {"until": "2024-03-01T12:00:00Z"})) == [before.pk]


def test_source_filter(as_alice, lastfm, listenbrainz):
    make_listen(lastfm, track="A")
    from_lb = make_listen(listenbrainz, track="B")

    assert ids(as_alice.get("/api/listens/", {"source": "listenbrainz"})) == [from_lb.pk]


def test_resolved_filter(as_alice, lastfm):
    resolved = make_listen(lastfm, recording=resolved_recording("Known"))
    unresolved = make_listen(lastfm, track="Unknown")

    assert ids(as_alice.get("/api/listens/", {"resolved": "true"})) == [resolved.pk]
    assert ids(as_alice.get("/api/listens/", {"resolved": "false"})) == [unresolved.pk]


def test_artist_filter_lists_a_listen_once_even_when_credited_twice(as_alice, lastfm):
    artist = make_artist("Daft Punk")
    # The same artist twice in one credit: a join would list each listen twice.
    twice = make_credit("Daft Punk & Daft Punk", artist, artist)
    theirs = make_listen(lastfm, recording=resolved_recording("One More Time", twice))
    make_listen(lastfm, recording=resolved_recording("Other", make_credit("X", make_artist("X"))))
    make_listen(lastfm, track="Unresolved", artist="Daft Punk")

    assert ids(as_alice.get("/api/listens/", {"artist_mbid": str(artist.mbid)})) == [theirs.pk]


def test_release_group_filter_lists_a_listen_once_even_on_several_tracks(as_alice, lastfm):
    group = ReleaseGroup.objects.create(mbid="11111111-1111-4111-8111-111111111111", title="LP")
    release = Release.objects.create(
        mbid="22222222-2222-4222-8222-222222222222", release_group=group, title="LP"
    )
    on_it = resolved_recording("Intro")
    # One recording on two tracks of the group (e.g. a reprise): still one listen.
    for position in (1, 9):
        Track.objects.create(
            release=release, recording=on_it, medium_position=1, position=position, title="Intro"
        )
    listen = make_listen(lastfm, recording=on_it)
    make_listen(lastfm, recording=resolved_recording("Elsewhere"))

    response = as_alice.get("/api/listens/", {"release_group_mbid": str(group.mbid)})

    assert ids(response) == [listen.pk]


def test_recording_filter(as_alice, lastfm):
    recording = resolved_recording("Wanted")
    wanted = make_listen(lastfm, recording=recording)
    make_listen(lastfm, recording=resolved_recording("Other"))

    assert ids(as_alice.get("/api/listens/", {"recording_mbid": str(recording.mbid)})) == [
        wanted.pk
    ]


def test_cross_source_duplicates_are_left_out_by_default(as_alice, lastfm, listenbrainz):
    original = make_listen(lastfm, at=T0, track="Twice")
    copy = make_listen(
        listenbrainz, at=T0 + timedelta(seconds=5), track="Twice", duplicate_of=original
    )

    default = as_alice.get("/api/listens/")
    everything = as_alice.get("/api/listens/", {"include_duplicates": "true"})

    assert ids(default) == [original.pk]
    assert ids(everything) == [copy.pk, original.pk]
    assert everything.json()["results"][0]["duplicate_of"] == original.pk
    # The copy keeps its own URL.
    assert as_alice.get(f"/api/listens/{copy.pk}/").json()["duplicate_of"] == original.pk


def test_user_filter_for_staff(as_carol, alice, bob):
    alices = make_listen(make_account(alice))
    make_listen(make_account(bob))

    assert ids(as_carol.get("/api/listens/", {"user": "alice"})) == [alices.pk]


def test_invalid_filter_value_is_a_400_with_field_errors(as_alice):
    response = as_alice.get("/api/listens/", {"since": "yesterday", "artist_mbid": "nope"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["detail"]) == {"since", "artist_mbid"}


def test_cursor_pagination_walks_every_listen_once_in_order(as_alice, lastfm, listenbrainz):
    listens = []
    for minute in range(11):
        # Pairs sharing one second across accounts: ties are broken by id.
        at = T0 + timedelta(minutes=minute)
        listens.append(make_listen(lastfm, at=at, track=f"fm {minute}"))
        listens.append(make_listen(listenbrainz, at=at, track=f"lb {minute}"))
    expected = [
        listen.pk for listen in sorted(listens, key=lambda x: (x.listened_at, x.pk), reverse=True)
    ]

    seen, pages, url = [], 0, "/api/listens/?page_size=4"
    while url:
        body = as_alice.get(url).json()
        seen.extend(item["id"] for item in body["results"])
        pages += 1
        url = body["next"]

    assert seen == expected
    assert pages == 6
    assert len(set(seen)) == len(seen) == 22


def test_page_size_is_capped_at_1000(as_alice, lastfm):
    recording = resolved_recording("Loop")
    ListenEvent.objects.bulk_create(
        ListenEvent(
            user_id=lastfm.user_id,
            account=lastfm,
            source=lastfm.source,
            listened_at=T0 + timedelta(seconds=n),
            recording=recording,
            track_name="Loop",
            artist_name="Loop",
            track_key="loop",
        )
        for n in range(1001)
    )

    body = as_alice.get("/api/listens/", {"page_size": 5000}).json()

    assert len(body["results"]) == 1000
    assert body["next"] is not None
