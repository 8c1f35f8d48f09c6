"""What a user's accounts are playing right now: asked of every source at once, never stored.

A web request waits at most the upstream deadline (``UPSTREAM_DEADLINE_SECONDS``,
see ``sidetrack.http.upstream_deadline``) whatever the number of accounts: the
fetches run on threads, an account whose source has not answered by then gets an
error entry, and answers and failures are cached per account (failures briefly),
so a refresh neither waits again nor asks a failing source again at once.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts.models import ExternalAccount, ListenSource
from listens.ingest.payloads import clean_text
from listens.providers import SourceClient, client_for
from metadata.identity import ReportedTrack, known_recording_for_track
from sidetrack.http.deadline import deadline_left
from sidetrack.http.errors import ExternalApiError

NOW_PLAYING_CACHE_SECONDS = 30
# Long enough that a page refreshing every few seconds does not hammer a source
# that is down, short enough that its recovery shows soon.
NOW_PLAYING_ERROR_CACHE_SECONDS = 10
# How long a player's playing_now report stands without a track length (ListenBrainz
# lets one stand for the track's length), and at most.
SUBMITTED_NOW_PLAYING_SECONDS = 600
SUBMITTED_NOW_PLAYING_MAX_SECONDS = 3600
# Fetches in flight for one request; a user has at most MAX_ACCOUNTS_PER_USER accounts.
MAX_PARALLEL_FETCHES = 16


@dataclass(frozen=True)
class NowPlaying:
    source: str
    track_name: str
    artist_name: str
    album_name: str
    recording_mbid: str | None
    fetched_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountNowPlaying:
    """One account's answer: what it plays (None: nothing), or why we cannot say."""

    account: ExternalAccount
    now_playing: NowPlaying | None = None
    error: dict[str, str] | None = None


Clients = dict[str, Any]  # source -> client, or the ImproperlyConfigured that building it raised


def now_playing(
    *,
    account: ExternalAccount,
    client: SourceClient | None = None,
) -> NowPlaying | None:
    """What one account is playing (cached briefly). Raises ``ExternalApiError``.
    ``client``: the account's source's client, else one from settings."""
    key = _cache_key(account)
    cached = cache.get(key)
    if account.source == ListenSource.SUBMITTED:  # what the player reported, if anything
        return cached or None
    if cached is not None and not isinstance(cached, dict):
        return cached or None
    with ExitStack() as own:
        if client is None:
            client = own.enter_context(client_for(account.source))
        playing = _fetch(account.source, account.external_username, client)
    result = _now_playing(account, playing)
    cache.set(key, result or False, NOW_PLAYING_CACHE_SECONDS)
    return result


def now_playing_for_user(
    *,
    username: str,
    clients: Mapping[str, SourceClient] | None = None,
) -> list[AccountNowPlaying]:
    """Every enabled account of the user, in account order, each with its track or error.
    ``clients``: source -> client to ask, else clients from settings (closed after)."""
    accounts = list(
        ExternalAccount.objects.exclude(status=ExternalAccount.Status.DISABLED)
        .filter(user__username=username)
        .select_related("user")
        .order_by("pk")
    )
    cached = cache.get_many([_cache_key(account) for account in accounts])
    answers: dict[int, AccountNowPlaying] = {}
    missing = []
    for account in accounts:
        hit = cached.get(_cache_key(account))
        if account.source == ListenSource.SUBMITTED:  # nothing to fetch: reported or not
            answers[account.pk] = AccountNowPlaying(account, now_playing=hit or None)
        elif hit is None:
            missing.append(account)
        elif isinstance(hit, dict):  # a failure cached briefly
            answers[account.pk] = AccountNowPlaying(account, error=hit)
        else:
            answers[account.pk] = AccountNowPlaying(account, now_playing=hit or None)
    if missing:
        with ExitStack() as own:
            built = _clients({a.source for a in missing}, clients or {}, own)
            for answer in _fetch_all(missing, built):
                answers[answer.account.pk] = answer
    return [answers[account.pk] for account in accounts]


def _clients(sources: Iterable[str], given: Mapping[str, SourceClient], own: ExitStack) -> Clients:
    """One client per source, shared by the threads (a session's pool is thread-safe);
    those built here are closed with ``own``."""
    clients: Clients = {}
    for source in sources:
        try:
            clients[source] = given.get(source) or own.enter_context(client_for(source))
        except ImproperlyConfigured as error:
            clients[source] = error
    return clients


