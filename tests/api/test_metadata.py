"""Metadata endpoints: stored lookups, album search and import against recorded
MusicBrainz payloads (tests/fixtures/musicbrainz, provenance in SOURCES.md)."""

from __future__ import annotations

import time

import pytest
import responses
from responses import matchers

from metadata.models import Release, ReleaseGroup, Track
from tests.api.conftest import make_artist, make_credit, resolved_recording
from tests.payloads import load_payload
from tests.slow_upstream import hanging_server

pytestmark = pytest.mark.django_db

BASE = "https://mb.test/ws/2/"
HEXNDEIFL_RG = "4a9421e6-9def-4616-82bf-674d5a5c7a29"
HEXNDEIFL_RELEASE = "cb36e0ab-6634-4d85-a84e-8be89924811f"
GRAINHEIM = "c46ed989-cb1c-48fb-848d-0078784fc3f4"
WEEZER_BLUE = "3eeee000-1994-4000-8000-000000000001"
UNKNOWN = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"


def mb(name: str):
    return load_payload("musicbrainz", f"musicbrainz__{name}.json")


def built(name: str):
    return load_payload("musicbrainz", f"built__{name}.json")


def sent(**params) -> list:
    return [matchers.query_param_matcher({**params, "fmt": "json"})]


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:
        yield rsps


def serve_album_search(mocked, body, *, artist: str, title: str, status: int = 200):
    query = f"releasegroup:({title}) AND artist:({artist})"
    mocked.get(
        BASE + "release-group/",
        json=body,
        status=status,
        match=sent(query=query, limit="25", offset="0"),
    )


def serve_hexndeifl(mocked):
    mocked.get(
        BASE + f"release-group/{HEXNDEIFL_RG}",
        json=built("release-group_lookup__hexndeifl_inc_artist-credits"),
        match=sent(inc="artist-credits"),
    )
    for page in ("1_of_2", "2_of_2"):
        body = built(f"release_browse__hexndeifl_page_{page}")
        mocked.get(
            BASE + "release/",
            json=body,
            match=sent(
                **{
                    "release-group": HEXNDEIFL_RG,
                    "inc": "recordings+media+artist-credits",
                    "limit": "100",
                    "offset": str(body["release-offset"]),
                }
            ),
        )


def test_album_search_with_one_exact_match_is_confident(as_alice, mocked):
    serve_album_search(
        mocked,
        mb("release-group_search__hexndeifl_1_result"),
        artist="Gråinheim",
        title="Hexndeifl",
    )

    response = as_alice.get("/api/albums/search/", {"artist": "Gråinheim", "title": "Hexndeifl"})

    assert response.status_code == 200
    body = response.json()
    assert (body["confident"], body["reason"]) == (True, "single exact title and artist match")
    assert body["candidates"] == [
        {
            "mbid": HEXNDEIFL_RG,
            "title": "Hexndeifl",
            "artist_credit": "Gråinheim",
            "first_release_date": "2021-02-15",
            "primary_type": "Album",
            "secondary_types": [],
            "reasons": [
                "artist matches",
                "exact title",
                "studio album",
                "first released 2021-02-15",
            ],
        }
    ]


def test_album_search_with_two_albums_sharing_the_title_asks_the_user(as_alice, mocked):
    serve_album_search(
        mocked, built("release-group_search__weezer_self_titled"), artist="Weezer", title="Weezer"
    )

    body = as_alice.get("/api/albums/search/", {"artist": "Weezer", "title": "Weezer"}).json()

    assert body["confident"] is False
    assert body["reason"] == "2 albums share the title: ask the user (a year narrows)"
    assert body["candidates"][0]["mbid"] == WEEZER_BLUE
    assert len(body["candidates"]) == 3


def test_album_search_needs_artist_and_title(as_alice):
    response = as_alice.get("/api/albums/search/", {"artist": "Weezer"})
    assert response.status_code == 400
    assert set(response.json()["error"]["detail"]) == {"title"}


def test_musicbrainz_unavailable_is_a_503_with_the_error_body(as_alice, mocked):
    serve_album_search(mocked, {"error": "busy"}, artist="Weezer", title="Weezer", status=503)

    response = as_alice.get("/api/albums/search/", {"artist": "Weezer", "title": "Weezer"})

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert error["service"] == "musicbrainz"
    assert "HTTP 503" in error["message"]


def test_import_stores_and_returns_the_release_group(as_alice, mocked):
    serve_hexndeifl(mocked)

    response = as_alice.post("/api/release-groups/import/", {"mbid": HEXNDEIFL_RG}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["mbid"], body["title"], body["artist_credit"]) == (
        HEXNDEIFL_RG,
        "Hexndeifl",
        "Gråinheim",
    )
    assert len(body["releases"]) == 3
    assert body["preferred_release"]["mbid"] == HEXNDEIFL_RELEASE
    assert [t["title"] for t in body["preferred_release"]["tracks"]] == [
        "Transilvania",
        "Vlad Draculea",
        "Finstersucht",
        "Aetherbrand",
        "Hexndeifl",
        "Ausklang",
    ]
    assert body["preferred_release"]["tracks"][0] == {
        "medium": 1,
        "position": 1,
        "number": "1",
        "title": "Transilvania",
        "length_ms": 336562,
        "recording_mbid": "60ab5ee3-c283-467c-ace3-d07927ae166c",
    }
    assert ReleaseGroup.objects.filter(mbid=HEXNDEIFL_RG).exists()
    assert Track.objects.filter(release__mbid=HEXNDEIFL_RELEASE).count() == 6


