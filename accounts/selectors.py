"""Reads of a user's listen-source accounts and tokens. Keyword arguments only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import ExternalAccount


def user_accounts(*, user: Any) -> QuerySet[ExternalAccount]:
    """The user's accounts, disconnected ones too (their listens are kept), oldest first."""
    return ExternalAccount.objects.filter(user_id=user.pk).order_by("pk")


def user_account_get(*, user: Any, account_id: int) -> ExternalAccount | None:
    """One of the user's own accounts, or None (someone else's is never found)."""
    return user_accounts(user=user).filter(pk=account_id).first()
