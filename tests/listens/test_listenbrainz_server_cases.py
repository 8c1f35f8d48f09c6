"""ListenBrainz server's own integration cases (``listenbrainz/tests/integration/
test_api.py``) for submit-listens, validate-token, listens, listen-count and
playing-now, replayed against /1/ as a table: each case is the requests it makes and
the answers it expects (status, and the error text where ListenBrainz's test asserts
it). Their bodies are in ``tests/fixtures/listenbrainz/server_test_payloads.json``.

Left out: what a single-user submission API has no counterpart for (e-mail
verification, OAuth tokens, User-Agent blocking, the listen store being offline, its
cache, ``playing-now/delete``). ListenBrainz's reads are public; here the user has
made theirs public first (``listens_public``), as a user must for anonymous readers.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client

from accounts.submission_tokens import create_submission_token
from listens.profile import listen_profile_update

pytestmark = pytest.mark.django_db

BODIES = json.loads(
    (Path(__file__).parent.parent / "fixtures/listenbrainz/server_test_payloads.json").read_text()
)
USER = "testuserpleaseignore"


def body(name: str, change: Callable[[dict], Any] | None = None) -> dict:
    copy = json.loads(json.dumps(BODIES[name]))
    if change is not None:
        change(copy)
    return copy


def first_metadata(data: dict) -> dict:
    return data["payload"][0]["track_metadata"]


@dataclass(frozen=True)
class Post:
    """POST /1/submit-listens with the user's token (or ``token``)."""

    data: Any  # a JSON value, or bytes sent as they are
    status: int
    error: str | None = None  # the whole text, where ListenBrainz's test asserts it
    error_has: str | None = None
    token: str | None = "user"
    params: str = ""


@dataclass(frozen=True)
class Get:
    path: str  # after /1/
    params: dict | None = None
    status: int = 200
    check: Callable[[dict], bool] | None = None


@dataclass(frozen=True)
class Wait:
    seconds: float


def valid_single_now(data: dict) -> None:
    data["payload"][0]["listened_at"] = int(time.time())


def too_large_listen() -> dict:
    # ListenBrainz's too_large_listen.json: one listen with 1000 additional_info keys.
    info = {f"this is a big key #{i}": f"big value #{i}" for i in range(1, 1001)}
    info["tags"] = [f"tag #{i}" for i in range(1, 51)]
    return {
        "listen_type": "import",
        "payload": [
            {
                "listened_at": 1486449409,
                "track_metadata": {
                    "artist_name": "Kanye West",
                    "track_name": "Fade",
                    "release_name": "The Life of Pablo",
                    "additional_info": info,
                },
            }
        ],
    }


def many(name: str, times: int, extra: int = 0) -> dict:
    data = body(name)
    data["payload"] = data["payload"] * times + data["payload"][:extra]
    return data


def tagged(count: int) -> dict:
    data = body("valid_single")
    first_metadata(data)["additional_info"]["tags"] = [f"tag #{i}" for i in range(count)]
    return data


def drop(key: str) -> Callable[[dict], None]:
    return lambda data: first_metadata(data).pop(key)


def put(key: str, value: Any, info: bool = False) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        target = first_metadata(data)
        (target.setdefault("additional_info", {}) if info else target)[key] = value

    return change


def listens(check: Callable[[list], bool]) -> Callable[[dict], bool]:
    return lambda answer: check(answer["payload"]["listens"])


NOW = int(time.time())
TOO_LOW = (
    "Value for key listened_at is too low. listened_at timestamp should be greater than "
    "1033410600 (2002-10-01 00:00:00 UTC)."
)

