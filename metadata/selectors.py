"""Reads of the metadata tables, shaped for the API. Callers pass keyword arguments only.

Each selector returns rows with everything its caller renders already fetched
(``select_related`` / ``prefetch_related``), so rendering costs no further queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, QuerySet, When

from metadata.listen_facts import listen_facts
from metadata.models import (
    Artist,
    ArtistCreditName,
    Recording,
    RecordingAlias,
    Release,
    ReleaseGroup,
    Track,
)
from sidetrack.parsing import parse_mbid


def artist_get(*, mbid: str | uuid.UUID) -> Artist | None:
    parsed = parse_mbid(mbid)
    return Artist.objects.filter(mbid=parsed).first() if parsed else None


def artist_release_groups(*, artist: Artist) -> QuerySet[ReleaseGroup]:
    """Stored release groups crediting ``artist``, oldest first. ``Exists`` rather
    than a join: an artist credited twice on one group must not list it twice."""
    credited = ArtistCreditName.objects.filter(
        credit_id=OuterRef("artist_credit_id"), artist=artist
    )
    return (
        ReleaseGroup.objects.filter(Exists(credited))
        .select_related("artist_credit")
        .order_by("first_release_date", "title", "pk")
    )


def release_group_get(*, mbid: str | uuid.UUID) -> ReleaseGroup | None:
    """A release group with its credit, releases and the preferred release's tracklist."""
    parsed = parse_mbid(mbid)
    if parsed is None:
        return None
    tracks = Track.objects.select_related("recording").order_by("medium_position", "position")
    return (
        ReleaseGroup.objects.filter(mbid=parsed)
        .select_related("artist_credit", "preferred_release")
        .prefetch_related(
            Prefetch("releases", queryset=Release.objects.order_by("date", "mbid")),
            Prefetch("preferred_release__tracks", queryset=tracks),
        )
        .first()
    )


def recording_get(*, mbid: str | uuid.UUID) -> Recording | None:
    """A resolved recording with the stored tracks (and their releases) it appears on."""
    parsed = parse_mbid(mbid)
    if parsed is None:
        return None
    tracks = Track.objects.select_related("release__release_group").order_by(
        "release__date", "release__mbid", "medium_position", "position"
    )
    return (
        Recording.objects.filter(mbid=parsed)
        .select_related("artist_credit")
        .prefetch_related(Prefetch("tracks", queryset=tracks))
        .first()
    )


def unresolved_recordings(*, base: QuerySet[Recording] | None = None) -> QuerySet[Recording]:
    """Recordings without an MBID, most played first: where curation pays most. The
    admin and the API list this. ``listen_count`` is the row's plays (duplicates
    counted once), ``every_album_listen_count`` those of every unresolved report of
    its artist and title, on any album: what each curation scope moves. ``base``:
    the admin's proxy model's rows."""
    # Plays are counted listens, as the listens app counts them (metadata.listen_facts).
    facts = listen_facts()
    base = Recording.objects.all() if base is None else base
    return (
        base.filter(mbid__isnull=True)
        .annotate(listen_count=facts.plays(pk=OuterRef("pk")))
        .annotate(
            every_album_listen_count=Case(
                When(text_key="", then=F("listen_count")),
                default=facts.plays(mbid__isnull=True, text_key=OuterRef("text_key")),
            )
        )
        .order_by("-listen_count", "pk")
    )


def scope_rows(*, recording: Recording, scope: str) -> QuerySet[Recording]:
    """The unresolved rows a curator's decision about ``recording`` covers in
    ``scope``: its own identity, or every unresolved report of its text."""
    if scope == RecordingAlias.Scope.TEXT and recording.text_key:
        return Recording.objects.filter(mbid__isnull=True, text_key=recording.text_key)
    return Recording.objects.filter(pk=recording.pk, mbid__isnull=True)


@dataclass(frozen=True)
class CurationScope:
    scope: str
    label: str
    tracks: int  # unresolved rows the decision covers
    listen_count: int  # their plays, duplicates counted once
    albums: tuple[str, ...]


def curation_scopes(*, recording: Recording) -> list[CurationScope]:
    """What a decision about this unresolved track covers in each scope: its own
    identity ("this album only"), or every unresolved report of its artist and title
    (any album, any source MBID)."""
    plays = listen_facts().plays(pk=OuterRef("pk"))
    scopes = []
    for scope, label in RecordingAlias.Scope.choices:
        counted = list(
            scope_rows(recording=recording, scope=scope)
            .annotate(n=plays)
            .values_list("album_name", "n")
        )
        scopes.append(
            CurationScope(
                scope=scope,
                label=label,
                tracks=len(counted),
                listen_count=sum(n for _, n in counted),
                albums=tuple(sorted({album or "(no album)" for album, _ in counted})),
            )
        )
    return scopes


def release_group_mbids_named(*, albums: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(album title, artist credit) as listens report them -> the MBID of a stored
    release group so titled and credited (letter case ignored), in one query."""
    if not albums:
        return {}
    wanted = Q()
    for title, artist in albums:
        wanted |= Q(title__iexact=title, artist_credit__name__iexact=artist)
    found: dict[tuple[str, str], str] = {}
    rows = (
        ReleaseGroup.objects.filter(wanted)
        .order_by("pk")
        .values_list("title", "artist_credit__name", "mbid")
    )
    keys = {(t.casefold(), a.casefold()): (t, a) for t, a in albums}
    for title, artist, mbid in rows:
        key = keys.get((title.casefold(), (artist or "").casefold()))
        if key is not None and key not in found:
            found[key] = str(mbid)
    return found
