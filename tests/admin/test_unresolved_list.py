from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metadata.models import Recording

pytestmark = pytest.mark.django_db

LIST = reverse("admin:metadata_unresolvedrecording_changelist")


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [r.title for r in response.context["cl"].result_list]


@pytest.fixture
def tracks(make_listens, alice, bob):
    make_listens("Artist A", "One", 3, user=alice, source="lastfm", album="Album X")
    make_listens("Artist B", "Two", 5, user=bob, source="listenbrainz")
    make_listens("Artist C", "Three", 1, user=alice, source="listenbrainz")
    resolved = make_listens("Artist D", "Resolved", 9, user=alice)
    Recording.objects.filter(pk=resolved.pk).update(
        mbid=uuid.uuid4(), unresolved_key=None, status=Recording.Status.RESOLVED
    )
    done = make_listens("Artist E", "Not there", 7, user=bob)
    Recording.objects.filter(pk=done.pk).update(status=Recording.Status.NOT_IN_MUSICBRAINZ)


def test_unresolved_tracks_are_listed_by_listen_count(admin_client, tracks):
    response = admin_client.get(LIST)

    assert listed(response) == ["Two", "One", "Three"]
    body = response.content.decode()
    assert "Artist B" in body
    assert "Album X" in body
    assert [r.listen_count for r in response.context["cl"].result_list] == [5, 3, 1]


def test_list_shows_why_the_last_attempt_failed(admin_client, make_listens, alice):
    track = make_listens("Artist A", "One", 1, user=alice)
    Recording.objects.filter(pk=track.pk).update(
        last_error="ambiguous: 2 recordings match equally well", resolution_attempts=2
    )

    body = admin_client.get(LIST).content.decode()

    assert "ambiguous: 2 recordings match equally well" in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"source": "lastfm"}, ["One"]),
        ({"source": "listenbrainz"}, ["Two", "Three"]),
        ({"has_album": "yes"}, ["One"]),
        ({"has_album": "no"}, ["Two", "Three"]),
        ({"status": "not_in_musicbrainz"}, ["Not there"]),
        ({"status": "all"}, ["Not there", "Two", "One", "Three"]),
        ({"q": "artist c"}, ["Three"]),
    ],
)
def test_filters_and_search(admin_client, tracks, params, expected):
    assert listed(admin_client.get(LIST, params)) == expected


def test_user_filter_keeps_whole_listen_counts(admin_client, tracks, alice):
    response = admin_client.get(LIST, {"user": alice.pk})

    assert listed(response) == ["One", "Three"]
    assert [r.listen_count for r in response.context["cl"].result_list] == [3, 1]


def test_changelist_runs_a_constant_number_of_queries(
    admin_client, make_listens, alice, bob, django_assert_max_num_queries
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(LIST, {"source": "lastfm"}).status_code == 200
        return len(captured)

    for i in range(3):
        make_listens(f"Artist {i}", f"Title {i}", 2, user=alice, album="Some album")
    few = queries()
    for i in range(3, 40):
        make_listens(f"Artist {i}", f"Title {i}", 1, user=bob if i % 2 else alice)

    assert queries() == few
    with django_assert_max_num_queries(8):
        admin_client.get(LIST)


@pytest.mark.parametrize("suffix", ["", "1/curate/", "1/change/"])
def test_anonymous_and_non_staff_users_are_sent_to_login(client, alice, suffix):
    url = LIST + suffix
    assert "/admin/login/" in client.get(url)["Location"]
    client.force_login(alice)
    assert "/admin/login/" in client.get(url)["Location"]


def test_non_staff_cannot_post_decisions(client, alice, make_listens):
    track = make_listens("Artist A", "One", 1, user=alice)
    client.force_login(alice)

    for name in ("assign", "not_in_musicbrainz"):
        url = reverse(f"admin:metadata_unresolvedrecording_{name}", args=[track.pk])
        response = client.post(url, {"reference": str(uuid.uuid4())})
        assert "/admin/login/" in response["Location"]

    track.refresh_from_db()
    assert track.status == Recording.Status.UNRESOLVED


def test_staff_without_permission_gets_403(client, alice, make_listens):
    track = make_listens("Artist A", "One", 1, user=alice)
    alice.is_staff = True
    alice.save()
    client.force_login(alice)

    assert client.get(LIST).status_code == 403
    curate = reverse("admin:metadata_unresolvedrecording_curate", args=[track.pk])
    assert client.get(curate).status_code == 403

    alice.user_permissions.add(
        Permission.objects.get(codename="change_unresolvedrecording"),
        Permission.objects.get(codename="view_unresolvedrecording"),
    )
    assert client.get(curate).status_code == 200


def test_the_album_filter_lists_every_edition_of_one_album(admin_client, make_listens, alice):
    # The link a club's standings give: reports on the album, whatever its edition noise.
    make_listens("Nirvana", "Polly", 2, user=alice, album="Nevermind")
    make_listens("Nirvana", "Lithium", 1, user=alice, album="Nevermind (Deluxe Edition)")
    make_listens("Nirvana", "About a Girl", 1, user=alice, album="Bleach")

    response = admin_client.get(LIST, {"album_name__icontains": "Nevermind"})

    assert sorted(listed(response)) == ["Lithium", "Polly"]
