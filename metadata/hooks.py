"""Questions metadata asks the apps that depend on it, which answer through signals.

Metadata imports none of them (``../shared/STYLE.md``): the listens app connects a
receiver in its ``ready()`` and returns the answer. With no receiver (metadata on
its own) each question has an empty answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.dispatch import Signal

# Receivers return {recording_id: number of listens stored against it} (copies
# marked as another source's duplicate included: they move with the row).
listen_rows_requested = Signal()
# Receivers return {recording_id: album name} for rows reported without album whose
# listens were all heard amid one album by the same artist (the listens just
# before and after each, by the same user).
session_albums_requested = Signal()


def listen_rows(recording_ids: Sequence[int]) -> dict[int, int]:
    """Listens stored against each of these recordings (0 when none)."""
    counts = dict.fromkeys(recording_ids, 0)
    for _, answer in listen_rows_requested.send(sender=None, recording_ids=list(recording_ids)):
        for recording_id, n in (answer or {}).items():
            counts[recording_id] = counts.get(recording_id, 0) + n
    return counts


def session_albums(recording_ids: Sequence[int]) -> dict[int, str]:
    """The album each album-less row's listens were heard amid, where one is clear."""
    found: dict[int, str] = {}
    for _, answer in session_albums_requested.send(sender=None, recording_ids=list(recording_ids)):
        found |= answer or {}
    return found
