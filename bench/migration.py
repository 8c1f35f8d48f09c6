"""Identity migration bench: listens.0005 on a large database the previous schema filled.

    .venv/bin/python -m bench.migration [--listens 1000000] [--seed 1] [--profile FILE]

Migrates a throwaway database (a fresh SQLite file, or, when DATABASE_URL names a
PostgreSQL server, a ``bench_migration_<pid>`` database created on that server and
dropped afterwards) to the schema before album-aware identity (metadata 0003,
listens 0004), fills it with raw SQL as that schema stored a listening history, then
times the forward migration to the latest state. It prints what the migration did
(its own stats line, and the same figures recomputed from the tables), wall seconds
and peak RSS. Exit code 0 whatever the figures: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import resource
import sys
import time
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench._django import LISTEN_COLUMNS, throwaway_database
from bench.api import configure

BEFORE = [("metadata", "0003_curation_decision"), ("listens", "0004_ingest_run_kind")]
USER_SHARES = (0.4, 0.3, 0.2, 0.1)  # of the listens, per user
LISTENS_PER_TEXT = 20  # 50k distinct (artist, title) at 1M listens
TEXTS_PER_ARTIST = 20  # two studio albums of 10 tracks
UNRESOLVED_SHARE = 0.3  # of the listens, on unresolved rows
LIVE_ARTIST_SHARE = 0.3  # artists with a live album re-recording 6 of their songs
LIVE_ALIAS_SHARE = 0.2  # of those songs, the text's first listen was the live one
COMPILATION_SHARE = 0.3  # artists with a "Greatest Hits"
STORED_ALBUM_SHARE = 0.4  # albums whose release group, release and tracks are stored
LASTFM_HINT_SHARE = 0.4  # Last.fm scrobbles carrying a track mbid
LISTENBRAINZ_HINT_SHARE = 0.6  # ListenBrainz listens carrying an mbid_mapping
OTHER_HINT_SHARE = 0.1  # hints naming the other recording of a two-recording text
LISTENBRAINZ_ONLY_SHARE = 0.25  # plays only scrobbled to ListenBrainz
# Per user, Last.fm plays also scrobbled to ListenBrainz 0-2 s later: the third user
# sends every play to both services.
COPY_SHARES = (0.05, 0.05, 1.0, 0.05)
NOISY_COPY_SHARE = 0.3  # of those copies, reported with another title text
CURATED_SHARE = 0.005  # resolved texts with a curator's misspelt variant
YEARS = 5
END = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())

WORDS = (  # noqa: SIM905
    "Blue Night River Fire Glass Heart Stone Summer Ghost Golden Wild Silver Electric "
    "Paper Velvet Broken Midnight Ocean Northern Lonely Crystal Hollow Burning Quiet Neon "
    "Falling Distant Honey Iron Starlight Shadow Morning Thunder Secret Sugar Winter Desert "
    "Highway Dream Satellite Mirror Garden Rain Echo Wolves Avenue Machine Tiger Harbor "
    "Lights Sparrow Runaway Cherry Diamond Kingdom Signal Wonder Paradise Revolver Horizon"
).split()
PLACES = (
    "Wembley", "the BBC", "Leeds", "the Budokan", "Red Rocks", "Glastonbury", "the Fillmore",
    "the Royal Albert Hall", "Madison Square Garden", "Montreux", "the Apollo", "Reading",
)  # fmt: skip
# An artist whose name folds differently since listens.0005 (iota subscript).
GREEK_ARTIST = "ᾼ Band"


# (album name, the recording that album means or None, album stored?)
Album = tuple[str, int | None, bool]


@dataclass
class Text:
    """One (artist, title) as the previous schema stored it."""

    artist: int
    title: str
    recording: int  # the row its listens point at: the old alias's answer, or unresolved
    resolved: bool
    other: int | None = None  # the other recording of a studio/live title
    live: int | None = None  # the live one of those two
    albums: list[Album] = field(default_factory=list)
    curated: bool = False
    key: str = ""  # the old text key (listens' track_key, alias text_key, unresolved_key)


@dataclass
class World:
    artists: list[str]
    texts: list[Text]
    weights: list[float]
    mbids: dict[int, str]  # recording id → MBID (resolved rows)
    curator_id: int = 0
    rows: dict[str, list[tuple]] = field(default_factory=dict)  # catalog rows per table


# --- Values as each database stores them -----------------------------------------------


class Values:
    def __init__(self, vendor: str) -> None:
        self.postgres = vendor == "postgresql"

    def uuid(self, value: str | None) -> str | None:
        if value is None:
            return None
        return value if self.postgres else value.replace("-", "")

    def time(self, seconds: int) -> object:
        if self.postgres:
            return datetime.fromtimestamp(seconds, UTC)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def insert(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Raw insert (``executemany`` on SQLite, ``COPY`` on PostgreSQL); rows carry ids."""
    from django.db import connection

    count = 0
    cols = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        else:
            marks = ", ".join("?" * len(columns))
            raw = connection.connection.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows
            )
            count = raw.rowcount
    return count


