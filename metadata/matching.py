"""Pure text functions for matching tracks: no I/O, no Django.

``text_key`` is deliberately conservative: it only removes differences that
never distinguish two songs (case, Unicode form, accents, quote and dash
variants, ``&`` vs ``and``, spacing), because it decides which listens share
one unresolved recording row. Fuzzier comparison belongs to the resolver.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property, lru_cache

from rapidfuzz import fuzz

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_AMPERSAND = re.compile(r"\s*&\s*")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
KEY_SEPARATOR = "\x1f"
MAX_KEY_PART = 500


def normalize_text(value: str | None) -> str:
    """Case-, accent- and punctuation-variant-insensitive form of a name."""
    if not value:
        return ""
    # Case-folded before combining marks go: the iota subscript (U+0345) is a
    # combining mark that folds to "ι", as its upper case ("ᾼ" → "ΑΙ") spells it.
    text = unicodedata.normalize("NFKD", value.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _CONTROL.sub(" ", text.translate(_QUOTES))
    text = _AMPERSAND.sub(" and ", text.casefold())
    return _SPACES.sub(" ", text).strip()


def text_key(artist_name: str | None, track_name: str | None) -> str:
    """The identity of an unresolved track: normalized artist and title."""
    artist = normalize_text(artist_name)[:MAX_KEY_PART]
    title = normalize_text(track_name)[:MAX_KEY_PART]
    return f"{artist}{KEY_SEPARATOR}{title}"


def _digest(key: str) -> str:
    # surrogatepass: a lone surrogate must give a key, not an exception.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=65536)  # ingest sees the same texts over and over
def text_key_digest(artist_name: str | None, track_name: str | None) -> str:
    """Fixed-length digest of :func:`text_key`, for indexes and unique constraints."""
    return _digest(text_key(artist_name, track_name))


# Stands for "any album" in an identity: a curator's decision for every album.
EVERY_ALBUM = "\x00every-album"


@lru_cache(maxsize=65536)
def identity_key_digest(
    artist_name: str | None,
    track_name: str | None,
    album_name: str | None = None,
    hint_mbid: str | None = None,
) -> str:
    """The identity of a reported track: its text, its album (edition noise removed)
    and the source's MBID. The same text on two albums, or with two source MBIDs,
    may be two recordings ("Polly" on *Nevermind* and on *MTV Unplugged*), so each
    such identity has its own unresolved row and its own cached answer."""
    album = EVERY_ALBUM if album_name == EVERY_ALBUM else album_key(album_name)
    parts = (text_key(artist_name, track_name), album[:MAX_KEY_PART], (hint_mbid or "").lower())
    return _digest(KEY_SEPARATOR.join(parts))


def every_album_key_digest(artist_name: str | None, track_name: str | None) -> str:
    """The key of a decision for a text on every album (and with any source MBID)."""
    return identity_key_digest(artist_name, track_name, EVERY_ALBUM)


# --- Comparing reported text with MusicBrainz candidates -----------------------
#
# Precision first: a wrong MBID is worse than none. Titles must agree after the
# noise sources add is removed; near-equality (rapidfuzz) only forgives typos and
# punctuation; live and studio recordings never stand in for each other.

DURATION_TOLERANCE_MS = 3000
NEAR_TITLE_MIN_RATIO = 95.0
NEAR_TITLE_MIN_LENGTH = 6

_FEAT_WORD = r"(?:feat\.?|ft\.?|featuring)"
_BRACKETED_FEAT = re.compile(rf"\s*[\(\[]\s*{_FEAT_WORD}\s+(?P<who>[^\)\]]+)[\)\]]", re.IGNORECASE)
_TRAILING_FEAT = re.compile(rf"\s+{_FEAT_WORD}\s+(?P<who>.+)$", re.IGNORECASE)
_BRACKETED_REMASTER = re.compile(
    r"\s*[\(\[][^\)\]]*\bremaster(?:ed)?\b[^\)\]]*[\)\]]", re.IGNORECASE
)
# "Song - Remastered 2011", "Song - 2009 Remaster", "Song - Remastered Version"
_DASH_REMASTER = re.compile(
    r"\s+[-\u2013\u2014]\s+[^-\u2013\u2014]*\bremaster(?:ed)?\b.*$", re.IGNORECASE
)
# A bracketed or " - " suffix segment of a title: where sources name a version.
_BRACKETED_SEGMENT = re.compile(r"\s*[\(\[](?P<text>[^\(\)\[\]]*)[\)\]]")
_DASH_SEGMENT = re.compile(r"\s+[-\u2013\u2014]\s+(?P<text>[^-\u2013\u2014]+)$")
# Words that name a version of a recording (not an edition of a release). Each maps
# to one tag; two recordings whose tags differ are never the same recording.
_VERSION_WORDS = (
    (re.compile(r"\blive\b", re.IGNORECASE), "live"),
    (re.compile(r"\bunplugged\b", re.IGNORECASE), "unplugged"),
    (re.compile(r"\bdemo\b", re.IGNORECASE), "demo"),
    (re.compile(r"\bacoustic\b", re.IGNORECASE), "acoustic"),
    (re.compile(r"\b(?:re-?mix(?:ed)?|rmx)\b", re.IGNORECASE), "remix"),
    (re.compile(r"(?<!re)(?<!re-)\bmix\b", re.IGNORECASE), "mix"),
    (re.compile(r"\bdub\b", re.IGNORECASE), "mix"),
    (re.compile(r"\binstrumental\b", re.IGNORECASE), "instrumental"),
    (re.compile(r"\bedit\b", re.IGNORECASE), "edit"),
    (re.compile(r"\bextended\b", re.IGNORECASE), "extended"),
    (re.compile(r"\bkaraoke\b", re.IGNORECASE), "karaoke"),
    (re.compile(r"\ba\s?cappella\b|\bacapella\b", re.IGNORECASE), "a cappella"),
    (re.compile(r"\brehearsal\b", re.IGNORECASE), "rehearsal"),
    (re.compile(r"\borchestral\b", re.IGNORECASE), "orchestral"),
)
# Album titles carry edition noise that never names a different album's tracks.
_BRACKETED_EDITION = re.compile(
    r"\s*[\(\[][^\)\]]*\b(?:deluxe|expanded|edition|remaster(?:ed)?|anniversary|bonus)\b[^\)\]]*[\)\]]",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^\w]+")
_LEADING_THE = re.compile(r"^the\s+")
_TRAILING_THE = re.compile(r",\s*the$")


@lru_cache(maxsize=65536)  # matching a text against candidates repeats their names
def comparison_key(text: str | None) -> str:
    """``normalize_text`` without punctuation: "AC/DC" and "AC-DC" compare equal.

    Names made only of punctuation ("!!!") keep it, or they would all be equal.
    """
    normalized = normalize_text(text)
    # Apostrophes join a word ("don't" is "dont"); other punctuation separates.
    stripped = _SPACES.sub(" ", _NON_WORD.sub(" ", normalized.replace("'", ""))).strip()
    return stripped or normalized.replace(" ", "")


@lru_cache(maxsize=65536)
def artist_key(name: str | None) -> str:
    """Comparison key for an artist name: "The Beatles", "Beatles, The" and "beatles" agree."""
    normalized = normalize_text(name)
    normalized = _TRAILING_THE.sub("", _LEADING_THE.sub("", normalized))
    return comparison_key(normalized)


def version_tags(text: str | None) -> frozenset[str]:
    """The versions a phrase names: "Live at Wembley" → {live}; "MTV Unplugged" →
    {unplugged, live} (an unplugged session is a live one)."""
    if not text:
        return frozenset()
    tags = {tag for pattern, tag in _VERSION_WORDS if pattern.search(text)}
    if "unplugged" in tags:
        tags.add("live")
    return frozenset(tags)


def _split_versions(text: str) -> tuple[str, frozenset[str]]:
    """``text`` without its version segments ("(Live)", "- Demo", "[Radio Edit]"),
    and the versions they name. Other bracketed text is part of the title."""
    tags: set[str] = set()

    def drop(match: re.Match[str]) -> str:
        found = version_tags(match.group("text"))
        tags.update(found)
        return "" if found else match.group(0)

    text = _BRACKETED_SEGMENT.sub(drop, text)
    text = _DASH_SEGMENT.sub(drop, text)
    return text, frozenset(tags)


@dataclass(frozen=True)
class TitleParts:
    base: str
    featured: tuple[str, ...]
    versions: frozenset[str]
    key: str

    @property
    def live(self) -> bool:
        return "live" in self.versions


def parse_title(title: str | None) -> TitleParts:
    """Split the noise sources add to a track title from the title itself, and the
    versions it names (live, demo, remix …) from both."""
    # Bounded: the patterns below are quadratic on long runs of spaces.
    text = (title or "")[:MAX_KEY_PART]
    text = _DASH_REMASTER.sub("", _BRACKETED_REMASTER.sub("", text))
    # Versions before "feat.": a trailing "feat. Bob (Live)" would swallow them.
    text, versions = _split_versions(text)
    featured: list[str] = []
    for pattern in (_BRACKETED_FEAT, _TRAILING_FEAT):
        match = pattern.search(text)
        if match:
            featured.append(match.group("who").strip())
            text = text[: match.start()] + text[match.end() :]
    base = text.strip() or (title or "").strip()[:MAX_KEY_PART]
    return TitleParts(
        base=base, featured=tuple(featured), versions=versions, key=comparison_key(base)
    )


# Titles that name a place on an album rather than a song: an artist has one on
# album after album, so without the album such a title does not say which it is.
_ALBUM_BOUND_TITLES = frozenset(
    {"intro", "outro", "interlude", "reprise", "prelude", "overture", "skit", "untitled", "coda"}
)


def album_bound_title(title: str | None) -> bool:
    """ "Intro", "Outro (Remastered)", "Interlude" …: only the album tells which one."""
    return parse_title(title).key in _ALBUM_BOUND_TITLES


def album_base(title: str | None) -> str:
    """An album title without edition noise ("(Deluxe Edition)", "[Remastered]")."""
    title = (title or "")[:MAX_KEY_PART]
    return (_BRACKETED_EDITION.sub("", title).strip() or title).strip()


def album_key(title: str | None) -> str:
    return comparison_key(album_base(title))


def split_featured_artist(name: str | None) -> tuple[str, tuple[str, ...]]:
    """'Drake feat. Rihanna' → ('Drake', ('Rihanna',))."""
    text = (name or "")[:MAX_KEY_PART]
    for pattern in (_BRACKETED_FEAT, _TRAILING_FEAT):
        match = pattern.search(text)
        if match:
            return (text[: match.start()] + text[match.end() :]).strip(), (
                match.group("who").strip(),
            )
    return text.strip(), ()


class TitleMatch(IntEnum):
    NONE = 0
    NEAR = 1
    EXACT = 2


def compare_titles(reported: TitleParts, candidate_title: str) -> TitleMatch:
    candidate = parse_title(candidate_title)
    if reported.key == candidate.key or comparison_key(candidate_title) == reported.key:
        return TitleMatch.EXACT
    if (
        min(len(reported.key), len(candidate.key)) >= NEAR_TITLE_MIN_LENGTH
        and fuzz.ratio(reported.key, candidate.key) >= NEAR_TITLE_MIN_RATIO
        # "Part 2" is not a typo of "Part 3": numbers must agree exactly.
        and _numbers(reported.key) == _numbers(candidate.key)
    ):
        return TitleMatch.NEAR
    return TitleMatch.NONE


_NUMBER_TOKEN = re.compile(r"\b(?:\d+|[ivx]{1,4})\b")


def _numbers(key: str) -> list[str]:
    return _NUMBER_TOKEN.findall(key)


def artist_matches(
    reported_artist: str, credited_names: Iterable[str], credit_display: str
) -> bool:
    """At least one credited artist (or the whole credit) equals the reported artist,
    with featured artists allowed on either side."""
    main, _ = split_featured_artist(reported_artist)
    reported = {artist_key(reported_artist), artist_key(main)} - {""}
    credit_main, _ = split_featured_artist(credit_display)
    candidates = {artist_key(name) for name in credited_names}
    candidates |= {artist_key(credit_display), artist_key(credit_main)}
    candidates -= {""}
    if reported & candidates:
        return True
    # Sources that list artists ("Drake, Rihanna"): every listed name must be credited.
    # Commas alone first: "Dun & Belpa, Elri" lists a duo that has "&" in its name.
    for separator in (_ARTIST_COMMA, _ARTIST_LIST_SEPARATOR):
        listed = [artist_key(part) for part in separator.split(main)]
        if len(listed) > 1 and all(name and name in candidates for name in listed):
            return True
    return False


_ARTIST_COMMA = re.compile(r"\s*,\s*")
_ARTIST_LIST_SEPARATOR = re.compile(r"\s*,\s*|\s+&\s+|\s+and\s+|\s+x\s+", re.IGNORECASE)


@dataclass(frozen=True)
class TrackText:
    """A track as a source reported it."""

    title: str
    artist: str
    album: str | None = None
    duration_ms: int | None = None
    # For a report without album: the album its listens were heard amid (the same
    # user's listens around it), evidence that stands in for the album only when a
    # candidate is on it.
    heard_amid: str | None = None

    @cached_property
    def parts(self) -> TitleParts:
        return parse_title(self.title)

    @property
    def context_album(self) -> str | None:
        """The album reported, else the one the listens were heard amid."""
        return self.album or self.heard_amid


@dataclass(frozen=True)
class RecordingCandidate:
    """A MusicBrainz recording in the shape the matcher needs."""

    mbid: str
    title: str
    credited_names: tuple[str, ...]
    credit_display: str
    length_ms: int | None = None
    disambiguation: str = ""
    release_titles: tuple[str, ...] = ()
    on_live_releases_only: bool = False
    video: bool = False

    @cached_property
    def versions(self) -> frozenset[str]:
        """The versions its title and disambiguation name ("live, 1991-11-25: …")."""
        tags = parse_title(self.title).versions | version_tags(self.disambiguation)
        return tags | {"live"} if self.on_live_releases_only else tags

    @property
    def live(self) -> bool:
        return "live" in self.versions


@dataclass(frozen=True)
class Decision:
    mbid: str | None
    reason: str
    considered: int = 0


def durations_agree(a_ms: int | None, b_ms: int | None) -> bool | None:
    """True/False when both are known, None when either is missing."""
    if not a_ms or not b_ms:
        return None
    return abs(a_ms - b_ms) <= DURATION_TOLERANCE_MS


def candidate_agrees(track: TrackText, candidate: RecordingCandidate) -> TitleMatch:
    """How well a candidate's title agrees, NONE when its artist or version does not."""
    if not artist_matches(track.artist, candidate.credited_names, candidate.credit_display):
        return TitleMatch.NONE
    if not versions_agree(track, candidate) or not names_the_performance(track, candidate):
        return TitleMatch.NONE
    return compare_titles(track.parts, candidate.title)


