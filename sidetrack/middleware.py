"""Request-wide guards: the API's error shape everywhere under /api/, 503 when a
dependency (the cache, the database) is down, and a total deadline for the upstream
calls a web request makes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from sidetrack.http.deadline import upstream_deadline

LISTENBRAINZ_PREFIX = "/1/"
API_PREFIX = "/api/"

# What a client is told when Django (not DRF) answered: an unrouted path, a
# malformed request refused before any view, a crash. Nothing internal.
_DJANGO_ERRORS = {
    400: ("bad_request", "The request is malformed."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("too_large", "The request body is too large."),
    500: ("server_error", "Internal server error."),
}


class ApiErrorShapeMiddleware:
    """Every error under ``/api/`` has the body ``{"error": {"code", "message"}}``.

    DRF views already answer so (``sidetrack.api.exception_handler``); this covers
    what Django answers itself: unrouted paths (404), requests refused before a view
    (400) and unhandled exceptions (500, also with DEBUG on, where Django would show
    its technical page). The response is replaced after Django has logged the error
    and sent ``got_request_exception``, so logging and tests still see the crash.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        if request.path.startswith(API_PREFIX):
            return _error_response(response)
        if request.path.startswith(LISTENBRAINZ_PREFIX):
            # The ListenBrainz-compatible API's own error shape.
            message = _DJANGO_ERRORS.get(response.status_code, ("", "Request failed."))[1]
            return JsonResponse(
                {"code": response.status_code, "error": message}, status=response.status_code
            )
        return response


def _error_response(original: HttpResponse) -> JsonResponse:
    status = original.status_code
    code, message = _DJANGO_ERRORS.get(
        status, ("server_error" if status >= 500 else "error", "Request failed.")
    )
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in original:
            response[header] = original[header]
    return response


class UpstreamDeadlineMiddleware:
    """Every upstream call a web request makes shares one deadline
    (``UPSTREAM_DEADLINE_SECONDS``): past it, calls fail at once as retryable
    errors instead of keeping the request (and a web worker) waiting for minutes.
    Tasks and commands have no deadline: only the per-call timeouts apply there."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with upstream_deadline(settings.UPSTREAM_DEADLINE_SECONDS):
            return self.get_response(request)


def _dependency_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        from redis import exceptions as redis_errors
    except ImportError:  # pragma: no cover - redis comes with Sidetrack
        return tuple(errors)
    return (*errors, redis_errors.ConnectionError, redis_errors.TimeoutError)


DEPENDENCY_ERRORS = _dependency_errors()
UNAVAILABLE = "A service Sidetrack depends on is unavailable; try again shortly."


class DependencyDownMiddleware:
    """A view that fails because the cache (Redis, or the database cache) or the
    database cannot be reached answers 503 with ``Retry-After``, in the error shape of
    its API (or as text), never a 500 or a DEBUG page. Logged as an error on
    ``django.request`` with the request, so error reports still see it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DEPENDENCY_ERRORS):
            return None
        logging.getLogger("django.request").error(
            "Dependency unavailable: %s %s (%s)",
            request.method,
            request.path,
            type(exception).__name__,
            exc_info=exception,
            extra={"status_code": 503, "request": request},
        )
        if request.path.startswith(API_PREFIX):
            body: dict = {"error": {"code": "unavailable", "message": UNAVAILABLE}}
            response: HttpResponse = JsonResponse(body, status=503)
        elif request.path.startswith(LISTENBRAINZ_PREFIX):
            response = JsonResponse({"code": 503, "error": UNAVAILABLE}, status=503)
        else:
            response = HttpResponse(
                UNAVAILABLE + "\n", status=503, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = "30"
        return response
