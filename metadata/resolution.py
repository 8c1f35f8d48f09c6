"""Track resolution: reported text (+ source hints) → recording MBID, or None.

Tiers, cheapest first, each accepted only when the recording it names agrees
with the text (``matching``): the stored result for the same text; a source's
own MBID (checked against a known row, ListenBrainz's mapping, or one lookup);
ListenBrainz's MBID mapper (50 tracks a request, no MusicBrainz request; trusted
only when it names the reported album); the album's tracklist when several
tracks of one album still wait; MusicBrainz recording search. Anything ambiguous
stays unresolved: a wrong MBID is worse than none.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from metadata.clients import musicbrainz as mb
from metadata.clients.mbid_mapper import MapperMatch, MbidMapperClient
from metadata.matching import (
    RecordingCandidate,
    TrackText,
    album_base,
    album_key,
    artist_matches,
    choose_recording,
    on_reported_album,
    parse_title,
    rank_album_candidates,
    split_featured_artist,
    verify_hint,
)
from metadata.models import ArtistCredit, Recording, RecordingAlias, ReleaseGroup, Track
from metadata.providers import get_mbid_mapper_client, get_musicbrainz_client
from metadata.services import (
    album_candidate,
    assign_recording_mbid,
    credited_names,
    get_or_create_recording_for_text,
    store_artist_credit,
    store_release_group,
)
from sidetrack.http import ExternalApiError, NotFoundError

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 50
# Unresolved text is retried after 1 h, 2 h, 4 h … capped at 30 days.
RETRY_BASE = timedelta(hours=1)
RETRY_MAX = timedelta(days=30)
# How long a resolution run holds the tracks it took (a crashed run's lapse then).
RESOLUTION_LEASE = timedelta(minutes=30)
# Consecutive transient failures after which a batch run stops (the service is down).
MAX_CONSECUTIVE_FAILURES = 3


@dataclass(frozen=True, slots=True)
class Hint:
    """An MBID a source attached to a listen, with what the source says it is."""

    mbid: str
    mapped_title: str | None = None  # ListenBrainz mbid_mapping.recording_name
    mapped_artist: str | None = None  # … and its artist credit


@dataclass(frozen=True)
class Resolution:
    mbid: str | None
    method: str
    reason: str
    title: str | None = None
    length_ms: int | None = None
    credit: tuple[mb.ArtistCreditPart, ...] = ()
    artist_name: str | None = None


UNRESOLVED = "unresolved"


def _candidate_from_mb(recording: mb.Recording) -> RecordingCandidate:
    releases = recording.releases
    return RecordingCandidate(
        mbid=recording.mbid,
        title=recording.title,
        credited_names=credited_names(recording.artist_credit),
        credit_display=mb.render_artist_credit(recording.artist_credit),
        length_ms=recording.length_ms,
        disambiguation=recording.disambiguation,
        release_titles=tuple(r.title for r in releases),
        on_live_releases_only=bool(releases) and all("Live" in r.secondary_types for r in releases),
        video=recording.video,
    )


def _candidate_from_row(recording: Recording) -> RecordingCandidate:
    names: tuple[str, ...] = ()
    if recording.artist_credit_id:
        names = tuple(
            name
            for credit_name in recording.artist_credit.names.all()
            for name in (credit_name.name, credit_name.artist.name)
        )
    return RecordingCandidate(
        mbid=str(recording.mbid),
        title=recording.title,
        credited_names=names,
        credit_display=recording.artist_name,
        length_ms=recording.length_ms,
        disambiguation=recording.disambiguation,
    )


def _resolution_from_mb(recording: mb.Recording, method: str, reason: str) -> Resolution:
    return Resolution(
        recording.mbid,
        method,
        reason,
        title=recording.title,
        length_ms=recording.length_ms,
        credit=recording.artist_credit,
    )


@dataclass(frozen=True)
class _TracklistEntry:
    candidate: RecordingCandidate
    preferred: bool
    credit: tuple[mb.ArtistCreditPart, ...] = ()


class TrackResolver:
    """Resolution tiers over the MusicBrainz client and the MBID mapper.

    No database writes except storing an album it fetched for context; the
    functions below cache results per text.
    """

    def __init__(
        self,
        *,
        musicbrainz: mb.MusicBrainzClient | None = None,
        mapper: MbidMapperClient | None = None,
        use_mapper: bool | None = None,
    ) -> None:
        self._musicbrainz = musicbrainz
        self._mapper = mapper
        self.use_mapper = settings.MBID_MAPPER_ENABLED if use_mapper is None else use_mapper

    @property
    def musicbrainz(self) -> mb.MusicBrainzClient:
        if self._musicbrainz is None:
            self._musicbrainz = get_musicbrainz_client()
        return self._musicbrainz

    @property
    def mapper(self) -> MbidMapperClient:
        if self._mapper is None:
            self._mapper = get_mbid_mapper_client()
        return self._mapper

    # Tier 1: hints from the source

    def verify_hints(
        self,
        track: TrackText,
        hints: Sequence[Hint],
        *,
        allow_lookup: bool = True,
        known_rows: Mapping[str, Recording] | None = None,
    ) -> Resolution | None:
        """The first hint that agrees with the text. Without ``allow_lookup`` only
        known rows and ListenBrainz mappings are consulted: no request at all.
        ``known_rows`` (MBID → row, fetched in one query by a batch caller) saves
        the per-hint query."""
        for hint in hints:
            resolution = self._verify_hint(track, hint, allow_lookup, known_rows)
            if resolution is not None:
                return resolution
        return None

    def _verify_hint(
        self,
        track: TrackText,
        hint: Hint,
        allow_lookup: bool,
        known_rows: Mapping[str, Recording] | None,
    ) -> Resolution | None:
        mbid = mb.parse_mbid(hint.mbid)
        if mbid is None:
            return None
        known = (
            known_rows.get(mbid) if known_rows is not None else known_recordings([mbid]).get(mbid)
        )
        if known is not None:
            if verify_hint(track, _candidate_from_row(known)):
                return Resolution(mbid, "known", "source MBID agrees with a known recording")
            return None  # stale or wrong: our own row says otherwise
        if hint.mapped_title:
            mapped = RecordingCandidate(
                mbid=mbid,
                title=hint.mapped_title,
                credited_names=(hint.mapped_artist or "",),
                credit_display=hint.mapped_artist or "",
            )
            if verify_hint(track, mapped):
                return Resolution(
                    mbid,
                    "mapping",
                    "ListenBrainz mapping agrees with the text",
                    title=hint.mapped_title,
                    artist_name=hint.mapped_artist,
                )
            return None
        if not allow_lookup:
            return None
        try:
            recording = self.musicbrainz.lookup_recording(mbid)
        except NotFoundError:
            return None
        if verify_hint(track, _candidate_from_mb(recording)):
            # A merged MBID answers with the canonical recording: keep its id.
            return _resolution_from_mb(recording, "hint", "source MBID verified by lookup")
        return None

    # Tier 2: album context

    def resolve_album(
        self, artist: str, album: str, tracks: Sequence[TrackText]
    ) -> list[Resolution | None]:
        """Resolve several tracks of one album from its tracklists: one search and
        one browse instead of one search per track."""
        entries = self.stored_album_entries(artist, album)
        if entries is None:
            entries = self.fetched_album_entries(artist, album)
        if not entries:
            return [None] * len(tracks)
        results: list[Resolution | None] = []
        for track in tracks:
            resolution = None
            # The preferred release first: other editions may hold other recordings.
            for pool in (
                [e for e in entries if e.preferred],
                entries,
            ):
                decision = choose_recording(track, [e.candidate for e in pool])
                if decision.mbid:
                    entry = next(e for e in pool if e.candidate.mbid == decision.mbid)
                    resolution = Resolution(
                        decision.mbid,
                        "album",
                        f"on the album's tracklist: {decision.reason}",
                        title=entry.candidate.title,
                        length_ms=entry.candidate.length_ms,
                        credit=entry.credit,
                    )
                    break
            results.append(resolution)
        return results

    def stored_album_entries(self, artist: str, album: str) -> list[_TracklistEntry] | None:
        wanted = album_key(album)
        for group in (
            ReleaseGroup.objects.filter(preferred_release__isnull=False)
            .filter(title__icontains=parse_title(album).base[:50])
            .select_related("artist_credit")[:20]
        ):
            if album_key(group.title) != wanted:
                continue
            credit = group.artist_credit
            names = _row_credit_names(credit)
            if not artist_matches(artist, names, credit.name if credit else ""):
                continue
            tracks = Track.objects.filter(release__release_group=group).select_related(
                "recording__artist_credit", "release"
            )
            live = "Live" in (group.secondary_types or [])
            return [
                _TracklistEntry(
                    RecordingCandidate(
                        mbid=str(t.recording.mbid),
                        title=t.title,
                        credited_names=names + _row_credit_names(t.recording.artist_credit),
                        credit_display=t.recording.artist_name or (credit.name if credit else ""),
                        length_ms=t.length_ms or t.recording.length_ms,
                        release_titles=(t.release.title,),
                        on_live_releases_only=live,
                    ),
                    preferred=t.release_id == group.preferred_release_id,
                )
                for t in tracks
                if t.recording.mbid
            ]
        return None

    def fetched_album_entries(self, artist: str, album: str) -> list[_TracklistEntry]:
        page = self.musicbrainz.search_release_groups(artist, album_base(album), limit=25)
        groups = {group.mbid: group for group in page.items}
        choice = rank_album_candidates(artist, album, [album_candidate(g) for g in page.items])
        wanted = album_key(album)
        best = next(
            (
                r.candidate
                for r in choice.ranked
                if r.artist_match and album_key(r.candidate.title) == wanted
            ),
            None,
        )
        if best is None:
            return []
        group = groups[best.mbid]
        releases = self.musicbrainz.browse_releases(group.mbid)
        stored = store_release_group(group, releases)
        live = "Live" in group.secondary_types
        entries = []
        for release in releases:
            release_names = credited_names(release.artist_credit)
            for medium in release.media:
                for track in medium.tracks:
                    if not track.recording_mbid:
                        continue
                    credit = track.artist_credit or release.artist_credit
                    for title in {track.title, track.recording_title or track.title}:
                        entries.append(
                            _TracklistEntry(
                                RecordingCandidate(
                                    mbid=track.recording_mbid,
                                    title=title,
                                    credited_names=release_names + credited_names(credit),
                                    credit_display=mb.render_artist_credit(credit),
                                    length_ms=track.recording_length_ms or track.length_ms,
                                    release_titles=(release.title,),
                                    on_live_releases_only=live,
                                ),
                                preferred=stored.preferred_release is not None
                                and str(stored.preferred_release.mbid) == release.mbid,
                                credit=credit,
                            )
                        )
        return entries

    # Tier 3: the MBID mapper

    def resolve_with_mapper(self, tracks: Sequence[TrackText]) -> list[Resolution | None]:
        if not self.use_mapper or not tracks:
            return [None] * len(tracks)
        try:
            matches = self.mapper.lookup_recordings([(t.artist, t.title, t.album) for t in tracks])
        except ExternalApiError as error:
            logger.warning("MBID mapper unavailable, falling through to search: %s", error)
            return [None] * len(tracks)
        return [
            self._accept_mapper(track, match) if match else None
            for track, match in zip(tracks, matches, strict=True)
        ]

    @staticmethod
    def _accept_mapper(track: TrackText, match: MapperMatch) -> Resolution | None:
        mbid = mb.parse_mbid(match.recording_mbid)
        if mbid is None or not match.recording_name:
            return None
        credit = match.artist_credit_name or ""
        candidate = RecordingCandidate(
            mbid=mbid,
            title=match.recording_name,
            credited_names=(credit,),
            credit_display=credit,
            release_titles=(match.release_name,) if match.release_name else (),
        )
        # The mapper picks one of several same-title recordings ("Intro") on its
        # own: trust it only when it names the album the source reported or, for
        # a track reported without album, when we know of no same-title rival.
        if track.album:
            if not on_reported_album(track, candidate):
                return None
        elif _rivals_in_store(track, mbid):
            return None
        decision = choose_recording(track, [candidate])
        if decision.mbid is None:
            return None
        return Resolution(
            mbid,
            "mapper",
            f"ListenBrainz mapper: {decision.reason}",
            title=match.recording_name,
            artist_name=credit or None,
        )

    # Tier 4: MusicBrainz search

    def resolve_with_search(self, track: TrackText) -> Resolution:
        parts = track.parts
        main_artist, _ = split_featured_artist(track.artist)
        page = self.musicbrainz.search_recordings(
            parts.base, main_artist or track.artist, limit=SEARCH_LIMIT
        )
        by_mbid = {r.mbid: r for r in page.items}
        decision = choose_recording(track, [_candidate_from_mb(r) for r in page.items])
        if decision.mbid is None:
            return Resolution(None, UNRESOLVED, decision.reason)
        return _resolution_from_mb(by_mbid[decision.mbid], "search", decision.reason)

    def resolve_from_stored_album(self, track: TrackText) -> Resolution | None:
        """The track from its album's stored tracklists, if that album is stored."""
        if not track.album:
            return None
        stored = self.stored_album_entries(track.artist, track.album)
        return self._pick_from_entries(track, stored) if stored else None

    def resolve(self, track: TrackText, hints: Sequence[Hint] = ()) -> Resolution:
        """Every tier for one track (album context only from stored albums)."""
        resolution = self.verify_hints(track, hints)
        if resolution is None:
            resolution = self.resolve_from_stored_album(track)
        if resolution is None:
            (resolution,) = self.resolve_with_mapper([track])
        return resolution or self.resolve_with_search(track)

    @staticmethod
    def _pick_from_entries(
        track: TrackText, entries: Sequence[_TracklistEntry]
    ) -> Resolution | None:
        decision = choose_recording(track, [e.candidate for e in entries])
        if decision.mbid is None:
            return None
        return Resolution(decision.mbid, "album", f"stored tracklist: {decision.reason}")


