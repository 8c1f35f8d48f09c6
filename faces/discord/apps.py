from __future__ import annotations

from django.apps import AppConfig


class DiscordConfig(AppConfig):
    name = "faces.discord"
    label = "discord"
    verbose_name = "Discord"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from faces.discord import checks  # noqa: F401  (registers the system check)
        from sidetrack.http.redaction import register_secret

        # Redacted from every log line and error from the start, not only once a
        # client holding it has been built.
        register_secret(settings.DISCORD_BOT_TOKEN)
