"""Build the listen-source clients from settings (clients themselves never read settings)."""

from __future__ import annotations

from django.conf import settings

from listens.clients.lastfm import LastfmClient
from listens.clients.listenbrainz import ListenBrainzClient
from sidetrack.config import http_retry_policy, http_timeout, require_setting, sidetrack_user_agent


def get_lastfm_client() -> LastfmClient:
    """Raises ``ImproperlyConfigured`` naming LASTFM_API_KEY / LASTFM_API_SECRET if unset."""
    return LastfmClient(
        api_key=require_setting("LASTFM_API_KEY"),
        api_secret=require_setting("LASTFM_API_SECRET"),
        base_url=settings.LASTFM_BASE_URL,
        user_agent=sidetrack_user_agent(),
        timeout=http_timeout(),
        retry=http_retry_policy(),
    )


def get_listenbrainz_client(*, token: str | None = None) -> ListenBrainzClient:
    """Raises ``ImproperlyConfigured`` naming LISTENBRAINZ_USER_AGENT if unset.

    ``token`` is a user's ListenBrainz token, for calls made on their behalf.
    """
    return ListenBrainzClient(
        base_url=settings.LISTENBRAINZ_BASE_URL,
        # ListenBrainz asks for "App/version ( contact )": sent as configured.
        user_agent=require_setting("LISTENBRAINZ_USER_AGENT"),
        token=token,
        timeout=http_timeout(),
        retry=http_retry_policy(),
    )