def known_recordings(mbids: Iterable[str]) -> dict[str, Recording]:
    """Stored recordings by MBID, with their credits, in a fixed number of queries."""
    rows = (
        Recording.objects.filter(mbid__in=list(mbids))
        .select_related("artist_credit")
        .prefetch_related("artist_credit__names__artist")
    )
    return {str(row.mbid): row for row in rows}


def _rivals_in_store(track: TrackText, mbid: str) -> bool:
    """Whether a stored recording other than ``mbid`` has the track's title and artist."""
    base = track.parts.base[:100]
    if not base:
        return False
    stored = (
        Recording.objects.filter(mbid__isnull=False, title__icontains=base)
        .exclude(mbid=mbid)
        .only("mbid", "title", "artist_name")[:50]
    )
    return any(
        verify_hint(
            track,
            RecordingCandidate(str(r.mbid), r.title, (r.artist_name,), r.artist_name),
        )
        for r in stored
    )


def _row_credit_names(credit: ArtistCredit | None) -> tuple[str, ...]:
    if credit is None:
        return ()
    return tuple(
        name for n in credit.names.select_related("artist") for name in (n.name, n.artist.name)
    )


# --- Services: resolution with the per-text cache ------------------------------------


def apply_resolution(*, recording: Recording, resolution: Resolution) -> Recording:
    """Store a resolver's answer for an unresolved recording."""
    if resolution.mbid:
        return assign_recording_mbid(
            recording=recording,
            mbid=resolution.mbid,
            decided_by=(
                RecordingAlias.DecidedBy.SOURCE_MBID
                if resolution.method in ("known", "mapping", "hint")
                else RecordingAlias.DecidedBy.RESOLVER
            ),
            title=resolution.title,
            length_ms=resolution.length_ms,
            credit=store_artist_credit(resolution.credit) if resolution.credit else None,
            artist_name=resolution.artist_name,
        )
    record_failed_attempt(recording=recording, reason=resolution.reason)
    return recording


