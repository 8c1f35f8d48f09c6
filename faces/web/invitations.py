"""Club invitations as the sign-up page needs them: the one place that talks to issue
17's invitation service.

STUB until issue 17 (consent for clubs: ``clubs.models.Invitation`` and its accept and
decline services) is merged: no code is valid yet, so ``/join/<code>/`` explains that
the invitation cannot be used. When 17 lands, these three functions call its
selectors and services and nothing else in the web app changes: sign-up already
creates the login and calls ``invitation_accept`` in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class InvitationUnavailable(Exception):
    """The code names no usable invitation (unknown, expired, used up, revoked)."""


@dataclass(frozen=True)
class InvitationPreview:
    club_name: str
    invited_by: str


def invitation_preview(*, code: str) -> InvitationPreview | None:
    """What the invitation page shows before anyone accepts, or None when unusable."""
    return None


def invitation_accept(*, code: str, user: Any) -> int:
    """Make ``user`` a member of the invitation's club; the club's id.
    Raises ``InvitationUnavailable``."""
    raise InvitationUnavailable("Club invitations are not available on this server yet.")


def invitation_decline(*, code: str, user: Any) -> None:
    raise InvitationUnavailable("Club invitations are not available on this server yet.")
