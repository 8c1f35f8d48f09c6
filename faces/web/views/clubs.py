"""Clubs: your clubs, a nomination's standings, past nominations, comparing two members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clubs import selectors
from clubs.models import Club, Nomination

COMPARE_LIMIT = 50
COMPARE_CHART_ROWS = 10


@login_required
def club_list(request: HttpRequest) -> HttpResponse:
    clubs = selectors.clubs_of(user=request.user).order_by("name", "pk")
    return render(request, "web/clubs.html", {"nav": "clubs", "clubs": list(clubs)})


def _club(request: HttpRequest, club_id: int) -> Club:
    """The club if the member is in it; 404 for everyone else, staff included."""
    club = selectors.club_get(user=request.user, club_id=club_id)
    if club is None:
        raise Http404("No such club.")
    return club


def _current(nominations: list[Nomination], now: Any) -> Nomination | None:
    """The running nomination (the latest started), else the next one, else the last."""
    running = [n for n in nominations if n.starts_at <= now and (not n.ends_at or n.ends_at > now)]
    if running:
        return running[0]
    upcoming = [n for n in nominations if n.starts_at > now]
    return upcoming[-1] if upcoming else (nominations[0] if nominations else None)


@login_required
def club(request: HttpRequest, club_id: int, nomination_id: int | None = None) -> HttpResponse:
    club = _club(request, club_id)
    now = timezone.now()
    nominations = list(selectors.nominations_of(club=club))
    if nomination_id is None:
        shown = _current(nominations, now)
    else:
        shown = next((n for n in nominations if n.pk == nomination_id), None)
        if shown is None:
            raise Http404("No such nomination in this club.")
    context: dict[str, Any] = {
        "nav": "clubs",
        "club": club,
        "nominations": nominations,
        "shown": shown,
        "members": selectors.member_user_ids(club=club),
    }
    if shown is not None:
        standings = selectors.nomination_standings(nomination=shown, now=now)
        tracklist = standings.album.tracklist
        context.update(
            standings=standings,
            totals=standings.totals,
            rows=[
                (rank, m, round(m.progress.share_heard * 100))
                for rank, m in enumerate(standings.members, start=1)
            ],
            # Tracks × members: a member's plays of each track, in tracklist order.
            grid=[
                (t, [m.progress.plays.get(t.recording_id) for m in standings.members])
                for t in tracklist
            ],
            running=shown.starts_at <= now and (not shown.ends_at or shown.ends_at > now),
        )
    return render(request, "web/club.html", context)


@login_required
def compare(request: HttpRequest, club_id: int) -> HttpResponse:
    club = _club(request, club_id)
    members = {name: uid for uid, name in selectors.member_user_ids(club=club).items()}
    me = request.user.get_username()
    name_a = request.GET.get("a") or me
    name_b = request.GET.get("b") or next((n for n in members if n != name_a), name_a)
    context: dict[str, Any] = {
        "nav": "clubs",
        "club": club,
        "members": list(members),
        "a": name_a,
        "b": name_b,
    }
    if name_a not in members or name_b not in members:
        context["error"] = "Pick two members of this club."
        return render(request, "web/compare.html", context, status=404)
    comparison = selectors.compare_users(
        user_a=members[name_a], user_b=members[name_b], limit=COMPARE_LIMIT
    )
    shared = comparison.artists.shared[:COMPARE_CHART_ROWS]
    top = max([max(s.listens_a, s.listens_b) for s in shared], default=0)
    bars = [
        (
            s,
            round(100 * s.listens_a / top, 1) if top else 0,
            round(100 * s.listens_b / top, 1) if top else 0,
        )
        for s in shared
    ]
    context.update(comparison=comparison, bars=bars, chart_height=len(bars) * 34 + 10)
    return render(request, "web/compare.html", context)
