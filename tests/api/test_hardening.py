"""What a hostile but careful caller finds: no 500, no HTML, no unlimited password
guessing, no credentials on the DEBUG page. Each test pins a probe of issue 11."""

from __future__ import annotations

import base64
import sys
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.views.debug import technical_500_response
from rest_framework.test import APIClient

from accounts.api_tokens import issue_api_token
from listens.api import TopArtistsView
from tests.api.conftest import make_account, make_listen

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


# --- Defect 1: a tampered listens cursor ---------------------------------------------------


@pytest.mark.parametrize(
    "decoded",
    [
        "p=notadate",
        "p=0000-00-00",
        "p=2024-13-45 00:00:00+00:00",
        "p=2024-01-01 00:00:00",  # naive: no time zone
        "p=9999-12-31 23:59:59-23:59",  # leaves the calendar once moved to UTC
        "p=2024-01-01%0000:00:00+00:00",  # a NUL byte
        "o=99999999999999999999999&p=2024-01-01 00:00:00+00:00x",
    ],
)
def test_a_tampered_cursor_is_an_invalid_cursor(as_alice, alice, decoded):
    make_listen(make_account(alice))
    cursor = base64.b64encode(decoded.encode()).decode()

    response = as_alice.get("/api/listens/", {"cursor": cursor})

    assert_error_shape(response, 404, "not_found")
    assert response.json()["error"]["message"] == "Invalid cursor"


def test_a_genuine_cursor_still_pages(as_alice, alice):
    account = make_account(alice)
    for _ in range(3):
        make_listen(account)

    first = as_alice.get("/api/listens/", {"page_size": 2}).json()
    second = as_alice.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert [item["id"] for item in second["results"]] == [
        min(item.pk for item in account.listens.all())
    ]


# --- Defect 2: deeply nested JSON ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/accounts/"])
def test_deeply_nested_json_is_a_parse_error(as_alice, path):
    body = "[" * 50_000 + "]" * 50_000

    response = as_alice.post(path, body, content_type="application/json")

    assert_error_shape(response, 400, "parse_error")


def test_deeply_nested_json_without_login_is_a_parse_error(client):
    response = client.post("/api/auth/token/", "[" * 50_000, content_type="application/json")
    assert_error_shape(response, 400, "parse_error")


# --- Defect 3: password guessing -------------------------------------------------------


@pytest.fixture
def login_limits(settings):
    # Each test counts failures under its own keys (conftest's own_login_failure_counters).
    settings.LOGIN_FAILURES_PER_USERNAME = 3
    settings.LOGIN_FAILURES_PER_CLIENT = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    return settings