CASES: dict[str, list] = {
    "get_listens_invalid_count": [Get(f"user/{USER}/listens", {"count": "-1"}, 400)],
    "get_listens_ts_order": [
        Get(f"user/{USER}/listens", {"max_ts": "1400000000", "min_ts": "1500000000"}, 400)
    ],
    "get_listens": [
        Post(body("valid_single", lambda d: d["payload"][0].update(listened_at=NOW)), 200),
        Get(
            f"user/{USER}/listens",
            {"count": "1"},
            check=lambda a: (
                a["payload"]["user_id"] == USER
                and a["payload"]["count"] == 1
                and a["payload"]["listens"][0]["listened_at"] == NOW
                and a["payload"]["listens"][0]["track_metadata"]["track_name"] == "Fade"
                and a["payload"]["listens"][0]["track_metadata"]["artist_name"] == "Kanye West"
                and a["payload"]["listens"][0]["track_metadata"]["release_name"]
                == "The Life of Pablo"
                and a["payload"]["listens"][0]["track_metadata"]["additional_info"]["music_service"]
                == "spotify.com"
                and bool(uuid.UUID(a["payload"]["listens"][0]["recording_msid"]))
                and a["payload"]["latest_listen_ts"] == NOW
                and a["payload"]["oldest_listen_ts"] == NOW
            ),
        ),
        Get(f"user/{USER}/listens", {"min_ts": str(int(time.time()))}),
        Get(
            f"user/{USER}/listens",
            {"max_ts": str(NOW - 2)},
            check=lambda a: (
                a["payload"]["listens"] == []
                and a["payload"]["latest_listen_ts"] == NOW
                and a["payload"]["oldest_listen_ts"] == NOW
            ),
        ),
        Get(
            f"user/{USER}/listens",
            {"max_ts": str(NOW + 1000), "min_ts": str(NOW - 1000)},
            check=lambda a: a["payload"]["count"] == 1,
        ),
        Get(f"user/{USER}/listen-count", check=lambda a: a["payload"]["count"] == 1),
        Get("user/sir_dumpsterfire/listen-count", status=404),
    ],
    "get_listens_order": [
        *(
            Post(
                body(
                    "valid_single",
                    lambda d, i=i: d["payload"][0].update(listened_at=1400000000 + 100 * i),
                ),
                200,
            )
            for i in range(3)
        ),
        Get(
            f"user/{USER}/listens",
            check=listens(
                lambda ls: [x["listened_at"] for x in ls] == [1400000200, 1400000100, 1400000000]
            ),
        ),
        Get(
            f"user/{USER}/listens",
            {"count": "3", "from_ts": "1399999500"},
            check=listens(
                lambda ls: [x["listened_at"] for x in ls] == [1400000200, 1400000100, 1400000000]
            ),
        ),
    ],
    "zero_listens_payload": [
        Post({"listen_type": kind, "payload": []}, 400)
        for kind in ("single", "playing_now", "import")
    ],
    "payload_is_not_list": [
        Post(
            {"listen_type": kind, "payload": {}},
            400,
            "The payload in the JSON document should be a list of listens.",
        )
        for kind in ("single", "playing_now", "import")
    ],
    "top_level_json_is_not_dict": [
        Post(
            value,
            400,
            "Invalid JSON document submitted. Top level of JSON document should be a json object.",
        )
        for value in (1, False, None, [2, 3], "foobar")
    ],
    "unauthorized_submission": [
        Post(body("valid_single"), 401, token=None),
        Post(body("valid_single"), 401, token="testtokenplsignore"),
    ],
    "valid_single": [Post(body("valid_single"), 200)],
    "single_more_than_one_listen": [Post(body("single_more_than_one_listen"), 400)],
    "valid_playing_now": [
        # ListenBrainz also answers a recording_msid with ?return_msid=true (for its
        # feedback API, which Sidetrack has not): not replayed.
        Post(body("valid_playing_now"), 200, params="?return_msid=true"),
        Get(f"user/{USER}/playing-now", check=lambda a: a["payload"]["count"] == 1),
    ],
    "playing_now_with_duration": [
        Post(body("playing_now_with_duration"), 200),
        Get(
            f"user/{USER}/playing-now",
            check=lambda a: (
                a["payload"]["count"] == 1
                and a["payload"]["listens"][0]["track_metadata"]["track_name"] == "Fade"
            ),
        ),
        Wait(1.1),
        Get(f"user/{USER}/playing-now", check=lambda a: a["payload"]["count"] == 0),
    ],
    "playing_now_with_duration_ms": [
        Post(body("playing_now_with_duration_ms"), 200),
        Get(f"user/{USER}/playing-now", check=lambda a: a["payload"]["count"] == 1),
        Wait(1.1),
        Get(f"user/{USER}/playing-now", check=lambda a: a["payload"]["count"] == 0),
    ],
    "playing_now_with_ts": [Post(body("playing_now_with_ts"), 400)],
    "playing_now_more_than_one_listen": [Post(body("playing_now_more_than_one_listen"), 400)],
    "valid_import": [Post(body("valid_import"), 200)],
    "too_large_listen": [
        Post(too_large_listen(), 400, error_has="JSON document is too large."),
        Post(
            json.dumps(
                {**too_large_listen(), "payload": too_large_listen()["payload"] * 300}
            ).encode(),
            400,
            error_has="Payload too large.",
        ),
    ],
    "too_many_listens": [Post(many("valid_import", 500, 2), 400, error_has="Too many listens")],
    "empty_track_name": [Post(body("empty_track_name", drop("track_name")), 400)],
    "invalid_release_name": [
        Post(
            body("invalid_release_name"),
            400,
            "track_metadata.release_name must be a single string.",
        )
    ],
    "empty_release_name_stripped": [
        Post(
            body("valid_single", lambda d: (put("release_name", "   ")(d), valid_single_now(d))),
            200,
        ),
        Get(
            f"user/{USER}/listens",
            {"count": "1"},
            check=listens(lambda ls: "release_name" not in ls[0]["track_metadata"]),
        ),
    ],
    "bad_track_name_format": [
        Post(body("empty_track_name", put("track_name", [])), 400),
        Post(body("empty_track_name", put("track_name", 1)), 400),
    ],
    "empty_artist_name": [
        Post(body("empty_artist_name"), 400),
        Post(body("empty_artist_name", drop("artist_name")), 400),
    ],
    "bad_artist_name_format": [Post(body("empty_artist_name", put("artist_name", None)), 400)],
    "too_many_tags_in_listen": [Post(body("too_many_tags"), 400)],
    "too_long_tag": [Post(body("too_long_tag"), 400)],
    "missing_track_metadata": [Post(body("invalid_listen_missing_track_metadata"), 400)],
    "null_track_metadata": [Post(body("invalid_listen_null_track_metadata"), 400)],
    "nan_in_json": [
        Post(
            b'{"listen_type": "single", "payload": [{"listened_at": NaN, "track_metadata": '
            b'{"artist_name": "Kanye West", "track_name": "Fade"}}]}',
            400,
        )
    ],
    "null_listened_at": [Post(body("invalid_listen_null_listened_at"), 400)],
    "invalid_release_mbid": [Post(body("invalid_release_mbid"), 400)],
    "invalid_artist_mbid": [Post(body("invalid_artist_mbid"), 400)],
    "invalid_recording_mbid": [Post(body("invalid_recording_mbid"), 400)],
    "multi_duration": [
        Post(
            body("multi_duration"),
            400,
            "JSON document should not contain both duration and duration_ms.",
        )
    ],
    "invalid_duration": [
        Post(
            body("invalid_duration"),
            400,
            "Value for duration is invalid, should be a positive integer.",
        ),
        Post(
            body("invalid_duration", put("duration", 5345029000, info=True)),
            400,
            "Value for duration is too large, max permitted value is 2073600",
        ),
        Post(
            body(
                "invalid_duration",
                lambda d: first_metadata(d).update(additional_info={"duration_ms": 53450290000}),
            ),
            400,
            "Value for duration_ms is too large, max permitted value is 2073600000",
        ),
    ],
    "valid_duration": [Post(body("valid_duration"), 200)],
    "string_duration_conversion": [
        Post(body("valid_duration", put("duration_ms", "300000", info=True)), 200),
        Get(
            f"user/{USER}/listens",
            {"count": "1"},
            check=listens(
                lambda ls: ls[0]["track_metadata"]["additional_info"]["duration_ms"] == 300000
            ),
        ),
    ],
    "unicode_null_error": [
        Post(body("listen_having_unicode_null"), 400, "\x00Fade contains a unicode null")
    ],
    "additional_info": [
        Post(
            body("additional_info", lambda d: d["payload"][0].update(listened_at=1280258690)), 200
        ),
        Get(
            f"user/{USER}/listens",
            {"count": "1"},
            check=listens(
                lambda ls: (
                    all(
                        ls[0]["track_metadata"]["additional_info"].get(key)
                        == first_metadata(BODIES["additional_info"])["additional_info"][key]
                        for key in (
                            "best_song",
                            "link1",
                            "link2",
                            "other_stuff",
                            "release_type",
                            "spotify_id",
                            "isrc",
                            "tracknumber",
                            "release_group_mbid",
                            "work_mbids",
                            "artist_mbids",
                            "non_official_list",
                        )
                    )
                    and ls[0]["track_metadata"]["additional_info"]["nested.info"] == "here"
                )
            ),
        ),
    ],
    "additional_info_invalid_mbids": [
        Post(body("invalid_mbid_listens"), 200),
        Get(
            f"user/{USER}/listens",
            {"count": "2"},
            check=listens(
                lambda ls: (
                    ls[0]["track_metadata"]["additional_info"]["artist_mbids"]
                    == ["ac4f356f-23e5-40ab-990e-da7e34b65d6e"]
                    and not {"recording_mbid", "artist_mbids", "release_mbid", "work_mbids"}
                    & set(ls[1]["track_metadata"]["additional_info"])
                    and ls[1]["track_metadata"]["additional_info"]["release_group_mbid"]
                    == "2cfad207-3f55-4aec-8120-86cf66e34d59"
                )
            ),
        ),
    ],
    "multiple_artist_names": [
        Post(body("artist_name_list"), 400, "track_metadata.artist_name must be a single string.")
    ],
    "too_high_timestamps": [
        Post(body("timestamp_in_ns"), 400, "Value for key listened_at is too high.")
    ],
    "too_low_timestamps": [Post(body("timestamp_before_lfm_founding"), 400, TOO_LOW)],
    "invalid_token_validation": [
        Get(
            "validate-token",
            {"token": "invalidtoken"},
            check=lambda a: a == {"code": 200, "message": "Token invalid.", "valid": False},
        )
    ],
    "valid_token_validation": [
        Get(
            "validate-token",
            {"token": "user"},
            check=lambda a: (
                a["message"] == "Token valid." and a["valid"] and a["user_name"] == USER
            ),
        )
    ],
    "token_validation_auth_header": [
        Get(
            "validate-token",
            {"header": "user"},
            check=lambda a: (
                a["message"] == "Token valid." and a["valid"] and a["user_name"] == USER
            ),
        )
    ],
    "get_playing_now": [
        Get("user/thisuserdoesnotexist/playing-now", status=404),
        Get(
            f"user/{USER}/playing-now",
            check=lambda a: a["payload"]["count"] == 0 and a["payload"]["listens"] == [],
        ),
        Post(body("valid_playing_now"), 200),
        Get(
            f"user/{USER}/playing-now",
            check=lambda a: (
                a["payload"]["playing_now"] is True
                and a["payload"]["count"] == 1
                and a["payload"]["user_id"] == USER
                and a["payload"]["listens"][0]["track_metadata"]["artist_name"] == "Kanye West"
                and a["payload"]["listens"][0]["track_metadata"]["release_name"]
                == "The Life of Pablo"
                and a["payload"]["listens"][0]["track_metadata"]["track_name"] == "Fade"
            ),
        ),
    ],
}


