"""The local Last.fm / ListenBrainz / MusicBrainz emulator, exercised with plain ``requests``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulator import Arrival, Emulator, EmuScrobble, World

ROOT = Path(__file__).resolve().parent.parent
UA = "SidetrackTests/0.1 ( tests@example.org )"
T0 = 1_700_000_000
SAME_SECOND = T0 + 50 * 60  # alice's scrobbles 50, 51 and 52 share this second


def build_world() -> World:
    world = World()
    catalog = world.catalog
    queen = catalog.add_artist("Queen")
    lost = catalog.add_artist("Lost Frequencies", sort_name="Frequencies, Lost")
    calum = catalog.add_artist("Calum Scott", sort_name="Scott, Calum", type="Person")
    news = catalog.add_album(
        queen,
        "News of the World",
        [("We Will Rock You", 122_000), ("We Are the Champions", 179_000)],
        date="1977-10-28",
    )
    duo = catalog.add_album(
        [lost, calum],
        "Where Are You Now",
        [("Where Are You Now", 148_000)],
        date="2021-07-02",
        primary_type="Single",
    )
    # A two-disc live album, and a compilation group with 5 releases of 150 tracks.
    catalog.add_album(
        queen, "Live Killers", [["Tie Your Mother Down"], ["Bohemian Rhapsody"]], date="1979-06"
    )
    comp = catalog.add_release_group("Big Box", queen, first_release_date="2000")
    for n in range(5):
        tracks = [catalog.add_recording(f"Box {n} Song {i}", queen, 1000) for i in range(150)]
        catalog.add_release(comp, [tracks], title=f"Big Box vol. {n}", date=f"200{n}")

    world.add_user("alice")
    world.add_user("bob", private=True)
    world.add_user("carol", lastfm=False)  # ListenBrainz only
    world.add_user("dave")
    recordings = [t.recording for m in news.media for t in m] + [duo.media[0][0].recording]
    for i in range(120):
        ts = SAME_SECOND if 50 <= i <= 52 else T0 + i * 60
        world.scrobble("alice", ts, recordings[i % 3], mapped=i % 10 != 0, loved=i == 119)
    for i, recording in enumerate(recordings * 2 + recordings[:1]):
        world.scrobble("dave", T0 + i, recording)
    return world


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def emu(world: World) -> Iterator[Emulator]:
    with Emulator(world) as emulator:
        yield emulator
    assert not emulator.errors, emulator.errors[0]


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["User-Agent"] = UA
    yield session
    session.close()


def lastfm(emu: Emulator, http: requests.Session, **params: Any) -> requests.Response:
    query = {"method": "user.getRecentTracks", "api_key": "key", "format": "json", **params}
    return http.get(emu.urls["lastfm"], params=query, timeout=5)


def lb(emu: Emulator, http: requests.Session, path: str, **params: Any) -> requests.Response:
    return http.get(emu.urls["listenbrainz"] + path, params=params, timeout=5)


def mb(emu: Emulator, http: requests.Session, path: str, **params: Any) -> requests.Response:
    return http.get(emu.urls["musicbrainz"] + path, params={**params, "fmt": "json"}, timeout=5)


def uts(tracks: list[dict[str, Any]]) -> list[int]:
    return [int(t["date"]["uts"]) for t in tracks if "date" in t]


# --- Last.fm ------------------------------------------------------------------------------


def test_lastfm_pages_newest_first_with_string_counters(
    emu: Emulator, http: requests.Session, world: World
) -> None:
    pages = [lastfm(emu, http, user="alice", limit=50, page=p).json() for p in (1, 2, 3, 4)]
    attrs = [p["recenttracks"]["@attr"] for p in pages]
    assert attrs[1] == {
        "user": "alice",
        "totalPages": "3",
        "page": "2",
        "perPage": "50",
        "total": "120",
    }
    sizes = [len(p["recenttracks"]["track"]) for p in pages]
    assert sizes == [50, 50, 20, 0]
    seen = [ts for p in pages for ts in uts(p["recenttracks"]["track"])]
    assert seen == sorted((s.ts for s in world.scrobbles("alice")), reverse=True)


def test_lastfm_from_and_to_are_inclusive(emu: Emulator, http: requests.Session) -> None:
    body = lastfm(emu, http, user="alice", limit=200, **{"from": T0 + 600, "to": T0 + 1140}).json()
    assert uts(body["recenttracks"]["track"]) == [T0 + i * 60 for i in range(19, 9, -1)]
    assert body["recenttracks"]["@attr"]["total"] == "10"


def test_lastfm_now_playing_rides_on_top_of_page_one(
    emu: Emulator, http: requests.Session, world: World
) -> None:
    world.set_now_playing("alice", EmuScrobble("alice", 0, "Queen", "Under Pressure"))
    first = lastfm(emu, http, user="alice", limit=1).json()["recenttracks"]
    second = lastfm(emu, http, user="alice", limit=1, page=2).json()["recenttracks"]
    assert len(first["track"]) == 2  # limit + 1, as the real API does
    playing = first["track"][0]
    assert playing["@attr"] == {"nowplaying": "true"}
    assert "date" not in playing
    assert playing["name"] == "Under Pressure"
    assert first["@attr"]["total"] == "120"
    assert len(second["track"]) == 1
    assert "@attr" not in second["track"][0]


def test_lastfm_extended_form(emu: Emulator, http: requests.Session) -> None:
    track = lastfm(emu, http, user="alice", limit=1, extended=1).json()["recenttracks"]["track"][0]
    assert track["artist"]["name"] == "Lost Frequencies & Calum Scott"
    assert track["artist"]["url"].startswith("https://www.last.fm/music/")
    assert "#text" not in track["artist"]
    assert track["loved"] == "1"
    plain = lastfm(emu, http, user="alice", limit=1).json()["recenttracks"]["track"][0]
    assert plain["artist"]["#text"] == "Lost Frequencies & Calum Scott"
    assert "loved" not in plain


def test_lastfm_single_item_comes_as_object_when_configured(
    emu: Emulator, http: requests.Session
) -> None:
    window = {"from": T0, "to": T0}
    assert isinstance(
        lastfm(emu, http, user="alice", **window).json()["recenttracks"]["track"], list
    )
    emu.config.lastfm_single_item_as_object = True
    track = lastfm(emu, http, user="alice", **window).json()["recenttracks"]["track"]
    assert isinstance(track, dict)
    assert track["date"]["uts"] == str(T0)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"user": "nobody"}, 404, 6),
        ({"user": "carol"}, 404, 6),  # exists on ListenBrainz only
        ({"user": "bob"}, 403, 17),
        ({"user": "alice", "api_key": ""}, 403, 10),
        ({"user": "alice", "method": "user.getNothing"}, 400, 3),
    ],
)
def test_lastfm_errors(
    emu: Emulator, http: requests.Session, params: dict[str, str], status: int, code: int
) -> None:
    response = lastfm(emu, http, **params)
    assert response.status_code == status
    assert response.json()["error"] == code
    assert response.json()["message"]


def test_lastfm_only_configured_api_keys_are_accepted(world: World, http: requests.Session) -> None:
    with Emulator(world, lastfm_api_keys={"good"}) as emu:
        assert lastfm(emu, http, user="alice").json()["error"] == 10
        assert lastfm(emu, http, user="alice", api_key="good").status_code == 200


def test_lastfm_top_artists_and_albums_count_scrobbles(
    world: World, http: requests.Session
) -> None:
    with Emulator(world, clock=lambda: T0 + 10 * 86400) as emu:
        method = "User.GetTopArtists"  # method names are case-insensitive
        artists = lastfm(emu, http, method=method, user="dave").json()["topartists"]
        albums = lastfm(emu, http, method="user.gettopalbums", user="dave").json()["topalbums"]
        week = lastfm(emu, http, method=method, user="alice", period="7day").json()["topartists"]
        month = lastfm(emu, http, method=method, user="alice", period="1month").json()
    assert [(a["name"], a["playcount"], a["@attr"]["rank"]) for a in artists["artist"]] == [
        ("Queen", "5", "1"),
        ("Lost Frequencies & Calum Scott", "2", "2"),
    ]
    assert albums["album"][0]["name"] == "News of the World"
    assert albums["album"][0]["artist"]["name"] == "Queen"
    assert artists["@attr"]["total"] == "2"
    assert week["@attr"]["total"] == "0"
    assert month["topartists"]["@attr"]["total"] == "2"


# --- ListenBrainz ---------------------------------------------------------------------------


def test_lb_max_ts_is_exclusive_so_same_second_listens_are_skipped(
    emu: Emulator, http: requests.Session
) -> None:
    # Listens 53..119 (67) then the first of the three sharing SAME_SECOND.
    first = lb(emu, http, "user/alice/listens", count=68).json()["payload"]
    stamps = [item["listened_at"] for item in first["listens"]]
    assert stamps[-1] == SAME_SECOND
    assert stamps.count(SAME_SECOND) == 1
    assert first["latest_listen_ts"] == T0 + 119 * 60
    assert first["oldest_listen_ts"] == T0
    after = lb(emu, http, "user/alice/listens", count=1000, max_ts=SAME_SECOND).json()["payload"]
    assert after["listens"][0]["listened_at"] == T0 + 49 * 60  # the 2 other listens are skipped
    assert len(after["listens"]) == 50


def test_lb_min_ts_alone_answers_the_oldest_listens_after_it_newest_first(
    emu: Emulator, http: requests.Session
) -> None:
    listens = lb(emu, http, "user/alice/listens", min_ts=T0, count=3).json()["payload"]["listens"]
    assert [item["listened_at"] for item in listens] == [T0 + 180, T0 + 120, T0 + 60]


def test_lb_both_bounds_and_default_count(emu: Emulator, http: requests.Session) -> None:
    between = lb(emu, http, "user/alice/listens", min_ts=T0 + 60, max_ts=T0 + 300).json()
    assert [i["listened_at"] for i in between["payload"]["listens"]] == [
        T0 + 240,
        T0 + 180,
        T0 + 120,
    ]
    assert lb(emu, http, "user/alice/listens").json()["payload"]["count"] == 25


def test_lb_listen_shape_with_and_without_mapping(emu: Emulator, http: requests.Session) -> None:
    window = {"min_ts": T0 + 599, "max_ts": T0 + 661}  # listens 10 (unmapped) and 11
    mapped, unmapped = lb(emu, http, "user/alice/listens", **window).json()["payload"]["listens"]
    assert unmapped["listened_at"] == T0 + 600
    assert "mbid_mapping" not in unmapped["track_metadata"]
    metadata = mapped["track_metadata"]
    assert metadata["artist_name"] == "Lost Frequencies & Calum Scott"
    assert metadata["release_name"] == "Where Are You Now"
    mapping = metadata["mbid_mapping"]
    assert metadata["additional_info"]["recording_mbid"] == mapping["recording_mbid"]
    assert [(a["artist_credit_name"], a["join_phrase"]) for a in mapping["artists"]] == [
        ("Lost Frequencies", " & "),
        ("Calum Scott", ""),
    ]
    assert mapped["user_name"] == "alice"
    assert mapped["recording_msid"]


def test_lb_unknown_user_and_rate_limit_headers(emu: Emulator, http: requests.Session) -> None:
    missing = lb(emu, http, "user/nobody/listens")
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "error": "Cannot find user: nobody"}
    found = lb(emu, http, "user/alice/listens", count=1)
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset-In"):
        assert int(missing.headers[name]) >= 0
        assert name in found.headers
    remaining = int(missing.headers["X-RateLimit-Remaining"])
    assert int(found.headers["X-RateLimit-Remaining"]) == remaining - 1
    assert int(found.headers["X-RateLimit-Reset"]) > T0


def test_lb_rate_limit_is_enforced_with_429(world: World, http: requests.Session) -> None:
    with Emulator(world, lb_rate_limit=2, lb_rate_window=60) as emu:
        statuses = [lb(emu, http, "user/alice/listens", count=1).status_code for _ in range(3)]
        last = lb(emu, http, "user/alice/listens", count=1)
    assert statuses == [200, 200, 429]
    assert last.headers["X-RateLimit-Remaining"] == "0"
    assert last.json()["code"] == 429


def test_lb_playing_now(emu: Emulator, http: requests.Session, world: World) -> None:
    empty = lb(emu, http, "user/alice/playing-now").json()["payload"]
    assert empty == {"count": 0, "user_id": "alice", "playing_now": True, "listens": []}
    world.set_now_playing("alice", EmuScrobble("alice", 0, "Queen", "Under Pressure"))
    payload = lb(emu, http, "user/alice/playing-now").json()["payload"]
    (listen,) = payload["listens"]
    assert payload["count"] == 1
    assert listen["playing_now"] is True
    assert "listened_at" not in listen
    assert listen["track_metadata"]["track_name"] == "Under Pressure"


def test_mapper_lookup_answers_each_recording_in_order(
    emu: Emulator, http: requests.Session, world: World
) -> None:
    body = {
        "recordings": [
            {"artist_name": "QUEEN", "recording_name": "we will rock you!"},
            {"artist_name": "Nobody", "recording_name": "Nothing"},
            {
                "artist_name": "Lost Frequencies & Calum Scott",
                "recording_name": "Where Are You Now",
                "release_name": "Where Are You Now",
            },
        ]
    }
    response = http.post(emu.urls["listenbrainz"] + "metadata/lookup/", json=body, timeout=5)
    hit, miss, duo = response.json()
    assert hit["index"] == 0
    assert hit["recording_name"] == "We Will Rock You"
    assert hit["artist_credit_name"] == "Queen"
    assert hit["release_name"] == "News of the World"
    assert hit["recording_mbid"] in world.catalog.recordings
    assert miss == {
        "artist_name_arg": "Nobody",
        "recording_name_arg": "Nothing",
        "release_name_arg": None,
        "index": 1,
    }
    assert len(duo["artist_mbids"]) == 2
    assert duo["release_name_arg"] == "Where Are You Now"

    too_many = {"recordings": [{"artist_name": "a", "recording_name": "b"}] * 51}
    refused = http.post(emu.urls["listenbrainz"] + "metadata/lookup/", json=too_many, timeout=5)
    assert refused.status_code == 400
    nothing = lb(emu, http, "metadata/lookup/", artist_name="Nobody", recording_name="Nothing")
    assert nothing.json() == {}


# --- MusicBrainz ---------------------------------------------------------------------------


def test_mb_recording_search_ranks_and_scores(emu: Emulator, http: requests.Session) -> None:
    exact = mb(emu, http, "recording/", query="recording:(we will rock you) AND artist:(queen)")
    body = exact.json()
    assert body["count"] == 2  # "We Are the Champions" shares "we": a weaker hit
    assert body["offset"] == 0
    assert body["created"]
    hit = body["recordings"][0]
    assert hit["title"] == "We Will Rock You"
    assert hit["score"] == 100
    assert hit["video"] is None
    assert body["recordings"][1]["score"] < 100
    release = hit["releases"][0]
    assert release["release-group"]["primary-type"] == "Album"
    assert release["media"][0]["track"][0]["title"] == "We Will Rock You"

    # Escaped noise as Sidetrack's query builder sends it: still found, lower score.
    noisy = r"recording:(we will rock you \(remastered 2011\)) AND artist:(queen)"
    noisy_hit = mb(emu, http, "recording/", query=noisy).json()["recordings"][0]
    assert noisy_hit["id"] == hit["id"]
    assert noisy_hit["score"] < 100
    # A quoted phrase is strict.
    strict = 'recording:"we will rock you remastered" AND artist:(queen)'
    assert mb(emu, http, "recording/", query=strict).json()["count"] == 0

    paged = mb(emu, http, "recording/", query="recording:(box song)", limit=10, offset=740)
    assert paged.json()["count"] == 750
    assert len(paged.json()["recordings"]) == 10


def test_mb_release_group_search_with_year_range(emu: Emulator, http: requests.Session) -> None:
    base = "releasegroup:(news of the world) AND artist:(queen)"
    hits = mb(
        emu, http, "release-group/", query=f"{base} AND firstreleasedate:[1977 TO 1977-12-31]"
    )
    group = hits.json()["release-groups"][0]
    assert group["title"] == "News of the World"
    assert group["score"] == 100
    assert group["artist-credit"][0]["artist"]["name"] == "Queen"
    wrong_year = f"{base} AND firstreleasedate:[1978 TO 1978-12-31]"
    assert mb(emu, http, "release-group/", query=wrong_year).json()["count"] == 0


def test_mb_artist_search(emu: Emulator, http: requests.Session) -> None:
    artists = mb(emu, http, "artist/", query="artist:(calum scott)").json()["artists"]
    assert artists[0]["name"] == "Calum Scott"
    assert artists[0]["score"] == 100


def test_mb_lookups_honour_inc(emu: Emulator, http: requests.Session, world: World) -> None:
    catalog = world.catalog
    recording = next(r for r in catalog.recordings.values() if r.title == "We Will Rock You")
    plain = mb(emu, http, f"recording/{recording.mbid}", inc="artist-credits+releases+isrcs")
    assert plain.json()["artist-credit"][0]["joinphrase"] == ""
    assert "release-group" not in plain.json()["releases"][0]
    with_groups = mb(emu, http, f"recording/{recording.mbid}", inc="releases+release-groups")
    assert with_groups.json()["releases"][0]["release-group"]["title"] == "News of the World"

    live = next(r for r in catalog.releases.values() if r.title == "Live Killers")
    release = mb(emu, http, f"release/{live.mbid}", inc="recordings+release-groups").json()
    assert [m["position"] for m in release["media"]] == [1, 2]
    assert release["media"][1]["tracks"][0]["recording"]["title"] == "Bohemian Rhapsody"
    assert release["release-group"]["id"] == live.release_group.mbid

    group = mb(emu, http, f"release-group/{live.release_group.mbid}", inc="artist-credits").json()
    assert group["primary-type"] == "Album"
    assert group["artist-credit"][0]["name"] == "Queen"
    artist = mb(emu, http, f"artist/{recording.artist_credit[0][0].mbid}").json()
    assert artist["name"] == "Queen"
    assert mb(emu, http, "recording/00000000-0000-4000-8000-000000000000").status_code == 404
    assert mb(emu, http, "recording/not-an-mbid").status_code == 400


def test_mb_merged_mbid_answers_the_canonical_entity(
    emu: Emulator, http: requests.Session, world: World
) -> None:
    recording = next(iter(world.catalog.recordings.values()))
    old = "11111111-2222-4333-8444-555555555555"
    world.catalog.merge(old, recording.mbid)
    answer = mb(emu, http, f"recording/{old}").json()
    assert answer["id"] == recording.mbid


def test_mb_release_browse_pages_cut_at_500_tracks(
    emu: Emulator, http: requests.Session, world: World
) -> None:
    group = next(g for g in world.catalog.release_groups.values() if g.title == "Big Box")
    sizes, offset = [], 0
    while True:
        page = mb(
            emu,
            http,
            "release/",
            **{"release-group": group.mbid},
            inc="recordings+media",
            limit=100,
            offset=offset,
        ).json()
        assert page["release-count"] == 5
        assert page["release-offset"] == offset
        if not page["releases"]:
            break
        sizes.append(len(page["releases"]))
        offset += len(page["releases"])
        if offset >= page["release-count"]:
            break
    assert sizes == [3, 2]  # 3 x 150 tracks fit under 500, a fourth would not
    without_tracks = mb(emu, http, "release/", **{"release-group": group.mbid}).json()
    assert len(without_tracks["releases"]) == 5


def test_mb_rate_limit_violations_are_logged_and_optionally_refused(
    world: World, http: requests.Session
) -> None:
    with Emulator(world, mb_rate_limit=1.0) as emu:
        artist = next(iter(world.catalog.artists))
        statuses = [mb(emu, http, f"artist/{artist}").status_code for _ in range(2)]
        emu.config.mb_enforce_rate_limit = True
        refused = mb(emu, http, f"artist/{artist}")
        log = emu.requests
    assert statuses == [200, 200]
    assert refused.status_code == 503
    assert [r.rate_violation for r in log] == [False, True, True]
    assert emu.counters["musicbrainz"]["rate_violations"] == 2


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "service", "status"),
    [
        ("http_500", "lastfm", 500),
        ("http_503", "musicbrainz", 503),
        ("http_429", "listenbrainz", 429),
    ],
)
def test_http_error_faults(
    emu: Emulator, http: requests.Session, kind: str, service: str, status: int
) -> None:
    emu.faults.add(kind, service=service, retry_after=7)
    urls = {
        "lastfm": lambda: lastfm(emu, http, user="alice"),
        "musicbrainz": lambda: mb(emu, http, "artist/", query="queen"),
        "listenbrainz": lambda: lb(emu, http, "user/alice/listens"),
    }
    faulted, healthy = urls[service](), urls[service]()
    assert faulted.status_code == status
    assert faulted.headers["Retry-After"] == "7"
    assert healthy.status_code == 200  # only the next matching request by default
    if service == "listenbrainz":
        assert faulted.headers["X-RateLimit-Remaining"] == "0"
        assert faulted.headers["X-RateLimit-Reset-In"] == "7"


@pytest.mark.parametrize(("code", "status", "expected"), [(8, None, 500), (29, 200, 200)])
def test_lastfm_error_code_faults(
    emu: Emulator, http: requests.Session, code: int, status: int | None, expected: int
) -> None:
    emu.faults.add("lastfm_error", service="lastfm", lastfm_code=code, status=status)
    response = lastfm(emu, http, user="alice")
    assert response.status_code == expected
    assert response.json()["error"] == code


def test_timeout_fault_outlasts_the_read_timeout(emu: Emulator, http: requests.Session) -> None:
    emu.faults.add("timeout", service="listenbrainz", delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        http.get(emu.urls["listenbrainz"] + "user/alice/listens", timeout=(1, 0.2))
    assert lb(emu, http, "user/alice/listens").status_code == 200


def test_reset_fault_raises_connection_error(emu: Emulator, http: requests.Session) -> None:
    emu.faults.add("reset", service="musicbrainz")
    with pytest.raises(requests.ConnectionError):
        mb(emu, http, "artist/", query="queen")
    assert emu.requests[-1].status == 0
    assert emu.requests[-1].fault == "reset"


def test_malformed_json_fault(emu: Emulator, http: requests.Session) -> None:
    emu.faults.add("malformed_json", service="lastfm")
    response = lastfm(emu, http, user="alice")
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_truncated_body_fault(emu: Emulator, http: requests.Session) -> None:
    emu.faults.add("truncated", service="listenbrainz", path=r"^user/alice/listens$")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        lb(emu, http, "user/alice/listens", count=100)
    assert lb(emu, http, "user/alice/listens", count=100).json()["payload"]["count"] == 100


def test_faults_match_params_and_count_and_probability_is_seeded(
    emu: Emulator, http: requests.Session
) -> None:
    emu.faults.add("http_500", service="lastfm", params={"page": "2"}, times=2)
    statuses = [lastfm(emu, http, user="alice", page=p).status_code for p in (1, 2, 2, 2)]
    assert statuses == [200, 500, 500, 200]

    def run(seed: int) -> list[int]:
        emu.faults.clear()
        emu.faults._rng.seed(seed)
        emu.faults.add("http_503", service="musicbrainz", times=None, probability=0.5)
        return [mb(emu, http, "artist/", query="queen").status_code for _ in range(12)]

    first, again = run(3), run(3)
    assert first == again
    assert 200 in first
    assert 503 in first
    assert emu.counters["lastfm"]["faults"] == 2
    assert sum(1 for r in emu.requests if r.fault == "http_503") == 2 * first.count(503)


# --- arrivals ------------------------------------------------------------------------------


def test_arrivals_shift_pages_unless_to_is_pinned(
    emu: Emulator, http: requests.Session, world: World
) -> None:
    arrival = emu.add_arrival(
        Arrival("alice", after=1, add=world.make_scrobbles("alice", 5, gap=60))
    )
    page1 = uts(lastfm(emu, http, user="alice", limit=50).json()["recenttracks"]["track"])
    page2 = uts(lastfm(emu, http, user="alice", limit=50, page=2).json()["recenttracks"]["track"])
    assert arrival.fired
    assert page2[:5] == page1[-5:]  # five scrobbles served twice: the pages slid down
    pinned = lastfm(emu, http, user="alice", limit=50, page=2, to=page1[0]).json()
    assert uts(pinned["recenttracks"]["track"])[0] == page1[-1] - 60
    assert emu.history_requests("alice") == 3


def test_deletion_during_paging_hides_listens(
    emu: Emulator, http: requests.Session, world: World
) -> None:
    doomed = {T0 + i * 60 for i in range(60, 70)}
    arrival = emu.add_arrival(
        Arrival("alice", after=1, remove=lambda s: s.ts in doomed, service="listenbrainz")
    )
    first = lb(emu, http, "user/alice/listens", count=50).json()["payload"]["listens"]
    oldest = first[-1]["listened_at"]
    second = lb(emu, http, "user/alice/listens", count=50, max_ts=oldest).json()["payload"]
    assert len(arrival.removed) == 10
    assert not doomed & {item["listened_at"] for item in second["listens"]}
    assert len(world.scrobbles("alice")) == 110


# --- log, synthetic data, standalone ---------------------------------------------------------


def test_request_log_records_service_status_and_client(
    emu: Emulator, http: requests.Session
) -> None:
    lastfm(emu, http, user="nobody")
    lb(emu, http, "user/alice/listens", count=2)
    mb(emu, http, "artist/", query="queen")
    log = emu.requests
    assert [(r.service, r.method, r.status) for r in log] == [
        ("lastfm", "GET", 404),
        ("listenbrainz", "GET", 200),
        ("musicbrainz", "GET", 200),
    ]
    assert log[1].path == "user/alice/listens"
    assert log[1].params["count"] == "2"
    assert {r.client_id for r in log} == {UA}
    assert emu.counters["lastfm"]["status_404"] == 1
    emu.reset_log()
    assert emu.requests == []
    assert emu.counters == {}


def test_synthetic_world_is_deterministic_and_has_the_awkward_cases() -> None:
    a = World.synthetic(7, n_artists=20, n_users=2, listens_per_user=2000)
    b = World.synthetic(7, n_artists=20, n_users=2, listens_per_user=2000)
    history = a.scrobbles("user1")
    assert history == b.scrobbles("user1")
    assert len(history) == 2000
    assert [r.mbid for r in a.catalog.releases.values()] == [
        r.mbid for r in b.catalog.releases.values()
    ]
    stamps = [s.ts for s in history]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) < len(stamps)
    assert any(s.recording_mbid is None for s in history)
    assert any(s.mapped_recording_mbid is None for s in history)
    releases = list(a.catalog.releases.values())
    assert any(len(r.media) > 1 for r in releases)
    assert any(len(a.catalog.releases_of(g)) > 1 for g in a.catalog.release_groups)
    by_title: dict[str, set[str]] = {}
    for recording in a.catalog.recordings.values():
        by_title.setdefault(recording.title, set()).add(recording.credit_name)
    assert any(len(credits) > 1 for credits in by_title.values())  # shared titles


def test_paging_a_large_synthetic_history(http: requests.Session) -> None:
    world = World.synthetic(1, n_users=1, listens_per_user=20_000)
    with Emulator(world) as emu:
        seen, max_ts = 0, None
        while True:
            params = {"count": 1000, **({"max_ts": max_ts} if max_ts else {})}
            listens = lb(emu, http, "user/user1/listens", **params).json()["payload"]["listens"]
            if not listens:
                break
            seen += len(listens)
            max_ts = listens[-1]["listened_at"]
    # Fewer than 20 000: paging on max_ts alone loses same-second listens at page edges.
    assert 19_900 < seen <= 20_000


def test_standalone_module_prints_urls_and_serves(http: requests.Session) -> None:
    command = [sys.executable, "-m", "tests.emulator", "--synthetic-users", "1", "--listens", "30"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        while "USERS" not in lines:  # one NAME=URL line per service, then USERS
            name, _, value = process.stdout.readline().strip().partition("=")
            lines[name] = value
        assert lines["USERS"] == "user1"
        url = lines["LISTENBRAINZ_BASE_URL"] + "user/user1/listens"
        payload = http.get(url, params={"count": 100}, timeout=5).json()["payload"]
        assert payload["count"] == 30
        assert lines["LASTFM_BASE_URL"].endswith("/lastfm/2.0/")
        assert lines["MUSICBRAINZ_BASE_URL"].endswith("/musicbrainz/ws/2/")
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
