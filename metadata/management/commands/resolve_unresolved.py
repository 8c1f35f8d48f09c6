from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from metadata.resolution import due_unresolved_recordings, resolve_unresolved
from sidetrack.commands import SidetrackCommand
from sidetrack.config import require_setting


class Command(SidetrackCommand):
    help = (
        "Retry unresolved recordings that are due, oldest first: album context, "
        "the ListenBrainz mapper, then MusicBrainz search."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, help="At most N recordings this run")

    def handle(self, *args: Any, limit: int | None = None, **options: Any) -> None:
        # Before the mapper tier spends its retries: search needs MusicBrainz.
        require_setting("SIDETRACK_MUSICBRAINZ_APP_NAME")
        due = due_unresolved_recordings().count()
        total = min(due, limit) if limit else due
        with tqdm(
            total=total,
            unit="track",
            desc="Resolving",
            disable=not sys.stderr.isatty(),
            file=sys.stderr,
        ) as bar:
            summary = resolve_unresolved(limit=limit, on_progress=bar.update)
        methods = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_method.items()))
        self.stdout.write(
            f"Resolved {summary.resolved}, still unresolved {summary.unresolved}, "
            f"errors {summary.errors}" + (f" (by {methods})" if methods else "")
        )
        if summary.stopped_early:
            self.stderr.write(f"Stopped early: {summary.stopped_early}")
