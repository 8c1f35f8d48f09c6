"""The Discord client and settings, read from Django settings (clients never read them)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from faces.discord.client import USER_AGENT, DiscordClient
from sidetrack.config import http_options


def discord_setting(name: str) -> str:
    """The setting's value, or ``ImproperlyConfigured`` naming the variable."""
    value = str(getattr(settings, name, "") or "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set: set the {name} environment variable to use Discord "
            "(see the README's Discord section)."
        )
    return value


def discord_enabled() -> bool:
    """The endpoint is served only when Discord can reach and verify it."""
    return bool(str(settings.DISCORD_PUBLIC_KEY or "").strip()) and bool(
        str(settings.DISCORD_APPLICATION_ID or "").strip()
    )


def get_discord_client(*, bot: bool = False) -> DiscordClient:
    """A client for ``DISCORD_APPLICATION_ID``; ``bot=True`` also needs (and sends)
    ``DISCORD_BOT_TOKEN``, for registering commands."""
    return DiscordClient(
        application_id=discord_setting("DISCORD_APPLICATION_ID"),
        bot_token=discord_setting("DISCORD_BOT_TOKEN") if bot else None,
        base_url=settings.DISCORD_API_BASE_URL,
        options=http_options(user_agent=USER_AGENT),
    )
