"""Album club bench: a nomination's standings on a large listening history.

    .venv/bin/python -m bench.clubs [--listens 1000000] [--members 50] [--repeat 30] [--seed 1]
                                    [--nomination-days 30]

Seeds ``--listens`` listens shared by ``--members`` users into a throwaway database
(a fresh SQLite file, or, when DATABASE_URL names a PostgreSQL server, a
``bench_clubs_<pid>`` database created there and dropped afterwards). The world:

- a background catalog of 3000 recordings (70% with an MBID) played long-tailed
  over 5 years, as in ``bench/api.py``; each member has a Last.fm account and a
  ListenBrainz account holding copies of ~3% of their listens (``duplicate_of`` set);
- the nominated album: a release group whose standard edition has 12 tracks and
  whose deluxe edition adds 3 bonus tracks, a live album re-recording the 12
  songs, and a compilation carrying 2 of them;
- a club of all members and a nomination that started 30 days ago
  (``--nomination-days``). During it each member plays 0–3 whole-album
  sessions (shuffled, some tracks skipped), some single tracks, the live album
  now and then, and listens whose text is still unresolved (album reported as
  "Night Drive (Deluxe Edition)"); the album was played before the nomination
  too, which must not count.

Requests go through Django's test ``Client`` as a member (DEBUG off, throttle
raised), 3 warm-ups then ``--repeat`` timed runs, p50/p95 in ms:

- ``/api/clubs/{id}/nominations/{id}/`` (the standings; target p50 < 100 ms on
  PostgreSQL, < 250 ms on SQLite), with its query count;
- ``/api/clubs/{id}/nominations/{id}/members/{username}/`` (one member's detail);
- ``/api/clubs/album-progress/{mbid}/`` (one member, all time);
- ``/api/clubs/{id}/compare/?user=…&since=<1 year ago>``.

Exit code 0 whatever the figures: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from bench._django import insert_listens, throwaway_database
from bench.api import WARMUPS, configure, p95, timed

NOMINATION_P50_MS = {"postgresql": 100, "sqlite": 250}
RECORDINGS = 3000
CREDITS = 400
DUPLICATE_SHARE = 0.03
YEARS = 5
NOMINATION_DAYS = 30
TRACK_MS = 240_000
ALBUM_TRACKS = 12
BONUS_TRACKS = 3


def _key(artist: str, title: str) -> str:
    return hashlib.sha256(f"{artist}\x1f{title}".lower().encode()).hexdigest()


def seed_catalog(rng: random.Random) -> tuple[list[tuple], dict]:
    """Background recordings and the album world; returns (background rows, album)."""
    from metadata.matching import album_key, identity_key_digest, text_key_digest
    from metadata.models import (
        Artist,
        ArtistCredit,
        ArtistCreditName,
        Recording,
        Release,
        ReleaseGroup,
        Track,
    )

    credits = ArtistCredit.objects.bulk_create(
        ArtistCredit(key=hashlib.sha256(f"credit{i}".encode()).hexdigest(), name=f"Artist {i}")
        for i in range(CREDITS)
    )
    background = []
    for i in range(RECORDINGS):
        credit = credits[rng.randrange(CREDITS)]
        if rng.random() < 0.7:
            background.append(
                Recording(
                    mbid=uuid.UUID(int=rng.getrandbits(128), version=4),
                    status=Recording.Status.RESOLVED,
                    title=f"Track {i}",
                    artist_name=credit.name,
                    artist_credit=credit,
                )
            )
        else:
            background.append(
                Recording(
                    status=Recording.Status.UNRESOLVED,
                    title=f"Track {i}",
                    artist_name=credit.name,
                    unresolved_key=hashlib.sha256(f"rec{i}".encode()).hexdigest(),
                )
            )
    Recording.objects.bulk_create(background, batch_size=500)
    rows = list(Recording.objects.values_list("id", "title", "artist_name"))

    artist = Artist.objects.create(mbid=uuid.uuid4(), name="The Weeknights")
    credit = ArtistCredit.objects.create(key="weeknights", name="The Weeknights")
    ArtistCreditName.objects.create(credit=credit, position=0, artist=artist, name=artist.name)

    def recordings(titles: Sequence[str], length: int) -> list[Recording]:
        return Recording.objects.bulk_create(
            Recording(
                mbid=uuid.uuid4(),
                status=Recording.Status.RESOLVED,
                title=title,
                artist_name=credit.name,
                artist_credit=credit,
                length_ms=length,
            )
            for title in titles
        )

    def group(title: str, tracklists: Sequence[Sequence[Recording]]) -> ReleaseGroup:
        made = ReleaseGroup.objects.create(mbid=uuid.uuid4(), title=title, artist_credit=credit)
        for n, tracks in enumerate(tracklists):
            release = Release.objects.create(
                mbid=uuid.uuid4(),
                release_group=made,
                title=title + (" (Deluxe)" if n else ""),
                status="Official",
                date=f"{2020 + n}-01-01",
                tracklist_fetched_at=datetime.now(UTC),
            )
            Track.objects.bulk_create(
                Track(
                    release=release,
                    recording=r,
                    medium_position=1,
                    position=p,
                    title=r.title,
                    length_ms=r.length_ms,
                )
                for p, r in enumerate(tracks, start=1)
            )
            if n == 0:
                made.preferred_release = release
                made.save()
        return made

    songs = recordings([f"Song {n}" for n in range(1, ALBUM_TRACKS + 1)], TRACK_MS)
    bonus = recordings([f"Bonus {n}" for n in range(1, BONUS_TRACKS + 1)], TRACK_MS)
    live = recordings([f"Song {n}" for n in range(1, ALBUM_TRACKS + 1)], TRACK_MS + 40_000)
    studio = group("Night Drive", [songs, songs + bonus])
    group("Live at the Roxy", [live])
    group("Greatest Hits", [songs[:2]])
    # Waiting for curation, as ingest stores a first report of (artist, title, album).
    waiting_album = "Night Drive (Deluxe Edition)"
    unresolved = Recording.objects.bulk_create(
        Recording(
            status=Recording.Status.UNRESOLVED,
            title=f"Song {n} (Deluxe)",
            artist_name=credit.name,
            album_name=waiting_album,
            album_key=album_key(waiting_album),
            unresolved_key=identity_key_digest(credit.name, f"Song {n} (Deluxe)", waiting_album),
            text_key=text_key_digest(credit.name, f"Song {n} (Deluxe)"),
        )
        for n in range(1, 4)
    )
    album = {"group": studio, "songs": songs, "bonus": bonus, "live": live, "waiting": unresolved}
    return rows, album


def member_listens(
    rng: random.Random, n: int, nomination_start: datetime, now: datetime, rows: list, album: dict
) -> list[tuple]:
    """One member's (listened_at, recording_id, track, artist, album) plays, ``n`` in all."""
    plays: list[tuple] = []

    def add(at: datetime, recording, album_name: str = "Night Drive") -> None:
        plays.append((at, recording.pk, recording.title, "The Weeknights", album_name))

    span = int((now - nomination_start).total_seconds()) - 86400
    for _ in range(rng.randrange(4)):  # whole-album sessions, shuffled, a track or two skipped
        start = nomination_start + timedelta(seconds=rng.randrange(span))
        order = rng.sample(album["songs"], ALBUM_TRACKS - rng.randrange(3))
        for k, song in enumerate(order):
            add(start + timedelta(seconds=k * 245 + rng.randrange(20)), song)
    for _ in range(rng.randrange(30)):  # single plays: album, bonus, live, before the start
        at = nomination_start + timedelta(seconds=rng.randrange(span))
        kind = rng.random()
        if kind < 0.6:
            add(at, rng.choice(album["songs"]))
        elif kind < 0.75:
            add(at, rng.choice(album["bonus"]), "Night Drive (Deluxe)")
        elif kind < 0.85:
            add(at, rng.choice(album["live"]), "Live at the Roxy")
        elif kind < 0.95:
            add(at, rng.choice(album["waiting"]), album["waiting"][0].album_name)
        else:
            add(at - timedelta(days=60), rng.choice(album["songs"]))
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(rows))]
    epoch = int(now.timestamp())
    taken = {int(p[0].timestamp()) for p in plays}
    seconds = [
        s for s in rng.sample(range(epoch - YEARS * 365 * 86400, epoch), n) if s not in taken
    ][: max(0, n - len(plays))]
    for second, (rid, title, artist) in zip(
        seconds, rng.choices(rows, weights=weights, k=len(seconds)), strict=True
    ):
        plays.append((datetime.fromtimestamp(second, UTC), rid, title, artist, "Album"))
    plays.sort()
    return plays


