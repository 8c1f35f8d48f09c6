from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
import responses
import time_machine
from django.core.management import call_command
from django.utils import timezone
from responses import matchers

from metadata.identity import get_or_create_recording_for_text
from metadata.models import Recording, RecordingAlias, ReleaseGroup
from metadata.resolution import (
    Hint,
    TrackResolver,
    resolve_track_to_mb_recording,
    resolve_unresolved,
)

pytestmark = pytest.mark.django_db

MB = "https://mb.test/ws/2/"
MAPPER = "https://lb.test/1/metadata/lookup/"

QUEEN = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"
WWRY = "b1a9c0e9-d987-4042-ae91-78d6a3267d69"
WWRY_LIVE = "0a4f1c6e-5d1a-4b57-9a0d-3c1f0b0fbd01"
WWRY_OTHER = "7d2ce1a4-2f0e-4b5e-9a63-8d3e1b27f5c2"
CHAMPIONS = "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"
MERGED_OLD = "11111111-2222-4333-8444-555555555555"


def credit(name=("Queen", QUEEN)):
    artist_name, artist_id = name
    return [
        {
            "name": artist_name,
            "joinphrase": "",
            "artist": {"id": artist_id, "name": artist_name, "sort-name": artist_name},
        }
    ]


def recording(mbid, title, length=122000, *, artist=("Queen", QUEEN), disamb="", releases=()):
    return {
        "id": mbid,
        "title": title,
        "length": length,
        "disambiguation": disamb,
        "video": False,
        "artist-credit": credit(artist),
        "releases": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{mbid}/{r}")),
                "title": r,
                "status": "Official",
                "release-group": {"id": str(uuid.uuid4()), "primary-type": "Album"},
            }
            for r in releases
        ],
        "score": 100,
    }


def search_answer(*recordings):
    return {
        "created": "2024-01-01T00:00:00Z",
        "count": len(recordings),
        "offset": 0,
        "recordings": list(recordings),
    }


@pytest.fixture
def resolver(external_settings):
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    return TrackResolver(use_mapper=False)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


def test_single_search_match_resolves_and_is_stored(resolver, mocked):
    mocked.get(
        MB + "recording/",
        json=search_answer(
            recording(WWRY, "We Will Rock You", releases=("News of the World",)),
            recording(CHAMPIONS, "We Are the Champions"),
        ),
        match=[
            matchers.query_param_matcher(
                {
                    "query": "recording:(We Will Rock You) AND artist:(Queen)",
                    "limit": "50",
                    "offset": "0",
                    "fmt": "json",
                }
            )
        ],
    )

    mbid = resolve_track_to_mb_recording(
        "We Will Rock You - Remastered 2011", "Queen", resolver=resolver
    )

    assert mbid == WWRY
    stored = Recording.objects.get(mbid=WWRY)
    assert (stored.title, stored.artist_name, stored.length_ms) == (
        "We Will Rock You",
        "Queen",
        122000,
    )
    assert stored.artist_credit.names.get().artist.name == "Queen"


def test_same_text_is_resolved_once(resolver, mocked):
    mocked.get(MB + "recording/", json=search_answer(recording(WWRY, "We Will Rock You")))

    first = resolve_track_to_mb_recording("We Will Rock You", "Queen", resolver=resolver)
    second = resolve_track_to_mb_recording("we will rock you", "QUEEN", resolver=resolver)

    assert first == second == WWRY
    assert len(mocked.calls) == 1


def test_ambiguous_candidates_leave_the_track_unresolved(resolver, mocked):
    mocked.get(
        MB + "recording/",
        json=search_answer(
            recording(WWRY, "We Will Rock You"), recording(WWRY_OTHER, "We Will Rock You")
        ),
    )

    assert resolve_track_to_mb_recording("We Will Rock You", "Queen", resolver=resolver) is None

    row = Recording.objects.get()
    assert row.status == Recording.Status.UNRESOLVED
    assert row.mbid is None
    assert "ambiguous" in row.last_error
    assert row.resolution_attempts == 1
    assert row.next_attempt_at > timezone.now()


