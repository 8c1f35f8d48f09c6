from __future__ import annotations

import logging
import math
import sys
import time

import pytest
import requests
import responses

from sidetrack.http.deadline import deadline_left, upstream_deadline
from sidetrack.http.errors import (
    AuthError,
    ExternalApiError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from sidetrack.http.options import RetryPolicy
from sidetrack.http.redaction import REDACTED, redact_mapping, redact_url, register_secret
from sidetrack.http.transport import ServiceHttp
from sidetrack.logfilters import RedactSecretsFilter
from tests.http_options import split_options
from tests.scripted_server import Reply, scripted_server

BASE = "https://api.test/v1/"
KEY = "secret-key-4f9a8b7c6d5e"


def make_http(**kwargs) -> ServiceHttp:
    options, rest = split_options(kwargs, "Tests/1.0 ( t@example.org )")
    rest.setdefault("base_url", BASE)
    rest.setdefault("service", "test")
    return ServiceHttp(options=options, **rest)


@responses.activate
def test_success_returns_parsed_json_and_sends_user_agent():
    responses.get(BASE + "things", json={"ok": True})

    result = make_http().get_json("things", {"a": 1, "skip": None})

    assert result.data == {"ok": True}
    request = responses.calls[0].request
    assert request.headers["User-Agent"] == "Tests/1.0 ( t@example.org )"
    assert request.url == BASE + "things?a=1"  # None-valued params are not sent


@pytest.mark.parametrize(
    ("status", "error_type", "retryable"),
    [
        (404, NotFoundError, False),
        (403, AuthError, False),
        (401, AuthError, False),
        (429, RateLimitedError, True),
        (500, UnavailableError, True),
        (503, UnavailableError, True),
        (400, ExternalApiError, False),
    ],
)
@responses.activate
def test_error_statuses_raise_structured_errors(status, error_type, retryable):
    responses.get(BASE + "things", json={"message": "nope"}, status=status)

    with pytest.raises(error_type) as caught:
        make_http().get_json("things")

    error = caught.value
    assert type(error) is error_type
    assert (error.service, error.status, error.retryable) == ("test", status, retryable)
    assert error.message == "nope"
    assert error.url == BASE + "things"


@responses.activate
def test_malformed_json_is_a_retryable_unavailable_error():
    responses.get(BASE + "things", body='{"truncated": ', status=200)

    with pytest.raises(UnavailableError) as caught:
        make_http().get_json("things")

    assert caught.value.retryable
    assert "malformed JSON" in str(caught.value)


def test_proxies_and_ca_bundle_come_from_the_environment_when_the_client_is_made(
    monkeypatch,
):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "lb.internal")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")

    proxied = make_http(base_url="https://api.test/v1/").session
    direct = make_http(base_url="https://lb.internal/1/").session

    assert proxied.proxies["https"] == "http://proxy.internal:3128"
    assert "https" not in direct.proxies
    assert proxied.verify == direct.verify == "/etc/ssl/corporate.pem"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A name cut short upstream in the middle of an emoji's surrogate pair.
        ('{"name": "Song \\ud83c"}', {"name": "Song \ud83c"}),
        ('{"score": NaN}', None),
        ('{"bom": true}'.encode("utf-16"), {"bom": True}),
    ],
    ids=["lone surrogate", "NaN", "UTF-16"],
)
@responses.activate
def test_bodies_the_fast_json_decoder_refuses_are_still_read(body, expected):
    responses.get(BASE + "things", body=body, status=200)

    data = make_http().get_json("things").data

    if expected is None:
        assert math.isnan(data["score"])
    else:
        assert data == expected


@responses.activate
def test_network_error_is_retryable_and_never_shows_the_url_secret():
    responses.get(BASE + "things", body=requests.ConnectionError(f"failed for ?api_key={KEY}"))

    with pytest.raises(UnavailableError) as caught:
        make_http(secrets=[KEY]).get_json("things", {"api_key": KEY})

    error = caught.value
    assert error.retryable
    for text in (str(error), repr(error), error.url or ""):
        assert KEY not in text
    assert "api_key=%5BREDACTED%5D" in error.url or f"api_key={REDACTED}" in error.url


@responses.activate
def test_error_text_and_url_redact_secret_params():
    responses.get(BASE + "things", json={"message": f"bad key {KEY}"}, status=403)

    with pytest.raises(AuthError) as caught:
        make_http(secrets=[KEY]).get_json("things", {"api_key": KEY, "user": "rj"})

    error = caught.value
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert "user=rj" in error.url


def test_redact_helpers():
    url = redact_url(f"https://x.test/?method=m&api_key={KEY}&token=abc123&user=rj")
    assert KEY not in url
    assert "abc123" not in url
    assert "user=rj" in url
    assert "method=m" in url

    payload = redact_mapping({"api_key": KEY, "nested": [{"token": "t0k3n!", "name": "ok"}]})
    assert payload == {"api_key": REDACTED, "nested": [{"token": REDACTED, "name": "ok"}]}


