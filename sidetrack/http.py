"""The one HTTP layer every external API client uses.

A client gets a :class:`ServiceHttp`: a ``requests.Session`` with its service's
User-Agent, connect/read timeouts and an urllib3 ``Retry`` policy (exponential
backoff for network errors and 5xx, ``Retry-After`` honoured on 429/503), an
optional shared rate limiter, and one error type, :class:`ExternalApiError`.

Nothing here touches Django settings or models: clients receive what they need
from their factories, which keeps them testable with plain values.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

# Query parameters and headers whose values are secrets wherever they appear.
SECRET_PARAM_NAMES = frozenset(
    {"api_key", "api_sig", "sk", "token", "session_key", "password", "secret", "authorization"}
)
REDACTED = "[REDACTED]"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Every call most clients make is a read, including the mapper's POST lookups.
DEFAULT_RETRY_METHODS = frozenset({"GET", "POST"})
# Longest server-requested wait we sit through inside one call; longer ones surface
# as a retryable error so the caller can stop and resume later instead of blocking.
RETRY_AFTER_MAX_SECONDS = 120.0


class ExternalApiError(Exception):
    """A call to an external API failed.

    ``retryable`` tells callers whether trying again later can succeed
    (network trouble, 5xx, rate limiting, transient Last.fm codes) or not
    (unknown user, private profile, invalid key).
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int | None = None,
        code: int | str | None = None,
        url: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.code = code
        self.url = redact_url(url) if url else None
        self.retryable = retryable
        self.retry_after = retry_after
        self.message = redact_text(message)
        super().__init__(self.message)

    def __reduce__(self) -> tuple:
        # Keyword-only arguments defeat Exception's default pickling, and errors
        # cross process boundaries in django-q2.
        return (_rebuild_error, (type(self), self.message, dict(self.__dict__)))

    def __str__(self) -> str:
        parts = [f"{self.service}: {self.message}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.url:
            parts.append(self.url)
        return " | ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(service={self.service!r}, status={self.status!r}, "
            f"code={self.code!r}, retryable={self.retryable!r}, message={self.message!r})"
        )


def _rebuild_error(cls: type[ExternalApiError], message: str, state: dict) -> ExternalApiError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class NotFoundError(ExternalApiError):
    """The thing asked for does not exist (unknown user, unknown MBID)."""


class AuthError(ExternalApiError):
    """Credentials or permissions are wrong (invalid key, private profile)."""


class RateLimitedError(ExternalApiError):
    """The service asked us to slow down, and waiting in-call was not enough."""


class UnavailableError(ExternalApiError):
    """Network failure, 5xx or a malformed answer: worth trying again later."""


# Secret values seen by any client in this process; redacted from any text
# that passes through redact_text, even when they appear outside a query string.
# A tuple replaced whole, never changed in place: ingest's fetching thread reads
# it while another thread may register a new client's key.
_known_secrets: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    global _known_secrets
    # Short values would redact ordinary words; real keys and tokens are long.
    if value and len(value) >= 8 and value not in _known_secrets:
        _known_secrets = (*_known_secrets, value)


def decode_json(content: bytes) -> Any:
    """The JSON value of a body. orjson is strict where the json module is lenient
    (a lone surrogate escape, NaN, UTF-16): the json module gets the bodies orjson
    refuses, so that one odd item does not fail a whole page. (orjson reads an
    integer past 64 bits as a float; no count or timestamp is that large.)"""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def known_secrets() -> tuple[str, ...]:
    return _known_secrets


# A value ends at the next parameter, space, quote or punctuation that follows a value
# in prose ("...&api_key=KEY; retrying"): keys and tokens never contain those.
_SECRET_PAIR_RE = re.compile(
    r"(?i)\b(" + "|".join(sorted(SECRET_PARAM_NAMES)) + r")=([^&\s'\";,)]+)"
)


# A traceback's frame line; the line after it is the frame's source code.
_FRAME_LINE_RE = re.compile(r'^\s*File "[^"]*", line \d+')


def _redact_pairs(text: str) -> str:
    return _SECRET_PAIR_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def _redact_pairs_outside_source(text: str) -> str:
    """``key=value`` pairs are values everywhere but in a traceback's source lines,
    where ``api_key=require_setting("LASTFM_API_KEY")`` is code: left as written."""
    lines = text.split("\n")
    after_frame = False
    for index, line in enumerate(lines):
        if not after_frame and "=" in line:
            lines[index] = _redact_pairs(line)
        after_frame = bool(_FRAME_LINE_RE.match(line))
    return "\n".join(lines)


