"""Now-playing bench: how long /api/now-playing/ keeps a user with 13 accounts waiting
when the listen sources are down.

    .venv/bin/python -m bench.now_playing [--accounts 13] [--repeat 10]

One user with ``--accounts`` accounts (about half Last.fm, half ListenBrainz) in a
throwaway database (bench/_django.py), the production retry policy (4 retries,
backoff factor 1, 5 s connect and 30 s read timeouts) and the configured
``UPSTREAM_DEADLINE_SECONDS`` (default 5; set it in the environment to try
another). Two upstreams, both services pointing at them:

- **refusing**: 127.0.0.1:9, where nothing listens: every connection is refused at once;
- **hanging**: a local server that accepts connections and never answers.

Each request goes through Django's test ``Client`` (every middleware, DEBUG off)
with the now-playing cache emptied first ("cold": every account is asked), then
once more without emptying it ("cached": failures are remembered briefly). The
target is p95 of cold requests under the deadline + 1 s. Before issue 11 the
refusing case took 182 s per request (accounts in turn, each with its retries).

Exit code 0 whatever the figures: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence

from bench._django import throwaway_django
from tests.slow_upstream import REFUSING_URL, hanging_server

ENV = {
    # Production's retry policy: the deadline, not the bench, must keep requests short.
    "HTTP_MAX_RETRIES": "4",
    "HTTP_BACKOFF_FACTOR": "1",
    "HTTP_CONNECT_TIMEOUT": "5",
    "HTTP_READ_TIMEOUT": "30",
    "LASTFM_API_KEY": "bench-lastfm-key-0123456789",
    "LASTFM_API_SECRET": "bench-lastfm-secret-0123456789",
    "ALLOWED_HOSTS": "testserver",
    "API_THROTTLE_USER": "100000000/min",
}


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def seed(n_accounts: int) -> tuple[object, list[int]]:
    from django.contrib.auth import get_user_model

    from accounts.models import ExternalAccount, ListenSource

    user = get_user_model().objects.create_user("bench_listener", password="x")
    sources = [ListenSource.LASTFM, ListenSource.LISTENBRAINZ]
    accounts = [
        ExternalAccount.objects.create(
            user=user, source=sources[i % 2], external_username=f"bench-{i}"
        )
        for i in range(n_accounts)
    ]
    return user, [account.pk for account in accounts]


def measure(name: str, base_url: str, user: object, pks: list[int], repeat: int) -> None:
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client

    settings.LASTFM_BASE_URL = base_url + "2.0/"
    settings.LISTENBRAINZ_BASE_URL = base_url + "1/"
    client = Client()
    client.force_login(user)
    keys = [f"now-playing:{pk}" for pk in pks]
    cold, cached, codes = [], [], Counter()
    for _ in range(repeat):
        cache.delete_many(keys)
        started = time.perf_counter()
        response = client.get("/api/now-playing/")
        cold.append(time.perf_counter() - started)
        codes.update((entry["error"] or {}).get("code", "ok") for entry in response.json())
        started = time.perf_counter()
        client.get("/api/now-playing/")
        cached.append(time.perf_counter() - started)
    limit = settings.UPSTREAM_DEADLINE_SECONDS + 1
    verdict = "PASS" if p95(cold) < limit else "FAIL"
    print(
        f"{name:9} cold   p50 {statistics.median(cold):6.2f} s  p95 {p95(cold):6.2f} s  "
        f"max {max(cold):6.2f} s  {verdict}: p95 < deadline + 1 s = {limit:.1f} s"
    )
    print(
        f"{name:9} cached p50 {statistics.median(cached):6.2f} s  p95 {p95(cached):6.2f} s"
        f"  entries: {dict(codes)}"
    )


def run(n_accounts: int, repeat: int) -> None:
    with throwaway_django(ENV, name="bench_now_playing") as where:
        from django.conf import settings

        print(f"database: {where}")
        print(
            f"{n_accounts} accounts, {repeat} requests per upstream; deadline "
            f"{settings.UPSTREAM_DEADLINE_SECONDS:g} s; retries {settings.HTTP_MAX_RETRIES}, "
            f"timeouts {settings.HTTP_CONNECT_TIMEOUT:g}/{settings.HTTP_READ_TIMEOUT:g} s"
        )
        user, pks = seed(n_accounts)
        measure("refusing", REFUSING_URL, user, pks, repeat)
        with hanging_server() as upstream:
            measure("hanging", upstream.base_url, user, pks, repeat)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.now_playing", description=__doc__)
    parser.add_argument("--accounts", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    run(args.accounts, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
