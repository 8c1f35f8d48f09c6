"""Discord bench: time to the initial response of every slash command on a large history.

    .venv/bin/python -m bench.discord [--listens 1000000] [--members 50] [--repeat 20]

Seeds the world of ``bench/clubs.py`` (``--listens`` listens shared by ``--members``
members, a nominated album, duplicates, unresolved listens) into a throwaway
database (SQLite file, or PostgreSQL when DATABASE_URL names a server), links
every member to a Discord user and binds a server to the club. Each command is
then signed with a test key pair and POSTed to ``/discord/interactions/`` through
Django's test ``Client``, 2 warm-ups then ``--repeat`` timed runs (each with a
fresh interaction id: replays are refused), p50/p95 in ms. Deferred commands
(np, nominate, connect) are timed to their "thinking…" answer; their task is
recorded, not run. Target: p95 < 500 ms for every command (Discord waits 3 s).

Exit code 0 whatever the figures: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence

from bench.api import p95
from bench.clubs import club_world

TARGET_P95_MS = 500
WARMUPS = 2
GUILD = "900000000000000001"


def measure(world: dict, repeat: int, emulator: object) -> None:
    import django_q.tasks
    from django.test import Client

    from faces.discord.models import DiscordLink, GuildClub
    from metadata.models import Track

    queued: list = []
    django_q.tasks.async_task = lambda *a, **k: queued.append(a)  # no worker in a bench
    users = world["users"]
    DiscordLink.objects.bulk_create(
        DiscordLink(discord_id=str(10_000 + i), user=u) for i, u in enumerate(users)
    )
    GuildClub.objects.create(guild_id=GUILD, club=world["club"], bound_by=users[0])
    group = world["album"]["group"]
    track = Track.objects.filter(release__release_group=group).order_by("position").first()
    asker, other = "10000", "10001"
    cases = [
        ("help", "help", None, {}),
        ("np", "np", None, {}),
        ("np member", "np", None, {"member": other}),
        ("standings", "standings", None, {}),
        ("progress", "progress", None, {}),
        ("progress member", "progress", None, {"member": other}),
        ("nominate", "nominate", None, {"artist": "The Weeknights", "album": "Night Drive"}),
        ("whoknows artist", "whoknows", "artist", {"name": "The Weeknights"}),
        ("whoknows album", "whoknows", "album", {}),
        ("whoknows album named", "whoknows", "album", {"name": group.title}),
        ("whoknows track", "whoknows", "track", {"name": track.title}),
        ("compare", "compare", None, {"member": other}),
        ("connect", "connect", "lastfm", {"name": "member00"}),
        ("link (bad code)", "link", None, {"code": "not-a-code"}),
        ("club join (again)", "club", "join", {}),
    ]
    client = Client()
    print(f"{'command':24} {'p50 ms':>8} {'p95 ms':>8}  answer  target")
    for label, name, sub, options in cases:
        times = []
        kind = None
        for attempt in range(WARMUPS + repeat):
            payload = emulator.command(name, user=asker, guild=GUILD, options=options, sub=sub)
            body = json.dumps(payload).encode()
            ts = str(int(time.time()))
            began = time.perf_counter()
            answer = client.post(
                "/discord/interactions/",
                body,
                content_type="application/json",
                HTTP_X_SIGNATURE_ED25519=emulator.sign(body, ts),
                HTTP_X_SIGNATURE_TIMESTAMP=ts,
            )
            elapsed = (time.perf_counter() - began) * 1000
            assert answer.status_code == 200, (label, answer.status_code, answer.content[:300])
            kind = answer.json()["type"]
            if attempt >= WARMUPS:
                times.append(elapsed)
        shown = {4: "message", 5: "deferred"}.get(kind, str(kind))
        worst = p95(times)
        verdict = "PASS" if worst < TARGET_P95_MS else "FAIL"
        print(
            f"{label:24} {statistics.median(times):8.1f} {worst:8.1f}  {shown:8} "
            f"{verdict}: p95 < {TARGET_P95_MS} ms"
        )


def run(n_listens: int, n_members: int, repeat: int, seed_value: int) -> None:
    from tests.emulator.discord import DiscordEmulator

    emulator = DiscordEmulator()
    discord = {
        "DISCORD_APPLICATION_ID": emulator.application_id,
        "DISCORD_PUBLIC_KEY": emulator.public_key_hex,
        "DISCORD_BOT_TOKEN": emulator.bot_token,
    }
    with club_world("bench_discord", n_listens, n_members, seed_value, env=discord) as world:
        print(f"{repeat} repetitions after {WARMUPS} warm-ups, signed, through the view")
        measure(world, repeat, emulator)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.discord", description=__doc__)
    parser.add_argument("--listens", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    run(args.listens, args.members, args.repeat, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
