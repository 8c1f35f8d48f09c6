"""Request-wide guards: the API's error shape everywhere under /api/, and a total
deadline for the upstream calls a web request makes."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
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
