"""Each page costs the same number of queries for a few rows or members as for many."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ListenSource
from accounts.submission_tokens import create_submission_token
from clubs.models import Membership
from clubs.services import invitation_create
from tests.api.conftest import make_account, make_artist, make_credit, make_listen
from tests.api.conftest import resolved_recording as recording
from tests.web.conftest import T0, make_club, nominate

pytestmark = pytest.mark.django_db


def assert_constant(client, url, seed, django_assert_max_num_queries, *, check):
    seed(0, 3)
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.status_code == 200
    check(response, 3)
    seed(3, 30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    check(response, 30)


@pytest.mark.parametrize("url", ["/", "/listens/"])
def test_listening_pages(web_alice, alice, url, django_assert_max_num_queries):
    account = make_account(alice, ListenSource.SUBMITTED, name="alice")

    def seed(start, stop):
        for n in range(start, stop):
            credit = make_credit(f"Artist {n}", make_artist(f"Artist {n}"))
            make_listen(
                account,
                at=T0 + timedelta(minutes=n),
                album=f"Album {n}",
                artist=f"Artist {n}",
                recording=recording(f"Song {n}", credit),
            )

    def check(response, n):
        assert f"Song {n - 1}".encode() in response.content

    assert_constant(web_alice, url, seed, django_assert_max_num_queries, check=check)


def test_sources_page(web_alice, alice, django_assert_max_num_queries):
    def seed(start, stop):
        for n in range(start, stop):
            make_account(alice, name=f"name-{n}")
            create_submission_token(user=alice, name=f"player {n}")

    def check(response, n):
        assert f"name-{n - 1}".encode() in response.content
        assert f"player {n - 1}".encode() in response.content

    assert_constant(web_alice, "/sources/", seed, django_assert_max_num_queries, check=check)


@pytest.mark.parametrize("page", ["club", "compare", "clubs", "members"])
def test_club_pages(web_alice, alice, world, page, django_assert_max_num_queries):
    club = make_club(alice)
    nominate(club, world.studio)
    users = get_user_model().objects

    def seed(start, stop):
        for n in range(start, stop):
            member = users.create_user(f"member{n}")
            Membership.objects.create(club=club, user=member)
            invitation_create(club=club, actor=alice, invitee_username=f"guest{n}")
            account = make_account(member)
            for i, song in enumerate(world.songs[: 1 + n % 10]):
                make_listen(account, at=T0 + timedelta(minutes=i + 1), recording=song)
            make_listen(
                account,
                at=T0 + timedelta(hours=1),
                track="Song 9 (demo)",
                artist="The Weeknights",
                album="Night Drive",
            )

    url = {
        "club": f"/clubs/{club.pk}/",
        "compare": f"/clubs/{club.pk}/compare/?a=member0&b=member1",
        "clubs": "/clubs/",
        "members": f"/clubs/{club.pk}/members/",
    }[page]

    def check(response, n):
        if page in ("club", "members"):
            assert f"member{n - 1}".encode() in response.content
        if page == "members":
            assert f"guest{n - 1}".encode() in response.content

    assert_constant(web_alice, url, seed, django_assert_max_num_queries, check=check)
