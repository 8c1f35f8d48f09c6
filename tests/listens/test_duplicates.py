"""Cross-source duplicates follow track identity: one play scrobbled to Last.fm and
ListenBrainz with different text noise counts once as soon as both resolve."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import ExternalAccount
from listens.models import ListenEvent
from tests.identity_catalog import POLLY, T0, listen, mbids, mocked, resolve, store

pytestmark = pytest.mark.django_db
__all__ = ["mocked"]  # fixture


@pytest.fixture
def accounts(alice):
    return (
        ExternalAccount.objects.create(user=alice, source="lastfm", external_username="kurt"),
        ExternalAccount.objects.create(user=alice, source="listenbrainz", external_username="k"),
    )


def exported(*args: str) -> list[dict]:
    out = StringIO()
    call_command("export_listens", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_shared_play_reported_with_different_text_counts_once_after_resolution(accounts, mocked):
    lastfm, listenbrainz = accounts
    at = T0 + timedelta(days=30)
    (scrobbled,) = store(lastfm, listen("Nirvana", "Polly", "Nevermind", at=at))
    (submitted,) = store(
        listenbrainz,
        listen(
            "Nirvana", "Polly - Remastered", "Nevermind (Remastered)", at=at + timedelta(seconds=2)
        ),
    )
    # Different texts, neither resolved: ingest cannot tell they are one play.
    assert ListenEvent.objects.filter(duplicate_of__isnull=False).count() == 0
    assert len(exported("--user", "alice", "--exclude-duplicates")) == 2

    resolve()

    assert mbids([scrobbled, submitted]) == [POLLY, POLLY]
    marked = ListenEvent.objects.filter(duplicate_of__isnull=False).get()
    assert {marked.pk, marked.duplicate_of_id} == {scrobbled.pk, submitted.pk}
    assert len(exported("--user", "alice", "--exclude-duplicates")) == 1
    assert len(exported("--user", "alice")) == 2


def test_plays_far_apart_are_not_duplicates_when_they_resolve_alike(accounts, mocked):
    lastfm, listenbrainz = accounts
    at = T0 + timedelta(days=40)
    store(lastfm, listen("Nirvana", "Polly", "Nevermind", at=at))
    store(listenbrainz, listen("Nirvana", "Polly - Remastered", at=at + timedelta(minutes=10)))

    resolve()

    assert ListenEvent.objects.filter(duplicate_of__isnull=False).count() == 0
