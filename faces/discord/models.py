"""Who is who on Discord: linked users, servers bound to clubs, one-time codes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from clubs.models import Club


class DiscordLink(models.Model):
    """A Discord user acting as a Sidetrack user. One each way: relinking replaces."""

    discord_id = models.CharField(max_length=32, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="discord_link"
    )
    # The Discord name when linked, for the admin; never shown to other members.
    discord_name = models.CharField(max_length=100, blank=True)
    linked_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Discord {self.discord_id} as {self.user}"


class GuildClub(models.Model):
    """A Discord server (guild) whose commands act on one club."""

    guild_id = models.CharField(max_length=32, unique=True)
    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="discord_guilds")
    bound_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    bound_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"guild {self.guild_id} → {self.club}"


class LinkCode(models.Model):
    """A one-time code, shown once: only its SHA-256 digest is stored.

    ``user`` codes link the Discord user who redeems one to that Sidetrack user;
    ``club`` codes bind the server they are redeemed in to that club."""

    class Kind(models.TextChoices):
        USER = "user", "link a Discord user"
        CLUB = "club", "bind a Discord server to a club"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="discord_codes"
    )
    club = models.ForeignKey(
        Club, null=True, blank=True, on_delete=models.CASCADE, related_name="discord_codes"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="user", club__isnull=True)
                | models.Q(kind="club", club__isnull=False),
                name="discord_code_club_iff_club_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} code for {self.club or self.user}"