def test_log_filter_scrubs_secrets_from_urllib3_style_records():
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '%s://%s:%s "%s %s %s" %s',
        ("https", "ws.test", 443, "GET", f"/2.0/?api_key={KEY}&user=rj", "HTTP/1.1", 200),
        None,
    )

    assert RedactSecretsFilter().filter(record)

    assert KEY not in record.getMessage()
    assert "user=rj" in record.getMessage()


def test_body_level_transient_error_is_retried_under_the_policy():
    sleeps: list[float] = []
    answers = iter([{"error": 8}, {"error": 8}, {"error": 8}, {"fine": 1}])

    def check_body(data, response):
        if "error" in data:
            raise UnavailableError("operation failed", service="test", code=8, retryable=True)

    with responses.RequestsMock() as mock:
        mock.add_callback(
            responses.GET, BASE + "x", callback=lambda r: (200, {}, _json(next(answers)))
        )
        http = make_http(retry=RetryPolicy(total=3, backoff_factor=0.5), sleep=sleeps.append)
        result = http.get_json("x", check_body=check_body)
        assert len(mock.calls) == 4

    assert result.data == {"fine": 1}
    # urllib3's schedule: the first retry is immediate, then factor * 2 ** (n - 1).
    assert sleeps == [1.0, 2.0]


def test_body_level_error_gives_up_after_the_policy_total():
    def check_body(data, response):
        raise UnavailableError("operation failed", service="test", code=8, retryable=True)

    with responses.RequestsMock() as mock:
        mock.get(BASE + "x", json={"error": 8})
        http = make_http(retry=RetryPolicy(total=2, backoff_factor=0), sleep=lambda s: None)
        with pytest.raises(UnavailableError):
            http.get_json("x", check_body=check_body)
        assert len(mock.calls) == 3


def test_permanent_body_error_is_not_retried():
    def check_body(data, response):
        raise NotFoundError("no such user", service="test", code=6)

    with responses.RequestsMock() as mock:
        mock.get(BASE + "x", json={"error": 6})
        http = make_http(retry=RetryPolicy(total=3, backoff_factor=0), sleep=lambda s: None)
        with pytest.raises(NotFoundError):
            http.get_json("x", check_body=check_body)
        assert len(mock.calls) == 1


def test_5xx_is_retried_with_backoff_over_real_http():
    replies = [Reply(500), Reply(502), Reply(200, b'{"ok": true}')]
    with scripted_server(replies) as server:
        http = make_http(base_url=server.base_url, retry=RetryPolicy(total=3, backoff_factor=0.05))
        result = http.get_json("things")

    assert result.data == {"ok": True}
    assert len(server.requests) == 3


def test_503_retry_after_is_honoured_over_real_http():
    replies = [Reply(503, b"{}", {"Retry-After": "1"}), Reply(200, b'{"ok": true}')]
    with scripted_server(replies) as server:
        http = make_http(base_url=server.base_url, retry=RetryPolicy(total=2, backoff_factor=0))
        result = http.get_json("things")

    assert result.data == {"ok": True}
    (first, *_), (second, *_) = server.requests
    assert second - first >= 0.95


def test_429_with_listenbrainz_reset_in_header_waits_before_retrying():
    replies = [Reply(429, b"{}", {"X-RateLimit-Reset-In": "1"}), Reply(200, b"[]")]
    with scripted_server(replies) as server:
        http = make_http(base_url=server.base_url, retry=RetryPolicy(total=2, backoff_factor=0))
        http.get_json("things")

    (first, *_), (second, *_) = server.requests
    assert second - first >= 0.95


def test_persistent_5xx_ends_in_a_retryable_error_after_the_policy_total():
    with scripted_server([Reply(503, b'{"error": "busy"}')]) as server:
        http = make_http(base_url=server.base_url, retry=RetryPolicy(total=2, backoff_factor=0))
        with pytest.raises(UnavailableError) as caught:
            http.get_json("things")

    assert caught.value.status == 503
    assert caught.value.retryable
    assert len(server.requests) == 3


def test_timeout_is_applied_and_becomes_a_retryable_error():
    with scripted_server([Reply(200)]) as server:
        server_url = server.base_url
    # The server is gone: connection refused surfaces as UnavailableError, quickly.
    http = make_http(base_url=server_url, timeout=(0.5, 0.5))
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        http.get_json("things")
    assert caught.value.retryable
    assert time.monotonic() - started < 5


def test_rate_limit_headers_make_the_next_request_wait():
    sleeps: list[float] = []
    now = [1000.0]
    with responses.RequestsMock() as mock:
        mock.get(
            BASE + "x",
            json={},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "7"},
        )
        http = make_http(sleep=sleeps.append, clock=lambda: now[0])
        http.get_json("x")
        assert sleeps == []
        http.get_json("x")

    assert sleeps == [7.0]


def test_every_attempt_including_retries_asks_the_rate_limiter():
    class CountingLimiter:
        calls = 0

        def acquire(self) -> None:
            self.calls += 1

    limiter = CountingLimiter()
    with scripted_server([Reply(503), Reply(200)]) as server:
        http = make_http(
            base_url=server.base_url,
            retry=RetryPolicy(total=2, backoff_factor=0),
            rate_limiter=limiter,
        )
        http.get_json("things")

    assert len(server.requests) == 2
    assert limiter.calls == 2


