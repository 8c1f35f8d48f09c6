"""Reads of listens: lists, filters, stats and curation queues. Keyword arguments only.

Every count here is of *counted* listens: a listen scrobbled to both sources is
stored twice, and the copy marked ``duplicate_of`` is left out, so it counts once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncDate

from accounts.models import ExternalAccount, ListenSource
from listens.models import ListenEvent, TasteSnapshot
from metadata.models import ArtistCredit, Recording, Track


def listens_visible_to(*, viewer: Any) -> QuerySet[ListenEvent]:
    """Every listen for a viewer with the admin's ``listens.view_listenevent``, the
    viewer's own otherwise, with what the API renders."""
    listens = (
        ListenEvent.objects.select_related("recording")
        .defer("raw_payload")  # the source's whole payload: large, never rendered
        .annotate(username=F("user__username"))
    )
    if not viewer.has_perm("listens.view_listenevent"):
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
        listens = listens.counted()
    listens = listens.between(since=since, until=until)
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
    """The user's listens that count in stats, in [since, until)."""
    return ListenEvent.objects.counted().filter(user_id=user_id).between(since=since, until=until)


def _aggregate_then_join(grouped: QuerySet[Any], outer: str, params: list[Any]) -> list[tuple]:
    """Run ``outer`` with ``{counts}`` replaced by ``grouped`` as a derived table
    (and ``{recordings}``, ``{credits}`` by those tables).

    Counting listens first, per recording, and joining the recordings (and credits)
    to those few rows afterwards lets the database read one index over the listens
    and join thousands of rows, not a million; the ORM cannot put an aggregate
    in FROM, so the outer query is written here (plain SQL both databases run).
    """
    inner_sql, inner_params = grouped.query.sql_with_params()
    sql = outer.format(
        counts=f"({inner_sql})",
        recordings=connection.ops.quote_name(Recording._meta.db_table),
        credits=connection.ops.quote_name(ArtistCredit._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*inner_params, *params])
        return cursor.fetchall()


