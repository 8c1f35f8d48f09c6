from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses
from responses import matchers

from listens.clients.lastfm import (
    LastfmClient,
    parse_recent_tracks,
    parse_top_albums,
    parse_top_artists,
    parse_track,
)
from sidetrack.http.errors import (
    AuthError,
    ExternalApiError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from sidetrack.http.options import HttpOptions, RetryPolicy
from sidetrack.logfilters import RedactSecretsFilter
from tests.http_options import split_options
from tests.payloads import load_payload, payload_text

BASE = "https://lastfm.test/2.0/"
KEY = "lfm-test-key-0123456789abcdef"
SECRET = "lfm-test-secret-fedcba9876543210"


def make_client(*, base_url: str = BASE, **kw) -> LastfmClient:
    options, rest = split_options(kw, "SidetrackTests/0.1 ( tests@example.org )")
    return LastfmClient(api_key=KEY, api_secret=SECRET, base_url=base_url, options=options, **rest)


def sent(method: str, **params: object) -> dict[str, str]:
    """The query string a call must send: always method, format=json and the key."""
    return {"method": method, "format": "json", "api_key": KEY} | {
        key.rstrip("_"): str(value) for key, value in params.items()
    }


def fixture(name: str):
    return load_payload("lastfm", name)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


# --- what is sent -------------------------------------------------------------


def test_recent_tracks_sends_key_format_paging_and_bounds(mocked):
    mocked.get(
        BASE,
        json=fixture("lastfm__user.getRecentTracks__20_tracks_2014_trimmed.json"),
        match=[
            matchers.query_param_matcher(
                sent(
                    "user.getRecentTracks",
                    user="RJ",
                    page=3,
                    limit=200,
                    from_=1419000000,
                    to=1419100000,
                    extended=1,
                )
            )
        ],
    )

    page = make_client().get_recent_tracks("RJ", page=3, from_ts=1419000000, to_ts=1419100000)

    assert page.user == "RJ"
    assert len(page.tracks) == 3


def test_recent_tracks_leaves_out_unset_bounds_and_can_ask_non_extended(mocked):
    mocked.get(
        BASE,
        json=fixture("lastfm__user.getRecentTracks__single_track_object_2014.json"),
        match=[
            matchers.query_param_matcher(
                sent("user.getRecentTracks", user="RJ", page=1, limit=1, extended=0)
            )
        ],
    )

    make_client().get_recent_tracks("RJ", limit=1, extended=False)


@pytest.mark.parametrize(("asked", "sent_limit"), [(500, "200"), (0, "1"), (-5, "1"), (37, "37")])
def test_recent_tracks_limit_is_clamped_to_1_200(mocked, asked, sent_limit):
    mocked.get(
        BASE,
        json=fixture("lastfm__user.getRecentTracks__empty_no_scrobbles_2014.json"),
        match=[matchers.query_param_matcher({"limit": sent_limit}, strict_match=False)],
    )

    make_client().get_recent_tracks("RT", limit=asked)


def test_top_artists_and_albums_send_period_page_and_limit(mocked):
    mocked.get(
        BASE,
        json=fixture("lastfm__user.getTopArtists__2_artists_aurvandil.json"),
        match=[
            matchers.query_param_matcher(
                sent("user.getTopArtists", user="Aurvandil", period="7day", page=2, limit=2)
            )
        ],
    )
    mocked.get(
        BASE,
        json=fixture("lastfm__user.getTopAlbums__3_albums_tehrikkit.json"),
        match=[
            matchers.query_param_matcher(
                sent("user.getTopAlbums", user="tehrikkit", period="overall", page=1, limit=50)
            )
        ],
    )
    client = make_client()

    artists = client.get_top_artists("Aurvandil", period="7day", page=2, limit=2)
    albums = client.get_top_albums("tehrikkit")

    assert [a.name for a in artists.items] == ["Anathema", "Insomnium"]
    assert [a.name for a in albums.items] == ["Crystal Castles", "In Ghost Colours", "The Reminder"]


@pytest.mark.parametrize("method", ["get_top_artists", "get_top_albums"])
@pytest.mark.parametrize("period", ["weekly", "1week", "", "OVERALL"])
def test_unknown_period_is_refused_before_any_request(mocked, method, period):
    with pytest.raises(ValueError, match="period"):
        getattr(make_client(), method)("rj", period=period)
    assert len(mocked.calls) == 0


# --- parsing every recorded page ----------------------------------------------------


def test_non_extended_2014_page():
    page = parse_recent_tracks(fixture("lastfm__user.getRecentTracks__20_tracks_2014_trimmed.json"))

    assert (page.user, page.per_page, page.total_pages, page.total) == ("RJ", 20, 3827, 76526)
    assert page.page == 1  # 2014 answers said page "0" for the first page
    assert page.now_playing is None
    assert page.malformed == ()
    santana, stones, fmh = page.tracks
    assert santana.artist_name == "Santana"
    assert santana.artist_mbid == "1bc6816a-d056-4113-9b0a-6c52e5c31a3c"
    assert santana.track_name == "No One to Depend On"
    assert santana.track_mbid == "3f8ed8da-dcc6-43dc-8266-3663007261a6"
    assert (santana.album_name, santana.album_mbid) == ("Santana (III)", None)
    assert santana.listened_at == datetime(2014, 12, 19, 16, 21, 15, tzinfo=UTC)
    assert santana.loved is None  # only extended=1 answers say
    assert santana.url == "http://www.last.fm/music/Santana/_/No+One+to+Depend+On"
    assert stones.album_mbid == "8bc2f5e2-122a-42db-b86c-fddedc77463a"
    assert stones.listened_at.timestamp() == 1419005816
    assert (fmh.artist_name, fmh.artist_mbid, fmh.track_mbid) == ("Full Metal Hammer", None, None)


def test_extended_page_keeps_the_now_playing_item_apart():
    page = parse_recent_tracks(
        fixture("lastfm__user.getRecentTracks__extended1_nowplaying_trimmed.json")
    )

    assert (page.user, page.page, page.per_page, page.total) == ("loige", 1, 200, 290860)
    playing = page.now_playing
    assert playing is not None
    assert playing.now_playing
    assert (playing.artist_name, playing.track_name) == ("The Rocket Summer", "Do You Feel")
    assert playing.listened_at is None
    assert playing.album_mbid == "3b83450b-ca91-46b2-af88-ff285e038d23"
    cornflakes, minors = page.tracks
    assert (cornflakes.artist_name, cornflakes.track_name) == ("Comete", "CORNFLAKES")
    assert cornflakes.artist_mbid is None
    assert cornflakes.track_mbid is None
    assert cornflakes.listened_at == datetime(2023, 2, 21, 18, 54, 23, tzinfo=UTC)
    assert cornflakes.loved is False
    assert (minors.track_name, minors.loved) == ("Majoring In Minors", True)
    assert minors.track_mbid == "8f5264b7-258e-3f5c-bfb0-e98e2a92adec"
    assert (minors.album_name, minors.album_mbid) == (
        "Lights Out",
        "6dece74b-df9b-4263-a151-b0942d55bec0",
    )


@pytest.mark.parametrize(
    ("name", "user", "playing", "scrobble", "uts"),
    [
        (
            "lastfm__user.getRecentTracks__limit1_nowplaying_returns_2_tracks_fred_again.json",
            "foo",
            ("Fred again..", "leavemealone"),
            ("Fred again..", "leavemealone - Nia Archives Remix"),
            1757256250,
        ),
        (
            "lastfm__user.getRecentTracks__limit1_nowplaying_returns_2_tracks_heartlye.json",
            "heartlye",
            ("Yan Qing", "The Arrival"),
            ("Billy Joel", "Piano Man (The Old Grey Whistle Test)"),
            1790131781,
        ),
    ],
)
def test_limit_1_page_holds_now_playing_on_top_of_the_one_scrobble(
    name, user, playing, scrobble, uts
):
    page = parse_recent_tracks(fixture(name))

    assert (page.user, page.per_page) == (user, 1)
    assert (page.now_playing.artist_name, page.now_playing.track_name) == playing
    assert len(page.tracks) == 1
    assert (page.tracks[0].artist_name, page.tracks[0].track_name) == scrobble
    assert page.tracks[0].listened_at.timestamp() == uts


def test_single_track_object_instead_of_a_list():
    page = parse_recent_tracks(
        fixture("lastfm__user.getRecentTracks__single_track_object_2014.json")
    )

    (track,) = page.tracks
    assert track.artist_name == "Rick James"
    assert track.track_name == "Super Freak (Part 1) - 1981 Single Version"
    assert track.track_mbid is None
    assert track.album_mbid == "f22c19bf-1c88-4651-a0d3-8c50735f3c93"
    assert track.listened_at == datetime(2014, 12, 20, 10, 16, 52, tzinfo=UTC)
    assert page.total == 76536


def test_extended_single_object_without_attr_block_falls_back_to_what_was_asked():
    data = fixture("lastfm__user.getRecentTracks__extended1_single_track_object_2018.json")

    page = parse_recent_tracks(data, user="someone", page=4, per_page=1)

    assert (page.user, page.page, page.per_page) == ("someone", 4, 1)
    assert page.total is None
    assert page.total_pages is None
    (track,) = page.tracks
    assert track.artist_name == "Republika"
    assert track.artist_mbid == "116a9ec8-148e-4b3d-8fb9-3d995cc4159e"
    assert track.track_name == "Tak Dlugo Czekam (Cialo) (live)"
    assert (track.album_name, track.album_mbid) == ("Koncerty w Trojce - Republika", None)
    assert track.loved is True
    assert track.listened_at.timestamp() == 1530117136


def test_empty_history_has_no_track_key():
    page = parse_recent_tracks(
        fixture("lastfm__user.getRecentTracks__empty_no_scrobbles_2014.json")
    )

    assert page.tracks == ()
    assert page.now_playing is None
    assert page.malformed == ()
    assert (page.user, page.total, page.total_pages, page.per_page) == ("RT", 0, 0, 20)


def test_now_playing_track_element():
    track = parse_track(
        fixture("lastfm__user.getRecentTracks__extended1_nowplaying_track_element.json")
    )

    assert track.now_playing
    assert track.listened_at is None
    assert (track.artist_name, track.artist_mbid) == ("Editors", None)
    assert (track.track_name, track.track_mbid) == (
        "Nothingness",
        "1d59f1a9-d90f-4ced-aa11-d7bc605cf379",
    )
    assert (track.album_name, track.album_mbid) == (
        "Violence",
        "220487dc-cb81-440a-ba66-5ff50a740f62",
    )
    assert track.loved is False


def test_scrobbles_without_a_usable_date_are_set_aside_for_logging():
    page = parse_recent_tracks(
        fixture("built__user.getRecentTracks__scrobbles_without_usable_date.json")
    )

    assert page.now_playing.track_name == "The Arrival"
    assert [t.track_name for t in page.tracks] == ["Piano Man (The Old Grey Whistle Test)"]
    assert [m if isinstance(m, str) else m["name"] for m in page.malformed] == [
        "Scrobble Without Date",
        "Scrobble With Bad uts",
        "not an object",
    ]


def test_raw_is_the_item_as_received_without_request_parameters(mocked):
    data = fixture("lastfm__user.getRecentTracks__extended1_nowplaying_trimmed.json")
    mocked.get(BASE, json=data)

    page = make_client().get_recent_tracks("loige")

    assert page.tracks[0].raw == data["recenttracks"]["track"][1]
    assert KEY not in json.dumps([t.raw for t in page.tracks])


def test_top_artists_pages():
    aurvandil = parse_top_artists(fixture("lastfm__user.getTopArtists__2_artists_aurvandil.json"))
    cerryn = parse_top_artists(
        fixture("lastfm__user.getTopArtists__1_artist_cerryn_images_trimmed_by_author.json")
    )

    assert (aurvandil.user, aurvandil.period, aurvandil.page, aurvandil.per_page) == (
        "Aurvandil",
        "overall",
        1,
        2,
    )
    assert (aurvandil.total_pages, aurvandil.total) == (562, 1124)
    anathema = aurvandil.items[0]
    assert (anathema.name, anathema.playcount, anathema.rank) == ("Anathema", 5216, 1)
    assert anathema.mbid == "20aa23e3-3532-42ca-acf6-e8c2e9df2688"
    assert anathema.url == "http://www.last.fm/music/Anathema"
    assert (cerryn.user, cerryn.total) == ("Cerryn", 20122)
    assert (cerryn.items[0].name, cerryn.items[0].playcount) == ("Nine Inch Nails", 14407)


def test_top_artists_without_attr_block():
    page = parse_top_artists(
        fixture("lastfm__user.getTopArtists__3_artists_2018_no_top_attr.json"),
        user="someone",
        period="12month",
        page=2,
        per_page=3,
    )

    assert (page.user, page.period, page.page, page.per_page) == ("someone", "12month", 2, 3)
    assert page.total is None
    assert page.total_pages is None
    assert [(a.name, a.playcount, a.rank) for a in page.items] == [
        ("Mid-State Orange", 20, 1),
        ("Tigercats", 20, 2),
        ("Carpenter Brut", 18, 3),
    ]


def test_top_albums_pages():
    tehrikkit = parse_top_albums(fixture("lastfm__user.getTopAlbums__3_albums_tehrikkit.json"))
    cerryn = parse_top_albums(
        fixture("lastfm__user.getTopAlbums__2_albums_cerryn_images_trimmed_by_author.json")
    )
    single = parse_top_albums(fixture("lastfm__user.getTopAlbums__single_album_object_2015.json"))
    no_attr = parse_top_albums(fixture("lastfm__user.getTopAlbums__3_albums_2018_no_top_attr.json"))

    castles = tehrikkit.items[0]
    assert (castles.name, castles.artist_name, castles.playcount, castles.rank) == (
        "Crystal Castles",
        "Crystal Castles",
        2206,
        1,
    )
    assert castles.mbid == "a432a420-f374-4556-8421-b4ea097c7fe9"
    assert castles.artist_mbid == "b1570544-93ab-4b2b-8398-131735394202"
    assert (tehrikkit.user, tehrikkit.total, tehrikkit.total_pages) == ("tehrikkit", 3040, 1014)
    fragile, born = cerryn.items
    assert (fragile.name, fragile.artist_name, fragile.playcount) == (
        "The Fragile",
        "Nine Inch Nails",
        3156,
    )
    assert (born.name, born.mbid, born.rank) == ("Born to Die", None, 2)
    assert single.items == (castles,)
    assert (single.page, single.per_page, single.total) == (1, 1, 3040)
    moon = no_attr.items[2]
    assert (moon.name, moon.mbid, moon.artist_name, moon.artist_mbid) == (
        "Earth Loop",
        None,
        "Moon Gangs",
        None,
    )
    assert no_attr.total is None


def test_unexpected_body_without_error_key_is_a_clear_unavailable_error(mocked):
    mocked.get(BASE, json={"topartists": {"artist": []}})

    with pytest.raises(UnavailableError, match="no 'recenttracks' object") as info:
        make_client().get_recent_tracks("rj")

    assert info.value.retryable


@pytest.mark.parametrize("body", ["[]", "null", "", '{"recenttracks": "nope"}'])
def test_bodies_of_the_wrong_type_never_raise_key_or_type_errors(mocked, body):
    mocked.get(BASE, body=body, content_type="application/json")

    with pytest.raises(UnavailableError):
        make_client().get_recent_tracks("rj")


# --- errors ---------------------------------------------------------------------


ERROR_FIXTURES = [
    # (fixture, status Last.fm really answers with, class, code, retryable)
    (
        "lastfm__error__error29_rate_limit_exceeded_from_python_repr.json",
        429,
        RateLimitedError,
        29,
        True,
    ),
    ("lastfm__error__error8_operation_failed.json", 500, UnavailableError, 8, True),
    ("lastfm__error__error6_user_not_found_recenttracks.json", 404, NotFoundError, 6, False),
    ("lastfm__error__error6_no_user_with_that_name.json", 404, NotFoundError, 6, False),
    (
        "lastfm__error__error6_no_user_with_that_name_was_found_recenttracks.json",
        404,
        NotFoundError,
        6,
        False,
    ),
    ("lastfm__error__error6_missing_user_param.json", 400, ExternalApiError, 6, False),
    ("lastfm__error__error6_artist_not_found.json", 400, ExternalApiError, 6, False),
]


@pytest.mark.parametrize(
    ("name", "real_status", "error_class", "code", "retryable"), ERROR_FIXTURES
)
@pytest.mark.parametrize("use_real_status", [False, True], ids=["http200", "real_status"])
def test_error_bodies_raise_by_code_whatever_the_status(
    mocked, name, real_status, error_class, code, retryable, use_real_status
):
    status = real_status if use_real_status else 200
    mocked.get(BASE, json=fixture(name), status=status)

    with pytest.raises(ExternalApiError) as info:
        make_client().get_recent_tracks("someone")

    error = info.value
    assert type(error) is error_class
    assert (error.code, error.status, error.retryable) == (code, status, retryable)
    assert fixture(name)["message"] in str(error)


@pytest.mark.parametrize(
    ("code", "status", "error_class", "retryable"),
    [
        (4, 403, AuthError, False),
        (9, 403, AuthError, False),
        (10, 403, AuthError, False),
        (13, 403, AuthError, False),
        (14, 403, AuthError, False),
        (17, 403, AuthError, False),  # private profile
        (26, 403, AuthError, False),
        (11, 503, UnavailableError, True),
        (16, 200, UnavailableError, True),
        (3, 400, ExternalApiError, False),
        (2, 200, ExternalApiError, False),
    ],
)
def test_every_error_code_maps_to_what_callers_do_about_it(
    mocked, code, status, error_class, retryable
):
    mocked.get(BASE, json={"error": code, "message": f"error {code}"}, status=status)

    with pytest.raises(ExternalApiError) as info:
        make_client().get_top_artists("someone")

    assert type(info.value) is error_class
    assert (info.value.code, info.value.status, info.value.retryable) == (code, status, retryable)


def test_transient_body_error_is_retried_and_the_call_succeeds(mocked):
    slept: list[float] = []
    mocked.get(BASE, json=fixture("lastfm__error__error8_operation_failed.json"), status=200)
    mocked.get(BASE, json=fixture("lastfm__user.getRecentTracks__20_tracks_2014_trimmed.json"))
    client = make_client(retry=RetryPolicy(total=2, backoff_factor=0), sleep=slept.append)

    page = client.get_recent_tracks("RJ")

    assert len(mocked.calls) == 2
    assert page.tracks[0].artist_name == "Santana"
    assert all(seconds == 0 for seconds in slept)


def test_rate_limit_body_every_time_gives_up_after_total_plus_one_calls(mocked):
    mocked.get(
        BASE,
        json=fixture("lastfm__error__error29_rate_limit_exceeded_from_python_repr.json"),
        status=200,
    )
    client = make_client(retry=RetryPolicy(total=2, backoff_factor=0), sleep=lambda s: None)

    with pytest.raises(RateLimitedError) as info:
        client.get_recent_tracks("RJ")

    assert len(mocked.calls) == 3
    assert info.value.retryable
    assert info.value.code == 29


def test_non_transient_body_error_is_not_retried(mocked):
    mocked.get(BASE, json=fixture("lastfm__error__error6_user_not_found_recenttracks.json"))
    client = make_client(retry=RetryPolicy(total=2, backoff_factor=0))

    with pytest.raises(NotFoundError):
        client.get_recent_tracks("ghost")

    assert len(mocked.calls) == 1


def test_html_error_page_is_unavailable_and_retryable(mocked):
    mocked.get(BASE, body="<html><body>502 Bad Gateway</body></html>", status=502)

    with pytest.raises(UnavailableError) as info:
        make_client().get_recent_tracks("rj")

    assert info.value.retryable
    assert info.value.status == 502


def test_malformed_json_body_is_unavailable_and_retryable(mocked):
    mocked.get(BASE, body="{not json", status=200, content_type="application/json")

    with pytest.raises(UnavailableError, match="malformed JSON") as info:
        make_client().get_recent_tracks("rj")

    assert info.value.retryable


def test_truncated_body_is_unavailable_and_retryable(mocked):
    text = payload_text("lastfm", "lastfm__user.getRecentTracks__20_tracks_2014_trimmed.json")
    mocked.get(BASE, body=text[: len(text) // 2], content_type="application/json")

    with pytest.raises(UnavailableError) as info:
        make_client().get_recent_tracks("rj")

    assert info.value.retryable


def test_connection_cut_mid_body_is_unavailable_and_retryable(mocked):
    mocked.get(BASE, body=requests.exceptions.ChunkedEncodingError("connection broken"))

    with pytest.raises(UnavailableError, match="network error") as info:
        make_client().get_recent_tracks("rj")

    assert info.value.retryable


# --- secrets --------------------------------------------------------------------------


def assert_no_secret(text: str) -> None:
    assert KEY not in text
    assert SECRET not in text


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"error": 10, "message": f"Invalid API key {KEY} / {SECRET}"}, "status": 403},
        {"json": {"error": 8, "message": "Operation failed"}, "status": 200},
        {"body": "<html>oops</html>", "status": 500},
        {"body": requests.exceptions.ConnectionError(f"cannot reach {BASE}?api_key={KEY}")},
    ],
    ids=["key_echoed_in_message", "body_error", "html_500", "network_error"],
)
def test_errors_never_show_the_key_or_the_secret(mocked, answer):
    mocked.get(BASE, **answer)

    with pytest.raises(ExternalApiError) as info:
        make_client().get_recent_tracks("rj")

    error = info.value
    assert_no_secret(str(error))
    assert_no_secret(repr(error))
    assert_no_secret(error.url or "")
    assert_no_secret(error.message)


