from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from sidetrack.commands import SidetrackCommand

# (name, task, setting with the interval in minutes, default)
SCHEDULES = (
    ("Ingest all accounts", "listens.tasks.ingest_all_task", "INGEST_INTERVAL_MINUTES", 15),
    (
        "Resolve unresolved recordings",
        "metadata.tasks.resolve_unresolved_task",
        "RESOLVE_INTERVAL_MINUTES",
        60,
    ),
    (
        "Taste snapshots",
        "listens.tasks.taste_snapshots_all_task",
        "TASTE_SNAPSHOT_INTERVAL_MINUTES",
        10080,
    ),
    (
        "Re-pair cross-source duplicates",
        "listens.tasks.repair_duplicates_all_task",
        "REPAIR_DUPLICATES_INTERVAL_MINUTES",
        10080,
    ),
)


class Command(SidetrackCommand):
    help = (
        "Create or update the django-q2 schedules (matched by name): ingest, "
        "re-resolution, taste snapshots and the re-pairing of cross-source duplicates, "
        "every N minutes from settings."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = []
        for name, func, setting, default in SCHEDULES:
            minutes = getattr(settings, setting, default)
            if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
                raise CommandError(f"{setting} must be a whole number of minutes, got {minutes!r}")
            wanted.append((name, func, minutes))
        for name, func, minutes in wanted:
            action = self._apply(name, func, minutes)
            self.stdout.write(f"{action} schedule {name!r}: {func} every {minutes} min")

    @transaction.atomic
    def _apply(self, name: str, func: str, minutes: int) -> str:
        rows = list(Schedule.objects.select_for_update().filter(name=name).order_by("pk"))
        if not rows:
            Schedule.objects.create(
                name=name,
                func=func,
                schedule_type=Schedule.MINUTES,
                minutes=minutes,
                repeats=-1,
            )
            return "Created"
        schedule, extra = rows[0], rows[1:]
        # Schedule.name is not unique: collapse copies made by hand or by old runs.
        Schedule.objects.filter(pk__in=[s.pk for s in extra]).delete()
        wanted = {
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        }
        if all(getattr(schedule, k) == v for k, v in wanted.items()) and not extra:
            return "Unchanged"
        # A shorter interval takes effect now, not after the old, longer wait.
        soonest = timezone.now() + timedelta(minutes=minutes)
        if schedule.next_run is None or schedule.next_run > soonest:
            schedule.next_run = soonest
        for key, value in wanted.items():
            setattr(schedule, key, value)
        schedule.save()
        return "Updated"
