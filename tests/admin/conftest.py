from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from accounts.models import ExternalAccount
from listens.models import ListenEvent
from metadata.identity import get_or_create_recording_for_text
from metadata.matching import text_key_digest

MB = "https://mb.test/ws/2/"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "musicbrainz"
# Recorded search (musicbrainz_rs, see fixtures/musicbrainz/SOURCES.md): two
# "We Will Rock You" recordings by Queen, 126826 ms and 301600 ms long.
WWRY_SEARCH = "musicbrainz__recording_search__we_will_rock_you_queen_trimmed.json"
WWRY_SHORT = "3eb00f9f-6291-4a47-9309-8c7152a408bb"
WWRY_LONG = "9fb468ce-309f-4a4a-90d5-6b74df17c1b7"
WWRY_QUERY = {
    "query": "recording:(We Will Rock You) AND artist:(Queen)",
    "limit": "25",
    "offset": "0",
    "fmt": "json",
}


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def recording_lookup_body(mbid: str) -> dict:
    """A lookup answer built from the recorded search item for ``mbid`` (lookups
    return the same recording shape without ``score``)."""
    item = next(r for r in fixture(WWRY_SEARCH)["recordings"] if r["id"] == mbid)
    return {k: v for k, v in item.items() if k not in ("score", "releases")}


_instants = itertools.count()


@pytest.fixture
def make_listens(db):
    """Listens of one reported text, on the user's account for the source."""

    def make(artist, title, count, *, user, source="lastfm", album="", length_ms=None):
        account, _ = ExternalAccount.objects.get_or_create(
            user=user, source=source, external_username=f"{user.username}-{source}"
        )
        recording = get_or_create_recording_for_text(
            artist_name=artist, track_name=title, album_name=album, duration_ms=length_ms
        )
        start = datetime(2024, 1, 1, tzinfo=UTC)
        ListenEvent.objects.bulk_create(
            ListenEvent(
                user=user,
                account=account,
                source=source,
                listened_at=start + timedelta(minutes=next(_instants)),
                recording=recording,
                track_name=title,
                artist_name=artist,
                album_name=album,
                track_key=text_key_digest(artist, title),
                raw_payload={"artist": artist, "track": title},
            )
            for _ in range(count)
        )
        return recording

    return make


@pytest.fixture
def mb_settings(external_settings):
    external_settings.MBID_MAPPER_ENABLED = False
    return external_settings
