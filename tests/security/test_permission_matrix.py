"""Every /api/ endpoint against five callers: anonymous, a user, a staff user without
permissions, a staff user with the curation permissions, and a superuser. Every
action beyond a caller's own data needs the model permission the admin checks for
it; ``is_staff`` alone grants nothing. The targets are another user's (bob's) rows."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ExternalAccount, ListenSource
from accounts.scrobble_auth import create_scrobble_session
from accounts.submission_tokens import create_submission_token
from clubs import services as club_services
from tests.security.conftest import (
    CURATION_PERMISSIONS,
    client_for,
    grant,
    make_account,
    make_listen,
    unresolved_recording,
)

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "user", "staff", "curator", "superuser")
UNKNOWN_MBID = "0f8e3c7a-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Row:
    route: str  # the URL name: the walk below checks that every /api/ route is here
    method: str
    url: str  # formatted with the targets
    expected: tuple[int, int, int, int, int]  # per ROLES
    body: dict | None = None


OWN = (401, 200, 200, 200, 200)
OTHERS_BY_SUPERUSER_ONLY = (401, 404, 404, 404, 200)
LOOK_AT_ANOTHER_USER = (401, 403, 403, 403, 200)
NOBODY_OUTSIDE_THE_CLUB = (401, 404, 404, 404, 404)

MATRIX = (
    Row("api-token", "post", "/api/auth/token/", (400, 400, 400, 400, 400), {}),
    Row("api-account-list", "get", "/api/accounts/", OWN),
    Row("api-account-list", "post", "/api/accounts/", (401, 400, 400, 400, 400), {}),
    Row("api-account-detail", "get", "/api/accounts/{account}/", OTHERS_BY_SUPERUSER_ONLY),
    Row("api-account-detail", "delete", "/api/accounts/{account}/", OTHERS_BY_SUPERUSER_ONLY),
    Row(
        "api-account-ingest",
        "post",
        "/api/accounts/{disabled_account}/ingest/",
        (401, 404, 404, 404, 409),  # the superuser reaches it: disconnected, so 409
    ),
    Row("api-submission-token-list", "get", "/api/submission-tokens/", OWN),
    Row(
        "api-submission-token-detail",
        "get",
        "/api/submission-tokens/{token}/",
        NOBODY_OUTSIDE_THE_CLUB,  # a token is its owner's only, superuser included
    ),
    Row("api-scrobble-session-list", "get", "/api/scrobble-sessions/", OWN),
    Row(
        "api-scrobble-session-detail",
        "get",
        "/api/scrobble-sessions/{scrobble_session}/",
        NOBODY_OUTSIDE_THE_CLUB,  # a session key is its owner's only, superuser included
    ),
    Row(
        "api-scrobble-session-detail",
        "delete",
        "/api/scrobble-sessions/{scrobble_session}/",
        NOBODY_OUTSIDE_THE_CLUB,
    ),
    Row("api-listen-profile", "get", "/api/me/listen-profile/", OWN),
    Row("api-discord-link-code", "post", "/api/discord/link-code/", (401, 201, 201, 201, 201)),
    Row(
        "api-club-discord-code",
        "post",
        "/api/clubs/{club}/discord-code/",
        NOBODY_OUTSIDE_THE_CLUB,
    ),
    Row(
        "api-listen-profile",
        "patch",
        "/api/me/listen-profile/",
        (401, 200, 200, 200, 200),  # the caller's own profile only
        {"listens_public": False},
    ),
    # Last.fm-protocol clients send the user here, signed in or not: a redirect.
    Row("lastfm-auth-redirect", "get", "/api/auth/?token=t", (302, 302, 302, 302, 302)),
    Row("api-artist", "get", f"/api/artists/{UNKNOWN_MBID}/", (401, 404, 404, 404, 404)),
    Row(
        "api-release-group",
        "get",
        f"/api/release-groups/{UNKNOWN_MBID}/",
        (401, 404, 404, 404, 404),
    ),
    Row("api-recording", "get", f"/api/recordings/{UNKNOWN_MBID}/", (401, 404, 404, 404, 404)),
    Row("api-album-search", "get", "/api/albums/search/", (401, 400, 400, 400, 400)),
    Row(
        "api-release-group-import",
        "post",
        "/api/release-groups/import/",
        (401, 400, 400, 400, 400),
        {},
    ),
    Row("api-now-playing", "get", "/api/now-playing/", OWN),  # the caller's own, always
    Row("api-top-artists", "get", "/api/stats/top-artists/?user=bob", LOOK_AT_ANOTHER_USER),
    Row("api-top-albums", "get", "/api/stats/top-albums/?user=bob", LOOK_AT_ANOTHER_USER),
    Row("api-top-recordings", "get", "/api/stats/top-recordings/?user=bob", LOOK_AT_ANOTHER_USER),
    Row("api-taste", "get", "/api/stats/taste/?user=bob", LOOK_AT_ANOTHER_USER),
    Row("api-listen-list", "get", "/api/listens/?user=bob", LOOK_AT_ANOTHER_USER),
    Row("api-listen-detail", "get", "/api/listens/{listen}/", OTHERS_BY_SUPERUSER_ONLY),
    Row("api-unresolved-list", "get", "/api/unresolved/", (401, 403, 403, 200, 200)),
    Row(
        "api-unresolved-resolve",
        "post",
        "/api/unresolved/{recording}/resolve/",
        (401, 403, 403, 400, 400),  # curators reach the body's validation; nobody else does
        {"mbid": "not-an-mbid"},
    ),
    Row("api-invitations", "get", "/api/invitations/", OWN),
    Row(
        "api-invitation-lookup",
        "post",
        "/api/invitations/lookup/",
        NOBODY_OUTSIDE_THE_CLUB,
        {"code": "guessed"},
    ),
    Row(
        "api-invitation-accept",
        "post",
        "/api/invitations/accept/",
        NOBODY_OUTSIDE_THE_CLUB,
        {"code": "guessed"},
    ),
    Row(
        "api-invitation-decline",
        "post",
        "/api/invitations/decline/",
        NOBODY_OUTSIDE_THE_CLUB,
        {"code": "guessed"},
    ),
    Row(
        "api-invitation-accept-addressed",
        "post",
        "/api/invitations/{invitation}/accept/",
        NOBODY_OUTSIDE_THE_CLUB,  # addressed to bob
    ),
    Row(
        "api-invitation-decline-addressed",
        "post",
        "/api/invitations/{invitation}/decline/",
        NOBODY_OUTSIDE_THE_CLUB,
    ),
    Row("api-clubs", "get", "/api/clubs/", OWN),
    Row("api-clubs", "post", "/api/clubs/", (401, 400, 400, 400, 400), {"name": ""}),
    Row(
        "api-album-progress",
        "get",
        f"/api/clubs/album-progress/{UNKNOWN_MBID}/",
        (401, 404, 404, 404, 404),
    ),
    Row("api-club", "get", "/api/clubs/{club}/", NOBODY_OUTSIDE_THE_CLUB),
    Row("api-club", "patch", "/api/clubs/{club}/", NOBODY_OUTSIDE_THE_CLUB, {"name": "mine"}),
    Row("api-club", "delete", "/api/clubs/{club}/", NOBODY_OUTSIDE_THE_CLUB),
    Row("api-club-members", "get", "/api/clubs/{club}/members/", NOBODY_OUTSIDE_THE_CLUB),
    Row("api-club-invitations", "get", "/api/clubs/{club}/invitations/", NOBODY_OUTSIDE_THE_CLUB),
    Row(
        "api-club-invitations",
        "post",
        "/api/clubs/{club}/invitations/",
        NOBODY_OUTSIDE_THE_CLUB,
        {},
    ),
    Row(
        "api-club-invitation",
        "delete",
        "/api/clubs/{club}/invitations/{invitation}/",
        NOBODY_OUTSIDE_THE_CLUB,
    ),
    Row("api-club-member", "delete", "/api/clubs/{club}/members/bob/", NOBODY_OUTSIDE_THE_CLUB),
    Row("api-club-compare", "get", "/api/clubs/{club}/compare/?user=bob", NOBODY_OUTSIDE_THE_CLUB),
    Row("api-club-nominations", "get", "/api/clubs/{club}/nominations/", NOBODY_OUTSIDE_THE_CLUB),
    Row(
        "api-club-nomination",
        "get",
        "/api/clubs/{club}/nominations/1/",
        NOBODY_OUTSIDE_THE_CLUB,
    ),
    Row(
        "api-club-nomination-member",
        "get",
        "/api/clubs/{club}/nominations/1/members/bob/",
        NOBODY_OUTSIDE_THE_CLUB,
    ),
)


def api_route_names() -> set[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.name

    return {
        name
        for route, name in walk(get_resolver().url_patterns)
        if route.startswith("api/") and name not in ("api-schema", "api-docs")
    }


def test_the_matrix_covers_every_api_endpoint():
    assert api_route_names() == {row.route for row in MATRIX}


@pytest.fixture
def callers(django_user_model):
    def user(name: str, **flags):
        return django_user_model.objects.create_user(name, password=f"{name}-pw-1", **flags)

    curator = grant(user("cora", is_staff=True), *CURATION_PERMISSIONS)
    superuser = django_user_model.objects.create_superuser("root", password="root-pw-1")
    return dict(
        zip(
            ROLES,
            (None, user("alice"), user("sam", is_staff=True), curator, superuser),
            strict=True,
        )
    )


@pytest.fixture
def targets(django_user_model, queued_tasks):
    bob = django_user_model.objects.create_user("bob", password="bob-pw-1")
    account = make_account(bob, source=ListenSource.LISTENBRAINZ)
    disabled = make_account(bob, status=ExternalAccount.Status.DISABLED)
    listen = make_listen(account)
    recording = unresolved_recording("Someone", "Something")
    token, _ = create_submission_token(user=bob)
    scrobble_session, _ = create_scrobble_session(user=bob, name="Bob's player")
    club = club_services.club_create(name="Bob's club", owner=bob)
    invitation, _ = club_services.invitation_create(club=club, actor=bob, invitee_username="bob")
    return {
        "account": account.pk,
        "disabled_account": disabled.pk,
        "listen": listen.pk,
        "recording": recording.pk,
        "token": token.pk,
        "scrobble_session": scrobble_session.pk,
        "club": club.pk,
        "invitation": invitation.pk,
    }


@pytest.mark.parametrize("row", MATRIX, ids=lambda r: f"{r.method} {r.url}")
def test_permission_matrix(row, callers, targets, external_settings):
    external_settings.DISCORD_APPLICATION_ID = "1"  # Discord set up: its codes are served
    external_settings.DISCORD_PUBLIC_KEY = "0" * 64
    got = []
    for role in ROLES:
        client = client_for(callers[role])
        send = getattr(client, row.method)
        url = row.url.format(**targets)
        response = send(url, row.body, format="json") if row.body is not None else send(url)
        got.append(response.status_code)
    assert dict(zip(ROLES, got, strict=True)) == dict(zip(ROLES, row.expected, strict=True))


def test_only_a_permitted_caller_lists_other_users_accounts_and_listens(callers, targets):
    seen = {}
    for role in ROLES[1:]:
        client = client_for(callers[role])
        accounts = {a["id"] for a in client.get("/api/accounts/").json()["results"]}
        listens = {item["id"] for item in client.get("/api/listens/").json()["results"]}
        seen[role] = (targets["account"] in accounts, targets["listen"] in listens)
    assert seen == {
        "user": (False, False),
        "staff": (False, False),
        "curator": (False, False),
        "superuser": (True, True),
    }


def test_a_staff_user_without_permissions_cannot_disconnect_another_users_account(callers, targets):
    response = client_for(callers["staff"]).delete(f"/api/accounts/{targets['account']}/")
    assert response.status_code == 404
    assert ExternalAccount.objects.get(pk=targets["account"]).enabled


def test_a_staff_user_who_may_see_accounts_but_not_change_them_is_refused(callers, targets):
    viewer = grant(callers["staff"], "accounts.view_externalaccount")
    client = client_for(viewer)
    assert client.get(f"/api/accounts/{targets['account']}/").status_code == 200
    assert client.delete(f"/api/accounts/{targets['account']}/").status_code == 403
    assert ExternalAccount.objects.get(pk=targets["account"]).enabled
