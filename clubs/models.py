"""Album clubs: a named group of users, and the albums nominated in it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from metadata.models import ReleaseGroup


class Club(models.Model):
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_clubs"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="clubs"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user in a club, by their own act: they created it or accepted an invitation.

    ``legacy`` rows were made by an owner adding a username before invitations
    existed; they are kept, shown as such to the member, who may leave at once."""

    class JoinedVia(models.TextChoices):
        OWNER = "owner", "created the club"
        INVITATION = "invitation", "accepted an invitation"
        LEGACY = "legacy", "added by the owner, without an invitation"
        DISCORD = "discord", "joined with /club join in the club's Discord server"

    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="club_memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    joined_via = models.CharField(
        max_length=12, choices=JoinedVia.choices, default=JoinedVia.INVITATION
    )

    class Meta:
        ordering = ["club_id", "joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["club", "user"], name="club_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.club}"


class Invitation(models.Model):
    """An owner's invitation to a club: a code (only its SHA-256 digest is stored; the
    code is shown once, to the owner who made it) that someone accepts to join.

    Addressed to ``invitee_name`` when given (only that user may use it, and it shows
    in their invitations), otherwise usable by anyone holding the code, up to
    ``max_uses`` times, until ``expires_at``."""

    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="invitations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A username, not a user: whether it names anyone is never told to the owner.
    invitee_name = models.CharField(max_length=150, blank=True)
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["invitee_name"], name="club_invitation_invitee")]

    def __str__(self) -> str:
        return f"{self.prefix}… to {self.club}"


class Nomination(models.Model):
    """An album (release group) the club listens to from ``starts_at`` (to ``ends_at``)."""

    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="nominations")
    release_group = models.ForeignKey(
        ReleaseGroup, on_delete=models.PROTECT, related_name="nominations"
    )
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Open-ended when empty.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="nomination_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.release_group} in {self.club} from {self.starts_at:%Y-%m-%d}"
