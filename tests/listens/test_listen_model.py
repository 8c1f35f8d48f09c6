from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from accounts.models import ExternalAccount, ListenSource
from listens.models import ListenEvent
from metadata.identity import get_or_create_recording_for_text
from metadata.matching import text_key_digest

pytestmark = pytest.mark.django_db

WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def account(alice):
    return ExternalAccount.objects.create(
        user=alice, source=ListenSource.LISTENBRAINZ, external_username="alice"
    )


def listen(account, artist="Queen", track="Bicycle Race", when=WHEN) -> ListenEvent:
    return ListenEvent(
        user=account.user,
        account=account,
        source=account.source,
        listened_at=when,
        recording=get_or_create_recording_for_text(artist_name=artist, track_name=track),
        track_name=track,
        artist_name=artist,
        track_key=text_key_digest(artist, track),
    )


def test_the_same_listen_cannot_be_stored_twice(account):
    listen(account).save()

    with pytest.raises(IntegrityError), transaction.atomic():
        listen(account).save()

    assert ListenEvent.objects.count() == 1


def test_bulk_reinsert_with_ignore_conflicts_stores_only_new_listens(account):
    ListenEvent.objects.bulk_create([listen(account), listen(account, track="Fat Bottomed Girls")])

    ListenEvent.objects.bulk_create(
        [
            listen(account),
            listen(account, track="Fat Bottomed Girls"),
            listen(account, track="Jealousy"),
        ],
        ignore_conflicts=True,
    )

    assert sorted(ListenEvent.objects.values_list("track_name", flat=True)) == [
        "Bicycle Race",
        "Fat Bottomed Girls",
        "Jealousy",
    ]


def test_two_tracks_in_the_same_second_are_both_kept(account):
    listen(account, track="Bicycle Race").save()
    listen(account, track="Fat Bottomed Girls").save()

    assert ListenEvent.objects.filter(listened_at=WHEN).count() == 2


def test_same_listen_on_two_accounts_is_stored_for_each(account, alice):
    other = ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="alice"
    )
    listen(account).save()
    listen(other).save()

    assert ListenEvent.objects.count() == 2


def test_external_account_is_unique_per_user_source_and_name_ignoring_case(account, alice, bob):
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalAccount.objects.create(
            user=alice, source=ListenSource.LISTENBRAINZ, external_username="ALICE"
        )

    ExternalAccount.objects.create(
        user=bob, source=ListenSource.LISTENBRAINZ, external_username="alice"
    )
    assert ExternalAccount.objects.count() == 2
    assert account.cursor is None
    assert account.status == ExternalAccount.Status.NEW
