"""Clubs: your clubs, a nomination's standings, past nominations, nominating an album,
leaving a club, comparing two members."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from clubs import selectors, services
from clubs.models import Club, Nomination
from faces.web.forms import AlbumSearchForm, NominateForm
from faces.web.presenting import grid_rows, standing_rows
from metadata.services import search_albums
from sidetrack.http.errors import ExternalApiError, NotFoundError

logger = logging.getLogger(__name__)

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
    }
    if shown is None:
        context["member_count"] = len(selectors.member_user_ids(club=club))
    else:
        standings = selectors.nomination_standings(nomination=shown, now=now)
        context.update(
            standings=standings,
            totals=standings.totals,
            # The standings list every member: no second read of the membership.
            member_count=len(standings.members),
            rows=standing_rows(standings.members),
            grid=grid_rows(standings.album.tracklist, standings.members),
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


# What a member reads when MusicBrainz fails inside the request's upstream deadline
# (UPSTREAM_DEADLINE_SECONDS): nothing was nominated, and trying again is safe.
MUSICBRAINZ_DOWN = (
    "MusicBrainz did not answer in time or is refusing requests just now, so nothing "
    "was searched or nominated. Try again in a minute."
)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def nominate(request: HttpRequest, club_id: int) -> HttpResponse:
    """Search MusicBrainz for an album (GET), show the ranked candidates and why they
    ranked so, nominate the one picked (POST): the API's search and nominate services."""
    club = _club(request, club_id)
    if request.method == "POST":
        return _nominate_picked(request, club)
    form = AlbumSearchForm(request.GET or None)
    context: dict[str, Any] = {"nav": "clubs", "club": club, "form": form}
    status = 200
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            context["choice"] = search_albums(
                artist_name=data["artist"], album_title=data["title"], year=data["year"]
            )
        except ExternalApiError as error:
            logger.warning("album search for the web failed: %s", error)
            context["upstream_error"] = MUSICBRAINZ_DOWN
            status = 503
    elif form.is_bound:
        status = 400
    return render(request, "web/nominate.html", context, status=status)


def _nominate_picked(request: HttpRequest, club: Club) -> HttpResponse:
    form = NominateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the albums found to nominate it.")
        return redirect("web:nominate", club_id=club.pk)
    mbid = str(form.cleaned_data["release_group_mbid"])
    try:
        nomination = services.nominate(
            club=club,
            actor=request.user,
            album=services.AlbumRequest(release_group_mbid=mbid),
            starts_at=timezone.now(),
        )
    except NotFoundError:
        messages.error(request, f"MusicBrainz has no release group {mbid}; nothing nominated.")
        return redirect("web:nominate", club_id=club.pk)
    except ExternalApiError as error:
        logger.warning("nominating %s from the web failed: %s", mbid, error)
        messages.error(request, MUSICBRAINZ_DOWN)
        return redirect("web:nominate", club_id=club.pk)
    except services.ClubError as refused:
        messages.error(request, str(refused))
        return redirect("web:club", club_id=club.pk)
    group = nomination.release_group
    messages.success(request, f"Nominated {group.title}: it is the club's album from now on.")
    return redirect("web:club", club_id=club.pk)


@login_required
@require_POST
def leave(request: HttpRequest, club_id: int) -> HttpResponse:
    club = _club(request, club_id)
    try:
        services.member_leave(club=club, user=request.user)
    except services.ClubError as refused:
        messages.error(request, str(refused))
        return redirect("web:club", club_id=club.pk)
    messages.success(request, f"You left {club.name}. Your listens are yours and stay.")
    return redirect("web:clubs")
