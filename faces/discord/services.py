"""Writes for Discord: one-time codes, linking a Discord user, binding a server to a club,
and signing up from Discord. Keyword arguments only."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from clubs.models import Club
from clubs.services import ClubError, ClubRule
from faces.discord.models import DiscordLink, GuildClub, LinkCode

# Long enough to copy a code from the web into Discord, short enough that a code
# left in a chat history is useless.
CODE_LIFETIME = timedelta(minutes=30)
# Discord's "Manage Server" permission bit: who may bind their server to a club.
MANAGE_GUILD = 1 << 5


class LinkRefused(ValueError):
    """A code that cannot be used here; the message says why, for the user."""


def code_digest(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def _new_code(**fields: Any) -> str:
    code = secrets.token_urlsafe(12)  # 96 bits: guessing within 30 minutes is hopeless
    LinkCode.objects.create(digest=code_digest(code), **fields)
    return code


def link_code_create(*, user: Any, now: datetime) -> str:
    """A code that links the Discord user who runs ``/link CODE`` to ``user``. Shown once."""
    return _new_code(kind=LinkCode.Kind.USER, user=user, expires_at=now + CODE_LIFETIME)


def club_code_create(*, club: Club, actor: Any, now: datetime) -> str:
    """A code the club's owner gives to a server: ``/link CODE`` there binds it."""
    if club.owner_id != actor.pk:
        raise ClubError("Only the club's owner may do this.", code=ClubRule.NOT_OWNER)
    return _new_code(kind=LinkCode.Kind.CLUB, user=actor, club=club, expires_at=now + CODE_LIFETIME)


@dataclass(frozen=True)
class Redeemed:
    kind: LinkCode.Kind
    user: Any
    club: Club | None = None


def code_redeem(
    *,
    code: str,
    discord_id: str,
    discord_name: str,
    guild_id: str | None,
    permissions: int,
    now: datetime,
) -> Redeemed:
    """Use a code once: link this Discord user, or bind this server to the code's club.

    A club code needs a server and Manage Server permission there; a code refused
    for those reasons is not used up. Claimed with a conditional update, so two
    redemptions racing on several web processes cannot both succeed."""
    found = (
        LinkCode.objects.select_related("user", "club")
        .filter(digest=code_digest(code), used_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if found is None:
        raise LinkRefused("That code does not exist, has expired or was used already.")
    if found.kind == LinkCode.Kind.CLUB:
        if not guild_id:
            raise LinkRefused("Use a club code in the server you want to bind to the club.")
        if not permissions & MANAGE_GUILD:
            raise LinkRefused("Binding this server to a club needs the Manage Server permission.")
    with transaction.atomic():
        claimed = LinkCode.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=now)
        if not claimed:
            raise LinkRefused("That code does not exist, has expired or was used already.")
        if found.kind == LinkCode.Kind.USER:
            discord_link(user=found.user, discord_id=discord_id, discord_name=discord_name)
            return Redeemed(LinkCode.Kind.USER, found.user)
        GuildClub.objects.update_or_create(
            guild_id=guild_id, defaults={"club": found.club, "bound_by": found.user}
        )
        return Redeemed(LinkCode.Kind.CLUB, found.user, found.club)


def discord_link(*, user: Any, discord_id: str, discord_name: str) -> DiscordLink:
    """Link ``discord_id`` to ``user``, replacing either side's earlier link."""
    with transaction.atomic():
        DiscordLink.objects.filter(user=user).exclude(discord_id=discord_id).delete()
        link, _ = DiscordLink.objects.update_or_create(
            discord_id=discord_id, defaults={"user": user, "discord_name": discord_name[:100]}
        )
    return link


_UNSAFE = re.compile(r"[^\w.@+-]")


def discord_signup(*, discord_id: str, discord_name: str) -> Any:
    """A new Sidetrack user (no password: they sign in with a code or an admin's help)
    for a Discord user, linked to it. Named after their Discord name, made unique."""
    existing = DiscordLink.objects.filter(discord_id=discord_id).select_related("user").first()
    if existing is not None:
        return existing.user
    users = get_user_model()
    base = _UNSAFE.sub("", discord_name)[:140] or f"discord-{discord_id}"
    for attempt in range(20):
        username = base if attempt == 0 else f"{base}-{secrets.token_hex(2)}"
        try:
            with transaction.atomic():
                if users.objects.filter(username__iexact=username).exists():
                    continue
                user = users.objects.create_user(username=username, password=None)
                DiscordLink.objects.create(
                    discord_id=discord_id, user=user, discord_name=discord_name[:100]
                )
                return user
        except IntegrityError:
            # The same Discord user signing up twice at once: the other won.
            existing = DiscordLink.objects.filter(discord_id=discord_id).first()
            if existing is not None:
                return existing.user
    raise RuntimeError(f"no free username for Discord user {discord_id}")
