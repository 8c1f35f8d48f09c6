"""Writes to the metadata tables. Callers pass keyword arguments only."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from metadata.matching import text_key_digest
from metadata.models import Recording, RecordingAlias


def get_or_create_recording_for_text(*, artist_name: str, track_name: str) -> Recording:
    """The recording that listens reported as (artist, title) belong to.

    A text decided before (alias) maps to that recording; otherwise to the one
    unresolved row for its normalized text, created on first sight. Safe when
    several workers see the same new text at once: the unique key decides.
    """
    key = text_key_digest(artist_name, track_name)
    alias = RecordingAlias.objects.select_related("recording").filter(text_key=key).first()
    if alias is not None:
        return alias.recording
    existing = Recording.objects.filter(unresolved_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Recording.objects.create(
                unresolved_key=key,
                status=Recording.Status.UNRESOLVED,
                title=track_name[:1000],
                artist_name=artist_name[:2000],
            )
    except IntegrityError:
        return Recording.objects.get(unresolved_key=key)


@transaction.atomic
def merge_recordings(*, source: Recording, target: Recording) -> Recording:
    """Move everything that points at ``source`` (listens, tracks, aliases) to
    ``target`` and delete ``source``. Generic over reverse relations so apps
    that depend on metadata (listens) need no hook here."""
    if source.pk == target.pk:
        return target
    for relation in Recording._meta.related_objects:
        if relation.many_to_many:
            continue
        field_name = relation.field.name
        relation.related_model._base_manager.filter(**{field_name: source}).update(
            **{field_name: target}
        )
    source.delete()
    return target


@transaction.atomic
def assign_recording_mbid(
    *,
    recording: Recording,
    mbid: str | uuid.UUID,
    decided_by: str = RecordingAlias.DecidedBy.RESOLVER,
    curator_id: int | None = None,
) -> Recording:
    """Resolve an unresolved recording to ``mbid``.

    When a row for that MBID exists already, the two merge and every listen
    follows. Either way the reported text keeps pointing at the result, so
    future listens of the same text need no resolution.
    """
    mbid = uuid.UUID(str(mbid))
    recording = Recording.objects.select_for_update().get(pk=recording.pk)
    text_key = recording.unresolved_key
    target = Recording.objects.select_for_update().filter(mbid=mbid).first()
    if target is None:
        recording.mbid = mbid
        recording.status = Recording.Status.RESOLVED
        recording.unresolved_key = None
        recording.last_error = ""
        recording.save()
        target = recording
    elif target.pk != recording.pk:
        target = merge_recordings(source=recording, target=target)
    if text_key:
        RecordingAlias.objects.update_or_create(
            text_key=text_key,
            defaults={
                "recording": target,
                "decided_by": decided_by,
                "curator_id": curator_id,
                "artist_name": recording.artist_name,
                "track_name": recording.title,
            },
        )
    return target
