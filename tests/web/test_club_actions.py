"""Nominating an album and leaving a club from the club page: the same services and
search the clubs API uses, MusicBrainz served by `responses`."""

from __future__ import annotations

import pytest
import responses

from clubs.models import Membership, Nomination
from tests.api.test_metadata import (
    HEXNDEIFL_RG,
    built,
    mb,
    serve_album_search,
    serve_hexndeifl,
)
from tests.web.conftest import make_club, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:
        yield rsps


def test_a_member_searches_sees_why_candidates_ranked_picks_one_and_it_is_nominated(
    web_bob, alice, bob, mocked, as_bob
):
    club = make_club(alice, bob)
    serve_album_search(
        mocked,
        mb("release-group_search__hexndeifl_1_result"),
        artist="Gråinheim",
        title="Hexndeifl",
    )
    found = web_bob.get(
        f"/clubs/{club.pk}/nominate/", {"artist": "Gråinheim", "title": "Hexndeifl"}
    )
    text = found.content.decode()
    assert found.status_code == 200
    assert "The first is a sure match (single exact title and artist match)" in text
    assert f'data-candidate="{HEXNDEIFL_RG}"' in text
    assert "Why here: artist matches, exact title, studio album" in text
    # The same candidates and reasons the API gives for the same search.
    serve_album_search(
        mocked,
        mb("release-group_search__hexndeifl_1_result"),
        artist="Gråinheim",
        title="Hexndeifl",
    )
    api = as_bob.get("/api/albums/search/", {"artist": "Gråinheim", "title": "Hexndeifl"}).json()
    for candidate in api["candidates"]:
        assert ", ".join(candidate["reasons"]) in text
    assert not Nomination.objects.exists()

    serve_hexndeifl(mocked)
    picked = web_bob.post(
        f"/clubs/{club.pk}/nominate/", {"release_group_mbid": HEXNDEIFL_RG}, follow=True
    )
    nomination = Nomination.objects.get(club=club)
    assert str(nomination.release_group.mbid) == HEXNDEIFL_RG
    assert nomination.nominated_by == bob
    assert picked.redirect_chain[-1][0] == f"/clubs/{club.pk}/"
    page = picked.content.decode()
    assert "Nominated Hexndeifl" in page
    assert "Now: " in page
    assert "nominated by bob" in page


def test_an_ambiguous_search_asks_the_member_to_pick(web_alice, alice, mocked):
    club = make_club(alice)
    serve_album_search(
        mocked, built("release-group_search__weezer_self_titled"), artist="Weezer", title="Weezer"
    )
    found = web_alice.get(f"/clubs/{club.pk}/nominate/", {"artist": "Weezer", "title": "Weezer"})
    text = found.content.decode()
    assert "Not sure which you mean: pick one." in text
    assert "(The search says: 2 albums share the title" in text
    assert text.count("Nominate this</button>") == 3


def test_musicbrainz_down_while_searching_is_a_clear_message(web_alice, alice, mocked):
    club = make_club(alice)
    serve_album_search(mocked, {"error": "busy"}, artist="Weezer", title="Weezer", status=503)
    found = web_alice.get(f"/clubs/{club.pk}/nominate/", {"artist": "Weezer", "title": "Weezer"})
    assert found.status_code == 503
    assert b"MusicBrainz did not answer in time or is refusing requests" in found.content
    assert b"Nominate this" not in found.content


def test_musicbrainz_down_while_importing_the_pick_nominates_nothing(web_alice, alice, mocked):
    club = make_club(alice)
    mocked.get(f"https://mb.test/ws/2/release-group/{HEXNDEIFL_RG}", status=503, json={})
    page = web_alice.post(
        f"/clubs/{club.pk}/nominate/", {"release_group_mbid": HEXNDEIFL_RG}, follow=True
    )
    assert b"MusicBrainz did not answer in time" in page.content
    assert not Nomination.objects.exists()


def test_the_search_needs_artist_and_title_and_non_members_get_404(web_alice, web_bob, alice):
    club = make_club(alice)
    missing = web_alice.get(f"/clubs/{club.pk}/nominate/", {"artist": "Weezer"})
    assert missing.status_code == 400
    assert b"This field is required." in missing.content
    assert web_bob.get(f"/clubs/{club.pk}/nominate/").status_code == 404
    refused = web_bob.post(f"/clubs/{club.pk}/nominate/", {"release_group_mbid": HEXNDEIFL_RG})
    assert refused.status_code == 404
    assert not Nomination.objects.exists()


def test_a_member_who_leaves_disappears_from_the_club_page(web_bob, alice, bob, carol):
    club = make_club(alice, bob, carol)
    page = web_bob.get(f"/clubs/{club.pk}/")
    assert b"Leave Sunday Album Club" in page.content
    left = web_bob.post(f"/clubs/{club.pk}/leave/", follow=True)
    assert b"You left Sunday Album Club" in left.content
    assert left.redirect_chain[-1][0] == "/clubs/"
    assert not Membership.objects.filter(club=club, user=bob).exists()
    assert web_bob.get(f"/clubs/{club.pk}/").status_code == 404
    owner_view = signed_in(alice).get(f"/clubs/{club.pk}/").content.decode()
    assert "2 members" in owner_view


def test_the_owner_is_not_offered_leaving_and_cannot_leave(web_alice, alice, bob):
    club = make_club(alice, bob)
    page = web_alice.get(f"/clubs/{club.pk}/")
    assert b"You own this club, so you cannot leave it." in page.content
    assert b"Leave Sunday Album Club" not in page.content
    refused = web_alice.post(f"/clubs/{club.pk}/leave/", follow=True)
    assert b"The owner cannot leave the club" in refused.content
    assert Membership.objects.filter(club=club, user=alice).exists()
    assert web_alice.get(f"/clubs/{club.pk}/leave/").status_code == 405
