from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers

from listens.clients.listenbrainz import (
    ListenBrainzClient,
    MalformedListenError,
    MappedArtist,
    parse_listen,
    parse_listens_page,
    parse_playing_now,
)
from sidetrack.http.errors import (
    AuthError,
    ExternalApiError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from tests.http_options import split_options
from tests.payloads import load_payload, payload_text

BASE = "https://lb.test/1/"
USER_AGENT = "SidetrackTests/0.1 ( tests@example.org )"
TOKEN = "lb-token-5f1c2a9e-8d7b-4c3e-a1f0-123456789abc"


def make_client(**kw) -> ListenBrainzClient:
    options, rest = split_options(kw, USER_AGENT)
    return ListenBrainzClient(base_url=BASE, options=options, **rest)


def fixture(name: str):
    return load_payload("listenbrainz", name)


def export_lines() -> list[dict]:
    text = payload_text(
        "listenbrainz", "listenbrainz__export_jsonl__listens_with_mbid_mapping.jsonl"
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


# --- what is sent -------------------------------------------------------------------


def test_get_listens_sends_count_and_both_bounds(mocked):
    mocked.get(
        BASE + "user/jasjeet/listens",
        json=fixture("listenbrainz__user_listens__2024_android_mbid_mapping_complete.json"),
        match=[
            matchers.query_param_matcher(
                {"count": "1000", "min_ts": "1670000000", "max_ts": "1723267386"}
            ),
            matchers.header_matcher({"User-Agent": USER_AGENT}),
        ],
    )

    page = make_client().get_listens("jasjeet", min_ts=1670000000, max_ts=1723267386)

    assert len(page.listens) == 25
    assert "Authorization" not in mocked.calls[0].request.headers


@pytest.mark.parametrize(("asked", "sent_count"), [(5000, "1000"), (0, "1"), (-1, "1"), (25, "25")])
def test_count_is_clamped_to_the_api_maximum(mocked, asked, sent_count):
    mocked.get(
        BASE + "user/jasjeet/listens",
        json={"payload": {"count": 0, "listens": [], "user_id": "jasjeet"}},
        match=[matchers.query_param_matcher({"count": sent_count})],
    )

    page = make_client().get_listens("jasjeet", count=asked)

    assert page.listens == ()
    assert page.count == 0


def test_user_name_is_quoted_into_the_path(mocked):
    mocked.get(
        BASE + "user/a%20b%2Fc%3F/listens",
        json={"payload": {"count": 0, "listens": [], "user_id": "a b/c?"}},
    )
    mocked.get(BASE + "user/a%20b%2Fc%3F/playing-now", json={"payload": {"listens": []}})
    client = make_client()

    assert client.get_listens("a b/c?").user == "a b/c?"
    assert client.get_playing_now("a b/c?") is None


# --- parsing every recorded payload -------------------------------------------------


def test_2024_page_with_mbid_mappings():
    page = parse_listens_page(
        fixture("listenbrainz__user_listens__2024_android_mbid_mapping_complete.json")
    )

    assert (page.user, page.count, page.latest_listen_ts, page.oldest_listen_ts) == (
        "jasjeet",
        25,
        1723267385,
        1670056445,
    )
    assert page.malformed == ()
    first = page.listens[0]
    assert first.listened_at == datetime(2024, 8, 10, 5, 23, 5, tzinfo=UTC)
    assert first.inserted_at == datetime.fromtimestamp(1723267446, tz=UTC)
    assert first.recording_msid == "e3e2b4ef-eac8-46c3-89f9-85ce31c82404"
    assert (first.user_name, first.artist_name, first.track_name) == (
        "Jasjeet",
        "Apurva",
        "RPReplay_Final1723230584",
    )
    assert first.release_name is None
    assert first.mapping is None
    assert first.additional_info["submission_client"] == "ListenBrainz Android"
    assert page.listens[2].duration_ms == 32966
    # Newest first, as the API promises.
    stamps = [listen.listened_at for listen in page.listens]
    assert stamps == sorted(stamps, reverse=True)

    mapped = {listen.listened_at.timestamp(): listen for listen in page.listens if listen.mapping}
    assert len(mapped) == 7
    duo = mapped[1722318030].mapping
    assert duo.recording_mbid == "fa2605de-3e06-4038-9337-daec9ca302e5"
    assert duo.recording_name == "Where Are You Now"
    assert duo.release_mbid == "3d6b4d5b-ecd2-4baa-a2a5-7b0e735da202"
    assert duo.artist_mbids == (
        "ea7260de-e1b1-43f1-bb11-f78274a36308",
        "68fdc9cc-1094-48bb-942f-66492343e41c",
    )
    assert duo.artists[0] == MappedArtist(
        "ea7260de-e1b1-43f1-bb11-f78274a36308", "Lost Frequencies", " & "
    )
    assert duo.artist_credit == "Lost Frequencies & Calum Scott"
    assert mapped[1721714031].mapping.artist_credit == "Jack Ü feat. Kai"
    assert mapped[1721714031].artist_name == "Jack Ü"  # as submitted, unlike the mapping
    portugal = mapped[1721800382]
    assert portugal.release_name == "Social Cues"
    # inserted_at may be before listened_at (client clock skew): kept as received
    assert portugal.inserted_at.timestamp() == 1721800380
    assert mapped[1721626420].duration_ms == 270442


def test_2020_page_without_inserted_at_or_mapping():
    page = parse_listens_page(
        fixture("listenbrainz__user_listens__2020_spotify_liblistenbrainz_trimmed.json")
    )

    assert (page.user, page.count, page.latest_listen_ts, page.oldest_listen_ts) == (
        "iliekcomputers",
        25,  # as the server said; the fixture was trimmed to 3 listens
        1587245842,
        None,
    )
    harbour, still_waters, _ = page.listens
    assert harbour.listened_at.timestamp() == 1587245842
    assert harbour.inserted_at is None
    assert (harbour.artist_name, harbour.track_name, harbour.release_name) == (
        "SOHN",
        "Harbour",
        "Rennen",
    )
    assert harbour.source_recording_mbid is None  # "" in additional_info
    assert harbour.duration_ms == 250407
    assert harbour.recording_msid == "ae29cef0-4132-49d1-aee8-eeae67763e66"
    assert still_waters.additional_info["isrc"] == "GBAFL1600377"


def test_export_jsonl_lines_parse_as_listens():
    golden, california = (parse_listen(line) for line in export_lines())

    assert golden.listened_at == datetime.fromtimestamp(1748964167, tz=UTC)
    assert golden.inserted_at == datetime.fromtimestamp(1748964422.521049, tz=UTC)
    # Exports keep recording_msid inside track_metadata.
    assert golden.recording_msid == "03dcc65c-0e01-4f25-aa1f-0f469d10e2ad"
    assert (golden.artist_name, golden.track_name, golden.release_name) == (
        "The Stranglers",
        "Golden Brown",
        "La Folie",
    )
    assert golden.duration_ms == 206760
    assert golden.mapping.recording_mbid == "c7d0bf6e-b2aa-4ffa-bded-2448415b39b0"
    assert golden.mapping.release_mbid == "c6911b3b-135f-4b7b-a2cc-b90ea1e11ac9"
    assert golden.mapping.artist_credit == "The Stranglers"
    assert golden.user_name == ""
    assert california.mapping.recording_name == "California Dreamin’ (single version)"
    assert california.mapping.artist_credit == "The Mamas & the Papas"
    assert california.artist_name == "The Mamas & The Papas"
    assert california.duration_ms == 162373


def test_malformed_listens_are_set_aside_never_raised():
    page = parse_listens_page(fixture("built__user_listens__malformed_listens.json"))

    good, nameless = page.listens
    assert good.mapping.artist_credit == "Lost Frequencies & Calum Scott"
    # Kept because it has a timestamp; names default to "" and bad durations to None.
    assert (nameless.artist_name, nameless.track_name, nameless.release_name) == ("", "", None)
    assert nameless.duration_ms is None
    assert nameless.listened_at.timestamp() == 1723267385
    assert len(page.malformed) == 6
    assert page.malformed[-1] is None


@pytest.mark.parametrize(
    "listen",
    [
        None,
        "a string",
        [],
        {"track_metadata": {"artist_name": "A", "track_name": "T"}},
        {"listened_at": "1722833327", "track_metadata": {"artist_name": "A", "track_name": "T"}},
        {"listened_at": 1722833327.5, "track_metadata": {"artist_name": "A", "track_name": "T"}},
        {"listened_at": True, "track_metadata": {"artist_name": "A", "track_name": "T"}},
        {"listened_at": -1, "track_metadata": {"artist_name": "A", "track_name": "T"}},
        {"listened_at": 10**20, "track_metadata": {"artist_name": "A", "track_name": "T"}},
        {"listened_at": 1722833327},
        {"listened_at": 1722833327, "track_metadata": "A - T"},
    ],
)
def test_parse_listen_refuses_unusable_listens(listen):
    with pytest.raises(MalformedListenError):
        parse_listen(listen)


def test_parse_listen_tolerates_wrong_types_inside_a_listen():
    listen = parse_listen(
        {
            "listened_at": 1722833327,
            "inserted_at": "Mon, 05 Aug 2024 04:49:09 GMT",
            "recording_msid": 12,
            "track_metadata": {
                "artist_name": ["A"],
                "track_name": None,
                "release_name": "",
                "additional_info": "not a dict",
                "mbid_mapping": {"recording_mbid": "", "artists": "x"},
            },
        }
    )

    assert (listen.artist_name, listen.track_name, listen.release_name) == ("", "", None)
    assert listen.additional_info == {}
    assert listen.mapping is None
    assert listen.recording_msid is None
    assert listen.inserted_at == datetime(2024, 8, 5, 4, 49, 9, tzinfo=UTC)


def test_duration_in_seconds_becomes_milliseconds():
    playing = parse_playing_now(
        fixture("listenbrainz__user_playing-now__kodi_jack_white_from_code_comment.json")
    )

    assert (playing.artist_name, playing.track_name, playing.release_name) == (
        "Jack White",
        "Machine Gun Silhouette",
        "Acoustic Recordings 1998-2016",
    )
    assert playing.duration_ms == 181_000
    assert playing.source_recording_mbid == "d48ef3ed-40c2-45df-b9c8-e90a88dfe75d"
    assert playing.additional_info["media_player"] == "Kodi"
    assert playing.raw["playing_now"] is True


def test_playing_now_through_the_client(mocked):
    mocked.get(
        BASE + "user/iliekcomputers/playing-now",
        json=fixture("listenbrainz__user_playing-now__spotify_listen_liblistenbrainz.json"),
    )
    mocked.get(
        BASE + "user/nobody-playing/playing-now",
        json=fixture("listenbrainz__user_playing-now__empty_no_playing_now.json"),
    )
    client = make_client()

    playing = client.get_playing_now("iliekcomputers")

    assert (playing.artist_name, playing.track_name, playing.release_name) == (
        "SOHN",
        "Harbour",
        "Rennen",
    )
    assert playing.duration_ms == 250407
    assert playing.source_recording_mbid is None
    assert client.get_playing_now("nobody-playing") is None


# --- errors and rate limits ------------------------------------------------------------


def test_unknown_user_is_not_found(mocked):
    mocked.get(
        BASE + "user/Some_User_That_Does_Not_Exist/listens",
        json=fixture("listenbrainz__error__user_not_found_404.json"),
        status=404,
    )

    with pytest.raises(NotFoundError, match="User Some_User_That_Does_Not_Exist not found") as info:
        make_client().get_listens("Some_User_That_Does_Not_Exist")

    assert info.value.status == 404
    assert not info.value.retryable


def test_429_is_rate_limited_and_retryable(mocked):
    mocked.get(
        BASE + "user/alastairp/listens",
        json=fixture("listenbrainz__error__429_rate_limit_pr1577.json"),
        status=429,
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Limit": "3",
            "X-RateLimit-Reset-In": "1",
        },
    )

    with pytest.raises(RateLimitedError, match="exceeded your rate limit") as info:
        make_client().get_listens("alastairp")

    assert info.value.retryable
    assert info.value.status == 429
    assert info.value.retry_after == 1.0


def test_exhausted_rate_limit_headers_make_the_next_call_wait(mocked):
    slept: list[float] = []
    mocked.get(
        BASE + "user/jasjeet/listens",
        json=fixture("listenbrainz__user_listens__2024_android_mbid_mapping_complete.json"),
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "2"},
    )
    mocked.get(
        BASE + "user/jasjeet/playing-now",
        json=fixture("listenbrainz__user_playing-now__empty_no_playing_now.json"),
    )
    client = make_client(sleep=slept.append, clock=lambda: 1_000_000.0)

    client.get_listens("jasjeet")
    assert slept == []
    client.get_playing_now("jasjeet")

    assert slept == [pytest.approx(2.0)]


