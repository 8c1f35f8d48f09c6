"""Album-correct attributions through every door listens come in by: Last.fm and
ListenBrainz ingest and a ListenBrainz export import, then ``resolve_unresolved``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import ExternalAccount, ListenSource
from listens.ingest.run import ingest_account
from listens.models import ListenEvent
from tests.identity_catalog import (
    COME_AS_YOU_ARE,
    COME_AS_YOU_ARE_LIVE,
    POLLY,
    POLLY_LIVE,
    mocked,
    resolve,
)
from tests.listens.test_ingest import FakeLastfm, FakeListenBrainz, lastfm_scrobble, lb_listen

pytestmark = pytest.mark.django_db
__all__ = ["mocked"]  # fixture

START = 1_700_000_000
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def attributions(account: ExternalAccount) -> list[tuple[str, str, str | None]]:
    rows = ListenEvent.objects.filter(account=account).order_by("listened_at")
    return [
        (r.track_name, r.album_name, str(r.recording.mbid) if r.recording.mbid else None)
        for r in rows.select_related("recording")
    ]


def test_lastfm_ingest_attributes_each_listen_by_its_album_and_mbid(alice, mocked):
    account = ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="rj"
    )
    polly_on_nevermind = lastfm_scrobble(START + 300, "Polly", "Nirvana", "Nevermind")
    polly_on_nevermind["mbid"] = POLLY  # Last.fm's track MBID for this listen
    FakeLastfm(
        [
            lastfm_scrobble(START, "Polly", "Nirvana", "MTV Unplugged in New York"),
            lastfm_scrobble(START + 100, "Come as You Are", "Nirvana", "MTV Unplugged in New York"),
            lastfm_scrobble(START + 200, "Come as You Are", "Nirvana", "Nevermind"),
            polly_on_nevermind,
        ]
    ).serve(mocked)

    ingest_account(account=account, now=NOW)
    resolve()

    assert attributions(account) == [
        ("Polly", "MTV Unplugged in New York", POLLY_LIVE),
        ("Come as You Are", "MTV Unplugged in New York", COME_AS_YOU_ARE_LIVE),
        ("Come as You Are", "Nevermind", COME_AS_YOU_ARE),
        ("Polly", "Nevermind", POLLY),
    ]


def test_listenbrainz_ingest_attributes_each_listen_by_its_album_and_mbid(alice, mocked):
    account = ExternalAccount.objects.create(
        user=alice, source=ListenSource.LISTENBRAINZ, external_username="jasjeet"
    )
    listens = [
        lb_listen(START, "Polly", "Nirvana", recording_mbid=POLLY_LIVE),
        lb_listen(START + 100, "Polly", "Nirvana", recording_mbid=POLLY),
        lb_listen(START + 200, "Come as You Are", "Nirvana"),
    ]
    albums = ["MTV Unplugged in New York", "Nevermind", "Nevermind"]
    for item, album in zip(listens, albums, strict=True):
        item["track_metadata"]["release_name"] = album
    FakeListenBrainz("jasjeet", listens).serve(mocked)

    ingest_account(account=account, now=NOW)
    resolve()

    assert [mbid for _, _, mbid in attributions(account)] == [POLLY_LIVE, POLLY, COME_AS_YOU_ARE]


def test_an_imported_export_attributes_each_listen_by_its_album(alice, mocked, tmp_path):
    lines = [
        {
            "listened_at": START + n,
            "track_metadata": {
                "artist_name": "Nirvana",
                "track_name": title,
                "release_name": album,
                "additional_info": {},
            },
        }
        for n, (title, album) in enumerate(
            [
                ("Polly", "MTV Unplugged in New York"),
                ("Polly", "Nevermind"),
                ("Come as You Are", "Nevermind"),
                ("Come as You Are", "MTV Unplugged in New York"),
            ]
        )
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")

    call_command(
        "import_listens", "--user", "alice", "--name", "kurt", str(path), stdout=StringIO()
    )
    resolve()

    account = ExternalAccount.objects.get(user=alice)
    assert [mbid for _, _, mbid in attributions(account)] == [
        POLLY_LIVE,
        POLLY,
        COME_AS_YOU_ARE,
        COME_AS_YOU_ARE_LIVE,
    ]
