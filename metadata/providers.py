"""Factories that build external-service clients from Django settings."""

from __future__ import annotations

from django.conf import settings

from metadata.clients.musicbrainz import MusicBrainzClient
from sidetrack.config import (
    http_retry_policy,
    http_timeout,
    musicbrainz_rate_limiter,
    require_setting,
)


def get_musicbrainz_client() -> MusicBrainzClient:
    """A client identified by SIDETRACK_MUSICBRAINZ_APP_NAME (``App/version ( contact )``).

    Raises ``ImproperlyConfigured`` naming the variable when it is unset: MusicBrainz
    may refuse anonymous User-Agents with 403, so failing early is clearer.
    """
    return MusicBrainzClient(
        base_url=settings.MUSICBRAINZ_BASE_URL,
        user_agent=require_setting("SIDETRACK_MUSICBRAINZ_APP_NAME"),
        timeout=http_timeout(),
        retry=http_retry_policy(),
        rate_limiter=musicbrainz_rate_limiter(),
    )
