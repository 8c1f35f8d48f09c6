"""The clubs API: who sees what, membership, nominating (with MusicBrainz import),
album progress and comparing two members."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses

from clubs.models import Club, Membership, Nomination
from metadata.models import Release
from tests.api.conftest import make_account, make_artist, make_credit, make_listen
from tests.api.test_metadata import (
    HEXNDEIFL_RELEASE,
    HEXNDEIFL_RG,
    built,
    mb,
    serve_album_search,
    serve_hexndeifl,
)
from tests.clubs.conftest import T0, make_club, make_group, make_release, nominate

pytestmark = pytest.mark.django_db


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:
        yield rsps


def test_creating_a_club_makes_you_its_owner_and_first_member(as_alice):
    response = as_alice.post("/api/clubs/", {"name": "Sunday Album Club"}, format="json")

    assert response.status_code == 201
    club_id = response.json()["id"]
    detail = as_alice.get(f"/api/clubs/{club_id}/").json()
    assert (detail["name"], detail["owner"]) == ("Sunday Album Club", "alice")
    assert [m["username"] for m in detail["members"]] == ["alice"]
    assert as_alice.get("/api/clubs/").json()["results"][0]["id"] == club_id


def test_a_blank_club_name_is_refused(as_alice):
    response = as_alice.post("/api/clubs/", {"name": "  "}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["detail"]


def test_outsiders_see_nothing_of_a_club(world, alice, bob, as_bob):
    club = make_club(alice)
    nomination = nominate(club, world.studio)
    base = f"/api/clubs/{club.pk}/"

    assert as_bob.get("/api/clubs/").json()["results"] == []
    for url in (
        base,
        base + "nominations/",
        base + f"nominations/{nomination.pk}/",
        base + f"nominations/{nomination.pk}/members/alice/",
        base + "compare/?user=alice",
    ):
        response = as_bob.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    assert as_bob.post(base + "invitations/", {}, format="json").status_code == 404
    assert as_bob.delete(base).status_code == 404
    assert (
        as_bob.post(
            base + "nominations/", {"release_group_mbid": str(world.studio.mbid)}, format="json"
        ).status_code
        == 404
    )
    assert Club.objects.filter(pk=club.pk).exists()
    assert not Membership.objects.filter(club=club, user=bob).exists()


def test_malformed_and_huge_ids_are_a_json_404(as_alice):
    for url in (
        "/api/clubs/abc/",
        "/api/clubs/99999999999999999999999/",
        "/api/clubs/1/nominations/x/",
    ):
        response = as_alice.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_the_owner_removes_members_and_members_may_leave(alice, bob, carol, as_alice, as_bob):
    club = make_club(alice, bob, carol)

    # A member may not remove others, nor the owner; they may leave.
    assert as_bob.delete(f"/api/clubs/{club.pk}/members/carol/").status_code == 403
    assert as_bob.delete(f"/api/clubs/{club.pk}/members/alice/").status_code == 403
    assert as_bob.delete(f"/api/clubs/{club.pk}/members/bob/").status_code == 204
    assert as_bob.get(f"/api/clubs/{club.pk}/").status_code == 404
    assert as_alice.delete(f"/api/clubs/{club.pk}/members/carol/").status_code == 204
    members = as_alice.get(f"/api/clubs/{club.pk}/members/").json()
    assert [m["username"] for m in members] == ["alice"]
    owner_leaves = as_alice.delete(f"/api/clubs/{club.pk}/members/alice/")
    assert owner_leaves.status_code == 400
    assert owner_leaves.json()["error"]["code"] == "owner_cannot_leave"


def test_only_the_owner_renames_or_deletes_the_club(alice, bob, as_alice, as_bob):
    club = make_club(alice, bob)

    assert (
        as_bob.patch(f"/api/clubs/{club.pk}/", {"name": "Mine"}, format="json").status_code == 403
    )
    assert as_bob.delete(f"/api/clubs/{club.pk}/").status_code == 403
    renamed = as_alice.patch(f"/api/clubs/{club.pk}/", {"name": "Mine"}, format="json")
    assert renamed.json()["name"] == "Mine"
    assert as_alice.delete(f"/api/clubs/{club.pk}/").status_code == 204
    assert not Club.objects.exists()


def test_nominating_a_stored_album_by_mbid_needs_no_musicbrainz(world, alice, bob, as_bob, mocked):
    club = make_club(alice, bob)

    response = as_bob.post(
        f"/api/clubs/{club.pk}/nominations/",
        {
            "release_group_mbid": str(world.studio.mbid),
            "starts_at": "2024-05-01T20:00:00Z",
            "ends_at": "2024-05-08T20:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["release_group"]["title"] == "Night Drive"
    assert (body["nominated_by"], body["starts_at"], body["ends_at"]) == (
        "bob",
        "2024-05-01T20:00:00Z",
        "2024-05-08T20:00:00Z",
    )
    assert len(mocked.calls) == 0
    listed = as_bob.get(f"/api/clubs/{club.pk}/nominations/").json()
    assert [n["id"] for n in listed] == [body["id"]]


def test_a_nomination_must_end_after_it_starts(world, alice, as_alice):
    club = make_club(alice)
    response = as_alice.post(
        f"/api/clubs/{club.pk}/nominations/",
        {
            "release_group_mbid": str(world.studio.mbid),
            "starts_at": "2024-05-08T00:00:00Z",
            "ends_at": "2024-05-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_period"
    assert not Nomination.objects.exists()


def test_nominating_by_artist_and_title_imports_every_edition(alice, as_alice, mocked):
    club = make_club(alice)
    serve_album_search(
        mocked,
        mb("release-group_search__hexndeifl_1_result"),
        artist="Gråinheim",
        title="Hexndeifl",
    )
    serve_hexndeifl(mocked)

    response = as_alice.post(
        f"/api/clubs/{club.pk}/nominations/",
        {"artist": "Gråinheim", "title": "Hexndeifl"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["release_group"]["mbid"] == HEXNDEIFL_RG
    # Every edition's tracklist is stored, so other editions' bonus tracks can be listed.
    assert not Release.objects.filter(tracklist_fetched_at__isnull=True).exists()
    progress = as_alice.get(f"/api/clubs/album-progress/{HEXNDEIFL_RG}/").json()
    assert len(progress["tracks"]) == 6
    assert len(progress["bonus_tracks"]) == 7  # the other edition's tracks
    assert all(HEXNDEIFL_RELEASE not in b["releases"] for b in progress["bonus_tracks"])


def test_an_ambiguous_album_returns_the_candidates_to_pick_from(alice, as_alice, mocked):
    club = make_club(alice)
    serve_album_search(
        mocked, built("release-group_search__weezer_self_titled"), artist="Weezer", title="Weezer"
    )

    response = as_alice.post(
        f"/api/clubs/{club.pk}/nominations/", {"artist": "Weezer", "title": "Weezer"}, format="json"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "album_choice_needed"
    assert error["detail"]["confident"] is False
    assert len(error["detail"]["candidates"]) == 3
    assert not Nomination.objects.exists()


def test_nominating_needs_an_mbid_or_artist_and_title(alice, as_alice):
    club = make_club(alice)
    response = as_alice.post(f"/api/clubs/{club.pk}/nominations/", {"artist": "X"}, format="json")
    assert response.status_code == 400


def test_musicbrainz_down_while_nominating_is_a_503(alice, as_alice, mocked):
    club = make_club(alice)
    serve_album_search(mocked, {"error": "busy"}, artist="Weezer", title="Weezer", status=503)

    response = as_alice.post(
        f"/api/clubs/{club.pk}/nominations/", {"artist": "Weezer", "title": "Weezer"}, format="json"
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable"


def test_the_nominating_member_or_the_owner_withdraws_a_nomination(
    world, alice, bob, carol, as_bob
):
    club = make_club(alice, bob, carol)
    mine = Nomination.objects.create(
        club=club, release_group=world.studio, nominated_by=bob, starts_at=T0
    )
    theirs = Nomination.objects.create(
        club=club, release_group=world.studio, nominated_by=carol, starts_at=T0
    )

    assert as_bob.delete(f"/api/clubs/{club.pk}/nominations/{theirs.pk}/").status_code == 403
    assert as_bob.delete(f"/api/clubs/{club.pk}/nominations/{mine.pk}/").status_code == 204
    assert list(Nomination.objects.all()) == [theirs]


def test_album_progress_is_your_own_over_the_period_asked(world, alice, bob, as_alice):
    alice_fm, bob_fm = make_account(alice), make_account(bob)
    make_listen(alice_fm, at=T0, recording=world.songs[0], track="Song 1")
    make_listen(alice_fm, at=T0 + timedelta(days=30), recording=world.songs[1], track="Song 2")
    make_listen(bob_fm, at=T0, recording=world.songs[2], track="Song 3")
    url = f"/api/clubs/album-progress/{world.studio.mbid}/"

    everything = as_alice.get(url).json()
    recent = as_alice.get(url, {"since": "2024-05-15T00:00:00Z"}).json()

    assert [t["play_count"] for t in everything["tracks"][:3]] == [1, 1, 0]
    assert everything["first_listen"] == "2024-05-01T20:00:00Z"
    assert (everything["album_length_ms"], everything["full_listen_window_ms"]) == (
        2_000_000,
        3_000_000,
    )
    assert everything["full_listen_tracks_needed"] == 9
    assert [t["play_count"] for t in recent["tracks"][:3]] == [0, 1, 0]
    assert as_alice.get("/api/clubs/album-progress/not-an-mbid/").status_code == 404
    assert as_alice.get(url, {"since": "yesterday"}).status_code == 400


def test_comparing_two_members_shows_shared_artists_and_albums_with_a_score(
    world, alice, bob, as_alice
):
    club = make_club(alice, bob)
    other_credit = make_credit("Solo Act", make_artist("Solo Act"))
    solo = make_group("Alone", other_credit)
    from tests.api.conftest import resolved_recording

    solo_song = resolved_recording("Alone", other_credit)
    make_release(solo, "Alone", [solo_song])
    alice_fm, bob_fm = make_account(alice), make_account(bob)
    for n in range(3):
        make_listen(alice_fm, at=T0 + timedelta(minutes=n), recording=world.songs[n], track="s")
    make_listen(alice_fm, at=T0 + timedelta(hours=1), recording=solo_song, track="Alone")
    make_listen(bob_fm, at=T0, recording=world.songs[0], track="Song 1")
    make_listen(bob_fm, at=T0 + timedelta(hours=2), recording=world.live_songs[0], track="Song 1")

    response = as_alice.get(f"/api/clubs/{club.pk}/compare/", {"user": "bob"})

    assert response.status_code == 200
    body = response.json()
    assert (body["user_a"], body["user_b"], body["listens_a"], body["listens_b"]) == (
        "alice",
        "bob",
        4,
        2,
    )
    # Both listen to The Weeknights only ...
    (artist,) = body["artists"]["shared"]
    assert (artist["name"], artist["listens_a"], artist["listens_b"]) == ("The Weeknights", 3, 2)
    assert body["artists"]["score"] == 0.75  # min(3/4, 2/2)
    # ... and share one album: Night Drive (and the compilation carrying Song 1).
    shared_groups = {
        g["name"]: (g["listens_a"], g["listens_b"]) for g in body["release_groups"]["shared"]
    }
    assert shared_groups == {"Night Drive": (3, 1), "Greatest Hits": (1, 1)}
    assert body["score"] == round((0.75 + body["release_groups"]["score"]) / 2, 4)
    assert as_alice.get(f"/api/clubs/{club.pk}/compare/", {"user": "zed"}).status_code == 404


def test_the_schema_describes_the_club_endpoints(as_alice):
    paths = as_alice.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()[
        "paths"
    ]
    for path in (
        "/api/clubs/",
        "/api/clubs/{club_id}/",
        "/api/clubs/{club_id}/members/",
        "/api/clubs/{club_id}/invitations/",
        "/api/invitations/",
        "/api/invitations/accept/",
        "/api/clubs/{club_id}/nominations/{nomination_id}/",
        "/api/clubs/{club_id}/nominations/{nomination_id}/members/{username}/",
        "/api/clubs/{club_id}/compare/",
        "/api/clubs/album-progress/{mbid}/",
    ):
        assert path in paths
    nominate_responses = paths["/api/clubs/{club_id}/nominations/"]["post"]["responses"]
    assert {"201", "409", "503"} <= set(nominate_responses)
