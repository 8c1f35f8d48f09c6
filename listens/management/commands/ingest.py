from __future__ import annotations

import logging
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from tqdm import tqdm

from accounts.models import POLLED_SOURCES
from listens.ingest.claims import IngestAlreadyRunning
from listens.ingest.run import ingest_account, ingestable_accounts
from listens.models import IngestRun
from metadata.resolution import resolve_unresolved
from sidetrack.commands import SidetrackCommand

logger = logging.getLogger(__name__)


class Command(SidetrackCommand):
    help = (
        "Fetch new listens for every enabled account (or those of --user / --source). "
        "Exits non-zero when any account failed; the others are still ingested."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="Only this Sidetrack user's accounts")
        parser.add_argument(
            "--source", choices=POLLED_SOURCES, help="only accounts on this source (default: all)"
        )
        parser.add_argument(
            "--resolve",
            action="store_true",
            help="Then retry unresolved recordings (as manage.py resolve_unresolved)",
        )
        parser.add_argument(
            "--resolve-limit", type=int, default=500, help="At most N recordings with --resolve"
        )

    def handle(
        self,
        *args: Any,
        user: str | None,
        source: str | None,
        resolve: bool,
        resolve_limit: int,
        **options: Any,
    ) -> None:
        if user and not get_user_model().objects.filter(username=user).exists():
            raise CommandError(f"No Sidetrack user {user!r}")
        accounts = list(ingestable_accounts(username=user, source=source))
        interactive = self.stderr.isatty()
        new = 0
        failed: list[str] = []
        skipped = 0
        for account in accounts:
            started = time.monotonic()
            try:
                run = self._ingest(account, interactive)
            except IngestAlreadyRunning:
                skipped += 1
                self.stdout.write(f"{account}: skipped, already being ingested elsewhere")
                continue
            except Exception as error:
                # One account's bug must not stop the others; the exit code reports it.
                logger.exception("ingest of %s crashed", account)
                failed.append(str(account))
                self.stderr.write(f"{account}: FAILED: internal error: {type(error).__name__}")
                continue
            new += run.listens_new
            summary = (
                f"{run.listens_new} new, {run.listens_known} known, "
                f"{run.unresolved} unresolved, {run.errors} malformed, "
                f"{run.pages} pages in {time.monotonic() - started:.1f}s"
            )
            if run.status == IngestRun.Status.FAILED:
                failed.append(str(account))
                self.stderr.write(f"{account}: FAILED after {summary}: {run.error_message}")
            else:
                self.stdout.write(f"{account}: {summary}")
        self.stdout.write(
            f"Total: {new} new listens from {len(accounts)} accounts "
            f"({len(failed)} failed, {skipped} skipped)"
        )
        if resolve:
            result = resolve_unresolved(limit=resolve_limit)
            self.stdout.write(
                f"Resolved {result.resolved}, still unresolved {result.unresolved}, "
                f"errors {result.errors}"
            )
            if result.stopped_early:
                self.stderr.write(f"Resolution stopped early: {result.stopped_early}")
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(accounts)} accounts failed: " + ", ".join(failed)
            )

    def _ingest(self, account, interactive: bool) -> IngestRun:
        if not interactive:
            return ingest_account(account=account)
        # The bar goes to the real stream: OutputWrapper would end each redraw with "\n".
        with tqdm(
            desc=str(account),
            unit=" listens",
            file=getattr(self.stderr, "_out", self.stderr),
            leave=False,
        ) as bar:

            def on_page(run: IngestRun) -> None:
                bar.update(run.listens_new - bar.n)

            return ingest_account(account=account, on_page=on_page)
