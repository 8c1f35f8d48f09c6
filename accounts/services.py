"""Connecting and disconnecting a user's listen-source accounts, and asking for an ingest."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import POLLED_SOURCES, ExternalAccount, ListenSource
from accounts.signals import account_connected, ingest_requested, running_ingest_wanted

logger = logging.getLogger(__name__)

# How long a queued ingest blocks further requests for its account if its task is
# never started (a worker killed holding it): the scheduled ingest is not blocked.
QUEUED_INGEST_SECONDS = 600


class AccountRefused(ValueError):
    """The account cannot be connected; ``code`` names why for API clients."""

    code = "invalid"


class TooManyAccounts(AccountRefused):
    code = "too_many_accounts"


class NameTakenByAnotherUser(AccountRefused):
    code = "name_taken"


def connect_account(
    *, username: str, source: str, external_username: str, allow_shared: bool = False
) -> tuple[ExternalAccount, bool]:
    """For the command line: ``connect_user_account`` for the user named ``username``,
    created (unusable password) when missing. Input is checked before any user is made."""
    username = (username or "").strip()
    _checked_name(source, external_username)
    if not username:
        raise ValueError("a Sidetrack user name is required")
    with transaction.atomic():
        return connect_user_account(
            user=_get_or_create_user(username),
            source=source,
            external_username=external_username,
            allow_shared=allow_shared,
        )


def connect_user_account(
    *,
    user: Any,
    source: str,
    external_username: str,
    max_accounts: int | None = None,
    allow_shared: bool = False,
) -> tuple[ExternalAccount, bool]:
    """The user's account on ``source`` named ``external_username``, and whether it is new.

    Idempotent: an account with the same name in any letter case is returned as it
    is, and re-enabled if it was disconnected. A new account is refused when the
    user already has ``max_accounts`` (disconnected ones count: their listens are
    kept), and when another user has connected the same name, unless
    ``allow_shared`` (a staff decision): two users silently sharing one source's
    history is never what either meant. A new Last.fm account gets one first taste
    snapshot queued once the transaction commits; connecting again queues none.
    """
    name = _checked_name(source, external_username)
    with transaction.atomic():
        # One connect per user at a time, so concurrent ones cannot pass the cap together.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        account = _existing(user.pk, source, name)
        created = False
        if account is None:
            _check_new_account_allowed(user, source, name, max_accounts, allow_shared)
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
        if created:
            pk = account.pk
            transaction.on_commit(
                lambda: account_connected.send(sender=ExternalAccount, account_id=pk, source=source)
            )
    if created:
        logger.info("connected %s", account)
    return account, created


def _checked_name(source: str, external_username: str) -> str:
    if source not in POLLED_SOURCES:
        raise ValueError(f"unknown source {source!r}: expected one of {', '.join(POLLED_SOURCES)}")
    name = (external_username or "").strip()
    if not name:
        raise ValueError(f"a {ListenSource(source).label} user name is required")
    return name


def _check_new_account_allowed(
    user: Any, source: str, name: str, max_accounts: int | None, allow_shared: bool
) -> None:
    if max_accounts is not None:
        count = ExternalAccount.objects.filter(user_id=user.pk).count()
        if count >= max_accounts:
            raise TooManyAccounts(
                f"you have {count} accounts, the most allowed (disconnected ones count "
                "too); ask staff if you need more"
            )
    if allow_shared:
        return
    taken = (
        ExternalAccount.objects.filter(source=source, external_username__iexact=name)
        .exclude(user_id=user.pk)
        .exists()
    )
    if taken:
        label = ListenSource(source).label
        raise NameTakenByAnotherUser(
            f"{name!r} on {label} is already connected by another Sidetrack user; "
            "staff can connect it for you if it is yours too"
        )


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


# --- Asking for an ingest ---------------------------------------------------------------


@dataclass(frozen=True)
class IngestRequest:
    """What asking for an ingest did: queued a task (``queued``), or found one
    already waiting (``task``, its queue name) or a worker already on it (``run``)."""

    account_id: int
    queued: bool
    task: str | None = None
    run: int | None = None


def _queued_key(account_id: int) -> str:
    return f"ingest-queued:{account_id}"


def request_ingest(*, account: ExternalAccount) -> IngestRequest:
    """Queue an ingest of ``account`` unless a worker holds its claim or one is
    already waiting in the queue: asking twenty times spends the upstream key once.

    The waiting task is remembered in the shared cache (an atomic ``add``, so
    concurrent requests on several web processes queue one task) until a worker
    starts it (``ingest_started``) or ``QUEUED_INGEST_SECONDS`` pass (a lost task).
    """
    if account.ingest_claimed_until is not None and account.ingest_claimed_until > timezone.now():
        answers = running_ingest_wanted.send(sender=ExternalAccount, account_id=account.pk)
        run = next((run for _, run in answers if run is not None), None)
        return IngestRequest(account.pk, queued=False, run=run)
    name = f"ingest-{account.pk}-{secrets.token_hex(6)}"
    key = _queued_key(account.pk)
    if not cache.add(key, name, timeout=QUEUED_INGEST_SECONDS):
        return IngestRequest(account.pk, queued=False, task=cache.get(key))
    try:
        # Not on_commit: the account row exists already, and the name must be in the
        # queue before anyone is told about it.
        answers = ingest_requested.send(
            sender=ExternalAccount, account_id=account.pk, queued_as=name
        )
        if not answers:
            raise ImproperlyConfigured("no installed app runs ingests (is listens installed?)")
    except BaseException:
        cache.delete(key)
        raise
    return IngestRequest(account.pk, queued=True, task=name)


def ingest_started(*, account_id: int, queued_as: str | None) -> None:
    """A worker picked the queued ingest up: the next request may queue another."""
    key = _queued_key(account_id)
    if queued_as and cache.get(key) == queued_as:
        cache.delete(key)
