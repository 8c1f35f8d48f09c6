"""Writes for album clubs: clubs, invitations, members and nominations. Keyword
arguments only, no HTTP: the REST API, the members' web and Discord call the same
functions.

Joining is the joining user's own act: an owner makes an invitation (a code, with an
expiry and a number of uses), the invitee accepts or declines it. Refusals are
``ClubError`` with a ``ClubRule``; an unusable invitation (unknown code, expired,
used up, revoked, declined, addressed to someone else) is one refusal, so a code
tells nothing about who exists.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from clubs.models import Club, Invitation, Membership, Nomination
from clubs.selectors import code_digest, open_invitations, usable_invitation
from metadata.clients import musicbrainz as mb
from metadata.matching import AlbumChoice
from metadata.models import ReleaseGroup
from metadata.services import import_release_group, search_albums
from sidetrack.parsing import parse_mbid

logger = logging.getLogger(__name__)


class ClubRule(StrEnum):
    """The rule a refused request broke; API clients see it as the error code."""

    NOT_OWNER = "not_owner"
    NOT_A_MEMBER = "not_a_member"
    OWNER_CANNOT_LEAVE = "owner_cannot_leave"
    INVALID_PERIOD = "invalid_period"
    INVALID_INVITATION = "invalid_invitation"
    # Caps (settings MAX_*): 409.
    TOO_MANY_CLUBS = "too_many_clubs"
    CLUB_FULL = "club_full"
    TOO_MANY_NOMINATIONS = "too_many_nominations"
    TOO_MANY_INVITATIONS = "too_many_invitations"


CAP_RULES = frozenset(
    {
        ClubRule.TOO_MANY_CLUBS,
        ClubRule.CLUB_FULL,
        ClubRule.TOO_MANY_NOMINATIONS,
        ClubRule.TOO_MANY_INVITATIONS,
    }
)

# What members of a club see of each other: said on every invitation and in the README.
MEMBERS_SEE = (
    "Members of this club see, for each album nominated in it and only for the "
    "nomination's period: your rank in the standings, how many of its tracks you heard, "
    "your play count, first and last listen per track and full listens of the album; "
    "and, for any period, a comparison of your top artists and albums with theirs "
    "(listen counts and overlap). They never see your listen history, accounts or "
    "tokens. Leaving the club takes effect at once."
)


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


def _cap(value: int | None, setting: str) -> int:
    return getattr(settings, setting) if value is None else value


def _locked_club(club: Club) -> Club:
    """The club's row, locked until the transaction ends: caps are counted under it,
    so concurrent requests on several processes cannot overshoot them."""
    return Club.objects.select_for_update().get(pk=club.pk)


@transaction.atomic
def club_create(*, name: str, owner: Any, max_owned: int | None = None) -> Club:
    """A new club with ``owner`` as its first member (at most ``MAX_CLUBS_OWNED_PER_USER``)."""
    limit = _cap(max_owned, "MAX_CLUBS_OWNED_PER_USER")
    # The owner's row serializes their concurrent creations.
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    if Club.objects.filter(owner_id=owner.pk).count() >= limit:
        raise ClubError(
            f"You own {limit} clubs, the most one user may own.", code=ClubRule.TOO_MANY_CLUBS
        )
    club = Club.objects.create(name=name.strip(), owner=owner)
    Membership.objects.create(club=club, user=owner, joined_via=Membership.JoinedVia.OWNER)
    return club


def club_rename(*, club: Club, actor: Any, name: str) -> Club:
    _require_owner(club, actor)
    club.name = name.strip()
    club.save(update_fields=["name"])
    return club


def club_delete(*, club: Club, actor: Any) -> None:
    _require_owner(club, actor)
    club.delete()


def invitation_create(
    *,
    club: Club,
    actor: Any,
    invitee_username: str = "",
    expires_at: datetime | None = None,
    max_uses: int = 1,
    now: datetime | None = None,
    max_open: int | None = None,
) -> tuple[Invitation, str]:
    """The owner invites someone: the invitation and its code (shown this once).

    With ``invitee_username`` only that user may accept it, and it is listed among
    their invitations; whether the name belongs to anyone is not checked, so the
    answer is the same for every name. Without it, anyone holding the code may
    accept, ``max_uses`` times. It lapses at ``expires_at`` (default
    ``CLUB_INVITATION_DAYS`` from now)."""
    _require_owner(club, actor)
    now = now or timezone.now()
    expires_at = expires_at or now + timedelta(days=settings.CLUB_INVITATION_DAYS)
    if expires_at <= now:
        raise ClubError("An invitation must expire in the future.", code=ClubRule.INVALID_PERIOD)
    limit = _cap(max_open, "MAX_OPEN_INVITATIONS_PER_CLUB")
    code = secrets.token_urlsafe(18)  # 144 bits: not guessable, safe in a URL
    with transaction.atomic():
        _locked_club(club)
        if Invitation.objects.filter(open_invitations(now=now), club=club).count() >= limit:
            raise ClubError(
                f"This club has {limit} open invitations, the most allowed; revoke one first.",
                code=ClubRule.TOO_MANY_INVITATIONS,
            )
        invitation = Invitation.objects.create(
            club=club,
            created_by=actor,
            invitee_name=(invitee_username or "").strip()[:150],
            prefix=code[:8],
            digest=code_digest(code),
            expires_at=expires_at,
            max_uses=max(1, max_uses),
        )
    return invitation, code


def invitation_revoke(*, invitation: Invitation, actor: Any) -> None:
    """The owner withdraws an invitation; it stops working at once."""
    _require_owner(invitation.club, actor)
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def _invitation(
    user: Any, code: str | None, invitation_id: int | None, now: datetime, *, lock: bool
) -> Invitation:
    found = usable_invitation(user=user, code=code, invitation_id=invitation_id, now=now, lock=lock)
    if found is None:
        raise ClubError(
            "This invitation does not exist, has expired or was used up.",
            code=ClubRule.INVALID_INVITATION,
        )
    return found


def invitation_accept(
    *,
    user: Any,
    code: str | None = None,
    invitation_id: int | None = None,
    now: datetime | None = None,
    max_members: int | None = None,
) -> Membership:
    """``user`` joins the invitation's club (their consent). Accepting while already a
    member changes nothing and uses nothing up."""
    now = now or timezone.now()
    limit = _cap(max_members, "MAX_MEMBERS_PER_CLUB")
    with transaction.atomic():
        invitation = _invitation(user, code, invitation_id, now, lock=True)
        club = _locked_club(invitation.club)
        existing = Membership.objects.filter(club=club, user=user).first()
        if existing is not None:
            return existing
        if club.memberships.count() >= limit:
            raise ClubError(
                f"This club has {limit} members, the most allowed.", code=ClubRule.CLUB_FULL
            )
        Invitation.objects.filter(pk=invitation.pk).update(uses=F("uses") + 1)
        try:
            with transaction.atomic():
                return Membership.objects.create(
                    club=club, user=user, joined_via=Membership.JoinedVia.INVITATION
                )
        except IntegrityError:  # joined concurrently through another invitation
            return Membership.objects.get(club=club, user=user)


def invitation_decline(
    *,
    user: Any,
    code: str | None = None,
    invitation_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """``user`` declines: an invitation addressed to them stops working; for an open
    code nothing is recorded (they simply do not join)."""
    now = now or timezone.now()
    invitation = _invitation(user, code, invitation_id, now, lock=False)
    if invitation.invitee_name:
        Invitation.objects.filter(pk=invitation.pk, declined_at__isnull=True).update(
            declined_at=now
        )


def member_leave(*, club: Club, user: Any) -> None:
    """``user`` leaves the club, at once: from this request on, the club sees nothing
    of theirs. The owner cannot leave (they delete the club)."""
    member_remove(club=club, actor=user, username=user.get_username())


def join_club(
    *, club: Club, user: Any, via: str, max_members: int | None = None
) -> tuple[Membership, bool]:
    """``user`` joins ``club`` by their own act, and whether they were new: ``via`` is
    ``Membership.JoinedVia.DISCORD`` for ``/club join`` in a server bound to the club
    (binding it took the owner's one-time code). Joining again changes nothing."""
    limit = _cap(max_members, "MAX_MEMBERS_PER_CLUB")
    with transaction.atomic():
        club = _locked_club(club)
        existing = Membership.objects.filter(club=club, user=user).first()
        if existing is not None:
            return existing, False
        if club.memberships.count() >= limit:
            raise ClubError(
                f"This club has {limit} members, the most allowed.", code=ClubRule.CLUB_FULL
            )
        membership = Membership.objects.create(club=club, user=user, joined_via=via)
    logger.info("user %s joined club %s via %s", user.pk, club.pk, via)
    return membership, True


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
    max_open: int | None = None,
) -> Nomination:
    """Nominate an album in the club, importing it from MusicBrainz when needed.

    A search must be confident (``metadata.services.search_albums``); otherwise
    ``AlbumChoiceNeeded`` carries the ranked candidates, and the user nominates
    again with the MBID they picked. Every edition's tracklist is stored, so bonus
    tracks can be listed. HTTP happens before the nomination's transaction.
    """
    if ends_at is not None and ends_at <= starts_at:
        raise ClubError("A nomination must end after it starts.", code=ClubRule.INVALID_PERIOD)
    limit = _cap(max_open, "MAX_OPEN_NOMINATIONS_PER_CLUB")
    _check_open_nominations(club, limit)  # before any MusicBrainz request
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
    with transaction.atomic():
        _locked_club(club)
        _check_open_nominations(club, limit)  # again, under the lock
        return Nomination.objects.create(
            club=club,
            release_group=group,
            nominated_by=actor,
            starts_at=starts_at,
            ends_at=ends_at,
        )


def _check_open_nominations(club: Club, limit: int) -> None:
    open_now = Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now())
    if club.nominations.filter(open_now).count() >= limit:
        raise ClubError(
            f"This club has {limit} open nominations, the most allowed; end or withdraw one first.",
            code=ClubRule.TOO_MANY_NOMINATIONS,
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
