"""What the three kinds of hashed secret share, seen through the door each is used at:
a submission token at /1/, an API token at /api/, a session key at /2.0/. "Last used"
moves at most once a minute; a revoked secret stops at once and revoking twice keeps
the first time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from accounts.api_tokens import issue_api_token
from accounts.scrobble_auth import (
    create_scrobble_api_key,
    create_scrobble_session,
    request_signature,
    revoke_scrobble_session,
)
from accounts.submission_tokens import create_submission_token, revoke_submission_token

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BUILT_IN_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _roomy_rate_limit(settings):
    settings.LISTENBRAINZ_API_RATE_LIMIT = 1000


def submission_token_works(token: str) -> bool:
    answer = Client().get("/1/validate-token", HTTP_AUTHORIZATION=f"Token {token}")
    return answer.json()["valid"]


def api_token_works(token: str) -> bool:
    return Client().get("/api/accounts/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def session_key_works(key: str, api_key: str = BUILT_IN_KEY, secret: str = "") -> bool:
    params = {"method": "track.scrobble", "api_key": api_key, "sk": key}
    params |= {"artist": "A", "track": "T", "timestamp": "1700000000", "format": "json"}
    if secret:
        params["api_sig"] = request_signature(params, secret)
    return "error" not in Client().post("/2.0/", params).json()


KINDS: dict[str, tuple[Callable, Callable[[str], bool]]] = {
    "submission token": (lambda user: create_submission_token(user=user), submission_token_works),
    "API token": (lambda user: issue_api_token(user=user), api_token_works),
    "session key": (lambda user: create_scrobble_session(user=user), session_key_works),
}


@pytest.mark.parametrize("kind", KINDS)
def test_last_used_moves_at_most_once_a_minute(kind, alice, time_machine):
    issue, works = KINDS[kind]
    time_machine.move_to(START, tick=False)
    row, secret = issue(alice)
    assert row.last_used_at is None

    assert works(secret)
    row.refresh_from_db()
    assert row.last_used_at == START

    time_machine.move_to(START + timedelta(seconds=59), tick=False)
    assert works(secret)
    row.refresh_from_db()
    assert row.last_used_at == START

    time_machine.move_to(START + timedelta(minutes=1), tick=False)
    assert works(secret)
    row.refresh_from_db()
    assert row.last_used_at == START + timedelta(minutes=1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_secret_of_an_inactive_user_or_too_long_does_not_work(kind, alice):
    issue, works = KINDS[kind]
    row, secret = issue(alice)
    assert not works(secret + "0" * 200)
    alice.is_active = False
    alice.save()
    assert not works(secret)
    row.refresh_from_db()
    assert row.last_used_at is None


@pytest.mark.parametrize(
    ("issue", "revoke", "works"),
    [
        (
            lambda user: create_submission_token(user=user),
            lambda row: revoke_submission_token(token=row),
            submission_token_works,
        ),
        (
            lambda user: create_scrobble_session(user=user),
            lambda row: revoke_scrobble_session(session=row),
            session_key_works,
        ),
    ],
    ids=["submission token", "session key"],
)
def test_revoking_stops_the_secret_and_keeps_the_first_time(
    issue, revoke, works, alice, time_machine
):
    time_machine.move_to(START, tick=False)
    row, secret = issue(alice)
    assert works(secret)
    assert revoke(row).revoked_at == START
    assert not works(secret)

    time_machine.move_to(START + timedelta(hours=1), tick=False)
    assert revoke(row).revoked_at == START
    assert not row.active


def test_a_session_made_through_an_issued_key_is_not_used_without_it(alice, time_machine):
    time_machine.move_to(START, tick=False)
    issued = create_scrobble_api_key(name="Desk Player")
    other = create_scrobble_api_key(name="Other Player")
    row, key = create_scrobble_session(user=alice, api_key=issued)

    assert not session_key_works(key)
    assert not session_key_works(key, api_key=other.key, secret=other.secret)
    row.refresh_from_db()
    assert row.last_used_at is None

    assert session_key_works(key, api_key=issued.key, secret=issued.secret)
    row.refresh_from_db()
    assert row.last_used_at == START
