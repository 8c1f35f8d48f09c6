"""The Last.fm-compatible /2.0/ endpoint: players and libraries that speak Last.fm's
scrobble protocol (pylast, Libre.fm/GNU FM-configurable players) get a session key
and scrobble here. One URL, ``method=`` names the call; answers are Last.fm's XML, or
JSON with ``format=json``. The view parses, calls one service and presents: scrobbles
take the /1/ API's store path (``listens.submit``), now playing is never stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ScrobbleApiKey
from accounts.scrobble_auth import (
    AuthFailure,
    ScrobbleAuthError,
    authenticate_scrobble_session,
    check_api_key,
    create_auth_request,
    mobile_session,
    session_for_auth_request,
)
from listens.lastfm_protocol import (
    Answer,
    ErrorCode,
    IgnoredCode,
    ProtocolError,
    error_answer,
    now_playing_answer,
    parse_now_playing,
    parse_scrobbles,
    scrobbles_answer,
    session_answer,
    token_answer,
)

# The /1/ API's limiter (shared-cache fixed window, X-RateLimit-* headers), called
# as it is so both doors count alike; its 429 is re-worded as Last.fm's error 29.
from listens.listenbrainz_api import _rate_limited
from listens.submission import LISTEN_MINIMUM_TS, MAX_FUTURE_SECONDS, Submission
from listens.submit import submit_listens
from sidetrack.login_throttle import record_token_failure, token_guess_wait

FORMATS = ("xml", "json")
DEFAULT_CLIENT = "Last.fm protocol client"

_AUTH_ERRORS = {
    AuthFailure.SUSPENDED_API_KEY: ErrorCode.SUSPENDED_API_KEY,
    AuthFailure.BAD_SIGNATURE: ErrorCode.INVALID_SIGNATURE,
    AuthFailure.BAD_SESSION: ErrorCode.INVALID_SESSION,
    AuthFailure.BAD_CREDENTIALS: ErrorCode.AUTH_FAILED,
    AuthFailure.TOKEN_UNKNOWN: ErrorCode.AUTH_FAILED,
    AuthFailure.TOKEN_NOT_AUTHORIZED: ErrorCode.TOKEN_NOT_AUTHORIZED,
    AuthFailure.TOKEN_EXPIRED: ErrorCode.TOKEN_EXPIRED,
}

AUTH_TOKEN_REFUSED = (
    "Authentication Failed - Sidetrack does not support authToken (md5 of your "
    "password): it never stores a password equivalent. Use auth.getMobileSession with "
    "password = a Sidetrack submission token, the web flow (auth.getToken, approve, "
    "auth.getSession), or a session key made in your Sidetrack settings."
)

Params = dict[str, str]
Handler = Callable[[HttpRequest, Params, ScrobbleApiKey | None, str], Answer]


# Failures that mean a secret was wrong (not an expired or unapproved request token).
_GUESSES = frozenset(
    {AuthFailure.BAD_SESSION, AuthFailure.BAD_CREDENTIALS, AuthFailure.TOKEN_UNKNOWN}
)


def _response(answer: Answer) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


def _format(request: HttpRequest) -> str:
    fmt = (request.POST.get("format") or request.GET.get("format") or "xml").lower()
    return fmt if fmt in FORMATS else "xml"


def _lastfm_rate_limited(view: Callable[[HttpRequest], HttpResponse]) -> Callable[..., Any]:
    limited = _rate_limited(view)

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        response = limited(request)
        if response.status_code != 429:  # the view itself never answers 429
            return response
        answer = _response(
            error_answer(
                ErrorCode.RATE_LIMITED,
                "Rate Limit Exceeded - Your IP has made too many requests in a short period.",
                _format(request),
            )
        )
        for name, value in response.items():
            if name.lower().startswith("x-ratelimit-"):
                answer[name] = value
        return answer

    return wrapper


@csrf_exempt
@_lastfm_rate_limited
def lastfm_api_view(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    if request.method not in ("GET", "POST"):
        response = _response(error_answer(ErrorCode.INVALID_METHOD, "Use GET or POST.", fmt))
        response.status_code = 405
        response["Allow"] = "GET, POST"
        return response
    # Last.fm reads the query string and the form alike; the form wins.
    params: Params = {**request.GET.dict(), **request.POST.dict()}
    requested = params.get("format")
    if requested and requested.lower() not in FORMATS:
        return _response(
            error_answer(
                ErrorCode.INVALID_FORMAT,
                "Invalid format - This service doesn't exist in that format.",
                fmt,
            )
        )
    method = (params.get("method") or "").strip().lower()
    handler, needs_post = _METHODS.get(method, (None, False))
    try:
        if handler is None:
            raise ProtocolError(
                ErrorCode.INVALID_METHOD,
                "Invalid Method - No method with that name in this package: Sidetrack "
                f"answers {', '.join(METHOD_NAMES)}.",
            )
        if needs_post and request.method != "POST":
            raise ProtocolError(
                ErrorCode.INVALID_PARAMETERS, f"Invalid parameters - {method} requires POST."
            )
        if not (params.get("api_key") or "").strip():
            raise ProtocolError(ErrorCode.INVALID_API_KEY, "Invalid API key - api_key is required.")
        # Session keys, request tokens and passwords are secrets: as on /1/, an address
        # that keeps presenting wrong ones is refused before any is checked.
        wait = token_guess_wait(request)
        if wait is not None:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"Rate Limit Exceeded - too many failed authentications; try again in {wait} "
                "seconds.",
            )
        issued = check_api_key(params)
        answer = handler(request, params, issued, fmt)
    except ProtocolError as error:
        answer = error_answer(error.code, str(error), fmt)
    except ScrobbleAuthError as error:
        if error.failure in _GUESSES:
            record_token_failure(request)
        answer = error_answer(_AUTH_ERRORS[error.failure], str(error), fmt)
    return _response(answer)


def _get_token(request: HttpRequest, params: Params, issued: Any, fmt: str) -> Answer:
    return token_answer(create_auth_request(api_key=params["api_key"].strip()), fmt)


def _get_session(request: HttpRequest, params: Params, issued: Any, fmt: str) -> Answer:
    if not params.get("token"):
        raise ProtocolError(ErrorCode.INVALID_PARAMETERS, "Invalid parameters - token is required.")
    session, key = session_for_auth_request(
        token=params["token"], api_key=params["api_key"].strip(), issued=issued
    )
    return session_answer(session.user.get_username(), key, fmt)


def _get_mobile_session(request: HttpRequest, params: Params, issued: Any, fmt: str) -> Answer:
    if params.get("authToken") and not params.get("password"):
        raise ProtocolError(ErrorCode.AUTH_FAILED, AUTH_TOKEN_REFUSED)
    if not params.get("username") or not params.get("password"):
        raise ProtocolError(
            ErrorCode.INVALID_PARAMETERS,
            "Invalid parameters - username and password (a Sidetrack submission token) "
            "are required.",
        )
    session, key = mobile_session(
        username=params["username"],
        password=params["password"],
        api_key=issued,
        client=issued.name if issued is not None else "",
    )
    return session_answer(session.user.get_username(), key, fmt)


def _update_now_playing(request: HttpRequest, params: Params, issued: Any, fmt: str) -> Answer:
    session = authenticate_scrobble_session(params.get("sk"), api_key=issued)
    track = parse_now_playing(params)
    if track.ignored == IgnoredCode.NOT_IGNORED:
        listen = track.listen(client=session.name or DEFAULT_CLIENT)
        submit_listens(
            user=session.user, submission=Submission(listen_type="playing_now", listens=[listen])
        )
    return now_playing_answer(track, fmt)


def _scrobble(request: HttpRequest, params: Params, issued: Any, fmt: str) -> Answer:
    session = authenticate_scrobble_session(params.get("sk"), api_key=issued)
    scrobbles = parse_scrobbles(
        params, now=time.time(), oldest=LISTEN_MINIMUM_TS, future_seconds=MAX_FUTURE_SECONDS
    )
    client = session.name or DEFAULT_CLIENT
    listens = [s.listen(client=client) for s in scrobbles if s.ignored == IgnoredCode.NOT_IGNORED]
    if listens:
        # Stored once whatever the retries: the store path keys a listen on its time
        # and text, and a resubmitted scrobble counts as accepted, as on Last.fm.
        submit_listens(
            user=session.user, submission=Submission(listen_type="import", listens=listens)
        )
    return scrobbles_answer(scrobbles, fmt)


METHOD_NAMES = (
    "auth.getToken",
    "auth.getSession",
    "auth.getMobileSession",
    "track.updateNowPlaying",
    "track.scrobble",
)
# Method names are matched case-insensitively; True: POST only.
_METHODS: dict[str, tuple[Handler, bool]] = {
    "auth.gettoken": (_get_token, False),
    "auth.getsession": (_get_session, False),
    "auth.getmobilesession": (_get_mobile_session, True),
    "track.updatenowplaying": (_update_now_playing, True),
    "track.scrobble": (_scrobble, True),
}

urlpatterns = [
    path("", lastfm_api_view, name="lastfm-api"),
]
