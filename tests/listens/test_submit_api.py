"""The ListenBrainz-compatible /1/ API through Django's test client: the raw JSON bodies
players send (ListenBrainz's documented examples), validation, tokens, limits, and
that submitted listens take the pollers' store path."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client

from accounts.models import ExternalAccount, ListenSource
from accounts.submission_tokens import create_submission_token, revoke_submission_token
from listens.ingest.run import ingest_account
from listens.models import ListenEvent
from tests.listens.test_ingest import FakeLastfm, lastfm_scrobble

pytestmark = pytest.mark.django_db

NOW = int(time.time())
RECORDING_MBID = "2cfad207-3f55-4aec-8120-86cf66e34d59"

# ListenBrainz's documented example bodies (docs "JSON Documentation": submit-listens).
SINGLE = {
    "listen_type": "single",
    "payload": [
        {
            "listened_at": NOW - 3600,
            "track_metadata": {
                "artist_name": "Rick Astley",
                "track_name": "Never Gonna Give You Up",
                "release_name": "Whenever you need somebody",
                "additional_info": {
                    "release_mbid": "bf9e91ea-8029-4a04-a26a-224e00a83266",
                    "artist_mbids": ["db92a151-1ac2-438b-bc43-b82e149ddd50"],
                    "recording_mbid": RECORDING_MBID,
                    "tags": ["you", "just", "got", "rick rolled!"],
                    "submission_client": "Navidrome",
                    "duration_ms": 213000,
                },
            },
        }
    ],
}
PLAYING_NOW = {
    "listen_type": "playing_now",
    "payload": [
        {
            "track_metadata": {
                "artist_name": "Rick Astley",
                "track_name": "Never Gonna Give You Up",
                "release_name": "Whenever you need somebody",
            }
        }
    ],
}


def listen(ts: int, track: str, artist: str = "Comete", **info) -> dict:
    metadata = {"artist_name": artist, "track_name": track}
    if info:
        metadata["additional_info"] = info
    return {"listened_at": ts, "track_metadata": metadata}


def imported(*listens: dict) -> dict:
    return {"listen_type": "import", "payload": list(listens)}


@pytest.fixture(autouse=True)
def quick(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LISTENBRAINZ_API_RATE_LIMIT = 1000


@pytest.fixture
def token(alice) -> str:
    return create_submission_token(user=alice, name="test")[1]


def submit(body, token: str | None, *, raw: bytes | None = None, client: Client | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    data = raw if raw is not None else json.dumps(body)
    return (client or Client()).post(
        "/1/submit-listens", data=data, content_type="application/json", **headers
    )


def rows(user) -> list[tuple[int, str, str]]:
    return sorted(
        (int(e.listened_at.timestamp()), e.artist_name, e.track_name)
        for e in ListenEvent.objects.filter(user=user)
    )


def test_single_listen_is_stored_on_the_users_submitted_account(alice, token):
    response = submit(SINGLE, token)

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}
    stored = ListenEvent.objects.get()
    assert (stored.user, stored.source) == (alice, ListenSource.SUBMITTED)
    assert stored.account.source == ListenSource.SUBMITTED
    assert stored.account.external_username == "alice"
    assert (stored.artist_name, stored.track_name, stored.album_name) == (
        "Rick Astley",
        "Never Gonna Give You Up",
        "Whenever you need somebody",
    )
    assert int(stored.listened_at.timestamp()) == NOW - 3600
    # The client's MBID is kept as a hint for the resolver, not trusted as the identity.
    assert str(stored.recording.hint_mbid) == RECORDING_MBID
    assert stored.raw_payload["track_metadata"]["additional_info"]["submission_client"] == (
        "Navidrome"
    )
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset-In"):
        assert header in response


def test_resubmitting_the_same_listens_adds_nothing(alice, token):
    body = imported(listen(NOW - 100, "One"), listen(NOW - 50, "Two"))
    assert submit(body, token).status_code == 200
    assert submit(body, token).status_code == 200
    assert submit(SINGLE, token).status_code == 200
    assert submit(SINGLE, token).status_code == 200

    assert len(rows(alice)) == 3
    assert ExternalAccount.objects.filter(user=alice, source=ListenSource.SUBMITTED).count() == 1


def test_playing_now_is_not_stored_and_is_served_as_now_playing(alice, token):
    assert submit(PLAYING_NOW, token).status_code == 200

    assert ListenEvent.objects.count() == 0
    mine = Client()
    mine.force_login(alice)
    answer = mine.get("/api/now-playing/").json()
    playing = [item for item in answer if item["now_playing"]]
    assert [item["now_playing"]["track_name"] for item in playing] == ["Never Gonna Give You Up"]
    assert playing[0]["account"]["source"] == "submitted"

    lb = Client().get("/1/user/alice/playing-now", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert lb["payload"]["count"] == 1
    assert lb["payload"]["playing_now"] is True
    assert lb["payload"]["listens"][0]["track_metadata"]["artist_name"] == "Rick Astley"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (imported(listen(NOW, "")), "field track_metadata.track_name is empty."),
        (
            imported({"listened_at": NOW, "track_metadata": {"track_name": "x"}}),
            "JSON document does not contain required field track_metadata.artist_name.",
        ),
        (
            imported({"track_metadata": {"artist_name": "a", "track_name": "b"}}),
            "JSON document must contain the key listened_at at the top level.",
        ),
        (
            {"listen_type": "playing_now", "payload": [listen(NOW, "Now")]},
            "JSON document must not contain listened_at while submitting playing_now.",
        ),
        (
            imported(listen(1_000_000_000, "Too old")),
            "Value for key listened_at is too low. listened_at timestamp should be greater "
            "than 1033410600 (2002-10-01 00:00:00 UTC).",
        ),
        (imported(listen(NOW + 86400, "Tomorrow")), "Value for key listened_at is too high."),
        (
            imported(listen("yesterday", "As words")),
            "JSON document must contain an int value for listened_at.",
        ),
        (
            imported(listen(NOW, "x", artist_mbids="db92a151-1ac2-438b-bc43-b82e149ddd50")),
            "artist_mbids MBID format invalid.",
        ),
        (
            imported(listen(NOW, "x", recording_mbid="not-an-mbid")),
            "recording_mbid MBID format invalid.",
        ),
        (
            imported(listen(NOW, "x", tags=["t"] * 51)),
            "JSON document may not contain more than 50 items in "
            "track_metadata.additional_info.tags.",
        ),
        (
            imported(listen(NOW, "x", duration_ms="long")),
            "Value for duration_ms is invalid, should be a positive integer.",
        ),
        (
            {"listen_type": "single", "payload": [listen(NOW, "a"), listen(NOW, "b")]},
            "JSON document contains more than listen for a single/playing_now. "
            "It should contain only one.",
        ),
        (
            {"listen_type": "bulk", "payload": [listen(NOW, "a")]},
            "JSON document requires a valid listen_type key.",
        ),
        ({"payload": [listen(NOW, "a")]}, "Invalid JSON document submitted."),
        (
            {"listen_type": "import", "payload": []},
            "JSON document does not contain any listens",
        ),
    ],
)
def test_a_bad_listen_is_refused_with_listenbrainz_text(alice, token, body, error):
    response = submit(body, token)

    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["error"] == error
    assert ListenEvent.objects.count() == 0


def test_one_bad_listen_refuses_the_whole_request(alice, token):
    body = imported(listen(NOW - 30, "Good"), listen(NOW - 20, "Fine"), listen(NOW, ""))

    response = submit(body, token)

    assert response.status_code == 400
    # As ListenBrainz does, the listen at fault comes back with the error.
    assert response.json()["listened_at"] == NOW
    assert response.json()["error"] == "field track_metadata.track_name is empty."
    assert ListenEvent.objects.count() == 0
    assert not ExternalAccount.objects.filter(source=ListenSource.SUBMITTED).exists()


def test_malformed_body_is_a_400_in_listenbrainz_shape(alice, token):
    response = submit(None, token, raw=b'{"listen_type": "single", "payload": [')

    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["error"].startswith("Cannot parse JSON document: ")


def test_1001_listens_in_one_import_are_refused(alice, token):
    body = imported(*(listen(NOW - 2000 + i, f"Track {i}") for i in range(1001)))

    response = submit(body, token)

    assert response.status_code == 400
    assert response.json()["error"] == (
        "Too many listens. You may not submit more than 1000 listens at once."
    )
    assert ListenEvent.objects.count() == 0


def test_1000_listens_in_one_import_are_stored(alice, token):
    body = imported(*(listen(NOW - 2000 + i, f"Track {i}") for i in range(1000)))

    assert submit(body, token).status_code == 200
    assert ListenEvent.objects.filter(user=alice).count() == 1000


def padded_import(size: int) -> bytes:
    """An import of 1000 listens whose JSON is exactly ``size`` bytes."""
    body = imported(*(listen(NOW - 5000 + i, f"Track {i}", note="") for i in range(1000)))
    short = len(json.dumps(body).encode()) - size
    assert short < 0
    for i in range(1000):
        share = -short // (1000 - i)
        body["payload"][i]["track_metadata"]["additional_info"]["note"] = "x" * share
        short += share
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def test_a_body_of_exactly_10240000_bytes_is_accepted_and_one_more_byte_refused(alice, token):
    assert submit(None, token, raw=padded_import(10_240_000)).status_code == 200
    assert ListenEvent.objects.filter(user=alice).count() == 1000

    response = submit(None, token, raw=padded_import(10_240_001))

    # ListenBrainz's answer: 400, not 413.
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "error": "Payload too large. Payload cannot exceed 10240000 bytes",
    }


def test_a_20_mb_body_is_refused_unread_with_listenbrainz_400(alice, token):
    padding = "x" * (20 * 1024 * 1024)
    raw = json.dumps({"listen_type": "import", "payload": [], "padding": padding}).encode()

    response = submit(None, token, raw=raw)

    assert response.status_code == 400
    assert response.json()["error"] == "Payload too large. Payload cannot exceed 10240000 bytes"
    assert ListenEvent.objects.count() == 0


@pytest.mark.parametrize("header", [None, "Token ", "Token not-a-token", "Bearer x"])
def test_submitting_without_a_valid_token_is_a_401(alice, header):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().post(
        "/1/submit-listens", data=json.dumps(SINGLE), content_type="application/json", **headers
    )

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert ListenEvent.objects.count() == 0


def test_a_revoked_token_no_longer_submits_or_validates(alice):
    row, token = create_submission_token(user=alice)
    assert submit(SINGLE, token).status_code == 200
    revoke_submission_token(token=row)

    response = submit(imported(listen(NOW - 10, "After revoking")), token)

    assert response.status_code == 401
    assert rows(alice) == [(NOW - 3600, "Rick Astley", "Never Gonna Give You Up")]
    validated = Client().get("/1/validate-token", {"token": token}).json()
    assert validated["valid"] is False


def test_a_token_submits_for_its_own_user_only_and_reads_only_theirs(alice, bob, token):
    bobs = create_submission_token(user=bob)[1]

    assert submit(imported(listen(NOW - 10, "Bob's")), bobs).status_code == 200
    assert rows(bob) == [(NOW - 10, "Comete", "Bob's")]
    assert rows(alice) == []
    answer = Client().get("/1/user/alice/listens", HTTP_AUTHORIZATION=f"Token {bobs}")
    assert answer.status_code == 404
    assert answer.json()["code"] == 404
    answer = Client().get("/1/user/alice/playing-now", HTTP_AUTHORIZATION=f"Token {bobs}")
    assert answer.status_code == 404
    assert Client().get("/1/user/alice/listens").status_code == 404


@pytest.mark.parametrize("how", ["header", "param"])
def test_validate_token_answers_like_listenbrainz(alice, token, how):
    client = Client()
    if how == "header":
        response = client.get("/1/validate-token", HTTP_AUTHORIZATION=f"Token {token}")
    else:
        response = client.get("/1/validate-token", {"token": token})

    assert response.status_code == 200
    assert response.json() == {
        "code": 200,
        "message": "Token valid.",
        "valid": True,
        "user_name": "alice",
    }
    wrong = client.get("/1/validate-token", {"token": "0" * 40}).json()
    assert wrong == {"code": 200, "message": "Token invalid.", "valid": False}
    assert client.get("/1/validate-token").status_code == 400


def test_listens_read_back_newest_first_with_min_max_and_count(alice, token):
    body = imported(*(listen(NOW - 1000 + 10 * i, f"Track {i}") for i in range(10)))
    assert submit(body, token).status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}

    def titles(**params):
        answer = Client().get("/1/user/alice/listens", params, **auth)
        assert answer.status_code == 200, answer.content
        return [
            item["track_metadata"]["track_name"] for item in answer.json()["payload"]["listens"]
        ]

    assert titles(count=3) == ["Track 9", "Track 8", "Track 7"]
    assert titles(max_ts=NOW - 1000 + 30) == ["Track 2", "Track 1", "Track 0"]
    assert titles(min_ts=NOW - 1000 + 60, count=2) == ["Track 8", "Track 7"]
    assert titles(min_ts=NOW - 1000 + 10, max_ts=NOW - 1000 + 40) == ["Track 3", "Track 2"]
    payload = Client().get("/1/user/alice/listens", **auth).json()["payload"]
    assert payload["count"] == 10
    assert payload["user_id"] == "alice"
    assert payload["latest_listen_ts"] == NOW - 1000 + 90
    first = payload["listens"][0]
    assert first["listened_at"] == NOW - 1000 + 90
    assert first["user_name"] == "alice"
    bad = Client().get("/1/user/alice/listens", {"count": "many"}, **auth)
    assert bad.status_code == 400
    assert bad.json() == {"code": 400, "error": "Invalid count argument: many"}
    for low, high in ((5, 1), (5, 5)):
        bad = Client().get("/1/user/alice/listens", {"min_ts": low, "max_ts": high}, **auth)
        assert bad.status_code == 400
        assert bad.json()["error"] == "max_ts should be greater than min_ts"


def test_past_the_rate_limit_answers_429_with_listenbrainz_headers(alice, token, settings):
    settings.LISTENBRAINZ_API_RATE_LIMIT = 2
    settings.LISTENBRAINZ_API_RATE_WINDOW_SECONDS = 60

    answers = [submit(SINGLE, token) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2]["X-RateLimit-Limit"] == "2"
    assert 1 <= int(answers[2]["X-RateLimit-Reset-In"]) <= 60
    assert answers[2].json()["code"] == 429


def test_wrong_method_and_unknown_path_answer_in_listenbrainz_shape(token):
    wrong = Client().get("/1/submit-listens", HTTP_AUTHORIZATION=f"Token {token}")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == 405
    missing = Client().get("/1/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.json()["code"] == 404


def test_secrets_in_a_submitted_payload_are_scrubbed_as_a_pollers_are(alice, token):
    body = imported(listen(NOW - 5, "Leaky", origin_url="https://x.test/?api_key=hunter2hunter2"))
    body["payload"][0]["track_metadata"]["additional_info"]["token"] = "abcdef123456"

    assert submit(body, token).status_code == 200

    stored = json.dumps(ListenEvent.objects.get().raw_payload)
    assert "hunter2hunter2" not in stored
    assert "abcdef123456" not in stored


@pytest.mark.usefixtures("external_settings")
def test_a_submission_duplicating_a_polled_lastfm_listen_is_marked_duplicate(alice, token):
    import responses

    lastfm = ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="rj"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        FakeLastfm([lastfm_scrobble(NOW - 600, "Shared Play")]).serve(mocked)
        ingest_account(account=lastfm, now=datetime.fromtimestamp(NOW, tz=UTC))
    polled = ListenEvent.objects.get(source=ListenSource.LASTFM)

    # The player reports the same play a few seconds off.
    assert submit(imported(listen(NOW - 598, "Shared Play")), token).status_code == 200

    submitted = ListenEvent.objects.get(source=ListenSource.SUBMITTED)
    assert submitted.duplicate_of_id == polled.pk
    # Read back, the play counts once.
    read = Client().get("/1/user/alice/listens", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert read["payload"]["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_from_two_clients_store_each_listen_once(alice):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")
    tokens = [create_submission_token(user=alice)[1] for _ in range(2)]
    # Overlapping imports: both clients send listens 0..59, each in its own order.
    batches = [
        [imported(*(listen(NOW - 500 + i, f"T{i}") for i in range(start, start + 20)))]
        for start in (0, 20, 40)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def client(token: str, order: list) -> None:
        try:
            barrier.wait()
            for body in order:
                assert submit(body[0], token).status_code == 200
        except BaseException as error:  # handed to the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=client, args=(tokens[0], batches)),
        threading.Thread(target=client, args=(tokens[1], batches[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(rows(alice)) == 60
    assert ExternalAccount.objects.filter(user=alice, source=ListenSource.SUBMITTED).count() == 1
