"""The emulator's in-memory data set.

A :class:`Catalog` holds MusicBrainz-like entities (artists, recordings, release
groups, releases); a :class:`World` adds users and their scrobble histories, which
the Last.fm and ListenBrainz faces of the emulator both serve. Histories are kept
sorted by timestamp so that every page is found with :mod:`bisect`.
"""

from __future__ import annotations

import bisect
import random
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

_NAMESPACE = uuid.UUID("6f1c1c53-5d43-4c1e-9d4b-2b8a8b3f0e11")


def make_mbid(*parts: object) -> str:
    """A stable UUID derived from ``parts``: the same data set always gets the same MBIDs."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(map(str, parts))))


# --- catalog entities -----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EmuArtist:
    mbid: str
    name: str
    sort_name: str
    disambiguation: str = ""
    type: str | None = "Group"
    country: str | None = None


# (artist, name as credited, join phrase), as MusicBrainz's artist-credit.
CreditPart = tuple[EmuArtist, str, str]
CreditLike = EmuArtist | Sequence[EmuArtist] | Sequence[CreditPart]


def make_credit(value: CreditLike) -> tuple[CreditPart, ...]:
    """Normalize an artist, a list of artists (joined with " & ") or explicit parts."""
    if isinstance(value, EmuArtist):
        return ((value, value.name, ""),)
    items = list(value)
    if all(isinstance(item, EmuArtist) for item in items):
        joins = [" & "] * (len(items) - 1) + [""]
        return tuple((a, a.name, j) for a, j in zip(items, joins, strict=True))  # type: ignore[misc]
    return tuple((a, name, join) for a, name, join in items)  # type: ignore[misc]


def credit_name(credit: Sequence[CreditPart]) -> str:
    return "".join(name + join for _, name, join in credit)


@dataclass(frozen=True, eq=False)
class EmuRecording:
    mbid: str
    title: str
    artist_credit: tuple[CreditPart, ...]
    length_ms: int | None
    disambiguation: str = ""
    video: bool = False
    isrcs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "artist_credit", make_credit(self.artist_credit))
        object.__setattr__(self, "isrcs", tuple(self.isrcs))

    @property
    def credit_name(self) -> str:
        return credit_name(self.artist_credit)


@dataclass(frozen=True, eq=False)
class EmuTrack:
    """A recording's place on a medium; title/length override the recording's when set."""

    recording: EmuRecording
    title: str | None = None
    length_ms: int | None = None
    number: str | None = None
    mbid: str | None = None

    @property
    def shown_title(self) -> str:
        return self.title if self.title is not None else self.recording.title

    @property
    def shown_length(self) -> int | None:
        return self.length_ms if self.length_ms is not None else self.recording.length_ms


@dataclass(frozen=True, eq=False)
class EmuReleaseGroup:
    mbid: str
    title: str
    primary_type: str | None
    secondary_types: tuple[str, ...]
    first_release_date: str
    artist_credit: tuple[CreditPart, ...]
    disambiguation: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "artist_credit", make_credit(self.artist_credit))
        object.__setattr__(self, "secondary_types", tuple(self.secondary_types))


@dataclass(frozen=True, eq=False)
class EmuRelease:
    """A release; ``media`` is one list per disc of recordings or :class:`EmuTrack` overrides."""

    mbid: str
    title: str
    release_group: EmuReleaseGroup
    date: str | None
    country: str | None
    status: str | None
    media: tuple[tuple[EmuTrack, ...], ...]
    artist_credit: tuple[CreditPart, ...] | None = None
    barcode: str | None = None
    disambiguation: str = ""
    formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        media = []
        for disc, medium in enumerate(self.media, start=1):
            tracks = []
            for position, item in enumerate(medium, start=1):
                track = item if isinstance(item, EmuTrack) else EmuTrack(item)
                if track.mbid is None:  # track ids are stable per (release, disc, position)
                    track = replace(track, mbid=make_mbid("track", self.mbid, disc, position))
                tracks.append(track)
            media.append(tuple(tracks))
        object.__setattr__(self, "media", tuple(media))
        object.__setattr__(self, "formats", tuple(self.formats))
        if self.artist_credit is not None:
            object.__setattr__(self, "artist_credit", make_credit(self.artist_credit))

    @property
    def credit(self) -> tuple[CreditPart, ...]:
        return self.artist_credit or self.release_group.artist_credit

    @property
    def track_count(self) -> int:
        return sum(len(medium) for medium in self.media)

    def medium_format(self, index: int) -> str:
        return self.formats[index] if index < len(self.formats) else "CD"


@dataclass(frozen=True, slots=True)
class EmuScrobble:
    """One listen as a user's scrobbler sent it.

    ``recording_mbid`` is what the client claimed (Last.fm ``mbid``, ListenBrainz
    ``additional_info.recording_mbid``); ``mapped_recording_mbid`` is what
    ListenBrainz's mapper matched (``track_metadata.mbid_mapping``).
    """

    user: str
    ts: int
    artist: str
    track: str
    album: str = ""
    recording_mbid: str | None = None
    artist_mbid: str | None = None
    album_mbid: str | None = None
    duration_ms: int | None = None
    mapped_recording_mbid: str | None = None
    loved: bool = False
    submission_client: str = "Sidetrack emulator"
    inserted_at: int | None = None


@dataclass
class EmuUser:
    name: str
    lastfm: bool = True
    listenbrainz: bool = True
    private: bool = False  # Last.fm answers error 17
    now_playing: EmuScrobble | None = None  # served by both services


# --- catalog --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Appearance:
    release: EmuRelease
    disc: int  # 1-based
    position: int  # 1-based within the disc
    track: EmuTrack


def fold(text: str) -> str:
    """Lower-case without accents, like MusicBrainz's and ListenBrainz's analyzers."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def mapper_key(*names: str) -> str:
    # ListenBrainz's exact lookup: concatenated names, non-word characters removed,
    # unaccented, lower-cased (labs_api/labs/api/recording_lookup_base.py).
    return "".join(ch for ch in fold("".join(names)) if ch.isalnum() or ch == "_")


