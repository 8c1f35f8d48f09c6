"""Every figure a page shows equals the API's for the same request: the pages and the
API read the same selectors, and this test keeps it so."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from tests.api.conftest import make_account, make_listen
from tests.web.conftest import T0, make_club, nominate, tables

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=2)


@pytest.fixture
def listened(alice, bob, world):
    """Alice heard the album once through and some other things; Bob a few tracks,
    and one listen of the album that waits for curation."""
    a, b = make_account(alice), make_account(bob)
    for i, song in enumerate(world.songs):
        make_listen(
            a,
            at=T0 + timedelta(minutes=4 * i),
            recording=song,
            track=song.title,
            artist="The Weeknights",
            album="Night Drive",
        )
    for i in range(3):
        make_listen(
            a,
            at=T0 - timedelta(days=40 + i),
            track=f"Old {i}",
            artist="Someone Else",
            album="Elsewhere",
        )
    for i, song in enumerate(world.songs[:4]):
        make_listen(b, at=T0 + timedelta(hours=1, minutes=i), recording=song)
    make_listen(
        b,
        at=T0 + timedelta(hours=2),
        track="Song 9 (demo)",
        artist="The Weeknights",
        album="Night Drive",
    )
    club = make_club(alice, bob)
    return club, nominate(club, world.studio)


@pytest.mark.parametrize(("period", "since"), [("all", None), ("month", NOW - timedelta(days=30))])
def test_top_lists_equal_the_stats_api(web_alice, listened, period, since):
    query = {"limit": 10, **({"since": since.isoformat()} if since else {})}
    with time_machine.travel(NOW, tick=False):
        page = tables(web_alice.get("/", {"period": period}).content)
        artists = web_alice.get("/api/stats/top-artists/", query).json()["results"]
        albums = web_alice.get("/api/stats/top-albums/", query).json()["results"]
        tracks = web_alice.get("/api/stats/top-recordings/", query).json()["results"]
    assert page["top-artists"] == [[a["name"], str(a["listen_count"])] for a in artists]
    assert page["top-albums"] == [
        [f"{a['album_name']} {a['artist_name']}", str(a["listen_count"])] for a in albums
    ]
    assert page["top-tracks"] == [
        [f"{t['title']} {t['artist_name']}", str(t["listen_count"])] for t in tracks
    ]
    assert artists  # the comparison compared something


def test_club_standings_equal_the_nomination_api(web_alice, listened):
    club, nomination = listened
    with time_machine.travel(NOW, tick=False):
        page = tables(web_alice.get(f"/clubs/{club.pk}/").content)
        api = web_alice.get(f"/api/clubs/{club.pk}/nominations/{nomination.pk}/").json()
    assert [
        [
            str(s["rank"]),
            s["username"],
            f"{s['tracks_heard']}/{s['tracklist_size']}",
            str(s["listen_count"]),
            str(s["full_listens"]["count"]),
            s["last_listen"][:16].replace("T", " ") if s["last_listen"] else "—",
            str(s["unresolved"]["listens"]),
        ]
        for s in api["standings"]
    ] == page["standings"]
    assert api["standings"][1]["unresolved"]["listens"] == 1


def test_the_grid_equals_each_members_progress_api(web_alice, listened):
    club, nomination = listened
    with time_machine.travel(NOW, tick=False):
        page = tables(web_alice.get(f"/clubs/{club.pk}/").content)
        order = [row[1] for row in page["standings"]]
        per_member = [
            web_alice.get(
                f"/api/clubs/{club.pk}/nominations/{nomination.pk}/members/{name}/"
            ).json()
            for name in order
        ]
    expected = [
        [f"{t['number']}. {t['title']}"]
        + [
            str(m["tracks"][i]["play_count"]) if m["tracks"][i]["play_count"] else "–"
            for m in per_member
        ]
        for i, t in enumerate(per_member[0]["tracks"])
    ]
    assert page["grid"] == expected


def test_album_page_equals_the_album_progress_api(web_alice, listened, world):
    page = web_alice.get(f"/albums/{world.studio.mbid}/")
    api = web_alice.get(f"/api/clubs/album-progress/{world.studio.mbid}/").json()
    rows = tables(page.content)["tracks"]
    assert rows == [
        [
            t["number"],
            t["title"],
            str(t["play_count"]),
            t["first_listen"][:10] if t["first_listen"] else "—",
            t["last_listen"][:10] if t["last_listen"] else "—",
        ]
        for t in api["tracks"]
    ]
    text = page.content.decode()
    assert f'data-figure="listen_count">{api["listen_count"]}<' in text
    assert f'data-figure="full_listens">{api["full_listens"]["count"]}<' in text
    assert f">{api['tracks_heard']} of {api['tracklist_size']} (" in text


def test_compare_equals_the_compare_api(web_alice, listened):
    club, _ = listened
    page = web_alice.get(f"/clubs/{club.pk}/compare/", {"b": "bob"})
    api = web_alice.get(f"/api/clubs/{club.pk}/compare/", {"user": "bob"}).json()
    found = tables(page.content)
    assert found["artists"] == [
        [s["name"], str(s["listens_a"]), str(s["listens_b"])] for s in api["artists"]["shared"]
    ]
    assert found["albums"] == [
        [s["name"], str(s["listens_a"]), str(s["listens_b"])]
        for s in api["release_groups"]["shared"]
    ]
    assert f"<strong>{api['score']}</strong>" in page.content.decode()
