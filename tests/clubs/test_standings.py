"""A nomination's standings as members see them through the API: which listens count
for the album, that curation counts at once, and what members are told about listens
still waiting for curation."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ListenSource
from metadata.matching import text_key_digest
from metadata.models import Recording
from metadata.services import merge_recordings
from tests.api.conftest import (
    client_for,
    make_account,
    make_listen,
    resolved_recording,
    unresolved_recording,
)
from tests.clubs.conftest import T0, make_club, nominate

pytestmark = pytest.mark.django_db


def standings_url(nomination) -> str:
    return f"/api/clubs/{nomination.club_id}/nominations/{nomination.pk}/"


def play(account, recording, at, **text):
    return make_listen(
        account, at=at, recording=recording, track=recording.title, artist="The Weeknights", **text
    )


def row(body, username):
    return next(r for r in body["standings"] if r["username"] == username)


def test_members_are_ranked_by_full_listens_then_share_heard(world, alice, bob, as_alice):
    club = make_club(alice, bob)
    nomination = nominate(club, world.studio)
    alice_fm, bob_fm = make_account(alice), make_account(bob)
    for n, song in enumerate(world.songs):  # the whole album in one evening
        play(alice_fm, song, T0 + timedelta(minutes=4 * n))
    for n, song in enumerate(world.songs[:3]):
        play(bob_fm, song, T0 + timedelta(days=1, minutes=4 * n))
    play(bob_fm, world.songs[0], T0 - timedelta(days=1))  # before the nomination

    body = as_alice.get(standings_url(nomination)).json()

    assert [(r["rank"], r["username"]) for r in body["standings"]] == [(1, "alice"), (2, "bob")]
    alice_row, bob_row = body["standings"]
    assert alice_row["full_listens"] == {
        "count": 1,
        "sessions": [
            {
                "started_at": "2024-05-01T20:00:00Z",
                "finished_at": "2024-05-01T20:32:00Z",  # the ninth track
            }
        ],
    }
    assert (alice_row["tracks_heard"], alice_row["share_heard"]) == (10, 1.0)
    assert (bob_row["tracks_heard"], bob_row["listen_count"]) == (3, 3)
    assert bob_row["first_listen"] == "2024-05-02T20:00:00Z"
    assert body["totals"] == {
        "members": 2,
        "members_started": 2,
        "members_finished": 1,
        "listens": 13,
        "full_listens": 1,
        "tracks_heard_by_anyone": 10,
        "share_heard_by_club": 1.0,
        "average_share_heard": 0.65,
        "unresolved_listens": 0,
    }
    assert [t["title"] for t in body["tracklist"]] == [f"Song {n}" for n in range(1, 11)]


def test_a_live_version_does_not_count_for_the_studio_album(world, alice, as_alice):
    nomination = nominate(make_club(alice), world.studio)
    account = make_account(alice)
    for n, live in enumerate(world.live_songs):
        play(account, live, T0 + timedelta(minutes=4 * n), album="Live at the Roxy")

    (alice_row,) = as_alice.get(standings_url(nomination)).json()["standings"]

    assert (alice_row["listen_count"], alice_row["tracks_heard"]) == (0, 0)
    assert alice_row["full_listens"]["count"] == 0


def test_a_compilation_carrying_the_studio_recording_counts_for_its_track(world, alice, as_alice):
    nomination = nominate(make_club(alice), world.studio)
    play(make_account(alice), world.songs[0], T0 + timedelta(hours=1), album="Greatest Hits")

    progress = as_alice.get(f"{standings_url(nomination)}members/alice/").json()

    assert progress["tracks"][0]["play_count"] == 1
    assert progress["tracks_heard"] == 1


def test_deluxe_bonus_tracks_are_listed_apart_and_count_for_the_deluxe_release(
    world, alice, as_alice
):
    nomination = nominate(make_club(alice), world.studio)
    account = make_account(alice)
    play(account, world.bonus[0], T0 + timedelta(hours=1))
    play(account, world.bonus[0], T0 + timedelta(hours=2))
    play(account, world.songs[1], T0 + timedelta(hours=3))

    progress = as_alice.get(f"{standings_url(nomination)}members/alice/").json()

    assert len(progress["tracks"]) == 10
    assert [(b["title"], b["play_count"]) for b in progress["bonus_tracks"]] == [
        ("Bonus 1", 2),
        ("Bonus 2", 0),
    ]
    assert progress["bonus_tracks"][0]["releases"] == [str(world.deluxe.mbid)]
    # The share is of the preferred release's tracklist; bonus plays are listens.
    assert (progress["tracks_heard"], progress["share_heard"]) == (1, 0.1)
    assert progress["listen_count"] == 3
    releases = {r["title"]: (r["tracks"], r["tracks_heard"]) for r in progress["releases"]}
    assert releases == {"Night Drive": (10, 1), "Night Drive (Deluxe)": (12, 2)}


def test_cross_source_duplicates_count_once(world, alice, as_alice):
    nomination = nominate(make_club(alice), world.studio)
    lastfm = make_account(alice, ListenSource.LASTFM)
    listenbrainz = make_account(alice, ListenSource.LISTENBRAINZ)
    first = play(lastfm, world.songs[0], T0 + timedelta(hours=1))
    make_listen(
        listenbrainz,
        at=T0 + timedelta(hours=1, seconds=20),
        recording=world.songs[0],
        track="Song 1",
        duplicate_of=first,
    )

    (alice_row,) = as_alice.get(standings_url(nomination)).json()["standings"]

    assert alice_row["listen_count"] == 1


def test_curated_listens_count_at_once_and_two_texts_of_one_track_count_once(
    world, alice, carol, as_alice, external_settings
):
    nomination = nominate(make_club(alice), world.studio)
    account = make_account(alice)
    # Two spellings of Song 3, unresolved, each its own recording row.
    for n, text in enumerate(("Song 3", "Song Three")):
        make_listen(
            account,
            at=T0 + timedelta(hours=1, minutes=n),
            track=text,
            artist="The Weeknights",
            album="Night Drive (Deluxe Edition)",
        )
    before = row(as_alice.get(standings_url(nomination)).json(), "alice")
    assert (before["listen_count"], before["unresolved"]["listens"]) == (0, 2)

    as_carol = client_for(carol)
    song = world.songs[2]
    lookup = {"id": str(song.mbid), "title": song.title, "artist-credit": []}
    with responses.RequestsMock() as mocked:
        mocked.get(f"{external_settings.MUSICBRAINZ_BASE_URL}recording/{song.mbid}", json=lookup)
        for text in ("Song 3", "Song Three"):
            # The curator ties each text to Song 3's MBID: the rows merge into Song 3's.
            response = as_carol.post(
                f"/api/unresolved/{unresolved_recording_for(text).pk}/resolve/",
                {"mbid": str(song.mbid)},
                format="json",
            )
            assert response.status_code == 200

    after = as_alice.get(f"{standings_url(nomination)}members/alice/").json()
    assert after["tracks"][2]["play_count"] == 2
    assert after["tracks_heard"] == 1  # one track, not two
    assert row(as_alice.get(standings_url(nomination)).json(), "alice")["unresolved"] == {
        "listens": 0,
        "admin_url": None,
    }


def unresolved_recording_for(text):
    return Recording.objects.get(
        mbid__isnull=True, text_key=text_key_digest("The Weeknights", text)
    )


def test_a_recording_mbid_merged_into_a_tracklist_recording_counts_once(world, alice, as_alice):
    nomination = nominate(make_club(alice), world.studio)
    account = make_account(alice)
    # MusicBrainz merged a duplicate recording of Song 4 into the tracklist's one.
    old = resolved_recording("Song 4", world.studio.artist_credit, length_ms=200_000)
    play(account, old, T0 + timedelta(hours=1))
    play(account, world.songs[3], T0 + timedelta(hours=2))
    before = as_alice.get(f"{standings_url(nomination)}members/alice/").json()
    assert before["tracks"][3]["play_count"] == 1

    merge_recordings(source=old, target=world.songs[3])

    after = as_alice.get(f"{standings_url(nomination)}members/alice/").json()
    assert after["tracks"][3]["play_count"] == 2
    assert (after["tracks_heard"], after["listen_count"]) == (1, 2)


def test_unresolved_listens_of_the_album_are_counted_with_a_link_to_curate_them(
    world, alice, bob, as_alice
):
    nomination = nominate(make_club(alice, bob), world.studio)
    account = make_account(bob)
    waiting = [
        ("Sng 4", "The Weeknights", "Night Drive"),
        ("Song 5 (2021 mix)", "the weeknights", "Night Drive [Deluxe Edition]"),
        ("Song 6", "Weeknights, The", "NIGHT DRIVE"),
    ]
    for n, (track, artist, album) in enumerate(waiting):
        make_listen(account, at=T0 + timedelta(hours=n), track=track, artist=artist, album=album)
    # Not this album: another artist's "Night Drive", another album, before the start.
    make_listen(account, at=T0 + timedelta(hours=5), track="X", artist="Other", album="Night Drive")
    make_listen(
        account, at=T0 + timedelta(hours=6), track="Y", artist="The Weeknights", album="Day"
    )
    make_listen(
        account, at=T0 - timedelta(hours=1), track="Z", artist="The Weeknights", album="Night Drive"
    )
    # Decided "not in MusicBrainz": nothing left to curate.
    done = unresolved_recording("The Weeknights", "Demo", status="not_in_musicbrainz")
    make_listen(
        account,
        at=T0 + timedelta(hours=7),
        recording=done,
        track="Demo",
        artist="The Weeknights",
        album="Night Drive",
    )

    body = as_alice.get(standings_url(nomination)).json()

    unresolved = row(body, "bob")["unresolved"]
    assert unresolved["listens"] == 3
    link = urlsplit(unresolved["admin_url"])
    assert link.path == "/admin/metadata/unresolvedrecording/"
    assert parse_qs(link.query) == {"album_name__icontains": ["Night Drive"]}
    assert row(body, "alice")["unresolved"] == {"listens": 0, "admin_url": None}
    assert body["totals"]["unresolved_listens"] == 3


def test_listens_after_the_nomination_ended_do_not_count(world, alice, as_alice):
    nomination = nominate(make_club(alice), world.studio, ends_at=T0 + timedelta(days=7))
    account = make_account(alice)
    play(account, world.songs[0], T0 + timedelta(days=6))
    play(account, world.songs[1], T0 + timedelta(days=8))

    body = as_alice.get(standings_url(nomination)).json()

    assert body["until"] == "2024-05-08T20:00:00Z"
    assert row(body, "alice")["listen_count"] == 1


def test_the_standings_cost_the_same_queries_for_two_members_and_for_twelve(
    world, alice, as_alice, django_user_model
):
    def queries_for(n_members: int) -> int:
        members = [
            django_user_model.objects.create_user(f"m{n_members}-{i}") for i in range(n_members)
        ]
        club = make_club(alice, *members, name=f"club of {n_members}")
        nomination = nominate(club, world.studio)
        for i, member in enumerate(members):
            account = make_account(member)
            play(account, world.songs[i % 10], T0 + timedelta(hours=i))
            make_listen(
                account,
                at=T0 + timedelta(hours=i, minutes=30),
                track="Sng",
                artist="The Weeknights",
                album="Night Drive",
            )
        with CaptureQueriesContext(connection) as captured:
            body = as_alice.get(standings_url(nomination)).json()
        assert len(body["standings"]) == n_members + 1
        assert body["totals"]["unresolved_listens"] == n_members
        return len(captured)

    assert queries_for(2) == queries_for(12)
