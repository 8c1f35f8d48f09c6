"""The listen insert itself (``listens.ingest.store``): the unique constraint decides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import ExternalAccount
from listens.ingest import store
from listens.ingest.payloads import IncomingListen
from listens.models import ListenEvent
from metadata.identity import recordings_for_tracks

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _listen(title: str, second: int) -> IncomingListen:
    return IncomingListen.of(
        listened_at=T0.replace(second=second),
        track_name=title,
        artist_name="Queen",
        album_name="News of the World",
        duration_ms=None,
        hints=(),
        raw_json="{}",
    )


def test_a_row_that_slips_past_the_known_rows_filter_does_not_fail_the_batch(alice):
    account = ExternalAccount.objects.create(
        user=alice, source="lastfm", external_username="alice-lastfm"
    )
    stored = _listen("We Will Rock You", 1)
    store.store_listens(account=account, listens=[stored])
    # Another writer stored it meanwhile (or a later filter misses it): the insert
    # sees it again, next to a new listen.
    again, new = _listen("We Will Rock You", 1), _listen("We Are the Champions", 2)
    recordings = recordings_for_tracks([again.reported, new.reported])

    store._insert_listens(account, [again, new], recordings)

    titles = sorted(
        ListenEvent.objects.filter(account=account).values_list("track_name", flat=True)
    )
    assert titles == ["We Are the Champions", "We Will Rock You"]
