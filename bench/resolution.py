"""Track-resolution bench: per-listen accuracy and upstream requests, project vs naive.

    .venv/bin/python -m bench.resolution [--listens 3000] [--seed 1] [--show 5] [--faults]

Builds a synthetic MusicBrainz catalog with the noise real listen sources carry
(remaster suffixes, feat. variants, quote and accent variants, one title by several
artists, several albums per artist, deluxe editions, singles and their "single
version" recordings, texts that are not in the catalog at all) and what issue 10
says broke: studio and live albums that re-record songs under the same titles
("Live at <venue>", live albums whose title names no version, and "MTV Unplugged
…" albums whose recordings say "live, <date>: MTV Unplugged"), versions a source
names that the catalog lacks ("Song (Demo)", "Song - Live" of an artist with no
such recording: they must stay unresolved), and Last.fm-style source MBIDs: about
30 % of listens carry their recording's MBID (album-less ones too, whatever the
text's first listen was), a few carry an MBID MusicBrainz does not know, and some
plain titles carry the MBID of the artist's live recording of the song (Last.fm
keeps one MBID per artist and title). Issue 18 adds named performances the catalog
lacks ("Song (Live Aid)" on "Live Aid": they must stay unresolved, traits
``named-performance``) and counts album-less plain reports of a title with several
versions apart (``no-album-versions``: resolvable only with evidence, the length or
the album the listens around them name). Then a listening history over it (album
sessions and single plays, long-tailed), and the catalog served by the local
emulator (MusicBrainz search/lookup/browse and the ListenBrainz MBID mapper).
On a throwaway database (``bench._django``):

1. the project, per listen, through the real pipeline: one user and Last.fm
   account, the history stored by ``store_page`` in batches of 1000 listens (one
   listen per instant, in time order, one run memo), ``resolve_unresolved()`` in
   rounds until nothing is due, then each stored ``ListenEvent``'s recording MBID
   read back in listen order; once with the MBID mapper and once with
   ``MBID_MAPPER_ENABLED=False``. With ``--faults`` the emulator answers a share
   of MusicBrainz and mapper requests during resolution with 500, 503 or 429
   (Retry-After) or drops the connection; rows that failed wait out no backoff
   (their ``next_attempt_at`` is reset between rounds, at most ``MAX_ROUNDS``);
2. a naive resolver (never faulted): one recording search per distinct (artist,
   title) through the project's ``MusicBrainzClient``, taking the first hit whose
   normalized title equals the reported title.

Requests are counted from the emulator's log (MusicBrainz and the mapper apart,
faulted answers included). Precision = correct MBIDs / MBIDs given; recall =
correct MBIDs / listens whose text is in the catalog. Both are per listen (the
targets), and per distinct (artist, title, album) too. Wrong listens that got the
recording of their text's first listen (the old one-answer-per-text rule) are
counted apart, and so are listens by trait (hints, live, version misses). With
``--show N`` each kind of mistake is listed with the reason on its row
(``Recording.last_error``). Exit code 0 whatever the figures: a report, not a test.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bench._django import reset_database, throwaway_django
from metadata.matching import normalize_text, parse_title, text_key
from tests.emulator import Emulator, EmuRecording, EmuRelease, World
from tests.emulator.data import CreditLike
from tests.emulator.faults import Fault, FaultPlan

if TYPE_CHECKING:  # models are imported once Django is set up
    from accounts.models import ExternalAccount
    from metadata.resolution import ResolveSummary

# Targets from issue 18 (issue 10's were 0.30, 0.995 and 0.97): per listen, on
# every seed and with upstream faults.
MAX_REQUEST_RATIO = 0.25  # MusicBrainz requests, x the naive resolver's
MIN_PRECISION = 0.998
MIN_RECALL = 0.99  # on listens whose text is in the catalog (and >= the naive resolver's)

_SYLLABLES = (
    "ka", "la", "mo", "ri", "sen", "ta", "vel", "or", "an", "de", "lu", "mi", "sol", "ver", "no",
    "ze", "tha", "on", "el", "bra", "cor", "dun", "pa", "ti", "rho", "gan", "bel", "fin", "dor",
    "ush",
)  # fmt: skip
_ACCENTED_WORDS = (
    "Café", "Señorita", "Déjà Vu", "Noël", "Über", "Mañana", "Naïve", "Crème", "Façade",
    "Corazón", "Canción", "Niño", "Garçon", "Ångström",
)  # fmt: skip
_APOSTROPHE_WORDS = (
    "Don't", "Can't", "I'm", "It's", "Won't", "Ain't", "Lovin'", "Rock 'n' Roll", "Goin'", "Y'all",
)  # fmt: skip
_SHARED_TITLES = (
    "Home", "Stay", "Hello", "Gravity", "Runaway", "Forever", "Alone", "Fire", "Dreams", "Closer",
)  # fmt: skip
_VENUES = ("Wembley", "the Apollo", "Budokan", "Red Rocks", "the Roundhouse", "Paradiso")
_REMASTER_SUFFIXES = (
    " - Remastered 2011", " - 2009 Remaster", " (Remastered)", " - Remastered Version",
    " [2015 Remaster]",
)  # fmt: skip
_ACCENT_VOWELS = {"a": "á", "o": "ö", "e": "é", "u": "ü", "i": "í"}
_UNPLUGGED_TITLES = ("MTV Unplugged", "MTV Unplugged in New York", "Unplugged", "MTV Unplugged 2.0")
# Versions sources name in a title that the catalog has no recording of ("Song (Demo)"
# from a super deluxe edition MusicBrainz lacks): the plain recording is not them.
_MISSING_VERSIONS = (
    (" (Acoustic)", "acoustic"), (" (Demo)", "demo"), (" - Demo", "demo"), (" - Live", "live"),
    (" (Live)", "live"), (" (Remix)", "remix"), (" - Radio Edit", "radio-edit"),
    (" (Instrumental)", "instrumental"), (" (Unplugged)", "unplugged"),
)  # fmt: skip
# Last.fm sends a track mbid with about a third of scrobbles; now and then one that
# MusicBrainz no longer knows (a deleted or never-merged recording).
HINT_SHARE = 0.30
STALE_HINT_SHARE = 0.01
# Last.fm keeps one mbid per (artist, title): a plain title played from the studio
# album may carry the live recording's mbid when the artist has one.
OTHER_VERSION_HINT_SHARE = 0.15


# --- the synthetic world ----------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    """One way a source reports a track, and the recording it truly is."""

    artist: str
    title: str
    album: str
    duration_ms: int | None
    truth: str | None  # recording MBID; None: the text is not in the catalog
    tags: tuple[str, ...]  # the noise and catalog traits behind this text
    hint: str | None = None  # the recording MBID the source sent with it (Last.fm's mbid)

    @property
    def pair(self) -> tuple[str, str]:
        return (self.artist, self.title)

    @property
    def track(self) -> tuple[str, str, str]:
        return (self.artist, self.title, self.album)


@dataclass
class Slot:
    """A recording's place on a release: what a listener actually played."""

    recording: EmuRecording
    release: EmuRelease
    variants: list[Reported] = field(default_factory=list)  # primary, then another source's


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


class Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.artists: set[str] = set()

    def word(self) -> str:
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(1, 3))).title()

    def words(self, low: int, high: int) -> str:
        return " ".join(self.word() for _ in range(self.rng.randint(low, high)))

    def artist(self) -> str:
        rng = self.rng
        while True:
            name = self.words(1, 2)
            roll = rng.random()
            if roll < 0.12:
                name = f"The {name}"
            elif roll < 0.18:
                name = f"{self.word()} & {self.word()}"
            if rng.random() < 0.15:  # "Sigur Rós", "Mötley Crüe"
                vowels = [i for i, c in enumerate(name) if c in _ACCENT_VOWELS]
                if vowels:
                    i = rng.choice(vowels)
                    name = name[:i] + _ACCENT_VOWELS[name[i]] + name[i + 1 :]
            if normalize_text(name) not in self.artists:
                self.artists.add(normalize_text(name))
                return name

    def song(self, *, curly: bool) -> str:
        rng = self.rng
        words = self.words(1, 4).split()
        if rng.random() < 0.08:
            words.insert(rng.randint(0, len(words)), rng.choice(_ACCENTED_WORDS))
        if rng.random() < 0.09:
            word = rng.choice(_APOSTROPHE_WORDS)
            words.insert(0, word.replace("'", "\u2019") if curly else word)
        return " ".join(words)