def token_attempt(username: str, password: str, address: str = "10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )


def test_token_login_is_throttled_per_username_from_one_address(alice, login_limits):
    wrong = [token_attempt("alice", f"guess-{i}") for i in range(3)]
    refused = token_attempt("alice", "alice-password-1")
    other_user = token_attempt("bob", "nope")
    owner_elsewhere = token_attempt("alice", "alice-password-1", address="10.0.2.1")

    assert [r.status_code for r in wrong] == [400, 400, 400]
    assert_error_shape(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 600
    assert "token" not in refused.json()
    assert other_user.status_code == 400  # another name is not locked with it
    # A stranger's failures never stop the owner, with the right password, elsewhere.
    assert owner_elsewhere.status_code == 200


def test_token_login_is_throttled_per_client(alice, login_limits):
    for i in range(5):
        assert token_attempt(f"nobody-{i}", "x").status_code == 400

    from_same_client = token_attempt("alice", "alice-password-1")
    from_elsewhere = token_attempt("alice", "alice-password-1", address="10.9.9.9")

    assert_error_shape(from_same_client, 429, "throttled")
    assert from_elsewhere.status_code == 200
    assert from_elsewhere.json()["token"]


def test_admin_login_is_throttled_per_username(django_user_model, login_limits):
    django_user_model.objects.create_user("root", password="root-password-1", is_staff=True)
    browser = Client(REMOTE_ADDR="10.0.3.1")
    login = "/admin/login/"

    wrong = [browser.post(login, {"username": "root", "password": f"guess-{i}"}) for i in range(3)]
    refused = browser.post(login, {"username": "root", "password": "root-password-1"})

    assert [r.status_code for r in wrong] == [200, 200, 200]  # the form again, with an error
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in browser.session


def test_admin_login_still_works_under_the_limit(django_user_model, login_limits):
    django_user_model.objects.create_user("root", password="root-password-1", is_staff=True)
    browser = Client(REMOTE_ADDR="10.0.4.1")
    browser.post("/admin/login/", {"username": "root", "password": "wrong"})

    response = browser.post("/admin/login/", {"username": "root", "password": "root-password-1"})

    assert response.status_code == 302
    assert browser.session["_auth_user_id"]


# --- 401 with a challenge, not 403 -----------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Token not-a-real-token", "Token "])
def test_missing_or_wrong_credentials_answer_401_with_a_token_challenge(alice, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}

    response = APIClient().get("/api/listens/", **headers)

    assert_error_shape(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_a_valid_token_still_works(alice):
    token = issue_api_token(user=alice)[1]
    response = APIClient().get("/api/listens/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200


# --- Invalid boolean filters ----------------------------------------------------------


@pytest.mark.parametrize("query", [{"resolved": "maybe"}, {"include_duplicates": "perhaps"}])
def test_an_invalid_boolean_filter_is_a_400(as_alice, query):
    response = as_alice.get("/api/listens/", query)
    error = assert_error_shape(response, 400)
    assert list(query) == list(error["detail"])


@pytest.mark.parametrize(("value", "count"), [("true", 0), ("false", 1), ("0", 1), ("", 1)])
def test_valid_boolean_filters_still_filter(as_alice, alice, value, count):
    make_listen(make_account(alice))
    response = as_alice.get("/api/listens/", {"resolved": value})
    assert response.status_code == 200
    assert len(response.json()["results"]) == count


# --- Defect 7: the error shape everywhere under /api/ ------------------------------------------


@pytest.mark.parametrize("path", ["/api/nope/", "/api/listens/1/extra/", "/api/", "/api/x%00y/"])
def test_unrouted_api_paths_answer_a_json_404(as_alice, path):
    assert_error_shape(as_alice.get(path), 404, "not_found")


def test_unrouted_paths_outside_the_api_keep_django_pages(client):
    response = client.get("/nope/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_body_over_the_size_limit_is_a_json_413(as_alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"source": "lastfm", "external_username": "' + "x" * 2000 + '"}'

    response = as_alice.post("/api/accounts/", body, content_type="application/json")

    assert_error_shape(response, 413, "too_large")


def test_a_form_with_too_many_fields_is_a_json_413(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{i}=x" for i in range(50))

    response = client.post(
        "/api/auth/token/", body, content_type="application/x-www-form-urlencoded"
    )

    assert_error_shape(response, 413, "too_many_fields")


@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_is_a_json_500_that_says_nothing_internal(as_alice, monkeypatch, settings, debug):
    settings.DEBUG = debug

    def crash(**kwargs):
        raise RuntimeError("internal detail: /srv/sidetrack/secret.py line 12")

    monkeypatch.setattr(TopArtistsView, "selector", staticmethod(crash))
    as_alice.raise_request_exception = False

    response = as_alice.get("/api/stats/top-artists/")

    assert_error_shape(response, 500, "server_error")
    assert "internal detail" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()


def test_a_crash_still_reaches_django_s_handling(as_alice, monkeypatch):
    # Logged and signalled as before (the test client re-raises what was signalled).
    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(TopArtistsView, "selector", staticmethod(crash))
    with pytest.raises(RuntimeError, match="boom"):
        as_alice.get("/api/stats/top-artists/")


# --- The DEBUG page and DATABASE_URL ---------------------------------------------------------


def debug_page_for_crash(request, url: str) -> str:
    """Django's DEBUG page for an exception raised where a local variable holds ``url``."""

    def failing() -> None:
        database = url  # noqa: F841  (a local the page lists)
        raise RuntimeError("boom")

    try:
        failing()
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()
    raise AssertionError("unreachable")


def test_the_debug_page_never_shows_url_credentials(settings):
    # Made up at run time: the page also quotes this file's source lines.
    redis_pw, db_pw, local_pw = (uuid.uuid4().hex for _ in range(3))
    settings.DEBUG = True
    settings.REDIS_URL = f"redis://:{redis_pw}@cache:6379/0"
    # Under runserver the process environment is part of request.META.
    request = RequestFactory().get(
        "/boom/", DATABASE_URL=f"postgres://sidetrack:{db_pw}@db:5432/sidetrack"
    )
    request.user = get_user_model()(username="someone")

    page = debug_page_for_crash(request, f"postgres://sidetrack:{local_pw}@db:5432/sidetrack")

    assert "RuntimeError" in page  # it is the real DEBUG page
    assert "postgres://sidetrack:" in page  # where the database is, not how to log in
    for password in (redis_pw, db_pw, local_pw):
        assert password not in page
