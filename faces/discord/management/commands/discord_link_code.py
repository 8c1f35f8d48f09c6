from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils import timezone

from faces.discord.services import CODE_LIFETIME, link_code_create
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = "Print a one-time code that links a Discord user to USER: they run /link CODE."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="The Sidetrack username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        code = link_code_create(user=user, now=timezone.now())
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        self.stdout.write(f"/link {code}")
        self.stderr.write(f"One use, valid {minutes} minutes; links the Discord user who runs it.")
