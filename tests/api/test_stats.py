"""/api/stats/: top artists, albums and recordings from stored listens, and taste charts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from accounts.models import ListenSource
from listens.models import TasteSnapshot
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


def results(client, kind: str, **params) -> list[dict]:
    response = client.get(f"/api/stats/{kind}/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_listen_on_both_sources_counts_once(as_alice, lastfm, listenbrainz):
    recording = resolved_recording("Teardrop", make_credit("Massive Attack", make_artist("MA")))
    original = make_listen(
        lastfm,
        at=T0,
        track="Teardrop",
        artist="Massive Attack",
        album="Mezzanine",
        recording=recording,
    )
    make_listen(
        listenbrainz,
        at=T0 + timedelta(seconds=3),
        track="Teardrop",
        artist="Massive Attack",
        album="Mezzanine",
        recording=recording,
        duplicate_of=original,
    )
    make_listen(
        lastfm,
        at=T0 + timedelta(minutes=5),
        track="Teardrop",
        artist="Massive Attack",
        album="Mezzanine",
        recording=recording,
    )

    assert results(as_alice, "top-artists") == [{"name": "Massive Attack", "listen_count": 2}]
    assert results(as_alice, "top-albums") == [
        {"album_name": "Mezzanine", "artist_name": "Massive Attack", "listen_count": 2}
    ]
    assert results(as_alice, "top-recordings") == [
        {
            "recording_id": recording.pk,
            "mbid": str(recording.mbid),
            "title": "Teardrop",
            "artist_name": "Massive Attack",
            "status": "resolved",
            "listen_count": 2,
        }
    ]


def test_artists_group_by_musicbrainz_credit_then_by_listen_text(as_alice, lastfm):
    credit = make_credit("Björk", make_artist("Björk"))
    # Two spellings of one artist, resolved to one credit, count together.
    make_listen(lastfm, track="Joga", artist="Bjork", recording=resolved_recording("Jóga", credit))
    make_listen(
        lastfm,
        track="Hyperballad",
        artist="Björk",
        recording=resolved_recording("Hyperballad", credit),
    )
    make_listen(lastfm, track="Demo 1", artist="Garage Band")
    make_listen(lastfm, track="Demo 2", artist="Garage Band")
    make_listen(lastfm, track="Demo 3", artist="Garage Band")

    assert results(as_alice, "top-artists") == [
        {"name": "Garage Band", "listen_count": 3},
        {"name": "Björk", "listen_count": 2},
    ]


def test_albums_group_by_album_and_artist_text(as_alice, lastfm):
    make_listen(lastfm, track="A", artist="Weezer", album="Weezer")
    make_listen(lastfm, track="B", artist="Weezer", album="Weezer")
    make_listen(lastfm, track="C", artist="Someone Else", album="Weezer")
    make_listen(lastfm, track="D", artist="Weezer", album="")

    assert results(as_alice, "top-albums") == [
        {"album_name": "Weezer", "artist_name": "Weezer", "listen_count": 2},
        {"album_name": "Weezer", "artist_name": "Someone Else", "listen_count": 1},
    ]


def test_recordings_include_unresolved_ones_without_mbid(as_alice, lastfm):
    listen = make_listen(lastfm, track="Demo", artist="Garage Band")
    make_listen(lastfm, track="Demo", artist="Garage Band")

    assert results(as_alice, "top-recordings") == [
        {
            "recording_id": listen.recording_id,
            "mbid": None,
            "title": "Demo",
            "artist_name": "Garage Band",
            "status": "unresolved",
            "listen_count": 2,
        }
    ]


def test_since_until_and_limit(as_alice, lastfm):
    make_listen(lastfm, at=T0 - timedelta(days=1), artist="Before")
    for n in range(3):
        make_listen(lastfm, at=T0 + timedelta(minutes=n), track=f"t{n}", artist="Inside")
    make_listen(lastfm, at=T0 + timedelta(hours=1), artist="Second")
    make_listen(lastfm, at=T0 + timedelta(days=1), artist="After")
    window = {"since": T0.isoformat(), "until": (T0 + timedelta(days=1)).isoformat()}

    assert results(as_alice, "top-artists", **window) == [
        {"name": "Inside", "listen_count": 3},
        {"name": "Second", "listen_count": 1},
    ]
    assert results(as_alice, "top-artists", limit=1, **window) == [
        {"name": "Inside", "listen_count": 3}
    ]


def test_limit_out_of_range_is_a_400(as_alice):
    response = as_alice.get("/api/stats/top-artists/", {"limit": 0})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["detail"]


def test_taste_returns_the_latest_snapshot_per_kind_and_period(as_alice, lastfm, listenbrainz):
    with time_machine.travel(T0, tick=False):
        TasteSnapshot.objects.create(account=lastfm, kind="artists", period="overall", items=[])
    with time_machine.travel(T0 + timedelta(days=7), tick=False):
        latest = TasteSnapshot.objects.create(
            account=lastfm,
            kind="artists",
            period="overall",
            items=[{"rank": 1, "name": "Weezer", "mbid": None, "playcount": 42}],
        )
        albums = TasteSnapshot.objects.create(
            account=lastfm,
            kind="albums",
            period="7day",
            items=[
                {
                    "rank": 1,
                    "name": "Pinkerton",
                    "artist_name": "Weezer",
                    "mbid": None,
                    "playcount": 9,
                }
            ],
        )

    snapshots = as_alice.get("/api/stats/taste/").json()

    assert [(s["id"], s["kind"], s["period"]) for s in snapshots] == [
        (albums.pk, "albums", "7day"),
        (latest.pk, "artists", "overall"),
    ]
    assert snapshots[1]["items"] == [{"rank": 1, "name": "Weezer", "mbid": None, "playcount": 42}]
    assert snapshots[1]["external_username"] == "alice-fm"
    assert snapshots[0]["items"][0]["artist_name"] == "Weezer"


def test_top_artists_and_recordings_equal_a_recount_of_every_listen(
    as_alice, alice, bob, lastfm, listenbrainz
):
    """The stats count in the database, per recording first; this recounts listen by
    listen in Python: credits, texts of uncredited recordings, duplicates, the
    window, another user's listens and ties all included."""
    import random
    from collections import Counter

    from listens.models import ListenEvent

    rng = random.Random(12)
    credits = [make_credit(f"Band {n}", make_artist(f"Band {n}")) for n in range(3)]
    recordings = [resolved_recording(f"Song {n}", credits[n % 3]) for n in range(6)]
    recordings.append(resolved_recording("Uncredited", None, artist_name="Solo"))
    bobs = make_account(bob, ListenSource.LASTFM, "bob-fm")
    stored = []
    for n in range(120):
        account = bobs if n % 10 == 0 else lastfm
        if rng.random() < 0.3:  # unresolved: one recording per text, as ingest keeps them
            artist = rng.choice(["Garage Band", "garage band", "Band 1"])
            listen = make_listen(account, at=T0 + timedelta(minutes=n), artist=artist, track="Demo")
        else:
            listen = make_listen(
                account,
                at=T0 + timedelta(minutes=n),
                artist=rng.choice(["Band 0", "band 0", "Solo"]),
                recording=rng.choice(recordings),
            )
        stored.append(listen)
        if account == lastfm and rng.random() < 0.2:  # the same listen, scrobbled twice
            make_listen(
                listenbrainz,
                at=listen.listened_at,
                duplicate_of=listen,
                recording=listen.recording,
                artist=listen.artist_name,
            )
    window = {"since": (T0 + timedelta(minutes=30)).isoformat(), "limit": 100}

    counted = [
        listen
        for listen in ListenEvent.objects.select_related("recording__artist_credit")
        if listen.user_id == alice.pk
        and listen.duplicate_of_id is None
        and listen.listened_at >= T0 + timedelta(minutes=30)
    ]
    by_artist = Counter(
        (listen.recording.artist_credit.name if listen.recording.artist_credit else None)
        or listen.artist_name
        for listen in counted
    )
    by_recording = Counter(listen.recording for listen in counted)

    assert results(as_alice, "top-artists", **window) == [
        {"name": name, "listen_count": count}
        for name, count in sorted(by_artist.items(), key=lambda item: (-item[1], item[0]))
    ]
    assert [
        (row["recording_id"], row["listen_count"])
        for row in results(as_alice, "top-recordings", **window)
    ] == [
        (recording.pk, count)
        for recording, count in sorted(
            by_recording.items(), key=lambda item: (-item[1], item[0].title, item[0].pk)
        )
    ]
