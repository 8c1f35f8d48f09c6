"""Listen ingest end to end: fake Last.fm and ListenBrainz histories served page by
page from in-test lists, and what ends up in the database."""

from __future__ import annotations

import copy
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
import time_machine
from django.db import IntegrityError, connection, transaction

from accounts.models import ExternalAccount, ListenSource
from listens.ingest import claims, paging, payloads, store
from listens.ingest.claims import IngestAlreadyRunning
from listens.ingest.run import ingest_account as run_ingest
from listens.ingest.run import ingestable_accounts
from listens.models import IngestRun, ListenEvent
from metadata.models import Recording, RecordingAlias
from metadata.resolution import resolve_unresolved
from metadata.services import merge_recordings
from tests.payloads import load_payload

pytestmark = pytest.mark.django_db

LASTFM_URL = "https://lastfm.test/2.0/"
LB_URL = "https://lb.test/1/"
API_KEY = "lfm-test-key-0123456789abcdef"  # conftest.external_settings
T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC

_LASTFM_RECENT = load_payload(
    "lastfm", "lastfm__user.getRecentTracks__extended1_nowplaying_trimmed.json"
)["recenttracks"]["track"]
_LB_LISTENS = load_payload(
    "listenbrainz", "listenbrainz__user_listens__2024_android_mbid_mapping_complete.json"
)["payload"]["listens"]
# Listen #5 of that answer, mapped by ListenBrainz to the recording its text names.
LB_MAPPED_LISTEN = next(
    item for item in _LB_LISTENS if item["track_metadata"]["track_name"] == "Where Are You Now"
)
MAPPED_MBID = "fa2605de-3e06-4038-9337-daec9ca302e5"


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


# --- Fake sources ----------------------------------------------------------------------


def lastfm_scrobble(ts: int, track: str, artist: str = "Comete", album: str = "") -> dict:
    """A recorded extended=1 scrobble (Comete – CORNFLAKES) with another text and date."""
    item = copy.deepcopy(_LASTFM_RECENT[1])
    item["name"] = track
    item["artist"]["name"] = artist
    item["album"]["#text"] = album
    item["date"] = {"uts": str(ts), "#text": at(ts).strftime("%d %b %Y, %H:%M")}
    return item


def _uts(item: dict) -> int:
    return int(item["date"]["uts"])


def _query(request: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query))


Action = Callable[[], Any]


class FakeLastfm:
    """``user.getRecentTracks`` over ``scrobbles`` as Last.fm pages them: newest first,
    ``from``/``to`` inclusive, the now-playing item (and ``undated`` items) on page 1.

    ``before[n]`` runs before the n-th request is answered (1-based); it may change
    the history, raise, or return a (status, headers, body) answer of its own.
    """

    def __init__(
        self,
        scrobbles: Iterable[dict] = (),
        *,
        now_playing: dict | None = None,
        undated: Iterable[Any] = (),
    ) -> None:
        self.scrobbles = list(scrobbles)
        self.now_playing = now_playing
        self.undated = list(undated)
        self.before: dict[int, Action] = {}
        self.requests: list[dict[str, str]] = []

    def serve(self, mocked: responses.RequestsMock) -> FakeLastfm:
        mocked.add_callback(responses.GET, LASTFM_URL, callback=self.callback)
        return self

    def callback(self, request: Any) -> tuple[int, dict, str]:
        params = _query(request)
        self.requests.append(params)
        action = self.before.get(len(self.requests))
        answer = action() if action else None
        if answer is not None:
            return answer
        assert params["method"] == "user.getRecentTracks"
        assert params["api_key"] == API_KEY
        low, high = int(params.get("from", 0)), int(params.get("to", 2**40))
        limit, page = int(params["limit"]), int(params.get("page", 1))
        # Newest first; within one second, the later-added scrobble first.
        matching = [s for s in reversed(self.scrobbles) if low <= _uts(s) <= high]
        matching.sort(key=_uts, reverse=True)
        items = matching[(page - 1) * limit : page * limit]
        if page == 1:
            items = ([self.now_playing] if self.now_playing else []) + items + self.undated
        body = {
            "recenttracks": {
                "track": items,
                "@attr": {
                    "user": params["user"],
                    "totalPages": str(math.ceil(len(matching) / limit)),
                    "page": str(page),
                    "perPage": str(limit),
                    "total": str(len(matching)),
                },
            }
        }
        return 200, {}, json.dumps(body)


def lb_listen(ts: int, track: str | None, artist: str | None = "Apurva", **info: Any) -> dict:
    """A recorded ListenBrainz listen (unmapped) with another text and date."""
    item = copy.deepcopy(_LB_LISTENS[0])
    item["listened_at"], item["inserted_at"] = ts, ts + 30
    metadata = item["track_metadata"]
    metadata["additional_info"].update(info)
    for key, value in (("track_name", track), ("artist_name", artist)):
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    return item


