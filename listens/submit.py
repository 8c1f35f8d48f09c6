"""Listens players submit through the ListenBrainz-compatible /1/ API: stored through
the pollers' store path on the user's ``submitted`` account, made on the first
submission; ``playing_now`` reports go to the now-playing cache, never stored."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import ExternalAccount, ListenSource
from listens.ingest.payloads import incoming_from_submission
from listens.ingest.store import StoredPage, store_listens
from listens.now_playing import report_submitted_now_playing
from listens.submission import Submission


def submitted_account(*, user: Any) -> ExternalAccount:
    """The user's ``submitted`` account, made on first use (concurrent first
    submissions meet at the unique constraint)."""
    accounts = ExternalAccount.objects.filter(user=user, source=ListenSource.SUBMITTED)
    account = accounts.first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return ExternalAccount.objects.create(
                user=user,
                source=ListenSource.SUBMITTED,
                external_username=user.username,
                status=ExternalAccount.Status.OK,
            )
    except IntegrityError:
        return accounts.get()


def submit_listens(*, user: Any, submission: Submission) -> StoredPage:
    """Store (or, for ``playing_now``, report) a validated submission for ``user``.
    Re-submitting a listen adds nothing."""
    account = submitted_account(user=user)
    if submission.listen_type == "playing_now":
        report_submitted_now_playing(account=account, listen=submission.listens[0])
        return StoredPage()
    incoming = [incoming_from_submission(listen) for listen in submission.listens]
    return store_listens(account=account, listens=incoming)
