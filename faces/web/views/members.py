"""A club's members and invitations: who is in it and how they joined (every member
reads it); inviting, revoking and removing (the owner), and the code that binds the
club's Discord server (the owner)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clubs import selectors, services
from clubs.models import Club, Membership
from faces.discord.providers import discord_enabled
from faces.discord.services import CODE_LIFETIME, club_code_create
from faces.web.forms import InvitationForm
from faces.web.views.clubs import _club


def _page(
    request: HttpRequest,
    club: Club,
    *,
    form: InvitationForm | None = None,
    new_link: str = "",
    new_invitation: Any = None,
    discord_code: str = "",
    status: int = 200,
) -> HttpResponse:
    owner = club.owner_id == request.user.pk
    context: dict[str, Any] = {
        "nav": "clubs",
        "club": club,
        "is_owner": owner,
        "memberships": list(selectors.memberships_of(club=club)),
        "legacy": Membership.JoinedVia.LEGACY,
    }
    if owner:
        context.update(
            form=form or InvitationForm(),
            invitations=list(selectors.invitations_of(club=club, now=timezone.now())),
            new_link=new_link,
            new_invitation=new_invitation,
            members_see=services.MEMBERS_SEE,
            discord_enabled=discord_enabled(),
            discord_code=discord_code,
            code_minutes=int(CODE_LIFETIME.total_seconds() // 60),
        )
    response = render(request, "web/members.html", context, status=status)
    if new_link or discord_code:
        # A code shown once must not be kept by a cache or the browser's history.
        response["Cache-Control"] = "no-store"
    return response


@login_required
def members(request: HttpRequest, club_id: int) -> HttpResponse:
    return _page(request, _club(request, club_id))


@login_required
@require_POST
def invitation_create(request: HttpRequest, club_id: int) -> HttpResponse:
    # Non-members get 404; the services refuse members who are not the owner.
    club = _club(request, club_id)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _page(request, club, form=form, status=400)
    data = form.cleaned_data
    now = timezone.now()
    try:
        invitation, code = services.invitation_create(
            club=club,
            actor=request.user,
            invitee_username=data["invitee_username"],
            max_uses=data["max_uses"],
            expires_at=now + timedelta(days=data["expires_in_days"]),
            now=now,
        )
    except services.ClubError as refused:
        messages.error(request, str(refused))
        status = 409 if refused.code in services.CAP_RULES else 403
        return _page(request, club, form=form, status=status)
    # Rendered, not redirected: the link is shown this once; only its digest is stored.
    link = request.build_absolute_uri(reverse("web:join", kwargs={"code": code}))
    return _page(request, club, new_link=link, new_invitation=invitation)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, club_id: int, invitation_id: int) -> HttpResponse:
    club = _club(request, club_id)
    invitation = (
        selectors.invitations_of(club=club, now=timezone.now()).filter(pk=invitation_id).first()
    )
    if invitation is None:
        raise Http404("No such open invitation in this club.")
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except services.ClubError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, f"Revoked the invitation {invitation.prefix}…; it no longer works."
        )
    return redirect("web:members", club_id=club.pk)


@login_required
@require_POST
def member_remove(request: HttpRequest, club_id: int) -> HttpResponse:
    club = _club(request, club_id)
    username = request.POST.get("username", "")
    try:
        services.member_remove(club=club, actor=request.user, username=username)
    except services.ClubError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Removed {username} from {club.name}.")
    return redirect("web:members", club_id=club.pk)


@login_required
@require_POST
def discord_club_code(request: HttpRequest, club_id: int) -> HttpResponse:
    """The owner's one-time code that binds a Discord server to the club (the web's
    door to ``manage.py discord_club_code``)."""
    club = _club(request, club_id)
    if not discord_enabled():
        messages.error(request, "Discord is not set up on this Sidetrack.")
        return redirect("web:members", club_id=club.pk)
    try:
        code = club_code_create(club=club, actor=request.user, now=timezone.now())
    except services.ClubError as refused:
        messages.error(request, str(refused))
        return redirect("web:members", club_id=club.pk)
    return _page(request, club, discord_code=code)
