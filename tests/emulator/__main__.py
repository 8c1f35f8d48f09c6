"""Run the emulator standalone: ``python -m tests.emulator --port 8765 --synthetic-users 3``.

Prints one ``NAME=value`` line per base URL (and the user names), then serves
until interrupted or terminated.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from tests.emulator.data import World
from tests.emulator.server import Emulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--synthetic-users", type=int, default=2)
    parser.add_argument("--listens", type=int, default=1000, help="scrobbles per user")
    parser.add_argument("--artists", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lastfm-api-key", action="append", help="accept only these keys")
    args = parser.parse_args(argv)

    world = World.synthetic(
        args.seed,
        n_artists=args.artists,
        n_users=args.synthetic_users,
        listens_per_user=args.listens,
    )
    keys = frozenset(args.lastfm_api_key) if args.lastfm_api_key else None
    emulator = Emulator(world, host=args.host, port=args.port, lastfm_api_keys=keys)
    emulator.start()
    for name, url in emulator.env.items():
        print(f"{name}={url}")
    print("USERS=" + ",".join(user.name for user in world.users.values()))
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
