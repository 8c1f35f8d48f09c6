"""The album a recording row reported without album was heard amid: the same user's
listens just before and after its listens, by the same artist. Metadata asks for it
through ``metadata.listen_facts`` as evidence for resolution (never as the reported
album)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from listens.models import ListenEvent
from metadata.matching import album_key, artist_matches, parse_title

# Two listens further apart than this are not one session.
SESSION_GAP = timedelta(minutes=30)
# Listens of one row whose neighbours are read (the most recent ones).
SESSION_LISTENS_PER_ROW = 5
# Listens of the same artist without album a session may hold between a listen
# and the nearest one naming an album.
SESSION_SKIP = 2


def session_albums(recording_ids: Sequence[int]) -> dict[int, str]:
    """Row → the album its listens were heard amid, when the evidence is one album.

    A listen's evidence is the session around it (same user, counted listens, each
    within ``SESSION_GAP`` of the next): on each side, the nearest listen naming an
    album, past at most ``SESSION_SKIP`` listens of the row's artist that name none
    (a source that drops albums drops them for the whole session). A side that meets
    another artist first is the session's edge and says nothing; a side by the row's
    artist names its album. The listen is heard amid album A when some side names A
    and none names another, and neither neighbour is the same song again (a repeat,
    not an album played through). A row takes A when every listen with evidence names
    A; listens heard alone (shuffle, a single) say nothing, and two listens naming
    two albums leave the row without one."""
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


def _heard_amid(user_id: int, listened_at: datetime, artist: str, title: str) -> str | None:
    reach = SESSION_GAP * (SESSION_SKIP + 1)
    around = list(
        ListenEvent.objects.filter(
            user_id=user_id,
            duplicate_of__isnull=True,
            listened_at__range=(listened_at - reach, listened_at + reach),
        )
        .exclude(listened_at=listened_at)
        .order_by("listened_at")
        .values_list("listened_at", "album_name", "artist_name", "track_name")
    )
    before = [r for r in reversed(around) if r[0] < listened_at]
    after = [r for r in around if r[0] > listened_at]
    own = parse_title(title).key
    # The same song again next to it is a repeat, not an album played through.
    nearest = [side[0] for side in (before, after) if side]
    if any(parse_title(other).key == own for _, _, _, other in nearest):
        return None
    named: dict[str, str] = {}
    for side in (before, after):
        album = _side_album(side, listened_at, artist)
        if album:
            named.setdefault(album_key(album), album)
    return next(iter(named.values())) if len(named) == 1 else None


def _side_album(side: list, listened_at: datetime, artist: str) -> str | None:
    """The album the nearest listens on one side name (nearest first), or None."""
    last = listened_at
    for skipped, (at, album, other_artist, _) in enumerate(side):
        if abs(at - last) > SESSION_GAP or skipped > SESSION_SKIP:
            return None
        if not artist_matches(artist, (other_artist,), other_artist):
            return None  # the session's edge
        if album_key(album):
            return album
        last = at
    return None