class Catalog:
    """MusicBrainz-like entities keyed by MBID, with the indexes the emulator needs."""

    def __init__(self) -> None:
        self.artists: dict[str, EmuArtist] = {}
        self.recordings: dict[str, EmuRecording] = {}
        self.release_groups: dict[str, EmuReleaseGroup] = {}
        self.releases: dict[str, EmuRelease] = {}
        self.redirects: dict[str, str] = {}  # merged MBID -> surviving MBID
        self.version = 0  # bumped on every change; search indexes rebuild lazily
        self._appearances: dict[str, list[Appearance]] = {}
        self._releases_by_group: dict[str, list[EmuRelease]] = {}
        self._groups_by_artist: dict[str, list[EmuReleaseGroup]] = {}
        self._counter = 0
        self._mapper: tuple[int, dict[str, Appearance], dict[str, Appearance]] | None = None
        self.indexes: dict[str, Any] = {}  # search indexes, owned by tests.emulator.search

    def _mbid(self, kind: str, name: str) -> str:
        self._counter += 1
        return make_mbid(kind, name, self._counter)

    def _changed(self) -> None:
        self.version += 1

    # adding

    def add_artist(
        self,
        name: str,
        *,
        sort_name: str | None = None,
        mbid: str | None = None,
        disambiguation: str = "",
        type: str | None = "Group",  # noqa: A002 - MusicBrainz's field name
        country: str | None = None,
    ) -> EmuArtist:
        if sort_name is None:
            sort_name = f"{name[4:]}, The" if name.startswith("The ") else name
        artist = EmuArtist(
            mbid or self._mbid("artist", name), name, sort_name, disambiguation, type, country
        )
        self.artists[artist.mbid] = artist
        self._changed()
        return artist

    def add_recording(
        self,
        title: str,
        artist_credit: CreditLike,
        length_ms: int | None = None,
        *,
        mbid: str | None = None,
        disambiguation: str = "",
        video: bool = False,
        isrcs: Sequence[str] = (),
    ) -> EmuRecording:
        recording = EmuRecording(
            mbid or self._mbid("recording", title),
            title,
            make_credit(artist_credit),
            length_ms,
            disambiguation,
            video,
            tuple(isrcs),
        )
        self.recordings[recording.mbid] = recording
        self._changed()
        return recording

    def add_release_group(
        self,
        title: str,
        artist_credit: CreditLike,
        *,
        primary_type: str | None = "Album",
        secondary_types: Sequence[str] = (),
        first_release_date: str = "",
        mbid: str | None = None,
        disambiguation: str = "",
    ) -> EmuReleaseGroup:
        group = EmuReleaseGroup(
            mbid or self._mbid("release-group", title),
            title,
            primary_type,
            tuple(secondary_types),
            first_release_date,
            make_credit(artist_credit),
            disambiguation,
        )
        self.release_groups[group.mbid] = group
        self._releases_by_group.setdefault(group.mbid, [])
        for artist, _, _ in group.artist_credit:
            self._groups_by_artist.setdefault(artist.mbid, []).append(group)
        self._changed()
        return group

    def add_release(
        self,
        release_group: EmuReleaseGroup,
        media: Sequence[Sequence[EmuRecording | EmuTrack]],
        *,
        title: str | None = None,
        date: str | None = None,
        country: str | None = "XW",
        status: str | None = "Official",
        mbid: str | None = None,
        artist_credit: CreditLike | None = None,
        barcode: str | None = None,
        disambiguation: str = "",
        formats: Sequence[str] = (),
    ) -> EmuRelease:
        release = EmuRelease(
            mbid or self._mbid("release", title or release_group.title),
            title if title is not None else release_group.title,
            release_group,
            date if date is not None else (release_group.first_release_date or None),
            country,
            status,
            tuple(tuple(medium) for medium in media),  # type: ignore[misc]
            make_credit(artist_credit) if artist_credit is not None else None,
            barcode,
            disambiguation,
            tuple(formats),
        )
        self.releases[release.mbid] = release
        self._releases_by_group.setdefault(release_group.mbid, []).append(release)
        for disc, medium in enumerate(release.media, start=1):
            for position, track in enumerate(medium, start=1):
                self.recordings.setdefault(track.recording.mbid, track.recording)
                appearance = Appearance(release, disc, position, track)
                self._appearances.setdefault(track.recording.mbid, []).append(appearance)
        self._changed()
        return release

    def add_album(
        self,
        artist_credit: CreditLike,
        title: str,
        tracks: Sequence[str | tuple[str, int | None]]
        | Sequence[Sequence[str | tuple[str, int | None]]],
        *,
        date: str = "2001-01-01",
        primary_type: str | None = "Album",
        secondary_types: Sequence[str] = (),
        **release_kwargs: Any,
    ) -> EmuRelease:
        """Release group + release + recordings in one go.

        ``tracks`` is a list of titles or ``(title, length_ms)``, or a list of such
        lists for a multi-disc release.
        """
        credit = make_credit(artist_credit)
        multi = bool(tracks) and not isinstance(tracks[0], str | tuple)
        discs = tracks if multi else [tracks]
        group = self.add_release_group(
            title,
            credit,
            primary_type=primary_type,
            secondary_types=secondary_types,
            first_release_date=date,
        )
        media = []
        for disc in discs:
            medium = []
            for item in disc:  # type: ignore[union-attr]
                name, length = (item, 200_000) if isinstance(item, str) else item
                medium.append(self.add_recording(name, credit, length))
            media.append(medium)
        return self.add_release(group, media, date=date, **release_kwargs)

    def merge(self, old_mbid: str, into: str) -> None:
        """Record that ``old_mbid`` was merged into ``into`` (lookups answer the survivor)."""
        self.redirects[old_mbid] = into
        self._changed()

    # reading

    def resolve(self, mbid: str) -> str:
        seen = 0
        while mbid in self.redirects and seen < 20:  # chains of merges happen
            mbid = self.redirects[mbid]
            seen += 1
        return mbid

    def appearances(self, recording_mbid: str) -> list[Appearance]:
        return self._appearances.get(recording_mbid, [])

    def releases_of(self, release_group_mbid: str) -> list[EmuRelease]:
        return self._releases_by_group.get(release_group_mbid, [])

    def release_groups_of(self, artist_mbid: str) -> list[EmuReleaseGroup]:
        return self._groups_by_artist.get(artist_mbid, [])

    def first_release_date(self, recording_mbid: str) -> str | None:
        dates = [a.release.date for a in self.appearances(recording_mbid) if a.release.date]
        return min(dates) if dates else None

    def mapper_match(
        self, artist_name: str, recording_name: str, release_name: str | None = None
    ) -> Appearance | None:
        """ListenBrainz's exact lookups: artist+recording+release first, then artist+recording."""
        if self._mapper is None or self._mapper[0] != self.version:
            with_release: dict[str, Appearance] = {}
            without: dict[str, Appearance] = {}
            for recording_mbid in self.recordings:
                for appearance in self.appearances(recording_mbid):
                    credit = appearance.track.recording.credit_name
                    title = appearance.track.recording.title
                    key = mapper_key(credit, title, appearance.release.title)
                    with_release.setdefault(key, appearance)
                    without.setdefault(mapper_key(credit, title), appearance)
            self._mapper = (self.version, with_release, without)
        _, with_release, without = self._mapper
        if release_name:
            found = with_release.get(mapper_key(artist_name, recording_name, release_name))
            if found is not None:
                return found
        return without.get(mapper_key(artist_name, recording_name))


