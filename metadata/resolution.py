"""Track resolution: reported text (+ source hints) → recording MBID, or None.

A reported track's identity is (artist, title, album, source MBID): the same text
on *Nevermind* and on *MTV Unplugged in New York* is two recordings. Tiers,
cheapest first, each accepted only when the recording it names agrees with the
text and the version its title names (``matching``): the stored answer for the
same identity; a source's own MBID (checked against a known row, ListenBrainz's
mapping, or one lookup); the answer the text's other reports agree on
(``services.agreed_recordings``); ListenBrainz's MBID mapper (50 tracks a request,
no MusicBrainz request; trusted only when it names the reported album); the
album's tracklist when several tracks of one album still wait; MusicBrainz
recording search (one per text and run, whatever the albums). Anything ambiguous
stays unresolved: a wrong MBID is worse than none.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

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
    album_bound_title,
    album_key,
    artist_matches,
    choose_recording,
    on_reported_album,
    rank_album_candidates,
    split_featured_artist,
    verify_hint,
)
from metadata.models import ArtistCredit, Recording, RecordingAlias, ReleaseGroup, Track
from metadata.providers import get_mbid_mapper_client, get_musicbrainz_client
from metadata.services import (
    ReportedTrack,
    agreed_recordings,
    album_candidate,
    assign_recording_mbid,
    credited_names,
    get_or_create_recording_for_text,
    has_stored_rival,
    store_artist_credit,
    store_release_group,
)
from sidetrack.http import ExternalApiError, NotFoundError

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 50
# Stored release groups read for one album title, whoever the artist.
ALBUM_TITLE_LIMIT = 1000
# Source MBIDs verified per search (the query names each: keep the URL short).
HINT_SEARCH_BATCH = 25
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


class Method(StrEnum):
    """How a resolution was reached."""

    KNOWN = "known"  # source MBID agrees with a stored recording
    MAPPING = "mapping"  # source MBID agrees with ListenBrainz's mapping
    HINT = "hint"  # source MBID verified by a lookup
    AGREED = "agreed"  # every other report of the text agrees
    MAPPER = "mapper"
    ALBUM = "album"
    SEARCH = "search"
    UNRESOLVED = "unresolved"

    @property
    def from_source_mbid(self) -> bool:
        return self in (Method.KNOWN, Method.MAPPING, Method.HINT)


@dataclass(frozen=True)
class Resolution:
    mbid: str | None
    method: Method
    reason: str
    title: str | None = None
    length_ms: int | None = None
    credit: tuple[mb.ArtistCreditPart, ...] = ()
    artist_name: str | None = None
    disambiguation: str | None = None


UNRESOLVED = Method.UNRESOLVED


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
    """A stored recording as the matcher sees it, with the releases it is on when
    ``known_recordings`` fetched them (the album rule of ``versions_agree``)."""
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
        release_titles=getattr(recording, "release_titles", ()),
        on_live_releases_only=getattr(recording, "on_live_releases_only", False),
    )


def _resolution_from_mb(recording: mb.Recording, method: Method, reason: str) -> Resolution:
    return Resolution(
        recording.mbid,
        method,
        reason,
        title=recording.title,
        length_ms=recording.length_ms,
        credit=recording.artist_credit,
        disambiguation=recording.disambiguation,
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
        # Within a run (``searches_shared``): one search per text, whatever the
        # albums it was reported on.
        self._searches: dict[tuple[str, str], list[mb.Recording]] | None = None

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

    @contextmanager
    def searches_shared(self) -> Iterator[None]:
        """Within the block, identities of one text share one search."""
        self._searches = {}
        try:
            yield
        finally:
            self._searches = None

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
                return Resolution(mbid, Method.KNOWN, "source MBID agrees with a known recording")
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
                    Method.MAPPING,
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
            return _resolution_from_mb(recording, Method.HINT, "source MBID verified by lookup")
        return None

    def verify_hints_by_search(
        self, reports: Sequence[tuple[TrackText, str]]
    ) -> list[Resolution | None]:
        """Source MBIDs checked with one search for the lot (``rid:(a OR b …)``, at
        most ``HINT_SEARCH_BATCH``): a lookup each would cost a request each. An MBID
        the search does not find (unknown, or merged away) verifies nothing."""
        mbids = sorted({mbid for _, mbid in reports})
        found = {r.mbid: r for r in self.musicbrainz.search_recordings_by_ids(mbids).items}
        results: list[Resolution | None] = []
        for track, mbid in reports:
            recording = found.get(mbid)
            if recording is not None and verify_hint(track, _candidate_from_mb(recording)):
                reason = "source MBID verified by search"
                results.append(_resolution_from_mb(recording, Method.HINT, reason))
            else:
                results.append(None)
        return results

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
                        Method.ALBUM,
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
        # Edition noise off ("X (Deluxe Edition)" is stored as "X"); the artist is
        # checked after the title, so every group of a shared title ("Greatest Hits")
        # is read.
        same_title = (
            ReleaseGroup.objects.filter(preferred_release__isnull=False)
            .filter(title__icontains=album_base(album)[:50])
            .select_related("artist_credit")
            .prefetch_related("artist_credit__names__artist")[:ALBUM_TITLE_LIMIT]
        )
        for group in same_title:
            if album_key(group.title) != wanted:
                continue
            credit = group.artist_credit
            names = _row_credit_names(credit)
            if not artist_matches(artist, names, credit.name if credit else ""):
                continue
            tracks = (
                Track.objects.filter(release__release_group=group)
                .select_related("recording__artist_credit", "release")
                .prefetch_related("recording__artist_credit__names__artist")
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
        elif album_bound_title(track.title) or has_stored_rival(track, mbid=mbid):
            return None
        decision = choose_recording(track, [candidate])
        if decision.mbid is None:
            return None
        return Resolution(
            mbid,
            Method.MAPPER,
            f"ListenBrainz mapper: {decision.reason}",
            title=match.recording_name,
            artist_name=credit or None,
        )

    # Tier 4: MusicBrainz search

    def resolve_with_search(self, track: TrackText) -> Resolution:
        main_artist, _ = split_featured_artist(track.artist)
        query = (track.parts.base, main_artist or track.artist)
        items = self._searches.get(query) if self._searches is not None else None
        if items is None:
            items = self.musicbrainz.search_recordings(*query, limit=SEARCH_LIMIT).items
            if self._searches is not None:
                self._searches[query] = items
        by_mbid = {r.mbid: r for r in items}
        decision = choose_recording(track, [_candidate_from_mb(r) for r in items])
        if decision.mbid is None:
            return Resolution(None, UNRESOLVED, decision.reason)
        return _resolution_from_mb(by_mbid[decision.mbid], Method.SEARCH, decision.reason)

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
        return Resolution(decision.mbid, Method.ALBUM, f"stored tracklist: {decision.reason}")


def known_recordings(mbids: Iterable[str]) -> dict[str, Recording]:
    """Stored recordings by MBID, with their credits and the titles of the stored
    releases they are on (``release_titles``, ``on_live_releases_only``), in a fixed
    number of queries."""
    rows = list(
        Recording.objects.filter(mbid__in=list(mbids))
        .select_related("artist_credit")
        .prefetch_related("artist_credit__names__artist")
    )
    releases: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
    for recording_id, title, types in Track.objects.filter(recording__in=rows).values_list(
        "recording_id", "release__title", "release__release_group__secondary_types"
    ):
        releases[recording_id].append((title, types or []))
    for row in rows:
        on = releases.get(row.pk, [])
        row.release_titles = tuple(dict.fromkeys(title for title, _ in on))
        row.on_live_releases_only = bool(on) and all("Live" in types for _, types in on)
    return {str(row.mbid): row for row in rows}


def _row_credit_names(credit: ArtistCredit | None) -> tuple[str, ...]:
    if credit is None:
        return ()
    # .all(): the names a caller prefetched (a filter would query again).
    return tuple(name for n in credit.names.all() for name in (n.name, n.artist.name))


# --- Services: resolution with the per-text cache ------------------------------------


def apply_resolution(*, recording: Recording, resolution: Resolution) -> Recording:
    """Store a resolver's answer for an unresolved recording."""
    if resolution.mbid:
        return assign_recording_mbid(
            recording=recording,
            mbid=resolution.mbid,
            decided_by=(
                RecordingAlias.DecidedBy.SOURCE_MBID
                if resolution.method.from_source_mbid
                else RecordingAlias.DecidedBy.RESOLVER
            ),
            title=resolution.title,
            length_ms=resolution.length_ms,
            credit=store_artist_credit(resolution.credit) if resolution.credit else None,
            artist_name=resolution.artist_name,
            disambiguation=resolution.disambiguation,
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

    Each distinct identity (normalized artist and title, album, source MBID) is
    resolved once: the answer, or "unresolved, tried at T", is stored, and later
    calls with the same identity make no request until the retry time (a source
    MBID still gets checked).
    """
    all_hints = [Hint(source_mbid)] if source_mbid else []
    all_hints += list(hints)
    recording = get_or_create_recording_for_text(
        artist_name=artist_name,
        track_name=track_name,
        album_name=album_name or "",
        duration_ms=duration_ms,
        hint_mbid=mb.parse_mbid(all_hints[0].mbid) if all_hints else None,
    )
    if recording.mbid is not None:
        return str(recording.mbid)
    if recording.status == Recording.Status.NOT_IN_MUSICBRAINZ:
        return None  # a curator's decision
    due = recording.next_attempt_at is None or recording.next_attempt_at <= timezone.now()
    if not due and not all_hints:
        return None
    resolver = resolver or TrackResolver()
    track = TrackText(track_name, artist_name, album_name or None, duration_ms)
    resolution = resolver.verify_hints(track, all_hints)
    if resolution is None and due:
        resolution = agreed_resolution(recording) or resolver.resolve(track)
    if resolution is None:
        return None
    return _mbid_of(apply_resolution(recording=recording, resolution=resolution))


def _mbid_of(recording: Recording) -> str | None:
    return str(recording.mbid) if recording.mbid else None


def _reported(recording: Recording) -> ReportedTrack:
    return ReportedTrack(recording.artist_name, recording.title, recording.album_name)


def agreed_resolutions(recordings: Sequence[Recording]) -> dict[int, Resolution]:
    """Unresolved row pk → the answer every other report of its text agrees on
    (``services.agreed_recordings``): no request."""
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
    _LeasedRun(recordings, resolver, summary, on_progress).run()
    return summary


def _text(recording: Recording) -> TrackText:
    """What an unresolved row's identity reported. Its length is the first listen's:
    without an album, the next listen of the same text may be the single version of
    another length, so the length may not pick between same-title recordings."""
    album = recording.album_name or None
    return TrackText(
        recording.title, recording.artist_name, album, recording.length_ms if album else None
    )


class _LeasedRun:
    """One pass of the tiers over the rows a run leased, one method per tier.

    A row whose source MBID is not checked yet waits for that check before any
    text tier may answer for it (a verified source MBID beats a text answer). The
    check is free against stored rows (those the album tier stores included), and
    the rest are checked with one search per 25 MBIDs. Identities of one text share
    what the run learns: the search for a text is made once (``TrackResolver``
    keeps it), and an identity still waiting takes the answer its text's other
    reports agree on before searching. A step that fails for several rows at once
    (a mapper batch, an album) leaves them for the next run rather than spending
    MusicBrainz requests on them one by one.
    """

    def __init__(
        self,
        recordings: list[Recording],
        resolver: TrackResolver,
        summary: ResolveSummary,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        self.recordings = recordings
        self.pending = {r.pk: r for r in recordings}
        self.hint_unchecked = {r.pk for r in recordings if r.hint_mbid}
        self.resolver = resolver
        self.summary = summary
        self.on_progress = on_progress
        self.failures = 0

    def run(self) -> None:
        with self.resolver.searches_shared():
            self._tiers()

    def _tiers(self) -> None:
        for tier in (
            self.by_known_hints,
            self.by_agreement,
            self.by_mapper_naming_the_album,
            self.by_albums,  # albums with several waiting tracks: two requests for all
            self.by_known_hints,  # against the tracklists the album tier stored
            self.by_hint_search,
            self.by_agreement,
            self.by_mapper,
            self.by_search,
        ):
            if not tier():
                return

    def waiting(self) -> list[Recording]:
        """Rows a text tier may answer for: pending, source MBID checked (or none)."""
        return [r for r in self.pending.values() if r.pk not in self.hint_unchecked]

    def settle(self, recording: Recording, resolution: Resolution | None) -> None:
        if resolution is None:
            return
        apply_resolution(recording=recording, resolution=resolution)
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

    def by_known_hints(self) -> bool:
        """Source MBIDs of stored recordings (or with a ListenBrainz mapping): no request."""
        rows = [self.pending[pk] for pk in self.hint_unchecked if pk in self.pending]
        known = known_recordings({str(r.hint_mbid) for r in rows})
        for recording in rows:
            hint = Hint(str(recording.hint_mbid))
            resolution = self.resolver.verify_hints(
                _text(recording), [hint], allow_lookup=False, known_rows=known
            )
            if resolution is not None or str(recording.hint_mbid) in known:
                # Verified, or refuted by our own row: checked either way.
                self.hint_unchecked.discard(recording.pk)
            self.settle(recording, resolution)
        return True

    def by_hint_search(self) -> bool:
        rows = [self.pending[pk] for pk in sorted(self.hint_unchecked) if pk in self.pending]
        for start in range(0, len(rows), HINT_SEARCH_BATCH):
            batch = rows[start : start + HINT_SEARCH_BATCH]

            def verify(batch: list[Recording] = batch) -> None:
                reports = [(_text(r), str(r.hint_mbid)) for r in batch]
                answers = self.resolver.verify_hints_by_search(reports)
                for recording, answer in zip(batch, answers, strict=True):
                    self.hint_unchecked.discard(recording.pk)
                    self.settle(recording, answer)

            if not self.guarded(verify, batch):
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
                    first.artist_name, first.album_name, [_text(r) for r in answerable]
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
                answers = self.resolver.resolve_with_mapper([_text(r) for r in batch])
                for recording, answer in zip(batch, answers, strict=True):
                    self.settle(recording, answer)

            if batch and not self.guarded(by_mapper, batch):
                return False
        return True

    def by_mapper_naming_the_album(self) -> bool:
        """The mapper first for reports with an album: it is trusted only when it names
        that album, and what it answers needs no album request."""
        return self._mapper_batches([r for r in self.waiting() if r.album_name])

    def by_mapper(self) -> bool:
        """The rest: a report without album is trusted to the mapper only when no
        stored rival has its title (the album tier has stored what it fetched)."""
        return self._mapper_batches(self.waiting())

    def by_search(self) -> bool:
        """Search, one text at a time, unless the album is stored already (no request).
        Reports with an album go first: a report without one may then take the
        answer they agree on instead of deciding alone."""
        waiting = sorted(self.waiting(), key=lambda r: not r.album_name)
        for recording in waiting:
            if recording.pk not in self.pending:
                continue

            def by_search(recording: Recording = recording) -> None:
                self.settle(recording, agreed_resolution(recording))
                if recording.pk in self.pending:
                    track = _text(recording)
                    self.settle(recording, self.resolver.resolve_from_stored_album(track))
                if recording.pk in self.pending:
                    self.settle(recording, self.resolver.resolve_with_search(_text(recording)))

            if not self.guarded(by_search, [recording]):
                return False
        return True
