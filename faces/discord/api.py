"""REST endpoints for a frontend's Discord buttons: the one-time codes the members'
web hands out (link your Discord user; bind a Discord server to your club). Each
answer holds the code once, with when it stops working and what to type in Discord.
Served whatever the settings, answering 404 ``discord_not_configured`` while this
Sidetrack has no Discord application, so a frontend can hide its buttons."""

from __future__ import annotations

from datetime import datetime

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clubs.api import CLUB_ID, NOT_OWNER, club_rules, member_club
from faces.discord.providers import discord_enabled
from faces.discord.services import CODE_LIFETIME, club_code_create, link_code_create
from sidetrack.api import error_response

NOT_CONFIGURED = error_response(
    "`discord_not_configured`: this Sidetrack has no Discord application "
    "(DISCORD_APPLICATION_ID, DISCORD_PUBLIC_KEY); for a club, also: no such club, or "
    "you are not a member of it."
)


class DiscordCodeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Shown this once; only its digest is stored.")
    expires_at = serializers.DateTimeField()
    command = serializers.CharField(help_text="What to type in Discord.")


def _code_response(code: str, now: datetime) -> Response:
    body = {"code": code, "expires_at": now + CODE_LIFETIME, "command": f"/link {code}"}
    response = Response(DiscordCodeSerializer(body).data, status=status.HTTP_201_CREATED)
    response["Cache-Control"] = "no-store"
    return response


def _require_discord() -> None:
    if not discord_enabled():
        raise NotFound("Discord is not set up on this Sidetrack.", code="discord_not_configured")


@extend_schema(tags=["discord"])
class DiscordLinkCodeView(APIView):
    @extend_schema(request=None, responses={201: DiscordCodeSerializer, 404: NOT_CONFIGURED})
    def post(self, request: Request) -> Response:
        """A one-time code that links the Discord user who runs ``/link CODE`` to you;
        your Discord commands then answer for your listening."""
        _require_discord()
        now = timezone.now()
        return _code_response(link_code_create(user=request.user, now=now), now)


@extend_schema(tags=["discord"], parameters=[CLUB_ID])
class ClubDiscordCodeView(APIView):
    @extend_schema(
        request=None,
        responses={201: DiscordCodeSerializer, 403: NOT_OWNER, 404: NOT_CONFIGURED},
    )
    def post(self, request: Request, club_id: str) -> Response:
        """A one-time code that binds a Discord server to the club (owner only):
        someone with Manage Server runs ``/link CODE`` there. Members still join by
        their own ``/club join``."""
        club = member_club(request, club_id)
        _require_discord()
        now = timezone.now()
        with club_rules():
            code = club_code_create(club=club, actor=request.user, now=now)
        return _code_response(code, now)


urlpatterns = [
    path("discord/link-code/", DiscordLinkCodeView.as_view(), name="api-discord-link-code"),
    path(
        "clubs/<str:club_id>/discord-code/",
        ClubDiscordCodeView.as_view(),
        name="api-club-discord-code",
    ),
]
