"""Discord's one-time codes from the web: a member links their Discord user from the
sources page; a club's owner binds the club's server from the members page. The code
shown is the one ``/link`` accepts in Discord."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from faces.discord.models import DiscordLink, GuildClub, LinkCode
from faces.discord.services import MANAGE_GUILD, code_redeem
from tests.web.conftest import make_club

pytestmark = pytest.mark.django_db


def _shown(html: bytes, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">/link ([^<]+)<', html.decode())
    assert found, f"no {testid} on the page"
    return found.group(1)


@pytest.fixture
def discord_on(settings):
    settings.DISCORD_APPLICATION_ID = "1100000000000000001"
    settings.DISCORD_PUBLIC_KEY = "ab" * 32


def test_a_member_makes_a_link_code_shown_once_that_links_their_discord_user(
    web_alice, alice, discord_on
):
    page = web_alice.get("/sources/")
    assert "Make a Discord link code" in page.content.decode()
    made = web_alice.post("/sources/discord/")
    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    code = _shown(made.content, "discord-link-code")
    assert "valid 30 minutes" in made.content.decode()
    assert code not in web_alice.get("/sources/").content.decode()

    code_redeem(
        code=code,
        discord_id="4242",
        discord_name="alice#1",
        guild_id=None,
        permissions=0,
        now=timezone.now(),
    )
    assert DiscordLink.objects.get(discord_id="4242").user == alice


def test_the_owner_makes_a_server_code_that_binds_the_club(web_alice, alice, bob, discord_on):
    club = make_club(alice, bob)
    made = web_alice.post(f"/clubs/{club.pk}/discord-code/")
    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    code = _shown(made.content, "discord-club-code")
    code_redeem(
        code=code,
        discord_id="4242",
        discord_name="alice#1",
        guild_id="777",
        permissions=MANAGE_GUILD,
        now=timezone.now(),
    )
    assert GuildClub.objects.get(guild_id="777").club == club


def test_a_member_gets_no_server_code(web_bob, alice, bob, discord_on):
    club = make_club(alice, bob)
    assert "Make a server code" not in web_bob.get(f"/clubs/{club.pk}/members/").content.decode()
    refused = web_bob.post(f"/clubs/{club.pk}/discord-code/", follow=True)
    assert "Only the club&#x27;s owner may do this." in refused.content.decode()
    assert not LinkCode.objects.exists()


def test_without_discord_configured_the_pages_say_so_and_make_no_code(web_alice, alice, settings):
    settings.DISCORD_APPLICATION_ID = ""
    settings.DISCORD_PUBLIC_KEY = ""
    club = make_club(alice)
    for url in ("/sources/", f"/clubs/{club.pk}/members/"):
        text = web_alice.get(url).content.decode()
        assert "Discord is not set up on this Sidetrack" in text
    assert "Make a Discord link code" not in web_alice.get("/sources/").content.decode()
    assert "Make a server code" not in web_alice.get(f"/clubs/{club.pk}/members/").content.decode()
    for url in ("/sources/discord/", f"/clubs/{club.pk}/discord-code/"):
        told = web_alice.post(url, follow=True)
        assert "Discord is not set up on this Sidetrack." in told.content.decode()
    assert not LinkCode.objects.exists()
