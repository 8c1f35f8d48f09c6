"""Members' web bench: p50/p95 of every page on a large listening history.

    .venv/bin/python -m bench.web [--listens 1000000] [--members 50] [--repeat 30] [--seed 1]

Seeds the world of ``bench/clubs.py`` (``--listens`` listens shared by ``--members``
users, each with a Last.fm and a ListenBrainz account, ~3% cross-source copies, a
club of all members with a nominated album that started 30 days ago) into a
throwaway database: a fresh SQLite file, or a ``bench_web_<pid>`` database on the
PostgreSQL server DATABASE_URL names, dropped afterwards.

Every page a member sees is fetched through Django's test ``Client`` signed in as the
club's owner (3 warm-ups, then ``--repeat`` timed runs), with its query count. No
Last.fm or ListenBrainz key is configured, so "now playing" makes no upstream call:
the figures are Sidetrack's own work. Target: p95 < 150 ms for every page.

Exit code 0 whatever the figures: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence

from bench.api import WARMUPS, p95, timed
from bench.clubs import club_world

P95_TARGET_MS = 150


def pages(world: dict) -> list[tuple[str, str]]:
    club = world["club"]
    other = world["users"][1].username
    mbid = world["album"]["group"].mbid
    return [
        ("your listening (30 days, month)", "/"),
        ("your listening (year, weekly, all)", "/?range=365&step=week&period=all"),
        ("listens, newest page", "/listens/"),
        ("album page", f"/albums/{mbid}/"),
        ("sources", "/sources/"),
        ("clubs", "/clubs/"),
        ("club page (50 members)", f"/clubs/{club.pk}/"),
        ("compare two members", f"/clubs/{club.pk}/compare/?b={other}"),
        ("members and invitations", f"/clubs/{club.pk}/members/"),
        ("password change", "/password/"),
        ("sign in (anonymous)", "/signin/"),
    ]


def measure(world: dict, repeat: int) -> None:
    from django.test import Client

    member = Client()
    member.force_login(world["users"][0])
    anonymous = Client()
    print(f"{'page':38} {'p50 ms':>8} {'p95 ms':>8}  target p95 < {P95_TARGET_MS}")
    for name, url in pages(world):
        client = anonymous if url == "/signin/" else member
        times = timed(client, url, repeat)
        worst = p95(times)
        verdict = "PASS" if worst < P95_TARGET_MS else "FAIL"
        print(f"{name:38} {statistics.median(times):8.1f} {worst:8.1f}  {verdict}")


def run(n_listens: int, n_members: int, repeat: int, seed_value: int) -> None:
    with club_world("bench_web", n_listens, n_members, seed_value) as world:
        print(f"{repeat} repetitions after {WARMUPS} warm-ups")
        measure(world, repeat)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__)
    parser.add_argument("--listens", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    run(args.listens, args.members, args.repeat, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