class WorldBuilder:
    def __init__(self, seed: int, n_artists: int) -> None:
        self.rng = random.Random(seed)
        self.world = World()
        self.catalog = self.world.catalog
        self.names = Names(self.rng)
        self.n_artists = n_artists
        self.releases: list[EmuRelease] = []
        self.phantoms: list[Reported] = []
        self._sequel_misses: list[tuple[str, str, str]] = []  # (artist, missing title, album)
        self._artist_titles: dict[str, set[str]] = defaultdict(set)
        self._title_recordings: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._studio: list[tuple[object, EmuRecording]] = []  # (artist, studio recording)

    # catalog

    def build(self) -> WorldBuilder:
        rng, catalog = self.rng, self.catalog
        artists = []
        for _ in range(self.n_artists):
            artists.append(
                catalog.add_artist(self.names.artist(), country=rng.choice(["GB", "US", "SE"]))
            )
        for artist in artists:
            curly = rng.random() < 0.6  # the artist's releases use ’ rather than '
            studio: list[EmuRecording] = []
            first_year = rng.randint(1968, 2015)
            for number in range(rng.randint(2, 4)):
                year = first_year + 2 * number + rng.randint(0, 2)
                date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                if rng.random() < 0.3:
                    album_title = self.names.song(curly=curly)
                else:
                    album_title = self.names.words(1, 3)
                tracks = self._album_tracks(artist, artists, curly)
                group = catalog.add_release_group(album_title, artist, first_release_date=date)
                self.releases.append(catalog.add_release(group, [tracks], date=date))
                studio.extend(tracks)
                if rng.random() < 0.15:
                    bonus = [self._recording(self.names.song(curly=curly), artist, artist)]
                    self.releases.append(
                        catalog.add_release(
                            group,
                            [[*tracks, *bonus]],
                            title=f"{album_title} (Deluxe Edition)",
                            date=str(min(year + 10, 2025)),
                            country="GB",
                        )
                    )
            self._studio.extend((artist, recording) for recording in studio)
            # Added after the studio albums, as MusicBrainz's mapper prefers originals.
            if rng.random() < 0.25:
                self._live_album(artist, studio, first_year + 12)
            if rng.random() < 0.1:  # "Polly" on Nevermind and on MTV Unplugged in New York
                self._live_album(artist, studio, first_year + 6, unplugged=True)
            if rng.random() < 0.3:
                self._single(artist, rng.choice(studio), first_year + 1)
            if rng.random() < 0.1:
                picks = rng.sample(studio, min(8, len(studio)))
                group = catalog.add_release_group(
                    "Greatest Hits",
                    artist,
                    secondary_types=["Compilation"],
                    first_release_date=str(first_year + 20),
                )
                self.releases.append(catalog.add_release(group, [picks], date=str(first_year + 20)))
        self._make_phantoms(artists)
        return self

    def _recording(self, title: str, artist, credit: CreditLike, **kwargs) -> EmuRecording:
        length = None if self.rng.random() < 0.03 else self.rng.randint(95_000, 400_000)
        recording = self.catalog.add_recording(
            title, credit, kwargs.pop("length", length), **kwargs
        )
        self._artist_titles[artist.mbid].add(normalize_text(title))
        self._title_recordings[(artist.mbid, normalize_text(title))].add(recording.mbid)
        return recording

    def _album_tracks(self, artist, artists, curly: bool) -> list[EmuRecording]:
        rng = self.rng
        count = rng.randint(7, 12)
        titles: list[str] = []
        for position in range(count):
            if position == 0 and rng.random() < 0.3:
                titles.append("Intro")  # one artist, several albums, several "Intro"s
            elif position == count - 1 and rng.random() < 0.15:
                titles.append("Outro")
            elif rng.random() < 0.07:
                titles.append(rng.choice(_SHARED_TITLES))  # one title, several artists
            else:
                titles.append(self.names.song(curly=curly))
        if rng.random() < 0.06:  # "Long Title, Pt. 1" / "Pt. 2"
            base = self.names.words(3, 3)
            at = rng.randint(1, count - 2)
            titles[at] = f"{base}, Pt. 1"
            if rng.random() < 0.5:
                titles[at + 1] = f"{base}, Pt. 2"
            else:  # Pt. 2 exists, but not in MusicBrainz
                self._sequel_misses.append((artist.name, f"{base}, Pt. 2", ""))
        recordings = []
        for title in titles:
            if (
                title not in ("Intro", "Outro")
                and normalize_text(title) in self._artist_titles[artist.mbid]
            ):
                title = self.names.song(curly=curly)
            credit: CreditLike = artist
            if rng.random() < 0.06:
                other = rng.choice([a for a in artists if a is not artist])
                credit = [(artist, artist.name, " feat. "), (other, other.name, "")]
            recordings.append(self._recording(title, artist, credit))
        return recordings

    def _live_album(
        self, artist, studio: list[EmuRecording], year: int, *, unplugged: bool = False
    ) -> None:
        """Live recordings of studio songs under the same titles, on a Live release
        group named "Live at <venue>", an "MTV Unplugged …" title (which names the
        version without the word live) or a title that names no version at all."""
        rng = self.rng
        date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if unplugged:
            venue = "MTV Unplugged"
            album_title = rng.choice(_UNPLUGGED_TITLES)
        else:
            venue = rng.choice(_VENUES)
            # "Made in Japan", "Alive!": only the release group's type says live.
            album_title = f"Live at {venue}" if rng.random() < 0.7 else self.names.words(1, 3)
        live = []
        for original in rng.sample(studio, min(rng.randint(5, 8), len(studio))):
            length = (original.length_ms or 240_000) + rng.randint(5_000, 40_000)
            live.append(
                self._recording(
                    original.title,
                    artist,
                    original.artist_credit,
                    length=length,
                    disambiguation=f"live, {date}: {venue}",
                )
            )
        group = self.catalog.add_release_group(
            album_title, artist, secondary_types=["Live"], first_release_date=date
        )
        self.releases.append(self.catalog.add_release(group, [live], date=date))

    def _single(self, artist, original: EmuRecording, year: int) -> None:
        if self.rng.random() < 0.5:
            recording = original  # the album recording, released as a single
        else:  # a distinct single edit with the same title
            length = max(90_000, (original.length_ms or 240_000) - self.rng.randint(20_000, 60_000))
            recording = self._recording(
                original.title,
                artist,
                original.artist_credit,
                length=length,
                disambiguation="single version",
            )
        group = self.catalog.add_release_group(
            original.title, artist, primary_type="Single", first_release_date=str(year)
        )
        self.releases.append(self.catalog.add_release(group, [[recording]], date=str(year)))

    def _make_phantoms(self, artists) -> None:
        """Texts that are not in the catalog: each must stay unresolved."""
        rng = self.rng
        count = max(20, len(self.releases) // 2)
        for _ in range(count):
            roll = rng.random()
            album = self.names.words(1, 3) if rng.random() < 0.5 else ""
            duration = rng.randint(95_000, 400_000) if rng.random() < 0.5 else None
            if roll < 0.45:
                artist, title, tag = self.names.artist(), self.names.song(curly=False), "unknown"
            elif roll < 0.8:
                known = rng.choice(artists)
                title = self.names.song(curly=False)
                while normalize_text(title) in self._artist_titles[known.mbid]:
                    title = self.names.song(curly=False)
                artist, tag = known.name, "unknown-title"
                groups = self.catalog.release_groups_of(known.mbid)
                if groups and rng.random() < 0.3:  # a bonus track MusicBrainz lacks
                    album = rng.choice(groups).title
            else:
                artist, title, tag = self.names.artist(), rng.choice(_SHARED_TITLES), "cover"
            self.phantoms.append(
                Reported(artist, title, album, duration, None, ("not-in-catalog", tag))
            )
        for artist, title, album in self._sequel_misses:
            self.phantoms.append(
                Reported(artist, title, album, None, None, ("not-in-catalog", "sequel"))
            )
        self._version_phantoms(max(10, len(self.releases) // 8))
        self._performance_phantoms(max(10, len(self.releases) // 10))
        for at, phantom in enumerate(self.phantoms):
            if rng.random() < 0.1:  # an mbid MusicBrainz does not know: ignored
                tags = (*phantom.tags, "stale-hint")
                self.phantoms[at] = replace(phantom, hint=self._stale_mbid(), tags=tags)
        rng.shuffle(self.phantoms)

    def _version_phantoms(self, count: int) -> None:
        """A version of a catalog song that the catalog lacks ("Song (Demo)", "Song -
        Live" of an artist with no live recording of it): the plain recording is not
        it, so each must stay unresolved."""
        rng, made, tries = self.rng, 0, 0
        while made < count and tries < 50 * count:
            tries += 1
            artist, recording = rng.choice(self._studio)
            suffix, version = rng.choice(_MISSING_VERSIONS)
            siblings = self._title_recordings[(artist.mbid, normalize_text(recording.title))]
            if len(siblings) > 1:  # a live or single version exists: not a clean miss
                continue
            album = ""
            appearances = self.catalog.appearances(recording.mbid)
            if appearances and rng.random() < 0.4:  # the bonus disc MusicBrainz lacks
                album = f"{appearances[0].release.title} (Super Deluxe Edition)"
            tags = ("not-in-catalog", "version-missing", version)
            self.phantoms.append(
                Reported(recording.credit_name, recording.title + suffix, album, None, None, tags)
            )
            made += 1

    def _performance_phantoms(self, count: int) -> None:
        """A named performance the catalog lacks ("Bohemian Rhapsody (Live Aid)" on
        "Live Aid") of a song the artist has another live recording of: that live
        recording is not it, so each must stay unresolved (issue 18)."""
        rng, made = self.rng, 0
        live = [
            recording
            for recording in self.catalog.recordings.values()
            if recording.disambiguation.startswith("live")
        ]
        live.sort(key=lambda r: r.mbid)
        for recording in rng.sample(live, min(count, len(live))):
            event = rng.choice(("Live Aid", "Live at Knebworth", "Live in Hyde Park"))
            if event.split()[-1].casefold() in recording.disambiguation.casefold():
                continue
            suffix = f" ({event})" if rng.random() < 0.5 else " - Live"
            title, album = recording.title + suffix, event
            tags = ("not-in-catalog", "named-performance")
            self.phantoms.append(Reported(recording.credit_name, title, album, None, None, tags))
            made += 1

    def _stale_mbid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # what sources report

    def reported(self, slot: Slot) -> Reported:
        rng = self.rng
        recording, release = slot.recording, slot.release
        group = release.release_group
        credit = recording.artist_credit
        main = credit[0][1]
        artist, title = recording.credit_name, recording.title
        tags: list[str] = []
        words = title.split()
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        if len(title) >= 12 and len(words[longest]) >= 5 and rng.random() < 0.02:
            word = words[longest]  # a letter dropped from the title itself
            cut = rng.randint(1, len(word) - 2)
            words[longest] = word[:cut] + word[cut + 1 :]
            title = " ".join(words)
            tags.append("typo")
        if len(credit) > 1:
            featured = credit[1][1]
            roll = rng.random()
            if roll < 0.5:
                artist, title = main, f"{title} (feat. {featured})"
                tags.append("feat-in-title")
            elif roll < 0.8:
                tags.append("feat-in-credit")
            elif roll < 0.9:
                artist = f"{main} ft. {featured}"
                tags.append("ft-in-credit")
            else:  # Spotify-style list of artists
                artist = f"{main}, {featured}"
                tags.append("comma-credit")
        if "Live" in group.secondary_types and "Unplugged" in group.title:
            roll = rng.random()
            if roll < 0.55:  # Nirvana's "Polly" on MTV Unplugged in New York
                tags.append("unplugged-plain-title")  # the album is reported below, always
            elif roll < 0.75:
                title += " - Live"
                tags.append("live-dash")
            elif roll < 0.9:
                title += " (MTV Unplugged)"
                tags.append("unplugged-bracket")
            else:
                title += " (Live)"
                tags.append("live-paren")
        elif "Live" in group.secondary_types:
            roll = rng.random()
            if roll < 0.45:
                title += " - Live"
                tags.append("live-dash")
            elif roll < 0.8:
                if group.title.startswith("Live at "):
                    title += f" ({group.title})"
                    tags.append("live-bracket")
                else:
                    title += " (Live)"
                    tags.append("live-paren")
            else:  # only the album says it is live (reported below, always)
                tags.append("live-plain-title")
        elif rng.random() < 0.08:
            title += rng.choice(_REMASTER_SUFFIXES)
            tags.append("remaster-suffix")
        if ("'" in title or "\u2019" in title) and rng.random() < 0.5:
            swapped = title.replace("'", "\0").replace("\u2019", "'").replace("\0", "\u2019")
            title = swapped
            tags.append("quote-swapped")
        if title != strip_accents(title) and rng.random() < 0.35:
            title = strip_accents(title)
            tags.append("accents-dropped")
        if artist != strip_accents(artist) and rng.random() < 0.35:
            artist = strip_accents(artist)
            tags.append("artist-accents-dropped")
        if artist.startswith("The ") and rng.random() < 0.15:
            artist = artist[4:]
            tags.append("the-dropped")
        if " & " in artist and rng.random() < 0.4:
            artist = artist.replace(" & ", " and ")
            tags.append("and-for-&")
        if rng.random() < 0.03:
            title = title.lower()
            tags.append("lower-case")
        album = ""
        if rng.random() < 0.72 or {"live-plain-title", "unplugged-plain-title"} & set(tags):
            album = release.title
            if "(Deluxe Edition)" in album:
                tags.append("deluxe-album")
            elif rng.random() < 0.05:
                album += " [Remastered]"
                tags.append("album-remastered")
        else:
            tags.append("no-album")
        duration = None
        if recording.length_ms and rng.random() < 0.55:
            duration = recording.length_ms + rng.randint(-1500, 1500)
        # Catalog traits that make this text hard.
        first = credit[0][0]
        same_title = self._title_recordings[(first.mbid, normalize_text(recording.title))]
        if len(same_title) > 1:
            tags.append("same-artist-same-title")
            if "no-album" in tags and not parse_title(title).versions:
                tags.append("no-album-versions")  # a plain title, several versions (issue 18)
        if recording.title in _SHARED_TITLES:
            tags.append("shared-title")
        if recording.disambiguation == "single version":
            tags.append("single-version")
        if recording.disambiguation.startswith("live"):
            tags.append("live-recording")
        hint = self._hint(recording, same_title, tags)
        return Reported(
            artist, title, album, duration, recording.mbid, tuple(tags) or ("plain",), hint
        )

    def _hint(self, recording: EmuRecording, same_title: set[str], tags: list[str]) -> str | None:
        """The mbid a Last.fm-style source sends with this text, if any (tags it)."""
        roll = self.rng.random()
        if roll < HINT_SHARE:
            tags.append("hint")
            return recording.mbid
        if roll < HINT_SHARE + STALE_HINT_SHARE:
            tags.append("stale-hint")
            return self._stale_mbid()
        live = sorted(
            mbid
            for mbid in same_title
            if self.catalog.recordings[mbid].disambiguation.startswith("live")
        )
        if live and "live-recording" not in tags and self.rng.random() < OTHER_VERSION_HINT_SHARE:
            tags.append("hint-other-version")  # the plain title's text carries the live mbid
            return live[0]
        return None

    # listening

    def listens(self, n: int) -> list[Reported]:
        rng = self.rng
        releases = list(self.releases)
        rng.shuffle(releases)
        release_weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(releases))]
        phantom_weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(self.phantoms))]
        slots: dict[tuple[str, int], Slot] = {}

        def play(release: EmuRelease, position: int) -> Reported:
            key = (release.mbid, position)
            slot = slots.get(key)
            if slot is None:
                recording = release.media[0][position].recording
                slot = slots[key] = Slot(recording, release)
                slot.variants = [self.reported(slot), self.reported(slot)]
            # Mostly one source's text; now and then another source's for the same play.
            return slot.variants[0] if rng.random() >= 0.1 else slot.variants[1]

        out: list[Reported] = []
        while len(out) < n:
            roll = rng.random()
            if roll < 0.07:
                out.append(rng.choices(self.phantoms, weights=phantom_weights)[0])
                continue
            (release,) = rng.choices(releases, weights=release_weights)
            tracks = len(release.media[0])
            if roll < 0.5:  # an album session
                start = 0 if rng.random() < 0.6 else rng.randrange(tracks)
                for position in range(start, min(tracks, start + rng.randint(3, 10))):
                    out.append(play(release, position))
            else:
                weights = [1.0 / (p + 1) ** 0.5 for p in range(tracks)]
                out.append(play(release, rng.choices(range(tracks), weights=weights)[0]))
        return out[:n]


# --- measuring ----------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    answers: list[str | None]  # per listen
    mb_requests: int
    mapper_requests: int
    seconds: float
    note: str = ""
    reasons: list[str] = field(default_factory=list)  # per listen: its row's last_error


@dataclass
class Score:
    given: int
    correct: int
    relevant: int

    @property
    def precision(self) -> float:
        return self.correct / self.given if self.given else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.relevant if self.relevant else 1.0

    @property
    def wrong(self) -> int:
        return self.given - self.correct


def score(truths: Sequence[str | None], answers: Sequence[str | None]) -> Score:
    given = sum(a is not None for a in answers)
    correct = sum(a is not None and a == t for t, a in zip(truths, answers, strict=True))
    return Score(given, correct, sum(t is not None for t in truths))


def per_track(listens: Sequence[Reported], answers: Sequence[str | None]) -> Score:
    """Each distinct (artist, title, album) once: its truth is what most of its listens
    were, its answer what most of them got."""
    truths: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    got_by: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    for listen, got in zip(listens, answers, strict=True):
        truths[listen.track][listen.truth] += 1
        got_by[listen.track][got] += 1
    tracks = list(truths)
    return score(
        [truths[t].most_common(1)[0][0] for t in tracks],
        [got_by[t].most_common(1)[0][0] for t in tracks],
    )


def count_requests(emu: Emulator) -> tuple[int, int, str]:
    """MusicBrainz requests, mapper requests, and what the MusicBrainz ones were."""
    kinds: Counter[str] = Counter()
    mapper = 0
    for r in emu.requests:
        if r.service == "listenbrainz" and r.path.startswith("metadata/lookup"):
            mapper += 1
        elif r.service == "musicbrainz":
            entity, _, mbid = r.path.partition("/")
            kind = "search" if "query" in r.params else "lookup" if mbid else "browse"
            kinds[f"{entity} {kind}"] += 1
    mb = sum(kinds.values())
    return mb, mapper, ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())


