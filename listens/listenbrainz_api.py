"""The ListenBrainz-compatible /1/ API: players and libraries that scrobble to a custom
ListenBrainz URL (Navidrome, Jellyfin, Pano Scrobbler, multi-scrobbler,
liblistenbrainz...) submit here with a Sidetrack submission token, and tools that read
ListenBrainz can read a Sidetrack user back. Shapes, status codes and error bodies
(``{"code": N, "error": "..."}``) are ListenBrainz's; the views only parse, call one
service or selector and present."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from accounts.models import SubmissionToken
from accounts.submission_tokens import authenticate_submission_token
from listens.ingest.payloads import clean_payload
from listens.now_playing import now_playing
from listens.profile import listens_public
from listens.selectors import (
    submitted_account_of,
    user_by_username,
    user_listen_count,
    user_listens_page,
)
from listens.submission import MAX_PAYLOAD_SIZE, SubmissionInvalid, parse_submission
from listens.submit import submit_listens
from sidetrack.login_throttle import record_token_failure, token_guess_wait
from sidetrack.throttle import client_address, digest, hit

DEFAULT_ITEMS_PER_GET = 25
MAX_ITEMS_PER_GET = 1000

View = Callable[..., HttpResponse]


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"code": status, "error": message}, status=status)


def _token_from(request: HttpRequest, *, allow_param: bool = False) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "token" and value.strip():
        return value.strip()
    if allow_param:
        return request.GET.get("token") or None
    return None


def _rate_limited(view: View) -> View:
    """ListenBrainz's limits. A token is checked once, here: a wrong one counts against
    the client address (``sidetrack.login_throttle``; 429 past
    ``TOKEN_FAILURES_PER_CLIENT``), so guessing tokens is slow. Requests are then
    counted per valid token, or per client address (``sidetrack.throttle``: the shared
    cache, every process and host agree), never per presented text, so made-up tokens
    share their sender's budget. Its state is in ``X-RateLimit-*`` on every answer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _token_from(request, allow_param=True)
        row = None
        if token is not None:
            wait = token_guess_wait(request)
            if wait is not None:
                response = _error(429, f"Too many invalid tokens. Try again in {wait} seconds.")
                response["Retry-After"] = str(wait)
                return response
            row = authenticate_submission_token(token)
            if row is None:
                record_token_failure(request)
        request.submission_token = row  # type: ignore[attr-defined]
        # The digest, not the row id: ids come back after a database is reset.
        who = (
            f"token:{row.digest[:32]}"
            if row is not None
            else f"addr:{digest(client_address(request))}"
        )
        limit = settings.LISTENBRAINZ_API_RATE_LIMIT
        window = settings.LISTENBRAINZ_API_RATE_WINDOW_SECONDS
        count = hit(f"lb-api:{who}", limit=limit, window=window)
        if count.exceeded:
            response: HttpResponse = _error(
                429, f"Rate limit exceeded: {limit} requests per {window} seconds."
            )
        else:
            response = view(request, *args, **kwargs)
        response["X-RateLimit-Limit"] = str(limit)
        response["X-RateLimit-Remaining"] = str(count.remaining)
        response["X-RateLimit-Reset-In"] = str(count.wait(time.time()))
        response["X-RateLimit-Reset"] = str(int(count.reset_at))
        return response

    return wrapper


