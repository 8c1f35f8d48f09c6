"""Guessing passwords and tokens gets a small burst, then 429, without letting a
stranger lock the owner of an account out.

Failed logins (every password check sends Django's ``user_login_failed``: the API
token view and the admin login alike) are counted in three windows of
``LOGIN_FAILURE_WINDOW_SECONDS``: per client address (any username), per username
from that address, and per username from every address. An address is refused when
it failed too often itself, or failed for that username; a username guessed from
many addresses ("under attack") only refuses the addresses that have already failed
for it. An address that never failed, with the right password, always gets in.

Wrong API tokens (``/api/``) and submission tokens (``/1/``) are counted per client
address, as ListenBrainz does; past ``TOKEN_FAILURES_PER_CLIENT``, 429.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from sidetrack.throttle import client_address, digest, hit, peek, window_wait

KEY_PREFIX = "login-failures"


def _names(request: Any, username: Any) -> tuple[str, str | None, str | None]:
    """Counter names: the client; the username from this client; the username."""
    client = f"{KEY_PREFIX}:client:{digest(client_address(request))}"
    if not (isinstance(username, str) and username.strip()):
        return client, None, None
    name = digest(username.strip().casefold())
    return client, f"{client}:user:{name}", f"{KEY_PREFIX}:user:{name}"


def login_wait(
    request: Any, username: Any, *, clock: Callable[[], float] = time.time
) -> int | None:
    """Seconds until this client may try a password for ``username`` again, or None
    when it may now."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    client, pair, user = _names(request, username)
    counts = peek([n for n in (client, pair, user) if n], window=window, clock=clock)
    refused = counts[client] >= settings.LOGIN_FAILURES_PER_CLIENT
    if pair is not None and user is not None:
        refused = refused or counts[pair] >= settings.LOGIN_FAILURES_PER_USERNAME
        # Under attack from many addresses: only addresses with no failure for it.
        refused = refused or (
            counts[user] >= settings.LOGIN_FAILURES_UNDER_ATTACK and counts[pair] > 0
        )
    return window_wait(window, clock=clock) if refused else None


def record_login_failure(
    request: Any, username: Any, *, clock: Callable[[], float] = time.time
) -> None:
    if request is None:  # a password checked outside a request (a command): nothing to throttle
        return
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for name in _names(request, username):
        if name is not None:
            hit(name, limit=0, window=window, clock=clock)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    record_login_failure(request, credentials.get("username"))


def _token_name(request: Any) -> str:
    return f"{KEY_PREFIX}:token:{digest(client_address(request))}"


def token_guess_wait(request: Any, *, clock: Callable[[], float] = time.time) -> int | None:
    """Seconds until this client may present a token again, or None when it may now."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    name = _token_name(request)
    if peek([name], window=window, clock=clock)[name] >= settings.TOKEN_FAILURES_PER_CLIENT:
        return window_wait(window, clock=clock)
    return None


def record_token_failure(request: Any, *, clock: Callable[[], float] = time.time) -> None:
    hit(_token_name(request), limit=0, window=settings.LOGIN_FAILURE_WINDOW_SECONDS, clock=clock)
