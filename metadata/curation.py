"""Curators' decisions about tracks the resolver could not tie to an MBID.

Services for the "Unresolved tracks" admin and the staff API: find candidates
on MusicBrainz, assign an MBID (picked or pasted), mark a track as not in
MusicBrainz, merge rows that mean the same track, retry resolution. An unresolved
row is one reported identity (artist, title, album, source MBID). A decision
applies to that identity ("this album only"), or to every unresolved report of
the same artist and title on any album ("every album"); an MBID assigned for every
album also answers future reports whose album (and source MBID) has no answer of
its own, while "not in MusicBrainz" covers the reports there are. Either way a
decision covers every listen of the reports, and is logged as a ``CurationDecision``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.db import transaction
from rapidfuzz import fuzz

from metadata.clients import musicbrainz as mb
from metadata.identity import ReportedTrack, assign_recording_mbid, store_alias
from metadata.listen_facts import listen_facts
from metadata.matching import (
    comparison_key,
    every_album_key_digest,
    parse_title,
    split_featured_artist,
)
from metadata.models import CurationDecision, Recording, RecordingAlias
from metadata.providers import musicbrainz_client
from metadata.resolution import ResolveSummary, TrackResolver, retry_rows
from metadata.selectors import scope_rows
from metadata.services import merge_recordings, store_artist_credit
from sidetrack.http.errors import ExternalApiError, NotFoundError
from sidetrack.parsing import parse_mbid

Scope = RecordingAlias.Scope

SEARCH_LIMIT = 25
ALBUM_CANDIDATE_LIMIT = 10


class CurationError(ValueError):
    """A curator's request that cannot be carried out; the message says why."""


# --- Candidates -------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    mbid: str
    title: str
    artist_credit: str
    releases: tuple[str, ...]
    length_ms: int | None
    score: int | None
    found_by: str  # "search" or "album"
    disambiguation: str = ""

    @property
    def musicbrainz_url(self) -> str:
        return f"https://musicbrainz.org/recording/{self.mbid}"

    @property
    def length_display(self) -> str:
        return format_length(self.length_ms)