class FakeListenBrainz:
    """``GET /1/user/{user}/listens`` over ``listens``: ``min_ts``/``max_ts`` exclusive,
    ``min_ts`` alone takes the *oldest* ``count`` after it, answers newest first."""

    def __init__(self, user: str, listens: Iterable[dict] = ()) -> None:
        self.user = user
        self.listens = list(listens)
        self.before: dict[int, Action] = {}
        self.requests: list[dict[str, str]] = []

    def serve(self, mocked: responses.RequestsMock) -> FakeListenBrainz:
        url = f"{LB_URL}user/{self.user}/listens"
        mocked.add_callback(responses.GET, url, callback=self.callback)
        return self

    def callback(self, request: Any) -> tuple[int, dict, str]:
        params = _query(request)
        self.requests.append(params)
        action = self.before.get(len(self.requests))
        answer = action() if action else None
        if answer is not None:
            return answer
        count = int(params.get("count", 25))
        min_ts = int(params["min_ts"]) if "min_ts" in params else None
        max_ts = int(params["max_ts"]) if "max_ts" in params else None
        pool = [
            item
            for item in self.listens
            if (min_ts is None or item["listened_at"] > min_ts)
            and (max_ts is None or item["listened_at"] < max_ts)
        ]
        # As the real server: any min_ts (even with max_ts) takes the oldest first.
        oldest_first = bool(min_ts)
        chosen = sorted(pool, key=lambda i: i["listened_at"], reverse=not oldest_first)[:count]
        chosen.sort(key=lambda i: i["listened_at"], reverse=True)
        times = [item["listened_at"] for item in self.listens]
        body = {
            "payload": {
                "count": len(chosen),
                "user_id": self.user,
                "listens": chosen,
                "latest_listen_ts": max(times, default=0),
                "oldest_listen_ts": min(times, default=0),
            }
        }
        return 200, {}, json.dumps(body)


def connection_lost() -> None:
    raise requests.ConnectionError("connection reset by peer")


# --- Fixtures and helpers --------------------------------------------------------------


def ingest_account(*, account: ExternalAccount, **kw: Any) -> IngestRun:
    """The ingest under test, five listens to a Last.fm page: the histories here are short."""
    if account.source == ListenSource.LASTFM:
        kw.setdefault("page_size", 5)
    return run_ingest(account=account, **kw)


@pytest.fixture(autouse=True)
def small_batches(external_settings):
    # A transaction per page, as the invariants below are stated (see the batch tests).
    external_settings.INGEST_BATCH_LISTENS = 1
    # alice and bob are created after this: skip the slow password hashing.
    external_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def lastfm_account(alice):
    return ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="rj"
    )


@pytest.fixture
def lb_account(alice):
    return ExternalAccount.objects.create(
        user=alice, source=ListenSource.LISTENBRAINZ, external_username="jasjeet"
    )


def stored(account: ExternalAccount) -> list[tuple[int, str]]:
    return sorted(
        (int(e.listened_at.timestamp()), e.track_name)
        for e in ListenEvent.objects.filter(account=account)
    )


def lastfm_expected(scrobbles: Iterable[dict]) -> list[tuple[int, str]]:
    return sorted((_uts(s), s["name"]) for s in scrobbles)


def lb_expected(listens: Iterable[dict]) -> list[tuple[int, str]]:
    return sorted((i["listened_at"], i["track_metadata"]["track_name"]) for i in listens)


def reload(account: ExternalAccount) -> ExternalAccount:
    account.refresh_from_db()
    return account


# Twelve scrobbles, five a page: pages (newest first) hold #11-#7, #6-#2 and #1-#0,
# and #2 and #1 share a second across the boundary of the two oldest pages.
HISTORY_TIMES = [T0 + 60 * i for i in range(12)]
HISTORY_TIMES[2] = HISTORY_TIMES[1]
RUN1, RUN2 = T0 + 3600, T0 + 7200


def lastfm_history() -> list[dict]:
    return [lastfm_scrobble(ts, f"Track {i:02d}") for i, ts in enumerate(HISTORY_TIMES)]


# --- (a) The cursor invariant ------------------------------------------------------------


def test_network_failure_mid_history_keeps_cursor_at_last_stored_page_and_rerun_completes(
    lastfm_account, mocked
):
    history = lastfm_history()
    fake = FakeLastfm(history).serve(mocked)
    # Requests: page 1 (for totalPages), then pages 3, 2, 1: the connection drops on page 2.
    fake.before[3] = connection_lost

    run = ingest_account(account=lastfm_account, now=at(RUN1))

    oldest_page = history[:2]
    assert [r["page"] for r in fake.requests] == ["1", "3", "2"]
    assert stored(lastfm_account) == lastfm_expected(oldest_page)
    account = reload(lastfm_account)
    # Track 02 shares Track 01's second but sits on the failed page: not claimed.
    assert account.last_ingested_ts == HISTORY_TIMES[1] - 1
    assert account.status == ExternalAccount.Status.RETRYING
    assert "network error: ConnectionError" in account.last_error
    assert (run.status, run.pages, run.listens_new) == (IngestRun.Status.FAILED, 1, 2)
    assert (run.cursor_before, run.cursor_after) == (None, HISTORY_TIMES[1] - 1)

    fake.before.clear()
    rerun = ingest_account(account=account, now=at(RUN2))

    assert stored(lastfm_account) == lastfm_expected(history)
    assert reload(lastfm_account).last_ingested_ts == RUN2 - 1
    assert reload(lastfm_account).status == ExternalAccount.Status.OK
    assert (rerun.status, rerun.listens_new, rerun.listens_known) == ("succeeded", 10, 1)
    assert fake.requests[3]["from"] == str(HISTORY_TIMES[1] - 1)


def test_exception_while_storing_a_page_rolls_the_page_back_and_rerun_completes(
    lastfm_account, mocked, monkeypatch
):
    history = lastfm_history()
    FakeLastfm(history).serve(mocked)
    real = store.mark_cross_source_duplicates
    pages_stored = []

    def fails_on_second_page(**kwargs):
        pages_stored.append(kwargs)
        if len(pages_stored) == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    # Called inside the page's transaction, after its listens are inserted.
    monkeypatch.setattr(store, "mark_cross_source_duplicates", fails_on_second_page)

    with pytest.raises(RuntimeError, match="disk full"):
        ingest_account(account=lastfm_account, now=at(RUN1))

    assert stored(lastfm_account) == lastfm_expected(history[:2])
    account = reload(lastfm_account)
    assert account.last_ingested_ts == HISTORY_TIMES[1] - 1
    assert account.status == ExternalAccount.Status.RETRYING
    assert account.ingest_claimed_until is None
    run = IngestRun.objects.get()
    assert (run.status, run.error_message) == ("failed", "internal error: RuntimeError")
    assert (run.pages, run.listens_new, run.cursor_after) == (1, 2, HISTORY_TIMES[1] - 1)

    monkeypatch.setattr(store, "mark_cross_source_duplicates", real)
    rerun = ingest_account(account=account, now=at(RUN2))

    assert stored(lastfm_account) == lastfm_expected(history)
    assert reload(lastfm_account).last_ingested_ts == RUN2 - 1
    assert (rerun.listens_new, rerun.listens_known) == (10, 1)