def record_failed_attempt(*, recording: Recording, reason: str) -> None:
    now = timezone.now()
    attempts = recording.resolution_attempts + 1
    delay = min(RETRY_BASE * 2 ** min(attempts - 1, 20), RETRY_MAX)
    Recording.objects.filter(pk=recording.pk, mbid__isnull=True).update(
        resolution_attempts=attempts,
        last_attempt_at=now,
        next_attempt_at=now + delay,
        last_error=reason[:2000],
    )
    recording.resolution_attempts, recording.last_attempt_at = attempts, now
    recording.next_attempt_at, recording.last_error = now + delay, reason


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

    Each distinct normalized (artist, title) is resolved once: the answer, or
    "unresolved, tried at T", is stored, and later calls with the same text
    make no request until the retry time (a source MBID still gets checked).
    """
    recording = get_or_create_recording_for_text(
        artist_name=artist_name,
        track_name=track_name,
        album_name=album_name or "",
        duration_ms=duration_ms,
    )
    if recording.mbid is not None:
        return str(recording.mbid)
    if recording.status == Recording.Status.NOT_IN_MUSICBRAINZ:
        return None  # a curator's decision
    all_hints = [Hint(source_mbid)] if source_mbid else []
    all_hints += list(hints)
    due = recording.next_attempt_at is None or recording.next_attempt_at <= timezone.now()
    if not due and not all_hints:
        return None
    resolver = resolver or TrackResolver()
    track = TrackText(track_name, artist_name, album_name or None, duration_ms)
    resolution = resolver.verify_hints(track, all_hints)
    if resolution is None and due:
        resolution = resolver.resolve(track)
    if resolution is None:
        return None
    return _mbid_of(apply_resolution(recording=recording, resolution=resolution))


def _mbid_of(recording: Recording) -> str | None:
    return str(recording.mbid) if recording.mbid else None


@dataclass
class ResolveSummary:
    resolved: int = 0
    unresolved: int = 0
    errors: int = 0
    by_method: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stopped_early: str = ""

    @property
    def attempted(self) -> int:
        return self.resolved + self.unresolved + self.errors


def due_unresolved_recordings(*, now=None) -> Iterable[Recording]:
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
    resolver = resolver or TrackResolver()
    summary = ResolveSummary()
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
        return _resolve_leased(recordings, resolver, summary, on_progress)
    finally:
        # What this run did not get to (it stopped early) is due again at once.
        Recording.objects.filter(
            status=Recording.Status.UNRESOLVED, next_attempt_at=lease_until
        ).update(next_attempt_at=timezone.now())


def _resolve_leased(
    recordings: list[Recording],
    resolver: TrackResolver,
    summary: ResolveSummary,
    on_progress: Callable[[int], None] | None,
) -> ResolveSummary:
    pending = {r.pk: r for r in recordings}

    def settle(recording: Recording, resolution: Resolution | None) -> None:
        if resolution is None:
            return
        apply_resolution(recording=recording, resolution=resolution)
        pending.pop(recording.pk, None)
        if resolution.mbid:
            summary.resolved += 1
            summary.by_method[resolution.method] += 1
        else:
            summary.unresolved += 1
        if on_progress:
            on_progress(1)

    def text(recording: Recording) -> TrackText:
        return TrackText(
            recording.title,
            recording.artist_name,
            recording.album_name or None,
            recording.length_ms,
        )

    failures = 0

    def guarded(call: Callable[[], None], recordings_at_risk: Sequence[Recording]) -> bool:
        """Run one upstream step; False when the run should stop."""
        nonlocal failures
        try:
            call()
            failures = 0
            return True
        except ExternalApiError as error:
            logger.warning("resolution step failed: %s", error)
            failures += 1
            if failures >= MAX_CONSECUTIVE_FAILURES or not error.retryable:
                summary.stopped_early = str(error)
            if len(recordings_at_risk) == 1:
                (recording,) = recordings_at_risk
                record_failed_attempt(recording=recording, reason=f"error: {error}")
                pending.pop(recording.pk, None)
                summary.errors += 1
                if on_progress:
                    on_progress(1)
            return not summary.stopped_early

    # Hints a source attached: verified by a known row or one lookup.
    for recording in [r for r in recordings if r.hint_mbid]:

        def by_hint(recording: Recording = recording) -> None:
            hint = Hint(str(recording.hint_mbid))
            resolution = resolver.verify_hints(text(recording), [hint])
            if resolution is not None:
                settle(recording, resolution)

        if not guarded(by_hint, [recording]):
            return summary

    albums: dict[tuple[str, str], list[Recording]] = defaultdict(list)
    for recording in recordings:
        if recording.album_name:
            albums[(album_key(recording.album_name), recording.artist_name.casefold())].append(
                recording
            )

    def album_pass(min_waiting: int) -> bool:
        """Album context for albums with at least ``min_waiting`` tracks still waiting:
        one search and one browse resolve them all (one track costs one search)."""
        for group in albums.values():
            members = [r for r in group if r.pk in pending]
            if len(members) < min_waiting:
                continue

            def by_album(members: list[Recording] = members) -> None:
                first = members[0]
                answers = resolver.resolve_album(
                    first.artist_name, first.album_name, [text(r) for r in members]
                )
                for recording, answer in zip(members, answers, strict=True):
                    settle(recording, answer)

            if not guarded(by_album, members):
                return False
        return True

    # Albums with several waiting tracks first: two requests for all of them, and
    # the stored tracklists tell the mapper tier which titles are ambiguous.
    if not album_pass(2):
        return summary

    # The mapper, 50 at a time: no MusicBrainz request at all.
    waiting = list(pending.values())
    for start in range(0, len(waiting), 50):
        batch = [r for r in waiting[start : start + 50] if r.pk in pending]

        def by_mapper(batch: list[Recording] = batch) -> None:
            for recording, answer in zip(
                batch, resolver.resolve_with_mapper([text(r) for r in batch]), strict=True
            ):
                settle(recording, answer)

        if not guarded(by_mapper, batch):
            return summary

    # Search, one at a time, unless the album is stored already (no request).
    for recording in list(pending.values()):

        def by_search(recording: Recording = recording) -> None:
            track = text(recording)
            settle(recording, resolver.resolve_from_stored_album(track))
            if recording.pk in pending:
                settle(recording, resolver.resolve_with_search(track))

        if not guarded(by_search, [recording]):
            return summary
    return summary
