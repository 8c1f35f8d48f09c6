"""Reads of listens: lists, filters, stats and curation queues. Keyword arguments only.

Every count here is of *counted* listens: a listen scrobbled to both sources is
stored twice, and the copy marked ``duplicate_of`` is left out, so it counts once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, NullIf

from accounts.models import ListenSource
from listens.models import ListenEvent, TasteSnapshot
from metadata.models import Recording, Track


def listens_visible_to(*, viewer: Any) -> QuerySet[ListenEvent]:
    """Every listen for staff, the viewer's own otherwise, with what the API renders."""
    listens = (
        ListenEvent.objects.select_related("recording")
        .defer("raw_payload")  # the source's whole payload: large, never rendered
        .annotate(username=F("user__username"))
    )
    if not viewer.is_staff:
        listens = listens.filter(user_id=viewer.pk)
    return listens


def user_id_by_username(*, username: str) -> int | None:
    return get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()


def listens_filter(
    listens: QuerySet[ListenEvent],
    *,
    username: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    resolved: bool | None = None,
    artist_mbid: uuid.UUID | None = None,
    release_group_mbid: uuid.UUID | None = None,
    recording_mbid: uuid.UUID | None = None,
    include_duplicates: bool = False,
) -> QuerySet[ListenEvent]:
    """Narrow ``listens``; ``since`` is inclusive, ``until`` exclusive.

    Artist and release-group filters are ``Exists`` subqueries: a join through
    credits or tracklists would repeat a listen once per matching row.
    """
    if username:
        listens = listens.filter(user__username=username)
    if not include_duplicates:
        listens = listens.filter(duplicate_of__isnull=True)
    if since is not None:
        listens = listens.filter(listened_at__gte=since)
    if until is not None:
        listens = listens.filter(listened_at__lt=until)
    if source:
        listens = listens.filter(source=source)
    if resolved is not None:
        listens = listens.filter(recording__mbid__isnull=not resolved)
    if recording_mbid is not None:
        listens = listens.filter(
            Exists(Recording.objects.filter(pk=OuterRef("recording_id"), mbid=recording_mbid))
        )
    if artist_mbid is not None:
        credited = Recording.objects.filter(
            pk=OuterRef("recording_id"), artist_credit__names__artist__mbid=artist_mbid
        )
        listens = listens.filter(Exists(credited))
    if release_group_mbid is not None:
        on_group = Track.objects.filter(
            recording_id=OuterRef("recording_id"), release__release_group__mbid=release_group_mbid
        )
        listens = listens.filter(Exists(on_group))
    return listens


def counted_listens(
    *, user_id: int, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[ListenEvent]:
    """The user's listens that count in stats: cross-source duplicates left out."""
    listens = ListenEvent.objects.filter(user_id=user_id, duplicate_of__isnull=True)
    if since is not None:
        listens = listens.filter(listened_at__gte=since)
    if until is not None:
        listens = listens.filter(listened_at__lt=until)
    return listens


def top_artists(
    *, user_id: int, since: datetime | None = None, until: datetime | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """[{name, listen_count}] by the recording's MusicBrainz credit, else the listen's text."""
    name = Coalesce(
        NullIf(F("recording__artist_credit__name"), Value("")),
        F("artist_name"),
        output_field=TextField(),
    )
    rows = (
        counted_listens(user_id=user_id, since=since, until=until)
        .annotate(artist=name)
        .values("artist")
        .annotate(listen_count=Count("pk"))
        .order_by("-listen_count", "artist")[:limit]
    )
    return [{"name": row["artist"], "listen_count": row["listen_count"]} for row in rows]


def top_albums(
    *, user_id: int, since: datetime | None = None, until: datetime | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """[{album_name, artist_name, listen_count}] by the listen's album and artist text."""
    rows = (
        counted_listens(user_id=user_id, since=since, until=until)
        .exclude(album_name="")
        .values("album_name", "artist_name")
        .annotate(listen_count=Count("pk"))
        .order_by("-listen_count", "album_name", "artist_name")[:limit]
    )
    return list(rows)


def top_recordings(
    *, user_id: int, since: datetime | None = None, until: datetime | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """[{recording_id, mbid, title, artist_name, status, listen_count}] by recording."""
    rows = (
        counted_listens(user_id=user_id, since=since, until=until)
        .values(
            "recording_id",
            "recording__mbid",
            "recording__title",
            "recording__artist_name",
            "recording__status",
        )
        .annotate(listen_count=Count("pk"))
        .order_by("-listen_count", "recording__title", "recording_id")[:limit]
    )
    return [
        {
            "recording_id": row["recording_id"],
            "mbid": row["recording__mbid"],
            "title": row["recording__title"],
            "artist_name": row["recording__artist_name"],
            "status": row["recording__status"],
            "listen_count": row["listen_count"],
        }
        for row in rows
    ]


def latest_taste_snapshots(*, user_id: int) -> QuerySet[TasteSnapshot]:
    """The newest snapshot per (account, kind, period) of the user's Last.fm accounts."""
    newest = (
        TasteSnapshot.objects.filter(
            account_id=OuterRef("account_id"), kind=OuterRef("kind"), period=OuterRef("period")
        )
        .order_by("-taken_at", "-pk")
        .values("pk")[:1]
    )
    return (
        TasteSnapshot.objects.filter(account__user_id=user_id, account__source=ListenSource.LASTFM)
        .filter(pk=Subquery(newest))
        .select_related("account")
        .order_by("account_id", "kind", "period")
    )