@dataclass
class CandidateSearch:
    candidates: list[Candidate] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def format_length(length_ms: int | None) -> str:
    if not length_ms:
        return ""
    seconds = round(length_ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _title_similarity(reported: str, candidate: str) -> int:
    return round(fuzz.ratio(comparison_key(reported), comparison_key(candidate)))


def find_candidates(
    *, recording: Recording, client: mb.MusicBrainzClient | None = None
) -> CandidateSearch:
    """MusicBrainz recordings this track may be: the recording search, then, when
    the album is known, its tracklist (stored, or found by a release-group search
    and browse). A failing step is reported in ``errors``; the others still run."""
    with musicbrainz_client(client) as client:
        result = CandidateSearch()
        title = parse_title(recording.title).base
        artist = split_featured_artist(recording.artist_name)[0] or recording.artist_name
        try:
            page = client.search_recordings(title, artist, limit=SEARCH_LIMIT)
        except ExternalApiError as error:
            result.errors.append(f"MusicBrainz recording search failed: {error}")
        except ValueError as error:  # blank artist and title: nothing to search for
            result.errors.append(f"Cannot search MusicBrainz: {error}")
        else:
            result.candidates.extend(
                Candidate(
                    mbid=r.mbid,
                    title=r.title,
                    artist_credit=mb.render_artist_credit(r.artist_credit),
                    releases=tuple(dict.fromkeys(release.title for release in r.releases)),
                    length_ms=r.length_ms,
                    score=r.score,
                    found_by="search",
                    disambiguation=r.disambiguation,
                )
                for r in page.items
                if not r.video
            )
        if recording.album_name:
            try:
                result.candidates.extend(_album_candidates(recording, client))
            except ExternalApiError as error:
                result.errors.append(f"MusicBrainz album lookup failed: {error}")
        unique: dict[str, Candidate] = {}
        for candidate in result.candidates:
            known = unique.get(candidate.mbid)
            if known is None:
                unique[candidate.mbid] = candidate
            elif candidate.found_by not in known.found_by:
                # On the album's tracklist too: a strong hint, worth showing.
                unique[candidate.mbid] = replace(
                    known, found_by=f"{known.found_by} + {candidate.found_by}"
                )
        result.candidates = list(unique.values())
        return result


def _album_candidates(recording: Recording, client: mb.MusicBrainzClient) -> list[Candidate]:
    """The album's tracks most like the reported title, scored by title similarity.

    Reuses the resolver's album tier, so curators see the same tracklists it used.
    """
    with musicbrainz_client(client) as client:
        resolver = TrackResolver(musicbrainz=client, use_mapper=False)
        artist, album = recording.artist_name, recording.album_name
        entries = resolver.stored_album_entries(artist, album)
        if entries is None:
            entries = resolver.fetched_album_entries(artist, album)
        by_mbid: dict[str, Candidate] = {}
        # Preferred-release entries first, so their titles and lengths are shown.
        for entry in sorted(entries, key=lambda e: not e.preferred):
            c = entry.candidate
            known = by_mbid.get(c.mbid)
            if known is None:
                by_mbid[c.mbid] = Candidate(
                    mbid=c.mbid,
                    title=c.title,
                    artist_credit=c.credit_display,
                    releases=c.release_titles,
                    length_ms=c.length_ms,
                    score=_title_similarity(recording.title, c.title),
                    found_by="album",
                    disambiguation=c.disambiguation,
                )
            else:
                releases = tuple(dict.fromkeys(known.releases + c.release_titles))
                score = max(known.score or 0, _title_similarity(recording.title, c.title))
                by_mbid[c.mbid] = replace(known, releases=releases, score=score)
        ranked = sorted(by_mbid.values(), key=lambda c: -(c.score or 0))
        return ranked[:ALBUM_CANDIDATE_LIMIT]


# --- Decisions --------------------------------------------------------------------

_MB_URL = re.compile(
    r"^(?:https?://)?(?:[\w-]+\.)?musicbrainz\.org/(?P<entity>[a-z-]+)/(?P<id>[^/?#\s]+)"
    r"(?:[/?#].*)?$",
    re.IGNORECASE,
)


def parse_recording_reference(text: str) -> str:
    """An MBID from a bare UUID or a ``https://musicbrainz.org/recording/<uuid>`` URL."""
    value = (text or "").strip()
    if not value:
        raise CurationError("Paste a MusicBrainz recording MBID or URL.")
    mbid = parse_mbid(value)
    if mbid is not None:
        return mbid
    match = _MB_URL.match(value)
    if match is None:
        raise CurationError(f"Not a MusicBrainz recording MBID or URL: {value[:200]}")
    entity = match.group("entity").lower()
    if entity != "recording":
        raise CurationError(
            f"That is a MusicBrainz {entity} link; paste a recording link "
            "(https://musicbrainz.org/recording/…)."
        )
    mbid = parse_mbid(match.group("id"))
    if mbid is None:
        raise CurationError(f"The link does not end in a valid recording MBID: {value[:200]}")
    return mbid


def _check_scope(scope: str) -> None:
    if scope not in Scope.values:
        raise CurationError(f"Unknown scope {scope!r}: choose one of {', '.join(Scope.values)}.")


def _locked_scope(
    recording: Recording, scope: str, *, target_mbid: str | None = None
) -> list[Recording]:
    """The scope's rows, the chosen one first, locked together with the recording
    they will join (``target_mbid``) in key order: ingest share-locks the rows it
    stores listens against in key order too, so neither waits on the other in a
    circle (PostgreSQL)."""
    _check_scope(scope)
    pks = set(scope_rows(recording=recording, scope=scope).values_list("pk", flat=True))
    pks.add(recording.pk)
    if target_mbid is not None:
        pks |= set(Recording.objects.filter(mbid=target_mbid).values_list("pk", flat=True))
    locked = {
        row.pk: row
        for row in Recording.objects.select_for_update().filter(pk__in=pks).order_by("pk")
    }
    chosen = locked.get(recording.pk)
    if chosen is None:
        raise CurationError("This track was merged into another one meanwhile.")
    if chosen.mbid is not None:
        raise CurationError(f"This track is already resolved to {chosen.mbid}.")
    others = [row for pk, row in locked.items() if pk != chosen.pk and row.mbid is None]
    return [chosen, *others]


def _log(
    *,
    action: str,
    recording: Recording,
    curator_id: int | None,
    listen_count: int,
    result: Recording | None = None,
    mbid: str | None = None,
    note: str = "",
    scope: str = Scope.IDENTITY,
) -> CurationDecision:
    return CurationDecision.objects.create(
        action=action,
        curator_id=curator_id,
        artist_name=recording.artist_name,
        track_name=recording.title,
        album_name=recording.album_name,
        text_key=recording.unresolved_key or "",
        scope=scope,
        mbid=mbid,
        previous_status=recording.status,
        recording=result or recording,
        listen_count=listen_count,
        note=note,
    )


def _listens_of(rows: Iterable[Recording]) -> int:
    """Listens stored against these rows, copies included (the listens app counts)."""
    ids = [row.pk for row in rows]
    return sum(listen_facts().play_counts(recording_ids=ids, counted=False).values())


def assign_by_curator(
    *,
    recording: Recording,
    reference: str,
    curator_id: int | None,
    scope: str = Scope.IDENTITY,
    client: mb.MusicBrainzClient | None = None,
) -> Recording:
    """Resolve an unresolved track to the recording a curator picked or pasted, for
    its own identity or (``scope="text"``) for its text on every album.

    The MBID is looked up first (a merged MBID answers with the canonical one,
    and MusicBrainz's title and credit replace the reported text). Raises
    ``CurationError`` for a bad reference, scope or an unknown MBID; other upstream
    failures propagate as ``ExternalApiError``.
    """
    mbid = parse_recording_reference(reference)
    if recording.mbid is not None:
        raise CurationError(f"This track is already resolved to {recording.mbid}.")
    _check_scope(scope)  # before any request
    with musicbrainz_client(client) as client:
        try:
            # HTTP before the transaction: never hold locks across a request.
            found = client.lookup_recording(mbid, inc=("artist-credits",))
        except NotFoundError as error:
            raise CurationError(f"MusicBrainz has no recording {mbid}.") from error
        credit = store_artist_credit(found.artist_credit) if found.artist_credit else None
        with transaction.atomic():
            rows = _locked_scope(recording, scope, target_mbid=found.mbid)
            listens = _listens_of(rows)
            before = rows[0]
            snapshot = Recording(
                artist_name=before.artist_name,
                title=before.title,
                album_name=before.album_name,
                unresolved_key=before.unresolved_key,
                status=before.status,
            )
            result = before
            for row in rows:
                result = assign_recording_mbid(
                    recording=row,
                    mbid=found.mbid,
                    decided_by=RecordingAlias.DecidedBy.CURATOR,
                    curator_id=curator_id,
                    title=found.title,
                    length_ms=found.length_ms,
                    credit=credit,
                    artist_name=mb.render_artist_credit(found.artist_credit) or None,
                    disambiguation=found.disambiguation,
                )
            if scope == Scope.TEXT:
                store_alias(
                    key=every_album_key_digest(snapshot.artist_name, snapshot.title),
                    reported=ReportedTrack(snapshot.artist_name, snapshot.title),
                    recording=result,
                    decided_by=RecordingAlias.DecidedBy.CURATOR,
                    curator_id=curator_id,
                    scope=Scope.TEXT,
                )
            notes = []
            if reference.strip() != mbid:
                notes.append(f"pasted {reference.strip()[:300]}")
            if found.mbid != mbid:
                notes.append(f"{mbid} is merged into {found.mbid}")
            if len(rows) > 1:
                notes.append(f"{len(rows)} reports of this text (every album)")
            _log(
                action=CurationDecision.Action.ASSIGN,
                recording=snapshot,
                curator_id=curator_id,
                listen_count=listens,
                result=result,
                mbid=found.mbid,
                note="; ".join(notes),
                scope=scope,
            )
        return result


@transaction.atomic
def mark_not_in_musicbrainz(
    *, recording: Recording, curator_id: int | None, scope: str = Scope.IDENTITY
) -> Recording:
    """Record that MusicBrainz has no such recording, for the track's identity or its
    text on every album: automatic retries skip it (``resolve_unresolved`` only
    takes status "unresolved")."""
    rows = _locked_scope(recording, scope)
    locked = rows[0]
    if all(row.status == Recording.Status.NOT_IN_MUSICBRAINZ for row in rows):
        raise CurationError("This track is already marked as not in MusicBrainz.")
    _log(
        action=CurationDecision.Action.NOT_IN_MUSICBRAINZ,
        recording=locked,
        curator_id=curator_id,
        listen_count=_listens_of(rows),
        scope=scope,
    )
    Recording.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=Recording.Status.NOT_IN_MUSICBRAINZ, next_attempt_at=None
    )
    locked.refresh_from_db()
    return locked