def test_duration_breaks_a_tie_within_three_seconds(resolver, mocked):
    mocked.get(
        MB + "recording/",
        json=search_answer(
            recording(WWRY, "We Will Rock You", 122000),
            recording(WWRY_OTHER, "We Will Rock You", 301000),
        ),
    )

    mbid = resolve_track_to_mb_recording(
        "We Will Rock You", "Queen", duration_ms=120500, resolver=resolver
    )

    assert mbid == WWRY


def test_live_listen_resolves_to_the_live_recording(resolver, mocked):
    mocked.get(
        MB + "recording/",
        json=search_answer(
            recording(WWRY, "We Will Rock You"),
            recording(WWRY_LIVE, "We Will Rock You", disamb="live, 1986-07-12: Wembley Stadium"),
        ),
    )

    assert resolve_track_to_mb_recording("We Will Rock You (Live)", "Queen", resolver=resolver) == (
        WWRY_LIVE
    )


def test_unresolved_text_is_not_retried_before_its_time(resolver, mocked):
    mocked.get(MB + "recording/", json=search_answer())

    assert resolve_track_to_mb_recording("Unknown Song", "Nobody", resolver=resolver) is None
    assert resolve_track_to_mb_recording("Unknown Song", "Nobody", resolver=resolver) is None
    assert len(mocked.calls) == 1

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert resolve_track_to_mb_recording("Unknown Song", "Nobody", resolver=resolver) is None
    assert len(mocked.calls) == 2
    assert Recording.objects.get().resolution_attempts == 2


def test_stale_lastfm_mbid_is_not_trusted(resolver, mocked):
    mocked.get(MB + f"recording/{WWRY_OTHER}", json=recording(WWRY_OTHER, "Radio Ga Ga"))
    mocked.get(
        MB + "recording/",
        json=search_answer(
            recording(WWRY, "We Will Rock You"), recording(WWRY_LIVE, "We Will Rock You")
        ),
    )

    mbid = resolve_track_to_mb_recording(
        "We Will Rock You", "Queen", source_mbid=WWRY_OTHER, resolver=resolver
    )

    assert mbid is None  # the hint names another song; search is ambiguous
    assert not Recording.objects.filter(mbid=WWRY_OTHER).exists()


def test_verified_source_mbid_of_a_merged_recording_stores_the_canonical_id(resolver, mocked):
    mocked.get(MB + f"recording/{MERGED_OLD}", json=recording(WWRY, "We Will Rock You"))

    mbid = resolve_track_to_mb_recording(
        "We Will Rock You", "Queen", source_mbid=MERGED_OLD, resolver=resolver
    )

    assert mbid == WWRY
    assert len(mocked.calls) == 1  # no search needed
    assert RecordingAlias.objects.get().decided_by == RecordingAlias.DecidedBy.SOURCE_MBID


def test_listenbrainz_mapping_is_checked_without_any_request(resolver, mocked):
    hint = Hint(WWRY, mapped_title="We Will Rock You", mapped_artist="Queen")
    wrong = Hint(WWRY_OTHER, mapped_title="Bohemian Rhapsody", mapped_artist="Queen")

    assert (
        resolve_track_to_mb_recording(
            "We Will Rock You", "Queen", hints=[wrong, hint], resolver=resolver
        )
        == WWRY
    )
    assert len(mocked.calls) == 0


def test_a_known_row_verifies_a_hint_without_any_request(resolver, mocked):
    Recording.objects.create(
        mbid=WWRY, title="We Will Rock You", artist_name="Queen", status="resolved"
    )

    mbid = resolve_track_to_mb_recording(
        "We Will Rock You - 2011 Remaster", "Queen", source_mbid=WWRY, resolver=resolver
    )

    assert mbid == WWRY
    assert len(mocked.calls) == 0
    assert Recording.objects.count() == 1  # the text's unresolved row merged into it