def run_step(step: Any, token: str, clock: Any) -> None:
    if isinstance(step, Wait):
        clock.shift(step.seconds)
        if not isinstance(caches["default"], LocMemCache):
            time.sleep(step.seconds)  # Redis expires keys by its own clock
        return
    if isinstance(step, Post):
        raw = step.data if isinstance(step.data, bytes) else json.dumps(step.data)
        sent = token if step.token == "user" else step.token
        headers = {"HTTP_AUTHORIZATION": f"Token {sent}"} if sent else {}
        response = Client().post(
            "/1/submit-listens" + step.params, data=raw, content_type="application/json", **headers
        )
        assert response.status_code == step.status, response.content[:300]
        if step.status != 200:
            assert response.json()["code"] == step.status
        if step.error is not None:
            assert response.json()["error"] == step.error
        if step.error_has is not None:
            assert step.error_has in response.json()["error"]
        return
    params = dict(step.params or {})
    headers = {}
    if params.get("token") == "user":
        params["token"] = token
    if params.pop("header", None) == "user":
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    response = Client().get(f"/1/{step.path}", params, **headers)
    assert response.status_code == step.status, response.content[:300]
    if step.check is not None:
        assert step.check(response.json()), response.json()


@pytest.mark.parametrize("case", list(CASES))
def test_listenbrainz_server_case(case, django_user_model, settings):
    settings.LISTENBRAINZ_API_RATE_LIMIT = 10_000
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = django_user_model.objects.create_user(USER)
    listen_profile_update(user=user, listens_public=True)
    token = create_submission_token(user=user)[1]
    with time_machine.travel(time.time(), tick=True) as clock:
        for step in CASES[case]:
            run_step(step, token, clock)
