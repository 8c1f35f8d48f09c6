"""Listen ingest: every scrobble stored exactly once, whatever the network does.

Invariants (each has a test):
- The account's cursor (``last_ingested_ts`` = every listen at or before it is
  stored) moves in the same transaction as the page that justifies it, so a
  crash anywhere loses nothing: the next run starts from the cursor.
- A unique constraint on (account, listened_at, track text) makes re-fetching
  harmless: the page insert (``ON CONFLICT DO NOTHING``) skips what is stored.
- Last.fm runs are bounded by ``to`` = run start and walk pages oldest first
  (as ListenBrainz's own importer does), so arrivals during paging are left
  for the next run and the cursor can advance after every page.
- ListenBrainz pages oldest first with ``min_ts`` (exclusive); the next page
  starts one second *before* the newest listen seen, so listens sharing that
  second across a page boundary are all kept.
- One ingest per account at a time, across hosts: an expiring claim on the
  account row (renewed every batch), plus the constraint as the last word.

For speed (bench/ingest.py), pages are stored in batches of about
``settings.INGEST_BATCH_LISTENS`` listens, one transaction each, while the next page is
fetched and parsed on a thread; a run remembers the recordings of texts it has
seen, so a batch looks up only texts new to the run.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from queue import Empty, Queue
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone

from accounts.models import ExternalAccount, ListenSource
from listens.clients.lastfm import LastfmClient, LastfmTrack
from listens.clients.listenbrainz import LBListen, ListenBrainzClient
from listens.duplicates import mark_cross_source_duplicates
from listens.models import IngestRun, ListenEvent, TasteSnapshot
from listens.providers import get_lastfm_client, get_listenbrainz_client
from metadata.clients.musicbrainz import parse_mbid
from metadata.matching import TrackText, identity_key_digest, text_key_digest
from metadata.models import Recording
from metadata.resolution import Hint, TrackResolver, apply_resolution, known_recordings
from metadata.services import ReportedTrack, recordings_for_tracks
from sidetrack.http import (
    REDACTED,
    SECRET_PARAM_NAMES,
    ExternalApiError,
    UnavailableError,
    known_secrets,
    redact_text,
)

logger = logging.getLogger(__name__)

LASTFM_PAGE_SIZE = 200
MAX_LASTFM_RESTARTS = 3
LISTENBRAINZ_PAGE_SIZE = 1000
INGEST_BATCH_SECONDS = 30.0


class IngestAlreadyRunning(Exception):
    """Another worker holds this account's ingest claim."""


# --- What a source reported, in one shape --------------------------------------------


class IncomingListen(NamedTuple):
    """One listen as a source reported it, in one shape. Made with :meth:`of`.

    A named tuple rather than a frozen dataclass: ingest makes one per listen, and a
    tuple is made in a fifth of the time."""

    listened_at: datetime
    track_name: str
    artist_name: str
    album_name: str
    duration_ms: int | None
    hints: tuple[Hint, ...]
    raw_json: str  # the payload as stored: serialized, secrets redacted, NULs dropped
    track_key: str  # the text's key (metadata.matching): with the time, the listen's
    identity_key: str  # (artist, title, album, source MBID): what it resolves by

    @classmethod
    def of(
        cls,
        *,
        listened_at: datetime,
        track_name: str,
        artist_name: str,
        album_name: str,
        duration_ms: int | None,
        hints: tuple[Hint, ...],
        raw_json: str,
    ) -> IncomingListen:
        key = text_key_digest(artist_name, track_name)
        hint = hints[0].mbid if hints else None
        identity = identity_key_digest(artist_name, track_name, album_name, hint)
        return cls(
            listened_at,
            track_name,
            artist_name,
            album_name,
            duration_ms,
            hints,
            raw_json,
            key,
            identity,
        )

    @property
    def reported(self) -> ReportedTrack:
        mbid = self.hints[0].mbid if self.hints else None
        return ReportedTrack(
            self.artist_name, self.track_name, self.album_name, self.duration_ms, mbid
        )


