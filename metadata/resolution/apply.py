"""Storing a resolver's answer, or the failed attempt and when to try again."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from metadata.identity import assign_recording_mbid
from metadata.models import Recording, RecordingAlias
from metadata.resolution.types import Resolution
from metadata.services import store_artist_credit

# Unresolved text is retried after 1 h, 2 h, 4 h … capped at 30 days.
RETRY_BASE = timedelta(hours=1)
RETRY_MAX = timedelta(days=30)


def apply_resolution(*, recording: Recording, resolution: Resolution) -> Recording:
    """Store a resolver's answer for an unresolved recording."""
    if resolution.mbid:
        return assign_recording_mbid(
            recording=recording,
            mbid=resolution.mbid,
            decided_by=(
                RecordingAlias.DecidedBy.SOURCE_MBID
                if resolution.method.from_source_mbid
                else RecordingAlias.DecidedBy.RESOLVER
            ),
            title=resolution.title,
            length_ms=resolution.length_ms,
            credit=store_artist_credit(resolution.credit) if resolution.credit else None,
            artist_name=resolution.artist_name,
            disambiguation=resolution.disambiguation,
        )
    record_failed_attempt(recording=recording, reason=resolution.reason)
    return recording


def record_failed_attempt(*, recording: Recording, reason: str) -> None:
    now = timezone.now()
    attempts = recording.resolution_attempts + 1
    delay = min(RETRY_BASE * 2 ** min(attempts - 1, 20), RETRY_MAX)
    Recording.objects.filter(pk=recording.pk, mbid__isnull=True).update(
        resolution_attempts=attempts,
        last_attempt_at=now,
        next_attempt_at=now + delay,
        last_error=reason[:2000],
    )
    recording.resolution_attempts, recording.last_attempt_at = attempts, now
    recording.next_attempt_at, recording.last_error = now + delay, reason
