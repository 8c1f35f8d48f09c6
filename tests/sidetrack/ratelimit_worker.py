"""Run by test_ratelimit in separate processes: acquire the shared MusicBrainz
limiter N times from a common start instant and print each grant time."""

from __future__ import annotations

import os
import sys
import time

import django


def main() -> None:
    count, start_at = int(sys.argv[1]), float(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sidetrack.settings")
    django.setup()
    from sidetrack.config import musicbrainz_rate_limiter

    limiter = musicbrainz_rate_limiter()
    time.sleep(max(0.0, start_at - time.time()))
    for _ in range(count):
        limiter.acquire()
        print(f"{time.time():.6f}", flush=True)


if __name__ == "__main__":
    main()
