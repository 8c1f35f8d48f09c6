"""A frontend's Discord buttons: codes from /api/ that Discord's ``/link`` takes, signed
and posted to a live Sidetrack by the Discord emulator."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from clubs.services import club_create
from faces.discord.models import DiscordLink, GuildClub
from faces.discord.services import MANAGE_GUILD
from tests.api.conftest import client_for
from tests.clubs.conftest import make_club

pytestmark = pytest.mark.django_db(transaction=True)

GUILD = "900000000000000002"
OLGA_ON_DISCORD = "201"


def _link(discord, server: str, code: str, **extra) -> str:
    answer = discord.post(
        server, discord.command("link", user=OLGA_ON_DISCORD, options={"code": code}, **extra)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["content"]


def _issued(response, before: datetime) -> str:
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"  # the code is shown this once
    body = response.json()
    assert body["command"] == f"/link {body['code']}"
    expires = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(minutes=29) < expires <= timezone.now() + timedelta(minutes=30)
    return body["code"]


def test_a_link_code_from_the_api_links_the_discord_user_who_types_it(
    live_server, discord, django_user_model
):
    olga = django_user_model.objects.create_user("olga")
    code = _issued(client_for(olga).post("/api/discord/link-code/"), timezone.now())

    assert _link(discord, live_server.url, code) == "Linked to Sidetrack user **olga**."
    assert DiscordLink.objects.get(discord_id=OLGA_ON_DISCORD).user == olga
    # Used up.
    assert "used already" in _link(discord, live_server.url, code)


def test_the_owners_club_code_binds_the_server_and_nobody_else_gets_one(
    live_server, discord, django_user_model
):
    olga, bob, eve = (django_user_model.objects.create_user(n) for n in ("olga", "bob", "eve"))
    club = make_club(olga, bob)
    url = f"/api/clubs/{club.pk}/discord-code/"

    refused = client_for(bob).post(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Only the club's owner may do this."
    assert client_for(eve).post(url).status_code == 404  # not a member: no such club
    assert client_for(None).post(url).status_code == 401

    code = _issued(client_for(olga).post(url), timezone.now())
    bound = _link(discord, live_server.url, code, guild=GUILD, permissions=MANAGE_GUILD)
    assert "bound to the club **Sunday Album Club**" in bound
    assert GuildClub.objects.get(guild_id=GUILD).club == club


def test_without_a_discord_application_the_endpoints_say_so(django_user_model, settings):
    settings.DISCORD_APPLICATION_ID = settings.DISCORD_PUBLIC_KEY = ""
    olga = django_user_model.objects.create_user("olga")
    club = club_create(name="Quiet Club", owner=olga)

    for url in ("/api/discord/link-code/", f"/api/clubs/{club.pk}/discord-code/"):
        response = client_for(olga).post(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "discord_not_configured"
