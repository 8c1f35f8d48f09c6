"""One ingest per account at a time, across hosts: an expiring claim on the account
row, renewed as the run goes, released at its end."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import ExternalAccount
from listens.models import IngestRun


class IngestAlreadyRunning(Exception):
    """Another worker holds this account's ingest claim."""


def claim(account: ExternalAccount) -> str:
    token = secrets.token_hex(16)
    now = timezone.now()
    claimed = (
        ExternalAccount.objects.filter(pk=account.pk)
        .filter(Q(ingest_claimed_until__isnull=True) | Q(ingest_claimed_until__lt=now))
        .update(
            ingest_claimed_until=now + timedelta(seconds=settings.INGEST_CLAIM_SECONDS),
            ingest_claim_token=token,
        )
    )
    if not claimed:
        raise IngestAlreadyRunning(f"{account} is being ingested by another worker")
    return token


def renew_claim(account: ExternalAccount, token: str) -> None:
    renewed = ExternalAccount.objects.filter(pk=account.pk, ingest_claim_token=token).update(
        ingest_claimed_until=timezone.now() + timedelta(seconds=settings.INGEST_CLAIM_SECONDS)
    )
    if not renewed:
        # A page took longer than the claim and another worker took the account over.
        raise IngestAlreadyRunning(f"{account}: another worker took over this ingest")


def close_abandoned_runs(account: ExternalAccount) -> None:
    """Runs of a worker that died (SIGKILL, OOM, task timeout) stay "running": with
    the claim ours, none of them can still be going."""
    IngestRun.objects.filter(account=account, status=IngestRun.Status.RUNNING).update(
        status=IngestRun.Status.FAILED,
        finished_at=timezone.now(),
        error_message="abandoned: its worker stopped before finishing",
    )


def release_claim(account: ExternalAccount, token: str) -> None:
    ExternalAccount.objects.filter(pk=account.pk, ingest_claim_token=token).update(
        ingest_claimed_until=None, ingest_claim_token=""
    )


class AccountClaims:
    """The claim operations an ingest run uses, as one object it is handed: the
    database claims above, or a test's stand-in (two workers past the claim at once)."""

    def claim(self, account: ExternalAccount) -> str:
        return claim(account)

    def renew(self, account: ExternalAccount, token: str) -> None:
        renew_claim(account, token)

    def release(self, account: ExternalAccount, token: str) -> None:
        release_claim(account, token)
