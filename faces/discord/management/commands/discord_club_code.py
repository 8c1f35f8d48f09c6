from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from clubs.models import Club
from faces.discord.services import CODE_LIFETIME, club_code_create
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Print a one-time code that binds a Discord server to a club: someone with "
        "Manage Server there runs /link CODE. Made on behalf of the club's owner."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--club", required=True, type=int, help="The club's id")

    def handle(self, *args: Any, **options: Any) -> None:
        club = Club.objects.select_related("owner").filter(pk=options["club"]).first()
        if club is None:
            raise CommandError(f"No club {options['club']}.")
        code = club_code_create(club=club, actor=club.owner, now=timezone.now())
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        self.stdout.write(f"/link {code}")
        self.stderr.write(
            f"One use, valid {minutes} minutes; binds the server it is used in to {club.name!r}."
        )
