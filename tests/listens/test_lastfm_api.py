"""The Last.fm-compatible /2.0/ endpoint through Django's test client: every method in XML
and JSON, Last.fm's error codes, the three ways to a session key, api_sig, and that
scrobbles take the /1/ API's store path."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest
from django.test import Client

from accounts.models import ExternalAccount, ListenSource, ScrobbleAuthRequest, ScrobbleSession
from accounts.scrobble_auth import (
    create_scrobble_api_key,
    create_scrobble_session,
    request_signature,
    revoke_scrobble_api_key,
    revoke_scrobble_session,
)
from accounts.submission_tokens import create_submission_token
from listens.ingest.run import ingest_account
from listens.models import ListenEvent
from tests.listens.test_ingest import FakeLastfm, lastfm_scrobble

pytestmark = pytest.mark.django_db

NOW = int(time.time())
BUILT_IN_KEY = "0123456789abcdef0123456789abcdef"  # a player's own Last.fm key
RECORDING_MBID = "2cfad207-3f55-4aec-8120-86cf66e34d59"


@pytest.fixture(autouse=True)
def _roomy_rate_limit(settings):
    settings.LISTENBRAINZ_API_RATE_LIMIT = 1000


@pytest.fixture
def sk(alice) -> str:
    return create_scrobble_session(user=alice, name="test player")[1]


def call(params: dict, *, get: bool = False) -> object:
    client = Client()
    return client.get("/2.0/", params) if get else client.post("/2.0/", params)


def xml(response) -> ElementTree.Element:
    assert response["Content-Type"].startswith("text/xml"), response.content
    return ElementTree.fromstring(response.content)


def error_of(response) -> tuple[int, str]:
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        return body["error"], body["message"]
    root = xml(response)
    assert root.get("status") == "failed"
    error = root.find("error")
    return int(error.get("code")), error.text


def scrobble_params(sk: str, *tracks: tuple[str, str, int], **extra: str) -> dict:
    params = {"method": "track.scrobble", "api_key": BUILT_IN_KEY, "sk": sk, **extra}
    for index, (artist, track, ts) in enumerate(tracks):
        params |= {f"artist[{index}]": artist, f"track[{index}]": track}
        params[f"timestamp[{index}]"] = str(ts)
    return params


def stored(alice) -> list[tuple[int, str, str, str]]:
    return sorted(
        (int(e.listened_at.timestamp()), e.artist_name, e.track_name, e.album_name)
        for e in ListenEvent.objects.filter(user=alice)
    )


# --- track.scrobble ----------------------------------------------------------------


def test_a_batch_scrobble_is_stored_on_the_submitted_account_and_answered_in_xml(alice, sk):
    params = scrobble_params(
        sk, ("Rick Astley", "Never Gonna Give You Up", NOW - 600), ("Comete", "Orbit", NOW - 300)
    )
    params |= {
        "album[0]": "Whenever You Need Somebody",
        "albumArtist[0]": "Rick Astley",
        "duration[0]": "213",
        "trackNumber[0]": "1",
        "mbid[0]": RECORDING_MBID,
    }
    response = call(params)

    assert response.status_code == 200
    root = xml(response)
    assert root.get("status") == "ok"
    scrobbles = root.find("scrobbles")
    assert (scrobbles.get("accepted"), scrobbles.get("ignored")) == ("2", "0")
    first = scrobbles.findall("scrobble")[0]
    assert first.find("track").text == "Never Gonna Give You Up"
    assert first.find("track").get("corrected") == "0"
    assert first.find("album").text == "Whenever You Need Somebody"
    assert first.find("timestamp").text == str(NOW - 600)
    assert first.find("ignoredMessage").get("code") == "0"
    assert stored(alice) == [
        (NOW - 600, "Rick Astley", "Never Gonna Give You Up", "Whenever You Need Somebody"),
        (NOW - 300, "Comete", "Orbit", ""),
    ]
    event = ListenEvent.objects.get(track_name="Never Gonna Give You Up")
    assert event.source == ListenSource.SUBMITTED
    # The client's MBID is a hint for the resolver, as on /1/.
    assert str(event.recording.hint_mbid) == RECORDING_MBID
    info = event.raw_payload["track_metadata"]["additional_info"]
    assert info["duration"] == 213
    assert info["tracknumber"] == 1
    assert info["submission_client"] == "test player"
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset-In"):
        assert header in response


def test_json_answer_has_lastfms_shape_one_scrobble_as_an_object(alice, sk):
    response = call(scrobble_params(sk, ("Comete", "Orbit", NOW - 60), format="json"))

    assert response.status_code == 200
    body = response.json()
    assert body["scrobbles"]["@attr"] == {"accepted": 1, "ignored": 0}
    item = body["scrobbles"]["scrobble"]
    assert item["artist"] == {"corrected": "0", "#text": "Comete"}
    assert item["timestamp"] == str(NOW - 60)
    assert item["ignoredMessage"] == {"code": "0", "#text": ""}

    two = call(
        scrobble_params(sk, ("A", "1", NOW - 50), ("B", "2", NOW - 40), format="json")
    ).json()
    assert [s["track"]["#text"] for s in two["scrobbles"]["scrobble"]] == ["1", "2"]


def test_ignored_scrobbles_are_counted_with_their_reasons_and_not_stored(alice, sk):
    params = scrobble_params(
        sk,
        ("Fine", "Kept", NOW - 100),
        ("", "No Artist", NOW - 90),
        ("No Title", "  ", NOW - 80),
        ("Old", "Before Last.fm", 1_000_000_000),
        ("Clock", "Ahead", NOW + 86_400),
    )
    body = call({**params, "format": "json"}).json()

    assert body["scrobbles"]["@attr"] == {"accepted": 1, "ignored": 4}
    codes = [
        (s["ignoredMessage"]["code"], s["ignoredMessage"]["#text"])
        for s in body["scrobbles"]["scrobble"]
    ]
    assert codes == [
        ("0", ""),
        ("1", "Artist was ignored"),
        ("2", "Track was ignored"),
        ("3", "Timestamp was too old"),
        ("4", "Timestamp was too new"),
    ]
    assert stored(alice) == [(NOW - 100, "Fine", "Kept", "")]


def test_rescrobbling_is_accepted_and_stores_nothing_twice(alice, sk):
    params = scrobble_params(sk, ("A", "One", NOW - 100), ("A", "Two", NOW - 50))
    assert xml(call(params)).find("scrobbles").get("accepted") == "2"
    again = xml(call(params)).find("scrobbles")

    assert again.get("accepted") == "2"  # Last.fm accepts a resubmission too
    assert len(stored(alice)) == 2
    assert ExternalAccount.objects.filter(user=alice, source=ListenSource.SUBMITTED).count() == 1


def test_the_same_play_through_1_and_2_0_is_one_listen(alice, sk):
    token = create_submission_token(user=alice)[1]
    body = {
        "listen_type": "single",
        "payload": [
            {"listened_at": NOW - 70, "track_metadata": {"artist_name": "A", "track_name": "T"}}
        ],
    }
    Client().post(
        "/1/submit-listens",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    call(scrobble_params(sk, ("A", "T", NOW - 70)))

    assert stored(alice) == [(NOW - 70, "A", "T", "")]


@pytest.mark.usefixtures("external_settings")
def test_a_scrobble_duplicating_a_polled_lastfm_listen_is_marked_duplicate(alice, sk):
    import responses

    lastfm = ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="rj"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        FakeLastfm([lastfm_scrobble(NOW - 600, "Shared Play")]).serve(mocked)
        ingest_account(account=lastfm, now=datetime.fromtimestamp(NOW, tz=UTC))
    polled = ListenEvent.objects.get(source=ListenSource.LASTFM)
    artist = polled.artist_name

    call(scrobble_params(sk, (artist, "Shared Play", NOW - 598)))

    scrobbled = ListenEvent.objects.get(source=ListenSource.SUBMITTED)
    assert scrobbled.duplicate_of_id == polled.pk


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"artist[0]": "A", "track[0]": "T"}, "timestamp[0]"),
        ({"artist[0]": "A", "track[0]": "T", "timestamp[0]": "yesterday"}, "timestamp[0]"),
        ({"track[0]": "T", "timestamp[0]": str(NOW)}, "artist[0]"),
        ({"artist[50]": "A", "track[50]": "T", "timestamp[50]": str(NOW)}, "at most 50"),
        ({}, "artist[0], track[0] and timestamp[0] are required"),
    ],
)
def test_malformed_batches_are_refused_with_error_6_naming_the_field(alice, sk, params, message):
    response = call({"method": "track.scrobble", "api_key": BUILT_IN_KEY, "sk": sk, **params})

    assert response.status_code == 400
    code, text = error_of(response)
    assert code == 6
    assert message in text
    assert ListenEvent.objects.count() == 0


def test_a_batch_of_50_is_stored_and_51_is_refused(alice, sk):
    fifty = scrobble_params(sk, *((f"A{i}", f"T{i}", NOW - 1000 + i) for i in range(50)))
    assert xml(call(fifty)).find("scrobbles").get("accepted") == "50"
    assert len(stored(alice)) == 50

    fifty_one = scrobble_params(sk, *((f"B{i}", f"T{i}", NOW - 2000 + i) for i in range(51)))
    assert error_of(call(fifty_one))[0] == 6
    assert len(stored(alice)) == 50


def test_a_single_unindexed_scrobble_is_accepted(alice, sk):
    params = {"method": "track.scrobble", "api_key": BUILT_IN_KEY, "sk": sk}
    params |= {"artist": "Solo", "track": "Plain", "timestamp": str(NOW - 30)}
    assert xml(call(params)).find("scrobbles").get("accepted") == "1"
    assert stored(alice) == [(NOW - 30, "Solo", "Plain", "")]


# --- track.updateNowPlaying ---------------------------------------------------------


def test_update_now_playing_is_shown_as_now_playing_and_never_stored(alice, sk):
    params = {"method": "track.updateNowPlaying", "api_key": BUILT_IN_KEY, "sk": sk}
    params |= {"artist": "Rick Astley", "track": "Never Gonna Give You Up", "album": "Whenever"}
    params["duration"] = "213"
    response = call(params)

    assert response.status_code == 200
    root = xml(response)
    assert root.get("status") == "ok"
    assert root.find("nowplaying/track").text == "Never Gonna Give You Up"
    assert root.find("nowplaying/ignoredMessage").get("code") == "0"
    assert ListenEvent.objects.count() == 0
    mine = Client()
    mine.force_login(alice)
    playing = [item for item in mine.get("/api/now-playing/").json() if item["now_playing"]]
    assert [(p["now_playing"]["track_name"], p["now_playing"]["album_name"]) for p in playing] == [
        ("Never Gonna Give You Up", "Whenever")
    ]

    as_json = call({**params, "format": "json"}).json()
    assert as_json["nowplaying"]["artist"] == {"corrected": "0", "#text": "Rick Astley"}


def test_update_now_playing_needs_post_artist_and_track(sk):
    base = {"method": "track.updateNowPlaying", "api_key": BUILT_IN_KEY, "sk": sk}
    assert error_of(call({**base, "track": "T"}))[0] == 6
    assert error_of(call({**base, "artist": "A", "track": "T"}, get=True))[0] == 6


# --- sessions, keys and signatures --------------------------------------------------


@pytest.mark.parametrize("method", ["track.scrobble", "track.updateNowPlaying"])
def test_a_missing_wrong_or_revoked_session_key_is_error_9(alice, method):
    row, key = create_scrobble_session(user=alice)
    base = {"method": method, "api_key": BUILT_IN_KEY, "artist": "A", "track": "T"}
    base["timestamp"] = str(NOW)
    assert error_of(call(base)) == (9, "Invalid session key - Please re-authenticate.")
    assert error_of(call({**base, "sk": "0" * 32}))[0] == 9
    revoke_scrobble_session(session=row)
    response = call({**base, "sk": key})
    assert response.status_code == 403
    assert error_of(response)[0] == 9
    assert ListenEvent.objects.count() == 0


def test_session_keys_are_stored_as_digests_and_record_their_use(alice):
    row, key = create_scrobble_session(user=alice)
    assert key not in (row.digest, row.prefix)
    assert not ScrobbleSession.objects.filter(digest=key).exists()

    call(scrobble_params(key, ("A", "T", NOW - 10)))

    row.refresh_from_db()
    assert row.last_used_at is not None


def test_a_missing_api_key_is_error_10(sk):
    params = scrobble_params(sk, ("A", "T", NOW))
    del params["api_key"]
    assert error_of(call(params))[0] == 10


def test_an_issued_api_key_requires_a_valid_signature(alice, sk):
    issued = create_scrobble_api_key(name="Signed Player")
    params = {**scrobble_params(sk, ("A", "Signed", NOW - 5)), "api_key": issued.key}

    assert error_of(call(params))[0] == 13  # unsigned
    assert error_of(call({**params, "api_sig": "f" * 32}))[0] == 13  # wrong
    assert ListenEvent.objects.count() == 0

    # format is left out of the signature, as on Last.fm
    signed = {**params, "api_sig": request_signature(params, issued.secret), "format": "json"}
    assert call(signed).json()["scrobbles"]["@attr"]["accepted"] == 1
    assert stored(alice) == [(NOW - 5, "A", "Signed", "")]

    revoke_scrobble_api_key(api_key=issued)
    assert error_of(call(signed))[0] == 26


def test_a_session_made_through_an_issued_key_works_only_with_that_key(alice):
    issued = create_scrobble_api_key(name="Signed Player")
    _, key = create_scrobble_session(user=alice, api_key=issued)
    params = scrobble_params(key, ("A", "T", NOW - 5))

    # Without the key (and its signature) the session key alone is refused.
    assert error_of(call(params))[0] == 9
    params["api_key"] = issued.key
    params["api_sig"] = request_signature(params, issued.secret)
    assert xml(call(params)).find("scrobbles").get("accepted") == "1"


# --- auth.getMobileSession ----------------------------------------------------------


def test_mobile_session_takes_a_submission_token_as_password(alice):
    token = create_submission_token(user=alice, name="phone")[1]
    params = {"method": "auth.getMobileSession", "api_key": BUILT_IN_KEY}
    response = call({**params, "username": "Alice", "password": token})

    assert response.status_code == 200
    session = xml(response).find("session")
    assert session.find("name").text == "alice"
    key = session.find("key").text
    assert len(key) == 32
    assert xml(call(scrobble_params(key, ("A", "T", NOW - 5)))).get("status") == "ok"
    assert stored(alice) == [(NOW - 5, "A", "T", "")]

    as_json = call({**params, "username": "alice", "password": token, "format": "json"}).json()
    assert as_json["session"]["name"] == "alice"
    assert as_json["session"]["subscriber"] == 0


def test_mobile_session_refuses_a_wrong_password_or_another_users_token(alice, bob):
    token = create_submission_token(user=alice)[1]
    params = {"method": "auth.getMobileSession", "api_key": BUILT_IN_KEY}

    assert error_of(call({**params, "username": "alice", "password": "guess"}))[0] == 4
    assert error_of(call({**params, "username": "bob", "password": token}))[0] == 4
    assert error_of(call({**params, "username": "alice"}))[0] == 6
    assert ScrobbleSession.objects.count() == 0


def test_mobile_session_authtoken_form_is_refused_pointing_to_the_other_ways(alice):
    params = {"method": "auth.getMobileSession", "api_key": BUILT_IN_KEY, "username": "alice"}
    code, message = error_of(call({**params, "authToken": "0" * 32}))

    assert code == 4
    assert "authToken" in message
    assert "submission token" in message
    assert "auth.getToken" in message
    assert ScrobbleSession.objects.count() == 0


def test_mobile_session_must_be_posted(alice):
    token = create_submission_token(user=alice)[1]
    params = {"method": "auth.getMobileSession", "api_key": BUILT_IN_KEY}
    response = call({**params, "username": "alice", "password": token}, get=True)
    assert error_of(response)[0] == 6
    assert ScrobbleSession.objects.count() == 0


# --- the desktop/web flow ----------------------------------------------------------


def get_token(api_key: str = BUILT_IN_KEY) -> str:
    return xml(call({"method": "auth.getToken", "api_key": api_key}, get=True)).find("token").text


def approval_page(user, token: str, api_key: str = BUILT_IN_KEY) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def decide(browser: Client, token: str, decision: str, api_key: str = BUILT_IN_KEY):
    page = browser.get("/auth/lastfm/", {"api_key": api_key, "token": token})
    assert page.status_code == 200
    csrf = page.cookies["csrftoken"].value
    return browser.post(
        "/auth/lastfm/",
        {"api_key": api_key, "token": token, "decision": decision, "csrfmiddlewaretoken": csrf},
    )


def test_web_flow_token_approved_by_the_user_becomes_a_session_once(alice):
    token = get_token()
    session_params = {"method": "auth.getSession", "api_key": BUILT_IN_KEY, "token": token}
    assert error_of(call(session_params, get=True))[0] == 14  # not approved yet

    browser = approval_page(alice, token)
    page = browser.get("/auth/lastfm/", {"api_key": BUILT_IN_KEY, "token": token})
    assert b"Allow a scrobbler?" in page.content
    assert BUILT_IN_KEY.encode() in page.content
    done = decide(browser, token, "approve")
    assert b"Allowed" in done.content

    response = call(session_params, get=True)
    session = xml(response).find("session")
    assert session.find("name").text == "alice"
    key = session.find("key").text
    assert xml(call(scrobble_params(key, ("A", "T", NOW - 5)))).get("status") == "ok"
    assert stored(alice) == [(NOW - 5, "A", "T", "")]
    # The token is traded once.
    assert error_of(call(session_params, get=True))[0] == 4


def test_web_flow_denied_or_other_key_gives_no_session(alice):
    token = get_token()
    assert b"Denied" in decide(approval_page(alice, token), token, "deny").content
    params = {"method": "auth.getSession", "api_key": BUILT_IN_KEY, "token": token}
    assert error_of(call(params))[0] == 4

    other = get_token()
    decide(approval_page(alice, other), other, "approve")
    wrong_key = {"method": "auth.getSession", "api_key": "f" * 32, "token": other}
    assert error_of(call(wrong_key))[0] == 4
    assert ScrobbleSession.objects.count() == 0


def test_web_flow_token_expires_after_an_hour(alice, time_machine):
    time_machine.move_to(datetime.fromtimestamp(NOW, tz=UTC))
    token = get_token()
    decide(approval_page(alice, token), token, "approve")
    time_machine.move_to(datetime.fromtimestamp(NOW + 3700, tz=UTC))
    params = {"method": "auth.getSession", "api_key": BUILT_IN_KEY, "token": token}
    assert error_of(call(params))[0] == 15


def test_web_flow_with_an_issued_key_is_signed_and_names_the_client(alice):
    issued = create_scrobble_api_key(name="Signed Player")
    unsigned = {"method": "auth.getToken", "api_key": issued.key}
    assert error_of(call(unsigned))[0] == 13
    signed = {**unsigned, "api_sig": request_signature(unsigned, issued.secret)}
    token = xml(call(signed)).find("token").text

    browser = approval_page(alice, token, issued.key)
    page = browser.get("/auth/lastfm/", {"api_key": issued.key, "token": token})
    assert b"Signed Player" in page.content
    decide(browser, token, "approve", issued.key)
    session_params = {"method": "auth.getSession", "api_key": issued.key, "token": token}
    session_params["api_sig"] = request_signature(session_params, issued.secret)
    call(session_params)

    row = ScrobbleSession.objects.get()
    assert (row.user, row.name, row.api_key) == (alice, "Signed Player", issued.key)


def test_approval_page_needs_a_login_and_csrf(alice):
    token = get_token()
    anonymous = Client().get("/auth/lastfm/", {"api_key": BUILT_IN_KEY, "token": token})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/signin/?next=")

    browser = approval_page(alice, token)
    forged = browser.post(
        "/auth/lastfm/", {"api_key": BUILT_IN_KEY, "token": token, "decision": "approve"}
    )
    assert forged.status_code == 403
    params = {"method": "auth.getSession", "api_key": BUILT_IN_KEY, "token": token}
    assert error_of(call(params))[0] == 14


def test_clients_auth_url_redirects_to_the_approval_page():
    response = Client().get("/api/auth/", {"api_key": BUILT_IN_KEY, "token": "abc"})
    assert response.status_code == 302
    assert response["Location"] == f"/auth/lastfm/?api_key={BUILT_IN_KEY}&token=abc"


def test_sign_in_page_signs_a_member_in_and_returns_to_the_approval_page(alice):
    token = get_token()
    browser = Client()
    nxt = f"/auth/lastfm/?api_key={BUILT_IN_KEY}&token={token}"
    assert browser.get("/signin/", {"next": nxt}).status_code == 200
    response = browser.post(
        "/signin/", {"username": "alice", "password": "alice-password-1", "next": nxt}
    )
    assert response.status_code == 302
    assert response["Location"] == nxt
    assert b"Allow a scrobbler?" in browser.get(nxt).content


def test_an_unknown_request_token_shows_a_404_page(alice):
    browser = Client()
    browser.force_login(alice)
    response = browser.get("/auth/lastfm/", {"api_key": BUILT_IN_KEY, "token": "nope"})
    assert response.status_code == 404
    assert b"Unknown request" in response.content


# --- protocol errors --------------------------------------------------------------------


def test_unknown_method_format_and_http_method_get_lastfms_errors(sk):
    assert error_of(call({"method": "user.getInfo", "api_key": BUILT_IN_KEY})) == (
        3,
        "Invalid Method - No method with that name in this package: Sidetrack answers "
        "auth.getToken, auth.getSession, auth.getMobileSession, track.updateNowPlaying, "
        "track.scrobble.",
    )
    wrong_format = call({"method": "auth.getToken", "api_key": BUILT_IN_KEY, "format": "yaml"})
    assert error_of(wrong_format)[0] == 5
    put = Client().put("/2.0/")
    assert put.status_code == 405
    assert error_of(put)[0] == 3
    token = call({"method": "auth.getToken", "api_key": BUILT_IN_KEY, "format": "json"})
    assert len(token.json()["token"]) == 32


def test_json_errors_have_lastfms_shape(sk):
    response = call({"method": "track.scrobble", "api_key": BUILT_IN_KEY, "format": "json"})
    assert response.status_code == 403
    assert response.json() == {
        "error": 9,
        "message": "Invalid session key - Please re-authenticate.",
    }


def test_past_the_rate_limit_answers_error_29_with_ratelimit_headers(settings, sk):
    settings.LISTENBRAINZ_API_RATE_LIMIT = 2
    settings.LISTENBRAINZ_API_RATE_WINDOW_SECONDS = 60
    # Counted per client address (no token header): an address of this test only.
    client = Client(REMOTE_ADDR=f"10.{NOW % 250}.{uuid.uuid4().int % 250}.7")
    params = {"method": "auth.getToken", "api_key": BUILT_IN_KEY, "format": "json"}
    first = client.post("/2.0/", params)
    assert first["X-RateLimit-Limit"] == "2"
    assert first["X-RateLimit-Remaining"] == "1"
    client.post("/2.0/", params)
    third = client.post("/2.0/", params)

    assert third.status_code == 429
    assert third.json()["error"] == 29
    assert third["X-RateLimit-Remaining"] == "0"
    assert int(third["X-RateLimit-Reset-In"]) >= 1
    as_xml = client.post("/2.0/", {k: v for k, v in params.items() if k != "format"})
    assert error_of(as_xml)[0] == 29
    assert ScrobbleAuthRequest.objects.count() == 2  # the refused calls did nothing


def test_no_trailing_slash_is_served_too(sk):
    response = Client().post("/2.0", {"method": "auth.getToken", "api_key": BUILT_IN_KEY})
    assert xml(response).find("token") is not None
