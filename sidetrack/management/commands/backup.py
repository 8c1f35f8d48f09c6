from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from sidetrack.backup import BackupError, backup_database
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Copy the embedded SQLite database to PATH with SQLite's online backup: consistent "
        "while the web server and workers run. On PostgreSQL use pg_dump (README)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="the new backup file (must not exist)")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            copy = backup_database(target=path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Backed up to {copy.path} ({copy.size_bytes / 1e6:.1f} MB, "
            f"{copy.migrations} migrations applied, integrity checked)"
        )
