"""Connecting and disconnecting a user's listen-source accounts."""

from __future__ import annotations

import logging

import django_q.tasks
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts.models import ExternalAccount, ListenSource

logger = logging.getLogger(__name__)


def connect_account(
    *, username: str, source: str, external_username: str
) -> tuple[ExternalAccount, bool]:
    """The user's account on ``source`` named ``external_username``, and whether it is new.

    Creates the Django user (unusable password) when missing. Idempotent: an
    account with the same name in any letter case is returned as it is, and
    re-enabled if it was disconnected. A new Last.fm account gets a first taste
    snapshot queued once the transaction commits.
    """
    username = (username or "").strip()
    name = (external_username or "").strip()
    if source not in ListenSource.values:
        raise ValueError(
            f"unknown source {source!r}: expected one of {', '.join(ListenSource.values)}"
        )
    if not username:
        raise ValueError("a Sidetrack user name is required")
    if not name:
        raise ValueError(f"a {ListenSource(source).label} user name is required")

    with transaction.atomic():
        user = _get_or_create_user(username)
        account = _existing(user.pk, source, name)
        created = False
        if account is None:
            try:
                with transaction.atomic():
                    account = ExternalAccount.objects.create(
                        user=user, source=source, external_username=name
                    )
                created = True
            except IntegrityError:
                # A concurrent connect won the unique constraint: use its row.
                account = _existing(user.pk, source, name)
                if account is None:
                    raise
        if not created and account.status == ExternalAccount.Status.DISABLED:
            account.status = (
                ExternalAccount.Status.NEW
                if account.last_ingested_ts is None
                else ExternalAccount.Status.OK
            )
            account.save(update_fields=["status", "updated_at"])
        if created and source == ListenSource.LASTFM:
            pk = account.pk
            transaction.on_commit(
                lambda: django_q.tasks.async_task("listens.tasks.taste_snapshot_task", pk)
            )
    if created:
        logger.info("connected %s", account)
    return account, created


def disconnect_account(*, account: ExternalAccount) -> ExternalAccount:
    """Stop ingesting the account. Its listens and cursor are kept, so connecting
    it again resumes where ingest stopped."""
    ExternalAccount.objects.filter(pk=account.pk).update(status=ExternalAccount.Status.DISABLED)
    account.refresh_from_db()
    logger.info("disconnected %s", account)
    return account


def _get_or_create_user(username: str):
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            # No password: the user signs in some other way, or an admin sets one.
            return user_model.objects.create_user(username=username, password=None)
    except IntegrityError:
        return user_model.objects.get(username=username)


def _existing(user_id: int, source: str, name: str) -> ExternalAccount | None:
    return (
        ExternalAccount.objects.filter(
            user_id=user_id, source=source, external_username__iexact=name
        )
        .order_by("pk")
        .first()
    )