def seed(
    n_listens: int, n_members: int, rng: random.Random, nomination_days: int = NOMINATION_DAYS
) -> tuple[dict, float]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from accounts.models import ExternalAccount, ListenSource
    from clubs.models import Club, Membership, Nomination

    started = time.perf_counter()
    rows, album = seed_catalog(rng)
    now = timezone.now()
    nomination_start = now - timedelta(days=nomination_days)
    users = [get_user_model().objects.create_user(f"member{i:02}") for i in range(n_members)]
    club = Club.objects.create(name="Bench club", owner=users[0])
    Membership.objects.bulk_create(Membership(club=club, user=u) for u in users)
    nomination = Nomination.objects.create(
        club=club, release_group=album["group"], nominated_by=users[0], starts_at=nomination_start
    )
    listens: list[tuple] = []
    per_member = n_listens // n_members
    for user in users:
        lastfm = ExternalAccount.objects.create(
            user=user, source=ListenSource.LASTFM, external_username=user.username
        )
        lbz = ExternalAccount.objects.create(
            user=user, source=ListenSource.LISTENBRAINZ, external_username=user.username
        )
        n_dupes = int(per_member * DUPLICATE_SHARE)
        plays = member_listens(rng, per_member - n_dupes, nomination_start, now, rows, album)
        first_id = len(listens) + 1
        for at, rid, title, artist, album_name in plays:
            listens.append(
                (
                    len(listens) + 1,
                    user.pk,
                    lastfm.pk,
                    "lastfm",
                    at,
                    rid,
                    title,
                    artist,
                    album_name,
                    _key(artist, title),
                    None,
                )
            )
        for src in sorted(rng.sample(range(len(plays)), n_dupes)):
            original = listens[first_id - 1 + src]
            copy = (len(listens) + 1, user.pk, lbz.pk, "listenbrainz", *original[4:10])
            listens.append((*copy, original[0]))
    insert_listens(listens)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    world = {"club": club, "nomination": nomination, "users": users, "album": album}
    world["listens"] = len(listens)
    return world, time.perf_counter() - started


