"""Says at ``manage.py check`` whether the Discord endpoint is served, and why not."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Info, Warning, register

from faces.discord.signature import public_key_valid
from sidetrack.checks import EXTERNAL_SETTINGS_TAG

NAMES = ("DISCORD_APPLICATION_ID", "DISCORD_PUBLIC_KEY", "DISCORD_BOT_TOKEN")


@register(EXTERNAL_SETTINGS_TAG)
def check_discord_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    present = {name: str(getattr(settings, name, "") or "").strip() for name in NAMES}
    if not any(present.values()):
        return [
            Info(
                "Discord is not configured: /discord/interactions/ is not served.",
                hint="Set DISCORD_APPLICATION_ID, DISCORD_PUBLIC_KEY and DISCORD_BOT_TOKEN "
                "to answer slash commands (README, Discord).",
                id="discord.I001",
            )
        ]
    messages: list[CheckMessage] = [
        Warning(
            f"{name} is not set.",
            hint=f"Set {name}: the Discord endpoint "
            + (
                "is not served until it is."
                if name != "DISCORD_BOT_TOKEN"
                else "works, but discord_sync_commands cannot register commands."
            ),
            id=f"discord.W00{index}",
        )
        for index, name in enumerate(NAMES, start=1)
        if not present[name]
    ]
    key = present["DISCORD_PUBLIC_KEY"]
    if key and not public_key_valid(key):
        messages.append(
            Warning(
                "DISCORD_PUBLIC_KEY is not an Ed25519 public key (64 hex digits).",
                hint="Copy the Public Key from the application's General Information page.",
                id="discord.W004",
            )
        )
    return messages
