"""Who may see and change what: users only their own, staff everything, anonymous nothing."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import ApiToken, ExternalAccount, ListenSource
from listens.models import ListenEvent, TasteSnapshot
from tests.api.conftest import client_for, make_account, make_listen, unresolved_recording

pytestmark = pytest.mark.django_db

ANONYMOUS_GETS = [
    "/api/listens/",
    "/api/listens/1/",
    "/api/now-playing/",
    "/api/accounts/",
    "/api/accounts/1/",
    "/api/artists/5b11f4ce-a62d-471e-81fc-a69a8278c7da/",
    "/api/release-groups/5b11f4ce-a62d-471e-81fc-a69a8278c7da/",
    "/api/recordings/5b11f4ce-a62d-471e-81fc-a69a8278c7da/",
    "/api/albums/search/?artist=a&title=b",
    "/api/stats/top-artists/",
    "/api/stats/top-albums/",
    "/api/stats/top-recordings/",
    "/api/stats/taste/",
    "/api/unresolved/",
]
ANONYMOUS_POSTS = [
    "/api/accounts/",
    "/api/accounts/1/ingest/",
    "/api/release-groups/import/",
    "/api/unresolved/1/resolve/",
]


@pytest.fixture
def bobs(bob):
    """Bob's account with one listen of his own."""
    account = make_account(bob, ListenSource.LASTFM, "bob-fm")
    listen = make_listen(account, track="Bob Song", artist="Bob Band")
    return account, listen


@pytest.mark.parametrize("url", ANONYMOUS_GETS)
def test_anonymous_requests_are_refused(client, url):
    response = client.get(url)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
def test_anonymous_writes_are_refused(client, url):
    assert client.post(url, {}, content_type="application/json").status_code in (401, 403)


def test_anonymous_delete_is_refused(client, bobs):
    account, _ = bobs
    assert client.delete(f"/api/accounts/{account.pk}/").status_code in (401, 403)
    account.refresh_from_db()
    assert account.status == ExternalAccount.Status.NEW


def test_user_lists_only_their_own_listens(as_alice, alice, bobs):
    mine = make_listen(make_account(alice), track="Alice Song")

    response = as_alice.get("/api/listens/")

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [mine.pk]


def test_user_cannot_read_another_users_listen(as_alice, bobs):
    _, listen = bobs
    response = as_alice.get(f"/api/listens/{listen.pk}/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_user_cannot_filter_listens_by_another_user(as_alice, bobs):
    response = as_alice.get("/api/listens/", {"user": "bob"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_see_every_listen_and_can_pick_a_user(as_carol, alice, bobs):
    _, bobs_listen = bobs
    alices = make_listen(make_account(alice))

    everyone = as_carol.get("/api/listens/").json()["results"]
    only_bob = as_carol.get("/api/listens/", {"user": "bob"}).json()["results"]

    assert {item["id"] for item in everyone} == {alices.pk, bobs_listen.pk}
    assert [(item["id"], item["user"]) for item in only_bob] == [(bobs_listen.pk, "bob")]
    assert as_carol.get(f"/api/listens/{bobs_listen.pk}/").status_code == 200


def test_user_lists_and_reads_only_their_own_accounts(as_alice, alice, bobs):
    account, _ = bobs
    mine = make_account(alice, ListenSource.LISTENBRAINZ, "alice-lb")

    listed = as_alice.get("/api/accounts/").json()["results"]

    assert [item["id"] for item in listed] == [mine.pk]
    assert as_alice.get(f"/api/accounts/{account.pk}/").status_code == 404


def test_user_cannot_disconnect_another_users_account(as_alice, bobs):
    account, _ = bobs

    response = as_alice.delete(f"/api/accounts/{account.pk}/")

    assert response.status_code == 404
    account.refresh_from_db()
    assert account.status == ExternalAccount.Status.NEW


def test_user_cannot_queue_ingest_of_another_users_account(as_alice, bobs, queued_tasks):
    account, _ = bobs

    response = as_alice.post(f"/api/accounts/{account.pk}/ingest/")

    assert response.status_code == 404
    assert queued_tasks == []


def test_staff_see_and_change_every_account(as_carol, bobs, queued_tasks):
    account, listen = bobs
    cache.delete(f"ingest-queued:{account.pk}")  # a shared cache (Redis) outlives the test

    listed = as_carol.get("/api/accounts/").json()["results"]
    ingest = as_carol.post(f"/api/accounts/{account.pk}/ingest/")
    deleted = as_carol.delete(f"/api/accounts/{account.pk}/")

    assert [(item["id"], item["user"]) for item in listed] == [(account.pk, "bob")]
    assert ingest.status_code == 202
    assert [(func, args) for func, args, _ in queued_tasks] == [
        ("listens.tasks.ingest_account_task", (account.pk,))
    ]
    assert deleted.status_code == 200
    account.refresh_from_db()
    assert account.status == ExternalAccount.Status.DISABLED
    assert ListenEvent.objects.filter(pk=listen.pk).exists()


def test_user_stats_cover_only_their_own_listens(as_alice, alice, bobs):
    make_listen(make_account(alice), artist="Alice Band")

    names = [row["name"] for row in as_alice.get("/api/stats/top-artists/").json()["results"]]

    assert names == ["Alice Band"]


@pytest.mark.parametrize("kind", ["top-artists", "top-albums", "top-recordings", "taste"])
def test_user_cannot_read_another_users_stats(as_alice, bobs, kind):
    response = as_alice.get(f"/api/stats/{kind}/", {"user": "bob"})
    assert response.status_code == 403


def test_staff_read_another_users_stats(as_carol, bobs):
    response = as_carol.get("/api/stats/top-artists/", {"user": "bob"})
    assert response.json()["results"] == [{"name": "Bob Band", "listen_count": 1}]
    assert as_carol.get("/api/stats/top-artists/", {"user": "nobody"}).status_code == 404


def test_user_sees_only_their_own_taste_snapshots(as_alice, alice, bobs):
    account, _ = bobs
    TasteSnapshot.objects.create(account=account, kind="artists", items=[])
    mine = make_account(alice, ListenSource.LASTFM, "alice-fm")
    TasteSnapshot.objects.create(account=mine, kind="artists", items=[])

    snapshots = as_alice.get("/api/stats/taste/").json()

    assert [s["account"] for s in snapshots] == [mine.pk]


def test_now_playing_asks_only_about_the_users_own_accounts(as_alice, bobs):
    # Bob's account would need an upstream call; Alice has none, so none is made.
    assert as_alice.get("/api/now-playing/").json() == []


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", "/api/unresolved/"), ("post", "/api/unresolved/{pk}/resolve/")],
)
def test_curation_is_staff_only(as_alice, method, url):
    recording = unresolved_recording("Some Band", "Some Song")
    response = getattr(as_alice, method)(
        url.format(pk=recording.pk), {"mbid": "5b11f4ce-a62d-471e-81fc-a69a8278c7da"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    recording.refresh_from_db()
    assert recording.mbid is None


def test_token_authentication(client, alice):
    response = client.post(
        "/api/auth/token/", {"username": "alice", "password": "alice-password-1"}
    )
    token = response.json()["token"]

    # Stored as a digest only: the database holds no working login.
    row = ApiToken.objects.get(user=alice)
    assert token not in str(ApiToken.objects.values().get())
    assert token.startswith(row.prefix)
    listed = client_for(None)
    listed.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.get("/api/listens/").status_code == 200


def test_wrong_password_gets_no_token(client, alice):
    response = client.post("/api/auth/token/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
