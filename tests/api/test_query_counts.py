"""Every list endpoint costs the same number of queries for 5 rows as for 50."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ListenSource
from listens.models import TasteSnapshot
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


def rows(body) -> list:
    return body["results"] if isinstance(body, dict) else body


def assert_constant_queries(client, url, seed, django_assert_max_num_queries):
    """Seed 5 rows, count the queries; seed 45 more, and the count must not grow."""
    seed(0, 5)
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.status_code == 200, response.content
    assert len(rows(response.json())) == 5

    seed(5, 50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert len(rows(response.json())) == 50


def test_listens(as_carol, alice, bob, django_assert_max_num_queries):
    accounts = [make_account(alice), make_account(bob, ListenSource.LISTENBRAINZ)]

    def seed(start, stop):
        for n in range(start, stop):
            credit = make_credit(f"Artist {n}", make_artist(f"Artist {n}"))
            make_listen(
                accounts[n % 2],
                at=T0 + timedelta(minutes=n),
                recording=resolved_recording(f"Song {n}", credit),
            )

    assert_constant_queries(
        as_carol, "/api/listens/?page_size=100", seed, django_assert_max_num_queries
    )


def test_accounts(as_carol, alice, bob, django_assert_max_num_queries):
    def seed(start, stop):
        for n in range(start, stop):
            make_account((alice, bob)[n % 2], name=f"name-{n}")

    assert_constant_queries(
        as_carol, "/api/accounts/?limit=100", seed, django_assert_max_num_queries
    )


def test_unresolved(as_carol, alice, django_assert_max_num_queries):
    account = make_account(alice)

    def seed(start, stop):
        for n in range(start, stop):
            make_listen(account, track=f"Unknown {n}", artist="Band")

    assert_constant_queries(
        as_carol, "/api/unresolved/?limit=100", seed, django_assert_max_num_queries
    )


@pytest.mark.parametrize("kind", ["top-artists", "top-albums", "top-recordings"])
def test_stats(as_alice, alice, kind, django_assert_max_num_queries):
    account = make_account(alice)

    def seed(start, stop):
        for n in range(start, stop):
            credit = make_credit(f"Artist {n}", make_artist(f"Artist {n}"))
            make_listen(
                account,
                artist=f"Artist {n}",
                album=f"Album {n}",
                recording=resolved_recording(f"Song {n}", credit),
            )

    assert_constant_queries(
        as_alice, f"/api/stats/{kind}/?limit=100", seed, django_assert_max_num_queries
    )


def test_taste(as_alice, alice, django_assert_max_num_queries):
    periods = [value for value, _ in TasteSnapshot.Period.choices]

    def seed(start, stop):
        # 6 periods x 1 kind per account; two snapshots each, only the newest listed.
        for n in range(start, stop):
            if n % 6 == 0:
                account = make_account(alice, ListenSource.LASTFM, f"fm-{n}")
            else:
                account = alice.external_accounts.order_by("-pk").first()
            for _ in range(2):
                TasteSnapshot.objects.create(
                    account=account, kind="artists", period=periods[n % 6], items=[]
                )

    # 5 then 50 snapshots do not fill whole accounts: count what is listed.
    seed(0, 5)
    with CaptureQueriesContext(connection) as small:
        assert len(as_alice.get("/api/stats/taste/").json()) == 5
    seed(5, 50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(as_alice.get("/api/stats/taste/").json()) == 50


def test_release_group_tracklist(as_alice, django_assert_max_num_queries):
    credit = make_credit("Band", make_artist("Band"))
    group = ReleaseGroup.objects.create(mbid=uuid.uuid4(), title="LP", artist_credit=credit)
    release = Release.objects.create(mbid=uuid.uuid4(), release_group=group, title="LP")
    group.preferred_release = release
    group.save()

    def seed(start, stop):
        for n in range(start, stop):
            Track.objects.create(
                release=release,
                recording=resolved_recording(f"Track {n}", credit),
                medium_position=1,
                position=n + 1,
                title=f"Track {n}",
            )
            Release.objects.create(mbid=uuid.uuid4(), release_group=group, title=f"LP {n}")

    url = f"/api/release-groups/{group.mbid}/"
    seed(0, 5)
    with CaptureQueriesContext(connection) as small:
        assert len(as_alice.get(url).json()["preferred_release"]["tracks"]) == 5
    seed(5, 50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = as_alice.get(url).json()
    assert len(body["preferred_release"]["tracks"]) == 50
    assert len(body["releases"]) == 51