# Listens stored per store_page call, as ingest batches pages.
INGEST_BATCH = 1000
# Rounds of resolve_unresolved at most: a round that hit upstream faults leaves rows
# that failed (due later) or that it did not reach (due at once).
MAX_ROUNDS = 8
HISTORY_START = datetime(2024, 1, 1, tzinfo=UTC)
LISTEN_SPACING = timedelta(seconds=200)  # one listen per instant, none 0-2 s apart


def inject_faults(emu: Emulator, seed: int) -> list[Fault]:
    """Transient upstream faults on MusicBrainz and the mapper for the rest of the
    run: 5xx, 429/503 with Retry-After, connections dropped without an answer."""
    rules = [
        Fault("http_503", service="musicbrainz", retry_after=1, times=None, probability=0.02),
        Fault("http_500", service="musicbrainz", times=None, probability=0.03),
        Fault("http_429", service="musicbrainz", retry_after=1, times=None, probability=0.01),
        Fault("reset", service="musicbrainz", times=None, probability=0.02),
        Fault("http_500", service="listenbrainz", path="metadata/lookup", times=None,
              probability=0.08),
        Fault("http_429", service="listenbrainz", path="metadata/lookup", retry_after=1,
              times=None, probability=0.03),
        Fault("reset", service="listenbrainz", path="metadata/lookup", times=None,
              probability=0.04),
    ]  # fmt: skip
    emu.faults = FaultPlan(rules, seed=seed)  # the server reads its plan per request
    return rules