def top_artists(
    *, user_id: int, since: datetime | None = None, until: datetime | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """[{name, listen_count}] by the recording's MusicBrainz credit, else the listen's text."""
    # Grouped by artist text first so that no index's recording order tempts SQLite
    # away from the (user, listened_at) index when a time range is given.
    per_recording = (
        counted_listens(user_id=user_id, since=since, until=until)
        .values("artist_name", "recording_id")
        .annotate(listen_count=Count("*"))
        .order_by()
    )
    rows = _aggregate_then_join(
        per_recording,
        """
        SELECT COALESCE(NULLIF(credit.name, ''), counts.artist_name) AS artist,
               SUM(counts.listen_count) AS listen_count
        FROM {counts} counts
        JOIN {recordings} recording ON recording.id = counts.recording_id
        LEFT JOIN {credits} credit ON credit.id = recording.artist_credit_id
        GROUP BY 1
        ORDER BY 2 DESC, 1
        LIMIT %s
        """,
        [limit],
    )
    return [{"name": name, "listen_count": int(count)} for name, count in rows]


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
    per_recording = (
        counted_listens(user_id=user_id, since=since, until=until)
        .values("recording_id")
        .annotate(listen_count=Count("*"))
        .order_by()
    )
    rows = _aggregate_then_join(
        per_recording,
        """
        SELECT counts.recording_id, recording.mbid, recording.title, recording.artist_name,
               recording.status, counts.listen_count
        FROM {counts} counts
        JOIN {recordings} recording ON recording.id = counts.recording_id
        ORDER BY counts.listen_count DESC, recording.title, counts.recording_id
        LIMIT %s
        """,
        [limit],
    )
    mbid_field = Recording._meta.get_field("mbid")
    return [
        {
            "recording_id": recording_id,
            # A raw cursor gives the database's form (text on SQLite): let the field say.
            "mbid": mbid_field.to_python(mbid) if mbid is not None else None,
            "title": title,
            "artist_name": artist_name,
            "status": status,
            "listen_count": listen_count,
        }
        for recording_id, mbid, title, artist_name, status, listen_count in rows
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


# --- The ListenBrainz-compatible /1/ API ----------------------------------------------


@dataclass(frozen=True)
class ListenBrainzPage:
    listens: list[dict[str, Any]]  # in ListenBrainz's listen shape, newest first
    latest_listen_ts: int  # the user's newest and oldest counted listens (0: none)
    oldest_listen_ts: int


def user_listens_page(
    *, user: Any, min_ts: int | None, max_ts: int | None, count: int
) -> ListenBrainzPage:
    """The user's counted listens strictly between ``min_ts`` and ``max_ts`` (UTC
    seconds, either optional), newest first, as ListenBrainz shapes them (what the
    client sent in ``additional_info``, Sidetrack's resolution in ``mbid_mapping``).
    With only ``min_ts`` the ``count`` listens just after it are taken, as ListenBrainz
    does. A user without listens has 0 as newest and oldest, as on ListenBrainz."""
    counted = ListenEvent.objects.counted().filter(user_id=user.pk)
    listens = counted.select_related("recording")
    if min_ts is not None:
        listens = listens.filter(listened_at__gt=_utc(min_ts))
    if max_ts is not None:
        listens = listens.filter(listened_at__lt=_utc(max_ts))
    if min_ts is not None and max_ts is None:
        rows = list(listens.order_by("listened_at", "id")[:count])[::-1]
    else:
        rows = list(listens.order_by("-listened_at", "-id")[:count])
    times = counted.order_by("-listened_at").values_list("listened_at", flat=True)
    latest = times.first()
    oldest = counted.order_by("listened_at").values_list("listened_at", flat=True).first()
    return ListenBrainzPage(
        listens=[_listenbrainz_listen(row, user.username) for row in rows],
        latest_listen_ts=int(latest.timestamp()) if latest else 0,
        oldest_listen_ts=int(oldest.timestamp()) if oldest else 0,
    )


def user_listen_count(*, user: Any) -> int:
    """The user's counted listens, as ``/1/user/{name}/listen-count`` gives them."""
    return counted_listens(user_id=user.pk).count()


def user_by_username(*, username: str) -> Any | None:
    """The user named ``username``; ListenBrainz's names are case-insensitive, so
    another case finds them too (the exact name first)."""
    users = get_user_model().objects
    return (
        users.filter(username=username).first()
        or users.filter(username__iexact=username).order_by("pk").first()
    )


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(max(0, min(seconds, 253_402_300_799)), tz=UTC)


# Sidetrack has no MessyBrainz ids; each listen gets a stable one of its own.
_LISTEN_MSID_NAMESPACE = uuid.UUID("5b7c0f7e-3a59-4a4e-9d0c-6a1f1e0c7a13")
# Sources whose stored payload is a ListenBrainz listen (track_metadata and all).
_LISTENBRAINZ_SHAPED = (ListenSource.SUBMITTED, ListenSource.LISTENBRAINZ)


def _listenbrainz_listen(row: ListenEvent, username: str) -> dict[str, Any]:
    msid = str(uuid.uuid5(_LISTEN_MSID_NAMESPACE, str(row.pk)))
    raw = row.raw_payload if row.source in _LISTENBRAINZ_SHAPED else {}
    sent = raw.get("track_metadata") if isinstance(raw, dict) else None
    sent = sent if isinstance(sent, dict) else {}
    # The client's own keys come back as sent (ListenBrainz keeps unknown ones too);
    # names are the cleaned ones stored, and the mapping is ours, never the client's.
    metadata: dict[str, Any] = {
        key: value
        for key, value in sent.items()
        if key
        not in ("artist_name", "track_name", "release_name", "additional_info", "mbid_mapping")
    }
    metadata["artist_name"] = row.artist_name
    metadata["track_name"] = row.track_name
    if row.album_name:
        metadata["release_name"] = row.album_name
    info = sent.get("additional_info")
    info = flatten_additional_info(info) if isinstance(info, dict) else {}
    info["recording_msid"] = msid  # ListenBrainz sets its own here too
    info.setdefault("sidetrack_source", row.source)
    metadata["additional_info"] = info
    if row.recording.mbid:
        metadata["mbid_mapping"] = {
            "recording_mbid": str(row.recording.mbid),
            "recording_name": row.recording.title,
        }
    return {
        "listened_at": int(row.listened_at.timestamp()),
        "inserted_at": int(row.ingested_at.timestamp()),
        "recording_msid": msid,
        "user_name": username,
        "track_metadata": metadata,
    }


def flatten_additional_info(info: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects flattened into dotted keys (``{"a": {"b": 1}}`` → ``{"a.b": 1}``),
    as ListenBrainz answers ``additional_info``; lists are left as they are."""
    flat: dict[str, Any] = {}
    for key, value in info.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_additional_info(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def submitted_account_of(*, user: Any) -> ExternalAccount | None:
    return ExternalAccount.objects.filter(user=user, source=ListenSource.SUBMITTED).first()


def listens_per_day(*, user_id: int, since: datetime, until: datetime) -> dict[date, int]:
    """The user's counted listens per UTC day in [since, until): one grouped query."""
    rows = (
        counted_listens(user_id=user_id, since=since, until=until)
        .annotate(day=TruncDate("listened_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("day", "n")
    )
    return dict(rows)
