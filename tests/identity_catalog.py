"""A catalog where the same titles name studio and live recordings (Nirvana's
*Nevermind* and *MTV Unplugged in New York*, Queen, Oasis), served to the resolver
through ``responses``, and the store path ingest uses: for identity tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import responses

from accounts.models import ExternalAccount
from listens.ingest.paging import FetchedPage
from listens.ingest.payloads import IncomingListen
from listens.ingest.store import RecordingMemo, store_page
from listens.models import IngestRun, ListenEvent
from metadata.resolution import Hint, TrackResolver, resolve_unresolved

MB = "https://mb.test/ws/2/"
NIRVANA = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
QUEEN = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"
OASIS = "39ab1aed-75e0-4140-bd47-540276886b60"
POLLY = "4a0c1b3e-0000-4000-8000-000000000001"
POLLY_LIVE = "4a0c1b3e-0000-4000-8000-000000000002"
COME_AS_YOU_ARE = "4a0c1b3e-0000-4000-8000-000000000003"
COME_AS_YOU_ARE_LIVE = "4a0c1b3e-0000-4000-8000-000000000004"
RHAPSODY = "4a0c1b3e-0000-4000-8000-000000000005"
WONDERWALL = "4a0c1b3e-0000-4000-8000-000000000006"
WONDERWALL_LIVE = "4a0c1b3e-0000-4000-8000-000000000007"
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def release(title: str, *, live: bool = False) -> dict:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, title)),
        "title": title,
        "status": "Official",
        "release-group": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, title)),
            "primary-type": "Album",
            "secondary-types": ["Live"] if live else [],
        },
    }


def recording(mbid, title, artist, *, disambiguation="", releases=(), length=200_000) -> dict:
    name, artist_mbid = artist
    return {
        "id": mbid,
        "title": title,
        "length": length,
        "disambiguation": disambiguation,
        "video": False,
        "artist-credit": [
            {"name": name, "joinphrase": "", "artist": {"id": artist_mbid, "name": name}}
        ],
        "releases": list(releases),
        "score": 100,
    }


NIRVANA_CREDIT = ("Nirvana", NIRVANA)
UNPLUGGED = release("MTV Unplugged in New York", live=True)
NEVERMIND = release("Nevermind")
UNPLUGGED_DISAMBIGUATION = "live, 1993-11-18: Sony Music Studios, New York City"
CATALOG = {
    POLLY: recording(POLLY, "Polly", NIRVANA_CREDIT, releases=[NEVERMIND]),
    POLLY_LIVE: recording(
        POLLY_LIVE,
        "Polly",
        NIRVANA_CREDIT,
        disambiguation=UNPLUGGED_DISAMBIGUATION,
        releases=[UNPLUGGED],
    ),
    COME_AS_YOU_ARE: recording(
        COME_AS_YOU_ARE, "Come as You Are", NIRVANA_CREDIT, releases=[NEVERMIND]
    ),
    COME_AS_YOU_ARE_LIVE: recording(
        COME_AS_YOU_ARE_LIVE,
        "Come as You Are",
        NIRVANA_CREDIT,
        disambiguation=UNPLUGGED_DISAMBIGUATION,
        releases=[UNPLUGGED],
    ),
    RHAPSODY: recording(
        RHAPSODY, "Bohemian Rhapsody", ("Queen", QUEEN), releases=[release("A Night at the Opera")]
    ),
    WONDERWALL: recording(
        WONDERWALL,
        "Wonderwall",
        ("Oasis", OASIS),
        releases=[release("(What's the Story) Morning Glory?")],
    ),
    WONDERWALL_LIVE: recording(
        WONDERWALL_LIVE,
        "Wonderwall",
        ("Oasis", OASIS),
        disambiguation="live, 2000-07-21: Wembley Stadium",
        releases=[release("Familiar to Millions", live=True)],
    ),
}


def serve_catalog(mocked: responses.RequestsMock) -> None:
    """Recording search by title and artist, and lookups, over ``CATALOG``."""

    def search(request):
        query = request.params["query"].replace("\\", "")  # Lucene escapes
        found = [
            r
            for r in CATALOG.values()
            if f"recording:({r['title']})" in query or r["id"] in query  # rid:(…)
        ]
        return 200, {}, _json({"count": len(found), "offset": 0, "recordings": found})

    def lookup(request):
        mbid = request.path_url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if mbid not in CATALOG:
            return 404, {}, _json({"error": "Not Found"})
        body = {k: v for k, v in CATALOG[mbid].items() if k not in ("score", "releases")}
        return 200, {}, _json(body)

    mocked.add_callback(responses.GET, MB + "recording/", callback=search)
    # No album is found: the resolver falls back to recording search.
    empty = {"count": 0, "offset": 0, "release-groups": []}
    mocked.get(MB + "release-group/", json=empty)
    for mbid in CATALOG:
        mocked.add_callback(responses.GET, MB + f"recording/{mbid}", callback=lookup)


def _json(body) -> str:
    return json.dumps(body)


@pytest.fixture
def mocked(external_settings):
    """MusicBrainz serving ``CATALOG``; the mapper off."""
    external_settings.MBID_MAPPER_ENABLED = False
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        serve_catalog(mocked)
        yield mocked


@pytest.fixture
def account(alice):
    return ExternalAccount.objects.create(user=alice, source="lastfm", external_username="kurt")


_seconds = iter(range(0, 10**7, 10))


def listen(artist, title, album="", hint=None, *, at=None, duration_ms=None) -> IncomingListen:
    return IncomingListen.of(
        listened_at=at or T0 + timedelta(seconds=next(_seconds)),
        track_name=title,
        artist_name=artist,
        album_name=album,
        duration_ms=duration_ms,
        hints=(Hint(hint),) if hint else (),
        raw_json="{}",
    )


def store(account, *listens: IncomingListen) -> list[ListenEvent]:
    run = IngestRun.objects.create(account=account)
    store_page(
        account=account, run=run, page=FetchedPage(list(listens), None), memo=RecordingMemo()
    )
    times = [item.listened_at for item in listens]
    return list(
        ListenEvent.objects.filter(account=account, listened_at__in=times).order_by("listened_at")
    )


def mbids(listens: list[ListenEvent]) -> list[str | None]:
    out = []
    for item in listens:
        item.refresh_from_db()
        out.append(str(item.recording.mbid) if item.recording.mbid else None)
    return out


def resolve() -> None:
    resolve_unresolved(resolver=TrackResolver(use_mapper=False))