def test_import_prefers_the_release_from_the_given_country(as_alice, mocked):
    serve_hexndeifl(mocked)

    body = as_alice.post(
        "/api/release-groups/import/", {"mbid": HEXNDEIFL_RG, "country": "JP"}, format="json"
    ).json()

    assert body["preferred_release"]["country"] == "JP"


def test_import_of_an_mbid_musicbrainz_lacks_is_a_404(as_alice, mocked):
    mocked.get(
        BASE + f"release-group/{UNKNOWN}",
        json={"error": "Not Found"},
        status=404,
        match=sent(inc="artist-credits"),
    )

    response = as_alice.post("/api/release-groups/import/", {"mbid": UNKNOWN}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_import_rejects_a_malformed_mbid(as_alice):
    response = as_alice.post("/api/release-groups/import/", {"mbid": "nope"}, format="json")
    assert response.status_code == 400
    assert "mbid" in response.json()["error"]["detail"]


def test_stored_release_group_with_releases_and_tracklist(as_alice):
    credit = make_credit("Portishead", make_artist("Portishead"))
    group = ReleaseGroup.objects.create(
        mbid="11111111-1111-4111-8111-111111111111",
        title="Dummy",
        artist_credit=credit,
        primary_type="Album",
        first_release_date="1994-08-22",
    )
    release = Release.objects.create(
        mbid="22222222-2222-4222-8222-222222222222",
        release_group=group,
        title="Dummy",
        country="GB",
        date="1994-08-22",
        status="Official",
    )
    group.preferred_release = release
    group.save()
    roads = resolved_recording("Roads", credit, length_ms=305000)
    Track.objects.create(
        release=release,
        recording=roads,
        medium_position=1,
        position=8,
        number="8",
        title="Roads",
        length_ms=305000,
    )

    body = as_alice.get(f"/api/release-groups/{group.mbid}/").json()

    assert body["artist_credit"] == "Portishead"
    assert [r["mbid"] for r in body["releases"]] == [str(release.mbid)]
    assert body["preferred_release"]["tracks"] == [
        {
            "medium": 1,
            "position": 8,
            "number": "8",
            "title": "Roads",
            "length_ms": 305000,
            "recording_mbid": str(roads.mbid),
        }
    ]

    recording = as_alice.get(f"/api/recordings/{roads.mbid}/").json()
    assert recording["artist_credit"] == "Portishead"
    assert recording["appearances"] == [
        {
            "release_mbid": str(release.mbid),
            "release_title": "Dummy",
            "release_group_mbid": str(group.mbid),
            "medium": 1,
            "position": 8,
        }
    ]

    artist_mbid = credit.names.get().artist.mbid
    artist = as_alice.get(f"/api/artists/{artist_mbid}/").json()
    assert artist["name"] == "Portishead"
    assert [g["mbid"] for g in artist["release_groups"]] == [str(group.mbid)]


@pytest.mark.parametrize("kind", ["artists", "release-groups", "recordings"])
@pytest.mark.parametrize("mbid", [UNKNOWN, "not-a-uuid"])
def test_unknown_or_malformed_mbid_is_a_404_with_the_error_body(as_alice, kind, mbid):
    response = as_alice.get(f"/api/{kind}/{mbid}/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/albums/search/?artist=Weezer&title=Pinkerton", None),
        ("post", "/api/release-groups/import/", {"mbid": "5b11f4ce-a62d-471e-81fc-a69a8278c7da"}),
    ],
)
def test_a_hung_musicbrainz_costs_the_request_one_deadline(
    as_alice, external_settings, method, path, body
):
    external_settings.UPSTREAM_DEADLINE_SECONDS = 0.5
    external_settings.HTTP_READ_TIMEOUT = 3.0
    external_settings.HTTP_MAX_RETRIES = 4  # a web request must not use them
    external_settings.MBID_MAPPER_ENABLED = False

    with hanging_server() as upstream:
        external_settings.MUSICBRAINZ_BASE_URL = upstream.base_url + "ws/2/"
        started = time.monotonic()
        response = getattr(as_alice, method)(path, body, format="json")
        elapsed = time.monotonic() - started
        asked = len(upstream.connections)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert response.json()["error"]["service"] == "musicbrainz"
    assert asked == 1  # no retry once the deadline is spent
    assert elapsed < 3  # the read timeout alone would be 3 s, with retries 15 s and more
