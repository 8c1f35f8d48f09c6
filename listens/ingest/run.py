"""One account's ingest: claim it, walk its source from the cursor to now, store
each batch through the shared store path, and record how the run went."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ExternalAccount, ListenSource
from listens.ingest.claims import AccountClaims, IngestAlreadyRunning, close_abandoned_runs
from listens.ingest.paging import (
    LASTFM_PAGE_SIZE,
    LISTENBRAINZ_PAGE_SIZE,
    FetchedPage,
    batched_pages,
    lastfm_pages,
    listenbrainz_pages,
    read_ahead,
    ts,
)
from listens.ingest.store import RecordingMemo, store_page
from listens.models import IngestRun
from listens.providers import SourceClient, client_for
from sidetrack.http.errors import ExternalApiError

logger = logging.getLogger(__name__)

DATABASE_CLAIMS = AccountClaims()


def ingest_account(
    *,
    account: ExternalAccount,
    client: SourceClient | None = None,
    on_page: Callable[[IngestRun], None] | None = None,
    now: datetime | None = None,
    page_size: int | None = None,
    memo: RecordingMemo | None = None,
    claims: AccountClaims = DATABASE_CLAIMS,
) -> IngestRun:
    """Fetch and store everything new on one account since its cursor.

    Raises ``IngestAlreadyRunning`` when another worker has the account. Any
    external failure ends the run cleanly (cursor where it safely is) and is
    recorded on the run and the account; it is not raised.

    ``client``: the source's client (else one from settings, closed at the end);
    ``page_size``: listens per request (else the source's largest); ``memo`` and
    ``claims``: what the run remembers and how it holds the account (tests).
    """
    if account.source == ListenSource.SUBMITTED:
        raise ValueError(f"{account}: submitted listens arrive through the /1/ API, not polling")
    token = claims.claim(account)
    try:
        account.refresh_from_db()
        close_abandoned_runs(account)
        run_start = ts(now or timezone.now())
        run = IngestRun.objects.create(account=account, cursor_before=account.last_ingested_ts)
        ExternalAccount.objects.filter(pk=account.pk).update(last_ingest_started_at=timezone.now())
    except BaseException:
        claims.release(account, token)
        raise
    memo = memo or RecordingMemo()
    page_size = page_size or (
        LASTFM_PAGE_SIZE if account.source == ListenSource.LASTFM else LISTENBRAINZ_PAGE_SIZE
    )
    ahead: Generator[FetchedPage, None, None] | None = None
    own_client = ExitStack()
    try:
        if client is None:
            client = own_client.enter_context(client_for(account.source))
        fetched = _pages(account, run_start, client, page_size)
        # Two batches ahead: the next one is fetched while this one is stored.
        ahead = read_ahead(fetched, depth=max(2, 2 * settings.INGEST_BATCH_LISTENS // page_size))
        pages = batched_pages(ahead, settings.INGEST_BATCH_LISTENS)
        for page in pages:
            store_page(account=account, run=run, page=page, memo=memo)
            claims.renew(account, token)
            if on_page:
                on_page(run)
    except ExternalApiError as error:
        _finish(account, run, error=str(error), permanent=not error.retryable)
    except ImproperlyConfigured as error:
        # A missing key needs someone's attention ("error"), as a rejected one does.
        _finish(account, run, error=str(error), permanent=True)
    except IngestAlreadyRunning as error:
        _finish(account, run, error=str(error), permanent=False)
    except BaseException as error:
        _finish(account, run, error=f"internal error: {type(error).__name__}", permanent=False)
        raise
    else:
        _finish(account, run)
    finally:
        if ahead is not None:
            ahead.close()  # stops the fetching thread
        own_client.close()  # after the thread: it may still be using the client
        claims.release(account, token)
    account.refresh_from_db()
    return run


def _pages(
    account: ExternalAccount, run_start: int, client: SourceClient, page_size: int
) -> Iterator[FetchedPage]:
    # Scrobbles can arrive late with a past timestamp (offline players; Last.fm takes
    # them up to two weeks old): each run reads a little behind its cursor again,
    # and the unique constraint makes the overlap free.
    cursor = account.last_ingested_ts
    if cursor is not None:
        cursor = max(1, cursor - settings.INGEST_LOOKBACK_SECONDS)
    window = {"cursor": cursor, "run_start": run_start, "page_size": page_size}
    if account.source == ListenSource.LASTFM:
        return lastfm_pages(client, account.external_username, **window)
    return listenbrainz_pages(client, account.external_username, **window)


def _finish(
    account: ExternalAccount, run: IngestRun, *, error: str = "", permanent: bool = False
) -> None:
    now = timezone.now()
    account.refresh_from_db(fields=["last_ingested_ts"])
    run.finished_at = now
    run.cursor_after = account.last_ingested_ts
    run.status = IngestRun.Status.FAILED if error else IngestRun.Status.SUCCEEDED
    run.error_message = error
    run.save(update_fields=["finished_at", "cursor_after", "status", "error_message"])
    # A disconnect while the run was going stays a disconnect.
    still_enabled = ExternalAccount.objects.filter(pk=account.pk).exclude(
        status=ExternalAccount.Status.DISABLED
    )
    if error:
        status = ExternalAccount.Status.ERROR if permanent else ExternalAccount.Status.RETRYING
        still_enabled.update(
            status=status, last_error=error, last_error_at=now, last_ingest_finished_at=now
        )
        logger.warning("ingest of %s failed: %s", account, error)
    else:
        still_enabled.update(
            status=ExternalAccount.Status.OK, last_error="", last_ingest_finished_at=now
        )


def ingestable_accounts(
    *, username: str | None = None, source: str | None = None
) -> QuerySet[ExternalAccount]:
    """Accounts a poller reads: enabled ones with a source to poll (a ``submitted``
    account's listens arrive through the submit API, never by polling)."""
    accounts = ExternalAccount.objects.exclude(status=ExternalAccount.Status.DISABLED).exclude(
        source=ListenSource.SUBMITTED
    )
    if username:
        accounts = accounts.filter(user__username=username)
    if source:
        accounts = accounts.filter(source=source)
    return accounts.select_related("user").order_by("pk")