def ingest_history(listens: Sequence[Reported]) -> ExternalAccount:
    """Store the history as ingest does: one account, ``store_page`` per batch of
    ``INGEST_BATCH`` listens in time order, one run memo. Returns the account."""
    from django.contrib.auth import get_user_model

    from accounts.models import ExternalAccount
    from listens.ingest.paging import FetchedPage
    from listens.ingest.payloads import IncomingListen
    from listens.ingest.store import RecordingMemo, store_page
    from listens.models import IngestRun
    from metadata.resolution import Hint

    user = get_user_model().objects.create_user(username="bench", password=None)
    account = ExternalAccount.objects.create(user=user, source="lastfm", external_username="bench")
    run = IngestRun.objects.create(account=account)
    memo = RecordingMemo()
    for start in range(0, len(listens), INGEST_BATCH):
        batch = [
            IncomingListen.of(
                listened_at=HISTORY_START + LISTEN_SPACING * at,
                track_name=r.title,
                artist_name=r.artist,
                album_name=r.album,
                duration_ms=r.duration_ms,
                hints=(Hint(r.hint),) if r.hint else (),
                raw_json="{}",
            )
            for at, r in enumerate(listens[start : start + INGEST_BATCH], start)
        ]
        store_page(account=account, run=run, page=FetchedPage(batch, safe_cursor=None), memo=memo)
    return account


