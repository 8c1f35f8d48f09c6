"""Re-pairing a history: plays both sources reported, on the same recording, that older
code stored unpaired, count once after the repair, and the repair can run again."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import ExternalAccount
from listens.duplicates import repair_cross_source_duplicates
from listens.models import ListenEvent
from listens.tasks import repair_duplicates_all_task, repair_duplicates_task
from tests.api.conftest import T0, make_listen, unresolved_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(alice):
    return (
        ExternalAccount.objects.create(user=alice, source="lastfm", external_username="kurt"),
        ExternalAccount.objects.create(user=alice, source="listenbrainz", external_username="k"),
    )


def unpaired_history(accounts, plays: int = 5):
    """Each play on both sources, two seconds apart, same recording, different text,
    as older code left them: nothing marked."""
    lastfm, listenbrainz = accounts
    song = unresolved_recording("Nirvana", "Polly")
    pairs = []
    for n in range(plays):
        at = T0 + timedelta(hours=n)
        first = make_listen(lastfm, at=at, track="Polly", artist="Nirvana", recording=song)
        second = make_listen(
            listenbrainz,
            at=at + timedelta(seconds=2),
            track="Polly - Remastered",
            artist="Nirvana",
            recording=song,
        )
        pairs.append((first, second))
    return pairs


def counted(user) -> int:
    return ListenEvent.objects.counted().filter(user=user).count()


def run(*args: str) -> str:
    out = StringIO()
    call_command("repair_duplicates", *args, stdout=out)
    return out.getvalue()


def test_repair_pairs_each_play_once_and_a_rerun_changes_nothing(alice, accounts):
    pairs = unpaired_history(accounts)
    assert counted(alice) == 10

    out = run("--user", "alice", "--batch-size", "3")

    assert out == "alice: 5 newly paired (10 unpaired listens checked)\n"
    assert counted(alice) == 5
    # The later-stored listen of each pair is the copy, as at ingest.
    marked = dict(
        ListenEvent.objects.filter(duplicate_of__isnull=False).values_list("pk", "duplicate_of")
    )
    assert marked == {second.pk: first.pk for first, second in pairs}

    again = run("--user", "alice")

    assert again == "alice: 0 newly paired (0 unpaired listens checked)\n"
    assert counted(alice) == 5


def test_plays_of_one_source_or_outside_the_window_stay_apart(alice, accounts):
    lastfm, listenbrainz = accounts
    song = unresolved_recording("Nirvana", "Polly")
    make_listen(lastfm, at=T0, track="Polly", artist="Nirvana", recording=song)
    make_listen(lastfm, at=T0 + timedelta(seconds=2), track="Polly", recording=song)
    make_listen(listenbrainz, at=T0 + timedelta(hours=1), track="Polly", recording=song)

    batch = repair_cross_source_duplicates(user_id=alice.pk)

    assert (batch.checked, batch.marked, batch.next_after_id) == (3, 0, None)
    assert counted(alice) == 3


def test_batches_walk_the_history_and_end(alice, accounts):
    unpaired_history(accounts, plays=2)

    first = repair_cross_source_duplicates(user_id=alice.pk, batch_size=2)
    second = repair_cross_source_duplicates(
        user_id=alice.pk, after_id=first.next_after_id, batch_size=2
    )

    last = repair_cross_source_duplicates(
        user_id=alice.pk, after_id=second.next_after_id, batch_size=2
    )

    assert (first.checked, first.marked) == (2, 1)
    assert (second.checked, second.marked) == (2, 1)
    assert (last.checked, last.marked, last.next_after_id) == (0, 0, None)
    assert counted(alice) == 2


def test_the_task_queues_its_next_batch_and_the_schedule_queues_each_user(alice, bob, accounts):
    unpaired_history(accounts, plays=2)
    ExternalAccount.objects.create(user=bob, source="lastfm", external_username="bob")
    make_listen(ExternalAccount.objects.get(user=bob), track="Alone")

    with mock.patch("django_q.tasks.async_task") as queue:
        assert repair_duplicates_all_task() == {"queued": 1}  # bob has one source
        queue.assert_called_once_with("listens.tasks.repair_duplicates_task", alice.pk)

    with mock.patch("django_q.tasks.async_task") as queue:
        result = repair_duplicates_task(alice.pk)

    assert result == {"user": alice.pk, "checked": 4, "marked": 2}
    queue.assert_not_called()  # one batch held the whole history


def test_unknown_user_is_refused(db):
    with pytest.raises(CommandError, match="No Sidetrack user 'nobody'"):
        run("--user", "nobody")
