from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from accounts.models import POLLED_SOURCES
from accounts.services import (
    NameProvenByAnotherUser,
    NameTakenByAnotherUser,
    connect_account,
)
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Connect a Last.fm or ListenBrainz account to a Sidetrack user (created if "
        "missing). Running it again for the same name changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="Sidetrack user name")
        parser.add_argument(
            "--source", required=True, choices=POLLED_SOURCES, help="where the listens come from"
        )
        parser.add_argument("--name", required=True, help="User name on the source")
        parser.add_argument(
            "--allow-shared",
            action="store_true",
            help="Connect the name even though another user has connected it too",
        )

    def handle(
        self, *args: Any, user: str, source: str, name: str, allow_shared: bool, **options: Any
    ) -> None:
        try:
            account, created = connect_account(
                username=user, source=source, external_username=name, allow_shared=allow_shared
            )
        except (NameTakenByAnotherUser, NameProvenByAnotherUser) as error:
            raise CommandError(f"{error} (pass --allow-shared to connect it anyway)") from error
        except ValueError as error:
            raise CommandError(str(error)) from error
        if created:
            self.stdout.write(self.style.SUCCESS(f"Connected {account}"))
        else:
            self.stdout.write(f"Already connected {account} (status: {account.status})")