def versions_agree(
    track: TrackText, candidate: RecordingCandidate, *, named_by_source: bool = False
) -> bool:
    """Whether the candidate is the version the report names. "(Live Aid)" is never a
    recording that says nothing of being live, and a plain title is never a live (or
    demo, remix …) recording unless the album says so: the candidate is on the
    reported album and that album names the version ("Live at Leeds", "MTV
    Unplugged …") or is a live release. Sources do drop "(Live)" on live albums.
    A recording the source itself named (``named_by_source``) need not be known to
    be on the album: the album naming the version is enough."""
    reported, versions = track.parts.versions, candidate.versions
    differing = reported ^ versions
    if "live" in reported and "unplugged" not in reported:
        differing -= {"unplugged"}  # "Song (Live)" of an unplugged session is still live
    if not differing:
        return True
    if not named_by_source and not on_reported_album(track, candidate):
        return False
    explained = version_tags(album_base(track.context_album))
    if candidate.on_live_releases_only and on_reported_album(track, candidate):
        explained |= {"live"}
    return differing <= explained


# Words of "Live at the Apollo" that say it is live, not which performance it was.
_PERFORMANCE_FILLER = frozenset(
    {"live", "at", "in", "from", "the", "on", "of", "a", "version", "unplugged", "recorded"}
)