@dataclass(frozen=True)
class MergeResult:
    target: Recording
    merged: int
    listens_moved: int


@transaction.atomic
def merge_unresolved(*, recordings: Iterable[Recording], curator_id: int | None) -> MergeResult:
    """Merge unresolved rows that mean the same track into the one with most
    listens. Each merged text gets an alias to it, so future listens of that
    text land there too."""
    pks = {r.pk for r in recordings}
    if len(pks) < 2:
        raise CurationError("Select at least two tracks to merge.")
    rows = list(
        Recording.objects.select_for_update().filter(pk__in=pks).order_by("created_at", "pk")
    )
    if any(r.mbid is not None for r in rows):
        raise CurationError("Only unresolved tracks can be merged here.")
    if len(rows) < 2:
        raise CurationError("Select at least two tracks to merge.")
    counts = listen_facts().play_counts(recording_ids=[row.pk for row in rows], counted=False)
    # Most listens wins; the oldest row on a tie (max keeps the first).
    target = max(rows, key=lambda r: counts.get(r.pk, 0))
    moved = 0
    for source in rows:
        if source.pk == target.pk:
            continue
        _log(
            action=CurationDecision.Action.MERGE,
            recording=source,
            curator_id=curator_id,
            listen_count=counts.get(source.pk, 0),
            result=target,
            note=f"merged into #{target.pk} {target}",
        )
        if source.unresolved_key:
            store_alias(
                key=source.unresolved_key,
                reported=ReportedTrack(
                    source.artist_name,
                    source.title,
                    source.album_name,
                    hint_mbid=str(source.hint_mbid) if source.hint_mbid else None,
                ),
                recording=target,
                decided_by=RecordingAlias.DecidedBy.CURATOR,
                curator_id=curator_id,
            )
        moved += counts.get(source.pk, 0)
        merge_recordings(source=source, target=target)  # deletes source, clearing its pk
    return MergeResult(target=target, merged=len(rows) - 1, listens_moved=moved)


# --- Retrying ---------------------------------------------------------------------


def retry_resolution(
    *, recordings: Iterable[Recording], resolver: TrackResolver | None = None
) -> ResolveSummary:
    """Run every resolution tier now for the selected rows: the scheduled run's tiers
    and text rules (``resolution.retry_rows``); beyond ``RETRY_INLINE_LIMIT`` rows
    are made due for the scheduled run instead."""
    return retry_rows(recordings=recordings, resolver=resolver)