def old_text_key(artist: str, title: str) -> str:
    """The previous schema's text key: the same as today's except for the case folding
    of U+0345, which only the Greek artist's texts contain."""
    from metadata.matching import text_key_digest

    if artist != GREEK_ARTIST:
        return text_key_digest(artist, title)
    import hashlib
    import unicodedata

    def normalize(value: str) -> str:
        text = unicodedata.normalize("NFKD", value)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        return " ".join(text.casefold().split())

    return hashlib.sha256(f"{normalize(artist)}\x1f{normalize(title)}".encode()).hexdigest()


# --- The catalog and its old answers ---------------------------------------------------


def build_world(n_texts: int, rng: random.Random, v: Values, curator_id: int) -> World:
    """Artists, albums, recordings, release groups and the old aliases and unresolved
    rows of ``n_texts`` (artist, title) texts, as rows ready for :func:`insert`."""
    now = v.time(END)
    n_artists = max(2, n_texts // TEXTS_PER_ARTIST)
    names: set[str] = set()
    artists = []
    while len(artists) < n_artists:
        name = " ".join(rng.sample(WORDS, rng.choice((1, 2, 2, 3))))
        name = f"The {name}" if rng.random() < 0.2 else name
        if name not in names:
            names.add(name)
            artists.append(name)
    artists.append(GREEK_ARTIST)

    def mbid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    rows: dict[str, list[tuple]] = {k: [] for k in TABLES}
    mbids: dict[int, str] = {}
    texts: list[Text] = []
    recording_ids = iter(range(1, 10**9))

    def recording(title: str, artist: str, credit: int | None, disambiguation: str = "") -> int:
        pk = next(recording_ids)
        mbids[pk] = mbid()
        length = rng.randrange(120_000, 420_000)
        rows["metadata_recording"].append(
            (pk, v.uuid(mbids[pk]), "resolved", title, artist, credit, length, disambiguation,
             None, "", None, 0, None, None, "", now, now)
        )  # fmt: skip
        return pk

    release_group_ids = iter(range(1, 10**9))
    track_ids = iter(range(1, 10**9))

    def store_album(artist: int, title: str, types: list[str], tracks: list[tuple[str, int]]):
        pk = next(release_group_ids)
        credit = artist + 1
        rows["metadata_releasegroup"].append(
            (pk, v.uuid(mbid()), title, credit, "Album", json.dumps(types), "2001", "", None,
             now, now)
        )  # fmt: skip
        rows["metadata_release"].append(
            (pk, v.uuid(mbid()), pk, title, credit, "2001", "XW", "Official", "", now, now, now)
        )
        for position, (track_title, recording_id) in enumerate(tracks, start=1):
            rows["metadata_track"].append(
                (next(track_ids), v.uuid(mbid()), pk, recording_id, 1, "CD", position,
                 str(position), track_title, None)
            )  # fmt: skip

    for a, artist in enumerate(artists):
        credit = a + 1
        rows["metadata_artist"].append(
            (credit, v.uuid(mbid()), artist, artist, "", "Group", "", now, now)
        )
        rows["metadata_artistcredit"].append((credit, f"credit-{credit}", artist, now))
        rows["metadata_artistcreditname"].append((credit, credit, 0, credit, artist, ""))
        count = 3 if artist == GREEK_ARTIST else TEXTS_PER_ARTIST
        titles: list[str] = []
        while len(titles) < count:
            title = " ".join(rng.sample(WORDS, rng.choice((1, 2, 2, 3))))
            if title not in titles:
                titles.append(title)
        albums = [" ".join(rng.sample(WORDS, 2)) for _ in range(2)]
        live_album = f"Live at {rng.choice(PLACES)}" if rng.random() < LIVE_ARTIST_SHARE else None
        has_hits = rng.random() < COMPILATION_SHARE
        on_live = set(rng.sample(range(count), min(6, count))) if live_album else set()
        on_hits = set(rng.sample(range(count), min(6, count))) if has_hits else set()
        stored = [rng.random() < STORED_ALBUM_SHARE for _ in range(4)]
        tracklists: list[list[tuple[str, int]]] = [[], [], [], []]  # studio 1, 2, live, hits
        for i, title in enumerate(titles):
            text = Text(artist=a, title=title, recording=0, resolved=True)
            with_credit = credit if rng.random() < 0.9 else None
            studio = recording(title, artist, with_credit)
            tracklists[i * 2 // count].append((title, studio))
            live = None
            if i in on_live:
                live = recording(title, artist, with_credit, f"live, 2003-06-01: {live_album}")
                tracklists[2].append((title, live))
            if i in on_hits:
                tracklists[3].append((title, studio))
            text.recording, text.other, text.live = studio, live, live
            if live is not None and rng.random() < LIVE_ALIAS_SHARE:
                text.recording, text.other = live, studio
            # 1-3 album names per text, the studio album first.
            studio_album = albums[i * 2 // count]
            pool = [(f"{studio_album} (Deluxe Edition)", studio, stored[i * 2 // count])]
            pool.append(("", None, False))
            if live is not None:
                pool.append((live_album, live, stored[2]))
            if i in on_hits:
                pool.append(("Greatest Hits", studio, stored[3]))
            text.albums = [(studio_album, studio, stored[i * 2 // count])]
            extra = rng.choices((0, 1, 2), weights=(0.4, 0.4, 0.2))[0]
            if live is not None:  # the live album is what the text is reported with
                text.albums.append(pool.pop(2))
                extra = max(0, extra - 1)
            text.albums += rng.sample(pool, min(extra, len(pool)))
            text.key = old_text_key(artist, title)
            texts.append(text)
        for tracks, album, is_stored, types in (
            (tracklists[0], albums[0], stored[0], []),
            (tracklists[1], albums[1], stored[1], []),
            (tracklists[2], live_album, stored[2], ["Live"]),
            (tracklists[3], "Greatest Hits", stored[3], ["Compilation"]),
        ):
            if album and is_stored and tracks:
                store_album(a, album, types, tracks)

    # Long-tailed plays; unresolved texts take UNRESOLVED_SHARE of them.
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(texts))]
    rng.shuffle(weights)
    order = list(range(len(texts)))
    rng.shuffle(order)
    total, mass = sum(weights), 0.0
    for i in order:
        if mass >= UNRESOLVED_SHARE * total:
            break
        mass += weights[i]
        text = texts[i]
        text.resolved, text.other, text.live = False, None, None
        text.albums = [(name, None, False) for name, _, _ in text.albums]
        text.recording = next(recording_ids)
        attempts = rng.randrange(1, 7)
        status, error = rng.choice(
            (
                ("unresolved", "no candidate with the same title and artist"),
                ("unresolved", "ambiguous: 2 recordings match equally well"),
                ("not_in_musicbrainz", "no candidate with the same title and artist"),
            )
        )
        rows["metadata_recording"].append(
            (text.recording, None, status, text.title, artists[text.artist], None, None, "",
             text.key, text.albums[0][0], None, attempts, now, v.time(END + 86400 * attempts),
             error, now, now)
        )  # fmt: skip
    # The old cache: one alias per resolved text, a few decided by a curator, who also
    # tied some misspelt variants to their recording.
    alias_ids = iter(range(1, 10**9))
    for i, text in enumerate(list(texts)):
        if not text.resolved:
            continue
        text.curated = rng.random() < CURATED_SHARE
        rows["metadata_recordingalias"].append(
            (next(alias_ids), text.key, artists[text.artist], text.title,
             "curator" if text.curated else "resolver", curator_id if text.curated else None,
             text.recording, now, now)
        )  # fmt: skip
        if rng.random() < CURATED_SHARE:
            title = text.title.lower().replace("e", "", 1)
            variant = Text(
                artist=text.artist, title=title, recording=text.recording, resolved=True,
                albums=[(album, None, False) for album, _, _ in text.albums[:1]], curated=True,
                key=old_text_key(artists[text.artist], title),
            )  # fmt: skip
            if variant.key == text.key:
                continue
            texts.append(variant)
            weights.append(weights[i] / 10)
            rows["metadata_recordingalias"].append(
                (next(alias_ids), variant.key, artists[text.artist], title, "curator",
                 curator_id, text.recording, now, now)
            )  # fmt: skip
    return World(artists, texts, weights, mbids, curator_id, rows)


TABLES = {
    "metadata_artist": (
        "id", "mbid", "name", "sort_name", "disambiguation", "type", "country", "created_at",
        "updated_at",
    ),
    "metadata_artistcredit": ("id", "key", "name", "created_at"),
    "metadata_artistcreditname": (
        "id", "credit_id", "position", "artist_id", "name", "join_phrase",
    ),
    "metadata_recording": (
        "id", "mbid", "status", "title", "artist_name", "artist_credit_id", "length_ms",
        "disambiguation", "unresolved_key", "album_name", "hint_mbid", "resolution_attempts",
        "last_attempt_at", "next_attempt_at", "last_error", "created_at", "updated_at",
    ),
    "metadata_releasegroup": (
        "id", "mbid", "title", "artist_credit_id", "primary_type", "secondary_types",
        "first_release_date", "disambiguation", "preferred_release_id", "created_at",
        "updated_at",
    ),
    "metadata_release": (
        "id", "mbid", "release_group_id", "title", "artist_credit_id", "date", "country",
        "status", "barcode", "tracklist_fetched_at", "created_at", "updated_at",
    ),
    "metadata_track": (
        "id", "mbid", "release_id", "recording_id", "medium_position", "medium_format",
        "position", "number", "title", "length_ms",
    ),
    "metadata_recordingalias": (
        "id", "text_key", "artist_name", "track_name", "decided_by", "curator_id",
        "recording_id", "created_at", "updated_at",
    ),
}  # fmt: skip


# --- Listens -----------------------------------------------------------------------------


@dataclass
class Seeded:
    listens: int = 0
    lastfm: int = 0
    listenbrainz: int = 0
    unresolved: int = 0
    hinted: int = 0
    other_hint: int = 0
    copies: int = 0
    copies_marked: int = 0
    # listen id → the recording its own evidence (a right source MBID, its album's
    # stored tracklist) names when that is not the text's old answer; 0 otherwise.
    expected: array = field(default_factory=lambda: array("q"))
    evidence: array = field(default_factory=lambda: array("b"))  # index into EVIDENCE


EVIDENCE = (
    "",
    "their source MBID",
    "their studio album's tracklist",
    "the tracklist of a (Deluxe Edition)",
    "their live album's tracklist",
    "a Greatest Hits tracklist",
)


def album_evidence(album: str) -> int:
    if album == "Greatest Hits":
        return 5
    if album.startswith("Live at "):
        return 4
    return 3 if album.endswith("(Deluxe Edition)") else 2


class Listens:
    """Listen rows of one account at a time, as the previous schema's ingest stored them."""

    def __init__(self, world: World, rng: random.Random, v: Values, seeded: Seeded) -> None:
        self.world, self.rng, self.v, self.seeded = world, rng, v, seeded
        self.ingested = v.time(END)
        self.noisy: dict[tuple[str, str], Text] = {}  # (text key, title) → a copy's text
        self.next_id = 1

    def hint(self, text: Text, album: Album, source: str) -> str | None:
        share = LASTFM_HINT_SHARE if source == "lastfm" else LISTENBRAINZ_HINT_SHARE
        if not text.resolved or text.curated or self.rng.random() >= share:
            return None
        right = album[1] or text.recording
        if text.other is not None and self.rng.random() < OTHER_HINT_SHARE:
            self.seeded.other_hint += 1
            return self.world.mbids[text.other if right == text.recording else text.recording]
        return self.world.mbids[right]

    def payload(self, text: Text, album: str, source: str, when: int, hint: str | None) -> str:
        artist = json.dumps(self.world.artists[text.artist], ensure_ascii=False)
        title, album = json.dumps(text.title, ensure_ascii=False), json.dumps(album)
        if source == "lastfm":
            return (
                f'{{"artist": {{"#text": {artist}, "mbid": ""}}, "name": {title}, '
                f'"streamable": "0", "mbid": "{hint or ""}", '
                f'"album": {{"#text": {album}, "mbid": ""}}, '
                f'"url": "https://www.last.fm/music/_/{text.key[:12]}", '
                f'"date": {{"uts": "{when}"}}}}'
            )
        mapping = (
            f', "mbid_mapping": {{"recording_mbid": "{hint}", "recording_name": {title}, '
            f'"artist_mbids": []}}'
            if hint
            else ""
        )
        return (
            f'{{"listened_at": {when}, "recording_msid": "{uuid.UUID(int=when)}", '
            f'"track_metadata": {{"artist_name": {artist}, "track_name": {title}, '
            f'"release_name": {album}, "additional_info": {{"media_player": "BrainzPlayer", '
            f'"submission_client": "ListenBrainz Android"}}{mapping}}}}}'
        )

    def row(self, user, account, when: int, text: Text, album: Album, duplicate_of=None):
        """One listen row; notes what its own evidence says it should point at."""
        source = account.source
        hint = self.hint(text, album, source)
        expected, evidence, right, mbids = 0, 0, album[1], self.world.mbids
        if right is not None and right != text.recording and not text.curated:
            if hint == mbids[right]:
                expected, evidence = right, 1
            elif album[2] and hint != mbids[text.recording]:
                expected, evidence = right, album_evidence(album[0])
        self.seeded.expected.append(expected)
        self.seeded.evidence.append(evidence)
        self.seeded.hinted += hint is not None
        self.seeded.unresolved += not text.resolved
        pk = self.next_id
        self.next_id += 1
        return (
            pk, user.pk, account.pk, source, self.v.time(when), text.recording, text.title,
            self.world.artists[text.artist], album[0], text.key,
            self.payload(text, album[0], source, when, hint), duplicate_of, self.ingested,
        )  # fmt: skip

    def user(self, user, lastfm, listenbrainz, n_plays: int, copies: float) -> Iterable[tuple]:
        """The user's Last.fm listens, then their ListenBrainz ones (ingested in turn)."""
        rng, world = self.rng, self.world
        seconds = sorted(rng.sample(range(END - YEARS * 365 * 86400, END), n_plays))
        picks = rng.choices(range(len(world.texts)), weights=world.weights, k=n_plays)
        on_listenbrainz: list[tuple] = []  # (when, text, album, duplicate_of, is a copy)
        taken: set[tuple[int, str]] = set()
        for when, t in zip(seconds, picks, strict=True):
            text = world.texts[t]
            album = rng.choices(text.albums, weights=[3] + [1] * (len(text.albums) - 1))[0]
            if rng.random() < LISTENBRAINZ_ONLY_SHARE:
                on_listenbrainz.append((when, text, album, None, False))
                taken.add((when, text.key))
                continue
            row = self.row(user, lastfm, when, text, album)
            yield row
            if rng.random() < copies:
                copy_when, copy, duplicate_of = when + rng.randrange(3), text, row[0]
                if text.resolved and rng.random() < NOISY_COPY_SHARE:
                    copy = self.noisy_copy(text, album)
                    # The old ingest paired them only when both had one recording.
                    duplicate_of = row[0] if copy.recording == text.recording else None
                if (copy_when, copy.key) not in taken:
                    taken.add((copy_when, copy.key))
                    on_listenbrainz.append((copy_when, copy, album, duplicate_of, True))
        self.seeded.lastfm += self.next_id - 1 - self.seeded.listens
        self.seeded.listens = self.next_id - 1
        on_listenbrainz.sort(key=lambda item: item[0])
        for when, text, album, duplicate_of, is_copy in on_listenbrainz:
            self.seeded.copies += is_copy
            self.seeded.copies_marked += duplicate_of is not None
            yield self.row(user, listenbrainz, when, text, album, duplicate_of)
        self.seeded.listenbrainz += self.next_id - 1 - self.seeded.listens
        self.seeded.listens = self.next_id - 1

    def noisy_copy(self, text: Text, album: Album) -> Text:
        """ListenBrainz's other text for the play (a remaster or live suffix), with its
        own old alias to the album's recording."""
        right = album[1] or text.recording
        title = f"{text.title} - {'Live' if right == text.live else '2011 Remaster'}"
        variant = self.noisy.get((text.key, title))
        if variant is None:
            artist = self.world.artists[text.artist]
            variant = Text(
                artist=text.artist, title=title, recording=right, resolved=True,
                albums=text.albums, key=old_text_key(artist, title),
            )  # fmt: skip
            self.noisy[(text.key, title)] = variant
        return variant


def seed(n_listens: int, rng: random.Random) -> tuple[World, Seeded, float]:
    """Fill the previous schema: catalog, old answers, users, accounts and listens."""
    from django.db import connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    started = time.perf_counter()
    v = Values(connection.vendor)
    apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    User = apps.get_model("auth", "User")
    Account = apps.get_model("accounts", "ExternalAccount")
    curator = User.objects.create(username="curator", is_staff=True)
    world = build_world(max(200, n_listens // LISTENS_PER_TEXT), rng, v, curator.pk)
    seeded = Seeded()
    seeded.expected.append(0)  # listen ids start at 1
    seeded.evidence.append(0)
    listens = Listens(world, rng, v, seeded)
    with transaction.atomic():
        for table, columns in TABLES.items():
            if table != "metadata_recordingalias":
                insert(table, columns, world.rows.pop(table))
        for u, (share, copies) in enumerate(zip(USER_SHARES, COPY_SHARES, strict=True)):
            name = f"listener{u}"
            user = User.objects.create(username=name)
            lastfm = Account.objects.create(user=user, source="lastfm", external_username=name)
            listenbrainz = Account.objects.create(
                user=user, source="listenbrainz", external_username=name
            )
            plays = round(n_listens * share / (1 + copies * (1 - LISTENBRAINZ_ONLY_SHARE)))
            insert(
                "listens_listenevent",
                ("id", *LISTEN_COLUMNS),
                listens.user(user, lastfm, listenbrainz, plays, copies),
            )
        # The ListenBrainz copies' texts were resolved on their own, to their album's recording.
        aliases = world.rows.pop("metadata_recordingalias")
        now = v.time(END)
        for variant in listens.noisy.values():
            aliases.append(
                (len(aliases) + 1, variant.key, world.artists[variant.artist], variant.title,
                 "resolver", None, variant.recording, now, now)
            )  # fmt: skip
        insert("metadata_recordingalias", TABLES["metadata_recordingalias"], aliases)
        world.texts += listens.noisy.values()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return world, seeded, time.perf_counter() - started


# --- The timed migration -----------------------------------------------------------------


@dataclass
class Snapshot:
    recording_of: array  # listen id → recording id
    unresolved: set[int]  # recording ids without an MBID
    duplicates: int
    aliases: int


def snapshot() -> Snapshot:
    from django.db import connection

    recording_of = array("q")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, recording_id FROM listens_listenevent ORDER BY id")
        for pk, recording_id in cursor.fetchall():
            while len(recording_of) < pk:
                recording_of.append(0)
            recording_of.append(recording_id)
        cursor.execute("SELECT id FROM metadata_recording WHERE mbid IS NULL")
        unresolved = {pk for (pk,) in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM listens_listenevent WHERE duplicate_of_id IS NOT NULL")
        (duplicates,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM metadata_recordingalias")
        (aliases,) = cursor.fetchone()
    return Snapshot(recording_of, unresolved, duplicates, aliases)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def migrate_forward(profile: str | None) -> tuple[float, float, str]:
    """Run every unapplied migration; return (wall seconds, this process's CPU seconds,
    what they printed)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    printed = io.StringIO()
    profiler = cProfile.Profile() if profile else None
    started, cpu_started = time.perf_counter(), cpu_seconds()
    with contextlib.redirect_stdout(printed):
        if profiler:
            profiler.enable()
        executor.migrate(targets)
        if profiler:
            profiler.disable()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    if profiler:
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative")
        stats.print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
    return seconds, cpu, printed.getvalue()


def parse_stats(printed: str) -> dict[str, str]:
    """The migration's ``album-aware identity: name value, ...`` line as a dict."""
    for line in printed.splitlines():
        _, found, figures = line.partition("album-aware identity: ")
        if found:
            return dict(item.rsplit(" ", 1) for item in figures.split(", "))
    return {}


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def report(seeded: Seeded, before: Snapshot, after: Snapshot, stats: dict[str, str]) -> None:
    repointed = split = 0
    expected, on_expected = [0] * len(EVIDENCE), [0] * len(EVIDENCE)
    for pk, old in enumerate(before.recording_of):
        new = after.recording_of[pk]
        if old != new:
            if old in before.unresolved:
                split += 1
            else:
                repointed += 1
        if seeded.expected[pk]:
            kind = seeded.evidence[pk]
            expected[kind] += 1
            on_expected[kind] += new == seeded.expected[pk]
    print("migration's own figures:")
    for name, value in stats.items():
        print(f"  {name:45} {value:>10}")
    print("recomputed from the tables:")
    figures = (
        ("unresolved rows before", len(before.unresolved)),
        ("unresolved rows after (split off: the difference)", len(after.unresolved)),
        ("resolved listens re-pointed", repointed),
        ("unresolved listens moved to a split-off row", split),
        ("duplicates marked by the migration", after.duplicates - before.duplicates),
        ("aliases before", before.aliases),
        ("aliases after", after.aliases),
    )
    for name, value in figures:
        print(f"  {name:50} {value:>10}")
    print(
        f"listens whose own evidence names another recording than their text's old answer: "
        f"{sum(expected)}, on it after the migration: {sum(on_expected)}"
    )
    for kind, name in enumerate(EVIDENCE):
        if expected[kind]:
            print(f"  by {name:48} {on_expected[kind]:>7} of {expected[kind]:>7}")


def previous_state(graph) -> list[tuple[str, str]]:
    """BEFORE, and every other app's migrations that do not depend on what came after
    it: what a database of the previous release has applied. Only the new migrations
    (and any that depend on them) are left for the timed run."""
    new: set[tuple[str, str]] = set()
    for app, name in BEFORE:
        for child in graph.node_map[(app, name)].children:
            if child[0] == app:
                new.update(graph.backwards_plan(child))
    kept = {node for node in graph.nodes if node not in new}
    return sorted(
        node
        for node in kept
        if not any(child in kept and child[0] == node[0] for child in graph.node_map[node].children)
    )


def run(n_listens: int, seed_value: int, profile: str | None) -> None:
    with throwaway_database("bench_migration") as (database_url, where):
        configure(database_url)
        import django

        django.setup()
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        executor.migrate(previous_state(executor.loader.graph))
        executor.loader.build_graph()
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        print(f"database: {where}")
        world, seeded, seconds = seed(n_listens, random.Random(seed_value))
        resolved = sum(1 for text in world.texts if text.resolved)
        print(
            f"seeded in {seconds:.1f} s (raw inserts, then ANALYZE): {seeded.listens} listens "
            f"({seeded.lastfm} Last.fm, {seeded.listenbrainz} ListenBrainz, "
            f"{seeded.unresolved / seeded.listens:.0%} on unresolved rows) by "
            f"{len(USER_SHARES)} users; {len(world.texts)} (artist, title) texts "
            f"({resolved} resolved), {len(world.artists)} artists; "
            f"{seeded.hinted} listens with a source MBID ({seeded.other_hint} naming the other "
            f"recording of their text); {seeded.copies} ListenBrainz copies of Last.fm plays "
            f"({seeded.copies_marked} already marked duplicates)"
        )
        before = snapshot()
        rss_before = max_rss_mb()
        print(
            "migrating to the latest state: "
            + ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending)
        )
        sys.stdout.flush()
        seconds, cpu, printed = migrate_forward(profile)
        rss_after = max_rss_mb()
        after = snapshot()
        # Other work on the machine stretches wall time; the bench's CPU time less so.
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"migration: {seconds:.1f} s wall, {cpu:.1f} s CPU in this process (load average "
            f"{load}); peak RSS {rss_after:.0f} MB ({rss_before:.0f} MB before the migration)"
        )
        report(seeded, before, after, parse_stats(printed))
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.migration", description=__doc__)
    parser.add_argument("--listens", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the migration, print it, dump it to FILE"
    )
    args = parser.parse_args(argv)
    run(args.listens, args.seed, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
