"""Presentation without I/O: periods, an account's state in plain words, chart geometry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from accounts.models import ExternalAccount, ListenSource

# Top lists: label -> days back from now (None: all time).
PERIODS: dict[str, tuple[str, int | None]] = {
    "week": ("Last 7 days", 7),
    "month": ("Last 30 days", 30),
    "year": ("Last 365 days", 365),
    "all": ("All time", None),
}
# The listening chart: how far back, and the bar's step.
CHART_RANGES: dict[str, tuple[str, int]] = {
    "30": ("30 days", 30),
    "90": ("90 days", 90),
    "365": ("A year", 365),
}
CHART_STEPS = {"day": "per day", "week": "per week"}


def period_since(period: str, now: datetime) -> datetime | None:
    days = PERIODS[period][1]
    return now - timedelta(days=days) if days is not None else None


def choice(value: str | None, allowed: dict[str, Any], default: str) -> str:
    return value if value in allowed else default


@dataclass(frozen=True)
class AccountState:
    kind: str  # ok, fetching, retrying, error, disabled, taken, new: CSS class and test hook
    words: str  # what is happening
    todo: str = ""  # what the member can do about it


def account_state(account: ExternalAccount, now: datetime) -> AccountState:
    """An account's ingest state as a member reads it."""
    if account.source == ListenSource.SUBMITTED:
        return AccountState("ok", "Receives listens straight from your players.")
    if account.status == ExternalAccount.Status.DISABLED and account.taken_over_at is not None:
        label = ListenSource(account.source).label
        name = account.external_username
        return AccountState(
            "taken",
            f"Taken over: on {account.taken_over_at:%Y-%m-%d} another Sidetrack user proved, "
            f"by signing in to {label}, that {name!r} is theirs. Sidetrack stopped fetching it "
            "for you; the listens already fetched are kept.",
            f"If {name!r} really is your {label} name, tell staff: someone else could sign "
            f"in to {label} as it.",
        )
    if account.status == ExternalAccount.Status.DISABLED:
        return AccountState(
            "disabled",
            "Disconnected: not fetched any more. Your listens from it are kept.",
            "Connect the same name again to resume where it stopped.",
        )
    if account.ingest_claimed_until is not None and account.ingest_claimed_until > now:
        first = account.last_ingested_ts is None
        return AccountState(
            "fetching", "Fetching your history now." if first else "Fetching new listens now."
        )
    if account.status == ExternalAccount.Status.NEW:
        return AccountState("new", "Waiting for its first fetch.", "Fetch now to start at once.")
    if account.status == ExternalAccount.Status.RETRYING:
        return AccountState(
            "retrying",
            f"Retrying: the last fetch failed ({account.last_error or 'no reason given'}).",
            "Nothing to do: it is tried again at the next scheduled fetch.",
        )
    if account.status == ExternalAccount.Status.ERROR:
        label = ListenSource(account.source).label
        return AccountState(
            "error",
            f"Needs attention: {account.last_error or 'the last fetch failed'}.",
            f"Check that {account.external_username!r} is your user name on {label} and that "
            "your listening history there is public, then Fetch now; or disconnect it.",
        )
    finished = account.last_ingest_finished_at
    when = f" (last fetched {timesince(finished, now)} ago)" if finished else ""
    return AccountState("ok", f"Up to date{when}.")


# --- A nomination's standings and grid, as text ------------------------------------------
# Numbers become strings here, once: the club page shows one per member per track, and
# the template engine localizes every number it prints (a fifth of the page's time at
# 50 members). The figures are the selector's, unchanged.


@dataclass(frozen=True)
class StandingRow:
    rank: int
    username: str
    heard: str  # "3/10"
    heard_words: str  # "3 of 10 tracks heard"
    percent: str  # of the tracklist heard, for the bar's width
    listen_count: str
    full_listens: str
    last_listen: datetime | None
    unresolved: str


def standing_rows(members: Sequence[Any]) -> list[StandingRow]:
    """``MemberStanding``s (best first) as the standings table prints them."""
    rows = []
    for rank, m in enumerate(members, start=1):
        p = m.progress
        rows.append(
            StandingRow(
                rank=rank,
                username=m.username,
                heard=f"{p.heard}/{p.tracklist_size}",
                heard_words=f"{p.heard} of {p.tracklist_size} tracks heard",
                percent=str(round(p.share_heard * 100)),
                listen_count=str(p.listen_count),
                full_listens=str(len(p.full_listens)),
                last_listen=p.last_listen,
                unresolved=str(m.unresolved_listens),
            )
        )
    return rows


# One grid cell's markup, heard or not: the grid has a cell per member per track
# (600 at 50 members), so its rows are joined here rather than looped in the template.
_HEARD_CELL = '<td class="num"><span class="heard">{}</span></td>'
_UNHEARD_CELL = '<td class="num"><span class="muted" aria-label="not heard">–</span></td>'


def grid_rows(tracklist: Sequence[Any], members: Sequence[Any]) -> list[tuple[str, SafeString]]:
    """Tracks × members: per track its label and the row's cells, each member's plays
    of it (a dash if unheard), in the members' order."""
    plays = [m.progress.plays for m in members]
    rows = []
    for t in tracklist:
        cells = []
        for member_plays in plays:
            found = member_plays.get(t.recording_id)
            # A count is an int: nothing in the cell needs escaping.
            cells.append(
                _HEARD_CELL.format(found.count) if found and found.count else _UNHEARD_CELL
            )
        rows.append((f"{t.number or t.position}. {t.title}", mark_safe("".join(cells))))  # noqa: S308
    return rows


# --- A bar chart drawn on the server --------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str  # the day or the week's first day, ISO
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    top: int  # the largest value, the y axis' end
    total: int


def bucket_counts(
    per_day: dict[date, int], *, first: date, last: date, step: str
) -> list[tuple[date, int]]:
    """Listens per day, or per week (weeks start on Monday), for every bucket in
    [first, last], empty ones included."""
    if step == "week":
        start = first - timedelta(days=first.weekday())
        buckets: dict[date, int] = {}
        day = start
        while day <= last:
            buckets[day] = 0
            day += timedelta(days=7)
        for day, n in per_day.items():
            week = day - timedelta(days=day.weekday())
            if week in buckets:
                buckets[week] += n
        return list(buckets.items())
    days = (last - first).days + 1
    return [
        (first + timedelta(days=i), per_day.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


def bar_chart(points: list[tuple[Any, int]], *, width: int = 720, height: int = 200) -> BarChart:
    """Bars scaled to the tallest, in an SVG user space of ``width`` × ``height``."""
    top = max((v for _, v in points), default=0)
    slot = width / max(len(points), 1)
    gap = min(2.0, slot / 4)
    bars = []
    for i, (label, value) in enumerate(points):
        h = (value / top) * (height - 4) if top else 0
        bars.append(
            Bar(
                label=str(label),
                value=value,
                x=round(i * slot + gap / 2, 2),
                y=round(height - h, 2),
                width=round(slot - gap, 2),
                height=round(h, 2),
            )
        )
    return BarChart(tuple(bars), width, height, top, sum(v for _, v in points))
