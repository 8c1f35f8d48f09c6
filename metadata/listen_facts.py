"""What metadata asks of the app that stores listens, without knowing it.

Metadata imports no listens and queries no ``listens`` reverse relation (STYLE.md):
the curation queue and the admin still show plays, so the listens app answers
through :data:`listen_facts_wanted`, connected in its ``AppConfig.ready``. With no
receiver (metadata used alone) there are no listens: counts are 0, filters match
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import Expression, QuerySet, Value
from django.dispatch import Signal

# Receivers return a ListenFacts; the first answer is used.
listen_facts_wanted = Signal()


@dataclass(frozen=True)
class RecordingListens:
    """One recording's listens as the curation page shows them."""

    admin_url: str  # the listens' admin list, filtered to the recording
    breakdown: Sequence[dict[str, Any]]  # {source, user__username, n}, largest first
    recent: Sequence[Any]  # the latest listens, each with user, source and texts


class ListenFacts(Protocol):
    def plays(self, *, counted: bool = True, **recording: Any) -> Expression:
        """An expression: the listens of recordings matching ``recording`` (lookups on
        the recording, e.g. ``pk=OuterRef("pk")``), counted listens only unless
        ``counted=False``. Always a number (0 without listens)."""

    def play_counts(self, *, recording_ids: Iterable[int], counted: bool = True) -> dict[int, int]:
        """Recording id -> its listens, for recordings that have any."""

    def recording_ids(self, *, source: str | None = None, user_id: int | None = None) -> QuerySet:
        """A ``values`` queryset of the ids of recordings with listens (from ``source``,
        by ``user_id``), for ``pk__in=``."""

    def sources(self) -> Sequence[tuple[str, str]]:
        """(value, label) of the sources listens come from."""

    def listener_ids(self, *, unresolved: bool) -> QuerySet:
        """A ``values`` queryset of the ids of users with listens (of unresolved
        recordings only when ``unresolved``), for ``pk__in=``."""

    def of_recording(self, *, recording_id: int) -> RecordingListens: ...

    def session_albums(self, *, recording_ids: Iterable[int]) -> dict[int, str]:
        """For rows reported without album: the album their listens were heard amid
        (the same user's listens just before and after, by the same artist), where
        one is clear. Evidence for resolution, never the reported album."""


class _NoListens:
    def plays(self, *, counted: bool = True, **recording: Any) -> Expression:
        return Value(0)

    def play_counts(self, *, recording_ids: Iterable[int], counted: bool = True) -> dict[int, int]:
        return {}

    def recording_ids(self, *, source: str | None = None, user_id: int | None = None) -> QuerySet:
        from metadata.models import Recording

        return Recording.objects.none().values("pk")

    def sources(self) -> Sequence[tuple[str, str]]:
        return ()

    def listener_ids(self, *, unresolved: bool) -> QuerySet:
        from metadata.models import Recording

        return Recording.objects.none().values("pk")

    def of_recording(self, *, recording_id: int) -> RecordingListens:
        return RecordingListens(admin_url="", breakdown=(), recent=())

    def session_albums(self, *, recording_ids: Iterable[int]) -> dict[int, str]:
        return {}


def listen_facts() -> ListenFacts:
    """The listens app's answers, or an empty stand-in when no app stores listens."""
    for _receiver, facts in listen_facts_wanted.send(sender=None):
        if facts is not None:
            return facts
    return _NoListens()
