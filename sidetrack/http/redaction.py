"""Secrets out of every text we keep or show: secret-named parameters' values, and
every key or token a client registered, whatever text they turn up in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters and headers whose values are secrets wherever they appear.
SECRET_PARAM_NAMES = frozenset(
    {"api_key", "api_sig", "sk", "token", "session_key", "password", "secret", "authorization"}
)
REDACTED = "[REDACTED]"


class SecretRegistry:
    """Secret values seen by clients, redacted from any text that passes through
    :func:`redact_text`, even outside a query string.

    The values are a tuple replaced whole, never changed in place: ingest's fetching
    thread reads them while another thread may register a new client's key."""

    def __init__(self, values: tuple[str, ...] = ()) -> None:
        self._values: tuple[str, ...] = ()
        for value in values:
            self.register(value)

    def register(self, value: str | None) -> None:
        # Short values would redact ordinary words; real keys and tokens are long.
        if value and len(value) >= 8 and value not in self._values:
            self._values = (*self._values, value)

    @property
    def values(self) -> tuple[str, ...]:
        return self._values


# The process's registry: every client registers its keys here (ServiceHttp(secrets=)).
# Tests pass a fresh SecretRegistry to the redact_* functions instead of patching it.
SECRETS = SecretRegistry()


def register_secret(value: str | None) -> None:
    SECRETS.register(value)


def known_secrets() -> tuple[str, ...]:
    return SECRETS.values


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


def redact_text(text: str, *, secrets: SecretRegistry = SECRETS) -> str:
    """Secret-named parameters' values and every registered secret, replaced.
    Registered secrets are replaced everywhere, source lines included."""
    if "=" in text:  # the pattern needs one; skipping it keeps payload scrubbing cheap
        text = _redact_pairs_outside_source(text) if 'File "' in text else _redact_pairs(text)
    for secret in secrets.values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_url(url: str, *, secrets: SecretRegistry = SECRETS) -> str:
    parts = urlsplit(url)
    query = [
        (key, REDACTED if key.lower() in SECRET_PARAM_NAMES else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return redact_text(
        urlunsplit(parts._replace(query=urlencode(query, safe="[]"))), secrets=secrets
    )


def redact_mapping(data: Any, *, secrets: SecretRegistry = SECRETS) -> Any:
    """Deep copy of a JSON-like value with secret keys' values redacted."""
    if isinstance(data, Mapping):
        return {
            redact_text(str(key), secrets=secrets): REDACTED
            if str(key).lower() in SECRET_PARAM_NAMES
            else redact_mapping(value, secrets=secrets)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact_mapping(item, secrets=secrets) for item in data]
    if isinstance(data, str):
        return redact_text(data, secrets=secrets)
    return data


# --- One deadline for every call a web request makes ---------------------------------