def _json(data) -> str:
    import json

    return json.dumps(data)


def test_errors_survive_pickling_across_worker_processes():
    import pickle

    error = RateLimitedError("slow down", service="lastfm", status=429, code=29, retryable=True)

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is RateLimitedError
    assert (copy.service, copy.status, copy.code, copy.retryable) == ("lastfm", 429, 29, True)
    assert str(copy) == str(error)


@responses.activate
def test_a_wait_longer_than_the_cap_surfaces_instead_of_blocking():
    sleeps: list[float] = []
    responses.get(
        BASE + "x", json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "3600"}
    )
    http = make_http(sleep=sleeps.append)
    http.get_json("x")

    with pytest.raises(RateLimitedError) as caught:
        http.get_json("x")

    assert caught.value.retryable
    assert caught.value.retry_after > 3000
    assert sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_empty_success_body_is_malformed():
    responses.get(BASE + "x", body="", status=200)

    with pytest.raises(UnavailableError, match="malformed"):
        make_http().get_json("x")


def _connect(api_key: str) -> None:
    raise RuntimeError(f"GET https://ws.test/2.0/?api_key={api_key}&token=abc123 failed")


def test_log_filter_redacts_values_but_never_rewrites_traceback_source_lines():
    register_secret(KEY)
    source = 'api_key=require_setting("LASTFM_API_KEY")'
    # django-q logs a failed task's traceback inside the message.
    message = (
        "Failed [ingest] - Traceback (most recent call last):\n"
        '  File "/srv/sidetrack/listens/providers.py", line 17, in lastfm_client\n'
        f"    {source},\n"
        "ImproperlyConfigured: token=abc123 api_key=x1y2z3"
    )
    try:
        _connect(api_key=KEY)
    except RuntimeError:
        record = logging.LogRecord(
            "django_q", logging.ERROR, __file__, 1, message, None, sys.exc_info()
        )

    assert RedactSecretsFilter().filter(record)
    text = logging.Formatter().format(record)

    assert f"    {source}," in text  # code, as written
    assert "ImproperlyConfigured: token=[REDACTED] api_key=[REDACTED]" in text
    # The exception's own traceback: source lines kept, the message's values redacted.
    assert "    _connect(api_key=KEY)" in text
    assert 'raise RuntimeError(f"GET https://ws.test/2.0/?api_key={api_key}&token' in text
    assert f"?api_key={REDACTED}&token={REDACTED} failed" in text
    assert KEY not in text
    assert "x1y2z3" not in text


def test_each_retry_is_announced_in_one_line_before_the_wait(caplog):
    # Offline: nothing listens on this port, so every attempt is refused.
    from tests.e2e.web import free_port

    http = make_http(
        service="musicbrainz",
        base_url=f"http://127.0.0.1:{free_port()}/ws/2/",
        retry=RetryPolicy(total=2, backoff_factor=0),
    )
    with caplog.at_level(logging.WARNING), pytest.raises(UnavailableError):
        http.get_json("release-group")

    announced = [r.getMessage() for r in caplog.records if r.name == "sidetrack.http"]
    assert announced == [
        "musicbrainz: [Errno 111] Connection refused; retrying in 0 s (retry 1 of 2)",
        "musicbrainz: [Errno 111] Connection refused; retrying in 0 s (retry 2 of 2)",
    ]


def test_a_5xx_retry_names_the_status_and_the_wait(caplog):
    replies = [Reply(503, b"{}", {"Retry-After": "1"}), Reply(200, b'{"ok": true}')]
    with scripted_server(replies) as server, caplog.at_level(logging.WARNING):
        http = make_http(base_url=server.base_url, retry=RetryPolicy(total=2, backoff_factor=0))
        http.get_json("things")

    assert [r.getMessage() for r in caplog.records if r.name == "sidetrack.http"] == [
        "test: HTTP 503; retrying in 1 s (retry 1 of 2)"
    ]


@responses.activate
def test_past_the_deadline_nothing_is_sent_and_the_error_is_retryable():
    answered = responses.get(BASE + "thing", json={})
    http = make_http()

    with upstream_deadline(0.001):
        time.sleep(0.01)
        with pytest.raises(UnavailableError) as raised:
            http.get_json("thing")

    assert answered.call_count == 0
    assert raised.value.retryable
    assert "deadline" in str(raised.value)
    http.get_json("thing")  # outside the deadline, calls go out again
    assert answered.call_count == 1


def test_under_a_deadline_timeouts_shrink_to_the_time_left():
    http = make_http(timeout=(5.0, 30.0))
    with upstream_deadline(2):
        connect, read = http._timeout(BASE)
    assert 1.5 < connect <= 2
    assert 1.5 < read <= 2
    assert http._timeout(BASE) == (5.0, 30.0)


def test_nested_deadlines_keep_the_sooner_one():
    with upstream_deadline(1), upstream_deadline(60):
        assert deadline_left() <= 1
    assert deadline_left() is None
