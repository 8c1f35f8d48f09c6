from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from faces.discord.definitions import COMMAND_DEFINITIONS
from faces.discord.providers import get_discord_client
from sidetrack.commands import SidetrackCommand
from sidetrack.http.errors import ExternalApiError


class Command(SidetrackCommand):
    help = (
        "Register Sidetrack's slash commands with Discord (a bulk overwrite: running it "
        "again changes nothing). Global commands reach every server; --guild shows them "
        "in one server at once, for trying them out."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--guild", help="A server (guild) id: register there only")

    def handle(self, *args: Any, **options: Any) -> None:
        client = get_discord_client(bot=True)
        try:
            registered = client.overwrite_commands(
                commands=COMMAND_DEFINITIONS, guild_id=options.get("guild")
            )
        except ExternalApiError as error:
            raise CommandError(f"Discord refused the commands: {error}") from error
        finally:
            client.close()
        where = f"server {options['guild']}" if options.get("guild") else "every server"
        names = ", ".join(f"/{c['name']}" for c in registered)
        self.stdout.write(f"Registered {len(registered)} commands for {where}: {names}")