def test_listenbrainz_network_failure_mid_history_loses_nothing_on_rerun(lb_account, mocked):
    listens = [lb_listen(T0 + 60 * i, f"Track {i:02d}") for i in range(12)]
    fake = FakeListenBrainz("jasjeet", listens).serve(mocked)
    fake.before[2] = connection_lost

    run = ingest_account(account=lb_account, page_size=5)

    assert stored(lb_account) == lb_expected(listens[:5])
    assert reload(lb_account).last_ingested_ts == T0 + 60 * 4 - 1
    assert run.status == IngestRun.Status.FAILED

    fake.before.clear()
    ingest_account(account=lb_account, page_size=5)

    assert stored(lb_account) == lb_expected(listens)
    assert reload(lb_account).last_ingested_ts == T0 + 60 * 11


@pytest.mark.parametrize("variable", ["LASTFM_API_KEY", "LASTFM_API_SECRET"])
def test_missing_api_key_marks_the_account_needing_attention_and_frees_it(
    lastfm_account, external_settings, mocked, client, variable
):
    setattr(external_settings, variable, "")

    run = ingest_account(account=lastfm_account, now=at(RUN1))

    account = reload(lastfm_account)
    assert run.status == IngestRun.Status.FAILED
    assert f"{variable} is not set" in run.error_message
    # Not "retrying": no later run can succeed until someone sets the key.
    assert account.status == ExternalAccount.Status.ERROR
    assert variable in account.last_error
    assert account.ingest_claimed_until is None
    assert len(mocked.calls) == 0
    health = client.get("/health/").json()
    assert (health["status"], health["accounts"]["failing"]) == ("degraded", 1)


# --- Batches: several pages, one transaction -------------------------------------------

# 23 scrobbles, five a page: oldest first, the pages hold 3, 5, 5, 5 and 5.
BATCH_HISTORY_TIMES = [T0 + 60 * i for i in range(23)]


def test_pages_are_stored_a_batch_per_transaction(lastfm_account, mocked, external_settings):
    external_settings.INGEST_BATCH_LISTENS = 10
    history = [lastfm_scrobble(ts, f"Track {i:02d}") for i, ts in enumerate(BATCH_HISTORY_TIMES)]
    FakeLastfm(history).serve(mocked)
    batches = []

    run = ingest_account(
        account=lastfm_account, now=at(RUN1), on_page=lambda run: batches.append(run.pages)
    )

    # 3 + 5 + 5 listens reach 10: one batch; the last two pages make the second.
    assert batches == [3, 5]
    assert (run.status, run.pages, run.listens_new) == ("succeeded", 5, 23)
    assert stored(lastfm_account) == lastfm_expected(history)
    assert reload(lastfm_account).last_ingested_ts == RUN1 - 1


def test_slow_pages_end_a_batch_early():
    clock = [0.0]

    def pages():
        for number in range(5):
            clock[0] += 20  # each page takes 20 s to come
            listen = payloads.IncomingListen.of(
                listened_at=at(T0 + number),
                track_name=f"Track {number}",
                artist_name="Comete",
                album_name="",
                duration_ms=None,
                hints=(),
                raw_json="{}",
            )
            yield paging.FetchedPage([listen], safe_cursor=T0 + number, malformed=number % 2)

    batches = list(paging.batched_pages(pages(), listens=1000, seconds=30, clock=lambda: clock[0]))

    assert [batch.pages for batch in batches] == [2, 2, 1]
    assert [len(batch.listens) for batch in batches] == [2, 2, 1]
    assert [batch.safe_cursor for batch in batches] == [T0 + 1, T0 + 3, T0 + 4]
    assert [batch.malformed for batch in batches] == [1, 1, 0]


def test_stopping_a_run_stops_its_fetching_thread_after_the_request_in_flight():
    fetched = []
    closed = []

    def slow_pages():
        try:
            for number in range(100):
                time.sleep(0.01)  # a request
                fetched.append(number)
                yield paging.FetchedPage([], safe_cursor=None)
        finally:
            closed.append(True)

    ahead = paging.read_ahead(slow_pages(), depth=2)
    next(ahead)
    ahead.close()

    # The page handed over, two queued, at most one more in flight: not the other 96.
    assert len(fetched) <= 4
    assert closed == [True]


def test_fetch_failure_mid_batch_keeps_the_pages_read_before_it(
    lastfm_account, mocked, external_settings
):
    external_settings.INGEST_BATCH_LISTENS = 10
    history = [lastfm_scrobble(ts, f"Track {i:02d}") for i, ts in enumerate(BATCH_HISTORY_TIMES)]
    fake = FakeLastfm(history).serve(mocked)
    # Requests: page 1 (for totalPages), then pages 5, 4, 3: the third page of the
    # first batch fails after two were read.
    fake.before[4] = connection_lost

    run = ingest_account(account=lastfm_account, now=at(RUN1))

    assert (run.status, run.pages, run.listens_new) == ("failed", 2, 8)
    assert stored(lastfm_account) == lastfm_expected(history[:8])
    assert reload(lastfm_account).last_ingested_ts == BATCH_HISTORY_TIMES[7] - 1

    fake.before.clear()
    rerun = ingest_account(account=lastfm_account, now=at(RUN2))

    assert rerun.status == "succeeded"
    assert stored(lastfm_account) == lastfm_expected(history)


