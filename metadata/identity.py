"""Reported identities and the recordings they lead to: aliases, agreement, assigning an MBID.

A listen reports (artist, title, album, source MBID): its identity. An identity
leads to one recording row, unresolved at first; an alias records the answer once
known, so every later listen of the identity goes there without resolution. Reads
here (``agreed_recordings``, ``known_recording_for_track``) answer from aliases;
writes (``recordings_for_tracks``, ``assign_recording_mbid``, ``store_alias``) own
their transactions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from metadata.matching import (
    RecordingCandidate,
    TrackText,
    album_base,
    album_bound_title,
    album_key,
    durations_agree,
    every_album_key_digest,
    identity_key_digest,
    parse_title,
    split_featured_artist,
    text_key_digest,
    verify_hint,
    version_tags,
)
from metadata.models import ArtistCredit, Recording, RecordingAlias, Track
from metadata.services import merge_recordings

# --- Reported tracks and their rows ---------------------------------------------------


@dataclass(frozen=True)
class ReportedTrack:
    """A track as a listen reported it: its identity, and what resolution uses."""

    artist_name: str
    track_name: str
    album_name: str = ""
    duration_ms: int | None = None
    hint_mbid: str | None = None

    @property
    def key(self) -> str:
        return identity_key_digest(
            self.artist_name, self.track_name, self.album_name, self.hint_mbid
        )

    @property
    def text_key(self) -> str:
        return text_key_digest(self.artist_name, self.track_name)


# Only what ingest reads (pk, MBID, status, hint, age): this runs for every batch.
_INGEST_FIELDS = ("id", "mbid", "status", "unresolved_key", "hint_mbid", "created_at")


def recordings_for_tracks(tracks: Iterable[ReportedTrack]) -> dict[str, Recording]:
    """Identity key → recording for a batch of reported tracks, in a few queries.

    In order: the identity's own answer (alias); a curator's answer for the text
    on every album; the identity's unresolved row; for an identity seen for the
    first time without a source MBID, the answer every other report of its text
    agrees on (:func:`agreed_recordings`); else a new unresolved row (safe against
    concurrent creators). An identity with a source MBID waits on its own row for
    that MBID to be checked: a verified source MBID beats any text answer.
    """
    first_seen: dict[str, ReportedTrack] = {}
    for track in tracks:
        first_seen.setdefault(track.key, track)
    found = _decided_recordings(first_seen)
    missing = [key for key in first_seen if key not in found]
    if missing:
        found |= {
            r.unresolved_key: r
            for r in Recording.objects.filter(unresolved_key__in=missing).only(*_INGEST_FIELDS)
        }
        missing = [key for key in missing if key not in found]
    if missing:
        agreed = agreed_recordings([first_seen[k] for k in missing if not first_seen[k].hint_mbid])
        # Recorded as the identity's answer: its later listens follow it, not
        # whatever the text's other reports agree on by then.
        _store_agreed_aliases({key: (first_seen[key], row) for key, row in agreed.items()})
        found |= agreed
        missing = [key for key in missing if key not in found]
    # Sorted: two workers inserting the same new identities in different orders
    # would deadlock on the unique index (PostgreSQL).
    missing.sort()
    if missing:
        Recording.objects.bulk_create(
            [
                Recording(
                    unresolved_key=key,
                    text_key=first_seen[key].text_key,
                    status=Recording.Status.UNRESOLVED,
                    title=first_seen[key].track_name[:1000],
                    artist_name=first_seen[key].artist_name[:2000],
                    album_name=(first_seen[key].album_name or "")[:1000],
                    album_key=album_key(first_seen[key].album_name)[:500],
                    length_ms=first_seen[key].duration_ms or None,
                    hint_mbid=first_seen[key].hint_mbid,
                )
                for key in missing
            ],
            ignore_conflicts=True,
        )
        found |= {
            r.unresolved_key: r
            for r in Recording.objects.filter(unresolved_key__in=missing).only(*_INGEST_FIELDS)
        }
        # Another worker's row, resolved (or merged) by a resolver between the insert
        # and the read: it has no unresolved key any more, and its identity's alias,
        # stored in the same transaction, says where it went.
        if gone := {key: first_seen[key] for key in missing if key not in found}:
            found |= _decided_recordings(gone)
    return found


def _store_agreed_aliases(agreed: dict[str, tuple[ReportedTrack, Recording]]) -> None:
    RecordingAlias.objects.bulk_create(
        [
            RecordingAlias(
                key=key,
                text_key=track.text_key,
                artist_name=track.artist_name[:2000],
                track_name=track.track_name[:1000],
                album_name=track.album_name[:1000],
                album_key=album_key(track.album_name)[:500],
                recording=recording,
                decided_by=RecordingAlias.DecidedBy.RESOLVER,
            )
            for key, (track, recording) in sorted(agreed.items())
        ],
        ignore_conflicts=True,  # a concurrent ingest recorded it first
    )


def known_recording_for_track(track: ReportedTrack) -> Recording | None:
    """What is known of a report without storing anything: its answer, a curator's
    answer for every album, or the answer every report of its text agrees on."""
    found = _decided_recordings({track.key: track})
    if track.key not in found and not track.hint_mbid:
        found |= agreed_recordings([track])
    return found.get(track.key)


def _decided_recordings(tracks: dict[str, ReportedTrack]) -> dict[str, Recording]:
    """Identity key → recording for identities with an answer of their own, or whose
    text a curator decided for every album."""
    fields = ("key", *(f"recording__{name}" for name in _INGEST_FIELDS))
    found: dict[str, Recording] = {
        alias.key: alias.recording
        for alias in RecordingAlias.objects.filter(key__in=tracks)
        .select_related("recording")
        .only(*fields)
    }
    by_every_album: dict[str, list[str]] = {}
    for key, track in tracks.items():
        # A source MBID is checked first; the resolver falls back on the curator's.
        if key not in found and not track.hint_mbid:
            every = every_album_key_digest(track.artist_name, track.track_name)
            by_every_album.setdefault(every, []).append(key)
    if by_every_album:
        for alias in (
            RecordingAlias.objects.filter(key__in=list(by_every_album))
            .select_related("recording")
            .only(*fields)
        ):
            found |= dict.fromkeys(by_every_album[alias.key], alias.recording)
    return found


def agreed_recordings(tracks: Sequence[ReportedTrack]) -> dict[str, Recording]:
    """Identity key → the recording that every answer known for the same text agrees
    on, for reports that may reuse it (no query beyond two when none can).

    A report with an album reuses the answers for that text on that album (with
    other source MBIDs). A report without album reuses the answers of the text on
    every album only when they all name one recording, and that recording is the
    version the title names: a plain "Polly" is not the MTV Unplugged recording just
    because the only album it was heard on so far is *MTV Unplugged in New York*.
    A curator's answer for the text on every album comes before all of these.
    """
    if not tracks:
        return {}
    curated = {
        alias.text_key: alias.recording
        for alias in RecordingAlias.objects.filter(
            text_key__in={t.text_key for t in tracks}, scope=RecordingAlias.Scope.TEXT
        ).select_related("recording")
    }
    by_text: dict[str, list[RecordingAlias]] = {}
    for alias in (
        RecordingAlias.objects.filter(
            text_key__in={t.text_key for t in tracks}, scope=RecordingAlias.Scope.IDENTITY
        )
        .select_related("recording")
        .only(
            "text_key",
            "album_key",
            "album_name",
            "recording_id",
            "recording__title",
            "recording__disambiguation",
            "recording__length_ms",
            *(f"recording__{name}" for name in _INGEST_FIELDS),
        )
    ):
        by_text.setdefault(alias.text_key, []).append(alias)
    agreed: dict[str, Recording] = {
        track.key: curated[track.text_key] for track in tracks if track.text_key in curated
    }
    if not by_text:
        return agreed
    candidates: dict[str, tuple[ReportedTrack, list[RecordingAlias]]] = {}
    for track in tracks:
        aliases = by_text.get(track.text_key, [])
        wanted = album_key(track.album_name)
        if wanted:
            aliases = [a for a in aliases if a.album_key == wanted]
        if aliases and len({a.recording_id for a in aliases}) == 1:
            candidates[track.key] = (track, aliases)
    live_ids = _on_live_release_groups(
        {aliases[0].recording_id for track, aliases in candidates.values() if not track.album_name}
    )
    for key, (track, aliases) in candidates.items():
        if key in agreed:
            continue
        recording = aliases[0].recording
        if not track.album_name and album_bound_title(track.track_name):
            continue  # "Intro" on one album says nothing of the artist's other Intros
        if not track.album_name:
            versions = parse_title(recording.title).versions | version_tags(
                recording.disambiguation
            )
            if recording.pk in live_ids:
                versions |= {"live"}
            for alias in aliases:  # the album said so ("Live at Leeds")
                versions |= version_tags(album_base(alias.album_name))
            if versions != parse_title(track.track_name).versions:
                continue
            # An artist's album and single versions share a title: without an album
            # the one answer known so far is a guess between them.
            text = TrackText(track.track_name, track.artist_name)
            if recording.mbid is None or has_stored_rival(text, mbid=str(recording.mbid)):
                continue
            # A length the answer does not have is another version (the single's).
            if durations_agree(track.duration_ms, recording.length_ms) is False:
                continue
            # Known only from the single named after the song: its version, or the
            # album's? Nothing in the report says.
            if all(a.album_key == album_key(track.track_name) for a in aliases):
                continue
        agreed[key] = recording
    return agreed


def has_stored_rival(track: TrackText, *, mbid: str) -> bool:
    """Whether a stored recording other than ``mbid`` would match the text as well
    (same artist, title and version): then ``mbid`` is a guess between them."""
    base = track.parts.base[:100]
    if not base:
        return False
    main_artist = split_featured_artist(track.artist)[0][:100]
    stored = (
        Recording.objects.filter(
            mbid__isnull=False, title__icontains=base, artist_name__icontains=main_artist
        )
        .exclude(mbid=mbid)
        .only("mbid", "title", "artist_name", "disambiguation")[:50]
    )
    return any(
        verify_hint(
            track,
            RecordingCandidate(
                str(r.mbid),
                r.title,
                (r.artist_name,),
                r.artist_name,
                disambiguation=r.disambiguation,
            ),
        )
        for r in stored
    )


def _on_live_release_groups(recording_ids: Iterable[int]) -> set[int]:
    """Which of these recordings are on a stored live release group."""
    ids = list(recording_ids)
    if not ids:
        return set()
    rows = Track.objects.filter(recording_id__in=ids).values_list(
        "recording_id", "release__release_group__secondary_types"
    )
    return {recording_id for recording_id, types in rows if "Live" in (types or [])}


def get_or_create_recording_for_text(
    *,
    artist_name: str,
    track_name: str,
    album_name: str = "",
    duration_ms: int | None = None,
    hint_mbid: str | None = None,
) -> Recording:
    """The recording a listen reported as (artist, title, album, source MBID) belongs
    to: see :func:`recordings_for_tracks`, for one report."""
    track = ReportedTrack(artist_name, track_name, album_name or "", duration_ms, hint_mbid)
    return recordings_for_tracks([track])[track.key]


# --- Assigning an MBID: lock, take or merge, adopt names ------------------------------


@dataclass(frozen=True)
class MusicBrainzNames:
    """What MusicBrainz calls a recording: it replaces the reported text once known."""

    title: str | None = None
    length_ms: int | None = None
    credit: ArtistCredit | None = None
    artist_name: str | None = None
    disambiguation: str | None = None


@transaction.atomic
def assign_recording_mbid(
    *,
    recording: Recording,
    mbid: str | uuid.UUID,
    decided_by: str = RecordingAlias.DecidedBy.RESOLVER,
    curator_id: int | None = None,
    title: str | None = None,
    length_ms: int | None = None,
    credit: ArtistCredit | None = None,
    artist_name: str | None = None,
    disambiguation: str | None = None,
) -> Recording:
    """Resolve an unresolved recording to ``mbid``.

    When a row for that MBID exists already, the two merge and every listen
    follows. Either way the reported identity keeps pointing at the result, so
    future listens of the same identity need no resolution.

    Callers hold copies that may be minutes old: the row is re-read under lock,
    and only a curator may change a row that was resolved, merged away or marked
    "not in MusicBrainz" since; the resolver leaves such rows as they are.
    """
    mbid = uuid.UUID(str(mbid))
    by_curator = decided_by == RecordingAlias.DecidedBy.CURATOR
    current = _lock_for_assignment(recording, mbid, by_curator=by_curator)
    if current is None:
        return recording
    if current.pk != recording.pk and not by_curator:
        return current  # merged away meanwhile: its identity's answer, not ours to change
    if not by_curator and (
        current.mbid is not None or current.status == Recording.Status.NOT_IN_MUSICBRAINZ
    ):
        return current
    reported = _reported_by(current)
    identity_key = current.unresolved_key
    target = _take_or_merge(current, mbid)
    names = MusicBrainzNames(title, length_ms, credit, artist_name, disambiguation)
    _adopt_names(target, names)
    if identity_key:
        store_alias(
            key=identity_key,
            reported=reported,
            recording=target,
            decided_by=decided_by,
            curator_id=curator_id,
        )
    return target


def _lock_for_assignment(
    recording: Recording, mbid: uuid.UUID, *, by_curator: bool
) -> Recording | None:
    """Lock the row and the MBID's row (if any) in key order, and re-read the row.

    Ingest share-locks the rows it stores listens against in key order too, so the
    two never wait on each other in a circle (PostgreSQL). A row merged away
    meanwhile is followed through its identity's alias for a curator; for the
    resolver the alias's recording is returned as is (not ours to change)."""
    stale_key = recording.unresolved_key
    target_pk = Recording.objects.filter(mbid=mbid).values_list("pk", flat=True).first()
    list(
        Recording.objects.select_for_update()
        .filter(pk__in=[pk for pk in (recording.pk, target_pk) if pk is not None])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    current = Recording.objects.select_for_update().filter(pk=recording.pk).first()
    if current is not None:
        return current
    alias = RecordingAlias.objects.filter(key=stale_key).first() if stale_key else None
    if alias is None:
        return None
    if not by_curator:
        return alias.recording
    return Recording.objects.select_for_update().get(pk=alias.recording_id)


def _reported_by(recording: Recording) -> ReportedTrack:
    """The identity an unresolved row stands for."""
    return ReportedTrack(
        recording.artist_name,
        recording.title,
        recording.album_name,
        hint_mbid=str(recording.hint_mbid) if recording.hint_mbid else None,
    )


def _take_or_merge(recording: Recording, mbid: uuid.UUID) -> Recording:
    """The row takes the MBID, or merges into the row that has it already (locked)."""
    target = Recording.objects.select_for_update().filter(mbid=mbid).first()
    if target is not None:
        return merge_recordings(source=recording, target=target)
    resolved = {
        "mbid": mbid,
        "status": Recording.Status.RESOLVED,
        "unresolved_key": None,
        "text_key": "",
        "album_name": "",
        "hint_mbid": None,
        "last_error": "",
        "next_attempt_at": None,
    }
    try:
        with transaction.atomic():
            Recording.objects.filter(pk=recording.pk).update(**resolved)
    except IntegrityError:  # another worker stored this MBID meanwhile: join it
        target = Recording.objects.select_for_update().get(mbid=mbid)
        return merge_recordings(source=recording, target=target)
    for name, value in resolved.items():
        setattr(recording, name, value)
    return recording


def _adopt_names(target: Recording, names: MusicBrainzNames) -> None:
    """MusicBrainz's names replace the reported text once we know them."""
    if names.title:
        target.title = names.title[:1000]
    if names.length_ms:
        target.length_ms = names.length_ms
    if names.credit is not None:
        target.artist_credit, target.artist_name = names.credit, names.credit.name[:2000]
    elif names.artist_name:
        target.artist_name = names.artist_name[:2000]
    if names.disambiguation:
        target.disambiguation = names.disambiguation[:1000]
    target.save()


def store_alias(
    *,
    key: str,
    reported: ReportedTrack,
    recording: Recording,
    decided_by: str,
    curator_id: int | None = None,
    scope: str = RecordingAlias.Scope.IDENTITY,
) -> RecordingAlias:
    """Point a reported identity (or, with scope ``text``, a text on every album) at
    ``recording``: every later listen of it goes there without resolution."""
    every_album = scope == RecordingAlias.Scope.TEXT
    alias, _ = RecordingAlias.objects.update_or_create(
        key=key,
        defaults={
            "recording": recording,
            "decided_by": decided_by,
            "curator_id": curator_id,
            "scope": scope,
            "text_key": reported.text_key,
            "artist_name": reported.artist_name[:2000],
            "track_name": reported.track_name[:1000],
            "album_name": "" if every_album else reported.album_name[:1000],
            "album_key": "" if every_album else album_key(reported.album_name)[:500],
            "hint_mbid": None if every_album else reported.hint_mbid,
        },
    )
    return alias