def _fetch_all(accounts: list[ExternalAccount], clients: Clients) -> list[AccountNowPlaying]:
    answers = []
    pending: dict[Future, ExternalAccount] = {}
    pool = ThreadPoolExecutor(
        max_workers=min(MAX_PARALLEL_FETCHES, len(accounts)), thread_name_prefix="now-playing"
    )
    try:
        for account in accounts:
            client = clients[account.source]
            if isinstance(client, ImproperlyConfigured):
                error = {"code": "not_configured", "message": str(client)}
                answers.append(AccountNowPlaying(account, error=error))
                continue
            # A copied context per thread carries the request's deadline with it.
            run = contextvars.copy_context().run
            future = pool.submit(run, _fetch, account.source, account.external_username, client)
            pending[future] = account
        left = deadline_left()
        # Past the deadline every call fails at once; the margin lets those failures land.
        wait(pending, timeout=None if left is None else max(0.0, left) + 0.25)
    finally:
        # Threads still waiting on a socket end by themselves within the deadline.
        pool.shutdown(wait=False, cancel_futures=True)
    for future, account in pending.items():
        answers.append(_answer(account, future))
    return answers


def _answer(account: ExternalAccount, future: Future) -> AccountNowPlaying:
    """The fetch's outcome, cached: here, on the request's thread (the database and
    the cache are not used from the fetching threads)."""
    key = _cache_key(account)
    if not future.done():
        error = {
            "code": "upstream_unavailable",
            "message": f"{account.source}: no answer within the request's deadline",
            "service": account.source,
        }
    else:
        try:
            result = _now_playing(account, future.result())
        except ExternalApiError as exc:
            code = "upstream_unavailable" if exc.retryable else "upstream_error"
            error = {"code": code, "message": str(exc), "service": exc.service}
        else:
            cache.set(key, result or False, NOW_PLAYING_CACHE_SECONDS)
            return AccountNowPlaying(account, now_playing=result)
    cache.set(key, error, NOW_PLAYING_ERROR_CACHE_SECONDS)
    return AccountNowPlaying(account, error=error)


def _fetch(source: str, name: str, client: Any) -> tuple[str, str, str] | None:
    """(track, artist, album) the source reports as playing. Runs on a thread: no
    database, no cache."""
    if source == ListenSource.LASTFM:
        item = client.get_recent_tracks(name, page=1, limit=1).now_playing
        return item and (item.track_name, item.artist_name, item.album_name or "")
    listen = client.get_playing_now(name)
    return listen and (listen.track_name, listen.artist_name, listen.release_name or "")


def _now_playing(
    account: ExternalAccount, playing: tuple[str, str, str] | None
) -> NowPlaying | None:
    if not playing:
        return None
    track, artist, album = (clean_text(text) for text in playing)
    return NowPlaying(
        source=account.source,
        track_name=track,
        artist_name=artist,
        album_name=album,
        recording_mbid=_known_mbid(artist, track, album),
        fetched_at=timezone.now(),
    )


def _cache_key(account: ExternalAccount) -> str:
    return f"now-playing:{account.pk}"


def _known_mbid(artist: str, track: str, album: str) -> str | None:
    """The MBID already known for this report (its artist, title and album): no
    upstream request, nothing stored."""
    recording = known_recording_for_track(ReportedTrack(artist, track, album))
    mbid = recording.mbid if recording else None
    return str(mbid) if mbid else None


def report_submitted_now_playing(*, account: ExternalAccount, listen: dict[str, Any]) -> None:
    """Keep a player's ``playing_now`` report (a validated listen) as the account's now
    playing, for the track's length when it says, else ``SUBMITTED_NOW_PLAYING_SECONDS``."""
    metadata = listen["track_metadata"]
    info = metadata.get("additional_info") or {}
    seconds = SUBMITTED_NOW_PLAYING_SECONDS
    if info.get("duration_ms"):
        seconds = info["duration_ms"] // 1000
    elif info.get("duration"):
        seconds = info["duration"]
    seconds = max(1, min(seconds, SUBMITTED_NOW_PLAYING_MAX_SECONDS))
    playing = (metadata["track_name"], metadata["artist_name"], metadata.get("release_name") or "")
    cache.set(_cache_key(account), _now_playing(account, playing), seconds)
