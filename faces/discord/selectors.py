"""Reads for Discord's answers: who is linked, which club a server is bound to, and
"who knows" counts. Everything counted comes from clubs' and listens' rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from clubs.models import Club, Membership, Nomination
from clubs.selectors import counted_listens
from faces.discord.models import DiscordLink, GuildClub
from listens.models import ListenEvent
from metadata.models import Artist, Recording, ReleaseGroup


def linked_user(*, discord_id: str) -> Any | None:
    link = DiscordLink.objects.filter(discord_id=discord_id).select_related("user").first()
    return link.user if link else None


def guild_club(*, guild_id: str | None) -> Club | None:
    if not guild_id:
        return None
    binding = GuildClub.objects.filter(guild_id=guild_id).select_related("club__owner").first()
    return binding.club if binding else None


def is_member(*, club: Club, user_id: int) -> bool:
    return Membership.objects.filter(club=club, user_id=user_id).exists()


def current_nomination(*, club: Club, now: datetime) -> Nomination | None:
    """The latest nomination that has started and not ended."""
    return (
        club.nominations.select_related("release_group__artist_credit")
        .filter(starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("-starts_at", "-pk")
        .first()
    )


def last_listen(*, user_id: int) -> ListenEvent | None:
    return (
        counted_listens(user_ids=[user_id], since=None, until=None)
        .select_related("recording")
        .defer("raw_payload")
        .order_by("-listened_at", "-id")
        .first()
    )


def member_plays(*, user_ids: Sequence[int], recordings: QuerySet[Recording]) -> dict[int, int]:
    """User id -> counted plays of ``recordings``, for the given users (a club's
    members), with no entry for a user who has none.

    The one place Discord counts plays: the counted-listen rule is
    ``clubs.selectors.counted_listens`` (cross-source copies once); identity is
    the recording row, so any spelling of one MBID counts, and a live recording
    (its own row) is not the studio one."""
    rows = (
        counted_listens(user_ids=user_ids, since=None, until=None)
        .filter(recording_id__in=recordings.values("pk"))
        .values("user_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["user_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Target:
    """What ``/whoknows`` counts: a name to show, a MusicBrainz link, its recordings."""

    kind: str  # artist | album | track
    name: str
    by: str
    url: str
    recordings: QuerySet[Recording]
    others: int = 0  # more stored items of that kind with the same name


def _split(name: str) -> tuple[str | None, str]:
    """ "Artist - Title" or just "Title"."""
    for separator in (" – ", " — ", " - "):
        if separator in name:
            artist, title = name.split(separator, 1)
            return artist.strip() or None, title.strip()
    return None, name.strip()


def artist_target(*, name: str) -> Target | None:
    artists = Artist.objects.filter(name__iexact=name.strip()).order_by("pk")
    artist = artists.first()
    if artist is None:
        return None
    return Target(
        kind="artist",
        name=artist.name,
        by="",
        url=f"https://musicbrainz.org/artist/{artist.mbid}",
        recordings=Recording.objects.filter(artist_credit__names__artist=artist),
        others=artists.count() - 1,
    )


def album_target(*, name: str | None, club: Club, now: datetime) -> Target | None:
    """The album named (``Artist - Title`` narrows it), or the club's current nomination."""
    if not name or not name.strip():
        nomination = current_nomination(club=club, now=now)
        return _album(nomination.release_group, 0) if nomination else None
    artist, title = _split(name)
    groups = ReleaseGroup.objects.filter(title__iexact=title).select_related("artist_credit")
    if artist:
        groups = groups.filter(artist_credit__name__icontains=artist)
    # Groups with a stored tracklist first: they are the ones listens can count for.
    groups = groups.order_by("preferred_release_id", "pk")
    ordered = sorted(groups[:20], key=lambda g: (g.preferred_release_id is None, g.pk))
    if not ordered:
        return None
    return _album(ordered[0], len(ordered) - 1)


def _album(group: ReleaseGroup, others: int) -> Target:
    return Target(
        kind="album",
        name=group.title,
        by=group.artist_credit.name if group.artist_credit_id else "",
        url=f"https://musicbrainz.org/release-group/{group.mbid}",
        recordings=Recording.objects.filter(tracks__release__release_group=group),
        others=others,
    )


def track_target(*, name: str) -> Target | None:
    """A recording by title (``Artist - Title`` narrows it): one MBID, so a live
    recording of the same song is another track."""
    artist, title = _split(name)
    found = Recording.objects.filter(title__iexact=title, mbid__isnull=False).select_related(
        "artist_credit"
    )
    if artist:
        found = found.filter(artist_credit__name__icontains=artist)
    rows = list(found.order_by("pk")[:20])
    if not rows:
        return None
    recording = rows[0]
    return Target(
        kind="track",
        name=recording.title,
        by=recording.artist_credit.name if recording.artist_credit_id else recording.artist_name,
        url=f"https://musicbrainz.org/recording/{recording.mbid}",
        recordings=Recording.objects.filter(pk=recording.pk),
        others=len(rows) - 1,
    )
