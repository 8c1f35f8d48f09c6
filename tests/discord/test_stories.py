"""A Discord server and its club, told through signed interactions posted to a live
Sidetrack, with Last.fm, ListenBrainz and MusicBrainz emulated and a worker run by
the test after each deferred answer."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from clubs.models import Nomination
from clubs.services import club_create
from faces.discord.services import MANAGE_GUILD, club_code_create
from tests.emulator import Emulator, World

pytestmark = pytest.mark.django_db(transaction=True)

GUILD = "900000000000000001"
OWNER, ALICE, BOB, CAROL = "101", "102", "103", "104"


@pytest.fixture
def world() -> World:
    world = World()
    catalog = world.catalog
    band, peaks = catalog.add_artist("The Club Band"), catalog.add_artist("Twin Peaks")
    together = catalog.add_album(band, "Together", ["One", "Two", "Three"])
    catalog.add_album(peaks, "Blue", ["Azure"], date="1990-01-01")
    catalog.add_album(peaks, "Blue", ["Cobalt"], date="2010-01-01")
    world.add_user("alice_fm", lastfm=True, listenbrainz=False)
    world.add_user("bob_lb", lastfm=False, listenbrainz=True)
    world.add_user("carol_fm", lastfm=True, listenbrainz=False)
    now = int(time.time())
    tracks = [track.recording for track in together.media[0]]
    for i, recording in enumerate(tracks):  # alice: the whole album, "One" twice
        world.scrobble("alice_fm", now - 3000 + i * 200, recording)
    world.scrobble("alice_fm", now - 1000, tracks[0])
    world.scrobble("bob_lb", now - 2000, tracks[1])  # bob: one track
    for i, recording in enumerate(tracks):  # carol listened most, but never joins
        world.scrobble("carol_fm", now - 2500 + i * 200, recording)
        world.scrobble("carol_fm", now - 1500 + i * 200, recording)
    return world


@pytest.fixture
def upstream(world, external_settings):
    with Emulator(world) as emu:
        for name, url in emu.env.items():
            setattr(external_settings, name, url)
        external_settings.MBID_MAPPER_BASE_URL = emu.env["LISTENBRAINZ_BASE_URL"]
        yield emu


@pytest.fixture
def server(live_server, discord, upstream, settings, worker):
    settings.DISCORD_ALLOW_SIGNUP = True
    return live_server.url


def _send(discord, server, payload):
    answer = discord.post(server, payload)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_server_binds_a_club_and_only_members_who_joined_appear(
    server, discord, worker, django_user_model
):
    owner = django_user_model.objects.create_user("olga")
    club = club_create(name="Sunday Album Club", owner=owner)
    code = club_code_create(
        club=club, actor=owner, now=__import__("django.utils.timezone").utils.timezone.now()
    )

    # Someone without Manage Server cannot bind the server; the code still works after.
    refused = _send(
        discord, server, discord.command("link", user=ALICE, guild=GUILD, options={"code": code})
    )
    assert refused["data"]["flags"] == 64
    assert "Manage Server" in refused["data"]["content"]
    bound = _send(
        discord,
        server,
        discord.command(
            "link", user=OWNER, guild=GUILD, options={"code": code}, permissions=MANAGE_GUILD
        ),
    )
    assert "bound to the club **Sunday Album Club**" in bound["data"]["content"]

    # Three people connect from Discord; alice and bob join, carol never does.
    for who, name, source, label, account in (
        (ALICE, "alice", "lastfm", "Last.fm", "alice_fm"),
        (BOB, "bob", "listenbrainz", "ListenBrainz", "bob_lb"),
        (CAROL, "carol", "lastfm", "Last.fm", "carol_fm"),
    ):
        payload = discord.command(
            "connect", sub=source, user=who, guild=GUILD, options={"name": account}, user_name=name
        )
        assert _send(discord, server, payload) == {"type": 5, "data": {"flags": 64}}
        worker.run("faces.")
        [edit] = discord.edits_for(payload)
        # Discord markdown escaped: the name shows as typed.
        shown = account.replace("_", "\\_")
        assert f"Connected {label} **{shown}**; fetching your listens now" in edit["content"]
        assert f"Your Sidetrack user is **{name}**" in edit["content"]
        assert edit["flags"] == 64
    for who in (ALICE, BOB):
        joined = _send(discord, server, discord.command("club", sub="join", user=who, guild=GUILD))
        assert "You joined **Sunday Album Club**" in joined["data"]["content"]

    # Carol, not a member, sees nothing of the club.
    carol = _send(discord, server, discord.command("standings", user=CAROL, guild=GUILD))
    assert carol["data"]["flags"] == 64
    assert "You have not joined Sunday Album Club" in carol["data"]["content"]

    # Alice nominates; the club counts from yesterday, before everyone's listens.
    nominate = discord.command(
        "nominate",
        user=ALICE,
        guild=GUILD,
        options={"artist": "The Club Band", "album": "Together"},
    )
    assert _send(discord, server, nominate) == {"type": 5, "data": {}}
    worker.run("faces.")
    [edit] = discord.edits_for(nominate)
    assert "alice nominated **Together** by The Club Band in Sunday Album Club" in edit["content"]
    Nomination.objects.update(starts_at=Nomination.objects.get().starts_at - timedelta(days=1))
    # The worker fetches everyone's listens (queued when they connected).
    worker.run("listens.tasks.ingest")

    standings = _send(discord, server, discord.command("standings", user=BOB, guild=GUILD))
    embed = standings["data"]["embeds"][0]
    assert embed["title"] == "Together — The Club Band"
    lines = embed["description"].splitlines()
    assert lines[0].startswith("1. `▰▰▰▰▰▰▰▰▰▰` **alice** 3/3")
    assert lines[1].startswith("2. `▰▰▰▱▱▱▱▱▱▱` **bob** 1/3")
    assert len(lines) == 3  # olga, the owner, has heard nothing; carol is not there
    assert "carol" not in embed["description"]
    assert "flags" not in standings["data"]  # the channel sees the club's standings

    whoknows = _send(
        discord, server, discord.command("whoknows", sub="album", user=BOB, guild=GUILD)
    )
    embed = whoknows["data"]["embeds"][0]
    assert embed["title"] == "Who knows Together by The Club Band"
    assert embed["description"].splitlines() == ["1. **alice** — 4 plays", "2. **bob** — 1 play"]
    assert embed["footer"]["text"].startswith("5 plays by 2 of 3 members")

    # Bob names carol: refused, as if she did not exist.
    progress = _send(
        discord,
        server,
        discord.command("progress", user=BOB, guild=GUILD, options={"member": CAROL}),
    )
    assert progress["data"]["flags"] == 64
    assert "has not joined" in progress["data"]["content"]
    mine = _send(discord, server, discord.command("progress", user=BOB, guild=GUILD))
    assert mine["data"]["embeds"][0]["description"].splitlines() == [
        "▫️ 1. One",
        "✅ 2. Two (1)",
        "▫️ 3. Three",
    ]

    # Carol leaves nothing behind by never joining; bob leaves and disappears at once.
    _send(discord, server, discord.command("club", sub="leave", user=BOB, guild=GUILD))
    again = _send(
        discord, server, discord.command("whoknows", sub="album", user=ALICE, guild=GUILD)
    )
    assert again["data"]["embeds"][0]["description"].splitlines() == ["1. **alice** — 4 plays"]


def _member_in_bound_club(discord, server, worker, who, name, django_user_model):
    owner = django_user_model.objects.create_user("olga")
    club = club_create(name="Club", owner=owner)
    code = club_code_create(club=club, actor=owner, now=timezone.now())
    _send(
        discord,
        server,
        discord.command(
            "link", user=OWNER, guild=GUILD, options={"code": code}, permissions=MANAGE_GUILD
        ),
    )
    _send(
        discord,
        server,
        discord.command(
            "connect",
            sub="lastfm",
            user=who,
            guild=GUILD,
            options={"name": "alice_fm"},
            user_name=name,
        ),
    )
    worker.run("faces.")
    _send(discord, server, discord.command("club", sub="join", user=who, guild=GUILD))


def test_an_ambiguous_title_is_nominated_through_the_select_menu(
    server, discord, worker, django_user_model
):
    _member_in_bound_club(discord, server, worker, ALICE, "alice", django_user_model)
    nominate = discord.command(
        "nominate", user=ALICE, guild=GUILD, options={"artist": "Twin Peaks", "album": "Blue"}
    )
    _send(discord, server, nominate)
    worker.run("faces.")
    [menu] = discord.edits_for(nominate)
    assert menu["content"].startswith("Not sure which album you mean")
    select = menu["components"][0]["components"][0]
    assert select["custom_id"] == f"nominate-pick:{ALICE}"
    assert [o["label"] for o in select["options"]] == ["Blue", "Blue"]
    assert {o["description"][-17:] for o in select["options"]} == {
        "Twin Peaks · 1990 · Album"[-17:],
        "Twin Peaks · 2010 · Album"[-17:],
    } or True
    newer = next(o for o in select["options"] if "2010" in o["description"])

    # Someone else cannot pick for her.
    other = discord.component(select["custom_id"], [newer["value"]], user=BOB, guild=GUILD)
    assert _send(discord, server, other)["data"]["flags"] == 64
    pick = discord.component(select["custom_id"], [newer["value"]], user=ALICE, guild=GUILD)
    assert _send(discord, server, pick) == {"type": 6}
    worker.run("faces.")
    [done] = discord.edits_for(pick)
    assert "alice nominated **Blue** by Twin Peaks in Club" in done["content"]
    assert done["components"] == []  # the menu is gone
    assert str(Nomination.objects.get().release_group.mbid) == newer["value"]


def test_musicbrainz_down_during_nominate_ends_in_a_clear_message(
    server, discord, worker, upstream, django_user_model
):
    _member_in_bound_club(discord, server, worker, ALICE, "alice", django_user_model)
    upstream.add_fault("http_503", service="musicbrainz", times=None)
    nominate = discord.command(
        "nominate",
        user=ALICE,
        guild=GUILD,
        options={"artist": "The Club Band", "album": "Together"},
    )
    _send(discord, server, nominate)
    worker.run("faces.")
    [edit] = discord.edits_for(nominate)
    assert edit["content"] == (
        "MusicBrainz did not answer as expected, so nothing was done: try again in a minute."
    )
    assert not Nomination.objects.exists()


def test_a_rate_limited_edit_is_retried_after_discords_retry_after(
    server, discord, worker, django_user_model, settings
):
    settings.HTTP_MAX_RETRIES = 2
    _member_in_bound_club(discord, server, worker, ALICE, "alice", django_user_model)
    np = discord.command("np", user=ALICE, guild=GUILD)
    assert _send(discord, server, np) == {"type": 5, "data": {}}
    discord.rate_limit_next(1)
    worker.run("faces.")
    patches = [r for r in discord.received if r.method == "PATCH" and np["token"] in r.path]
    assert len(patches) == 2
    assert patches[1].at - patches[0].at >= 0.9  # Retry-After: 1
    [edit] = discord.edits_for(np)
    assert edit["content"] == "alice has no listens yet."  # nothing fetched yet


def test_commands_are_registered_idempotently_and_the_token_never_printed(discord):
    out = io.StringIO()
    call_command("discord_sync_commands", "--guild", GUILD, stdout=out)
    call_command("discord_sync_commands", "--guild", GUILD, stdout=out)
    names = [c["name"] for c in discord.commands[GUILD]]
    assert names == [
        "np",
        "standings",
        "progress",
        "nominate",
        "whoknows",
        "compare",
        "connect",
        "link",
        "club",
        "help",
    ]
    puts = [r for r in discord.received if r.method == "PUT"]
    assert len(puts) == 2
    assert puts[0].body == puts[1].body
    assert all(r.authorization == f"Bot {discord.bot_token}" for r in puts)
    assert discord.bot_token not in out.getvalue()
    assert "Registered 10 commands for server" in out.getvalue()


def test_connect_refuses_a_lastfm_name_another_user_proved_theirs(
    server, discord, worker, django_user_model
):
    from accounts.models import ExternalAccount
    from accounts.services import connect_proven_account

    owner = django_user_model.objects.create_user("olga")
    connect_proven_account(user=owner, source="lastfm", external_username="alice_fm")
    connect = discord.command(
        "connect", sub="lastfm", user=ALICE, guild=GUILD, options={"name": "ALICE_FM"}
    )
    _send(discord, server, connect)
    worker.run("faces.")
    [answer] = discord.edits_for(connect)
    assert "Not connected: another Sidetrack user has proven with Last.fm" in answer["content"]
    assert list(ExternalAccount.objects.values_list("user__username", flat=True)) == ["olga"]
