"""Stored recordings as the matcher sees them: a selector, no writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from metadata.matching import RecordingCandidate
from metadata.models import ArtistCredit, Recording, Track


def known_recordings(mbids: Iterable[str]) -> dict[str, RecordingCandidate]:
    """Stored recordings by MBID as candidates, with their credits and the titles of
    the stored releases they are on (the album rule of ``versions_agree``), in a
    fixed number of queries."""
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
    found = {}
    for row in rows:
        on = releases.get(row.pk, [])
        found[str(row.mbid)] = RecordingCandidate(
            mbid=str(row.mbid),
            title=row.title,
            credited_names=row_credit_names(row.artist_credit),
            credit_display=row.artist_name,
            length_ms=row.length_ms,
            disambiguation=row.disambiguation,
            release_titles=tuple(dict.fromkeys(title for title, _ in on)),
            on_live_releases_only=bool(on) and all("Live" in types for _, types in on),
        )
    return found


def row_credit_names(credit: ArtistCredit | None) -> tuple[str, ...]:
    """Every name a stored credit gives its artists (as credited, and their own)."""
    if credit is None:
        return ()
    # .all(): the names a caller prefetched (a filter would query again).
    return tuple(name for n in credit.names.all() for name in (n.name, n.artist.name))
