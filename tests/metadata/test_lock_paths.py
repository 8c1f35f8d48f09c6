"""Merges and curation on PostgreSQL, two transactions at once on their own connections.

SQLite runs one writer at a time, so only PostgreSQL shows what the locks do: rows
are locked in key order (``identity._lock_for_assignment``, ``curation._locked_scope``)
and re-read under the lock, and a row that took an MBID another row took first
joins it (``identity._take_or_merge``). Each test starts both writers together and
checks what a user would see afterwards: every listen on one existing recording,
each identity's alias on it, and no writer failing (a deadlock or a unique-index
error would surface as an exception in its thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from listens.models import ListenEvent
from metadata import curation, identity
from metadata.clients import musicbrainz as mb
from metadata.identity import ReportedTrack, assign_recording_mbid
from metadata.models import Recording, RecordingAlias
from tests.admin.conftest import WWRY_SHORT, make_listens, recording_lookup_body

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["make_listens"]  # fixture


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor == "sqlite":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing runs concurrently")


def run_together(*writers: Callable[[], object], timeout: float = 30) -> list[object]:
    """Run each writer on its own thread (its own connection); their results in order.
    A writer's exception fails the test (with the others' still joined)."""
    results: list[object] = [None] * len(writers)
    failures: list[BaseException] = []

    def run(index: int, writer: Callable[[], object]) -> None:
        try:
            results[index] = writer()
        except BaseException as error:  # surfaced below, in the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a writer is still waiting"
    assert failures == []
    return results


def listens_of(make_listens, alice, album: str, count: int) -> Recording:
    return make_listens("Queen", "We Will Rock You", count, user=alice, album=album)


def test_two_rows_taking_one_mbid_at_once_end_as_one_row_with_every_listen(
    make_listens, alice, monkeypatch
):
    studio = listens_of(make_listens, alice, "News of the World", 3)
    hits = listens_of(make_listens, alice, "Greatest Hits", 2)
    both_locked = threading.Barrier(2, timeout=10)
    real_take_or_merge = identity._take_or_merge

    def take_or_merge_together(recording, mbid):
        # Each has locked its own row and found no row for the MBID yet: both try to
        # take it, and the unique index makes the later one join the first.
        both_locked.wait()
        return real_take_or_merge(recording, mbid)

    monkeypatch.setattr(identity, "_take_or_merge", take_or_merge_together)

    results = run_together(
        lambda: assign_recording_mbid(recording=studio, mbid=WWRY_SHORT).pk,
        lambda: assign_recording_mbid(recording=hits, mbid=WWRY_SHORT).pk,
    )

    (row,) = Recording.objects.filter(title="We Will Rock You")
    assert str(row.mbid) == WWRY_SHORT
    assert results == [row.pk, row.pk]
    assert ListenEvent.objects.filter(recording=row).count() == 5
    for album in ("News of the World", "Greatest Hits"):
        alias = RecordingAlias.objects.get(
            key=ReportedTrack("Queen", "We Will Rock You", album).key
        )
        assert alias.recording_id == row.pk


def test_the_resolver_does_not_undo_a_curators_merge_it_waited_for(make_listens, alice):
    studio = listens_of(make_listens, alice, "News of the World", 3)
    hits = listens_of(make_listens, alice, "Greatest Hits", 1)
    stale = Recording.objects.get(pk=hits.pk)  # the resolver's copy, read before the merge
    merged = threading.Event()

    def curator() -> int:
        with transaction.atomic():
            result = curation.merge_unresolved(recordings=[studio, hits], curator_id=None)
            merged.set()
            time.sleep(1)  # the resolver is now waiting on the merged rows' locks
        return result.target.pk

    def resolver() -> int:
        assert merged.wait(timeout=10)
        return assign_recording_mbid(recording=stale, mbid=WWRY_SHORT).pk

    target, answered = run_together(curator, resolver)

    # The resolver waited, found its row merged away and left the curator's row as it
    # was: every listen on it, both identities pointing at it, no MBID guessed onto it.
    assert target == studio.pk
    assert answered == studio.pk
    row = Recording.objects.get(pk=studio.pk)
    assert row.mbid is None
    assert not Recording.objects.filter(pk=hits.pk).exists()
    assert not Recording.objects.filter(mbid=WWRY_SHORT).exists()
    assert ListenEvent.objects.filter(recording=row).count() == 4
    text_key = ReportedTrack("Queen", "We Will Rock You").text_key
    aliases = RecordingAlias.objects.filter(text_key=text_key)
    assert aliases.exists()
    assert set(aliases.values_list("recording_id", flat=True)) <= {row.pk}


class LookupOnly:
    """A MusicBrainz client answering the curator's one lookup from the recorded search."""

    def lookup_recording(self, mbid: str, *, inc=()) -> mb.Recording:
        return mb.parse_recording(recording_lookup_body(mbid))


def test_a_curator_and_the_resolver_assigning_one_text_at_once_neither_deadlocks(
    make_listens, alice
):
    studio = listens_of(make_listens, alice, "News of the World", 2)
    hits = listens_of(make_listens, alice, "Greatest Hits", 3)
    existing = Recording.objects.create(
        mbid=WWRY_SHORT, status="resolved", title="We Will Rock You", artist_name="Queen"
    )
    held = threading.Event()

    def ingest() -> None:
        # Holds the report both writers need, so that they queue for it: the curator
        # first (it has locked the first report of the text), then the resolver.
        with transaction.atomic():
            list(Recording.objects.select_for_update().filter(pk=hits.pk))
            held.set()
            time.sleep(1.5)

    def curator() -> Recording:
        assert held.wait(timeout=10)
        return curation.assign_by_curator(
            recording=studio,
            reference=WWRY_SHORT,
            curator_id=None,
            scope="text",
            client=LookupOnly(),
        )

    def resolver() -> Recording:
        assert held.wait(timeout=10)
        time.sleep(0.5)  # behind the curator in the queue
        return assign_recording_mbid(recording=hits, mbid=WWRY_SHORT)

    # The curator locks both reports of the text and the MBID's row, the resolver one
    # report and the MBID's row, both in key order: the resolver waits for the report
    # holding nothing the curator needs. Locking the MBID's row first would hold what
    # the curator waits for while waiting for what the curator holds: a deadlock
    # (PostgreSQL would abort one of them, and its thread would fail here).
    _, assigned, answered = run_together(ingest, curator, resolver)

    (row,) = Recording.objects.filter(mbid=WWRY_SHORT)
    assert row.pk == existing.pk == assigned.pk == answered.pk
    assert ListenEvent.objects.filter(recording=row).count() == 5
    assert not Recording.objects.filter(pk__in=[studio.pk, hits.pk]).exists()