def test_token_is_sent_as_a_header_and_never_shown_in_errors(mocked):
    mocked.get(
        BASE + "user/jasjeet/listens",
        json={"code": 401, "error": f"Invalid authorization token {TOKEN}."},
        status=401,
        match=[matchers.header_matcher({"Authorization": f"Token {TOKEN}"})],
    )

    with pytest.raises(AuthError) as info:
        make_client(token=TOKEN).get_listens("jasjeet")

    for text in (str(info.value), repr(info.value), info.value.url or ""):
        assert TOKEN not in text
    assert TOKEN not in mocked.calls[0].request.url


@pytest.mark.parametrize(
    "answer",
    [
        {"body": "{broken", "status": 200},
        {
            "body": payload_text(
                "listenbrainz",
                "listenbrainz__user_listens__2020_spotify_liblistenbrainz_trimmed.json",
            )[:700],
            "status": 200,
        },
        {"json": {"listens": []}, "status": 200},
        {"json": [], "status": 200},
        {"body": "", "status": 200},
        {"body": "<html>Bad gateway</html>", "status": 502},
        {"body": requests.exceptions.ChunkedEncodingError("connection broken")},
    ],
    ids=["malformed", "truncated", "no_payload", "list", "empty", "html_502", "cut_mid_body"],
)
def test_broken_answers_are_unavailable_and_retryable(mocked, answer):
    mocked.get(BASE + "user/jasjeet/listens", **answer)

    with pytest.raises(UnavailableError) as info:
        make_client().get_listens("jasjeet")

    assert info.value.retryable


def test_other_client_errors_are_plain_and_final(mocked):
    mocked.get(
        BASE + "user/jasjeet/listens",
        json={"code": 400, "error": "min_ts should be less than max_ts"},
        status=400,
    )

    with pytest.raises(ExternalApiError, match="min_ts should be less than max_ts") as info:
        make_client().get_listens("jasjeet", min_ts=20, max_ts=10)

    assert type(info.value) is ExternalApiError
    assert not info.value.retryable


def test_whole_second_float_timestamps_from_exports_are_accepted():
    listen = parse_listen(
        {"listened_at": 1748964167.0, "track_metadata": {"artist_name": "A", "track_name": "T"}}
    )

    assert listen.listened_at == datetime(2025, 6, 3, 15, 22, 47, tzinfo=UTC)
