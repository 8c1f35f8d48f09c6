"""The one store path: listens a source reported (polled, imported or submitted)
resolved to recordings, inserted once under the unique constraint, and checked
against the user's other sources for the same play, in one transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone

from accounts.models import ExternalAccount
from listens.duplicates import mark_cross_source_duplicates
from listens.ingest.paging import FetchedPage
from listens.ingest.payloads import IncomingListen, blank_name_field
from listens.models import IngestRun, ListenEvent
from metadata.identity import recordings_for_tracks
from metadata.matching import TrackText
from metadata.models import Recording
from metadata.resolution import Hint, TrackResolver, apply_resolution, known_recordings

logger = logging.getLogger(__name__)


@dataclass
class StoredPage:
    new: int = 0
    known: int = 0
    unresolved: int = 0
    skipped: int = 0  # artist or title empty after cleaning


# Texts a run remembers between its batches, at most, and for how long: a longer
# history, or an older memory, starts over (a curator may have re-pointed a text).
MEMO_MAX_TEXTS = 50_000
MEMO_MAX_SECONDS = 60.0


@dataclass
class RecordingMemo:
    """What one run's earlier batches learnt about reported identities. A history
    repeats them (favourite songs, whole albums again), so a later batch looks up
    only the identities it brings first. A recording merged away meanwhile fails the batch's
    foreign key check; ``store_listens`` then stores the batch again without the memo.
    A text a curator re-pointed is seen within ``MEMO_MAX_SECONDS``."""

    # How much and how long it remembers, its clock, and how it finds the recordings
    # of identities it has not seen (tests pass their own).
    max_texts: int = MEMO_MAX_TEXTS
    max_seconds: float = MEMO_MAX_SECONDS
    clock: Callable[[], float] = time.monotonic
    find_recordings: Callable[[list[Any]], dict[str, Recording]] = recordings_for_tracks
    recordings: dict[str, Recording] = field(default_factory=dict)
    hints_checked: set[tuple[str, tuple[Hint, ...]]] = field(default_factory=set)
    started_at: datetime = field(default_factory=timezone.now)
    cleared_at: float | None = None

    def __post_init__(self) -> None:
        if self.cleared_at is None:
            self.cleared_at = self.clock()

    def recordings_for(self, listens: Sequence[IncomingListen]) -> dict[str, Recording]:
        unseen = [item.reported for item in listens if item.identity_key not in self.recordings]
        too_old = self.clock() - (self.cleared_at or 0.0) >= self.max_seconds
        if too_old or len(self.recordings) + len(unseen) > self.max_texts:
            self.clear()
            unseen = [item.reported for item in listens]
        if unseen:
            self.recordings |= self.find_recordings(unseen)
        return self.recordings

    def clear(self) -> None:
        self.recordings.clear()
        self.hints_checked.clear()
        self.cleared_at = self.clock()


def _verify_free_hints(
    incoming: Sequence[IncomingListen], recordings: dict[str, Recording], memo: RecordingMemo
) -> None:
    """Resolve identities whose source MBID agrees with a known row or ListenBrainz's
    mapping: no upstream request. Other hints wait on the row for the resolver
    (and are not checked again in this run). So does a hint that an earlier run
    left on the row already: it was checked then, and the resolver has it."""
    waiting: dict[str, IncomingListen] = {}
    for listen in incoming:
        if not listen.hints or recordings[listen.identity_key].mbid is not None:
            continue
        seen = (listen.identity_key, listen.hints)
        if seen in memo.hints_checked:
            continue
        memo.hints_checked.add(seen)
        row = recordings[listen.identity_key]
        if not _hint_left_by_earlier_run(row, listen.hints, memo.started_at):
            waiting.setdefault(listen.identity_key, listen)
    if not waiting:
        return
    known = known_recordings({h.mbid for listen in waiting.values() for h in listen.hints})
    if not known and not any(h.mapped_title for item in waiting.values() for h in item.hints):
        return  # nothing to check against without a request
    resolver = TrackResolver(use_mapper=False)
    for key, listen in waiting.items():
        track = TrackText(listen.track_name, listen.artist_name, listen.album_name or None)
        resolution = resolver.verify_hints(
            track, listen.hints, allow_lookup=False, known_rows=known
        )
        if resolution is not None:
            recordings[key] = apply_resolution(recording=recordings[key], resolution=resolution)


def _hint_left_by_earlier_run(row: Recording, hints: tuple[Hint, ...], since: datetime) -> bool:
    return (
        row.hint_mbid is not None
        and str(row.hint_mbid) == hints[0].mbid
        and row.created_at < since
        and all(hint.mapped_title is None for hint in hints)
    )


def store_listens(
    *,
    account: ExternalAccount,
    listens: Sequence[IncomingListen],
    memo: RecordingMemo | None = None,
    in_transaction: Callable[[StoredPage], None] | None = None,
) -> StoredPage:
    """Store ``listens`` on ``account`` in one transaction: what is new is inserted,
    resolved (client MBIDs as hints) and checked for cross-source duplicates; what is
    stored already is counted, never added twice. ``in_transaction`` runs in the same
    transaction with the counts (a run moves its cursor there).

    ``memo`` carries what earlier batches of the same run learnt about texts.
    """
    if memo is None:
        return _store_listens(account, listens, RecordingMemo(), in_transaction)
    try:
        return _store_listens(account, listens, memo, in_transaction)
    except IntegrityError:
        # A recording the run remembers was merged away (by a curator or the
        # resolver) and the insert's foreign key failed: look every text up again.
        memo.clear()
        return _store_listens(account, listens, memo, in_transaction)


def store_page(
    *,
    account: ExternalAccount,
    run: IngestRun,
    page: FetchedPage,
    memo: RecordingMemo | None = None,
) -> StoredPage:
    """Store one page's (or batch's) listens and move the cursor, in one transaction."""

    def record(result: StoredPage) -> None:
        if page.safe_cursor is not None:
            ExternalAccount.objects.filter(pk=account.pk).filter(
                Q(last_ingested_ts__isnull=True) | Q(last_ingested_ts__lt=page.safe_cursor)
            ).update(last_ingested_ts=page.safe_cursor)
        IngestRun.objects.filter(pk=run.pk).update(
            pages=run.pages + page.pages,
            listens_new=run.listens_new + result.new,
            listens_known=run.listens_known + result.known,
            unresolved=run.unresolved + result.unresolved,
            errors=run.errors + page.malformed + result.skipped,
        )

    result = store_listens(account=account, listens=page.listens, memo=memo, in_transaction=record)
    run.pages += page.pages
    run.listens_new += result.new
    run.listens_known += result.known
    run.unresolved += result.unresolved
    run.errors += page.malformed + result.skipped
    return result


def _store_listens(
    account: ExternalAccount,
    incoming: Sequence[IncomingListen],
    memo: RecordingMemo,
    in_transaction: Callable[[StoredPage], None] | None,
) -> StoredPage:
    result = StoredPage()
    # Both names, visible once cleaned (ListenBrainz refuses a listen without either):
    # a listen of only NUL, control or zero-width characters is counted, not stored.
    listens = [item for item in incoming if blank_name_field(item) is None]
    recordings = memo.recordings_for(listens)
    _verify_free_hints(listens, recordings, memo)
    result.skipped = len(incoming) - len(listens)
    if result.skipped:
        logger.warning(
            "%s: skipped %d listens whose artist or title is empty after cleaning",
            account,
            result.skipped,
        )
    with transaction.atomic():
        # Two workers storing one account's page take turns here, so each sees
        # the other's rows and counts only what it really added.
        ExternalAccount.objects.select_for_update().only("pk").get(pk=account.pk)
        if listens:
            times = [item.listened_at for item in listens]
            known = set(
                ListenEvent.objects.filter(
                    account=account, listened_at__range=(min(times), max(times))
                ).values_list("listened_at", "track_key")
            )
            fresh = {
                identity: item
                for item in listens
                if (identity := (item.listened_at, item.track_key)) not in known
            }
            recordings = _hold_recordings(fresh.values(), recordings, memo)
            _insert_listens(account, fresh.values(), recordings)
            result.new = len(fresh)
            result.known = len(listens) - len(fresh)
            result.unresolved = sum(
                1 for item in fresh.values() if recordings[item.identity_key].mbid is None
            )
            if fresh:
                mark_cross_source_duplicates(account=account, since=min(times), until=max(times))
        if in_transaction:
            in_transaction(result)
    return result


# Merges a resolver may make meanwhile: after this many, the batch's IntegrityError
# retry in ``store_listens`` takes over.
HOLD_ATTEMPTS = 3


def _hold_recordings(
    listens: Iterable[IncomingListen], recordings: dict[str, Recording], memo: RecordingMemo
) -> dict[str, Recording]:
    """The batch's recordings, share-locked until it commits (PostgreSQL), so that a
    resolver or curator merging one of them away (a merge locks its rows ``FOR
    UPDATE`` and deletes the source) waits for this batch, then moves its listens
    with the others; one merged away before the lock is looked up again here, in
    the transaction. SQLite runs one writer at a time: nothing to hold."""
    if connection.vendor != "postgresql":
        return recordings
    listens = list(listens)
    keys = {item.identity_key for item in listens}
    table = connection.ops.quote_name(Recording._meta.db_table)
    for _attempt in range(HOLD_ATTEMPTS):
        ids = sorted({recordings[key].pk for key in keys})
        if not ids:
            return recordings
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", [ids]
            )
            alive = {row[0] for row in cursor.fetchall()}
        if len(alive) == len(ids):
            return recordings
        memo.clear()  # aliases now lead to where the merges went
        recordings = memo.recordings_for(listens)
    return recordings


_LISTEN_COLUMNS = (
    "user",
    "account",
    "source",
    "listened_at",
    "recording",
    "track_name",
    "artist_name",
    "album_name",
    "track_key",
    "raw_payload",
    "ingested_at",
)


def _insert_listens(
    account: ExternalAccount, listens: Iterable[IncomingListen], recordings: dict[str, Recording]
) -> None:
    """One executemany, the unique constraint deciding (ON CONFLICT DO NOTHING on
    SQLite and PostgreSQL alike). The ORM's per-object, per-field preparation made
    up most of ingest time in bench/ingest.py; values are adapted the same way here."""
    fields = [ListenEvent._meta.get_field(name) for name in _LISTEN_COLUMNS]
    ops = connection.ops
    adapt_datetime = db_datetime_adapter(connection)
    now = adapt_datetime(timezone.now())
    params = [
        (
            account.user_id,
            account.pk,
            account.source,
            adapt_datetime(item.listened_at),
            recordings[item.identity_key].id,
            item.track_name,
            item.artist_name,
            item.album_name,
            item.track_key,
            item.raw_json,
            now,
        )
        for item in listens
    ]
    if not params:
        return
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {ops.quote_name(ListenEvent._meta.db_table)} ({columns}) "
        f"VALUES ({placeholders}) ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def db_datetime_adapter(db: BaseDatabaseWrapper) -> Callable[[datetime], Any]:
    """Django's adapter for a datetime parameter, with a shortcut for SQLite when the
    value and the connection are both in UTC (every listen's time is): its general
    checks cost about 3 µs a listen in bench/ingest.py's profile."""
    adapt = db.ops.adapt_datetimefield_value
    if db.vendor != "sqlite" or db.timezone is not UTC:
        return adapt

    def adapt_utc(value: datetime) -> Any:
        return str(value.replace(tzinfo=None)) if value.tzinfo is UTC else adapt(value)

    return adapt_utc