def resolve_rounds(summaries: list[ResolveSummary]) -> int:
    """``resolve_unresolved()`` until nothing is due; rows that failed on an upstream
    error wait out their backoff, so time moves on for them (``next_attempt_at``
    reset). Returns the rows still failed on an error after ``MAX_ROUNDS``."""
    from django.utils import timezone

    from metadata.models import Recording
    from metadata.resolution import due_unresolved_recordings, resolve_unresolved

    failed = Recording.objects.filter(
        status=Recording.Status.UNRESOLVED, last_error__startswith="error:"
    )
    for _ in range(MAX_ROUNDS):
        summaries.append(resolve_unresolved())
        if not failed.exists() and not due_unresolved_recordings().exists():
            return 0
        failed.update(next_attempt_at=timezone.now())
    return failed.count()


def run_project(
    emu: Emulator, listens: Sequence[Reported], *, mapper: bool, faults: int | None = None
) -> Outcome:
    """The real pipeline per listen: ingest, resolution, each stored listen's MBID."""
    from django.test import override_settings

    from listens.models import ListenEvent
    from metadata.models import Recording

    reset_database()
    emu.faults.clear()
    emu.reset_log()
    started = time.monotonic()
    account = ingest_history(listens)
    ingest_seconds = time.monotonic() - started
    ingest_requests = len(emu.requests)
    rules = inject_faults(emu, faults) if faults is not None else []
    summaries: list[ResolveSummary] = []
    with override_settings(MBID_MAPPER_ENABLED=mapper):
        still_failed = resolve_rounds(summaries)
    emu.faults.clear()
    seconds = time.monotonic() - started
    stored = list(
        ListenEvent.objects.filter(account=account)
        .order_by("listened_at")
        .values_list("recording__mbid", "recording__last_error")
    )
    if len(stored) != len(listens):
        raise RuntimeError(f"{len(stored)} listens stored of {len(listens)}")
    answers = [str(mbid) if mbid else None for mbid, _ in stored]
    mb, lookups, kinds = count_requests(emu)
    by_method: Counter[str] = Counter()
    for summary in summaries:
        by_method.update(summary.by_method)
    methods = ", ".join(f"{k} {v}" for k, v in sorted(by_method.items()))
    rows = Recording.objects.count()
    unresolved = Recording.objects.filter(status=Recording.Status.UNRESOLVED).count()
    note = f"MB: {kinds or 'none'}; {rows} rows, resolved {rows - unresolved} "
    note += f"(in resolution: {methods}), unresolved {unresolved}; "
    note += f"ingest {ingest_seconds:.1f} s, {ingest_requests} requests; "
    note += f"{len(summaries)} resolution round(s)"
    errors = sum(s.errors for s in summaries)
    stops = sum(bool(s.stopped_early) for s in summaries)
    note += f", {errors} row errors, {stops} stopped early" if errors or stops else ""
    if rules:
        faulted = sum(1 for r in emu.requests if r.fault)
        note += f"; {faulted} upstream answers faulted ({', '.join(fault_counts(rules))})"
    note += f"; {still_failed} rows still failed after {MAX_ROUNDS} rounds" if still_failed else ""
    name = "project" if mapper else "project, mapper off"
    name += ", faults" if rules else ""
    reasons = [reason for _, reason in stored]
    return Outcome(name, answers, mb, lookups, seconds, note, reasons)