def test_curator_decision_is_reused_without_requests(resolver, mocked):
    row = get_or_create_recording_for_text(artist_name="Home Recording", track_name="Demo 3")
    Recording.objects.filter(pk=row.pk).update(status=Recording.Status.NOT_IN_MUSICBRAINZ)

    assert resolve_track_to_mb_recording("Demo 3", "Home Recording", resolver=resolver) is None
    assert len(mocked.calls) == 0


def test_mapper_answer_is_accepted_only_when_it_agrees(external_settings, mocked):
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    resolver = TrackResolver(use_mapper=True)
    news = "News of the World"
    mocked.post(
        MAPPER,
        json=[
            {
                "index": 0,
                "recording_mbid": WWRY,
                "recording_name": "We Will Rock You",
                "artist_credit_name": "Queen",
                "release_name": news,
            },
            {
                "index": 1,
                "recording_mbid": WWRY_OTHER,
                "recording_name": "Under Pressure",
                "artist_credit_name": "Queen & David Bowie",
                "release_name": "Hot Space",
            },
            {
                "index": 2,
                "recording_mbid": CHAMPIONS,
                "recording_name": "We Are the Champions",
                "artist_credit_name": "Queen",
                "release_name": "Greatest Hits",  # not the album the listen named
            },
        ],
    )
    row_ok = get_or_create_recording_for_text(
        artist_name="Queen", track_name="We Will Rock You", album_name=news
    )
    row_bad = get_or_create_recording_for_text(
        artist_name="Queen", track_name="Under Prussia", album_name="Hot Space"
    )
    row_other_album = get_or_create_recording_for_text(
        artist_name="Queen", track_name="We Are the Champions", album_name="Live Killers"
    )
    mocked.get(MB + "recording/", json=search_answer())

    summary = resolve_unresolved(resolver=resolver)

    assert str(Recording.objects.get(pk=row_ok.pk).mbid) == WWRY
    assert Recording.objects.get(pk=row_bad.pk).mbid is None  # fuzzy mismatch not trusted
    assert Recording.objects.get(pk=row_other_album.pk).mbid is None
    assert (summary.resolved, summary.unresolved, summary.errors) == (1, 2, 0)
    assert summary.by_method == {"mapper": 1}
    sent = json.loads(mocked.calls[0].request.body)["recordings"]
    assert len(sent) == 3  # one mapper request for all


def intro_mapper_answer(mocked, title="Intro"):
    mocked.post(
        MAPPER,
        json=[
            {
                "index": 0,
                "recording_mbid": WWRY,
                "recording_name": title,
                "artist_credit_name": "Queen",
                "release_name": "Some Album",
            }
        ],
    )


def test_mapper_is_not_trusted_without_album_when_a_same_title_rival_is_known(
    external_settings, mocked
):
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    Recording.objects.create(
        mbid=WWRY_OTHER, title="Mustapha", artist_name="Queen", status="resolved"
    )
    intro_mapper_answer(mocked, "Mustapha")
    mocked.get(
        MB + "recording/",
        json=search_answer(recording(WWRY, "Mustapha"), recording(WWRY_OTHER, "Mustapha")),
    )

    mbid = resolve_track_to_mb_recording(
        "Mustapha", "Queen", resolver=TrackResolver(use_mapper=True)
    )

    assert mbid is None  # the search agrees: two "Mustapha"s, no way to tell


def test_mapper_answer_for_a_plain_title_without_album_waits_for_a_search_of_every_version(
    external_settings, mocked
):
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    intro_mapper_answer(mocked, "Mustapha")  # no rival stored: only a search shows one
    live = recording(WWRY_OTHER, "Mustapha", disamb="live, 1986-07-12: Wembley Stadium")
    mocked.get(MB + "recording/", json=search_answer(recording(WWRY, "Mustapha"), live))

    mbid = resolve_track_to_mb_recording(
        "Mustapha", "Queen", resolver=TrackResolver(use_mapper=True)
    )

    assert mbid is None  # studio or Wembley: nothing in the report tells them apart
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]  # mapper, then search
    assert "several versions" in Recording.objects.get(title="Mustapha").last_error


