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
    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="club_memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["club_id", "joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["club", "user"], name="club_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.club}"


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