def fault_counts(rules: Sequence[Fault]) -> list[str]:
    return [f"{r.service} {r.kind} {r.fired}" for r in rules if r.fired]


def run_naive(emu: Emulator, listens: Sequence[Reported]) -> Outcome:
    from metadata.providers import get_musicbrainz_client
    from sidetrack.http.errors import ExternalApiError

    client = get_musicbrainz_client()
    emu.reset_log()
    started = time.monotonic()
    by_pair: dict[tuple[str, str], str | None] = {}
    errors = 0
    for r in listens:
        if r.pair in by_pair:
            continue
        wanted = normalize_text(r.title)
        try:
            page = client.search_recordings(r.title, r.artist)
        except ExternalApiError:
            errors += 1
            by_pair[r.pair] = None
            continue
        by_pair[r.pair] = next(
            (h.mbid for h in page.items if normalize_text(h.title) == wanted), None
        )
    seconds = time.monotonic() - started
    mb, lookups, _ = count_requests(emu)
    note = f"{len(by_pair)} searches" + (f", {errors} errors" if errors else "")
    return Outcome("naive search", [by_pair[r.pair] for r in listens], mb, lookups, seconds, note)


# --- report -----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def first_truths(listens: Sequence[Reported]) -> list[str | None]:
    """Per listen, the truth of its text's (artist, title) first listen."""
    first: dict[str, str | None] = {}
    for r in listens:
        first.setdefault(text_key(r.artist, r.title), r.truth)
    return [first[text_key(r.artist, r.title)] for r in listens]


def wrong_for_first_listen(listens: Sequence[Reported], answers: Sequence[str | None]) -> int:
    """Wrong answers that were right for their text's first listen: the old rule of
    one answer per text (target: none)."""
    return sum(
        got is not None and got != r.truth and got == first
        for r, got, first in zip(listens, answers, first_truths(listens), strict=True)
    )


# Traits whose listens are counted apart: what issue 10 says broke, and its checks.
WATCHED_TRAITS = (
    "hint", "hint-other-first", "stale-hint", "hint-other-version", "live-recording",
    "unplugged-plain-title", "live-plain-title", "single-version", "version-missing",
    "named-performance", "no-album-versions",
)  # fmt: skip


def traits(listens: Sequence[Reported]) -> list[set[str]]:
    """Each listen's tags, plus hint-other-first: it carries the right mbid and its
    text's first listen was another recording."""
    out = []
    for r, first in zip(listens, first_truths(listens), strict=True):
        tags = set(r.tags)
        if "hint" in tags and first != r.truth:
            tags.add("hint-other-first")
        out.append(tags)
    return out


def by_trait(listens: Sequence[Reported], answers: Sequence[str | None]) -> str:
    """Listens of each watched trait: right, wrong (an MBID, not the truth), missed."""
    counts: dict[str, Counter[str]] = {tag: Counter() for tag in WATCHED_TRAITS}
    for r, got, tags in zip(listens, answers, traits(listens), strict=True):
        outcome = "right" if got == r.truth else "wrong" if got is not None else "missed"
        for tag in tags & set(WATCHED_TRAITS):
            counts[tag][outcome] += 1
    return "; ".join(
        f"{tag} {c.total()}: {c['right']}/{c['wrong']}/{c['missed']}"
        for tag, c in counts.items()
        if c
    )


def breakdown(listens: Sequence[Reported], answers: Sequence[str | None]) -> list[str]:
    """Wrong and missed listens by the traits of their text (a listen counts under each)."""
    wrong: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    for r, got in zip(listens, answers, strict=True):
        if got is not None and got != r.truth:
            wrong.update(r.tags)
        elif got is None and r.truth is not None:
            missed.update(r.tags)
    shared = wrong_for_first_listen(listens, answers)

    def top(counter: Counter[str]) -> str:
        return ", ".join(f"{tag} {n}" for tag, n in counter.most_common(5)) or "none"

    return [
        f"  wrong {sum(1 for r, g in zip(listens, answers, strict=True) if g and g != r.truth)}"
        f" ({shared} right for their text's first listen, another recording shares the text):"
        f" {top(wrong)}",
        f"  missed: {top(missed)}",
        f"  by trait (right/wrong/missed): {by_trait(listens, answers)}",
    ]


def describe(world: World, mbid: str | None) -> str:
    if mbid is None:
        return "nothing"
    recording = world.catalog.recordings.get(mbid)
    if recording is None:
        return mbid
    extra = f" ({recording.disambiguation})" if recording.disambiguation else ""
    appearances = world.catalog.appearances(mbid)
    on = f" on {appearances[0].release.title!r}" if appearances else ""
    return f"{recording.credit_name} - {recording.title!r}{extra}{on} [{mbid[:8]}]"


def examples(world: World, listens: Sequence[Reported], outcome: Outcome, n: int) -> list[str]:
    """Wrong answers first (the resolver's own mistakes before those right for the
    text's first listen), then misses; each distinct identity once, with the reason
    its row carries (``Recording.last_error``)."""
    cases: dict[str, list[tuple[Reported, str | None, str]]] = defaultdict(list)
    seen: set[tuple] = set()
    reasons = outcome.reasons or [""] * len(listens)
    rows = zip(listens, outcome.answers, first_truths(listens), reasons, strict=True)
    for r, got, first, reason in rows:
        if (r.track, r.hint, got) in seen or got == r.truth:
            continue
        seen.add((r.track, r.hint, got))
        if got is None:
            cases["missed"].append((r, got, reason))
        elif got == first:
            cases["wrong (first listen's)"].append((r, got, reason))
        else:
            cases["wrong"].append((r, got, reason))
    lines: list[str] = []
    for kind in ("wrong", "wrong (first listen's)", "missed"):
        for r, got, reason in cases[kind][:n]:
            album = f" / album {r.album!r}" if r.album else ""
            hint = f" / hint {describe(world, r.hint)}" if r.hint else ""
            why = f"\n      why  {reason[:300]}" if reason else ""
            lines.append(
                f"    {kind}: {r.artist!r} - {r.title!r}{album}{hint} [{', '.join(r.tags)}]\n"
                f"      got  {describe(world, got)}\n"
                f"      want {describe(world, r.truth)}{why}"
            )
    return lines


