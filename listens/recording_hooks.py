"""What the listens app tells metadata about recordings (``metadata.hooks``).

Metadata may not query listens; it asks through signals, and these answer:
how many listens a recording row holds (curation logs it), and the album a row
reported without album was heard amid (resolution's session evidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db.models import Count

from listens.models import ListenEvent
from metadata.matching import album_key, artist_matches, parse_title

# Two listens further apart than this are not one session.
SESSION_GAP = timedelta(minutes=30)
# Listens of one row whose neighbours are read (the most recent ones).
SESSION_LISTENS_PER_ROW = 5


def listen_rows(recording_ids: Sequence[int]) -> dict[int, int]:
    """Listens stored against each recording, copies of another source's included."""
    counts: dict[int, int] = {}
    ids = list(recording_ids)
    for start in range(0, len(ids), 500):  # bounded IN lists for SQLite
        rows = (
            ListenEvent.objects.filter(recording_id__in=ids[start : start + 500])
            .values("recording_id")
            .annotate(n=Count("id"))
            .values_list("recording_id", "n")
        )
        counts |= dict(rows)
    return counts


def session_albums(recording_ids: Sequence[int]) -> dict[int, str]:
    """Row → the album its listens were heard amid, when the evidence is one album.

    A listen's evidence is its nearest listens before and after (same user, counted
    listens, within ``SESSION_GAP``): both (or the only one there is) by the row's
    artist and on one album. A row takes that album when every listen with evidence
    names the same one; listens heard alone (shuffle, a single) say nothing, and
    two listens naming two albums leave the row without one."""
    found: dict[int, str] = {}
    for recording_id in recording_ids:
        listens = list(
            ListenEvent.objects.filter(recording_id=recording_id, duplicate_of__isnull=True)
            .order_by("-listened_at")
            .values_list("user_id", "listened_at", "artist_name", "track_name")[
                :SESSION_LISTENS_PER_ROW
            ]
        )
        albums: dict[str, str] = {}
        for user_id, listened_at, artist, title in listens:
            album = _heard_amid(user_id, listened_at, artist, title)
            if album:
                albums.setdefault(album_key(album), album)
        if len(albums) == 1:
            found[recording_id] = next(iter(albums.values()))
    return found


def _heard_amid(user_id: int, listened_at, artist: str, title: str) -> str | None:
    around = list(
        ListenEvent.objects.filter(
            user_id=user_id,
            duplicate_of__isnull=True,
            listened_at__range=(listened_at - SESSION_GAP, listened_at + SESSION_GAP),
        )
        .exclude(listened_at=listened_at)
        .values_list("listened_at", "album_name", "artist_name", "track_name")
    )
    before = max((r for r in around if r[0] < listened_at), default=None, key=lambda r: r[0])
    after = min((r for r in around if r[0] > listened_at), default=None, key=lambda r: r[0])
    neighbours = [r for r in (before, after) if r is not None]
    if not neighbours:
        return None
    keys = {album_key(album) for _, album, _, _ in neighbours}
    if len(keys) != 1 or not next(iter(keys)):
        return None
    if not all(artist_matches(artist, (name,), name) for _, _, name, _ in neighbours):
        return None
    # The same song again next to it is a repeat, not an album played through.
    own = parse_title(title).key
    if any(parse_title(other).key == own for _, _, _, other in neighbours):
        return None
    return neighbours[0][1]
