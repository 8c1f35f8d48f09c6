"""Submission tokens: what a player or script shows to submit listens through the
ListenBrainz-compatible /1/ API. Only a SHA-256 digest is stored, so a database leak
gives no usable token; the token itself is handed out once, when made."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import SubmissionToken

PREFIX_LENGTH = 8
# ``last_used_at`` is written at most this often per token: a player submitting every
# few seconds would otherwise cost a write per listen.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_submission_token(*, user: Any, name: str = "") -> tuple[SubmissionToken, str]:
    """A new token for ``user``: the row, and the token itself (not stored anywhere)."""
    # Hex: letters and digits only, safe in a header, a query string and a shell.
    token = secrets.token_hex(20)
    row = SubmissionToken.objects.create(
        user=user,
        name=(name or "").strip()[:100],
        prefix=token[:PREFIX_LENGTH],
        digest=token_digest(token),
    )
    return row, token


def revoke_submission_token(*, token: SubmissionToken) -> SubmissionToken:
    """Revoke ``token`` (idempotent: a revoked token keeps its first revocation time)."""
    SubmissionToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    return token


def user_submission_tokens(*, user: Any) -> QuerySet[SubmissionToken]:
    return SubmissionToken.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")


def authenticate_submission_token(token: str | None) -> SubmissionToken | None:
    """The active token ``token`` stands for, with its user, or None."""
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    row = (
        SubmissionToken.objects.select_related("user")
        .filter(digest=token_digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        SubmissionToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row
