"""Build the listen-source clients from settings (clients themselves never read settings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from accounts.models import ListenSource
from listens.clients.lastfm import LastfmClient
from listens.clients.listenbrainz import ListenBrainzClient
from sidetrack.config import http_options, require_setting, sidetrack_user_agent

SourceClient = LastfmClient | ListenBrainzClient


def get_lastfm_client() -> LastfmClient:
    """Raises ``ImproperlyConfigured`` naming LASTFM_API_KEY / LASTFM_API_SECRET if unset."""
    return LastfmClient(
        api_key=require_setting("LASTFM_API_KEY"),
        api_secret=require_setting("LASTFM_API_SECRET"),
        base_url=settings.LASTFM_BASE_URL,
        options=http_options(user_agent=sidetrack_user_agent()),
    )


def get_listenbrainz_client(*, token: str | None = None) -> ListenBrainzClient:
    """Raises ``ImproperlyConfigured`` naming LISTENBRAINZ_USER_AGENT if unset.

    ``token`` is a user's ListenBrainz token, for calls made on their behalf.
    """
    return ListenBrainzClient(
        base_url=settings.LISTENBRAINZ_BASE_URL,
        token=token,
        # ListenBrainz asks for "App/version ( contact )": sent as configured.
        options=http_options(user_agent=require_setting("LISTENBRAINZ_USER_AGENT")),
    )


_FACTORIES = {
    ListenSource.LASTFM: get_lastfm_client,
    ListenSource.LISTENBRAINZ: get_listenbrainz_client,
}


@contextmanager
def client_for(source: str) -> Iterator[SourceClient]:
    """The client of a polled source, closed (its session's connections) when done.
    Raises ``ImproperlyConfigured`` naming a missing setting, ``ValueError`` for a
    source that is not polled (submitted listens have no upstream)."""
    factory = _FACTORIES.get(source)
    if factory is None:
        raise ValueError(f"no client for source {source!r}")
    client = factory()
    try:
        yield client
    finally:
        client.close()
