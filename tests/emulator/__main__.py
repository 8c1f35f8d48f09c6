"""Run the emulator standalone: ``python -m tests.emulator --port 8765 --synthetic-users 3``.

Prints one ``NAME=value`` line per base URL (and the user names), then serves
until interrupted or terminated. ``--user-name NAME`` (repeatable) names the
synthetic users instead of ``user1``, ``user2``...; ``--digest`` adds a last line
``DIGEST=<scrobbles> <sha256>`` (see :func:`scrobble_digest`), so a caller that
builds the same ``World.synthetic`` in its own process can check both are equal.

``GET /_emulator/counters`` answers the request counters per service as JSON
plus ``seconds`` spent answering them
(``{"lastfm": {"requests": 12, "status_200": 12, "seconds": 0.3}, ...}``); it is
not counted itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import signal
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from tests.emulator.data import World
from tests.emulator.server import Emulator, _Handler, _write
from tests.emulator.wire import Reply

COUNTERS_PATH = "/_emulator/counters"


def scrobble_digest(world: World) -> tuple[int, str]:
    """(number of scrobbles, SHA-256 of every field of every user's scrobbles, in order)."""
    digest = hashlib.sha256()
    count = 0
    for name in sorted(world.users):
        for scrobble in world.scrobbles(name):
            digest.update(repr(dataclasses.astuple(scrobble)).encode())
            digest.update(b"\n")
            count += 1
    return count, digest.hexdigest()


class StandaloneEmulator(Emulator):
    """The emulator plus ``GET /_emulator/counters``, for callers in another process."""

    def _serve(self, handler: _Handler, method: str) -> None:
        if method == "GET" and urlsplit(handler.path).path == COUNTERS_PATH:
            counters: dict[str, dict[str, float]] = {
                service: dict(counter) for service, counter in self.counters.items()
            }
            for logged in self.requests:  # time spent answering, without the network
                entry = counters.setdefault(logged.service, {})
                entry["seconds"] = entry.get("seconds", 0.0) + logged.duration
            _write(handler, Reply(200, counters))
            return
        super()._serve(handler, method)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--synthetic-users", type=int, default=2)
    parser.add_argument(
        "--user-name", action="append", help="name the synthetic users (overrides the count)"
    )
    parser.add_argument("--listens", type=int, default=1000, help="scrobbles per user")
    parser.add_argument("--artists", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lastfm-api-key", action="append", help="accept only these keys")
    parser.add_argument(
        "--digest", action="store_true", help="print DIGEST=<scrobbles> <sha256> last"
    )
    args = parser.parse_args(argv)

    world = World.synthetic(
        args.seed,
        n_artists=args.artists,
        n_users=args.synthetic_users,
        user_names=args.user_name,
        listens_per_user=args.listens,
    )
    keys = frozenset(args.lastfm_api_key) if args.lastfm_api_key else None
    emulator = StandaloneEmulator(world, host=args.host, port=args.port, lastfm_api_keys=keys)
    emulator.start()
    for name, url in emulator.env.items():
        print(f"{name}={url}")
    print("USERS=" + ",".join(user.name for user in world.users.values()))
    if args.digest:
        count, sha = scrobble_digest(world)
        print(f"DIGEST={count} {sha}")
    sys.stdout.flush()

    def _stop(signum: int, frame: object) -> None:
        emulator.stop()

    signal.signal(signal.SIGTERM, _stop)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