def test_mapper_answer_without_album_is_trusted_for_a_title_naming_its_version(
    external_settings, mocked
):
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    intro_mapper_answer(mocked, "Mustapha (Live)")

    mbid = resolve_track_to_mb_recording(
        "Mustapha (Live)", "Queen", resolver=TrackResolver(use_mapper=True)
    )

    assert mbid == WWRY
    assert len(mocked.calls) == 1  # the mapper only: no MusicBrainz request


def test_mapper_is_not_trusted_with_an_album_bound_title_without_album(external_settings, mocked):
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    intro_mapper_answer(mocked)  # one Intro of Queen's: which album's, nothing says
    mocked.get(MB + "recording/", json=search_answer())

    mbid = resolve_track_to_mb_recording("Intro", "Queen", resolver=TrackResolver(use_mapper=True))

    assert mbid is None
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]  # mapper, then search


def test_mapper_failure_falls_through_to_search(external_settings, mocked):
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    resolver = TrackResolver(use_mapper=True)
    mocked.post(MAPPER, status=500, json={"error": "boom"})
    mocked.get(MB + "recording/", json=search_answer(recording(WWRY, "We Will Rock You")))

    assert resolve_track_to_mb_recording("We Will Rock You", "Queen", resolver=resolver) == WWRY


# --- album context ------------------------------------------------------------------

GROUP = "3f1a2b3c-4d5e-4f60-8a1b-2c3d4e5f6a7b"
RELEASE = "9e8d7c6b-5a49-4382-8716-5f4e3d2c1b0a"
NEWS_TRACKS = [
    (WWRY, "We Will Rock You", 122000),
    (CHAMPIONS, "We Are the Champions", 179000),
    ("d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "Sheer Heart Attack", 206000),
]


def album_payloads(mocked):
    mocked.get(
        MB + "release-group/",
        json={
            "count": 1,
            "offset": 0,
            "release-groups": [
                {
                    "id": GROUP,
                    "title": "News of the World",
                    "primary-type": "Album",
                    "first-release-date": "1977-10-28",
                    "artist-credit": credit(),
                    "score": 100,
                }
            ],
        },
    )
    mocked.get(
        MB + "release/",
        json={
            "release-count": 1,
            "release-offset": 0,
            "releases": [
                {
                    "id": RELEASE,
                    "title": "News of the World",
                    "date": "1977-10-28",
                    "country": "GB",
                    "status": "Official",
                    "artist-credit": credit(),
                    "media": [
                        {
                            "position": 1,
                            "format": "Vinyl",
                            "track-count": len(NEWS_TRACKS),
                            "tracks": [
                                {
                                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, mbid)),
                                    "number": f"A{n}",
                                    "position": n,
                                    "title": title,
                                    "length": length,
                                    "recording": {"id": mbid, "title": title, "length": length},
                                }
                                for n, (mbid, title, length) in enumerate(NEWS_TRACKS, start=1)
                            ],
                        }
                    ],
                }
            ],
        },
    )


def test_album_context_resolves_several_tracks_with_two_requests(resolver, mocked):
    album_payloads(mocked)
    for title in (
        "We Will Rock You",
        "We Are The Champions - Remastered 2011",
        "Sheer Heart Attack",
    ):
        get_or_create_recording_for_text(
            artist_name="Queen", track_name=title, album_name="News of the World (Deluxe)"
        )

    summary = resolve_unresolved(resolver=resolver)

    assert (summary.resolved, summary.unresolved, summary.errors) == (3, 0, 0)
    assert summary.by_method == {"album": 3}
    assert len(mocked.calls) == 2  # one release-group search, one browse
    assert set(Recording.objects.values_list("mbid", flat=True)) == {
        uuid.UUID(m) for m, _, _ in NEWS_TRACKS
    }
    group = ReleaseGroup.objects.get(mbid=GROUP)
    assert str(group.preferred_release.mbid) == RELEASE
    assert group.preferred_release.tracks.count() == 3