def same_song_on_every_page() -> list[dict]:
    """HISTORY_TIMES with "Same Song" on each of its three pages (#0, #5 and #10)."""
    return [
        lastfm_scrobble(ts, "Same Song" if i % 5 == 0 else f"Track {i:02d}")
        for i, ts in enumerate(HISTORY_TIMES)
    ]


def resolved_same_song() -> Recording:
    return Recording.objects.create(
        mbid=uuid.uuid4(), status="resolved", artist_name="Comete", title="Same Song"
    )


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at a real commit
def test_recording_merged_away_during_a_run_is_looked_up_again(lastfm_account, mocked):
    # The run remembers the recording of "Same Song" from the first page.
    history = same_song_on_every_page()
    FakeLastfm(history).serve(mocked)
    merged = []

    def curator_merges_it(run: IngestRun) -> None:
        if run.pages == 1:
            stale = Recording.objects.get(artist_name="Comete", title="Same Song")
            target = resolved_same_song()
            merged.append(merge_recordings(source=stale, target=target))
            RecordingAlias.objects.create(
                key=stale.unresolved_key, recording=target, decided_by="curator"
            )

    run = ingest_account(account=lastfm_account, now=at(RUN1), on_page=curator_merges_it)

    assert (run.status, run.pages, run.listens_new) == ("succeeded", 3, 12)
    assert stored(lastfm_account) == lastfm_expected(history)
    same_song = ListenEvent.objects.filter(track_name="Same Song")
    assert sorted(listen.recording_id for listen in same_song) == [merged[0].pk] * 3


def test_a_text_a_curator_repoints_during_a_run_is_followed_once_the_memo_expires(
    lastfm_account, mocked
):
    history = same_song_on_every_page()
    FakeLastfm(history).serve(mocked)
    chosen = []

    def curator_repoints_it(run: IngestRun) -> None:
        if run.pages == 1:
            waiting = Recording.objects.get(artist_name="Comete", title="Same Song")
            chosen.append(resolved_same_song())
            RecordingAlias.objects.create(
                key=waiting.unresolved_key, recording=chosen[0], decided_by="curator"
            )

    ingest_account(
        account=lastfm_account,
        now=at(RUN1),
        on_page=curator_repoints_it,
        memo=store.RecordingMemo(max_seconds=0),  # forgets between batches
    )

    same_song = ListenEvent.objects.filter(track_name="Same Song").order_by("listened_at")
    first, *later = [listen.recording_id for listen in same_song]
    assert first != chosen[0].pk
    assert later == [chosen[0].pk] * 2


def test_a_run_with_more_texts_than_it_remembers_starts_over(lastfm_account, mocked):
    # Pages of 2, 5 and 5 scrobbles, oldest first; each later page repeats a text
    # of the page before. The third brings the run past 6 texts.
    titles = ["A", "B", "A", "C", "D", "E", "F", "C", "G", "H", "I", "J"]
    history = [lastfm_scrobble(ts, title) for ts, title in zip(HISTORY_TIMES, titles, strict=True)]
    FakeLastfm(history).serve(mocked)

    run = ingest_account(
        account=lastfm_account, now=at(RUN1), memo=store.RecordingMemo(max_texts=6)
    )

    assert (run.status, run.listens_new) == ("succeeded", 12)
    assert stored(lastfm_account) == lastfm_expected(history)


# --- (b) Nothing twice ---------------------------------------------------------------------


def test_rerun_stores_nothing_twice(lastfm_account, mocked):
    history = lastfm_history()
    FakeLastfm(history).serve(mocked)
    first = ingest_account(account=lastfm_account, now=at(RUN1))
    # Forget the cursor (as a re-import would): the whole history comes again.
    ExternalAccount.objects.filter(pk=lastfm_account.pk).update(last_ingested_ts=None)

    again = ingest_account(account=lastfm_account, now=at(RUN1))

    assert stored(lastfm_account) == lastfm_expected(history)
    assert (first.listens_new, first.listens_known) == (12, 0)
    assert (again.listens_new, again.listens_known) == (0, 12)
    assert IngestRun.objects.get(pk=again.pk).listens_known == 12


def test_listenbrainz_rerun_stores_nothing_twice(lb_account, mocked):
    listens = [lb_listen(T0 + 60 * i, f"Track {i:02d}") for i in range(4)]
    FakeListenBrainz("jasjeet", listens).serve(mocked)
    ingest_account(account=lb_account)
    ExternalAccount.objects.filter(pk=lb_account.pk).update(last_ingested_ts=None)

    again = ingest_account(account=lb_account)

    assert stored(lb_account) == lb_expected(listens)
    assert (again.listens_new, again.listens_known) == (0, 4)


def test_the_database_refuses_a_second_copy_of_an_ingested_listen(lastfm_account, mocked):
    FakeLastfm([lastfm_scrobble(T0, "Only Once")]).serve(mocked)
    ingest_account(account=lastfm_account, now=at(RUN1))
    copy_of_it = ListenEvent.objects.get()
    copy_of_it.pk = None

    with pytest.raises(IntegrityError), transaction.atomic():
        copy_of_it.save()

    assert ListenEvent.objects.count() == 1


# --- (c) Arrivals during paging ------------------------------------------------------------


