"""Reads of the metadata tables, shaped for the API. Callers pass keyword arguments only.

Each selector returns rows with everything its caller renders already fetched
(``select_related`` / ``prefetch_related``), so rendering costs no further queries.
"""

from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from metadata.models import Artist, ArtistCreditName, Recording, Release, ReleaseGroup, Track


def parse_uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def artist_get(*, mbid: str | uuid.UUID) -> Artist | None:
    parsed = parse_uuid(mbid)
    return Artist.objects.filter(mbid=parsed).first() if parsed else None


def artist_release_groups(*, artist: Artist) -> QuerySet[ReleaseGroup]:
    """Stored release groups crediting ``artist``, oldest first. ``Exists`` rather
    than a join: an artist credited twice on one group must not list it twice."""
    credited = ArtistCreditName.objects.filter(
        credit_id=OuterRef("artist_credit_id"), artist=artist
    )
    return (
        ReleaseGroup.objects.filter(Exists(credited))
        .select_related("artist_credit")
        .order_by("first_release_date", "title", "pk")
    )


def release_group_get(*, mbid: str | uuid.UUID) -> ReleaseGroup | None:
    """A release group with its credit, releases and the preferred release's tracklist."""
    parsed = parse_uuid(mbid)
    if parsed is None:
        return None
    tracks = Track.objects.select_related("recording").order_by("medium_position", "position")
    return (
        ReleaseGroup.objects.filter(mbid=parsed)
        .select_related("artist_credit", "preferred_release")
        .prefetch_related(
            Prefetch("releases", queryset=Release.objects.order_by("date", "mbid")),
            Prefetch("preferred_release__tracks", queryset=tracks),
        )
        .first()
    )


def recording_get(*, mbid: str | uuid.UUID) -> Recording | None:
    """A resolved recording with the stored tracks (and their releases) it appears on."""
    parsed = parse_uuid(mbid)
    if parsed is None:
        return None
    tracks = Track.objects.select_related("release__release_group").order_by(
        "release__date", "release__mbid", "medium_position", "position"
    )
    return (
        Recording.objects.filter(mbid=parsed)
        .select_related("artist_credit")
        .prefetch_related(Prefetch("tracks", queryset=tracks))
        .first()
    )
