"""The listens app's answers to what accounts announce (``accounts.signals``): the
tasks an ingest request or a new Last.fm account needs, queued by name, and the
ingest running for an account."""

from __future__ import annotations

from typing import Any

import django_q.tasks

from accounts.models import ListenSource
from listens.models import IngestRun

INGEST_TASK = "listens.tasks.ingest_account_task"
TASTE_SNAPSHOT_TASK = "listens.tasks.taste_snapshot_task"


def queue_requested_ingest(sender: Any, *, account_id: int, queued_as: str, **kwargs: Any) -> None:
    django_q.tasks.async_task(INGEST_TASK, account_id, queued_as=queued_as, task_name=queued_as)


def queue_first_taste_snapshot(sender: Any, *, account_id: int, source: str, **kwargs: Any) -> None:
    if source == ListenSource.LASTFM:
        django_q.tasks.async_task(TASTE_SNAPSHOT_TASK, account_id)


def running_ingest(sender: Any, *, account_id: int, **kwargs: Any) -> int | None:
    running = IngestRun.objects.filter(account_id=account_id, finished_at__isnull=True)
    return running.order_by("-pk").values_list("pk", flat=True).first()
