"""Factories that build external-service clients from Django settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from metadata.clients.mbid_mapper import MbidMapperClient
from metadata.clients.musicbrainz import MusicBrainzClient
from sidetrack.config import (
    http_options,
    musicbrainz_rate_limiter,
    require_setting,
    sidetrack_user_agent,
)


def get_musicbrainz_client() -> MusicBrainzClient:
    """A client identified by SIDETRACK_MUSICBRAINZ_APP_NAME (``App/version ( contact )``).

    Raises ``ImproperlyConfigured`` naming the variable when it is unset: MusicBrainz
    may refuse anonymous User-Agents with 403, so failing early is clearer.
    """
    return MusicBrainzClient(
        base_url=settings.MUSICBRAINZ_BASE_URL,
        options=http_options(
            user_agent=require_setting("SIDETRACK_MUSICBRAINZ_APP_NAME"),
            rate_limiter=musicbrainz_rate_limiter(),
        ),
    )


def get_mbid_mapper_client() -> MbidMapperClient:
    """ListenBrainz's MBID mapper; needs no key. Identifies as the ListenBrainz
    User-Agent when set, else as Sidetrack's MusicBrainz app name."""
    user_agent = (settings.LISTENBRAINZ_USER_AGENT or "").strip() or sidetrack_user_agent()
    return MbidMapperClient(
        base_url=settings.MBID_MAPPER_BASE_URL, options=http_options(user_agent=user_agent)
    )


_FACTORIES = {"musicbrainz": get_musicbrainz_client, "mbid_mapper": get_mbid_mapper_client}


@contextmanager
def client_for(service: str) -> Iterator[MusicBrainzClient | MbidMapperClient]:
    """The client of a metadata service (``musicbrainz`` or ``mbid_mapper``), closed
    when done; as ``listens.providers.client_for`` does for listen sources."""
    factory = _FACTORIES.get(service)
    if factory is None:
        raise ValueError(f"no client for service {service!r}")
    client = factory()
    try:
        yield client
    finally:
        client.close()


@contextmanager
def musicbrainz_client(
    client: MusicBrainzClient | None = None,
) -> Iterator[MusicBrainzClient]:
    """``client`` as given (its owner closes it), or a configured one closed when done:
    services take an optional client for tests and batch callers."""
    if client is not None:
        yield client
        return
    with client_for("musicbrainz") as built:
        yield built  # type: ignore[misc]