def test_lastfm_arrivals_after_run_start_are_left_for_the_next_run(lastfm_account, mocked):
    history = lastfm_history()
    fake = FakeLastfm(history).serve(mocked)
    arrivals = [lastfm_scrobble(RUN1 + 30 * i, f"New {i}") for i in range(1, 8)]
    # Seven new scrobbles (more than a page) land between the first and the last request,
    # and one in the run's very last second after it ended.
    fake.before[2] = lambda: fake.scrobbles.extend(arrivals[:3]) and None
    fake.before[4] = lambda: fake.scrobbles.extend(arrivals[3:]) and None

    run = ingest_account(account=lastfm_account, now=at(RUN1))
    last_second = lastfm_scrobble(RUN1, "Played at run start")
    fake.scrobbles.append(last_second)

    assert stored(lastfm_account) == lastfm_expected(history)
    assert all(r["to"] == str(RUN1) for r in fake.requests)
    assert (run.listens_new, reload(lastfm_account).last_ingested_ts) == (12, RUN1 - 1)

    ingest_account(account=lastfm_account, now=at(RUN2))

    assert stored(lastfm_account) == lastfm_expected([*history, *arrivals, last_second])


def test_lastfm_scrobble_submitted_late_during_paging_does_not_push_a_listen_out(
    lastfm_account, mocked
):
    history = lastfm_history()
    fake = FakeLastfm(history).serve(mocked)
    late = lastfm_scrobble(RUN1 - 200, "Started before the run, scrobbled during it")
    # After page 3 is read, before page 2: Track 02 slides from page 2 onto page 3.
    fake.before[3] = lambda: fake.scrobbles.append(late)

    ingest_account(account=lastfm_account, now=at(RUN1))
    ingest_account(account=lastfm_account, now=at(RUN2))

    assert stored(lastfm_account) == lastfm_expected([*history, late])


def test_lastfm_history_that_keeps_changing_ends_the_run_cleanly(lastfm_account, mocked):
    history = lastfm_history()
    fake = FakeLastfm(history).serve(mocked)
    # Every second request sees one more late scrobble: each walk restarts, then gives up.
    for n in range(2, 40, 2):
        fake.before[n] = lambda n=n: fake.scrobbles.append(
            lastfm_scrobble(RUN1 - 300 - n, f"Late {n}")
        )

    run = ingest_account(account=lastfm_account, now=at(RUN1))

    assert run.status == IngestRun.Status.FAILED
    assert "kept changing" in run.error_message
    assert reload(lastfm_account).status == ExternalAccount.Status.RETRYING
    # Once the history holds still, the next run stores everything exactly once.
    fake.before.clear()
    ingest_account(account=lastfm_account, now=at(RUN1))
    assert stored(lastfm_account) == lastfm_expected(fake.scrobbles)


# --- (d) One second across a ListenBrainz page boundary -----------------------------------


def test_listenbrainz_listens_sharing_a_second_across_pages_are_all_kept(lb_account, mocked):
    # Three listens in one second where the first page (the five oldest) ends.
    times = [T0, T0 + 10, T0 + 20, T0 + 30, T0 + 40, T0 + 40, T0 + 40, T0 + 50, T0 + 60]
    listens = [lb_listen(ts, f"Track {i}") for i, ts in enumerate(times)]
    fake = FakeListenBrainz("jasjeet", listens).serve(mocked)

    run = ingest_account(account=lb_account, page_size=5)

    assert stored(lb_account) == lb_expected(listens)
    assert [r["min_ts"] for r in fake.requests][:2] == ["1", str(T0 + 39)]
    # Bounded by the run's start, so a listen dated in the future can't move the cursor.
    assert all(int(r["max_ts"]) > T0 + 60 for r in fake.requests)
    assert reload(lb_account).last_ingested_ts == T0 + 60
    assert run.listens_new == 9


# --- (e) One worker per account ------------------------------------------------------------


def test_second_ingest_while_the_first_holds_the_claim_is_refused(lastfm_account, mocked):
    FakeLastfm(lastfm_history()).serve(mocked)
    refused = []

    def second_worker(run: IngestRun) -> None:
        try:
            ingest_account(account=ExternalAccount.objects.get(pk=lastfm_account.pk))
        except IngestAlreadyRunning as error:
            refused.append(error)

    run = ingest_account(account=lastfm_account, now=at(RUN1), on_page=second_worker)

    assert len(refused) == run.pages == 3
    assert IngestRun.objects.count() == 1
    assert run.status == IngestRun.Status.SUCCEEDED
    assert ListenEvent.objects.count() == 12
    assert reload(lastfm_account).ingest_claimed_until is None


def test_expired_claim_of_a_dead_worker_can_be_taken_over(lastfm_account, mocked, settings):
    FakeLastfm([lastfm_scrobble(T0, "One")]).serve(mocked)

    with time_machine.travel(at(RUN1), tick=False) as clock:
        claims.claim(lastfm_account)  # a worker that died holding the account
        with pytest.raises(IngestAlreadyRunning):
            ingest_account(account=lastfm_account)
        clock.shift(settings.INGEST_CLAIM_SECONDS - 1)
        with pytest.raises(IngestAlreadyRunning):
            ingest_account(account=lastfm_account)
        clock.shift(2)
        run = ingest_account(account=lastfm_account)

    assert run.status == IngestRun.Status.SUCCEEDED
    assert stored(lastfm_account) == [(T0, "One")]
    assert IngestRun.objects.count() == 1
    assert reload(lastfm_account).ingest_claimed_until is None


# --- (f) Now playing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        "lastfm__user.getRecentTracks__extended1_nowplaying_trimmed.json",
        "lastfm__user.getRecentTracks__limit1_nowplaying_returns_2_tracks_fred_again.json",
    ],
)
def test_now_playing_item_is_never_stored_as_a_listen(lastfm_account, mocked, fixture):
    items = load_payload("lastfm", fixture)["recenttracks"]["track"]
    playing = next(i for i in items if i.get("@attr", {}).get("nowplaying") == "true")
    scrobbles = [i for i in items if i is not playing]
    FakeLastfm(scrobbles, now_playing=playing).serve(mocked)

    run = ingest_account(account=lastfm_account, now=at(max(map(_uts, scrobbles)) + 60))

    assert stored(lastfm_account) == lastfm_expected(scrobbles)
    assert not ListenEvent.objects.filter(track_name=playing["name"]).exists()
    assert (run.listens_new, run.errors) == (len(scrobbles), 0)


