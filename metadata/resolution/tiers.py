"""The resolution tiers over MusicBrainz and the MBID mapper, one method per tier.

Each tier answers with a ``Resolution`` or None; none writes, except that the
album tier stores an album it fetched (its tracklist answers later reports for
free). Which rows a tier is asked about, and in what order, is the run's
(``metadata.resolution.run``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

from metadata.clients import musicbrainz as mb
from metadata.clients.mbid_mapper import MapperMatch, MbidMapperClient
from metadata.identity import has_stored_rival
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
from metadata.models import ReleaseGroup, Track
from metadata.providers import get_mbid_mapper_client, get_musicbrainz_client
from metadata.resolution.known import known_recordings, row_credit_names
from metadata.resolution.types import UNRESOLVED, Hint, Method, Resolution
from metadata.services import album_candidate, credited_names, store_release_group
from sidetrack.http.errors import ExternalApiError, NotFoundError
from sidetrack.parsing import parse_mbid

logger = logging.getLogger("metadata.resolution")

SEARCH_LIMIT = 50
# Stored release groups read for one album title, whoever the artist.
ALBUM_TITLE_LIMIT = 1000
# Source MBIDs verified per search (the query names each: keep the URL short).
HINT_SEARCH_BATCH = 25


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
        self._built: list[mb.MusicBrainzClient | MbidMapperClient] = []  # closed by close()
        self.use_mapper = settings.MBID_MAPPER_ENABLED if use_mapper is None else use_mapper
        # Within a run (``searches_shared``): one search per text, whatever the
        # albums it was reported on.
        self._searches: dict[tuple[str, str], list[mb.Recording]] | None = None

    @property
    def musicbrainz(self) -> mb.MusicBrainzClient:
        if self._musicbrainz is None:
            self._musicbrainz = get_musicbrainz_client()
            self._built.append(self._musicbrainz)
        return self._musicbrainz

    @property
    def mapper(self) -> MbidMapperClient:
        if self._mapper is None:
            self._mapper = get_mbid_mapper_client()
            self._built.append(self._mapper)
        return self._mapper

    def close(self) -> None:
        """Close the clients this resolver built (not those it was given)."""
        for client in self._built:
            client.close()
        self._built.clear()

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
        known_rows: Mapping[str, RecordingCandidate] | None = None,
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
        known_rows: Mapping[str, RecordingCandidate] | None,
    ) -> Resolution | None:
        mbid = parse_mbid(hint.mbid)
        if mbid is None:
            return None
        known = (
            known_rows.get(mbid) if known_rows is not None else known_recordings([mbid]).get(mbid)
        )
        if known is not None:
            if verify_hint(track, known):
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
            names = row_credit_names(credit)
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
                        credited_names=names + row_credit_names(t.recording.artist_credit),
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
            matches = self.mapper.lookup_recordings(
                [(t.artist, t.title, t.context_album) for t in tracks]
            )
        except ExternalApiError as error:
            logger.warning("MBID mapper unavailable, falling through to search: %s", error)
            return [None] * len(tracks)
        return [
            self._accept_mapper(track, match) if match else None
            for track, match in zip(tracks, matches, strict=True)
        ]

    @staticmethod
    def _accept_mapper(track: TrackText, match: MapperMatch) -> Resolution | None:
        mbid = parse_mbid(match.recording_mbid)
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
        # own: trust it only when it names the album the source reported (or the
        # listens were heard amid). Without an album, a plain title may be any of
        # the artist's versions (studio, live, single), and only a search shows
        # them all: the mapper's pick is taken for a title that names its version.
        if track.context_album:
            if not on_reported_album(track, candidate):
                return None
        elif (
            not track.parts.versions
            or album_bound_title(track.title)
            or has_stored_rival(track, mbid=mbid)
        ):
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
        if not track.context_album:
            return None
        stored = self.stored_album_entries(track.artist, track.context_album)
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
