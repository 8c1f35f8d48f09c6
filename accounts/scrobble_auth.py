"""Session keys for the Last.fm-protocol endpoint (/2.0/): the API keys Sidetrack
issues, the three ways a client gets a session key (a submission token as the
password of ``auth.getMobileSession``, the desktop/web flow of ``auth.getToken`` /
approval page / ``auth.getSession``, or one made for the user and pasted in), and
checking a request's session key and signature. Keys and request tokens are stored
as SHA-256 digests (``accounts.tokens``), like submission tokens."""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ScrobbleApiKey, ScrobbleAuthRequest, ScrobbleSession
from accounts.submission_tokens import authenticate_submission_token
from accounts.tokens import (
    find_active_token,
    issue_token,
    presented_token,
    revoke_token,
    token_digest,
    user_tokens,
)

# Last.fm's request tokens are valid for 60 minutes.
AUTH_REQUEST_LIFETIME = timedelta(minutes=60)
# Parameters Last.fm leaves out of the signature.
UNSIGNED_PARAMS = frozenset({"api_sig", "format", "callback"})


class AuthFailure(enum.Enum):
    """Why a key, token or signature was refused; the endpoint maps each to Last.fm's
    error code."""

    SUSPENDED_API_KEY = "suspended_api_key"
    BAD_SIGNATURE = "bad_signature"
    BAD_SESSION = "bad_session"
    BAD_CREDENTIALS = "bad_credentials"
    TOKEN_UNKNOWN = "token_unknown"
    TOKEN_NOT_AUTHORIZED = "token_not_authorized"
    TOKEN_EXPIRED = "token_expired"


