"""Album progress and taste overlap from plain values: no I/O, no Django.

The selectors fetch rows; everything a club asks of them (tracks heard, full
listens, overlap) is computed here, so the definitions live in one place and are
tested with plain values. README.md ("Album clubs") states them for users.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A full listen: this share of the tracklist heard, within this multiple of its length.
FULL_LISTEN_SHARE = 0.9
FULL_LISTEN_WINDOW_FACTOR = 1.5
# Tracks MusicBrainz gives no length for count as this long (a typical track).
DEFAULT_TRACK_MS = 240_000


@dataclass(frozen=True)
class AlbumTrack:
    """One line of a release's tracklist, with the recording it plays."""

    recording_id: int
    recording_mbid: str | None
    medium: int
    position: int
    number: str
    title: str
    length_ms: int | None


@dataclass(frozen=True)
class AlbumRelease:
    mbid: str
    title: str
    date: str
    country: str
    recording_ids: frozenset[int]


@dataclass(frozen=True)
class BonusTrack:
    """A recording on other editions of the group but not on the preferred release."""

    track: AlbumTrack
    release_mbids: tuple[str, ...]


@dataclass(frozen=True)
class Album:
    """A release group as progress sees it: the preferred release's tracklist, the
    recordings only other editions carry, and every release with a stored tracklist."""

    mbid: str
    title: str
    artist_credit: str
    tracklist: tuple[AlbumTrack, ...]
    bonus: tuple[BonusTrack, ...]
    releases: tuple[AlbumRelease, ...]

    @property
    def tracklist_recordings(self) -> frozenset[int]:
        return frozenset(t.recording_id for t in self.tracklist)

    @property
    def recording_ids(self) -> frozenset[int]:
        return self.tracklist_recordings | {b.track.recording_id for b in self.bonus}

    @property
    def length_ms(self) -> int:
        """The preferred tracklist's length, unknown track lengths counted as typical."""
        known = [t.length_ms for t in self.tracklist if t.length_ms]
        typical = round(sum(known) / len(known)) if known else DEFAULT_TRACK_MS
        return sum(t.length_ms or typical for t in self.tracklist)

    @property
    def full_listen_window(self) -> timedelta:
        return timedelta(milliseconds=self.length_ms * FULL_LISTEN_WINDOW_FACTOR)

    @property
    def full_listen_tracks(self) -> int:
        """Distinct tracklist recordings a full listen needs (90%, rounded up)."""
        return math.ceil(len(self.tracklist_recordings) * FULL_LISTEN_SHARE - 1e-9)


@dataclass(frozen=True)
class Plays:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class FullListen:
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class Progress:
    """One user's progress on one album over one period."""

    plays: Mapping[int, Plays]  # recording id -> plays of it
    heard: int  # distinct tracklist recordings heard
    tracklist_size: int
    listen_count: int  # every counted listen of the album's recordings, bonus tracks too
    first_listen: datetime | None
    last_listen: datetime | None
    full_listens: tuple[FullListen, ...] = field(default=())

    @property
    def share_heard(self) -> float:
        return self.heard / self.tracklist_size if self.tracklist_size else 0.0

    def sort_key(self) -> tuple:
        """Standings order: full listens, share heard, listens; most first."""
        return (-len(self.full_listens), -self.share_heard, -self.listen_count)


def album_progress(album: Album, listens: Iterable[tuple[int, datetime]]) -> Progress:
    """Progress from (recording id, listened at) pairs of the user's counted listens.

    Listens of recordings not on the album are ignored, so callers may pass more.
    """
    wanted = album.recording_ids
    ordered = sorted((at, rid) for rid, at in listens if rid in wanted)
    plays: dict[int, Plays] = {}
    for at, rid in ordered:
        seen = plays.get(rid)
        plays[rid] = Plays(seen.count + 1, seen.first, at) if seen else Plays(1, at, at)
    tracklist = album.tracklist_recordings
    return Progress(
        plays=plays,
        heard=len(tracklist & plays.keys()),
        tracklist_size=len(tracklist),
        listen_count=len(ordered),
        first_listen=ordered[0][0] if ordered else None,
        last_listen=ordered[-1][0] if ordered else None,
        full_listens=full_listens(album, [(rid, at) for at, rid in ordered]),
    )


def full_listens(album: Album, ordered: Sequence[tuple[int, datetime]]) -> tuple[FullListen, ...]:
    """Sessions in which the user heard ``full_listen_tracks`` distinct tracklist
    recordings, in any order, within ``full_listen_window`` of the session's first
    listen.

    Greedy, oldest first: a session starts at a listen of a tracklist recording and
    ends at the listen that reaches the threshold; the next one starts after it, so
    sessions never share a listen. A start that reaches nothing moves to the next
    listen. ``ordered`` is (recording id, listened at), oldest first.
    """
    tracklist = album.tracklist_recordings
    needed = album.full_listen_tracks
    if not needed:
        return ()
    window = album.full_listen_window
    on_list = [(rid, at) for rid, at in ordered if rid in tracklist]
    found: list[FullListen] = []
    start = 0
    while start < len(on_list):
        began = on_list[start][1]
        heard: set[int] = set()
        end = start
        while end < len(on_list) and on_list[end][1] - began <= window:
            heard.add(on_list[end][0])
            if len(heard) >= needed:
                break
            end += 1
        if len(heard) >= needed:
            found.append(FullListen(began, on_list[end][1]))
            start = end + 1
        else:
            start += 1
    return tuple(found)


@dataclass(frozen=True)
class Shared:
    key: str
    name: str
    listens_a: int
    listens_b: int


@dataclass(frozen=True)
class Overlap:
    score: float
    shared: tuple[Shared, ...]


def overlap(
    top_a: Sequence[tuple[str, str, int]],
    top_b: Sequence[tuple[str, str, int]],
    *,
    total_a: int,
    total_b: int,
) -> Overlap:
    """Shared items of two top lists of (key, name, listens) and their overlap score.

    The score is the sum over shared items of the smaller of the two listening
    shares (an item's listens over the user's total for the period): 0 when nothing
    is shared, 1 when both users spread their listening identically.
    """
    b_by_key = {key: (name, count) for key, name, count in top_b}
    shared = [
        Shared(key, name, count, b_by_key[key][1]) for key, name, count in top_a if key in b_by_key
    ]

    def common_share(item: Shared) -> float:
        return min(item.listens_a / max(total_a, 1), item.listens_b / max(total_b, 1))

    shared.sort(key=lambda item: (-common_share(item), item.name))
    score = sum(common_share(item) for item in shared)
    return Overlap(round(min(score, 1.0), 4), tuple(shared))
