"""The hostile requests of issue 17's probe, each as it was sent, against what must
hold now: consent in clubs, throttles strangers cannot turn against an account's
owner, guessed tokens, a password in an error page, floods, tokens in the database,
and a dependency that is down."""

from __future__ import annotations

import logging
import secrets

import pytest
from django.db import connection
from django.test import Client
from django.views.debug import ExceptionReporter
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.submission_tokens import create_submission_token
from clubs.models import Club, Membership
from clubs.services import club_create

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-1"
UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.5},
    }
}


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("admin", password=PASSWORD, is_staff=True)


def token_login(password: str, *, address: str, username: str = "admin"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )


# --- Membership without consent -------------------------------------------------------


def test_an_owner_cannot_add_a_user_nor_learn_whether_a_name_exists(alice, bob, as_alice):
    club = club_create(name="Spy club", owner=alice)
    url = f"/api/clubs/{club.pk}/"

    added = as_alice.post(url + "members/", {"username": "bob"}, format="json")
    known = as_alice.post(url + "invitations/", {"username": "bob"}, format="json")
    unknown = as_alice.post(url + "invitations/", {"username": "nobody-here"}, format="json")

    assert added.status_code == 405
    assert known.status_code == unknown.status_code == 201
    assert not Membership.objects.filter(user=bob).exists()
    assert as_alice.get(url + "compare/", {"user": "bob"}).status_code == 404


# --- Lock-out by strangers --------------------------------------------------------------


@pytest.fixture
def login_limits(settings):
    settings.LOGIN_FAILURES_PER_CLIENT = 20
    settings.LOGIN_FAILURES_PER_USERNAME = 5
    settings.LOGIN_FAILURES_UNDER_ATTACK = 10
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900


def test_strangers_guessing_from_many_addresses_never_lock_the_owner_out(owner, login_limits):
    guesses = [token_login(f"guess-{i}", address=f"203.0.113.{i}") for i in range(12)]
    assert {r.status_code for r in guesses} == {400}

    owner_login = token_login(PASSWORD, address="198.51.100.7")
    admin_page = Client(REMOTE_ADDR="198.51.100.8").post(
        "/admin/login/", {"username": "admin", "password": PASSWORD}
    )

    assert owner_login.status_code == 200
    assert owner_login.json()["token"]
    assert admin_page.status_code == 302  # logged in
    # The name is under attack: an address that already failed for it stays slowed,
    # even with the right password, and a new address gets one guess.
    assert token_login(PASSWORD, address="203.0.113.1").status_code == 429
    assert token_login("guess-x", address="192.0.2.1").status_code == 400
    assert token_login("guess-y", address="192.0.2.1").status_code == 429


def test_guessing_from_one_address_is_throttled(owner, login_limits):
    answers = [token_login(f"guess-{i}", address="203.0.113.9") for i in range(6)]
    assert [r.status_code for r in answers] == [400] * 5 + [429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert token_login(PASSWORD, address="203.0.113.9").status_code == 429


def test_a_client_behind_the_proxy_is_told_apart_by_its_forwarded_address(
    owner, login_limits, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for i in range(5):
        response = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5").post(
            "/api/auth/token/", {"username": "admin", "password": f"g{i}"}, format="json"
        )
        assert response.status_code == 400
    other_client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.5").post(
        "/api/auth/token/", {"username": "admin", "password": PASSWORD}, format="json"
    )
    assert other_client.status_code == 200


# --- Guessing tokens --------------------------------------------------------------------


@pytest.fixture
def token_limits(settings):
    settings.TOKEN_FAILURES_PER_CLIENT = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    settings.LISTENBRAINZ_API_RATE_LIMIT = 1000


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/1/validate-token"), ("post", "/1/submit-listens")]
)
def test_random_submission_tokens_are_throttled_per_address(alice, token_limits, method, path):
    guesser = Client(REMOTE_ADDR="203.0.113.20")
    answers = [
        getattr(guesser, method)(
            path,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {secrets.token_hex(20)}",
        )
        for _ in range(6)
    ]
    _, real = create_submission_token(user=alice)

    assert answers[-1].status_code == 429
    assert answers[-1].json()["code"] == 429
    assert {r.status_code for r in answers[:-1]} <= {200, 401}
    elsewhere = Client(REMOTE_ADDR="198.51.100.20").get(
        "/1/validate-token", HTTP_AUTHORIZATION=f"Token {real}"
    )
    assert elsewhere.json()["valid"] is True


def test_random_api_tokens_are_throttled_per_address(alice, token_limits):
    guesser = APIClient(REMOTE_ADDR="203.0.113.30")
    answers = [
        guesser.get("/api/listens/", HTTP_AUTHORIZATION=f"Token {secrets.token_hex(20)}")
        for _ in range(6)
    ]
    assert [r.status_code for r in answers] == [401] * 5 + [429]
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert int(answers[-1]["Retry-After"]) > 0