class ScrobbleAuthError(Exception):
    def __init__(self, failure: AuthFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


# --- API keys ------------------------------------------------------------------


def create_scrobble_api_key(*, name: str) -> ScrobbleApiKey:
    """A new API key and secret (32 hex characters each, like Last.fm's)."""
    return ScrobbleApiKey.objects.create(
        name=(name or "").strip()[:100] or "unnamed client",
        key=secrets.token_hex(16),
        secret=secrets.token_hex(16),
    )


def revoke_scrobble_api_key(*, api_key: ScrobbleApiKey) -> ScrobbleApiKey:
    return revoke_token(api_key)


def request_signature(params: Mapping[str, str], secret: str) -> str:
    """Last.fm's ``api_sig``: md5 of every parameter but format/callback/api_sig as
    name+value sorted by name, then the secret (https://www.last.fm/api/authspec)."""
    signed = sorted(name for name in params if name not in UNSIGNED_PARAMS)
    text = "".join(f"{name}{params[name]}" for name in signed)
    return hashlib.md5((text + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def check_api_key(params: Mapping[str, str]) -> ScrobbleApiKey | None:
    """The issued key the request names, its signature checked; None for a key Sidetrack
    did not issue (a client's built-in Last.fm key, whose secret we cannot know)."""
    row = ScrobbleApiKey.objects.filter(key=params.get("api_key", "")).first()
    if row is None:
        return None
    if not row.active:
        raise ScrobbleAuthError(AuthFailure.SUSPENDED_API_KEY, "This API key has been revoked.")
    given = (params.get("api_sig") or "").strip().lower()
    if not given or not secrets.compare_digest(given, request_signature(params, row.secret)):
        raise ScrobbleAuthError(
            AuthFailure.BAD_SIGNATURE, "Invalid method signature supplied (api_sig)."
        )
    return row


# --- session keys ----------------------------------------------------------------


def create_scrobble_session(
    *, user: Any, name: str = "", api_key: ScrobbleApiKey | None = None
) -> tuple[ScrobbleSession, str]:
    """A new session key for ``user``: the row, and the key itself (stored nowhere)."""
    return issue_token(
        ScrobbleSession,
        nbytes=16,  # 32 hex characters, the length clients expect
        user=user,
        name=(name or "").strip()[:100],
        api_key=api_key.key if api_key is not None else "",
    )


def revoke_scrobble_session(*, session: ScrobbleSession) -> ScrobbleSession:
    """Revoke ``session`` (idempotent: the first revocation time stays)."""
    return revoke_token(session)


def user_scrobble_sessions(*, user: Any) -> QuerySet[ScrobbleSession]:
    return user_tokens(ScrobbleSession, user=user)


def authenticate_scrobble_session(
    session_key: str | None, *, api_key: ScrobbleApiKey | None
) -> ScrobbleSession:
    """The active session ``session_key`` stands for, with its user; raises
    ``ScrobbleAuthError``. A session made through an issued key is accepted only with
    that key (``api_key``: the request's issued key, already signature-checked)."""
    keys = Q(api_key="") | Q(api_key=api_key.key) if api_key is not None else Q(api_key="")
    row = find_active_token(ScrobbleSession, session_key, where=keys)
    if row is None:
        raise ScrobbleAuthError(
            AuthFailure.BAD_SESSION, "Invalid session key - Please re-authenticate."
        )
    return row


def mobile_session(
    *, username: str, password: str, api_key: ScrobbleApiKey | None, client: str = ""
) -> tuple[ScrobbleSession, str]:
    """``auth.getMobileSession``: ``password`` is one of the user's submission tokens."""
    token = authenticate_submission_token(password)
    if token is None or token.user.get_username().casefold() != (username or "").casefold():
        raise ScrobbleAuthError(
            AuthFailure.BAD_CREDENTIALS,
            "Invalid username or password. The password is a Sidetrack submission token.",
        )
    return create_scrobble_session(user=token.user, name=client or token.name, api_key=api_key)


# --- the desktop/web flow -------------------------------------------------------


def create_auth_request(*, api_key: str) -> str:
    """``auth.getToken``: a new request token (32 hex characters) for ``api_key``."""
    token = secrets.token_hex(16)
    ScrobbleAuthRequest.objects.create(digest=token_digest(token), api_key=api_key[:64])
    return token


@dataclass(frozen=True)
class PendingAuthRequest:
    """What the approval page shows about a request token."""

    request: ScrobbleAuthRequest
    client_name: str  # the issued key's name, or "" for a key Sidetrack did not issue
    expired: bool
    decided: bool


def pending_auth_request(*, token: str, api_key: str = "") -> PendingAuthRequest | None:
    """The request ``token`` stands for (None: no such token, or another key's)."""
    token = presented_token(token)
    if token is None:
        return None
    row = ScrobbleAuthRequest.objects.filter(digest=token_digest(token)).first()
    if row is None or (api_key and api_key != row.api_key):
        return None
    issued = ScrobbleApiKey.objects.filter(key=row.api_key).first()
    return PendingAuthRequest(
        request=row,
        client_name=issued.name if issued is not None else "",
        expired=_expired(row),
        decided=bool(row.approved_at or row.denied_at),
    )


def decide_auth_request(*, token: str, user: Any, approve: bool) -> bool:
    """The signed-in ``user`` approves (or denies) a request token still undecided and
    unexpired; False when it is not (someone decided first, or it expired)."""
    row = ScrobbleAuthRequest.objects.filter(digest=token_digest(token or "")).first()
    if row is None or _expired(row):
        return False
    now = timezone.now()
    change = {"approved_at": now} if approve else {"denied_at": now}
    return bool(
        ScrobbleAuthRequest.objects.filter(
            pk=row.pk, approved_at__isnull=True, denied_at__isnull=True
        ).update(user=user, **change)
    )


def session_for_auth_request(
    *, token: str, api_key: str, issued: ScrobbleApiKey | None
) -> tuple[ScrobbleSession, str]:
    """``auth.getSession``: trade an approved request token, once, for a session key."""
    token = presented_token(token)
    row = None
    if token is not None:
        row = ScrobbleAuthRequest.objects.filter(digest=token_digest(token)).first()
    if row is None or row.api_key != api_key or row.used_at is not None or row.denied_at:
        raise ScrobbleAuthError(AuthFailure.TOKEN_UNKNOWN, "Invalid authentication token supplied.")
    if _expired(row):
        raise ScrobbleAuthError(AuthFailure.TOKEN_EXPIRED, "This token has expired.")
    if row.approved_at is None:
        raise ScrobbleAuthError(
            AuthFailure.TOKEN_NOT_AUTHORIZED,
            "This token has not been authorized: approve it on Sidetrack first.",
        )
    # Once only: of two concurrent trades, one claims the token.
    claimed = ScrobbleAuthRequest.objects.filter(pk=row.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    user = get_user_model().objects.filter(pk=row.user_id, is_active=True).first()
    if not claimed or user is None:
        raise ScrobbleAuthError(AuthFailure.TOKEN_UNKNOWN, "Invalid authentication token supplied.")
    name = issued.name if issued is not None else ""
    return create_scrobble_session(user=user, name=name, api_key=issued)


def _expired(row: ScrobbleAuthRequest) -> bool:
    return timezone.now() - row.created_at > AUTH_REQUEST_LIFETIME
