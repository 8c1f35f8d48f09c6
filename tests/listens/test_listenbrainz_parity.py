"""Where /1/ used to differ from ListenBrainz (issue 21): what a client sends in
``additional_info`` comes back, validation converts and refuses what ListenBrainz
converts and refuses, the endpoints a ListenBrainz client calls exist, browsers may
call them, and a user may let anyone read their listens."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from accounts.submission_tokens import create_submission_token
from listens.models import ListenEvent, ListenProfile
from metadata.models import Recording
from tests.listens.test_submit_api import NOW, imported, listen, submit

pytestmark = pytest.mark.django_db

RICK = "2cfad207-3f55-4aec-8120-86cf66e34d59"
ARTIST = "db92a151-1ac2-438b-bc43-b82e149ddd50"


@pytest.fixture(autouse=True)
def quick(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LISTENBRAINZ_API_RATE_LIMIT = 1000


@pytest.fixture
def token(alice) -> str:
    return create_submission_token(user=alice, name="test")[1]


def read(token: str | None, user: str = "alice", **params) -> dict:
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    response = Client().get(f"/1/user/{user}/listens", params, **headers)
    assert response.status_code == 200, response.content
    return response.json()["payload"]


def refused(token: str, body: dict) -> str:
    response = submit(body, token)
    assert response.status_code == 400, response.content
    assert ListenEvent.objects.count() == 0
    return response.json()["error"]


# --- additional_info kept and read back -------------------------------------------------


def test_additional_info_comes_back_as_sent_nested_keys_dotted_and_mapping_apart(alice, token):
    info = {
        "music_service": "spotify.com",
        "tracknumber": "7",
        "isrc": "GBARL9300135",
        "tags": ["pop"],
        "artist_mbids": [ARTIST],
        "recording_mbid": RICK,
        "duration_ms": 213000,
        "submission_client": "Pano Scrobbler",
        "my_own_key": "kept",
        "nested": {"info": "here", "deeper": {"still": 1}},
        "release_type": ["ALBUM", "REMIX"],
    }
    assert (
        submit(imported(listen(NOW - 60, "Never Gonna Give You Up", **info)), token).status_code
        == 200
    )

    [back] = read(token)["listens"]

    got = back["track_metadata"]["additional_info"]
    expected = {k: v for k, v in info.items() if k != "nested"}
    assert {k: got[k] for k in expected} == expected
    assert got["nested.info"] == "here"
    assert got["nested.deeper.still"] == 1
    assert "nested" not in got
    assert got["recording_msid"] == back["recording_msid"]
    # The client's recording_mbid stays the client's; Sidetrack's word would be in
    # mbid_mapping (unresolved here: no MusicBrainz in this test, so none).
    assert "mbid_mapping" not in back["track_metadata"]


def test_resolved_mbid_goes_in_mbid_mapping_without_touching_the_clients_fields(alice, token):
    claimed = "0b1c0c9e-3f1a-4b6e-9d3c-9a4a1f2b3c4d"
    assert (
        submit(imported(listen(NOW - 60, "Song", recording_mbid=claimed)), token).status_code == 200
    )
    # As if the resolver had found it: the listen now points at a resolved recording.
    resolved = Recording.objects.create(
        mbid=RICK, title="Never Gonna Give You Up", status=Recording.Status.RESOLVED
    )
    ListenEvent.objects.update(recording=resolved)

    [back] = read(token)["listens"]

    assert back["track_metadata"]["additional_info"]["recording_mbid"] == claimed
    assert back["track_metadata"]["mbid_mapping"] == {
        "recording_mbid": RICK,
        "recording_name": "Never Gonna Give You Up",
    }


def test_secrets_in_additional_info_are_not_stored_nor_read_back(alice, token):
    body = imported(
        listen(NOW - 5, "Leaky", origin_url="https://x.test/?api_key=hunter2hunter2", token="abc1")
    )

    assert submit(body, token).status_code == 200

    text = json.dumps(read(token))
    assert "hunter2hunter2" not in text
    assert "abc1" not in text
    assert read(token)["listens"][0]["track_metadata"]["additional_info"]["origin_url"]


# --- validation identical to ListenBrainz's ----------------------------------------------


@pytest.mark.parametrize("empty", ["", None])
def test_empty_mbid_fields_are_dropped_and_the_listen_accepted(alice, token, empty):
    info = {"recording_mbid": empty, "release_mbid": empty, "artist_mbids": [empty, ARTIST]}
    info["work_mbids"] = [] if empty == "" else None

    assert submit(imported(listen(NOW - 5, "From Spotify", **info)), token).status_code == 200

    got = read(token)["listens"][0]["track_metadata"]["additional_info"]
    assert "recording_mbid" not in got
    assert "release_mbid" not in got
    assert "work_mbids" not in got
    assert got["artist_mbids"] == [ARTIST]


@pytest.mark.parametrize(
    ("info", "error"),
    [
        (
            {"duration": 200, "duration_ms": 200000},
            "JSON document should not contain both duration and duration_ms.",
        ),
        ({"duration": None}, "Value for duration is invalid, should be a positive integer."),
        ({"duration": 0}, "Value for duration is invalid, should be a positive integer."),
        ({"duration_ms": -5}, "Value for duration_ms is invalid, should be a positive integer."),
        (
            {"duration": 2073601},
            "Value for duration is too large, max permitted value is 2073600",
        ),
        (
            {"duration_ms": 2073600001},
            "Value for duration_ms is too large, max permitted value is 2073600000",
        ),
    ],
)
def test_bad_durations_are_refused(alice, token, info, error):
    assert refused(token, imported(listen(NOW - 5, "Timed", **info))) == error


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({"duration_ms": 1222.6}, ("duration_ms", 1222)),
        ({"duration_ms": "300000"}, ("duration_ms", 300000)),
        ({"duration": "215"}, ("duration", 215)),
    ],
)
def test_float_and_numeric_string_durations_are_converted(alice, token, sent, stored):
    assert submit(imported(listen(NOW - 5, "Timed", **sent)), token).status_code == 200

    key, value = stored
    assert read(token)["listens"][0]["track_metadata"]["additional_info"][key] == value


@pytest.mark.parametrize("sent", [str(NOW - 90), float(NOW - 90) + 0.7, f"{NOW - 90}"])
def test_listened_at_as_numeric_string_or_float_is_converted(alice, token, sent):
    assert submit(imported(listen(sent, "Stringly")), token).status_code == 200

    assert read(token)["listens"][0]["listened_at"] == NOW - 90


def test_up_to_an_hour_in_the_future_is_allowed_and_past_it_refused(alice, token):
    now = int(time.time())
    assert submit(imported(listen(now + 30 * 60, "Half an hour ahead")), token).status_code == 200
    assert submit(imported(listen(now + 59 * 60, "Nearly an hour ahead")), token).status_code == 200
    ListenEvent.objects.all().delete()

    error = refused(token, imported(listen(now + 3600 + 5, "Too far ahead")))

    assert error == "Value for key listened_at is too high."


@pytest.mark.parametrize(
    "metadata",
    [
        {"artist_name": "Kanye\x00 West", "track_name": "Fade"},
        {"artist_name": "Kanye West", "track_name": "\x00Fade"},
        {"artist_name": "K", "track_name": "F", "additional_info": {"n": {"deep": "a\x00b"}}},
    ],
)
def test_nul_anywhere_in_a_listen_is_refused_naming_the_value(alice, token, metadata):
    body = imported({"listened_at": NOW - 5, "track_metadata": metadata})

    error = refused(token, body)

    assert error.endswith(" contains a unicode null")
    assert "\x00" in error


def test_nul_text_is_listenbrainzs(alice, token):
    body = {
        "listen_type": "single",
        "payload": [
            {
                "listened_at": NOW - 5,
                "track_metadata": {"artist_name": "Kanye West", "track_name": "\x00Fade"},
            }
        ],
    }
    assert refused(token, body) == "\x00Fade contains a unicode null"


def test_an_unknown_top_level_key_on_a_listen_is_refused(alice, token):
    body = imported({**listen(NOW - 5, "Extra"), "rating": 5})

    error = refused(token, body)

    assert error == ("JSON document may only contain listened_at and track_metadata top level keys")
    playing = {"listen_type": "playing_now", "payload": [{**listen(NOW, "x"), "rating": 5}]}
    playing["payload"][0].pop("listened_at")
    assert refused(token, playing) == (
        "JSON document may only contain track_metadata as top level key when submitting "
        "playing_now."
    )


def test_empty_release_name_is_dropped_not_refused(alice, token):
    body = imported(listen(NOW - 5, "Single"))
    body["payload"][0]["track_metadata"]["release_name"] = "   "

    assert submit(body, token).status_code == 200

    assert "release_name" not in read(token)["listens"][0]["track_metadata"]


# --- issue 17's text rules, on /1/ -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("artist_name", "\u200b\u200b"),  # zero-width spaces
        ("artist_name", "\x01\x02\t"),  # control characters
        ("track_name", " \u200d\ufeff "),  # joiner, byte-order mark, spaces
        ("track_name", "\u2028"),  # a line separator
    ],
)
def test_a_name_empty_after_cleaning_is_refused_naming_the_field(alice, token, field, name):
    metadata = {"artist_name": "Artist", "track_name": "Track", field: name}

    error = refused(token, imported({"listened_at": NOW - 5, "track_metadata": metadata}))

    assert error == f"field track_metadata.{field} is empty."


def test_a_name_with_invisible_characters_inside_is_kept(alice, token):
    assert (
        submit(imported(listen(NOW - 5, "Zero\u200bWidth", artist="A\u00a0B")), token).status_code
        == 200
    )
    assert ListenEvent.objects.get().track_name == "Zero\u200bWidth"


def nested(depth: int) -> dict:
    value: dict = {"leaf": "x"}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


@pytest.mark.parametrize("depth", [17, 300, 1000])
def test_additional_info_nested_too_deep_is_a_400_not_a_500(alice, token, depth):
    # Written out by hand: json.dumps itself gives up before 1000 levels.
    info = '{"n": ' * (depth - 1) + '{"leaf": "x"}' + "}" * (depth - 1)
    raw = (
        '{"listen_type": "import", "payload": [{"listened_at": '
        + str(NOW - 5)
        + ', "track_metadata": {"artist_name": "A", "track_name": "Deep", "additional_info": '
        + info
        + "}}]}"
    )

    response = submit(None, token, raw=raw.encode())

    assert response.status_code == 400
    assert ListenEvent.objects.count() == 0
    assert (
        response.json()["error"]
        == "track_metadata.additional_info may not be nested more than 16 levels deep."
    )


def test_additional_info_16_levels_deep_is_stored_and_read_back_flat(alice, token):
    body = imported(listen(NOW - 5, "Deep enough"))
    body["payload"][0]["track_metadata"]["additional_info"] = nested(16)

    assert submit(body, token).status_code == 200

    got = read(token)["listens"][0]["track_metadata"]["additional_info"]
    assert got[".".join(["n"] * 15 + ["leaf"])] == "x"


# --- the missing pieces ------------------------------------------------------------------


def test_listen_count_counts_each_play_once(alice, token):
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    empty = Client().get("/1/user/alice/listen-count", **auth)
    assert empty.status_code == 200
    assert empty.json() == {"payload": {"count": 0}}
    body = imported(*(listen(NOW - 100 + i, f"T{i}") for i in range(3)))
    assert submit(body, token).status_code == 200
    assert submit(body, token).status_code == 200

    answer = Client().get("/1/user/alice/listen-count", **auth)

    assert answer.json() == {"payload": {"count": 3}}
    other = Client().get("/1/user/nobody/listen-count", **auth)
    assert other.status_code == 404
    assert other.json() == {"code": 404, "error": "Cannot find user: nobody"}


def test_a_user_without_listens_has_0_as_latest_and_oldest(alice, token):
    payload = read(token)

    assert payload["latest_listen_ts"] == 0
    assert payload["oldest_listen_ts"] == 0
    assert payload["count"] == 0
    assert payload["listens"] == []


def test_cors_headers_and_preflights_on_1_only(alice, token):
    preflight = Client().options(
        "/1/submit-listens",
        HTTP_ORIGIN="https://player.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in preflight["Access-Control-Allow-Headers"].lower()
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    bare = Client().options("/1/user/alice/listens")
    assert bare.status_code == 200
    assert "GET" in bare["Allow"]

    posted = Client().post(
        "/1/submit-listens",
        data=json.dumps(imported(listen(NOW - 5, "From a browser"))),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_ORIGIN="https://player.example",
    )
    assert posted.status_code == 200
    assert posted["Access-Control-Allow-Origin"] == "*"
    assert "X-RateLimit-Remaining" in posted["Access-Control-Expose-Headers"]
    refusal = Client().get(
        "/1/user/alice/listens", HTTP_ORIGIN="https://player.example", HTTP_AUTHORIZATION="Token x"
    )
    assert refusal.status_code == 401
    assert refusal["Access-Control-Allow-Origin"] == "*"

    api = Client().get("/api/listens/", HTTP_ORIGIN="https://player.example")
    assert "Access-Control-Allow-Origin" not in api
    api_preflight = Client().options(
        "/api/listens/",
        HTTP_ORIGIN="https://player.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert "Access-Control-Allow-Origin" not in api_preflight


def test_post_to_validate_token_is_a_405_like_listenbrainz(token):
    response = Client(enforce_csrf_checks=True).post(
        "/1/validate-token", HTTP_AUTHORIZATION=f"Token {token}"
    )

    assert response.status_code == 405
    assert response.json() == {
        "code": 405,
        "error": "The method is not allowed for the requested URL.",
    }


# --- reading back without a token, for users who choose it -----------------------------


def test_listens_are_private_by_default_and_public_once_the_user_says_so(alice, bob, token):
    assert submit(imported(listen(NOW - 5, "Mine")), token).status_code == 200
    anonymous = Client()
    for path in ("listens", "listen-count", "playing-now"):
        # As if alice did not exist: nobody learns who keeps their listens private.
        assert anonymous.get(f"/1/user/alice/{path}").json() == {
            "code": 404,
            "error": "Cannot find user: alice",
        }
    wrong = Client().get("/1/user/alice/listens", HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert wrong.status_code == 401
    bobs = create_submission_token(user=bob)[1]
    assert read_status(bobs) == 404
    me = Client()
    me.force_login(alice)
    assert me.get("/api/me/listen-profile/").json() == {"listens_public": False}

    changed = me.patch(
        "/api/me/listen-profile/", {"listens_public": True}, content_type="application/json"
    )

    assert changed.status_code == 200
    assert changed.json() == {"listens_public": True}
    assert ListenProfile.objects.get(user=alice).listens_public is True
    assert [item["track_metadata"]["track_name"] for item in read(None)["listens"]] == ["Mine"]
    assert anonymous.get("/1/user/ALICE/listen-count").json() == {"payload": {"count": 1}}
    assert anonymous.get("/1/user/alice/playing-now").status_code == 200
    assert read_status(bobs) == 200
    # Bob's stay private.
    assert anonymous.get("/1/user/bob/listens").status_code == 404

    me.put("/api/me/listen-profile/", {"listens_public": False}, content_type="application/json")
    assert anonymous.get("/1/user/alice/listens").status_code == 404


def read_status(token: str) -> int:
    return Client().get("/1/user/alice/listens", HTTP_AUTHORIZATION=f"Token {token}").status_code


def test_listen_profile_needs_a_login_and_a_boolean(alice):
    assert Client().get("/api/me/listen-profile/").status_code in (401, 403)
    me = Client()
    me.force_login(alice)

    bad = me.put(
        "/api/me/listen-profile/", {"listens_public": "maybe"}, content_type="application/json"
    )

    assert bad.status_code == 400
    assert not ListenProfile.objects.filter(user=alice).exists()


def test_the_admin_shows_and_changes_the_setting(admin_client, alice):
    ListenProfile.objects.create(user=alice)

    page = admin_client.get("/admin/listens/listenprofile/")
    assert page.status_code == 200
    assert b"alice" in page.content
    change = admin_client.post(
        f"/admin/listens/listenprofile/{alice.pk}/change/",
        {"user": alice.pk, "listens_public": "on"},
    )
    assert change.status_code == 302
    assert ListenProfile.objects.get(user=alice).listens_public is True