def report(
    world: World,
    listens: Sequence[Reported],
    outcomes: Sequence[Outcome],
    *,
    show: int,
    out: Callable[[str], None] = print,
) -> None:
    truths = [r.truth for r in listens]
    tracks = len({r.track for r in listens})
    known_tracks = {r.track for r in listens if r.truth is not None}
    hinted = sum(r.hint is not None for r in listens)
    out(
        f"{len(listens)} listens, {tracks} distinct tracks (artist, title, album), "
        f"{len({r.pair for r in listens})} texts (artist, title); "
        f"{sum(t is not None for t in truths)} listens / {len(known_tracks)} tracks in the "
        f"catalog; {hinted} listens carry a source MBID"
    )
    out(
        f"{'resolver':<27} {'MB req':>6} {'mapper':>6} {'MB/track':>8} {'precision':>9} "
        f"{'recall':>6} {'wrong':>5} {'missed':>6}  {'track P':>7} {'track R':>7} "
        f"{'1st':>3} {'secs':>5}"
    )
    scores = {}
    for o in outcomes:
        s, t = score(truths, o.answers), per_track(listens, o.answers)
        scores[o.name] = s
        out(
            f"{o.name:<27} {o.mb_requests:>6} {o.mapper_requests:>6} "
            f"{o.mb_requests / tracks:>8.3f} {s.precision:>9.4f} {s.recall:>6.4f} {s.wrong:>5} "
            f"{s.relevant - s.correct:>6}  {t.precision:>7.4f} {t.recall:>7.4f} "
            f"{wrong_for_first_listen(listens, o.answers):>3} {o.seconds:>5.1f}"
        )
    out(
        "(per listen; recall and 'missed' count the listens whose text is in the catalog; "
        "track P/R count each distinct (artist, title, album) once, with its most common "
        "answer; '1st': wrong listens right for their text's first listen)"
    )
    naive = next(o for o in outcomes if o.name == "naive search")
    naive_score = scores[naive.name]
    for o in outcomes:
        if o is naive:
            continue
        s = scores[o.name]
        ratio = o.mb_requests / naive.mb_requests if naive.mb_requests else float("inf")
        first = wrong_for_first_listen(listens, o.answers)
        recall_ok = s.recall >= naive_score.recall and s.recall >= MIN_RECALL
        out(
            f"{o.name}: MB requests {ratio:.3f} x naive (<= {MAX_REQUEST_RATIO}) "
            f"{verdict(ratio <= MAX_REQUEST_RATIO)}; precision {s.precision:.4f} "
            f"(>= {MIN_PRECISION}) {verdict(s.precision >= MIN_PRECISION)}; recall "
            f"{s.recall:.4f} (>= naive {naive_score.recall:.4f} and >= {MIN_RECALL}) "
            f"{verdict(recall_ok)}; right for their text's first listen {first} (0) "
            f"{verdict(first == 0)}"
        )
    for o in outcomes:
        out(f"{o.name}: {o.note}")
        for line in breakdown(listens, o.answers):
            out(line)
        if show:
            for line in examples(world, listens, o, show):
                out(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.resolution", description="Track-resolution bench."
    )
    parser.add_argument("--listens", type=int, default=3000, help="listens in the history")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic world")
    parser.add_argument("--artists", type=int, default=0, help="artists (default: scaled)")
    parser.add_argument("--show", type=int, default=0, help="print N wrong and N missed texts")
    parser.add_argument(
        "--faults",
        action="store_true",
        help="inject upstream faults (5xx, 429, dropped connections) during resolution",
    )
    args = parser.parse_args(argv)

    built = time.monotonic()
    n_artists = args.artists or max(10, args.listens // 40)
    builder = WorldBuilder(args.seed, n_artists).build()
    listens = builder.listens(args.listens)
    catalog = builder.catalog
    print(
        f"Resolution bench, seed {args.seed}: {n_artists} artists, {len(catalog.recordings)} "
        f"recordings, {len(catalog.releases)} releases ({time.monotonic() - built:.1f} s to build)"
    )
    with (
        Emulator(builder.world) as emu,
        throwaway_django(
            {
                **emu.env,
                "MBID_MAPPER_BASE_URL": emu.env["LISTENBRAINZ_BASE_URL"],
                "MBID_MAPPER_ENABLED": "true",
            },
            name="bench_resolution",
        ) as where,
    ):
        print(f"emulator {emu.base_url}, {where}")
        if args.faults:  # each failed step is logged; the figures count them instead
            logging.getLogger("metadata.resolution").setLevel(logging.ERROR)
        faults = args.seed if args.faults else None
        outcomes = [
            run_project(emu, listens, mapper=True, faults=faults),
            run_project(emu, listens, mapper=False, faults=faults),
            run_naive(emu, listens),  # without faults: the reference
        ]
        if emu.errors:
            print(f"!! the emulator answered {len(emu.errors)} requests with 500 (its own bugs)")
        report(builder.world, listens, outcomes, show=args.show)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