def _methods(*allowed: str) -> Callable[[View], View]:
    """405 in ListenBrainz's shape for other methods; OPTIONS answered (CORS headers
    come from the middleware) so a browser's preflight passes, as ListenBrainz's do."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "OPTIONS":
                response = HttpResponse(status=200)
                response["Allow"] = ", ".join((*allowed, "OPTIONS"))
                return response
            if request.method not in allowed and not (
                request.method == "HEAD" and "GET" in allowed
            ):
                response = _error(405, "The method is not allowed for the requested URL.")
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _authenticated(request: HttpRequest) -> SubmissionToken | JsonResponse:
    """The header's token, as ``_rate_limited`` checked it."""
    if _token_from(request) is None:
        return _error(401, "You need to provide an Authorization header.")
    row = getattr(request, "submission_token", None)
    if row is None:
        return _error(401, "Invalid authorization token.")
    return row


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or None past ListenBrainz's 10240000 bytes. Read from the stream, not
    ``request.body``: Django caps that far below 1000 listens, and a declared length
    past the cap is refused before anything is read."""
    cap = MAX_PAYLOAD_SIZE
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > cap:
        return None
    body = request.read(cap + 1)
    return None if len(body) > cap else body


@csrf_exempt
@_rate_limited
@_methods("POST")
def submit_listens_view(request: HttpRequest) -> HttpResponse:
    auth = _authenticated(request)
    if isinstance(auth, JsonResponse):
        return auth
    body = _read_body(request)
    if body is None:
        # ListenBrainz answers 400 here, not 413.
        return _error(400, f"Payload too large. Payload cannot exceed {MAX_PAYLOAD_SIZE} bytes")
    try:
        submission = parse_submission(body)
    except SubmissionInvalid as error:
        return _invalid(error)
    submit_listens(user=auth.user, submission=submission)
    return JsonResponse({"status": "ok"})


def _invalid(error: SubmissionInvalid) -> JsonResponse:
    """400 with ListenBrainz's text; like ListenBrainz, the fields of the listen at
    fault come along (scrubbed of secrets), so a client can tell which one it was."""
    body: dict[str, Any] = {}
    if error.listen is not None:
        body.update(clean_payload(error.listen))
    body.update({"code": 400, "error": str(error)})
    return JsonResponse(body, status=400)


@csrf_exempt  # a POST is answered 405, as ListenBrainz does, not refused for CSRF
@_rate_limited
@_methods("GET")
def validate_token_view(request: HttpRequest) -> HttpResponse:
    if _token_from(request, allow_param=True) is None:
        return _error(400, "You need to provide an Authorization token.")
    row = getattr(request, "submission_token", None)
    if row is None:
        return JsonResponse({"code": 200, "message": "Token invalid.", "valid": False})
    return JsonResponse(
        {"code": 200, "message": "Token valid.", "valid": True, "user_name": row.user.username}
    )


def _int_param(request: HttpRequest, name: str, message: str) -> int | None:
    value = request.GET.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise SubmissionInvalid(message.format(name=name, value=value)) from None


def _reader(request: HttpRequest, user_name: str) -> Any:
    """The user named ``user_name`` if anyone may read them (they made their listens
    public) or the request's token is theirs; else the answer to give. A private
    user's listens without their token answer 404 as an unknown user does (as on
    ListenBrainz), so no one learns who is private; a wrong token is a 401."""
    user = user_by_username(username=user_name)
    if user is not None and listens_public(user=user):
        return user
    not_found = _error(404, f"Cannot find user: {user_name}")
    if _token_from(request) is None:
        return not_found
    auth = _authenticated(request)
    if isinstance(auth, JsonResponse):
        return auth
    if user is None or auth.user.pk != user.pk:
        return not_found
    return user


@_rate_limited
@_methods("GET")
def user_listens_view(request: HttpRequest, user_name: str) -> HttpResponse:
    user = _reader(request, user_name)
    if isinstance(user, JsonResponse):
        return user
    # ListenBrainz's parameter checks and texts (api_tools._validate_get_listens_endpoint_params).
    try:
        max_ts = _int_param(request, "max_ts", "Incorrect {name} timestamp argument: {value}")
        min_ts = _int_param(request, "min_ts", "Incorrect {name} timestamp argument: {value}")
        count = _int_param(request, "count", "Invalid {name} argument: {value}")
    except SubmissionInvalid as error:
        return _error(400, str(error))
    if min_ts is not None and max_ts is not None and max_ts <= min_ts:
        return _error(400, "max_ts should be greater than min_ts")
    count = min(DEFAULT_ITEMS_PER_GET if count is None else count, MAX_ITEMS_PER_GET)
    if count < 0:
        return _error(400, "Number of items requested should be positive")
    page = user_listens_page(user=user, min_ts=min_ts, max_ts=max_ts, count=count)
    payload: dict[str, Any] = {
        "count": len(page.listens),
        "user_id": user.username,
        "listens": page.listens,
        "latest_listen_ts": page.latest_listen_ts,
        "oldest_listen_ts": page.oldest_listen_ts,
    }
    return JsonResponse({"payload": payload})


@_rate_limited
@_methods("GET")
def user_listen_count_view(request: HttpRequest, user_name: str) -> HttpResponse:
    user = _reader(request, user_name)
    if isinstance(user, JsonResponse):
        return user
    return JsonResponse({"payload": {"count": user_listen_count(user=user)}})


@_rate_limited
@_methods("GET")
def user_playing_now_view(request: HttpRequest, user_name: str) -> HttpResponse:
    """What the user's players last reported as ``playing_now`` (polled sources'
    now playing is in /api/now-playing/)."""
    user = _reader(request, user_name)
    if isinstance(user, JsonResponse):
        return user
    account = submitted_account_of(user=user)
    playing = now_playing(account=account) if account is not None else None
    listens = []
    if playing is not None:
        metadata: dict[str, Any] = {
            "artist_name": playing.artist_name,
            "track_name": playing.track_name,
        }
        if playing.album_name:
            metadata["release_name"] = playing.album_name
        metadata["additional_info"] = {}
        if playing.recording_mbid:  # what Sidetrack resolved: where ListenBrainz's mapping goes
            metadata["mbid_mapping"] = {"recording_mbid": playing.recording_mbid}
        listens.append({"playing_now": True, "track_metadata": metadata})
    payload = {
        "count": len(listens),
        "user_id": user.username,
        "playing_now": True,
        "listens": listens,
    }
    return JsonResponse({"payload": payload})


urlpatterns = [
    path("submit-listens", submit_listens_view, name="lb-submit-listens"),
    path("validate-token", validate_token_view, name="lb-validate-token"),
    path("user/<str:user_name>/listens", user_listens_view, name="lb-user-listens"),
    path("user/<str:user_name>/listen-count", user_listen_count_view, name="lb-user-listen-count"),
    path("user/<str:user_name>/playing-now", user_playing_now_view, name="lb-user-playing-now"),
]
