"""Test helper: HttpOptions out of the keyword arguments tests pass to a client."""

from __future__ import annotations

from sidetrack.http.options import HttpOptions, RetryPolicy

OPTION_NAMES = {"user_agent", "timeout", "retry", "rate_limiter", "sleep", "clock"}


def split_options(kw: dict, user_agent: str) -> tuple[HttpOptions, dict]:
    """The HttpOptions among keyword arguments (zero retries unless given), and the rest."""
    options = {k: kw.pop(k) for k in list(kw) if k in OPTION_NAMES}
    options.setdefault("retry", RetryPolicy.none())
    options.setdefault("user_agent", user_agent)
    return HttpOptions(**options), kw