def measure(world: dict, repeat: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(world["users"][0])
    club, nomination = world["club"], world["nomination"]
    standings = f"/api/clubs/{club.pk}/nominations/{nomination.pk}/"
    since = (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    other = world["users"][1].username
    with CaptureQueriesContext(connection) as captured:
        body = client.get(standings).json()
    top = body["standings"][0]
    print(
        f"standings: {len(body['standings'])} members, {len(captured)} queries per request "
        f"(session, throttle and club included); leader {top['username']} with "
        f"{top['full_listens']['count']} full listens, {top['share_heard']:.0%} heard; "
        f"club {body['totals']['listens']} listens, "
        f"{body['totals']['unresolved_listens']} waiting for curation"
    )
    target = NOMINATION_P50_MS.get(connection.vendor)
    cases = [
        ("nomination standings", standings, target),
        ("one member's progress", f"{standings}members/{other}/", None),
        (
            "album progress, all time",
            f"/api/clubs/album-progress/{body['release_group']['mbid']}/",
            None,
        ),
        (
            "compare two members, 1 year",
            f"/api/clubs/{club.pk}/compare/?user={other}&since={since}",
            None,
        ),
    ]
    print(f"{'endpoint':32} {'p50 ms':>8} {'p95 ms':>8}  target")
    for name, url, case_target in cases:
        times = timed(client, url, repeat)
        p50 = statistics.median(times)
        verdict = ""
        if case_target is not None:
            verdict = f"{'PASS' if p50 < case_target else 'FAIL'}: p50 < {case_target} ms"
        print(f"{name:32} {p50:8.1f} {p95(times):8.1f}  {verdict}")


@contextmanager
def club_world(
    name: str,
    n_listens: int,
    n_members: int,
    seed_value: int,
    days: int = NOMINATION_DAYS,
    env: dict[str, str] | None = None,
) -> Iterator[dict]:
    """Django on a migrated throwaway database (``name``) holding this bench's world,
    for benches that time requests on it (clubs, web, Discord); prints where and how
    long seeding took. ``env``: settings to set before Django starts."""
    with throwaway_database(name) as (database_url, where):
        configure(database_url)
        os.environ.update(env or {})
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        call_command("createcachetable", verbosity=0)
        print(f"database: {where}")
        world, seconds = seed(n_listens, n_members, random.Random(seed_value), days)
        print(
            f"seeded {world['listens']} listens for {n_members} members (~{DUPLICATE_SHARE:.0%} "
            f"cross-source duplicates), {RECORDINGS} background recordings, in {seconds:.1f} s; "
            f"ANALYZE done; the nomination started {days} days ago"
        )
        try:
            yield world
        finally:
            connection.close()


def run(n_listens: int, n_members: int, repeat: int, seed_value: int, days: int) -> None:
    with club_world("bench_clubs", n_listens, n_members, seed_value, days) as world:
        print(f"{repeat} repetitions after {WARMUPS} warm-ups")
        measure(world, repeat)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.clubs", description=__doc__)
    parser.add_argument("--listens", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--nomination-days", type=int, default=NOMINATION_DAYS, help="how long ago it started"
    )
    args = parser.parse_args(argv)
    run(args.listens, args.members, args.repeat, args.seed, args.nomination_days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
