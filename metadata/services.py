"""Writes to the metadata tables: merging recordings, storing what MusicBrainz returns.

Reported identities and their answers live in ``metadata.identity``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from metadata.clients import musicbrainz as mb
from metadata.matching import (
    AlbumCandidate,
    AlbumChoice,
    ReleaseOption,
    choose_preferred_release,
    rank_album_candidates,
)
from metadata.models import (
    Artist,
    ArtistCredit,
    ArtistCreditName,
    Recording,
    Release,
    ReleaseGroup,
    Track,
)
from metadata.providers import musicbrainz_client
from metadata.signals import recording_rows_moved


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
    with musicbrainz_client(client) as client:
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
    with musicbrainz_client(client) as client:
        group = client.lookup_release_group(mbid)
        # HTTP outside the transaction; one transaction for the writes.
        releases = client.browse_releases(group.mbid)
        return store_release_group(group, releases, country=country, all_tracklists=all_tracklists)


def search_artists(*, name: str, client: mb.MusicBrainzClient | None = None) -> list[Artist]:
    """Search MusicBrainz for artists and store what came back, best match first."""
    with musicbrainz_client(client) as client:
        return [store_artist(artist) for artist in client.search_artists(name, limit=25).items]


def lookup_artist(*, mbid: str, client: mb.MusicBrainzClient | None = None) -> Artist:
    with musicbrainz_client(client) as client:
        return store_artist(client.lookup_artist(mbid))
