"""Emptying the test run's cache between tests, without touching other runs' keys."""

from __future__ import annotations

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache


def clear_cache() -> None:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # clear() would FLUSHDB a Redis shared with other test runs: drop only the
        # keys under this run's CACHE_KEY_PREFIX.
        client = backend._cache.get_client(write=True)
        keys = list(client.scan_iter(match=backend.make_key("*")))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
