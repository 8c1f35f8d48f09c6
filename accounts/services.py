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


class NameProvenByAnotherUser(AccountRefused):
    code = "name_proven"


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
    history is never what either meant. A name another user proved theirs
    (``connect_proven_account``) is refused too, reconnecting included, unless
    ``allow_shared``. A new Last.fm account gets one first taste snapshot queued
    once the transaction commits; connecting again queues none.
    """
    name = _checked_name(source, external_username)
    with transaction.atomic():
        _lock_user(user)
        if not allow_shared:
            _refuse_proven_by_another(user, source, name)
        account = _existing(user.pk, source, name)
        created = False
        if account is None:
            _check_new_account_allowed(user, source, name, max_accounts, allow_shared)
            account, created = _create(user, source, name)
        if not created and account.status == ExternalAccount.Status.DISABLED:
            _reenable(account)
    if created:
        logger.info("connected %s", account)
    return account, created


@dataclass(frozen=True)
class ProvenAccount:
    """What proving a name did: the user's account of it, whether it is new, and how
    many other users' unproven accounts of the name were disabled (taken over)."""

    account: ExternalAccount
    created: bool
    taken_over: int


def connect_proven_account(
    *,
    user: Any,
    source: str,
    external_username: str,
    max_accounts: int | None = None,
) -> ProvenAccount:
    """Connect a name the user has just proven theirs (Last.fm's web authentication
    answered with it), or mark their existing account of it proven and re-enable it.

    A proven owner takes the name over from unproven claims: other users' accounts
    of the same name that were never proven are disabled, with ``taken_over_at`` set
    so their owners are told why; their listens are kept. A name another user has
    already proven is refused (``NameProvenByAnotherUser``). The cap of
    ``max_accounts`` applies as in ``connect_user_account``.
    """
    name = _checked_name(source, external_username)
    now = timezone.now()
    try:
        with transaction.atomic():
            _lock_user(user)
            _refuse_proven_by_another(user, source, name)
            account = _existing(user.pk, source, name)
            created = False
            if account is None:
                _check_new_account_allowed(user, source, name, max_accounts, allow_shared=True)
                account, created = _create(user, source, name, proven_at=now)
            else:
                if account.status == ExternalAccount.Status.DISABLED:
                    _reenable(account)
                account.proven_at = account.proven_at or now
                account.taken_over_at = None
                account.save(update_fields=["proven_at", "taken_over_at", "updated_at"])
            taken_over = (
                ExternalAccount.objects.filter(
                    source=source, external_username__iexact=name, proven_at__isnull=True
                )
                .exclude(user_id=user.pk)
                .update(status=ExternalAccount.Status.DISABLED, taken_over_at=now, updated_at=now)
            )
    except IntegrityError as error:
        # Another user's proof of the same name committed first (one proven owner
        # per name is a database constraint).
        raise _proven_refusal(source, name) from error
    logger.info("proven %s; %d unproven claim(s) taken over", account, taken_over)
    return ProvenAccount(account=account, created=created, taken_over=taken_over)


def _lock_user(user: Any) -> None:
    # One connect per user at a time, so concurrent ones cannot pass the cap together.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _create(
    user: Any, source: str, name: str, *, proven_at: Any = None
) -> tuple[ExternalAccount, bool]:
    try:
        with transaction.atomic():
            account = ExternalAccount.objects.create(
                user=user, source=source, external_username=name, proven_at=proven_at
            )
    except IntegrityError:
        # A concurrent connect won the unique constraint: use its row.
        existing = _existing(user.pk, source, name)
        if existing is None:
            raise
        return existing, False
    # Announced, not queued by name: listens decides what a new account needs.
    pk = account.pk
    transaction.on_commit(
        lambda: account_connected.send(sender=ExternalAccount, account_id=pk, source=source)
    )
    return account, True


def _reenable(account: ExternalAccount) -> None:
    never_fetched = account.last_ingested_ts is None
    account.status = ExternalAccount.Status.NEW if never_fetched else ExternalAccount.Status.OK
    account.save(update_fields=["status", "updated_at"])


def _refuse_proven_by_another(user: Any, source: str, name: str) -> None:
    proven = (
        ExternalAccount.objects.filter(
            source=source, external_username__iexact=name, proven_at__isnull=False
        )
        .exclude(user_id=user.pk)
        .exists()
    )
    if proven:
        raise _proven_refusal(source, name)


def _proven_refusal(source: str, name: str) -> NameProvenByAnotherUser:
    label = ListenSource(source).label
    return NameProvenByAnotherUser(
        f"another Sidetrack user has proven with {label} that {name!r} is theirs; "
        "ask staff if it is yours too"
    )


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
