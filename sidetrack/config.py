"""Reads the external-service settings for client factories and system checks."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from sidetrack.http.deadline import deadline_left
from sidetrack.http.options import HttpOptions, RetryPolicy
from sidetrack.http.ratelimit import RateLimiter, SharedRateLimiter


@dataclass(frozen=True)
class RequiredSetting:
    name: str
    needed_for: str


REQUIRED_SETTINGS = (
    RequiredSetting("SIDETRACK_MUSICBRAINZ_APP_NAME", "MusicBrainz lookups and track resolution"),
    RequiredSetting("LASTFM_API_KEY", "Last.fm ingest"),
    RequiredSetting("LASTFM_API_SECRET", "Last.fm ingest"),
    RequiredSetting("LISTENBRAINZ_USER_AGENT", "ListenBrainz ingest"),
)


def require_setting(name: str) -> str:
    """The setting's value, or ``ImproperlyConfigured`` naming the variable."""
    value = getattr(settings, name, "")
    if not value or not str(value).strip():
        needed_for = next((r.needed_for for r in REQUIRED_SETTINGS if r.name == name), "this")
        raise ImproperlyConfigured(
            f"{name} is not set: set the {name} environment variable to use {needed_for}."
        )
    return str(value).strip()


def http_timeout() -> tuple[float, float]:
    return (settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT)


def http_retry_policy() -> RetryPolicy:
    """The configured retries; none under a web request's deadline, where a retry's
    backoff would only spend the time the answer is waiting for."""
    if deadline_left() is not None:
        return RetryPolicy.none()
    return RetryPolicy(total=settings.HTTP_MAX_RETRIES, backoff_factor=settings.HTTP_BACKOFF_FACTOR)


def http_options(*, user_agent: str, rate_limiter: RateLimiter | None = None) -> HttpOptions:
    """The configured timeouts and retries for a client identifying as ``user_agent``."""
    return HttpOptions(
        user_agent=user_agent,
        timeout=http_timeout(),
        retry=http_retry_policy(),
        rate_limiter=rate_limiter,
    )


def musicbrainz_rate_limiter() -> SharedRateLimiter:
    """Shared by every process on the same cache (database by default, Redis when set)."""
    return SharedRateLimiter(
        cache, key="ratelimit:musicbrainz", rate=settings.MUSICBRAINZ_RATE_LIMIT
    )


def sidetrack_user_agent() -> str:
    """Identifies us to Last.fm, which asks for a descriptive User-Agent."""
    app_name = getattr(settings, "SIDETRACK_MUSICBRAINZ_APP_NAME", "")
    return app_name.strip() or "Sidetrack/0.1 ( https://github.com/sidetrack )"
