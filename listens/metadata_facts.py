"""The listens app's answers to what metadata asks (``metadata.listen_facts``): plays
per recording, the recordings a source or user listened to, a recording's listens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Count, Expression, Func, IntegerField, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from accounts.models import ListenSource
from listens import session_albums as sessions
from listens.models import ListenEvent
from metadata.listen_facts import RecordingListens


def _listens(*, counted: bool) -> QuerySet[ListenEvent]:
    return ListenEvent.objects.counted() if counted else ListenEvent.objects.all()


class ListenFactsForMetadata:
    def plays(self, *, counted: bool = True, **recording: Any) -> Expression:
        lookups = {
            "recording_id" if key in ("pk", "id") else f"recording__{key}": value
            for key, value in recording.items()
        }
        # COUNT without GROUP BY: one row whatever the number of recordings matched.
        listens = (
            _listens(counted=counted)
            .filter(**lookups)
            .order_by()
            .annotate(n=Func("pk", function="COUNT"))
            .values("n")
        )
        return Coalesce(Subquery(listens, output_field=IntegerField()), 0)

    def play_counts(self, *, recording_ids: Iterable[int], counted: bool = True) -> dict[int, int]:
        ids = list(recording_ids)
        counts: dict[int, int] = {}
        for start in range(0, len(ids), 500):  # bounded IN lists for SQLite
            rows = (
                _listens(counted=counted)
                .filter(recording_id__in=ids[start : start + 500])
                .order_by()
                .values("recording_id")
                .annotate(n=Count("*"))
                .values_list("recording_id", "n")
            )
            counts |= dict(rows)
        return counts

    def session_albums(self, *, recording_ids: Iterable[int]) -> dict[int, str]:
        return sessions.session_albums(list(recording_ids))

    def recording_ids(self, *, source: str | None = None, user_id: int | None = None) -> QuerySet:
        listens = ListenEvent.objects.all()
        if source is not None:
            listens = listens.filter(source=source)
        if user_id is not None:
            listens = listens.filter(user_id=user_id)
        return listens.values("recording_id")

    def sources(self) -> Sequence[tuple[str, str]]:
        return ListenSource.choices

    def listener_ids(self, *, unresolved: bool) -> QuerySet:
        listens = ListenEvent.objects.all()
        if unresolved:
            listens = listens.filter(recording__mbid__isnull=True)
        return listens.values("user_id")

    def of_recording(self, *, recording_id: int) -> RecordingListens:
        listens = ListenEvent.objects.filter(recording_id=recording_id)
        return RecordingListens(
            admin_url=f"{reverse('admin:listens_listenevent_changelist')}"
            f"?recording__id__exact={recording_id}",
            breakdown=list(
                listens.values("source", "user__username")
                .annotate(n=Count("id"))
                .order_by("-n", "user__username")[:20]
            ),
            recent=list(listens.select_related("user").order_by("-listened_at")[:10]),
        )


def answer_metadata(sender: Any, **kwargs: Any) -> ListenFactsForMetadata:
    """Receiver of ``metadata.listen_facts.listen_facts_wanted``."""
    return ListenFactsForMetadata()
