"""Secrets stored as SHA-256 digests (``HashedToken`` rows): issuing one, finding the
active row a presented secret stands for, revoking. A database leak gives no usable
secret; the secret itself is handed out once, when made. The kinds (submission
tokens, API tokens, scrobble session keys) keep their own modules and names; this is
what they share."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, TypeVar

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import HashedToken, Revocable

PREFIX_LENGTH = 8
# ``last_used_at`` is written at most this often per row: a player submitting every
# few seconds would otherwise cost a write per listen.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Longer than any secret issued here: a longer one is refused before it is hashed.
MAX_PRESENTED_LENGTH = 200

T = TypeVar("T", bound=HashedToken)
R = TypeVar("R", bound=Revocable)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def presented_token(token: str | None) -> str | None:
    """``token`` stripped, or None when it is empty or too long to be one we issued."""
    token = (token or "").strip()
    if not token or len(token) > MAX_PRESENTED_LENGTH:
        return None
    return token


def issue_token(model: type[T], *, nbytes: int, **fields: Any) -> tuple[T, str]:
    """A new ``model`` row with ``fields``, and its secret: ``nbytes`` random bytes in
    hex (letters and digits only, safe in a header, a query string and a shell)."""
    token = secrets.token_hex(nbytes)
    row = model.objects.create(prefix=token[:PREFIX_LENGTH], digest=token_digest(token), **fields)
    return row, token


def find_active_token(model: type[T], token: str | None, *, where: Q | None = None) -> T | None:
    """The row ``token`` stands for, with its user, when the user is active, the row
    is not revoked and matches ``where``; its ``last_used_at`` is brought up to date."""
    token = presented_token(token)
    if token is None:
        return None
    rows = model.objects.select_related("user").filter(
        digest=token_digest(token), user__is_active=True
    )
    if issubclass(model, Revocable):
        rows = rows.filter(revoked_at__isnull=True)
    if where is not None:
        rows = rows.filter(where)
    row = rows.first()
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        model.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


def revoke_token(row: R) -> R:
    """Revoke ``row`` (idempotent: a revoked row keeps its first revocation time)."""
    type(row).objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    row.refresh_from_db()
    return row


def user_tokens(model: type[T], *, user: Any) -> QuerySet[T]:
    """``user``'s rows of ``model``, newest first."""
    return model.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")
