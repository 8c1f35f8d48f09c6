"""Cross-source duplicates: a play scrobbled to both Last.fm and ListenBrainz counts once.

The later-stored listen of such a pair points at the other (``duplicate_of``); both
are kept. Pairs are found when a listen is stored (same text or recording, within
``CROSS_SOURCE_DUPLICATE_WINDOW_SECONDS``), and again whenever listens move to
another recording (resolution, curation, merges): the two services report one
play with different text noise, and only the resolved recording shows it is one.
``repair_cross_source_duplicates`` pairs what older code left unpaired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts.models import ExternalAccount
from listens.models import ListenEvent


def _window() -> timedelta:
    return timedelta(seconds=settings.CROSS_SOURCE_DUPLICATE_WINDOW_SECONDS)


def mark_cross_source_duplicates(
    *, account: ExternalAccount, since: datetime, until: datetime
) -> int:
    """Mark this account's new listens that the user's other source also has
    (same track text or recording within the window) as duplicates of those."""
    window = _window()
    others = list(
        ListenEvent.objects.filter(
            user_id=account.user_id,
            listened_at__range=(since - window, until + window),
            duplicate_of__isnull=True,
        )
        .exclude(source=account.source)
        .values_list("pk", "listened_at", "track_key", "recording_id")
    )
    if not others:
        return 0
    by_key: dict[object, list[tuple[int, datetime]]] = {}
    for other_pk, other_when, other_key, other_recording in others:
        by_key.setdefault(other_key, []).append((other_pk, other_when))
        by_key.setdefault(other_recording, []).append((other_pk, other_when))
    marked = 0
    taken: set[int] = set()
    candidates = ListenEvent.objects.filter(
        account=account, listened_at__range=(since, until), duplicate_of__isnull=True
    ).values_list("pk", "listened_at", "track_key", "recording_id")
    for pk, when, key, recording_id in candidates:
        match = next(
            (
                other_pk
                for other_pk, other_when in by_key.get(key, []) + by_key.get(recording_id, [])
                if other_pk not in taken and abs(other_when - when) <= window
            ),
            None,
        )
        if match is not None:
            taken.add(match)
            marked += ListenEvent.objects.filter(pk=pk).update(duplicate_of_id=match)
    return marked


def mark_duplicates_of_moved_listens(
    *, listen_ids: Sequence[int], model: type[ListenEvent] = ListenEvent
) -> int:
    """Pair listens that now point at another recording with the same play from the
    user's other source (same recording, within the window), as ingest would have
    if the recording had been known then. A moved listen that pairs becomes the
    duplicate; two moved listens pair the later-stored one to the earlier.
    ``model``: a migration's historical listen model."""
    window = _window()
    is_original = Exists(model.objects.filter(duplicate_of=OuterRef("pk")))
    fields = ("pk", "user_id", "source", "listened_at", "recording_id")
    marked = 0
    taken: set[int] = set()
    for start in range(0, len(listen_ids), 500):  # bounded IN lists for SQLite
        chunk = set(listen_ids[start : start + 500])
        moved = list(
            model.objects.filter(pk__in=chunk, duplicate_of__isnull=True)
            .exclude(is_original)
            .values_list(*fields)
        )
        if not moved:
            continue
        times = [row[3] for row in moved]
        candidates: dict[tuple[int, int], list[tuple]] = {}
        for row in (
            model.objects.filter(
                user_id__in={row[1] for row in moved},
                recording_id__in={row[4] for row in moved},
                listened_at__range=(min(times) - window, max(times) + window),
                duplicate_of__isnull=True,
            )
            .exclude(is_original)
            .values_list(*fields)
        ):
            candidates.setdefault((row[1], row[4]), []).append(row)
        for pk, user_id, source, when, recording_id in sorted(moved, reverse=True):
            if pk in taken:
                continue
            match = next(
                (
                    other[0]
                    for other in candidates.get((user_id, recording_id), [])
                    if other[0] not in taken
                    and other[0] != pk
                    and other[2] != source
                    and abs(other[3] - when) <= window
                    # Of two moved listens, the later-stored one is the duplicate.
                    and (other[0] not in chunk or other[0] < pk)
                ),
                None,
            )
            if match is not None:
                taken.update((pk, match))
                marked += model.objects.filter(pk=pk).update(duplicate_of_id=match)
    return marked


@dataclass(frozen=True)
class RepairedBatch:
    checked: int  # listens of the user looked at in this batch
    marked: int  # of them, newly marked as the other source's copy
    next_after_id: int | None  # where the next batch starts; None: history done


def repair_cross_source_duplicates(
    *, user_id: int, after_id: int = 0, batch_size: int = 2000
) -> RepairedBatch:
    """Pair one batch of the user's history (listens with id > ``after_id``, in id
    order) with the same play from the user's other source: same recording, within
    the window. Older code left such pairs unpaired. The later-stored listen of a
    pair becomes the copy, as at ingest.

    Idempotent (paired listens are left alone) and safe with several workers: the
    batch runs under a lock on the user's row, so two repairs of one user take turns."""
    window = _window()
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user_id).exists()
        is_original = Exists(ListenEvent.objects.filter(duplicate_of=OuterRef("pk")))
        unpaired = ListenEvent.objects.counted().filter(user_id=user_id).exclude(is_original)
        fields = ("pk", "source", "listened_at", "recording_id")
        batch = list(
            unpaired.filter(pk__gt=after_id).order_by("pk").values_list(*fields)[:batch_size]
        )
        if not batch:
            return RepairedBatch(checked=0, marked=0, next_after_id=None)
        times = [row[2] for row in batch]
        by_recording: dict[int, list[tuple]] = {}
        for row in unpaired.filter(
            recording_id__in={row[3] for row in batch},
            listened_at__range=(min(times) - window, max(times) + window),
            pk__lt=batch[-1][0],
        ).values_list(*fields):
            by_recording.setdefault(row[3], []).append(row)
        taken: set[int] = set()
        marked = 0
        for pk, source, when, recording_id in batch:
            if pk in taken:
                continue
            earlier = [
                other
                for other in by_recording.get(recording_id, [])
                if other[0] < pk
                and other[0] not in taken
                and other[1] != source
                and abs(other[2] - when) <= window
            ]
            if not earlier:
                continue
            match = min(earlier, key=lambda other: abs(other[2] - when))[0]
            taken.update((pk, match))
            marked += ListenEvent.objects.filter(pk=pk, duplicate_of__isnull=True).update(
                duplicate_of_id=match
            )
    done = len(batch) < batch_size
    return RepairedBatch(
        checked=len(batch), marked=marked, next_after_id=None if done else batch[-1][0]
    )