def _performance_words(phrase: str) -> frozenset[str]:
    words = set(comparison_key(phrase).split()) - _PERFORMANCE_FILLER
    return frozenset(words)


def named_performance(track: TrackText) -> tuple[frozenset[str], frozenset[str]]:
    """The words naming one performance (event, venue, date) in the title's version
    segment ("(Live Aid)" → {aid}) and in a live album's title ("Live at Wembley
    1986" → {wembley, 1986}); empty when the text only says "live"."""
    text = (track.title or "")[:MAX_KEY_PART]
    in_title: set[str] = set()
    for pattern in (_BRACKETED_SEGMENT, _DASH_SEGMENT):
        for match in pattern.finditer(text):
            if "live" in version_tags(match.group("text")):
                in_title |= _performance_words(match.group("text"))
    album = album_base(track.context_album)
    in_album = _performance_words(album) if "live" in version_tags(album) else frozenset()
    return frozenset(in_title), in_album


def names_the_performance(track: TrackText, candidate: RecordingCandidate) -> bool:
    """A report naming a performance ("Bohemian Rhapsody (Live Aid)" on "Live Aid")
    is only a recording that names it too, in its title, disambiguation or release
    titles: every word the title names, and some word the album names unless the
    recording is on that album. Another live recording of the song is not it."""
    in_title, in_album = named_performance(track)
    if not in_title and not in_album:
        return True
    said = set(comparison_key(candidate.title).split())
    said |= set(comparison_key(candidate.disambiguation).split())
    for release in candidate.release_titles:
        said |= set(comparison_key(release).split())
    if not in_title <= said:
        return False
    return not in_album or bool(in_album & said) or on_reported_album(track, candidate)


