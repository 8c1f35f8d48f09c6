"""Walking a source's history in pages, oldest first, each page with the cursor it
makes safe; and reading pages ahead on a thread while earlier ones are stored."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from queue import Empty, Queue
from typing import Any, NamedTuple

from listens.clients.lastfm import LastfmClient
from listens.clients.listenbrainz import ListenBrainzClient
from listens.ingest.payloads import IncomingListen, incoming_from_lastfm, incoming_from_listenbrainz
from sidetrack.http.errors import UnavailableError

logger = logging.getLogger(__name__)

LASTFM_PAGE_SIZE = 200
MAX_LASTFM_RESTARTS = 3
LISTENBRAINZ_PAGE_SIZE = 1000
INGEST_BATCH_SECONDS = 30.0


@dataclass(frozen=True)
class FetchedPage:
    listens: list[IncomingListen]
    # Every listen at or before this second is on this page or an earlier one.
    safe_cursor: int | None
    malformed: int = 0
    pages: int = 1  # upstream pages in it (several once batched)


def batched_pages(
    pages: Iterator[FetchedPage],
    listens: int,
    seconds: float = INGEST_BATCH_SECONDS,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[FetchedPage, None, None]:
    """Consecutive pages merged up to about ``listens`` listens, stored in one
    transaction: the per-transaction work (claim lock, cursor, run log, commit)
    then counts once per batch instead of once per 200 Last.fm listens. A batch
    also ends once its pages took ``seconds`` to fetch, so that a slow source still
    sees its listens stored (and the claim renewed) as it goes. A fetch that fails
    mid-batch still hands over the pages read before it."""
    batch: list[FetchedPage] = []
    started = clock()
    try:
        for page in pages:
            batch.append(page)
            full = sum(len(item.listens) for item in batch) >= listens
            if full or clock() - started >= seconds:
                yield _merged(batch)
                batch = []
                started = clock()
    except Exception:
        if batch:
            yield _merged(batch)
        raise
    if batch:
        yield _merged(batch)


def _merged(pages: Sequence[FetchedPage]) -> FetchedPage:
    if len(pages) == 1:
        return pages[0]
    cursors = [page.safe_cursor for page in pages if page.safe_cursor is not None]
    return FetchedPage(
        listens=[listen for page in pages for listen in page.listens],
        safe_cursor=max(cursors) if cursors else None,
        malformed=sum(page.malformed for page in pages),
        pages=sum(page.pages for page in pages),
    )


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def lastfm_pages(
    client: LastfmClient,
    username: str,
    *,
    cursor: int | None,
    run_start: int,
    page_size: int = LASTFM_PAGE_SIZE,
) -> Iterator[FetchedPage]:
    """Pages from ``cursor`` to ``run_start``, oldest page first.

    A scrobble carries its track's start time, so one submitted during the run
    can land inside the window and push older listens onto pages already read.
    Last.fm's ``total`` for the window then changes: the walk restarts from the
    last safe point instead of moving the cursor past a listen it never saw.
    """
    safe_point = cursor
    for _attempt in range(MAX_LASTFM_RESTARTS + 1):
        walk = _lastfm_walk(
            client, username, cursor=safe_point, run_start=run_start, page_size=page_size
        )
        for page in walk:
            if page is None:  # the window changed under us
                break
            yield page
            if page.safe_cursor is not None:
                safe_point = max(safe_point or 0, page.safe_cursor)
        else:
            return
    raise UnavailableError(
        "Last.fm history kept changing while it was read; the next run resumes",
        service="lastfm",
        retryable=True,
    )


def _lastfm_walk(
    client: LastfmClient, username: str, *, cursor: int | None, run_start: int, page_size: int
) -> Iterator[FetchedPage | None]:
    window = {"from_ts": cursor, "to_ts": run_start}
    first = client.get_recent_tracks(username, page=1, limit=page_size, **window)
    if first.total_pages is None and len(first.tracks) >= page_size:
        # Without a page count a full page may hide older ones: reading it as the
        # only page would move the cursor past them.
        raise UnavailableError(
            "Last.fm answered a full page without a page count", service="lastfm", retryable=True
        )
    total_pages, total = first.total_pages or 1, first.total
    for number in range(total_pages, 0, -1):
        if total_pages == 1:
            page = first
        else:
            # Page 1 is fetched again last, like every other page, to see the shift check.
            page = client.get_recent_tracks(username, page=number, limit=page_size, **window)
            if page.total is not None and total is not None and page.total != total:
                logger.info("%s: Last.fm history changed during paging; restarting", username)
                yield None
                return
        listens = [incoming_from_lastfm(t) for t in page.tracks if t.listened_at]
        malformed = len(page.malformed)
        if number == 1:
            safe = run_start - 1  # `to` may be inclusive or not: never claim that second
        elif listens:
            safe = max(ts(item.listened_at) for item in listens) - 1
        else:
            safe = None
        yield FetchedPage(listens, safe, malformed)


def listenbrainz_pages(
    client: ListenBrainzClient,
    username: str,
    *,
    cursor: int | None,
    run_start: int | None = None,
    page_size: int = LISTENBRAINZ_PAGE_SIZE,
) -> Iterator[FetchedPage]:
    """Oldest listens after ``cursor`` first: with ``min_ts`` set, the server takes
    the oldest ``count`` listens after it (returned newest first). ``min_ts=0``
    counts as unset there (newest first), so a first ingest starts at 1.
    """
    min_ts = cursor if cursor else 1
    while True:
        # max_ts (exclusive) keeps a listen dated in the future from moving the
        # cursor past listens still to come.
        page = client.get_listens(
            username,
            min_ts=min_ts,
            max_ts=run_start + 1 if run_start is not None else None,
            count=page_size,
        )
        listens = [incoming_from_listenbrainz(item) for item in page.listens]
        if not listens:
            yield FetchedPage([], None, len(page.malformed))
            return
        newest = max(ts(item.listened_at) for item in listens)
        if len(page.listens) + len(page.malformed) < page_size:
            # Fewer than asked: the end of the history, that second included.
            yield FetchedPage(listens, newest, len(page.malformed))
            return
        # A full page may cut through its newest second: claim only what precedes it,
        # and start the next page there (min_ts is exclusive).
        safe = newest - 1
        if safe <= min_ts:
            # A whole page in one second: step over it rather than loop forever.
            logger.warning("%s: over %d listens in one second", username, len(listens))
            safe = newest
        yield FetchedPage(listens, safe, len(page.malformed))
        min_ts = safe


class _FetchFailed(NamedTuple):
    error: BaseException


_FETCH_DONE = object()


def read_ahead(pages: Iterator[FetchedPage], depth: int) -> Generator[FetchedPage, None, None]:
    """``pages``, fetched and parsed on a thread up to ``depth`` pages ahead while the
    caller stores what came before: the network wait and the parsing overlap with
    storing. ``pages`` must not touch the database (the API clients don't): the
    thread has no connection of its own. Closing this stops the fetching once the
    request in flight has ended."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                queue.put(page)
                if stop.is_set():
                    return
            queue.put(_FETCH_DONE)
        except BaseException as error:  # handed to the caller, raised there
            queue.put(_FetchFailed(error))

    fetcher = threading.Thread(target=fetch, name="ingest-fetch", daemon=True)
    fetcher.start()
    try:
        while (item := queue.get()) is not _FETCH_DONE:
            if isinstance(item, _FetchFailed):
                raise item.error
            yield item
    finally:
        stop.set()
        while fetcher.is_alive():  # a full queue would keep it waiting to hand one over
            with suppress(Empty):
                queue.get(timeout=0.05)
        if isinstance(pages, Generator):
            pages.close()
