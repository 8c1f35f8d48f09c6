from __future__ import annotations

import uuid

import pytest

from tests.workers import worker  # noqa: F401 - a fixture for every test


@pytest.fixture(autouse=True)
def own_login_failure_counters(monkeypatch):
    """Failed-login counters of this test only: in a shared cache (Redis) they would
    outlive it, and a few tests' wrong passwords from 127.0.0.1 would lock the next
    test's logins out."""
    monkeypatch.setattr("sidetrack.login_throttle.KEY_PREFIX", f"login-failures-{uuid.uuid4()}")


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def external_settings(settings):
    """All external-service variables set to test values, pointing at fake hosts."""
    settings.SIDETRACK_MUSICBRAINZ_APP_NAME = "SidetrackTests/0.1 ( tests@example.org )"
    settings.MUSICBRAINZ_BASE_URL = "https://mb.test/ws/2/"
    settings.MUSICBRAINZ_RATE_LIMIT = 0  # no sleeping in unit tests
    settings.LASTFM_API_KEY = "lfm-test-key-0123456789abcdef"
    settings.LASTFM_API_SECRET = "lfm-test-secret-fedcba9876543210"
    settings.LASTFM_BASE_URL = "https://lastfm.test/2.0/"
    settings.LISTENBRAINZ_USER_AGENT = "SidetrackTests/0.1 ( tests@example.org )"
    settings.LISTENBRAINZ_BASE_URL = "https://lb.test/1/"
    # Unit tests assert the exact window each run asks for; the late-scrobble
    # lookback has its own tests.
    settings.INGEST_LOOKBACK_SECONDS = 0
    settings.HTTP_MAX_RETRIES = 0
    settings.HTTP_BACKOFF_FACTOR = 0
    return settings


@pytest.fixture
def queued_tasks(monkeypatch):
    """Tasks sent to django-q2, as (function path, args, kwargs); nothing reaches a queue."""
    calls: list[tuple[str, tuple, dict]] = []

    def async_task(func: str, *args, **kwargs) -> str:
        calls.append((func, args, kwargs))
        return f"task-{len(calls)}"

    monkeypatch.setattr("django_q.tasks.async_task", async_task)
    return calls