# --- histories and the world ------------------------------------------------------


class History:
    """One user's scrobbles, oldest first; same-second scrobbles keep insertion order."""

    __slots__ = ("_ts", "_items")

    def __init__(self) -> None:
        self._ts: list[int] = []
        self._items: list[EmuScrobble] = []

    def __len__(self) -> int:
        return len(self._items)

    def add(self, scrobble: EmuScrobble) -> None:
        if not self._ts or scrobble.ts >= self._ts[-1]:  # the common, O(1) case
            self._ts.append(scrobble.ts)
            self._items.append(scrobble)
            return
        index = bisect.bisect_right(self._ts, scrobble.ts)
        self._ts.insert(index, scrobble.ts)
        self._items.insert(index, scrobble)

    def remove(self, predicate: Callable[[EmuScrobble], bool]) -> list[EmuScrobble]:
        removed: list[EmuScrobble] = []
        kept_ts: list[int] = []
        kept: list[EmuScrobble] = []
        for ts, scrobble in zip(self._ts, self._items, strict=True):
            if predicate(scrobble):
                removed.append(scrobble)
            else:
                kept_ts.append(ts)
                kept.append(scrobble)
        self._ts, self._items = kept_ts, kept
        return removed

    def index_range(self, min_ts: int | None, max_ts: int | None) -> tuple[int, int]:
        """``[lo, hi)`` indexes of the scrobbles with ``min_ts <= ts <= max_ts`` (inclusive)."""
        lo = 0 if min_ts is None else bisect.bisect_left(self._ts, min_ts)
        hi = len(self._ts) if max_ts is None else bisect.bisect_right(self._ts, max_ts)
        return lo, max(lo, hi)

    def slice(self, lo: int, hi: int) -> list[EmuScrobble]:
        return self._items[lo:hi]

    @property
    def oldest_ts(self) -> int | None:
        return self._ts[0] if self._ts else None

    @property
    def latest_ts(self) -> int | None:
        return self._ts[-1] if self._ts else None

    def all(self) -> list[EmuScrobble]:
        return list(self._items)


