"""One resolution run over unresolved rows: the tiers in order, shared by every door.

The scheduler and the ``resolve_unresolved`` command (``resolve_unresolved``), the
admin's retry (``retry_rows``) and ``resolve_track_to_mb_recording`` all run
``ResolutionRun``: one order of tiers, one rule for what a row's text is.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from metadata.identity import ReportedTrack, agreed_recordings, get_or_create_recording_for_text
from metadata.listen_facts import listen_facts
from metadata.matching import TrackText, album_key
from metadata.models import Recording
from metadata.resolution.apply import apply_resolution, record_failed_attempt
from metadata.resolution.known import known_recordings
from metadata.resolution.tiers import HINT_SEARCH_BATCH, TrackResolver
from metadata.resolution.types import Hint, Method, Resolution, ResolveSummary
from sidetrack.http.errors import ExternalApiError
from sidetrack.parsing import parse_mbid

logger = logging.getLogger("metadata.resolution")

# How long a resolution run holds the tracks it took (a crashed run's lapse then).
RESOLUTION_LEASE = timedelta(minutes=30)
# Consecutive transient failures after which a run stops (the service is down).
MAX_CONSECUTIVE_FAILURES = 3
# Rows the admin's retry resolves while the curator waits; the rest are made due
# for the scheduled run (MusicBrainz allows about one request a second).
RETRY_INLINE_LIMIT = 20


def row_text(
    recording: Recording, *, session_album: str | None = None, duration_ms: int | None = None
) -> TrackText:
    """What an unresolved row's identity reported. Its length is the first listen's.
    Without an album it picks a version only when exactly one version has it
    (``matching.choose_recording``): the bench's album-less rows showed no listen of
    another length behind such a pick (issue 18), where ignoring it left them all for
    curation.
    ``session_album``: the album the row's listens were heard amid (its listens'
    neighbours), evidence for a row the source reported without album.
    ``duration_ms``: the length of the one listen a caller resolves for."""
    album = recording.album_name or None
    return TrackText(
        recording.title,
        recording.artist_name,
        album,
        duration_ms or recording.length_ms,
        heard_amid=None if album else session_album or None,
    )


class ResolutionRun:
    """One pass of the tiers over some unresolved rows, one method per tier.

    A row whose source MBID is not checked yet waits for that check before any
    text tier may answer for it (a verified source MBID beats a text answer). The
    check is free against stored rows (those the album tier stores included), and
    the rest are checked with one search per 25 MBIDs (or, with ``look_up_hints``,
    one lookup each, which also follows merged MBIDs). Identities of one text share
    what the run learns: the search for a text is made once (``TrackResolver``
    keeps it), and an identity still waiting takes the answer its text's other
    reports agree on before searching. A step that fails for several rows at once
    (a mapper batch, an album) leaves them for the next run rather than spending
    MusicBrainz requests on them one by one.

    A row reported without album takes the album its listens were heard amid
    (``listen_facts().session_albums``: the listens app answers) as evidence: a plain
    "Polly" played between two tracks of *MTV Unplugged in New York* is that
    album's recording, when that album has one (``TrackText.heard_amid``).
    """

    def __init__(
        self,
        recordings: Sequence[Recording],
        *,
        resolver: TrackResolver | None = None,
        summary: ResolveSummary | None = None,
        on_progress: Callable[[int], None] | None = None,
        hints: Mapping[int, Sequence[Hint]] | None = None,
        look_up_hints: bool = False,
        session_albums: Mapping[int, str] | None = None,
        durations: Mapping[int, int] | None = None,
    ) -> None:
        self.recordings = list(recordings)
        self.pending = {r.pk: r for r in self.recordings}
        self.hints: dict[int, list[Hint]] = {
            r.pk: [Hint(str(r.hint_mbid))] if r.hint_mbid else [] for r in self.recordings
        }
        for pk, extra in (hints or {}).items():
            self.hints[pk] = [*extra, *(h for h in self.hints.get(pk, []) if h not in extra)]
        self.hint_unchecked = {pk for pk, found in self.hints.items() if found}
        self._owns_resolver = resolver is None
        self.resolver = resolver or TrackResolver()
        self.summary = summary or ResolveSummary()
        self.on_progress = on_progress
        self.look_up_hints = look_up_hints
        if session_albums is None:
            albumless = [r.pk for r in self.recordings if not r.album_name]
            session_albums = (
                listen_facts().session_albums(recording_ids=albumless) if albumless else {}
            )
        self.session_albums = dict(session_albums)
        self.durations = dict(durations or {})
        self.results: dict[int, Recording] = {}  # row pk → the row its answer left
        self.failures = 0

    def run(self) -> ResolveSummary:
        try:
            with self.resolver.searches_shared():
                self._tiers()
        finally:
            if self._owns_resolver:
                self.resolver.close()
        return self.summary

    def _tiers(self) -> None:
        for tier in (
            self.by_known_hints,
            self.by_agreement,
            self.by_mapper_naming_the_album,
            # Source MBIDs before albums: one search checks 25 of them, where an
            # album costs two requests and checks only its own tracks.
            self.by_hint_lookup if self.look_up_hints else self.by_hint_search,
            self.by_agreement,
            self.by_albums,  # albums with several waiting tracks: two requests for all
            self.by_mapper,
            self.by_search,
        ):
            if not tier():
                return

    def text(self, recording: Recording) -> TrackText:
        return row_text(
            recording,
            session_album=self.session_albums.get(recording.pk),
            duration_ms=self.durations.get(recording.pk),
        )

    def album_of(self, recording: Recording) -> str:
        return recording.album_name or self.session_albums.get(recording.pk, "")

    def waiting(self) -> list[Recording]:
        """Rows a text tier may answer for: pending, source MBID checked (or none)."""
        return [r for r in self.pending.values() if r.pk not in self.hint_unchecked]

    def settle(self, recording: Recording, resolution: Resolution | None) -> None:
        if resolution is None:
            return
        self.results[recording.pk] = apply_resolution(recording=recording, resolution=resolution)
        self.pending.pop(recording.pk, None)
        if resolution.mbid:
            self.summary.resolved += 1
            self.summary.by_method[resolution.method] += 1
        else:
            self.summary.unresolved += 1
        if self.on_progress:
            self.on_progress(1)

    def guarded(self, call: Callable[[], None], at_risk: Sequence[Recording]) -> bool:
        """Run one upstream step; False when the run should stop."""
        try:
            call()
        except ExternalApiError as error:
            logger.warning("resolution step failed: %s", error)
            self.failures += 1
            if self.failures >= MAX_CONSECUTIVE_FAILURES or not error.retryable:
                self.summary.stopped_early = str(error)
            if len(at_risk) == 1:
                (recording,) = at_risk
                record_failed_attempt(recording=recording, reason=f"error: {error}")
                self.summary.errors += 1
                if self.on_progress:
                    self.on_progress(1)
            # Several rows: due again when the run ends (their lease is lifted).
            for recording in at_risk:
                self.pending.pop(recording.pk, None)
            return not self.summary.stopped_early
        self.failures = 0
        return True

    # The tiers, in the order ``_tiers`` runs them.

    def by_known_hints(self) -> bool:
        """Source MBIDs of stored recordings (or with a ListenBrainz mapping): no request."""
        rows = [self.pending[pk] for pk in self.hint_unchecked if pk in self.pending]
        known = known_recordings({h.mbid for r in rows for h in self.hints[r.pk]})
        for recording in rows:
            hints = self.hints[recording.pk]
            resolution = self.resolver.verify_hints(
                self.text(recording), hints, allow_lookup=False, known_rows=known
            )
            if resolution is not None or all(h.mbid in known or h.mapped_title for h in hints):
                # Verified, or refuted by our own rows: checked either way.
                self.hint_unchecked.discard(recording.pk)
            self.settle(recording, resolution)
        return True

    def by_hint_search(self) -> bool:
        """Unchecked source MBIDs, one search per ``HINT_SEARCH_BATCH``."""
        rows = [self.pending[pk] for pk in sorted(self.hint_unchecked) if pk in self.pending]
        for start in range(0, len(rows), HINT_SEARCH_BATCH):
            batch = rows[start : start + HINT_SEARCH_BATCH]

            def verify(batch: list[Recording] = batch) -> None:
                reports = [(self.text(r), str(r.hint_mbid)) for r in batch if r.hint_mbid]
                answers = iter(self.resolver.verify_hints_by_search(reports)) if reports else None
                for recording in batch:
                    self.hint_unchecked.discard(recording.pk)
                    if recording.hint_mbid and answers is not None:
                        self.settle(recording, next(answers))

            if not self.guarded(verify, batch):
                return False
        return True

    def by_hint_lookup(self) -> bool:
        """Unchecked source MBIDs, one lookup each (a few rows: the curator waits)."""
        rows = [self.pending[pk] for pk in sorted(self.hint_unchecked) if pk in self.pending]
        for recording in rows:

            def verify(recording: Recording = recording) -> None:
                hints = self.hints[recording.pk]
                answer = self.resolver.verify_hints(self.text(recording), hints)
                self.hint_unchecked.discard(recording.pk)
                self.settle(recording, answer)

            if not self.guarded(verify, [recording]):
                return False
        return True

    def by_agreement(self) -> bool:
        waiting = self.waiting()
        for start in range(0, len(waiting), 500):
            batch = waiting[start : start + 500]
            agreed = agreed_resolutions(batch)
            for recording in batch:
                self.settle(recording, agreed.get(recording.pk))
        return True

    def by_albums(self, min_waiting: int = 2) -> bool:
        """Album context for albums with at least ``min_waiting`` tracks still waiting
        (source MBIDs unchecked included: the stored tracklist may check them for
        free): one search and one browse resolve them all."""
        albums: dict[tuple[str, str], list[Recording]] = defaultdict(list)
        # Reported albums only: a session's album decides between versions, but is
        # not worth an album request of its own.
        for recording in self.pending.values():
            if recording.album_name:
                key = (album_key(recording.album_name), recording.artist_name.casefold())
                albums[key].append(recording)
        for group in albums.values():
            members = [r for r in group if r.pk in self.pending]
            if len(members) < min_waiting:
                continue
            answerable = [r for r in members if r.pk not in self.hint_unchecked]

            def by_album(members: list[Recording] = members, answerable=answerable) -> None:
                first = members[0]
                answers = self.resolver.resolve_album(
                    first.artist_name, first.album_name, [self.text(r) for r in answerable]
                )
                for recording, answer in zip(answerable, answers, strict=True):
                    self.settle(recording, answer)

            if not self.guarded(by_album, answerable):
                return False
        return True

    def _mapper_batches(self, rows: list[Recording]) -> bool:
        """The mapper, 50 at a time: no MusicBrainz request at all."""
        for start in range(0, len(rows), 50):
            batch = [r for r in rows[start : start + 50] if r.pk in self.pending]

            def by_mapper(batch: list[Recording] = batch) -> None:
                answers = self.resolver.resolve_with_mapper([self.text(r) for r in batch])
                for recording, answer in zip(batch, answers, strict=True):
                    self.settle(recording, answer)

            if batch and not self.guarded(by_mapper, batch):
                return False
        return True

    def by_mapper_naming_the_album(self) -> bool:
        """The mapper first for reports with an album: it is trusted only when it names
        that album, and what it answers needs no album request."""
        return self._mapper_batches([r for r in self.waiting() if self.album_of(r)])

    def by_mapper(self) -> bool:
        """The rest: a report without album is trusted to the mapper only when no
        stored rival has its title (the album tier has stored what it fetched)."""
        return self._mapper_batches(self.waiting())

    def by_search(self) -> bool:
        """Search, one text at a time, unless the album is stored already (no request).
        Reports with an album go first: a report without one may then take the
        answer they agree on instead of deciding alone."""
        waiting = sorted(self.waiting(), key=lambda r: not self.album_of(r))
        for recording in waiting:
            if recording.pk not in self.pending:
                continue

            def by_search(recording: Recording = recording) -> None:
                self.settle(recording, agreed_resolution(recording))
                if recording.pk in self.pending:
                    track = self.text(recording)
                    self.settle(recording, self.resolver.resolve_from_stored_album(track))
                if recording.pk in self.pending:
                    self.settle(recording, self.resolver.resolve_with_search(self.text(recording)))

            if not self.guarded(by_search, [recording]):
                return False
        return True


def _reported(recording: Recording) -> ReportedTrack:
    return ReportedTrack(
        recording.artist_name, recording.title, recording.album_name, recording.length_ms
    )


def agreed_resolutions(recordings: Sequence[Recording]) -> dict[int, Resolution]:
    """Unresolved row pk → the answer every other report of its text agrees on
    (``identity.agreed_recordings``): no request."""
    agreed = agreed_recordings([_reported(r) for r in recordings])
    found = {}
    for row in recordings:
        answer = agreed.get(_reported(row).key)
        if answer is not None and answer.mbid is not None and answer.pk != row.pk:
            reason = "every other report of this text names it"
            found[row.pk] = Resolution(str(answer.mbid), Method.AGREED, reason)
    return found


def agreed_resolution(recording: Recording) -> Resolution | None:
    return agreed_resolutions([recording]).get(recording.pk)


# --- The doors ------------------------------------------------------------------------


def due_unresolved_recordings(*, now=None) -> QuerySet[Recording]:
    now = now or timezone.now()
    return Recording.objects.filter(status=Recording.Status.UNRESOLVED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def resolve_unresolved(
    *,
    limit: int | None = None,
    resolver: TrackResolver | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ResolveSummary:
    """Retry unresolved recordings that are due, oldest first: source hints, the
    mapper in batches (free of MusicBrainz requests), album context for albums
    with several tracks still waiting, then search."""
    # Lease what this run takes: a run on another worker skips it instead of
    # spending the shared MusicBrainz budget on the same tracks.
    with transaction.atomic():
        queue = (
            due_unresolved_recordings()
            .order_by("created_at", "pk")
            .select_for_update(skip_locked=True)
        )
        recordings = list(queue[:limit] if limit else queue)
        lease_until = timezone.now() + RESOLUTION_LEASE
        ids = [r.pk for r in recordings]
        for start in range(0, len(ids), 500):  # bounded IN lists for SQLite
            Recording.objects.filter(pk__in=ids[start : start + 500]).update(
                next_attempt_at=lease_until
            )
    try:
        return ResolutionRun(recordings, resolver=resolver, on_progress=on_progress).run()
    finally:
        # What this run did not get to (it stopped early) is due again at once.
        Recording.objects.filter(
            status=Recording.Status.UNRESOLVED, next_attempt_at=lease_until
        ).update(next_attempt_at=timezone.now())


def retry_rows(
    *, recordings: Iterable[Recording], resolver: TrackResolver | None = None
) -> ResolveSummary:
    """Run every tier now for rows a curator selected (no transaction: each makes
    requests). Beyond ``RETRY_INLINE_LIMIT`` rows are made due at once for the
    scheduled ``resolve_unresolved`` instead."""
    rows = [r for r in recordings if r.mbid is None]
    now_rows, later = rows[:RETRY_INLINE_LIMIT], rows[RETRY_INLINE_LIMIT:]
    summary = ResolveSummary()
    if later:
        summary.deferred = Recording.objects.filter(
            pk__in=[r.pk for r in later], status=Recording.Status.UNRESOLVED
        ).update(next_attempt_at=None)
    return ResolutionRun(now_rows, resolver=resolver, summary=summary, look_up_hints=True).run()


def resolve_track_to_mb_recording(
    track_name: str,
    artist_name: str,
    album_name: str | None = None,
    duration_ms: int | None = None,
    source_mbid: str | None = None,
    *,
    hints: Sequence[Hint] = (),
    resolver: TrackResolver | None = None,
) -> str | None:
    """The recording MBID a reported track means, or None when unsure.

    Each distinct identity (normalized artist and title, album, source MBID) is
    resolved once: the answer, or "unresolved, tried at T", is stored, and later
    calls with the same identity make no request until the retry time (a source
    MBID still gets checked). A thin door onto ``ResolutionRun``.
    """
    all_hints = [Hint(source_mbid)] if source_mbid else []
    all_hints += list(hints)
    recording = get_or_create_recording_for_text(
        artist_name=artist_name,
        track_name=track_name,
        album_name=album_name or "",
        duration_ms=duration_ms,
        hint_mbid=parse_mbid(all_hints[0].mbid) if all_hints else None,
    )
    if recording.mbid is not None:
        return str(recording.mbid)
    if recording.status == Recording.Status.NOT_IN_MUSICBRAINZ:
        return None  # a curator's decision
    due = recording.next_attempt_at is None or recording.next_attempt_at <= timezone.now()
    if not due and not all_hints:
        return None
    run = ResolutionRun(
        [recording],
        resolver=resolver,
        hints={recording.pk: all_hints},
        look_up_hints=True,
        session_albums={},
        durations={recording.pk: duration_ms} if duration_ms else None,
    )
    if due:
        run.run()
    else:  # not due: only the source MBIDs are checked
        run.by_known_hints()
        run.by_hint_lookup()
    result = run.results.get(recording.pk)
    return str(result.mbid) if result is not None and result.mbid else None