# --- Errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fixture", "expected"),
    [
        (404, "lastfm__error__error6_user_not_found_recenttracks.json", "error 6: User not found"),
        (
            403,
            "built__error__error17_login_required_private_profile.json",
            "error 17: Login: User required to be logged in",
        ),
        (403, "built__error__error10_invalid_api_key.json", "error 10: Invalid API key"),
    ],
)
def test_permanent_lastfm_error_marks_account_error_without_leaking_the_key(
    lastfm_account, mocked, status, fixture, expected
):
    ExternalAccount.objects.filter(pk=lastfm_account.pk).update(last_ingested_ts=T0)
    mocked.get(LASTFM_URL, json=load_payload("lastfm", fixture), status=status)

    run = ingest_account(account=lastfm_account, now=at(RUN1))

    account = reload(lastfm_account)
    assert account.status == ExternalAccount.Status.ERROR
    assert expected in account.last_error
    assert account.last_error_at is not None
    assert API_KEY not in account.last_error
    assert (run.status, run.error_message) == (IngestRun.Status.FAILED, account.last_error)
    assert account.last_ingested_ts == run.cursor_after == T0
    assert ListenEvent.objects.count() == 0


def test_one_failing_account_does_not_stop_the_others(lastfm_account, bob, mocked):
    mocked.get(
        LASTFM_URL,
        json=load_payload("lastfm", "built__error__error17_login_required_private_profile.json"),
        status=403,
    )
    bobs = ExternalAccount.objects.create(
        user=bob, source=ListenSource.LISTENBRAINZ, external_username="bob-lb"
    )
    FakeListenBrainz("bob-lb", [lb_listen(T0, "Bob's Song")]).serve(mocked)

    runs = [ingest_account(account=account) for account in ingestable_accounts()]

    assert [r.status for r in runs] == [IngestRun.Status.FAILED, IngestRun.Status.SUCCEEDED]
    assert reload(lastfm_account).status == ExternalAccount.Status.ERROR
    assert reload(bobs).status == ExternalAccount.Status.OK
    assert stored(bobs) == [(T0, "Bob's Song")]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (503, "<html>Service Unavailable</html>", "HTTP 503"),
        (
            500,
            load_payload("lastfm", "lastfm__error__error8_operation_failed.json"),
            "error 8: Operation failed",
        ),
        (
            429,
            load_payload(
                "lastfm", "lastfm__error__error29_rate_limit_exceeded_from_python_repr.json"
            ),
            "error 29: Rate Limit Exceeded",
        ),
    ],
    ids=["http503", "error8", "error29"],
)
def test_transient_error_marks_account_retrying_and_keeps_cursor(
    lastfm_account, mocked, status, body, expected
):
    ExternalAccount.objects.filter(pk=lastfm_account.pk).update(last_ingested_ts=T0)
    content = body if isinstance(body, str) else json.dumps(body)
    mocked.get(LASTFM_URL, body=content, status=status)

    run = ingest_account(account=lastfm_account, now=at(RUN1))

    account = reload(lastfm_account)
    assert account.status == ExternalAccount.Status.RETRYING
    assert expected in account.last_error
    assert API_KEY not in account.last_error
    assert account.last_ingested_ts == T0
    assert (run.status, run.cursor_before, run.cursor_after) == ("failed", T0, T0)


# --- Malformed items -------------------------------------------------------------------------


def test_lastfm_scrobbles_without_usable_date_are_skipped_and_counted(lastfm_account, mocked):
    built = load_payload(
        "lastfm", "built__user.getRecentTracks__scrobbles_without_usable_date.json"
    )["recenttracks"]["track"]
    playing, dated, *undated = built  # undated: no date, date.uts "not-a-number", a string
    FakeLastfm([dated], now_playing=playing, undated=undated).serve(mocked)

    run = ingest_account(account=lastfm_account, now=at(_uts(dated) + 60))

    assert stored(lastfm_account) == lastfm_expected([dated])
    assert (run.status, run.listens_new, run.errors) == ("succeeded", 1, 3)
    assert IngestRun.objects.get(pk=run.pk).errors == 3


def test_listenbrainz_malformed_listens_are_skipped_and_counted(lb_account, mocked):
    mocked.get(
        f"{LB_URL}user/jasjeet/listens",
        json=load_payload("listenbrainz", "built__user_listens__malformed_listens.json"),
    )

    run = ingest_account(account=lb_account)

    # Kept: the one complete listen. Counted: a listen without any name and six items
    # without an integer listened_at or a track_metadata object.
    assert stored(lb_account) == [(1722318030, "Where Are You Now")]
    assert (run.status, run.listens_new, run.errors) == ("succeeded", 1, 7)
    # The nameless listen is the newest with a timestamp: the cursor still passes it.
    assert reload(lb_account).last_ingested_ts == 1723267385


def test_a_polled_listen_without_an_artist_or_a_title_is_counted_never_stored(lb_account, mocked):
    # Issue 17: a name empty after cleaning is never stored as "" (ListenBrainz
    # refuses such a listen, so an export would carry one it cannot take back).
    listens = [
        lb_listen(T0, None, artist="Artist Without Title"),
        lb_listen(T0 + 10, "Title Without Artist", artist=None),
        lb_listen(T0 + 20, None, artist=None),
        lb_listen(T0 + 30, "\u200b\u200b", artist="Zero Width Title"),
        lb_listen(T0 + 40, "Kept", artist="Artist"),
    ]
    FakeListenBrainz("jasjeet", listens).serve(mocked)

    run = ingest_account(account=lb_account)

    kept = ListenEvent.objects.order_by("listened_at")
    assert [(e.artist_name, e.track_name) for e in kept] == [("Artist", "Kept")]
    assert (run.listens_new, run.errors) == (1, 4)
    assert reload(lb_account).last_ingested_ts == T0 + 40