def test_random_lastfm_session_keys_are_throttled_per_address(alice, token_limits):
    from accounts.scrobble_auth import create_scrobble_session

    _, real_key = create_scrobble_session(user=alice, name="Real player")
    scrobble = {
        "method": "track.updateNowPlaying",
        "api_key": "0123456789abcdef0123456789abcdef",
        "artist": "Artist",
        "track": "Track",
        "format": "json",
    }
    guesser = Client(REMOTE_ADDR="203.0.113.50")
    answers = [
        guesser.post("/2.0/", {**scrobble, "sk": secrets.token_hex(16)}).json()["error"]
        for _ in range(6)
    ]
    assert answers == [9] * 5 + [29]  # invalid session key, then rate limited
    # Even the right key waits at that address; from another, the owner is served.
    assert guesser.post("/2.0/", {**scrobble, "sk": real_key}).json()["error"] == 29
    owner = Client(REMOTE_ADDR="198.51.100.50").post("/2.0/", {**scrobble, "sk": real_key})
    assert "nowplaying" in owner.json()


def test_made_up_tokens_share_their_senders_rate_limit(alice, settings):
    settings.LISTENBRAINZ_API_RATE_LIMIT = 3
    settings.TOKEN_FAILURES_PER_CLIENT = 1000
    sender = Client(REMOTE_ADDR="203.0.113.40")
    answers = [
        sender.get("/1/validate-token", HTTP_AUTHORIZATION=f"Token {secrets.token_hex(20)}")
        for _ in range(4)
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]


# --- A password in an error page ---------------------------------------------------------


def _report(record: logging.LogRecord) -> tuple[str, str]:
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    return reporter.get_traceback_html(), reporter.get_traceback_text()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/admin/login/", None), ("/api/auth/token/", "application/x-www-form-urlencoded")],
)
def test_a_failing_login_never_shows_the_password(
    owner, settings, caplog, monkeypatch, path, content_type
):
    settings.DEBUG = True
    # The cache is unreachable: the throttle fails before any password is checked.
    settings.CACHES = UNREACHABLE_CACHE
    browser = Client(raise_request_exception=False)
    body = {"username": "admin", "password": PASSWORD}
    if content_type:
        from urllib.parse import urlencode

        response = browser.post(path, urlencode(body), content_type=content_type)
    else:
        response = browser.post(path, body)

    assert response.status_code == 503
    assert PASSWORD not in response.content.decode()
    records = [r for r in caplog.records if getattr(r, "request", None) and r.exc_info]
    assert records  # an error report is made, with the request
    for html, text in map(_report, records):
        assert PASSWORD not in html
        assert PASSWORD not in text
        assert "username" in text  # the request's POST is in the report, filtered


def test_the_debug_page_of_a_crashing_admin_login_hides_the_password(owner, settings, monkeypatch):
    settings.DEBUG = True

    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("django.contrib.admin.sites.AdminSite.login", crash)
    response = Client(raise_request_exception=False).post(
        "/admin/login/", {"username": "admin", "password": PASSWORD}
    )

    page = response.content.decode()
    assert response.status_code == 500
    assert "RuntimeError" in page  # the DEBUG page, with the request's POST
    assert PASSWORD not in page


# --- Floods -----------------------------------------------------------------------------


def test_one_user_cannot_create_clubs_without_end(alice, as_alice):
    answers = [as_alice.post("/api/clubs/", {"name": f"c{i}"}, format="json") for i in range(25)]
    assert [r.status_code for r in answers] == [201] * 20 + [409] * 5
    assert answers[-1].json()["error"]["code"] == "too_many_clubs"
    assert Club.objects.filter(owner=alice).count() == 20


# --- API tokens in the database ----------------------------------------------------------


def test_a_copy_of_the_database_holds_no_working_api_token(owner):
    token = token_login(PASSWORD, address="198.51.100.50").json()["token"]

    with connection.cursor() as cursor:
        tables = [t for t in connection.introspection.table_names(cursor) if "token" in t]
        dumped = ""
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dumped += repr(cursor.fetchall())
    assert ApiToken.objects.filter(user=owner).count() == 1
    assert token not in dumped
    works = APIClient().get("/api/listens/", HTTP_AUTHORIZATION=f"Token {token}")
    assert works.status_code == 200


# --- A dependency that is down -----------------------------------------------------------


def test_with_the_cache_unreachable_logins_answer_503_in_the_error_shape(owner, alice, settings):
    _, submission_token = create_submission_token(user=alice)
    settings.CACHES = UNREACHABLE_CACHE

    api = APIClient().post(
        "/api/auth/token/", {"username": "admin", "password": PASSWORD}, format="json"
    )
    validate = Client().get("/1/validate-token", HTTP_AUTHORIZATION=f"Token {submission_token}")

    assert api.status_code == 503
    assert api.json()["error"]["code"] == "unavailable"
    assert validate.status_code == 503
    assert validate.json() == {"code": 503, "error": validate.json()["error"]}
