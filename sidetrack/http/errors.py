"""The one error tree of every external API call: what failed, and whether trying
again later can succeed (``retryable``). Messages and URLs are stored redacted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from sidetrack.http.redaction import redact_text, redact_url


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
