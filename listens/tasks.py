"""django-q2 tasks: thin wrappers that take ids and return plain summaries."""

from __future__ import annotations

import logging
from typing import Any

import django_q.tasks
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count

from accounts.models import ListenSource
from accounts.services import ingest_started
from listens.duplicates import repair_cross_source_duplicates
from listens.ingest.claims import IngestAlreadyRunning
from listens.ingest.run import ingest_account, ingestable_accounts
from listens.models import ListenEvent
from listens.taste import record_taste_snapshot_error, take_taste_snapshot

logger = logging.getLogger(__name__)


def ingest_account_task(account_id: int, queued_as: str | None = None) -> dict[str, Any]:
    """Ingest one account. Skips quietly when it is disabled, gone, or being
    ingested by another worker (the next scheduled run picks it up).

    ``queued_as`` is the name ``request_ingest`` queued it under: from now on a
    new request may queue another (this one holds the claim while it runs)."""
    ingest_started(account_id=account_id, queued_as=queued_as)
    account = ingestable_accounts().filter(pk=account_id).first()
    if account is None:
        return {"account": account_id, "status": "skipped", "reason": "missing or disabled"}
    try:
        run = ingest_account(account=account)
    except IngestAlreadyRunning:
        logger.info("ingest of %s skipped: already running", account)
        return {"account": account_id, "status": "skipped", "reason": "already running"}
    return {
        "account": account_id,
        "run": run.pk,
        "status": run.status,
        "pages": run.pages,
        "new": run.listens_new,
        "known": run.listens_known,
        "unresolved": run.unresolved,
        "errors": run.errors,
        "error": run.error_message,
    }


def ingest_all_task() -> dict[str, int]:
    """Queue one ingest per enabled account, so accounts run in parallel and one
    slow or failing source never holds up the others.

    Not through ``request_ingest``: a task lost with a killed worker leaves its
    "queued" marker behind, and the schedule is what must recover from that (an
    ingest already running is skipped by its claim)."""
    ids = list(ingestable_accounts().values_list("pk", flat=True))
    for pk in ids:
        django_q.tasks.async_task("listens.tasks.ingest_account_task", pk)
    return {"queued": len(ids)}


def taste_snapshot_task(account_id: int, period: str = "overall") -> dict[str, Any]:
    account = ingestable_accounts(source=ListenSource.LASTFM).filter(pk=account_id).first()
    if account is None:
        return {"account": account_id, "status": "skipped", "reason": "missing or disabled"}
    try:
        snapshots = take_taste_snapshot(account=account, period=period)
    except ImproperlyConfigured as error:
        # A missing key is the operator's to fix: one line, on the account and in the
        # log, never a worker traceback per connected account.
        record_taste_snapshot_error(account=account, error=str(error))
        logger.warning("taste snapshot of %s not taken: %s", account, error)
        return {"account": account_id, "status": "error", "error": str(error)}
    return {
        "account": account_id,
        "status": "ok",
        "period": period,
        "snapshots": [s.pk for s in snapshots],
    }


def taste_snapshots_all_task(period: str = "overall") -> dict[str, int]:
    ids = list(ingestable_accounts(source=ListenSource.LASTFM).values_list("pk", flat=True))
    for pk in ids:
        django_q.tasks.async_task("listens.tasks.taste_snapshot_task", pk, period)
    return {"queued": len(ids)}


def repair_duplicates_task(user_id: int, after_id: int = 0) -> dict[str, Any]:
    """Re-pair one batch of a user's history, then queue the next batch: a long
    history never holds one worker for long, and other tasks run in between."""
    batch = repair_cross_source_duplicates(user_id=user_id, after_id=after_id)
    if batch.next_after_id is not None:
        django_q.tasks.async_task(
            "listens.tasks.repair_duplicates_task", user_id, batch.next_after_id
        )
    return {"user": user_id, "checked": batch.checked, "marked": batch.marked}


def repair_duplicates_all_task() -> dict[str, int]:
    """Queue a re-pairing of every user's history that has listens from two sources."""
    ids = list(
        ListenEvent.objects.order_by()
        .values("user_id")
        .annotate(sources=Count("source", distinct=True))
        .filter(sources__gt=1)
        .values_list("user_id", flat=True)
    )
    for user_id in ids:
        django_q.tasks.async_task("listens.tasks.repair_duplicates_task", user_id)
    return {"queued": len(ids)}
