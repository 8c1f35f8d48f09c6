"""Submission tokens: what a player or script shows to submit listens through the
ListenBrainz-compatible /1/ API. Stored as digests (``accounts.tokens``): the token
itself is handed out once, when made."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import SubmissionToken
from accounts.tokens import find_active_token, issue_token, revoke_token, user_tokens


def create_submission_token(*, user: Any, name: str = "") -> tuple[SubmissionToken, str]:
    """A new token for ``user``: the row, and the token itself (not stored anywhere)."""
    return issue_token(SubmissionToken, nbytes=20, user=user, name=(name or "").strip()[:100])


def revoke_submission_token(*, token: SubmissionToken) -> SubmissionToken:
    """Revoke ``token`` (idempotent: a revoked token keeps its first revocation time)."""
    return revoke_token(token)


def user_submission_tokens(*, user: Any) -> QuerySet[SubmissionToken]:
    return user_tokens(SubmissionToken, user=user)


def authenticate_submission_token(token: str | None) -> SubmissionToken | None:
    """The active token ``token`` stands for, with its user, or None."""
    return find_active_token(SubmissionToken, token)