def redact_text(text: str) -> str:
    """Secret-named parameters' values and every registered secret, replaced.
    Registered secrets are replaced everywhere, source lines included."""
    if "=" in text:  # the pattern needs one; skipping it keeps payload scrubbing cheap
        text = _redact_pairs_outside_source(text) if 'File "' in text else _redact_pairs(text)
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    query = [
        (key, REDACTED if key.lower() in SECRET_PARAM_NAMES else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return redact_text(urlunsplit(parts._replace(query=urlencode(query, safe="[]"))))


def redact_mapping(data: Any) -> Any:
    """Deep copy of a JSON-like value with secret keys' values redacted."""
    if isinstance(data, Mapping):
        return {
            redact_text(str(key)): REDACTED
            if str(key).lower() in SECRET_PARAM_NAMES
            else redact_mapping(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact_mapping(item) for item in data]
    if isinstance(data, str):
        return redact_text(data)
    return data


# --- One deadline for every call a web request makes ---------------------------------

_deadline: ContextVar[float | None] = ContextVar("sidetrack_upstream_deadline", default=None)


class DeadlineExceeded(Exception):
    """Waiting (for a rate-limit slot) would end after the caller's deadline."""


@contextmanager
def upstream_deadline(seconds: float | None) -> Iterator[None]:
    """Calls made inside (on this thread, or in a copied context) end by ``seconds``
    from now: timeouts shrink to the time left, waits that would pass it fail at
    once. Nested deadlines keep the sooner one. ``None`` or 0: no deadline."""
    if not seconds or seconds <= 0:
        yield
        return
    deadline = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline_left() -> float | None:
    """Seconds until the current deadline (negative once passed), None without one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until this process may send one request."""


class ServiceRetry(Retry):
    """urllib3 ``Retry`` that also reads ListenBrainz's ``X-RateLimit-Reset-In``
    as a ``Retry-After`` and asks the shared rate limiter before every retry,
    so retries count against the limit like first attempts do."""

    def __init__(
        self,
        *args: Any,
        before_retry: Callable[[], None] | None = None,
        service: str = "",
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.before_retry = before_retry
        self.service = service

    def new(self, **kw: Any) -> ServiceRetry:
        kw.setdefault("before_retry", self.before_retry)
        kw.setdefault("service", self.service)
        return super().new(**kw)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> ServiceRetry:
        # Raises once retries are used up.
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if isinstance(error, _BodyError):
            return retry  # request_json announces these with the whole error
        if response is not None and response.status:
            reason = f"{self.service}: HTTP {response.status}"
            wait = retry.get_retry_after(response) or retry.get_backoff_time()
        else:
            cause = str(error).rsplit(": ", 1)[-1].strip("')\"") if error else "no answer"
            reason = f"{self.service}: {cause}"
            wait = retry.get_backoff_time()
        _announce_retry(retry, reason, wait)
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        value = response.headers.get("Retry-After")
        # ListenBrainz sends its window's reset on every answer: it means "wait"
        # only when the window is spent, not on a 5xx with requests to spare.
        if value is None and (
            response.status == 429 or response.headers.get("X-RateLimit-Remaining") == "0"
        ):
            value = response.headers.get("X-RateLimit-Reset-In")
        if value is None:
            return None
        try:
            return self.parse_retry_after(value)
        except Exception:  # malformed header: fall back to exponential backoff
            return None

    def sleep(self, response: Any = None) -> None:
        super().sleep(response)
        if self.before_retry is not None:
            self.before_retry()


def _announce_retry(retry: Retry, reason: str, wait: float) -> None:
    """One line before each wait: offline, a command would otherwise sit silent
    through the whole backoff (about 15 s with the defaults)."""
    done = len(retry.history)
    remaining = max(retry.total or 0, 0) if isinstance(retry.total, int) else 0
    logger.warning("%s; retrying in %.0f s (retry %d of %d)", reason, wait, done, done + remaining)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a client tries. Unit tests use ``RetryPolicy.none()``."""

    total: int = 4
    backoff_factor: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = RETRY_AFTER_MAX_SECONDS

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(total=0, backoff_factor=0.0)


@dataclass(frozen=True)
class JsonResponse:
    data: Any
    status: int
    headers: Mapping[str, str]
    url: str


BodyCheck = Callable[[Any, requests.Response], None]


class ServiceHttp:
    """A configured session for one service. Use :meth:`get_json` / :meth:`post_json`."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        user_agent: str,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        retry_methods: frozenset[str] = DEFAULT_RETRY_METHODS,
    ) -> None:
        self.service = service
        self.retry_methods = retry_methods
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.retry_policy = retry or RetryPolicy()
        self.rate_limiter = rate_limiter
        self._sleep = sleep
        self._clock = clock
        self._not_before = 0.0  # set from X-RateLimit-* headers
        for secret in secrets:
            register_secret(secret)

        self.session = requests.Session()
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        adapter = HTTPAdapter(max_retries=self._transport_retry())
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # requests re-reads proxies and the CA bundle from the environment, and looks
        # for a netrc file, on every request (a scan of os.environ each time, a tenth
        # of a Last.fm page's cost in bench/ingest.py): this client reads them once.
        self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.session.verify = bundle
        self.session.trust_env = False

    def _transport_retry(self) -> Retry:
        policy = self.retry_policy
        return ServiceRetry(
            total=policy.total,
            backoff_factor=policy.backoff_factor,
            backoff_max=policy.backoff_max,
            retry_after_max=policy.retry_after_max,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=self.retry_methods,
            respect_retry_after_header=True,
            raise_on_status=False,
            before_retry=self._before_request,
            service=self.service,
        )

    def _before_request(self) -> None:
        wait = self._not_before - self._clock()
        left = deadline_left()
        if left is not None and wait > left:
            raise self._past_deadline()
        if wait > self.retry_policy.retry_after_max:
            raise RateLimitedError(
                f"rate limited for {wait:.0f} s more",
                service=self.service,
                retryable=True,
                retry_after=wait,
            )
        if wait > 0:
            self._sleep(wait)
        if self.rate_limiter is not None:
            try:
                self.rate_limiter.acquire()
            except DeadlineExceeded:
                raise self._past_deadline() from None

    def _past_deadline(self, url: str | None = None) -> UnavailableError:
        return UnavailableError(
            "no time left within this request's deadline for upstream calls",
            service=self.service,
            url=url,
            retryable=True,
        )

    def _timeout(self, url: str) -> tuple[float, float]:
        """The configured timeouts, shortened to what is left of a deadline."""
        left = deadline_left()
        if left is None:
            return self.timeout
        if left <= 0:
            raise self._past_deadline(url)
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    def url_for(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        check_body: BodyCheck | None = None,
    ) -> JsonResponse:
        return self.request_json("GET", path, params=params, check_body=check_body)

    def post_json(
        self,
        path: str,
        payload: Any,
        *,
        params: Mapping[str, Any] | None = None,
        check_body: BodyCheck | None = None,
    ) -> JsonResponse:
        return self.request_json(
            "POST", path, params=params, json_body=payload, check_body=check_body
        )

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        check_body: BodyCheck | None = None,
    ) -> JsonResponse:
        """Send one request and return its parsed JSON body.

        Transport failures and retryable statuses are retried inside urllib3.
        What urllib3 cannot see (a truncated or malformed body, an error
        inside a 200 body) is retried here under the same ``Retry`` policy.
        """
        url = self.url_for(path)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        body_retry: Retry = self._transport_retry()
        while True:
            try:
                return self._attempt(method, url, clean_params, json_body, check_body)
            except ExternalApiError as error:
                if not getattr(error, "_body_level", False) or not error.retryable:
                    raise
                try:
                    body_retry = body_retry.increment(method, url, error=_BodyError(str(error)))
                except Exception:
                    raise error from None
                delay = error.retry_after or body_retry.get_backoff_time()
                left = deadline_left()
                if delay > self.retry_policy.retry_after_max or (left is not None and delay > left):
                    raise  # the caller stops and resumes later instead of blocking
                _announce_retry(body_retry, str(error), delay)
                if delay:
                    self._sleep(delay)

    def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any],
        json_body: Any,
        check_body: BodyCheck | None,
    ) -> JsonResponse:
        self._before_request()
        shown_url = requests.Request(method, url, params=params).prepare().url or url
        timeout = self._timeout(shown_url)
        try:
            response = self.session.request(
                method, url, params=params, json=json_body, timeout=timeout, stream=True
            )
        except requests.RequestException as e:
            # urllib3 has already retried this under the policy.
            raise _unavailable(
                self.service, shown_url, f"network error: {type(e).__name__}", e
            ) from None
        try:
            content = response.content  # a body cut mid-stream fails here
        except requests.RequestException as e:
            error = _unavailable(
                self.service, shown_url, f"response body cut short: {type(e).__name__}", e
            )
            error._body_level = True  # type: ignore[attr-defined]  # urllib3 never saw it
            raise error from None
        finally:
            response.close()
        self._note_rate_limit_headers(response)

        try:
            # An empty body is a broken answer, except where HTTP says there is none.
            data = decode_json(content) if content or response.status_code != 204 else None
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            data = _NOT_JSON

        if check_body is not None and data is not _NOT_JSON:
            try:
                check_body(data, response)
            except ExternalApiError as error:
                # urllib3 already retried statuses in RETRY_STATUSES; don't retry twice.
                error._body_level = response.status_code not in RETRY_STATUSES  # type: ignore[attr-defined]
                raise

        if response.status_code >= 400:
            raise error_for_status(self.service, response, shown_url, data)

        if data is _NOT_JSON:
            error = UnavailableError(
                f"malformed JSON in a {len(content)}-byte response",
                service=self.service,
                status=response.status_code,
                url=shown_url,
                retryable=True,
            )
            error._body_level = True  # type: ignore[attr-defined]
            raise error
        return JsonResponse(
            data=data, status=response.status_code, headers=response.headers, url=shown_url
        )

    def _note_rate_limit_headers(self, response: requests.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset_in = response.headers.get("X-RateLimit-Reset-In")
        if remaining is None or reset_in is None:
            return
        try:
            if int(remaining) <= 0:
                self._not_before = self._clock() + float(reset_in)
        except ValueError:
            logger.debug("ignoring unparsable rate-limit headers from %s", self.service)

    def close(self) -> None:
        self.session.close()


_NOT_JSON = object()


class SharedRateLimiter:
    """At most ``rate`` requests per second across every process sharing ``cache``.

    Time is cut into slots of ``1 / rate`` seconds; a request claims the first
    free slot starting now or later with the cache's atomic ``add`` (a unique
    row in the database cache, SET NX in Redis) and sleeps until that slot
    begins. Workers on several hosts therefore share one budget.
    """

    def __init__(
        self,
        cache: Any,
        *,
        key: str,
        rate: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.key = key
        self.rate = rate
        self._sleep = sleep
        self._clock = clock

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        interval = 1.0 / self.rate
        # Claimed slots are only ever ahead of now, so a short expiry is safe.
        expiry = max(60, math.ceil(interval * 10))
        # A grant that arrives after its slot began (a slow cache round trip) would
        # crowd the next slot's holder: give that slot up and take a later one.
        lateness_allowed = min(0.01, interval / 10)
        slot = math.ceil(self._clock() / interval)
        left = deadline_left()
        while True:
            while not self.cache.add(f"{self.key}:{slot}", 1, timeout=expiry):
                slot += 1
            wait = slot * interval - self._clock()
            if left is not None and wait > left:
                # The slot is given up unused: a caller past its deadline must not sleep.
                raise DeadlineExceeded(f"next free slot in {wait:.1f} s")
            if wait >= -lateness_allowed:
                break
            slot = max(slot + 1, math.ceil(self._clock() / interval))
        if wait > 0:
            self._sleep(wait)


class _BodyError(Exception):
    """Stands in for urllib3's error types when counting body-level retries."""


def _unavailable(service: str, url: str, message: str, cause: Exception) -> UnavailableError:
    error = UnavailableError(message, service=service, url=url, retryable=True)
    # Keep the failure kind for logs, never the cause's text: it may hold the URL with its key.
    error.cause_type = type(cause).__name__  # type: ignore[attr-defined]
    return error


def error_for_status(
    service: str, response: requests.Response, url: str, data: Any
) -> ExternalApiError:
    status = response.status_code
    message = _message_from(data) or response.reason or "request failed"
    retry_after = _retry_after_seconds(response)
    kwargs: dict[str, Any] = {"service": service, "status": status, "url": url}
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status in (401, 403):
        return AuthError(message, **kwargs)
    if status == 429:
        return RateLimitedError(message, retryable=True, retry_after=retry_after, **kwargs)
    if status >= 500:
        return UnavailableError(message, retryable=True, retry_after=retry_after, **kwargs)
    return ExternalApiError(message, **kwargs)


def _message_from(data: Any) -> str | None:
    if isinstance(data, Mapping):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:500]
    return None


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After") or response.headers.get("X-RateLimit-Reset-In")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
