from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from accounts.models import ExternalAccount, ListenSource
from accounts.services import connect_account
from listens.export_import import ImportSummary, export_user_name, import_listens, read_export
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Import a ListenBrainz export (zip, JSON Lines or the older JSON array) into the "
        "user's ListenBrainz account. Safe to repeat: stored listens are recognised."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="Sidetrack user name")
        parser.add_argument(
            "file", type=Path, help="the export: zip, JSON Lines, or the older JSON array"
        )
        parser.add_argument(
            "--name",
            help="ListenBrainz user name (default: from user.json or the listens' user_name)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="listens stored per transaction (default 1000): larger is faster, "
            "smaller loses less work to an interruption",
        )

    def handle(
        self,
        *args: Any,
        user: str,
        file: Path,
        name: str | None,
        batch_size: int,
        **options: Any,
    ) -> None:
        # Arguments first: nothing of a large file is read before they are known good.
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            name = name or export_user_name(file)
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        if not name:
            raise CommandError(
                f"No ListenBrainz user name in {file} (no user.json or user_name): pass --name"
            )
        account = self._account(user, name)
        with tqdm(
            unit=" listens",
            desc=f"Importing {file.name}",
            disable=not self.stderr.isatty(),
            file=getattr(self.stderr, "_out", self.stderr),
        ) as bar:

            def on_batch(summary: ImportSummary) -> None:
                bar.update(summary.read - bar.n)

            try:
                summary = import_listens(
                    account=account,
                    items=read_export(file),
                    batch_size=batch_size,
                    on_batch=on_batch,
                )
            except ValueError as error:
                raise CommandError(f"Cannot read {file}: {error}") from error
        for example in summary.malformed_examples:
            self.stderr.write(f"malformed: {example}")
        self.stdout.write(
            f"Imported {file.name} into {account}: {summary.read} read, {summary.new} new, "
            f"{summary.known} already stored, {summary.malformed} malformed, "
            f"{summary.run.unresolved} unresolved"
        )

    def _account(self, username: str, name: str) -> ExternalAccount:
        # An existing account is used as it is: importing must not re-enable a
        # disconnected account the way connect_account does.
        existing = ExternalAccount.objects.filter(
            user__username=username,
            source=ListenSource.LISTENBRAINZ,
            external_username__iexact=name,
        ).first()
        if existing is not None:
            return existing
        try:
            account, _ = connect_account(
                username=username, source=ListenSource.LISTENBRAINZ, external_username=name
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Connected {account}")
        return account
