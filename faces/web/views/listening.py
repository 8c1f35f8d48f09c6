"""Your listening: now playing, the chart, top lists, recent listens, an album."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from clubs import selectors as club_selectors
from faces.web.presenting import (
    CHART_RANGES,
    CHART_STEPS,
    PERIODS,
    bar_chart,
    bucket_counts,
    choice,
    period_since,
)
from listens import selectors
from listens.now_playing import now_playing_for_user
from metadata.selectors import release_group_mbids_named

RECENT_ON_HOME = 10
LISTENS_PER_PAGE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    user = request.user
    period = choice(request.GET.get("period"), PERIODS, "month")
    days = choice(request.GET.get("range"), CHART_RANGES, "30")
    step = choice(request.GET.get("step"), CHART_STEPS, "day")
    since = period_since(period, now)
    limit = 10
    albums = selectors.top_albums(user_id=user.pk, since=since, limit=limit)
    album_mbids = release_group_mbids_named(
        albums=[(a["album_name"], a["artist_name"]) for a in albums]
    )
    for album in albums:
        album["mbid"] = album_mbids.get((album["album_name"], album["artist_name"]))
    first = (now - timedelta(days=CHART_RANGES[days][1] - 1)).date()
    chart_since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    per_day = selectors.listens_per_day(user_id=user.pk, since=chart_since, until=now)
    chart = bar_chart(bucket_counts(per_day, first=first, last=now.date(), step=step))
    recent = _own_listens(request).order_by("-listened_at", "-pk")[:RECENT_ON_HOME]
    playing = now_playing_for_user(username=user.get_username())
    context = {
        "nav": "home",
        "now_playing": playing,
        "playing_any": any(entry.now_playing for entry in playing),
        "chart_title": f"Listens {CHART_STEPS[step]}, {CHART_RANGES[days][0].lower()}",
        "period": period,
        "periods": PERIODS,
        "range": days,
        "ranges": CHART_RANGES,
        "step": step,
        "steps": CHART_STEPS,
        "chart": chart,
        "top_artists": selectors.top_artists(user_id=user.pk, since=since, limit=limit),
        "top_albums": albums,
        "top_tracks": selectors.top_recordings(user_id=user.pk, since=since, limit=limit),
        "recent": list(recent),
    }
    return render(request, "web/home.html", context)


def _own_listens(request: HttpRequest):
    """The member's own counted listens (staff too: this page is about you)."""
    return selectors.listens_filter(
        selectors.listens_visible_to(viewer=request.user).filter(user_id=request.user.pk)
    )


@login_required
def listens(request: HttpRequest) -> HttpResponse:
    """Recent listens, newest first, paged by position (older than the last one shown)
    so a page costs the same at any depth."""
    rows = _own_listens(request).order_by("-listened_at", "-pk")
    before = request.GET.get("before", "")
    at_text, _, pk_text = before.partition("~")
    at = parse_datetime(at_text) if at_text else None
    if at is not None and at.tzinfo is not None and pk_text.isdigit():
        rows = rows.filter(Q(listened_at__lt=at) | Q(listened_at=at, pk__lt=int(pk_text)))
    page = list(rows[: LISTENS_PER_PAGE + 1])
    older = None
    if len(page) > LISTENS_PER_PAGE:
        page = page[:LISTENS_PER_PAGE]
        last = page[-1]
        older = f"{last.listened_at.isoformat()}~{last.pk}"
    return render(
        request,
        "web/listens.html",
        {"nav": "listens", "listens": page, "older": older, "paged": bool(before)},
    )


@login_required
def album(request: HttpRequest, mbid: str) -> HttpResponse:
    """A release group: its tracklist with your plays, first and last listen, full listens."""
    group = club_selectors.release_group_for_progress(mbid=mbid)
    if group is None:
        raise Http404("No stored album with this MBID.")
    found, progress = club_selectors.user_album_progress(user_id=request.user.pk, group=group)
    tracks = [(t, progress.plays.get(t.recording_id)) for t in found.tracklist]
    bonus = [(b.track, progress.plays.get(b.track.recording_id)) for b in found.bonus]
    context = {
        "nav": "home",
        "album": found,
        "progress": progress,
        "percent": round(progress.share_heard * 100),
        "tracks": tracks,
        "bonus": bonus,
        "cover_mbid": found.mbid,
    }
    return render(request, "web/album.html", context)
