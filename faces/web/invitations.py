"""Club invitations as the invitation page needs them: the one place the web app talks
to the clubs' consent flow (``clubs.services.invitation_accept`` and ``_decline``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from clubs.selectors import invitation_by_code
from clubs.services import MEMBERS_SEE, ClubError
from clubs.services import invitation_accept as accept_invitation
from clubs.services import invitation_decline as decline_invitation


class InvitationUnavailable(Exception):
    """The code names no usable invitation (unknown, expired, used up, revoked), or the
    club cannot take the member (full)."""


@dataclass(frozen=True)
class InvitationPreview:
    club_name: str
    invited_by: str
    # Addressed to one existing user: they sign in to accept; nobody signs up with it.
    addressed_to: str
    members_see: str = MEMBERS_SEE


def invitation_preview(*, code: str, user: Any = None) -> InvitationPreview | None:
    """What the invitation page shows before anyone accepts, or None when unusable
    (including one addressed to someone other than the signed-in ``user``)."""
    invitation = invitation_by_code(code=code, now=timezone.now())
    if invitation is None:
        return None
    signed_in = user is not None and user.is_authenticated
    if invitation.invitee_name and signed_in and invitation.invitee_name != user.get_username():
        return None
    return InvitationPreview(
        club_name=invitation.club.name,
        invited_by=invitation.created_by.get_username() if invitation.created_by else "",
        addressed_to=invitation.invitee_name,
    )


def invitation_accept(*, code: str, user: Any) -> int:
    """Make ``user`` a member of the invitation's club; the club's id.
    Raises ``InvitationUnavailable``."""
    try:
        return accept_invitation(user=user, code=code).club_id
    except ClubError as error:
        raise InvitationUnavailable(str(error)) from error


def invitation_decline(*, code: str, user: Any) -> None:
    try:
        decline_invitation(user=user, code=code)
    except ClubError as error:
        raise InvitationUnavailable(str(error)) from error
