"""Ingest finds a recording for every identity it brings, even when a resolver
resolves one between ingest's insert and its read (several workers, one database)."""

from __future__ import annotations

import pytest

from metadata.identity import ReportedTrack, assign_recording_mbid, recordings_for_tracks
from metadata.models import Recording

pytestmark = pytest.mark.django_db

MBID = "5fb524f1-8cc8-4c04-a921-e34c0a911ea7"


def test_an_identity_resolved_between_insert_and_read_is_found_through_its_alias(monkeypatch):
    track = ReportedTrack("Nirvana", "Polly", "Nevermind")
    insert = Recording.objects.bulk_create

    def insert_then_resolve(rows, **options):
        # Another worker stored the identity first (ours is ignored as a conflict),
        # and a resolver resolved that row before our read.
        created = insert(rows, **options)
        row = Recording.objects.get(unresolved_key=track.key)
        assign_recording_mbid(recording=row, mbid=MBID, title="Polly")
        return created

    monkeypatch.setattr(Recording.objects, "bulk_create", insert_then_resolve)

    found = recordings_for_tracks([track])

    assert str(found[track.key].mbid) == MBID
    assert Recording.objects.get(mbid=MBID).unresolved_key is None
