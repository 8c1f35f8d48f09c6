"""ListenBrainz-format export and import of a user's listens.

Export rows are ListenBrainz listens (one JSON object per line), so a file can
be imported back here or uploaded to ListenBrainz.

Import reads what ListenBrainz's "export listens" gives
(https://listenbrainz.org/settings/export/): a zip of ``listens/<year>/<month>.jsonl``
plus ``user.json`` (``{"user_id", "username"}``), a bare JSON Lines file, or the
older single JSON array file ``<user>_lb-YYYY-MM-DD.json``. Exports are not
atomic snapshots, so a listen can appear twice; the unique constraint on
listens makes that harmless. Lines that are not JSON or not a listen are
counted, never raised.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import ijson
from django.utils import timezone

from accounts.models import ExternalAccount, ListenSource
from listens.clients.listenbrainz import MalformedListenError, parse_listen
from listens.ingest.paging import FetchedPage
from listens.ingest.payloads import IncomingListen, blank_name_field, incoming_from_listenbrainz
from listens.ingest.store import RecordingMemo, store_page
from listens.models import IngestRun
from listens.submission import LISTEN_MINIMUM_TS
from sidetrack.parsing import is_blank_name

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE = 1000
# A listen is four levels deep; json.loads gives up near 1000 (recursion).
_MAX_DEPTH = 500
_OLD_EXPORT_NAME = re.compile(r"^(?P<user>.+)_lb-\d{4}-\d{2}-\d{2}\.json$", re.IGNORECASE)


# --- Export (pure) ---------------------------------------------------------------------


def export_refusal(*, listened_at: datetime, artist_name: str, track_name: str) -> str | None:
    """Why ListenBrainz would refuse this listen (so the export leaves it out), or None:
    a name empty after cleaning (listens stored before that rule) or a time before its
    minimum (a player's clock at 1970). Long names pass: ListenBrainz limits only a
    listen's whole size (10240 bytes), which one stored listen's fields stay under."""
    for name, value in (("artist_name", artist_name), ("track_name", track_name)):
        if is_blank_name(value):
            return f"{name} is empty"
    if listened_at.timestamp() < LISTEN_MINIMUM_TS:
        return "listened_at is before 2002-10-01"
    return None


def export_row(
    *,
    listened_at: datetime,
    artist_name: str,
    track_name: str,
    album_name: str,
    recording_mbid: object | None,
    source: str,
) -> dict[str, Any]:
    """One listen as a ListenBrainz listen object. ``release_name`` is left out when
    unknown: ListenBrainz accepts it missing but not as null or empty."""
    metadata: dict[str, Any] = {"artist_name": artist_name, "track_name": track_name}
    if album_name:
        metadata["release_name"] = album_name
    metadata["additional_info"] = {
        "recording_mbid": str(recording_mbid) if recording_mbid else None,
        "source": source,
    }
    return {"listened_at": int(listened_at.timestamp()), "track_metadata": metadata}


# --- Reading an export (pure: no database) ---------------------------------------------


@dataclass(frozen=True)
class MalformedLine:
    """A line (or array item) that is not JSON at all."""

    location: str
    error: str


def read_export(path: str | Path) -> Iterator[Any]:
    """Every listen item of a ListenBrainz export, in file order.

    Yields decoded JSON values (normally dicts, not yet validated) and a
    :class:`MalformedLine` for each line that is not JSON. Memory stays flat for
    JSON Lines, zips and the old single-array format alike (one array item at a time).
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in _listen_members(archive):
                with archive.open(member) as stream:
                    yield from _read_jsonl(stream, member)
        return
    with path.open("rb") as stream:
        if _first_byte(stream) == b"[":
            yield from _read_array(stream, path.name)
        else:
            yield from _read_jsonl(stream, path.name)


def export_user_name(path: str | Path) -> str | None:
    """The ListenBrainz user the export belongs to: ``user.json`` in a zip, else the
    first listen's ``user_name``, else the old export's file name."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if Path(member).name.lower() == "user.json":
                    try:
                        info = json.loads(archive.read(member))
                    except ValueError:
                        break
                    name = info.get("username") if isinstance(info, dict) else None
                    if isinstance(name, str) and name.strip():
                        return name.strip()
                    break
    # The first listen only: a file whose first listen has no user_name is not read
    # to its end (a large export) just to find none.
    for item in read_export(path):
        name = item.get("user_name") if isinstance(item, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()
        break
    match = _OLD_EXPORT_NAME.match(path.name)
    return match["user"] if match else None


def _listen_members(archive: zipfile.ZipFile) -> list[str]:
    """``listens/<year>/<month>.jsonl`` members, oldest month first. feedback.jsonl
    and pinned_recording.jsonl are not listens."""

    def is_listens(name: str) -> bool:
        parts = Path(name).parts
        return name.lower().endswith(".jsonl") and (
            "listens" in (p.lower() for p in parts[:-1]) or parts[-1].lower().startswith("listens")
        )

    def month_order(name: str) -> tuple:
        numbers = re.findall(r"\d+", name)
        return (tuple(int(n) for n in numbers), name)

    return sorted((n for n in archive.namelist() if is_listens(n)), key=month_order)


def _first_byte(stream: IO[bytes]) -> bytes:
    head = stream.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    stream.seek(0)
    return head[:1]


def _read_jsonl(stream: IO[bytes], name: str) -> Iterator[Any]:
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line:
            continue
        try:
            yield _normalize(json.loads(line))
        # ValueError includes JSONDecodeError and UnicodeDecodeError; absurd nesting
        # ("[[[[…") overflows the parser's recursion.
        except (ValueError, RecursionError) as error:
            yield MalformedLine(f"{name}:{number}", str(error)[:200])


def _read_array(stream: IO[bytes], name: str) -> Iterator[Any]:
    # Streamed: a 200 MB single-line array would take about 4x its size in memory
    # decoded whole (bench/export_import.py). From ijson's plain events, not
    # ijson.items: its path prefixes grow with nesting, and "[[[[…" 100k deep would
    # hold gigabytes of them; nesting past _MAX_DEPTH is refused like json's recursion.
    if stream.read(3) != b"\xef\xbb\xbf":  # a byte-order mark, which the parser refuses
        stream.seek(0)
    events = ijson.basic_parse(stream, use_float=True)
    try:
        if next(events, (None, None))[0] != "start_array":
            raise ValueError("not a JSON array")
        depth, builder = 0, ijson.ObjectBuilder()
        for event, value in events:
            if depth == 0 and event == "end_array":
                return
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise ValueError(f"nested deeper than {_MAX_DEPTH} levels")
            elif event in ("end_map", "end_array"):
                depth -= 1
            builder.event(event, value)
            if depth == 0:
                yield _normalize(builder.value)
                builder = ijson.ObjectBuilder()
    except (ijson.JSONError, ValueError) as error:
        raise ValueError(f"{name} is neither JSON Lines nor a JSON array: {error}") from error


def _normalize(item: Any) -> Any:
    # ListenBrainz writes listened_at with extract(epoch ...), which can come out as
    # 1748964167.0; the API parser only takes integers.
    if isinstance(item, dict):
        when = item.get("listened_at")
        if isinstance(when, float) and when == when and abs(when) != float("inf"):
            item = {**item, "listened_at": int(when)}
    return item


# --- Importing into an account ---------------------------------------------------------


@dataclass
class ImportSummary:
    run: IngestRun
    read: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)

    @property
    def new(self) -> int:
        return self.run.listens_new

    @property
    def known(self) -> int:
        return self.run.listens_known


def import_listens(
    *,
    account: ExternalAccount,
    items: Iterable[Any],
    batch_size: int = IMPORT_BATCH_SIZE,
    on_batch: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Store export items as the ListenBrainz account's listens, logged as an IngestRun.

    The account's cursor is not moved: an export says nothing about what was
    listened to between its listens, so the next ingest still starts where
    ingest left off (re-fetched listens are recognised, not stored twice).
    """
    if account.source != ListenSource.LISTENBRAINZ:
        raise ValueError("ListenBrainz exports are imported into ListenBrainz accounts")
    run = IngestRun.objects.create(
        account=account, kind=IngestRun.Kind.IMPORT, cursor_before=account.last_ingested_ts
    )
    summary = ImportSummary(run=run)
    batch: list[IncomingListen] = []
    malformed = 0
    memo = RecordingMemo()

    def flush() -> None:
        nonlocal batch, malformed
        page = FetchedPage(listens=batch, safe_cursor=None, malformed=malformed)
        store_page(account=account, run=run, page=page, memo=memo)
        batch, malformed = [], 0
        if on_batch:
            on_batch(summary)

    try:
        for item in items:
            summary.read += 1
            try:
                if isinstance(item, MalformedLine):
                    raise MalformedListenError(f"{item.location}: not JSON ({item.error})")
                incoming = incoming_from_listenbrainz(parse_listen(item))
                blank = blank_name_field(incoming)
                if blank is not None:
                    raise MalformedListenError(
                        f"listen {summary.read}: {blank} is empty after cleaning"
                    )
                batch.append(incoming)
            except MalformedListenError as error:
                malformed += 1
                summary.malformed += 1
                if len(summary.malformed_examples) < 5:
                    summary.malformed_examples.append(str(error))
            if len(batch) + malformed >= batch_size:
                flush()
        if batch or malformed:
            flush()
    except BaseException as error:
        _finish(run, account, error=f"import failed: {type(error).__name__}: {error}"[:1000])
        raise
    _finish(run, account)
    logger.info(
        "imported into %s: %d read, %d new, %d known, %d malformed",
        account,
        summary.read,
        run.listens_new,
        run.listens_known,
        summary.malformed,
    )
    return summary


def _finish(run: IngestRun, account: ExternalAccount, *, error: str = "") -> None:
    # Unlike an ingest, an import says nothing about the account's health: its
    # status and last_error are left alone.
    run.finished_at = timezone.now()
    run.cursor_after = (
        ExternalAccount.objects.filter(pk=account.pk)
        .values_list("last_ingested_ts", flat=True)
        .first()
    )
    run.status = IngestRun.Status.FAILED if error else IngestRun.Status.SUCCEEDED
    run.error_message = error
    run.save(update_fields=["finished_at", "cursor_after", "status", "error_message"])
