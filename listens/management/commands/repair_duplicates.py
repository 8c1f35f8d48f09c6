from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from listens.duplicates import repair_cross_source_duplicates
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Pair listens of a user's history that both sources reported (same recording, "
        "within CROSS_SOURCE_DUPLICATE_WINDOW_SECONDS) and older code left unpaired, so "
        "each play counts once. Safe to rerun, and to run while ingest runs."
    )

    def add_arguments(self, parser: Any) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="Sidetrack username")
        who.add_argument("--all", action="store_true", help="Every user")
        parser.add_argument("--batch-size", type=int, default=2000, help="Listens per batch")

    def handle(self, *args: Any, user: str | None, all: bool, batch_size: int, **options: Any):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        users = get_user_model().objects.order_by("pk")
        if user is not None:
            users = users.filter(username=user)
            if not users.exists():
                raise CommandError(f"No Sidetrack user {user!r}")
        for account_user in users:
            checked = marked = 0
            after_id: int | None = 0
            while after_id is not None:
                batch = repair_cross_source_duplicates(
                    user_id=account_user.pk, after_id=after_id, batch_size=batch_size
                )
                checked, marked = checked + batch.checked, marked + batch.marked
                after_id = batch.next_after_id
            self.stdout.write(
                f"{account_user.get_username()}: {marked} newly paired "
                f"({checked} unpaired listens checked)"
            )