def test_stored_album_resolves_later_listens_without_requests(resolver, mocked):
    album_payloads(mocked)
    for title in ("We Will Rock You", "Sheer Heart Attack"):
        get_or_create_recording_for_text(
            artist_name="Queen", track_name=title, album_name="News of the World"
        )
    resolve_unresolved(resolver=resolver)
    calls = len(mocked.calls)

    mbid = resolve_track_to_mb_recording(
        "We Are the Champions", "Queen", album_name="News of the World", resolver=resolver
    )

    assert mbid == CHAMPIONS
    assert len(mocked.calls) == calls


def test_a_stored_album_is_found_under_its_deluxe_edition_name(resolver, mocked):
    album_payloads(mocked)
    for title in ("We Will Rock You", "Sheer Heart Attack"):
        get_or_create_recording_for_text(
            artist_name="Queen", track_name=title, album_name="News of the World"
        )
    resolve_unresolved(resolver=resolver)
    # Other artists' albums of the same title come first in the store.
    for _ in range(25):
        ReleaseGroup.objects.create(
            mbid=uuid.uuid4(),
            title="News of the World",
            preferred_release=ReleaseGroup.objects.get(mbid=GROUP).preferred_release,
        )
    calls = len(mocked.calls)

    mbid = resolve_track_to_mb_recording(
        "We Are the Champions",
        "Queen",
        album_name="News of the World (Deluxe Edition)",
        resolver=resolver,
    )

    assert mbid == CHAMPIONS
    assert len(mocked.calls) == calls


def test_run_stops_after_repeated_upstream_failures(resolver, mocked):
    mocked.get(MB + "recording/", status=503, json={"error": "busy"})
    for n in range(6):
        get_or_create_recording_for_text(artist_name="Band", track_name=f"Song {n}")

    summary = resolve_unresolved(resolver=resolver)

    assert summary.errors == 3
    assert "503" in summary.stopped_early
    assert len(mocked.calls) == 3
    errored = Recording.objects.exclude(last_error="")
    assert errored.count() == 3
    assert all("error" in r.last_error for r in errored)


def test_resolve_unresolved_command_prints_a_summary(external_settings, mocked):
    external_settings.MBID_MAPPER_ENABLED = False
    external_settings.MBID_MAPPER_BASE_URL = "https://lb.test/1/"
    mocked.get(MB + "recording/", json=search_answer(recording(WWRY, "We Will Rock You")))
    get_or_create_recording_for_text(artist_name="Queen", track_name="We Will Rock You")
    out = StringIO()

    call_command("resolve_unresolved", "--limit", "10", stdout=out)

    assert out.getvalue().strip() == "Resolved 1, still unresolved 0, errors 0 (by search 1)"
    assert str(Recording.objects.get().mbid) == WWRY


def test_a_second_run_skips_tracks_another_run_has_taken(resolver, mocked):
    from metadata import resolution

    mocked.get(MB + "recording/", json=search_answer(recording(WWRY, "We Will Rock You")))
    get_or_create_recording_for_text(artist_name="Queen", track_name="We Will Rock You")
    seen_by_second: list[int] = []

    def second_run_meanwhile(track):
        seen_by_second.append(resolution.resolve_unresolved(resolver=resolver).attempted)
        return original(track)

    original = resolver.resolve_with_search
    resolver.resolve_with_search = second_run_meanwhile

    summary = resolve_unresolved(resolver=resolver)

    assert seen_by_second == [0]  # the track was leased by the first run
    assert summary.resolved == 1
    assert len(mocked.calls) == 1


def test_tracks_a_stopped_run_did_not_reach_are_due_again(resolver, mocked):
    mocked.get(MB + "recording/", status=503, json={"error": "busy"})
    for n in range(5):
        get_or_create_recording_for_text(artist_name="Band", track_name=f"Song {n}")

    resolve_unresolved(resolver=resolver)

    untouched = Recording.objects.filter(last_error="")
    assert untouched.count() == 2
    assert all(r.next_attempt_at <= timezone.now() for r in untouched)
