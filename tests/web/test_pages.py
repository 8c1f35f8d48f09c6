"""What a member sees on each page of the members' web."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from accounts.models import ExternalAccount, SubmissionToken
from metadata.models import Recording
from tests.api.conftest import make_account, make_listen, unresolved_recording
from tests.web.conftest import T0, make_club, nominate, signed_in, tables

pytestmark = pytest.mark.django_db

PAGES = ["/", "/listens/", "/sources/", "/clubs/", "/password/"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_asks_a_stranger_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/?next=")


def test_signing_in_with_the_right_password_lands_on_your_listening(client, alice):
    response = client.post(
        "/signin/", {"username": "alice", "password": "alice-password-1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert b"Your listening" in response.content
    assert b"Sign out" in response.content


def test_a_wrong_password_says_so_and_signs_nobody_in(client, alice):
    response = client.post("/signin/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert client.get("/").status_code == 302


def test_sign_in_is_throttled_after_repeated_failures(client, alice, settings):
    settings.LOGIN_FAILURES_PER_USERNAME = 2
    for _ in range(2):
        client.post("/signin/", {"username": "alice", "password": "nope"})
    response = client.post("/signin/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert int(response["Retry-After"]) > 0


def test_signing_out_ends_the_session(web_alice):
    response = web_alice.post("/signout/")
    assert response.status_code == 302
    assert web_alice.get("/").status_code == 302


def test_staff_see_the_admin_link_and_members_do_not(web_alice, alice):
    assert b'href="/admin/"' not in web_alice.get("/").content
    alice.is_staff = True
    alice.save()
    assert b'href="/admin/"' in signed_in(alice).get("/").content


def test_password_change_takes_the_new_password(web_alice, alice):
    response = web_alice.post(
        "/password/",
        {
            "old_password": "alice-password-1",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-new-long-passphrase")


def test_open_sign_up_is_off_unless_the_operator_turns_it_on(client, settings, django_user_model):
    assert client.get("/signup/").status_code == 404
    assert b"Sign up" not in client.get("/signin/").content
    settings.SIDETRACK_OPEN_SIGNUP = True
    response = client.post(
        "/signup/",
        {"username": "dora", "password1": "a-long-passphrase", "password2": "a-long-passphrase"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/sources/"
    assert django_user_model.objects.filter(username="dora").exists()
    assert client.get("/").status_code == 200  # signed in


def test_an_unusable_invitation_link_says_so_and_creates_no_login(client, django_user_model):
    response = client.post(
        "/join/not-a-code/",
        {"username": "eve", "password1": "a-long-passphrase", "password2": "a-long-passphrase"},
    )
    assert response.status_code == 404
    assert b"This invitation cannot be used" in response.content
    assert not django_user_model.objects.filter(username="eve").exists()


# --- Your listening ------------------------------------------------------------------------


def test_recent_listens_show_what_each_resolved_to(web_alice, alice, world):
    account = make_account(alice)
    make_listen(account, at=T0, recording=world.songs[0], track="Song 1", artist="The Weeknights")
    make_listen(account, at=T0 + timedelta(minutes=5), track="Mystery", artist="Nobody")
    gone = unresolved_recording("Ghost", "Phantom")
    Recording.objects.filter(pk=gone.pk).update(status=Recording.Status.NOT_IN_MUSICBRAINZ)
    make_listen(account, at=T0 + timedelta(minutes=9), recording=gone, track="Phantom")
    response = web_alice.get("/listens/")
    rows = tables(response.content)["listens"]
    assert [row[2] for row in rows] == ["Not in MusicBrainz", "Waits for curation", "Song 1"]
    assert f"https://musicbrainz.org/recording/{world.songs[0].mbid}".encode() in response.content


def test_listens_page_in_pages_of_fifty_newest_first(web_alice, alice):
    account = make_account(alice)
    for n in range(55):
        make_listen(account, at=T0 + timedelta(minutes=n), track=f"Track {n}")
    first = web_alice.get("/listens/")
    rows = tables(first.content)["listens"]
    assert len(rows) == 50
    assert rows[0][1].startswith("Track 54")
    older = first.context["older"]
    second = web_alice.get("/listens/", {"before": older})
    assert [row[1].split(" ")[1] for row in tables(second.content)["listens"]] == [
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    assert second.context["older"] is None


def test_listens_page_never_shows_another_members_listens(web_bob, alice, bob):
    make_listen(make_account(alice), track="Alice's secret")
    assert b"Alice&#x27;s secret" not in web_bob.get("/listens/").content
    assert tables(web_bob.get("/listens/").content)["listens"][0][0].startswith("No listens")


def test_home_chart_counts_listens_per_day_and_per_week(web_alice, alice):
    account = make_account(alice)
    now = T0 + timedelta(days=10)
    for day, n in ((0, 3), (1, 1), (8, 2)):
        for i in range(n):
            make_listen(account, at=T0 + timedelta(days=day, minutes=i))
    with time_machine.travel(now, tick=False):
        daily = tables(web_alice.get("/", {"range": "30"}).content)["chart"]
        weekly = tables(web_alice.get("/", {"range": "30", "step": "week"}).content)["chart"]
    by_day = {row[0]: int(row[1]) for row in daily}
    assert len(daily) == 30
    assert by_day["2024-05-01"] == 3
    assert by_day["2024-05-02"] == 1
    assert by_day["2024-05-09"] == 2
    assert sum(by_day.values()) == 6
    by_week = {row[0]: int(row[1]) for row in weekly}
    # 2024-05-01 is a Wednesday: its week starts on Monday 2024-04-29.
    assert by_week["2024-04-29"] == 4
    assert by_week["2024-05-06"] == 2


def test_home_top_lists_follow_the_chosen_period(web_alice, alice, world):
    account = make_account(alice)
    for n in range(3):
        make_listen(
            account,
            at=T0 - timedelta(days=100, minutes=n),
            recording=world.songs[1],
            track="Song 2",
            artist="The Weeknights",
            album="Night Drive",
        )
    make_listen(account, at=T0, track="Fresh", artist="Newcomer", album="New Album")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        month = tables(web_alice.get("/", {"period": "month"}).content)
        ever = web_alice.get("/", {"period": "all"})
    assert month["top-artists"] == [["Newcomer", "1"]]
    found = tables(ever.content)
    assert found["top-artists"][0] == ["The Weeknights", "3"]
    assert found["top-albums"][0] == ["Night Drive The Weeknights", "3"]
    # A stored album of that name and credit links to its album page.
    assert f'href="/albums/{world.studio.mbid}/"'.encode() in ever.content


def test_album_page_shows_plays_per_track_and_full_listens(web_alice, alice, world):
    account = make_account(alice)
    for i, song in enumerate(world.songs):
        make_listen(account, at=T0 + timedelta(minutes=4 * i), recording=song, track=song.title)
    make_listen(account, at=T0 + timedelta(days=1), recording=world.songs[0], track="Song 1")
    response = web_alice.get(f"/albums/{world.studio.mbid}/")
    assert response.status_code == 200
    rows = tables(response.content)["tracks"]
    assert [row[1] for row in rows][:2] == ["Song 1", "Song 2"]
    assert rows[0][2] == "2"
    assert rows[1][2] == "1"
    assert rows[0][3] == "2024-05-01"
    assert rows[0][4] == "2024-05-02"
    text = response.content.decode()
    assert 'data-figure="full_listens">1<' in text
    assert "10 of 10 (100%)" in text
    assert web_alice.get("/albums/not-an-mbid/").status_code == 404


# --- Your sources --------------------------------------------------------------------------


def test_connecting_a_lastfm_name_lists_it_and_queues_a_fetch(web_alice, alice, queued_tasks):
    response = web_alice.post(
        "/sources/connect/", {"source": "lastfm", "external_username": "rj"}, follow=True
    )
    account = ExternalAccount.objects.get(user=alice)
    assert (account.source, account.external_username) == ("lastfm", "rj")
    assert b"Connected rj on Last.fm" in response.content
    assert b"Waiting for its first fetch" in response.content
    assert "listens.tasks.ingest_account_task" in [call[0] for call in queued_tasks]


def test_a_name_another_member_connected_is_refused_with_the_reason(web_bob, alice, bob):
    make_account(alice, name="rj")
    response = web_bob.post("/sources/connect/", {"source": "lastfm", "external_username": "RJ"})
    assert response.status_code == 409
    assert b"already connected by another Sidetrack user" in response.content
    assert not ExternalAccount.objects.filter(user=bob).exists()


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        ("ok", "", "Up to date"),
        (
            "retrying",
            "Last.fm answered 503",
            "Retrying: the last fetch failed (Last.fm answered 503)",
        ),
        ("error", "User not found", "Needs attention: User not found."),
        ("disabled", "", "Disconnected: not fetched any more."),
    ],
)
def test_each_account_state_is_said_in_plain_words(web_alice, alice, status, error, words):
    make_account(alice, name="rj", status=status, last_error=error)
    response = web_alice.get("/sources/")
    assert words.encode() in response.content
    assert (b"Fetch now" in response.content) is (status != "disabled")


def test_fetch_now_queues_one_ingest_and_says_so(web_alice, alice, queued_tasks):
    account = make_account(alice, name="rj", status="ok")
    first = web_alice.post(f"/sources/{account.pk}/fetch/", follow=True)
    second = web_alice.post(f"/sources/{account.pk}/fetch/", follow=True)
    assert b"Fetching rj" in first.content
    assert b"rj is already being fetched" in second.content
    assert [c[1] for c in queued_tasks if c[0] == "listens.tasks.ingest_account_task"] == [
        (account.pk,)
    ]


def test_disconnect_keeps_the_listens_and_another_members_account_is_not_found(
    web_alice, web_bob, alice
):
    account = make_account(alice, name="rj", status="ok")
    make_listen(account)
    assert web_bob.post(f"/sources/{account.pk}/disconnect/").status_code == 404
    assert web_bob.post(f"/sources/{account.pk}/fetch/").status_code == 404
    web_alice.post(f"/sources/{account.pk}/disconnect/")
    account.refresh_from_db()
    assert account.status == ExternalAccount.Status.DISABLED
    assert account.listens.count() == 1


def test_a_new_token_is_shown_once_works_and_can_be_revoked(web_alice, alice):
    created = web_alice.post("/sources/tokens/", {"name": "Navidrome"})
    token = created.context["new_token"][1]
    assert token.encode() in created.content
    assert created["Cache-Control"] == "no-store"
    assert Client().get("/1/validate-token", HTTP_AUTHORIZATION=f"Token {token}").json()["valid"]
    listed = web_alice.get("/sources/")
    assert token.encode() not in listed.content
    assert token[:8].encode() in listed.content
    assert b"Navidrome" in listed.content
    row = SubmissionToken.objects.get(user=alice)
    web_alice.post(f"/sources/tokens/{row.pk}/revoke/")
    assert (
        not Client().get("/1/validate-token", HTTP_AUTHORIZATION=f"Token {token}").json()["valid"]
    )


def test_player_setup_names_this_servers_url(web_alice):
    text = web_alice.get("/sources/").content.decode()
    assert "ND_LISTENBRAINZ_BASEURL=http://testserver/1/" in text
    for player in ("Navidrome", "Jellyfin", "Pano Scrobbler", "Web Scrobbler", "multi-scrobbler"):
        assert player in text


# --- Clubs ----------------------------------------------------------------------------------


def test_club_page_shows_each_members_progress_and_the_grid(web_alice, alice, bob, world):
    club = make_club(alice, bob)
    nominate(club, world.studio)
    account = make_account(bob)
    for i, song in enumerate(world.songs[:3]):
        make_listen(account, at=T0 + timedelta(minutes=5 + i), recording=song)
    make_listen(
        account,
        at=T0 + timedelta(minutes=30),
        track="Song 9 (demo)",
        artist="The Weeknights",
        album="Night Drive",
    )
    response = web_alice.get(f"/clubs/{club.pk}/")
    found = tables(response.content)
    assert [row[1] for row in found["standings"]] == ["bob", "alice"]
    assert found["standings"][0][2] == "3/10"
    assert found["standings"][0][6] == "1"  # waiting for curation
    assert found["grid"][0] == ["1. Song 1", "1", "–"]
    assert found["grid"][3] == ["4. Song 4", "–", "–"]
    assert b"Curate them in the admin" not in response.content


def test_staff_members_get_the_curation_link(alice, bob, world):
    alice.is_staff = True
    alice.save()
    club = make_club(alice, bob)
    nominate(club, world.studio)
    make_listen(
        make_account(bob),
        at=T0 + timedelta(minutes=1),
        track="Song 9 (demo)",
        artist="The Weeknights",
        album="Night Drive",
    )
    response = signed_in(alice).get(f"/clubs/{club.pk}/")
    assert b"Curate them in the admin" in response.content
    assert b"/admin/metadata/unresolvedrecording/?album_name__icontains=Night+Drive" in (
        response.content
    )


def test_a_club_is_not_found_for_non_members(web_bob, alice, carol, world):
    club = make_club(alice, carol)
    nominate(club, world.studio)
    assert web_bob.get(f"/clubs/{club.pk}/").status_code == 404
    assert web_bob.get(f"/clubs/{club.pk}/compare/").status_code == 404
    assert b"Sunday Album Club" not in web_bob.get("/clubs/").content


def test_past_nominations_are_listed_and_open(web_alice, alice, bob, world):
    club = make_club(alice, bob)
    old = nominate(
        club, world.live_group, starts_at=T0 - timedelta(days=30), ends_at=T0 - timedelta(days=1)
    )
    nominate(club, world.studio)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        page = web_alice.get(f"/clubs/{club.pk}/")
        past = web_alice.get(f"/clubs/{club.pk}/nominations/{old.pk}/")
    assert b"Now: " in page.content
    assert b"Night Drive</a></h2>" in page.content
    assert b"Live at the Roxy</a></h2>" in past.content


def test_compare_shows_the_shared_artists_as_a_chart_and_a_table(web_alice, alice, bob, world):
    club = make_club(alice, bob)
    for user, n in ((alice, 4), (bob, 2)):
        account = make_account(user)
        for i in range(n):
            make_listen(account, at=T0 + timedelta(minutes=i), recording=world.songs[i])
    response = web_alice.get(f"/clubs/{club.pk}/compare/", {"b": "bob"})
    assert response.status_code == 200
    assert tables(response.content)["artists"] == [["The Weeknights", "4", "2"]]
    assert b"<svg" in response.content
    assert b"Overlap score" in response.content
    assert web_alice.get(f"/clubs/{club.pk}/compare/", {"b": "mallory"}).status_code == 404