def _clean(text: str | None, limit: int = 5000) -> str:
    # PostgreSQL refuses NUL in text and JSON, and no database stores half an
    # emoji (a lone surrogate from a name cut short upstream).
    if not text:
        return ""
    if "\x00" in text or not text.isascii():
        text = _encodable(text.replace("\x00", ""))
    return text.strip()[:limit]


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _clean_payload(value: Any) -> Any:
    """The payload as stored: secrets redacted (as ``redact_mapping`` does), NULs
    dropped and NaN or infinities made null (PostgreSQL refuses both in JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return redact_text(_encodable(value.replace("\x00", ""))) if value else value
    if isinstance(value, dict):
        return {
            (key := _encodable(redact_text(str(k).replace("\x00", "")))): (
                REDACTED if key.lower() in SECRET_PARAM_NAMES else _clean_payload(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean_payload(v) for v in value]
    return value


def payload_json(raw: Any) -> str:
    """``raw`` as stored, serialized: what ``_clean_payload`` would make of it.

    This runs for every listen, and almost every payload needs no cleaning: it is
    serialized once and scanned for anything cleaning could change (an escaped NUL,
    a secret's name or value, ``=`` as in ``api_key=…``). Only a payload where one
    shows up (or might), or that orjson refuses (a lone surrogate), is cleaned first.
    """
    try:
        text = orjson.dumps(raw).decode()
    except orjson.JSONEncodeError:
        text = None
    if text is None or _may_need_cleaning(text):
        cleaned = _clean_payload(raw)
        try:
            text = orjson.dumps(cleaned).decode()
        except orjson.JSONEncodeError:  # an integer past 64 bits
            text = json.dumps(cleaned, ensure_ascii=False)
    return text


# A secret-named key (or value) in lower-cased serialized JSON.
_SECRET_NAME_RE = re.compile('"(?:' + "|".join(sorted(SECRET_PARAM_NAMES)) + ')"')


def _may_need_cleaning(text: str) -> bool:
    # Plain substring tests and a case-sensitive pattern: a case-insensitive one
    # took longer than the serializing.
    if "\\u0000" in text or "=" in text or _SECRET_NAME_RE.search(text.lower()):
        return True
    # A registered secret is letters and digits (real keys and tokens), which JSON
    # leaves as they are.
    return any(secret in text for secret in known_secrets())


def _positive(value: int | None) -> int | None:
    return value if isinstance(value, int) and 0 < value < 2**31 else None


def incoming_from_lastfm(track: LastfmTrack) -> IncomingListen:
    mbid = parse_mbid(track.track_mbid)
    return IncomingListen.of(
        listened_at=track.listened_at,
        track_name=_clean(track.track_name),
        artist_name=_clean(track.artist_name),
        album_name=_clean(track.album_name),
        duration_ms=None,
        hints=(Hint(mbid),) if mbid else (),
        raw_json=payload_json(track.raw),
    )


def incoming_from_listenbrainz(listen: LBListen) -> IncomingListen:
    hints = []
    submitted = parse_mbid(listen.source_recording_mbid)
    if submitted:
        hints.append(Hint(submitted))
    mapping = listen.mapping
    mapped = parse_mbid(mapping.recording_mbid) if mapping else None
    if mapping and mapped:
        hints.append(Hint(mapped, mapping.recording_name, mapping.artist_credit))
    return IncomingListen.of(
        listened_at=listen.listened_at,
        track_name=_clean(listen.track_name),
        artist_name=_clean(listen.artist_name),
        album_name=_clean(listen.release_name),
        duration_ms=_positive(listen.duration_ms),
        hints=tuple(hints),
        raw_json=payload_json(listen.raw),
    )


# --- Paging through a source ---------------------------------------------------------


@dataclass(frozen=True)
class FetchedPage:
    listens: list[IncomingListen]
    # Every listen at or before this second is on this page or an earlier one.
    safe_cursor: int | None
    malformed: int = 0
    pages: int = 1  # upstream pages in it (several once batched)


def batched_pages(
    pages: Iterator[FetchedPage], listens: int, seconds: float = INGEST_BATCH_SECONDS
) -> Generator[FetchedPage, None, None]:
    """Consecutive pages merged up to about ``listens`` listens, stored in one
    transaction: the per-transaction work (claim lock, cursor, run log, commit)
    then counts once per batch instead of once per 200 Last.fm listens. A batch
    also ends once its pages took ``seconds`` to fetch, so that a slow source still
    sees its listens stored (and the claim renewed) as it goes. A fetch that fails
    mid-batch still hands over the pages read before it."""
    batch: list[FetchedPage] = []
    started = time.monotonic()
    try:
        for page in pages:
            batch.append(page)
            full = sum(len(item.listens) for item in batch) >= listens
            if full or time.monotonic() - started >= seconds:
                yield _merged(batch)
                batch = []
                started = time.monotonic()
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


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def lastfm_pages(
    client: LastfmClient, username: str, *, cursor: int | None, run_start: int
) -> Iterator[FetchedPage]:
    """Pages from ``cursor`` to ``run_start``, oldest page first.

    A scrobble carries its track's start time, so one submitted during the run
    can land inside the window and push older listens onto pages already read.
    Last.fm's ``total`` for the window then changes: the walk restarts from the
    last safe point instead of moving the cursor past a listen it never saw.
    """
    safe_point = cursor
    for _attempt in range(MAX_LASTFM_RESTARTS + 1):
        walk = _lastfm_walk(client, username, cursor=safe_point, run_start=run_start)
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
    client: LastfmClient, username: str, *, cursor: int | None, run_start: int
) -> Iterator[FetchedPage | None]:
    window = {"from_ts": cursor, "to_ts": run_start}
    first = client.get_recent_tracks(username, page=1, limit=LASTFM_PAGE_SIZE, **window)
    if first.total_pages is None and len(first.tracks) >= LASTFM_PAGE_SIZE:
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
            page = client.get_recent_tracks(username, page=number, limit=LASTFM_PAGE_SIZE, **window)
            if page.total is not None and total is not None and page.total != total:
                logger.info("%s: Last.fm history changed during paging; restarting", username)
                yield None
                return
        listens = [incoming_from_lastfm(t) for t in page.tracks if t.listened_at]
        malformed = len(page.malformed)
        if number == 1:
            safe = run_start - 1  # `to` may be inclusive or not: never claim that second
        elif listens:
            safe = max(_ts(item.listened_at) for item in listens) - 1
        else:
            safe = None
        yield FetchedPage(listens, safe, malformed)


def listenbrainz_pages(
    client: ListenBrainzClient, username: str, *, cursor: int | None, run_start: int | None = None
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
            count=LISTENBRAINZ_PAGE_SIZE,
        )
        listens = [incoming_from_listenbrainz(item) for item in page.listens]
        if not listens:
            yield FetchedPage([], None, len(page.malformed))
            return
        newest = max(_ts(item.listened_at) for item in listens)
        if len(page.listens) + len(page.malformed) < LISTENBRAINZ_PAGE_SIZE:
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


# --- Storing -------------------------------------------------------------------------


@dataclass
class StoredPage:
    new: int = 0
    known: int = 0
    unresolved: int = 0


# Texts a run remembers between its batches, at most, and for how long: a longer
# history, or an older memory, starts over (a curator may have re-pointed a text).
MEMO_MAX_TEXTS = 50_000
MEMO_MAX_SECONDS = 60.0


@dataclass
class RecordingMemo:
    """What one run's earlier batches learnt about reported identities. A history
    repeats them (favourite songs, whole albums again), so a later batch looks up
    only the identities it brings first. A recording merged away meanwhile fails the batch's
    foreign key check; ``store_page`` then stores the batch again without the memo.
    A text a curator re-pointed is seen within ``MEMO_MAX_SECONDS``."""

    recordings: dict[str, Recording] = field(default_factory=dict)
    hints_checked: set[tuple[str, tuple[Hint, ...]]] = field(default_factory=set)
    started_at: datetime = field(default_factory=timezone.now)
    cleared_at: float = field(default_factory=time.monotonic)

    def recordings_for(self, listens: Sequence[IncomingListen]) -> dict[str, Recording]:
        unseen = [item.reported for item in listens if item.identity_key not in self.recordings]
        too_old = time.monotonic() - self.cleared_at >= MEMO_MAX_SECONDS
        if too_old or len(self.recordings) + len(unseen) > MEMO_MAX_TEXTS:
            self.clear()
            unseen = [item.reported for item in listens]
        if unseen:
            self.recordings |= recordings_for_tracks(unseen)
        return self.recordings

    def clear(self) -> None:
        self.recordings.clear()
        self.hints_checked.clear()
        self.cleared_at = time.monotonic()


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


def store_page(
    *,
    account: ExternalAccount,
    run: IngestRun,
    page: FetchedPage,
    memo: RecordingMemo | None = None,
) -> StoredPage:
    """Store one page's (or batch's) listens and move the cursor, in one transaction.

    ``memo`` carries what earlier pages of the same run learnt about texts.
    """
    if memo is None:
        return _store_page(account=account, run=run, page=page, memo=RecordingMemo())
    try:
        return _store_page(account=account, run=run, page=page, memo=memo)
    except IntegrityError:
        # A recording the run remembers was merged away (by a curator or the
        # resolver) and the insert's foreign key failed: look every text up again.
        memo.clear()
        return _store_page(account=account, run=run, page=page, memo=memo)


def _store_page(
    *, account: ExternalAccount, run: IngestRun, page: FetchedPage, memo: RecordingMemo
) -> StoredPage:
    result = StoredPage()
    listens = [item for item in page.listens if item.artist_name or item.track_name]
    recordings = memo.recordings_for(listens)
    _verify_free_hints(listens, recordings, memo)
    skipped = len(page.listens) - len(listens)
    if skipped:
        logger.warning("%s: skipped %d listens without artist or title", account, skipped)
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
        if page.safe_cursor is not None:
            ExternalAccount.objects.filter(pk=account.pk).filter(
                Q(last_ingested_ts__isnull=True) | Q(last_ingested_ts__lt=page.safe_cursor)
            ).update(last_ingested_ts=page.safe_cursor)
        IngestRun.objects.filter(pk=run.pk).update(
            pages=run.pages + page.pages,
            listens_new=run.listens_new + result.new,
            listens_known=run.listens_known + result.known,
            unresolved=run.unresolved + result.unresolved,
            errors=run.errors + page.malformed + skipped,
        )
    run.pages += page.pages
    run.listens_new += result.new
    run.listens_known += result.known
    run.unresolved += result.unresolved
    run.errors += page.malformed + skipped
    return result


# Merges a resolver may make meanwhile: after this many, the batch's IntegrityError
# retry in ``store_page`` takes over.
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


# --- One account's ingest ------------------------------------------------------------


def _claim(account: ExternalAccount) -> str:
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


def _renew_claim(account: ExternalAccount, token: str) -> None:
    renewed = ExternalAccount.objects.filter(pk=account.pk, ingest_claim_token=token).update(
        ingest_claimed_until=timezone.now() + timedelta(seconds=settings.INGEST_CLAIM_SECONDS)
    )
    if not renewed:
        # A page took longer than the claim and another worker took the account over.
        raise IngestAlreadyRunning(f"{account}: another worker took over this ingest")


def _close_abandoned_runs(account: ExternalAccount) -> None:
    """Runs of a worker that died (SIGKILL, OOM, task timeout) stay "running": with
    the claim ours, none of them can still be going."""
    IngestRun.objects.filter(account=account, status=IngestRun.Status.RUNNING).update(
        status=IngestRun.Status.FAILED,
        finished_at=timezone.now(),
        error_message="abandoned: its worker stopped before finishing",
    )


def _release_claim(account: ExternalAccount, token: str) -> None:
    ExternalAccount.objects.filter(pk=account.pk, ingest_claim_token=token).update(
        ingest_claimed_until=None, ingest_claim_token=""
    )


def ingest_account(
    *,
    account: ExternalAccount,
    lastfm: LastfmClient | None = None,
    listenbrainz: ListenBrainzClient | None = None,
    on_page: Callable[[IngestRun], None] | None = None,
    now: datetime | None = None,
) -> IngestRun:
    """Fetch and store everything new on one account since its cursor.

    Raises ``IngestAlreadyRunning`` when another worker has the account. Any
    external failure ends the run cleanly (cursor where it safely is) and is
    recorded on the run and the account; it is not raised.
    """
    token = _claim(account)
    try:
        account.refresh_from_db()
        _close_abandoned_runs(account)
        run_start = _ts(now or timezone.now())
        run = IngestRun.objects.create(account=account, cursor_before=account.last_ingested_ts)
        ExternalAccount.objects.filter(pk=account.pk).update(last_ingest_started_at=timezone.now())
    except BaseException:
        _release_claim(account, token)
        raise
    memo = RecordingMemo()
    ahead: Generator[FetchedPage, None, None] | None = None
    try:
        fetched = _pages(account, run_start, lastfm, listenbrainz)  # makes the client
        # Two batches ahead: the next one is fetched while this one is stored.
        page_size = (
            LASTFM_PAGE_SIZE if account.source == ListenSource.LASTFM else LISTENBRAINZ_PAGE_SIZE
        )
        ahead = _read_ahead(fetched, depth=max(2, 2 * settings.INGEST_BATCH_LISTENS // page_size))
        pages = batched_pages(ahead, settings.INGEST_BATCH_LISTENS)
        for page in pages:
            store_page(account=account, run=run, page=page, memo=memo)
            _renew_claim(account, token)
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
        _release_claim(account, token)
    account.refresh_from_db()
    return run


class _FetchFailed(NamedTuple):
    error: BaseException


_FETCH_DONE = object()


def _read_ahead(pages: Iterator[FetchedPage], depth: int) -> Generator[FetchedPage, None, None]:
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


def _pages(
    account: ExternalAccount,
    run_start: int,
    lastfm: LastfmClient | None,
    listenbrainz: ListenBrainzClient | None,
) -> Iterator[FetchedPage]:
    # Scrobbles can arrive late with a past timestamp (offline players; Last.fm takes
    # them up to two weeks old): each run reads a little behind its cursor again,
    # and the unique constraint makes the overlap free.
    cursor = account.last_ingested_ts
    if cursor is not None:
        cursor = max(1, cursor - settings.INGEST_LOOKBACK_SECONDS)
    if account.source == ListenSource.LASTFM:
        client = lastfm or get_lastfm_client()
        return lastfm_pages(client, account.external_username, cursor=cursor, run_start=run_start)
    client = listenbrainz or get_listenbrainz_client()
    return listenbrainz_pages(client, account.external_username, cursor=cursor, run_start=run_start)


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


def ingestable_accounts(*, username: str | None = None, source: str | None = None):
    accounts = ExternalAccount.objects.exclude(status=ExternalAccount.Status.DISABLED)
    if username:
        accounts = accounts.filter(user__username=username)
    if source:
        accounts = accounts.filter(source=source)
    return accounts.select_related("user").order_by("pk")


# --- Taste ----------------------------------------------------------------------------


def take_taste_snapshot(
    *, account: ExternalAccount, period: str = "overall", lastfm: LastfmClient | None = None
) -> list[TasteSnapshot]:
    """Store the account's Last.fm top artists and albums for ``period``."""
    if account.source != ListenSource.LASTFM:
        raise ValueError("taste snapshots come from Last.fm accounts")
    client = lastfm or get_lastfm_client()
    artists = client.get_top_artists(account.external_username, period=period, limit=50)
    albums = client.get_top_albums(account.external_username, period=period, limit=50)
    return [
        TasteSnapshot.objects.create(
            account=account,
            kind=TasteSnapshot.Kind.ARTISTS,
            period=period,
            items=[
                {
                    "rank": a.rank,
                    "name": _clean(a.name),
                    "mbid": parse_mbid(a.mbid),
                    "playcount": a.playcount,
                }
                for a in artists.items
            ],
        ),
        TasteSnapshot.objects.create(
            account=account,
            kind=TasteSnapshot.Kind.ALBUMS,
            period=period,
            items=[
                {
                    "rank": a.rank,
                    "name": _clean(a.name),
                    "artist_name": _clean(a.artist_name),
                    "mbid": parse_mbid(a.mbid),
                    "playcount": a.playcount,
                }
                for a in albums.items
            ],
        ),
    ]