def on_reported_album(track: TrackText, candidate: RecordingCandidate) -> bool:
    """Whether the candidate is on the album reported (or heard amid)."""
    if not track.context_album:
        return False
    wanted = album_key(track.context_album)
    return any(album_key(title) == wanted for title in candidate.release_titles)


def verify_hint(track: TrackText, candidate: RecordingCandidate) -> bool:
    """A source's MBID is trusted only when the recording it names agrees with the
    text: same artist, same title, same version. Last.fm keeps one MBID per artist
    and title, so a plain "Polly" played from *Nevermind* may carry the MTV Unplugged
    recording's MBID: the version rule of :func:`versions_agree` applies to it too."""
    if not artist_matches(track.artist, candidate.credited_names, candidate.credit_display):
        return False
    if not versions_agree(track, candidate, named_by_source=True):
        return False
    if not names_the_performance(track, candidate):
        return False
    return compare_titles(track.parts, candidate.title) is not TitleMatch.NONE


def choose_recording(track: TrackText, candidates: Iterable[RecordingCandidate]) -> Decision:
    """The one recording the text means, or None when none or several qualify."""
    pool = list(candidates)
    scored = [(candidate_agrees(track, c), c) for c in pool if not c.video]
    best = max((level for level, _ in scored), default=TitleMatch.NONE)
    if best is TitleMatch.NONE:
        return Decision(None, "no candidate with the same title and artist", len(pool))
    qualified = [c for level, c in scored if level == best]
    on_album = [c for c in qualified if on_reported_album(track, c)]
    if on_album:
        qualified = on_album
    elif not track.album and not track.parts.versions:
        # Without an album a plain title may be any version: one only with evidence
        # (heard amid its album, above, or a length no other version has), else a
        # curator decides.
        others = [
            c
            for c in pool
            if not c.video
            and c.mbid not in {q.mbid for q in qualified}
            and artist_matches(track.artist, c.credited_names, c.credit_display)
            and compare_titles(track.parts, c.title) is not TitleMatch.NONE
            and names_the_performance(track, c)
        ]
        if others and not _length_tells_apart(track, qualified, others):
            return Decision(
                None,
                f"several versions of this title ({len(others) + len(qualified)}) and no "
                "album: left for curation",
                len(pool),
            )

    if track.duration_ms:
        close = [c for c in qualified if durations_agree(track.duration_ms, c.length_ms)]
        # Without a close one, drop only those known to be far off.
        qualified = close or [
            c for c in qualified if durations_agree(track.duration_ms, c.length_ms) is None
        ]

    mbids = sorted({c.mbid for c in qualified})
    if len(mbids) == 1:
        how = "exact" if best is TitleMatch.EXACT else "near"
        return Decision(mbids[0], f"single {how} title and artist match", len(pool))
    if not mbids:
        return Decision(None, "every title match has a different length", len(pool))
    return Decision(None, f"ambiguous: {len(mbids)} recordings match equally well", len(pool))


