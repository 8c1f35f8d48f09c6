from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from sidetrack.backup import BackupError, restore_database
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Replace the embedded SQLite database with a backup made by `backup`, after "
        "checking it. Stop the web server and the workers first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="a backup file made by `backup`")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            restored = restore_database(backup=path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {path} into {restored.database}")
        if restored.previous:
            self.stdout.write(f"The database it replaced is kept as {restored.previous}")
        if restored.pending_migrations:
            self.stdout.write(
                f"The backup is {restored.pending_migrations} migrations behind this "
                "version: run `sidetrack migrate` before starting."
            )
