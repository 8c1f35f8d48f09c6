from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from accounts.models import ListenSource
from listens.ingest.run import ingestable_accounts
from listens.models import TasteSnapshot
from listens.taste import take_taste_snapshot
from sidetrack.commands import SidetrackCommand
from sidetrack.http.errors import ExternalApiError


class Command(SidetrackCommand):
    help = "Store the current Last.fm top artists and albums of every enabled Last.fm account."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="Only this Sidetrack user's accounts")
        parser.add_argument(
            "--period",
            choices=TasteSnapshot.Period.values,
            default=TasteSnapshot.Period.OVERALL,
            help="Last.fm's chart period (default: overall)",
        )

    def handle(self, *args: Any, user: str | None, period: str, **options: Any) -> None:
        accounts = list(ingestable_accounts(username=user, source=ListenSource.LASTFM))
        if not accounts:
            self.stdout.write("No enabled Last.fm accounts.")
            return
        failed = []
        for account in accounts:
            try:
                snapshots = take_taste_snapshot(account=account, period=period)
            except ExternalApiError as error:
                failed.append(str(account))
                self.stderr.write(f"{account}: failed: {error}")
                continue
            counts = ", ".join(f"{len(s.items)} {s.kind}" for s in snapshots)
            self.stdout.write(f"{account}: {counts} ({period})")
        if failed:
            raise CommandError(f"{len(failed)} of {len(accounts)} snapshots failed")