def test_nul_bytes_are_stripped_from_names_and_raw_payload(lb_account, mocked):
    listen = lb_listen(T0, "One More\x00 Time", artist="Daft\x00 Punk", comment="a\x00b")
    listen["track_metadata"]["release_name"] = "Disc\x00overy"
    listen["track_metadata"]["additional_info"]["key\x00"] = "value"
    FakeListenBrainz("jasjeet", [listen]).serve(mocked)

    ingest_account(account=lb_account)

    event = ListenEvent.objects.get()
    assert (event.artist_name, event.track_name, event.album_name) == (
        "Daft Punk",
        "One More Time",
        "Discovery",
    )
    assert "\\u0000" not in json.dumps(event.raw_payload)
    assert event.raw_payload["track_metadata"]["additional_info"]["comment"] == "ab"
    assert event.recording.artist_name == "Daft Punk"


def test_raw_payload_is_stored_without_secrets(lastfm_account, lb_account, mocked):
    scrobble = lastfm_scrobble(T0, "Leaky")
    scrobble["api_key"] = API_KEY
    scrobble["url"] = f"https://www.last.fm/music/Comete?api_key={API_KEY}"
    FakeLastfm([scrobble]).serve(mocked)
    listen = lb_listen(T0, "Leaky Too", token="lb-token-5f1c2a9e-8d7b-4c3e-a1f0-1234")
    FakeListenBrainz("jasjeet", [listen]).serve(mocked)

    ingest_account(account=lastfm_account, now=at(RUN1))
    ingest_account(account=lb_account)

    from_lastfm = ListenEvent.objects.get(account=lastfm_account).raw_payload
    assert from_lastfm["api_key"] == "[REDACTED]"
    assert API_KEY not in json.dumps(from_lastfm)
    assert from_lastfm["name"] == "Leaky"
    from_lb = ListenEvent.objects.get(account=lb_account).raw_payload
    assert from_lb["track_metadata"]["additional_info"]["token"] == "[REDACTED]"


# --- Hints -----------------------------------------------------------------------------------


def test_listenbrainz_mapping_that_agrees_resolves_at_ingest_without_musicbrainz(
    lb_account, mocked
):
    # No MusicBrainz URL is mocked: any lookup would fail the run.
    FakeListenBrainz("jasjeet", [LB_MAPPED_LISTEN]).serve(mocked)

    run = ingest_account(account=lb_account)

    event = ListenEvent.objects.get()
    assert event.recording.mbid == uuid.UUID(MAPPED_MBID)
    assert event.recording.status == Recording.Status.RESOLVED
    alias = RecordingAlias.objects.get(recording=event.recording)
    assert alias.decided_by == RecordingAlias.DecidedBy.SOURCE_MBID
    assert (run.status, run.unresolved) == ("succeeded", 0)
    assert all(call.request.url.startswith(LB_URL) for call in mocked.calls)


def test_listenbrainz_mapping_that_disagrees_leaves_the_listen_unresolved(lb_account, mocked):
    listen = copy.deepcopy(LB_MAPPED_LISTEN)
    mapping = listen["track_metadata"]["mbid_mapping"]
    mapping["recording_name"] = "Something Else Entirely"
    mapping["artists"] = [
        {"artist_credit_name": "Somebody Else", "artist_mbid": None, "join_phrase": ""}
    ]
    FakeListenBrainz("jasjeet", [listen]).serve(mocked)

    run = ingest_account(account=lb_account)

    recording = ListenEvent.objects.get().recording
    assert recording.mbid is None
    assert recording.status == Recording.Status.UNRESOLVED
    assert not RecordingAlias.objects.exists()
    assert (run.status, run.unresolved) == ("succeeded", 1)
    assert all(call.request.url.startswith(LB_URL) for call in mocked.calls)


KNOWN_MBID = "8bb3a8a4-7f53-4b52-9b2f-0a1a2a3b4c5d"


def scrobble_with_mbid(ts: int) -> dict:
    scrobble = lastfm_scrobble(ts, "Attention", artist="Charlie Puth")
    scrobble["mbid"] = KNOWN_MBID
    return scrobble


def known_attention() -> Recording:
    return Recording.objects.create(
        mbid=KNOWN_MBID, status="resolved", title="Attention", artist_name="Charlie Puth"
    )


def test_lastfm_mbid_of_a_known_recording_resolves_at_ingest(lastfm_account, mocked):
    known = known_attention()
    FakeLastfm([scrobble_with_mbid(T0)]).serve(mocked)

    run = ingest_account(account=lastfm_account, now=at(RUN1))

    assert ListenEvent.objects.get().recording == known
    assert (run.status, run.unresolved) == ("succeeded", 0)


def test_hint_an_earlier_run_left_on_the_row_is_the_resolvers_to_check(lastfm_account, mocked):
    fake = FakeLastfm([scrobble_with_mbid(T0)]).serve(mocked)
    ingest_account(account=lastfm_account, now=at(RUN1))
    waiting = ListenEvent.objects.get().recording
    assert (waiting.mbid, str(waiting.hint_mbid)) == (None, KNOWN_MBID)
    known = known_attention()  # stored since, by an album import say
    fake.scrobbles.append(scrobble_with_mbid(RUN1 + 60))

    rerun = ingest_account(account=lastfm_account, now=at(RUN2))

    # Checked when the row was made; the run does not check it again for each listen.
    assert (rerun.listens_new, rerun.unresolved) == (1, 1)
    summary = resolve_unresolved()
    assert summary.resolved == 1
    assert {listen.recording for listen in ListenEvent.objects.all()} == {known}