@pytest.fixture
def local_lastfm():
    """A real HTTP server on localhost, so urllib3 logs a real request line."""
    body = json.dumps({"error": 8, "message": "Operation failed"}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/2.0/"
    server.shutdown()
    server.server_close()


def test_debug_logs_of_the_client_and_urllib3_are_redacted(local_lastfm, caplog):
    redact = RedactSecretsFilter()
    caplog.handler.addFilter(redact)
    client = make_client(base_url=local_lastfm, retry=RetryPolicy(total=1, backoff_factor=0))
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(UnavailableError):
            client.get_recent_tracks("rj")
    finally:
        caplog.handler.removeFilter(redact)
        client.close()

    messages = [record.getMessage() for record in caplog.records]
    # urllib3's request line and the retry warning were both logged, and scrubbed.
    assert any(
        r.name.startswith("urllib3") and "api_key=[REDACTED]" in r.getMessage()
        for r in caplog.records
    )
    assert any("; retrying in 0 s (retry 1 of 1)" in message for message in messages)
    for message in messages:
        assert_no_secret(message)
    assert_no_secret(caplog.text)


# --- auth.getSession (web authentication) ------------------------------------------------


def test_get_session_is_signed_as_the_auth_spec_says_and_returns_the_name(mocked):
    # https://www.last.fm/api/authspec section 8: params sorted by name, then the secret.
    text = f"api_key{KEY}methodauth.getSessiontokenT0K3N{SECRET}"
    signature = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    mocked.get(
        BASE,
        json={
            "session": {"name": "RJ", "key": "d580d57f32848f5dcf574d1ce18d78b2", "subscriber": 0}
        },
        match=[
            matchers.query_param_matcher(
                {
                    "method": "auth.getSession",
                    "token": "T0K3N",
                    "api_key": KEY,
                    "api_sig": signature,
                    "format": "json",
                }
            )
        ],
    )
    session = make_client().get_session("T0K3N")
    assert session.name == "RJ"
    assert session.subscriber is False
    assert "d580d57f" not in repr(session)  # the session key is never shown


@pytest.mark.parametrize(
    ("code", "kind"), [(4, AuthError), (14, AuthError), (13, AuthError), (8, UnavailableError)]
)
def test_a_refused_or_failed_token_trade_raises_without_the_secret(mocked, code, kind):
    mocked.get(BASE, json={"error": code, "message": "Invalid authentication token"}, status=403)
    with pytest.raises(kind) as raised:
        make_client().get_session("T0K3N")
    assert_no_secret(str(raised.value))
    assert_no_secret(raised.value.url or "")


def test_a_session_without_a_name_is_not_taken(mocked):
    mocked.get(BASE, json={"session": {"name": "", "key": "k", "subscriber": "0"}})
    with pytest.raises(UnavailableError, match="no user name"):
        make_client().get_session("T0K3N")


def test_get_session_needs_the_secret():
    client = LastfmClient(
        api_key=KEY,
        api_secret="",
        base_url=BASE,
        options=HttpOptions(user_agent="SidetrackTests/0.1", retry=RetryPolicy.none()),
    )
    with pytest.raises(ValueError, match="API secret"):
        client.get_session("T0K3N")