@dataclass(eq=False)
class World:
    """Catalog + users + histories, guarded by one re-entrant lock (the server is threaded)."""

    catalog: Catalog = field(default_factory=Catalog)
    users: dict[str, EmuUser] = field(default_factory=dict)  # keyed by lower-cased name
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _histories: dict[str, History] = field(default_factory=dict, repr=False)

    # users

    def add_user(
        self,
        name: str,
        *,
        lastfm: bool = True,
        listenbrainz: bool = True,
        private: bool = False,
        now_playing: EmuScrobble | None = None,
    ) -> EmuUser:
        user = EmuUser(name, lastfm, listenbrainz, private, now_playing)
        with self.lock:
            self.users[name.lower()] = user
            self._histories.setdefault(name.lower(), History())
        return user

    def user(self, name: str) -> EmuUser | None:
        """Case-insensitive, like both services' user names."""
        return self.users.get(name.lower())

    def history(self, user: str) -> History:
        return self._histories.setdefault(user.lower(), History())

    def set_now_playing(self, user: str, scrobble: EmuScrobble | None) -> None:
        with self.lock:
            self._require(user).now_playing = scrobble

    def _require(self, name: str) -> EmuUser:
        user = self.user(name)
        if user is None:
            raise KeyError(f"no user {name!r}: call World.add_user first")
        return user

    # scrobbles

    def add_scrobbles(self, scrobbles: Iterable[EmuScrobble]) -> int:
        count = 0
        with self.lock:
            for scrobble in scrobbles:
                self._require(scrobble.user)
                self.history(scrobble.user).add(scrobble)
                count += 1
        return count

    def add_scrobble(self, scrobble: EmuScrobble) -> EmuScrobble:
        self.add_scrobbles([scrobble])
        return scrobble

    def scrobble(
        self,
        user: str,
        ts: int,
        recording: EmuRecording,
        *,
        release: EmuRelease | None = None,
        with_mbids: bool = True,
        mapped: bool = True,
        **overrides: Any,
    ) -> EmuScrobble:
        """Add a scrobble of a catalog recording, shaped as a scrobbler would send it."""
        return self.add_scrobble(
            self.make_scrobble(
                user,
                ts,
                recording,
                release=release,
                with_mbids=with_mbids,
                mapped=mapped,
                **overrides,
            )
        )

    def make_scrobble(
        self,
        user: str,
        ts: int,
        recording: EmuRecording,
        *,
        release: EmuRelease | None = None,
        with_mbids: bool = True,
        mapped: bool = True,
        **overrides: Any,
    ) -> EmuScrobble:
        if release is None:
            appearances = self.catalog.appearances(recording.mbid)
            release = appearances[0].release if appearances else None
        first_artist = recording.artist_credit[0][0] if recording.artist_credit else None
        scrobble = EmuScrobble(
            user=self._require(user).name,
            ts=ts,
            artist=recording.credit_name,
            track=recording.title,
            album=release.title if release else "",
            recording_mbid=recording.mbid if with_mbids else None,
            artist_mbid=first_artist.mbid if with_mbids and first_artist else None,
            album_mbid=release.mbid if with_mbids and release else None,
            duration_ms=recording.length_ms,
            mapped_recording_mbid=recording.mbid if mapped else None,
        )
        return replace(scrobble, **overrides) if overrides else scrobble

    def remove_scrobbles(
        self, user: str, predicate: Callable[[EmuScrobble], bool]
    ) -> list[EmuScrobble]:
        with self.lock:
            return self.history(user).remove(predicate)

    def scrobbles(self, user: str) -> list[EmuScrobble]:
        """A copy of ``user``'s history, oldest first."""
        with self.lock:
            return self.history(user).all()

    def make_scrobbles(
        self, user: str, n: int, *, after_ts: int | None = None, gap: int = 60, seed: int = 0
    ) -> list[EmuScrobble]:
        """``n`` new scrobbles newer than the user's history (not added): arrivals for tests."""
        rng = random.Random(seed)
        with self.lock:
            start = after_ts if after_ts is not None else (self.history(user).latest_ts or 0)
            recordings = list(self.catalog.recordings.values())
        result = []
        for i in range(1, n + 1):
            ts = start + i * gap
            if recordings:
                result.append(self.make_scrobble(user, ts, rng.choice(recordings)))
            else:
                name = self._require(user).name
                result.append(EmuScrobble(name, ts, "New Artist", f"New Track {i}", "New Album"))
        return result

    # synthetic data

    @classmethod
    def synthetic(
        cls,
        seed: int = 0,
        *,
        n_artists: int = 40,
        albums_per_artist: int = 3,
        tracks_per_album: tuple[int, int] = (8, 14),
        n_users: int = 2,
        listens_per_user: int = 1000,
        user_names: Sequence[str] | None = None,
        start_ts: int = 1_600_000_000,
        multi_disc_every: int = 5,
        deluxe_every: int = 7,
        shared_title_rate: float = 0.08,
        featuring_rate: float = 0.05,
        same_second_rate: float = 0.02,
        no_recording_mbid_rate: float = 0.15,
        unmapped_rate: float = 0.1,
    ) -> World:
        """A deterministic world for tests and benchmarks.

        Artists with albums with tracks; every ``multi_disc_every``-th album has two
        discs and every ``deluxe_every``-th release group a second (deluxe) release;
        some track titles are shared across artists; some recordings credit a
        featured artist; some scrobbles share a second with the previous one, lack a
        recording MBID, or were not matched by ListenBrainz's mapper.
        """
        rng = random.Random(seed)
        world = cls()
        catalog = world.catalog
        names = _NameMaker(rng)

        artists = [
            catalog.add_artist(names.artist(), country=rng.choice(["GB", "US", "DE", "SE", "JP"]))
            for _ in range(n_artists)
        ]
        album_number = 0
        release_slots: list[tuple[EmuRecording, EmuRelease]] = []
        for artist in artists:
            for _ in range(albums_per_artist):
                album_number += 1
                year = rng.randint(1965, 2024)
                date = rng.choice(
                    [f"{year}", f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
                )
                title = names.title(1, 3)
                group = catalog.add_release_group(
                    title,
                    artist,
                    primary_type=rng.choice(["Album", "Album", "Album", "EP", "Single"]),
                    secondary_types=["Live"] if rng.random() < 0.05 else [],
                    first_release_date=date,
                )
                discs = 2 if multi_disc_every and album_number % multi_disc_every == 0 else 1
                media = []
                for _ in range(discs):
                    medium = []
                    for _ in range(rng.randint(*tracks_per_album)):
                        if rng.random() < shared_title_rate:
                            track_title = rng.choice(_SHARED_TITLES)
                        else:
                            track_title = names.title(1, 4)
                        credit: CreditLike = artist
                        if rng.random() < featuring_rate and len(artists) > 1:
                            other = rng.choice([a for a in artists[:20] if a is not artist])
                            credit = [(artist, artist.name, " feat. "), (other, other.name, "")]
                        length = None if rng.random() < 0.03 else rng.randint(90_000, 420_000)
                        medium.append(catalog.add_recording(track_title, credit, length))
                    media.append(medium)
                release = catalog.add_release(
                    group, media, date=date, country=rng.choice(["XW", "GB", "US", "DE"])
                )
                release_slots.extend((t.recording, release) for m in release.media for t in m)
                if deluxe_every and album_number % deluxe_every == 0:
                    bonus = [catalog.add_recording(names.title(1, 3), artist, 200_000)]
                    catalog.add_release(
                        group,
                        [[*media[0], *bonus], *media[1:]],
                        title=f"{title} (Deluxe Edition)",
                        date=str(min(year + 10, 2025)),
                        country="GB",
                    )

        users = list(user_names) if user_names else [f"user{i}" for i in range(1, n_users + 1)]
        # Popularity follows a long tail, as real listening does.
        weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(release_slots))]
        rng.shuffle(release_slots)
        cumulative: list[float] = []
        total = 0.0
        for weight in weights:
            total += weight
            cumulative.append(total)
        for name in users:
            world.add_user(name)
            history = world.history(name)
            picks = rng.choices(release_slots, cum_weights=cumulative, k=listens_per_user)
            ts = start_ts
            for recording, release in picks:
                if rng.random() >= same_second_rate:
                    ts += rng.randint(30, 600)
                first = recording.artist_credit[0][0]
                has_mbid = rng.random() >= no_recording_mbid_rate
                history.add(
                    EmuScrobble(
                        user=name,
                        ts=ts,
                        artist=recording.credit_name,
                        track=recording.title,
                        album=release.title,
                        recording_mbid=recording.mbid if has_mbid else None,
                        artist_mbid=first.mbid if has_mbid else None,
                        album_mbid=release.mbid if rng.random() < 0.7 else None,
                        duration_ms=recording.length_ms,
                        mapped_recording_mbid=(
                            recording.mbid if rng.random() >= unmapped_rate else None
                        ),
                        loved=rng.random() < 0.05,
                        inserted_at=ts + rng.randint(1, 120),
                    )
                )
        return world


_SHARED_TITLES = ("Intro", "Home", "Untitled", "Outro", "Interlude", "Stay", "Hello", "Reprise")
_SYLLABLES = "ka la mo ri sen ta vel or an de lu mi sol ver no ze tha on el bra cor dun".split()  # noqa: SIM905


class _NameMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def word(self) -> str:
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(1, 3))).title()

    def title(self, low: int, high: int) -> str:
        return " ".join(self.word() for _ in range(self.rng.randint(low, high)))

    def artist(self) -> str:
        while True:
            name = self.title(1, 2)
            if self.rng.random() < 0.15:
                name = f"The {name}"
            if name not in self.used:
                self.used.add(name)
                return name
