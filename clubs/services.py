"""Writes for album clubs: clubs, members and nominations. Keyword arguments only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from clubs.models import Club, Membership, Nomination
from metadata.clients import musicbrainz as mb
from metadata.matching import AlbumChoice
from metadata.models import ReleaseGroup
from metadata.services import import_release_group, search_albums
from sidetrack.parsing import parse_mbid

logger = logging.getLogger(__name__)


class ClubRule(StrEnum):
    """The rule a refused request broke; API clients see it as the error code."""

    NOT_OWNER = "not_owner"
    UNKNOWN_USER = "unknown_user"
    NOT_A_MEMBER = "not_a_member"
    OWNER_CANNOT_LEAVE = "owner_cannot_leave"
    INVALID_PERIOD = "invalid_period"


class ClubError(ValueError):
    """A request the club's rules refuse."""

    def __init__(self, message: str, *, code: ClubRule) -> None:
        super().__init__(message)
        self.code = code


class AlbumChoiceNeeded(Exception):
    """The album search was not confident: the user must pick one of the candidates."""

    def __init__(self, choice: AlbumChoice) -> None:
        super().__init__(f"Not sure which album you mean ({choice.reason}).")
        self.choice = choice


@transaction.atomic
def club_create(*, name: str, owner: Any) -> Club:
    """A new club with ``owner`` as its first member."""
    club = Club.objects.create(name=name.strip(), owner=owner)
    Membership.objects.create(club=club, user=owner)
    return club


def club_rename(*, club: Club, actor: Any, name: str) -> Club:
    _require_owner(club, actor)
    club.name = name.strip()
    club.save(update_fields=["name"])
    return club


def club_delete(*, club: Club, actor: Any) -> None:
    _require_owner(club, actor)
    club.delete()


def member_add(*, club: Club, actor: Any, username: str) -> Membership:
    """The owner adds a user by username; adding a member again changes nothing."""
    _require_owner(club, actor)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ClubError(f"No user {username!r}.", code=ClubRule.UNKNOWN_USER)
    try:
        with transaction.atomic():
            membership, _ = Membership.objects.get_or_create(club=club, user=user)
    except IntegrityError:  # added concurrently
        membership = Membership.objects.get(club=club, user=user)
    return membership


def join_club(*, club: Club, user: Any, via: str) -> tuple[Membership, bool]:
    """``user`` joins ``club`` by their own act (``via`` says where: "discord" for
    ``/club join`` in a server bound to the club), and whether they were new.
    Joining again changes nothing."""
    try:
        with transaction.atomic():
            membership, created = Membership.objects.get_or_create(club=club, user=user)
    except IntegrityError:  # joined concurrently
        membership, created = Membership.objects.get(club=club, user=user), False
    if created:
        logger.info("user %s joined club %s via %s", user.pk, club.pk, via)
    return membership, created


def member_leave(*, club: Club, user: Any) -> None:
    """``user`` leaves the club, at once. The owner cannot leave (they delete it)."""
    member_remove(club=club, actor=user, username=user.get_username())


def member_remove(*, club: Club, actor: Any, username: str) -> None:
    """The owner removes a member, or a member leaves. The owner cannot leave."""
    if username != actor.get_username():
        _require_owner(club, actor)
    if username == club.owner.get_username():
        raise ClubError(
            "The owner cannot leave the club; delete it instead.", code=ClubRule.OWNER_CANNOT_LEAVE
        )
    deleted, _ = Membership.objects.filter(club=club, user__username=username).delete()
    if not deleted:
        raise ClubError(f"{username!r} is not a member.", code=ClubRule.NOT_A_MEMBER)


def _require_owner(club: Club, actor: Any) -> None:
    if club.owner_id != actor.pk:
        raise ClubError("Only the club's owner may do this.", code=ClubRule.NOT_OWNER)


@dataclass(frozen=True)
class AlbumRequest:
    """What a member nominates: a release group MBID, or an artist and title to search."""

    release_group_mbid: str | None = None
    artist: str | None = None
    title: str | None = None
    year: int | None = None
    country: str | None = None


def nominate(
    *,
    club: Club,
    actor: Any,
    album: AlbumRequest,
    starts_at: datetime,
    ends_at: datetime | None = None,
    client: mb.MusicBrainzClient | None = None,
) -> Nomination:
    """Nominate an album in the club, importing it from MusicBrainz when needed.

    A search must be confident (``metadata.services.search_albums``); otherwise
    ``AlbumChoiceNeeded`` carries the ranked candidates, and the user nominates
    again with the MBID they picked. Every edition's tracklist is stored, so bonus
    tracks can be listed. HTTP happens before the nomination's transaction.
    """
    if ends_at is not None and ends_at <= starts_at:
        raise ClubError("A nomination must end after it starts.", code=ClubRule.INVALID_PERIOD)
    mbid = album.release_group_mbid
    if mbid is None:
        choice = search_albums(
            artist_name=album.artist or "",
            album_title=album.title or "",
            year=album.year,
            client=client,
        )
        if choice.chosen is None:
            raise AlbumChoiceNeeded(choice)
        mbid = choice.chosen.candidate.mbid
    group = _stored_with_tracklists(mbid)
    if group is None:
        group = import_release_group(
            mbid=mbid, country=album.country, all_tracklists=True, client=client
        )
    return Nomination.objects.create(
        club=club, release_group=group, nominated_by=actor, starts_at=starts_at, ends_at=ends_at
    )


def _stored_with_tracklists(mbid: str) -> ReleaseGroup | None:
    """The stored group when every one of its releases has its tracklist, else None."""
    parsed = parse_mbid(mbid)
    group = ReleaseGroup.objects.filter(mbid=parsed).first() if parsed else None
    if group is None or group.preferred_release_id is None:
        return None
    if group.releases.filter(tracklist_fetched_at__isnull=True).exists():
        return None
    return group


def nomination_delete(*, nomination: Nomination, actor: Any) -> None:
    """The owner or the member who nominated may withdraw a nomination."""
    if actor.pk not in (nomination.club.owner_id, nomination.nominated_by_id):
        raise ClubError(
            "Only the club's owner or the nominating member may do this.", code=ClubRule.NOT_OWNER
        )
    nomination.delete()
