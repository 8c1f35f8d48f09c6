"""Writes to the metadata tables. Callers pass keyword arguments only."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from metadata.clients import musicbrainz as mb
from metadata.matching import (
    AlbumCandidate,
    AlbumChoice,
    RecordingCandidate,
    ReleaseOption,
    TrackText,
    album_base,
    album_bound_title,
    album_key,
    choose_preferred_release,
    every_album_key_digest,
    identity_key_digest,
    parse_title,
    rank_album_candidates,
    split_featured_artist,
    text_key_digest,
    verify_hint,
    version_tags,
)
from metadata.models import (
    Artist,
    ArtistCredit,
    ArtistCreditName,
    Recording,
    RecordingAlias,
    Release,
    ReleaseGroup,
    Track,
)
from metadata.providers import get_musicbrainz_client
from metadata.signals import recording_rows_moved


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


@transaction.atomic
def merge_recordings(*, source: Recording, target: Recording) -> Recording:
    """Move everything that points at ``source`` (listens, tracks, aliases) to
    ``target`` and delete ``source``. Generic over reverse relations so apps
    that depend on metadata (listens) need no hook here: they hear of the rows
    that moved through ``signals.recording_rows_moved``."""
    if source.pk == target.pk:
        return target
    for relation in Recording._meta.related_objects:
        if relation.many_to_many:
            continue
        field_name = relation.field.name
        rows = relation.related_model._base_manager.filter(**{field_name: source})
        pks = list(rows.values_list("pk", flat=True))
        for start in range(0, len(pks), 500):  # bounded IN lists for SQLite
            relation.related_model._base_manager.filter(pk__in=pks[start : start + 500]).update(
                **{field_name: target}
            )
        if pks:
            recording_rows_moved.send(sender=relation.related_model, pks=pks, target_id=target.pk)
    source.delete()
    return target


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
    stale_key = recording.unresolved_key
    # Both rows locked in key order: ingest share-locks the rows it stores listens
    # against in key order too, so the two never wait on each other in a circle.
    target_pk = Recording.objects.filter(mbid=mbid).values_list("pk", flat=True).first()
    list(
        Recording.objects.select_for_update()
        .filter(pk__in=[pk for pk in (recording.pk, target_pk) if pk is not None])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    current = Recording.objects.select_for_update().filter(pk=recording.pk).first()
    if current is None:  # merged away meanwhile: its identity now leads elsewhere
        alias = RecordingAlias.objects.filter(key=stale_key).first() if stale_key else None
        if alias is None or not by_curator:
            return alias.recording if alias else recording
        current = Recording.objects.select_for_update().get(pk=alias.recording_id)
    if not by_curator and (
        current.mbid is not None or current.status == Recording.Status.NOT_IN_MUSICBRAINZ
    ):
        return current
    recording = current
    reported = ReportedTrack(
        recording.artist_name,
        recording.title,
        recording.album_name,
        hint_mbid=str(recording.hint_mbid) if recording.hint_mbid else None,
    )
    identity_key = recording.unresolved_key
    target = Recording.objects.select_for_update().filter(mbid=mbid).first()
    if target is None:
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
            target = merge_recordings(source=recording, target=target)
        else:
            for name, value in resolved.items():
                setattr(recording, name, value)
            target = recording
    elif target.pk != recording.pk:
        target = merge_recordings(source=recording, target=target)
    # MusicBrainz's names replace the reported text once we know them.
    if title:
        target.title = title[:1000]
    if length_ms:
        target.length_ms = length_ms
    if credit is not None:
        target.artist_credit, target.artist_name = credit, credit.name[:2000]
    elif artist_name:
        target.artist_name = artist_name[:2000]
    if disambiguation:
        target.disambiguation = disambiguation[:1000]
    target.save()
    if identity_key:
        store_alias(
            key=identity_key,
            reported=reported,
            recording=target,
            decided_by=decided_by,
            curator_id=curator_id,
        )
    return target


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


# --- Storing what MusicBrainz returns ----------------------------------------------


def store_artist(artist: mb.Artist | mb.ArtistCreditPart) -> Artist:
    """Upsert an artist from a search/lookup result or an artist-credit part."""
    if isinstance(artist, mb.ArtistCreditPart):
        fields = {"name": artist.artist_name, "sort_name": artist.artist_sort_name or ""}
        fields["disambiguation"] = artist.disambiguation or ""
        mbid = artist.artist_mbid
    else:
        fields = {
            "name": artist.name,
            "sort_name": artist.sort_name or "",
            "disambiguation": artist.disambiguation or "",
            "type": artist.type or "",
            "country": artist.country or "",
        }
        mbid = artist.mbid
    stored, _ = Artist.objects.update_or_create(mbid=mbid, defaults=fields)
    return stored


def store_artist_credit(parts: Sequence[mb.ArtistCreditPart]) -> ArtistCredit | None:
    """The shared ``ArtistCredit`` row for these parts, created with its artists."""
    usable = [p for p in parts if p.artist_mbid]
    if not usable:
        return None
    key = hashlib.sha256(
        json.dumps([[p.artist_mbid, p.credited_name, p.join_phrase] for p in usable]).encode()
    ).hexdigest()
    credit = ArtistCredit.objects.filter(key=key).first()
    if credit is not None:
        return credit
    with transaction.atomic():
        credit, created = ArtistCredit.objects.get_or_create(
            key=key, defaults={"name": mb.render_artist_credit(usable)[:2000]}
        )
        if created:
            for position, part in enumerate(usable):
                ArtistCreditName.objects.create(
                    credit=credit,
                    position=position,
                    artist=store_artist(part),
                    name=part.credited_name[:1000],
                    join_phrase=part.join_phrase[:100],
                )
    return credit


def store_recording(
    *, mbid: str, title: str, length_ms: int | None, credit: ArtistCredit | None, **extra: str
) -> Recording:
    """Upsert a resolved recording by MBID."""
    fields = {"title": title[:1000], "length_ms": length_ms, **extra}
    if credit is not None:
        fields |= {"artist_credit": credit, "artist_name": credit.name}
    recording, created = Recording.objects.get_or_create(
        mbid=mbid, defaults={**fields, "status": Recording.Status.RESOLVED}
    )
    if not created:
        changed = {k: v for k, v in fields.items() if getattr(recording, k) != v}
        if changed:
            Recording.objects.filter(pk=recording.pk).update(**changed)
            for name, value in changed.items():
                setattr(recording, name, value)
    return recording


@transaction.atomic
def store_release_group(
    group: mb.ReleaseGroup,
    releases: Sequence[mb.Release],
    *,
    country: str | None = None,
    all_tracklists: bool = False,
) -> ReleaseGroup:
    """Store a release group, all its releases and the preferred release's tracklist
    (every release's with ``all_tracklists``: album clubs list other editions' bonus
    tracks)."""
    stored_group, _ = ReleaseGroup.objects.update_or_create(
        mbid=group.mbid,
        defaults={
            "title": group.title[:1000],
            "artist_credit": store_artist_credit(group.artist_credit),
            "primary_type": group.primary_type or "",
            "secondary_types": list(group.secondary_types),
            "first_release_date": group.first_release_date or "",
            "disambiguation": group.disambiguation or "",
        },
    )
    stored_releases = {}
    for release in releases:
        stored_releases[release.mbid], _ = Release.objects.update_or_create(
            mbid=release.mbid,
            defaults={
                "release_group": stored_group,
                "title": release.title[:1000],
                "artist_credit": store_artist_credit(release.artist_credit),
                "date": release.date or "",
                "country": release.country or "",
                "status": release.status or "",
                "barcode": release.barcode or "",
            },
        )
    preferred_mbid = choose_preferred_release(
        [ReleaseOption(r.mbid, r.date, r.country, r.status) for r in releases], country=country
    )
    if preferred_mbid is not None:
        preferred = next(r for r in releases if r.mbid == preferred_mbid)
        store_tracklist(stored_releases[preferred_mbid], preferred)
        stored_group.preferred_release = stored_releases[preferred_mbid]
        stored_group.save(update_fields=["preferred_release", "updated_at"])
    if all_tracklists:
        for release in releases:
            if release.mbid != preferred_mbid:
                store_tracklist(stored_releases[release.mbid], release)
    return stored_group


def store_tracklist(release: Release, data: mb.Release) -> None:
    """Replace the release's stored tracklist with ``data``'s (nothing points at
    Track rows, and renumbered tracks would collide with their old positions)."""
    tracks = []
    for medium_index, medium in enumerate(data.media, start=1):
        medium_position = medium.position or medium_index
        for track_index, track in enumerate(medium.tracks, start=1):
            if not track.recording_mbid:
                continue
            recording = store_recording(
                mbid=track.recording_mbid,
                title=track.recording_title or track.title,
                length_ms=track.recording_length_ms or track.length_ms,
                credit=store_artist_credit(track.artist_credit) or release.artist_credit,
            )
            position = track.position or track_index
            tracks.append(
                Track(
                    release=release,
                    mbid=track.mbid,
                    recording=recording,
                    medium_position=medium_position,
                    medium_format=medium.format or "",
                    position=position,
                    number=(track.number or str(position))[:20],
                    title=track.title[:1000],
                    length_ms=track.length_ms,
                )
            )
    with transaction.atomic():
        release.tracks.all().delete()
        Track.objects.bulk_create(tracks)
        release.tracklist_fetched_at = timezone.now()
        release.save(update_fields=["tracklist_fetched_at", "updated_at"])


# --- Albums for club nominations ------------------------------------------------------


def album_candidate(group: mb.ReleaseGroup) -> AlbumCandidate:
    return AlbumCandidate(
        mbid=group.mbid,
        title=group.title,
        credit_display=mb.render_artist_credit(group.artist_credit),
        credited_names=credited_names(group.artist_credit),
        primary_type=group.primary_type,
        secondary_types=tuple(group.secondary_types),
        first_release_date=group.first_release_date,
        score=group.score,
    )


def credited_names(parts: Sequence[mb.ArtistCreditPart]) -> tuple[str, ...]:
    names = []
    for part in parts:
        names.extend(n for n in (part.artist_name, part.credited_name) if n)
    return tuple(names)


def search_albums(
    *,
    artist_name: str,
    album_title: str,
    year: int | None = None,
    client: mb.MusicBrainzClient | None = None,
) -> AlbumChoice:
    """Ranked release-group candidates for a nomination, and whether the top one is
    a confident choice or the user should pick."""
    client = client or get_musicbrainz_client()
    page = client.search_release_groups(artist_name, album_title, year=year, limit=25)
    candidates = [album_candidate(group) for group in page.items]
    if year is not None and not page.items:
        # The year may be wrong or missing upstream: rank without it rather than fail.
        page = client.search_release_groups(artist_name, album_title, limit=25)
        candidates = [album_candidate(group) for group in page.items]
    return rank_album_candidates(artist_name, album_title, candidates, year=year)


def import_release_group(
    *,
    mbid: str,
    country: str | None = None,
    all_tracklists: bool = False,
    client: mb.MusicBrainzClient | None = None,
) -> ReleaseGroup:
    """Fetch and store a release group, all its releases and the preferred release's
    tracklist (or every release's). Idempotent: a re-import updates what changed."""
    client = client or get_musicbrainz_client()
    group = client.lookup_release_group(mbid)
    # HTTP outside the transaction; one transaction for the writes.
    releases = client.browse_releases(group.mbid)
    return store_release_group(group, releases, country=country, all_tracklists=all_tracklists)


def search_artists(*, name: str, client: mb.MusicBrainzClient | None = None) -> list[Artist]:
    """Search MusicBrainz for artists and store what came back, best match first."""
    client = client or get_musicbrainz_client()
    return [store_artist(artist) for artist in client.search_artists(name, limit=25).items]


def lookup_artist(*, mbid: str, client: mb.MusicBrainzClient | None = None) -> Artist:
    client = client or get_musicbrainz_client()
    return store_artist(client.lookup_artist(mbid))


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
