from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.submission_tokens import create_submission_token
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Make a submission token for the ListenBrainz-compatible /1/ API and print it "
        "(on the last line, alone, for scripts). It is shown this once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="The Sidetrack user it submits for.")
        parser.add_argument("--name", default="", help="What will use it, e.g. Navidrome.")

    def handle(self, *args: Any, user: str, name: str, **options: Any) -> None:
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"no Sidetrack user named {user!r}")
        row, token = create_submission_token(user=owner, name=name)
        self.stderr.write(
            f"Submission token {row.prefix}… for {owner.username}: point a ListenBrainz "
            "client at this server's root URL with this token. It is not shown again."
        )
        self.stdout.write(token)