# --- Cross-source duplicates -------------------------------------------------------------------


@pytest.mark.parametrize("first", [ListenSource.LASTFM, ListenSource.LISTENBRAINZ])
def test_same_listen_on_both_sources_is_marked_duplicate_on_the_later_ingest(
    lastfm_account, lb_account, mocked, first
):
    FakeLastfm([lastfm_scrobble(T0, "Attention", artist="Charlie Puth")]).serve(mocked)
    lb = lb_listen(T0 + 20, "Attention", artist="Charlie Puth")
    FakeListenBrainz("jasjeet", [lb]).serve(mocked)
    order = [lastfm_account, lb_account]
    if first == ListenSource.LISTENBRAINZ:
        order.reverse()

    for account in order:
        ingest_account(account=account, now=at(RUN1))

    earlier = ListenEvent.objects.get(account=order[0])
    later = ListenEvent.objects.get(account=order[1])
    assert earlier.duplicate_of is None
    assert later.duplicate_of == earlier


def test_same_track_ten_minutes_apart_on_both_sources_is_not_a_duplicate(
    lastfm_account, lb_account, mocked
):
    FakeLastfm([lastfm_scrobble(T0, "Attention", artist="Charlie Puth")]).serve(mocked)
    lb = lb_listen(T0 + 600, "Attention", artist="Charlie Puth")
    FakeListenBrainz("jasjeet", [lb]).serve(mocked)

    ingest_account(account=lastfm_account, now=at(RUN1))
    ingest_account(account=lb_account, now=at(RUN1))

    assert ListenEvent.objects.count() == 2
    assert not ListenEvent.objects.filter(duplicate_of__isnull=False).exists()


# --- Incremental runs ----------------------------------------------------------------------------


def test_incremental_rerun_with_nothing_new_makes_one_request_per_account(
    lastfm_account, lb_account, mocked
):
    FakeLastfm(lastfm_history()).serve(mocked)
    listens = [lb_listen(T0 + 60 * i, f"Track {i:02d}") for i in range(3)]
    FakeListenBrainz("jasjeet", listens).serve(mocked)
    ingest_account(account=lastfm_account, now=at(RUN1))
    ingest_account(account=lb_account, now=at(RUN1))
    mocked.calls.reset()

    runs = [
        ingest_account(account=lastfm_account, now=at(RUN2)),
        ingest_account(account=lb_account, now=at(RUN2)),
    ]

    hosts = [urlsplit(call.request.url).netloc for call in mocked.calls]
    assert sorted(hosts) == ["lastfm.test", "lb.test"]
    assert [(r.status, r.listens_new, r.pages) for r in runs] == [("succeeded", 0, 1)] * 2
    assert reload(lastfm_account).last_ingested_ts == RUN2 - 1
    assert ListenEvent.objects.count() == 15


# --- Review fixes: late scrobbles, future dates, disconnects, dead workers ----------------


def test_a_scrobble_arriving_late_behind_the_cursor_is_caught_by_the_lookback(
    lastfm_account, mocked, settings
):
    settings.INGEST_LOOKBACK_SECONDS = 3600
    history = lastfm_history()
    fake = FakeLastfm(history).serve(mocked)
    ingest_account(account=lastfm_account, now=at(RUN1))
    # An offline player submits a listen stamped before the first run's cursor.
    late = lastfm_scrobble(RUN1 - 600, "Played offline, scrobbled later")
    fake.scrobbles.append(late)

    ingest_account(account=lastfm_account, now=at(RUN2))

    assert stored(lastfm_account) == lastfm_expected([*history, late])
    assert int(fake.requests[-1]["from"]) == RUN1 - 1 - 3600


def test_a_listen_dated_in_the_future_does_not_move_the_cursor_past_the_run(lb_account, mocked):
    now = T0 + 1000
    listens = [lb_listen(T0 + 10, "Before"), lb_listen(now + 86400, "Clock of the phone wrong")]
    FakeListenBrainz("jasjeet", listens).serve(mocked)

    ingest_account(account=lb_account, now=at(now))

    assert stored(lb_account) == [(T0 + 10, "Before")]
    assert reload(lb_account).last_ingested_ts <= now


def test_a_disconnect_during_a_run_stays_a_disconnect(lastfm_account, mocked):
    FakeLastfm(lastfm_history()).serve(mocked)

    def disconnect(run: IngestRun) -> None:
        ExternalAccount.objects.filter(pk=lastfm_account.pk).update(
            status=ExternalAccount.Status.DISABLED
        )

    ingest_account(account=lastfm_account, on_page=disconnect, now=at(RUN1))

    assert reload(lastfm_account).status == ExternalAccount.Status.DISABLED


def test_runs_left_running_by_a_dead_worker_are_closed_by_the_next_claim(lastfm_account, mocked):
    FakeLastfm(lastfm_history()).serve(mocked)
    dead = IngestRun.objects.create(account=lastfm_account)

    ingest_account(account=lastfm_account, now=at(RUN1))

    dead.refresh_from_db()
    assert dead.status == IngestRun.Status.FAILED
    assert "abandoned" in dead.error_message
    assert dead.finished_at is not None


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2020, 9, 19, 20, 19, 29, tzinfo=UTC),
        datetime(2020, 9, 19, 20, 19, 29, 123456, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2020, 9, 19, 22, 19, 29, tzinfo=timezone(timedelta(hours=2))),
        datetime(2020, 9, 19, 20, 19, 29, tzinfo=ZoneInfo("America/New_York")),
    ],
)
def test_listen_times_are_stored_as_djangos_own_adapter_stores_them(moment):
    assert store.db_datetime_adapter(connection)(moment) == (
        connection.ops.adapt_datetimefield_value(moment)
    )
