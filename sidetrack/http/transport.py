"""The transport every external API client uses: :class:`ServiceHttp`, a
``requests.Session`` with its service's User-Agent, connect/read timeouts and an
urllib3 ``Retry`` policy (exponential backoff for network errors and 5xx,
``Retry-After`` honoured on 429/503), an optional shared rate limiter, and
errors from :mod:`sidetrack.http.errors`.

Nothing here touches Django settings or models: clients receive what they need
from their factories, which keeps them testable with plain values.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sidetrack.http.deadline import DeadlineExceeded, deadline_left
from sidetrack.http.errors import (
    ExternalApiError,
    RateLimitedError,
    UnavailableError,
    error_for_status,
)
from sidetrack.http.options import HttpOptions
from sidetrack.http.redaction import register_secret

# Retry notices under the layer's name, whichever module of it logs them.
logger = logging.getLogger("sidetrack.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Every call most clients make is a read, including the mapper's POST lookups.
DEFAULT_RETRY_METHODS = frozenset({"GET", "POST"})


def decode_json(content: bytes) -> Any:
    """The JSON value of a body. orjson is strict where the json module is lenient
    (a lone surrogate escape, NaN, UTF-16): the json module gets the bodies orjson
    refuses, so that one odd item does not fail a whole page. (orjson reads an
    integer past 64 bits as a float; no count or timestamp is that large.)"""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


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
        options: HttpOptions,
        secrets: Iterable[str] = (),
        retry_methods: frozenset[str] = DEFAULT_RETRY_METHODS,
    ) -> None:
        self.service = service
        self.retry_methods = retry_methods
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.options = options
        self.timeout = options.timeout
        self.retry_policy = options.retry
        self.rate_limiter = options.rate_limiter
        self._sleep = options.sleep
        self._clock = options.clock
        self._not_before = 0.0  # set from X-RateLimit-* headers
        for secret in secrets:
            register_secret(secret)

        self.session = requests.Session()
        self.session.headers.update(
            {"User-Agent": options.user_agent, "Accept": "application/json"}
        )
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


class _BodyError(Exception):
    """Stands in for urllib3's error types when counting body-level retries."""


def _unavailable(service: str, url: str, message: str, cause: Exception) -> UnavailableError:
    error = UnavailableError(message, service=service, url=url, retryable=True)
    # Keep the failure kind for logs, never the cause's text: it may hold the URL with its key.
    error.cause_type = type(cause).__name__  # type: ignore[attr-defined]
    return error