def _length_tells_apart(
    track: TrackText,
    qualified: list[RecordingCandidate],
    others: list[RecordingCandidate],
) -> bool:
    """Whether the reported length agrees with a qualified candidate and with none
    of the other versions (whose lengths are all known)."""
    if not track.duration_ms:
        return False
    if not any(durations_agree(track.duration_ms, c.length_ms) for c in qualified):
        return False
    return all(durations_agree(track.duration_ms, c.length_ms) is False for c in others)


# --- Albums -------------------------------------------------------------------


@dataclass(frozen=True)
class AlbumCandidate:
    mbid: str
    title: str
    credit_display: str
    credited_names: tuple[str, ...]
    primary_type: str | None
    secondary_types: tuple[str, ...]
    first_release_date: str | None
    score: int | None = None


@dataclass(frozen=True)
class RankedAlbum:
    candidate: AlbumCandidate
    artist_match: bool
    title_exact: bool
    is_album: bool
    year_match: bool | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class AlbumChoice:
    ranked: tuple[RankedAlbum, ...]
    confident: bool
    reason: str

    @property
    def chosen(self) -> RankedAlbum | None:
        return self.ranked[0] if self.confident and self.ranked else None


def date_sort_key(date: str | None) -> tuple[int, str]:
    """Missing dates sort last; partial dates sort before full dates of their year."""
    if not date:
        return (1, "")
    return (0, date.ljust(10, "0"))


def date_year(date: str | None) -> int | None:
    if date and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None


def rank_album_candidates(
    artist: str, title: str, candidates: Iterable[AlbumCandidate], *, year: int | None = None
) -> AlbumChoice:
    """Order release groups per the album-choice heuristic and say whether the top
    one can be chosen without asking the user."""
    wanted_title = normalize_text(title)
    ranked = []
    for candidate in candidates:
        artist_match = artist_matches(artist, candidate.credited_names, candidate.credit_display)
        title_exact = normalize_text(candidate.title) == wanted_title
        is_album = candidate.primary_type == "Album" and not candidate.secondary_types
        year_match = None if year is None else date_year(candidate.first_release_date) == year
        reasons = (
            "artist matches" if artist_match else "different artist",
            "exact title" if title_exact else "title differs",
            "studio album"
            if is_album
            else f"type {candidate.primary_type or 'unknown'}"
            + "".join(f" + {t}" for t in candidate.secondary_types),
            *(() if year is None else ("year matches" if year_match else "other year",)),
            f"first released {candidate.first_release_date or 'unknown'}",
        )
        ranked.append(
            RankedAlbum(candidate, artist_match, title_exact, is_album, year_match, reasons)
        )

    def sort_key(r: RankedAlbum) -> tuple:
        return (
            not r.artist_match,
            r.year_match is False,  # a year narrows: other years go after
            not r.is_album,
            not r.title_exact,
            date_sort_key(r.candidate.first_release_date),
            -(r.candidate.score or 0),
            r.candidate.mbid,
        )

    ranked.sort(key=sort_key)
    if not ranked:
        return AlbumChoice((), False, "no candidates")
    top = ranked[0]
    if top.artist_match and top.title_exact and top.year_match is False:
        return AlbumChoice(tuple(ranked), False, f"no match from {year}: ask the user")
    if not (top.artist_match and top.title_exact):
        return AlbumChoice(tuple(ranked), False, "no exact title and artist match: ask the user")
    rivals = [
        r
        for r in ranked[1:]
        if r.artist_match
        and r.title_exact
        and r.is_album == top.is_album
        and r.year_match is not False
    ]
    if rivals:
        return AlbumChoice(
            tuple(ranked),
            False,
            f"{len(rivals) + 1} {'albums' if top.is_album else 'release groups'} share the "
            "title: ask the user (a year narrows)",
        )
    return AlbumChoice(tuple(ranked), True, "single exact title and artist match")


@dataclass(frozen=True)
class ReleaseOption:
    mbid: str
    date: str | None
    country: str | None
    status: str | None


def choose_preferred_release(
    releases: Iterable[ReleaseOption], *, country: str | None = None
) -> str | None:
    """The release whose tracklist stands for its group: official ones first, then
    the user's country, a known date, the earliest date, and the MBID as tie-break."""
    options = list(releases)
    official = [r for r in options if (r.status or "").lower() == "official"]
    pool = official or options
    wanted_country = (country or "").upper()

    def sort_key(r: ReleaseOption) -> tuple:
        return (
            bool(wanted_country) and (r.country or "").upper() != wanted_country,
            date_sort_key(r.date),
            r.mbid,
        )

    return min(pool, key=sort_key).mbid if pool else None
