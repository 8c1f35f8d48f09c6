"""The members' web in a real browser (Debian's Chromium through Playwright), on a
phone-sized and a desktop-sized screen, with axe-core checking every page.

Cover art is refused by the browser here (no network): every page must still lay out.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clubs.services import AlbumRequest
from clubs.services import nominate as club_nominate
from tests.admin.test_browser import browser  # noqa: F401 - the shared Chromium fixture
from tests.api.conftest import make_account, make_listen
from tests.web.conftest import make_club, nominate

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SERIOUS = ("serious", "critical")
# scripts/screenshots sets this: every page is saved there at both widths.
SCREENSHOTS = (
    Path(os.environ["SIDETRACK_SCREENSHOTS"]) if os.environ.get("SIDETRACK_SCREENSHOTS") else None
)


@pytest.fixture
def member_world(alice, bob, world):
    """Alice listened over the last weeks, half the nominated album among it; Bob too."""
    now = timezone.now()
    account = make_account(alice, name="alice-fm", status="ok")
    for day in range(20):
        for i in range(day % 4 + 1):
            song = world.songs[(day + i) % 10]
            make_listen(
                account,
                at=now - timedelta(days=day, minutes=10 * i),
                recording=song,
                track=song.title,
                artist="The Weeknights",
                album="Night Drive",
            )
    make_listen(account, at=now - timedelta(hours=3), track="Unknown Song", artist="Nobody")
    for i, song in enumerate(world.songs[:3]):
        make_listen(make_account(bob), at=now - timedelta(hours=5, minutes=i), recording=song)
    club = make_club(alice, bob)
    nominate(club, world.studio, starts_at=now - timedelta(days=30))
    return club


def pages(club, world) -> dict[str, str]:
    """Screenshot name -> URL of every page a member sees."""
    return {
        "home": "/",
        "home-weekly-all-time": "/?step=week&range=90&period=all",
        "listens": "/listens/",
        "album": f"/albums/{world.studio.mbid}/",
        "sources": "/sources/",
        "clubs": "/clubs/",
        "club": f"/clubs/{club.pk}/",
        "compare": f"/clubs/{club.pk}/compare/?b=bob",
        "members": f"/clubs/{club.pk}/members/",
        "password": "/password/",
    }


def shoot(page, name: str, viewport: dict[str, int]) -> None:
    if SCREENSHOTS is None:
        return
    page.screenshot(path=SCREENSHOTS / f"{name}-{viewport['width']}.png", full_page=True)


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/signin/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def screen(chromium, viewport: dict[str, int]):
    """A fresh browser context (its own cookies) at ``viewport``, cover art refused: its page."""
    context = chromium.new_context(viewport=viewport)
    context.route("**/coverartarchive.org/**", lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def create_invitation(page) -> str:
    """On a club's members page, make a one-use link for three days: the link shown."""
    page.get_by_label("How many people may join with it").fill("1")
    page.get_by_label("Expires in (days)").fill("3")
    page.get_by_role("button", name="Create an invitation link").click()
    return page.get_by_test_id("new-invitation").inner_text().strip()


def sign_up_and_join(page, username: str) -> None:
    """On an invitation's page, create a login and join in one step."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(f"{username}-password-1")
    page.get_by_label("Password confirmation").fill(f"{username}-password-1")
    page.get_by_role("button", name="Create my login and join").click()


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_member_signs_in_sees_listens_and_a_chart_and_every_page_passes_axe(
    browser,  # noqa: F811
    live_server,
    member_world,
    world,
    viewport,
):
    context = browser.new_context(viewport=viewport)
    context.route("**/coverartarchive.org/**", lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url

    page.goto(f"{base}/signin/")
    assert serious_violations(page) == []
    shoot(page, "signin", viewport)
    sign_in(page, base)
    expect(page.get_by_role("heading", name="Your listening")).to_be_visible()
    chart = page.locator("figure.chart svg[role=img]")
    assert chart.count() == 1
    assert page.locator("figure.chart rect").count() == 30
    assert "The Weeknights" in page.locator("table[data-table=top-artists]").inner_text()

    page.get_by_role("link", name="Listens", exact=True).click()
    expect(page.get_by_text("Waits for curation").first).to_be_visible()

    page.goto(f"{base}/clubs/{member_world.pk}/")
    standings = page.locator("table[data-table=standings]")
    assert "alice" in standings.inner_text()
    assert "bob" in standings.inner_text()

    for name, url in pages(member_world, world).items():
        page.goto(base + url)
        assert page.locator("main h1").count() == 1, url
        # Nothing wider than the screen but the tables' own scrolling boxes.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{url} is {width}px wide"
        assert serious_violations(page) == [], url
        shoot(page, name, viewport)
    context.close()


@pytest.mark.django_db(transaction=True)
def test_connect_with_lastfm_nominate_from_a_search_and_leave_in_the_browser(
    browser,  # noqa: F811
    live_server,
    worker,  # connecting queues a fetch: recorded, never sent to a shared queue
    external_settings,
    alice,
    bob,
):
    """Alice proves her Last.fm name on the (emulated) Last.fm auth page, searches
    MusicBrainz (emulated) for an album and nominates it; Bob leaves the club."""
    from tests.emulator import Emulator, World

    world = World()
    band = world.catalog.add_artist("The Velvet Hours")
    world.catalog.add_album(band, "Lantern Coast", ["Harbour", "Tidewater"])
    world.catalog.add_album(
        band, "Lantern Coast", ["Harbour (live)"], secondary_types=["Live"], date="2003-05-01"
    )
    key, secret = "lfm-browser-key", "lfm-browser-secret"
    club = make_club(alice, bob)
    with Emulator(
        world, lastfm_api_keys={key}, lastfm_auth_user="alice-fm", lastfm_api_secret=secret
    ) as emu:
        external_settings.LASTFM_API_KEY = key
        external_settings.LASTFM_API_SECRET = secret
        external_settings.LASTFM_BASE_URL = emu.urls["lastfm"]
        external_settings.LASTFM_AUTH_URL = emu.urls["lastfm_auth"]
        external_settings.MUSICBRAINZ_BASE_URL = emu.urls["musicbrainz"]
        context = browser.new_context(viewport=PHONE)
        context.route("**/coverartarchive.org/**", lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(15_000)
        base = live_server.url
        sign_in(page, base)

        page.goto(f"{base}/sources/")
        page.get_by_role("button", name="Connect with Last.fm").click()
        page.wait_for_url(f"{base}/sources/")
        expect(page.get_by_text("Connected alice-fm on Last.fm, proven yours.")).to_be_visible()
        assert page.locator("[data-proven=yes]").count() == 1
        assert serious_violations(page) == []
        shoot(page, "sources-proven", PHONE)

        page.goto(f"{base}/clubs/{club.pk}/")
        page.get_by_role("link", name="Nominate an album").click()
        page.get_by_label("Artist").fill("The Velvet Hours")
        page.get_by_label("Album title").fill("Lantern Coast")
        page.get_by_role("button", name="Search MusicBrainz").click()
        expect(page.locator("[data-candidate]")).to_have_count(2)
        assert "studio album" in page.locator("[data-candidate]").first.inner_text()
        assert serious_violations(page) == []
        shoot(page, "nominate", PHONE)
        page.get_by_role(
            "button", name="Nominate Lantern Coast by The Velvet Hours (2001-01-01)"
        ).click()
        page.wait_for_url(f"{base}/clubs/{club.pk}/")
        expect(page.get_by_role("heading", name="Now: Lantern Coast")).to_be_visible()
        assert page.locator("table[data-table=grid] tbody tr").count() == 2
        context.close()

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{base}/signin/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("bob-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/clubs/{club.pk}/")
    assert "bob" in page.locator("table[data-table=standings]").inner_text()
    page.get_by_role("button", name="Leave Sunday Album Club").click()
    page.wait_for_url(f"{base}/clubs/")
    expect(page.get_by_text("You left Sunday Album Club.")).to_be_visible()
    context.close()
    assert not club.memberships.filter(user=bob).exists()


@pytest.mark.django_db(transaction=True)
def test_an_invited_person_signs_up_from_the_link_appears_to_the_owner_and_leaves(
    browser,  # noqa: F811
    live_server,
    alice,
    bob,
):
    """Alice makes an invitation link on the members page; Dora, who has no login,
    opens it in her own browser, signs up and is in the club; Alice sees her; Dora
    leaves and Alice no longer does."""
    club = make_club(alice, bob)
    base = live_server.url
    page = screen(browser, DESKTOP)
    sign_in(page, base)
    page.goto(f"{base}/clubs/{club.pk}/")
    page.get_by_role("link", name="Members and invitations").click()
    link = create_invitation(page)
    assert link.startswith(f"{base}/join/")
    assert serious_violations(page) == []
    shoot(page, "members-new-invitation", DESKTOP)
    assert page.locator("table[data-table=invitations] tbody tr").count() == 1

    dora = screen(browser, PHONE)
    dora.goto(link)
    expect(dora.get_by_role("heading", name="Join Sunday Album Club")).to_be_visible()
    sign_up_and_join(dora, "dora")
    dora.wait_for_url(f"{base}/clubs/{club.pk}/")
    expect(dora.get_by_text("Welcome to Sunday Album Club!")).to_be_visible()

    page.goto(f"{base}/clubs/{club.pk}/members/")
    members = page.locator("table[data-table=members]")
    assert "dora" in members.inner_text()
    assert "accepted an invitation" in members.locator("tr[data-member=dora]").inner_text()
    # Used up: the link no longer shows among the open ones.
    expect(page.get_by_text("No open invitations.")).to_be_visible()

    dora.get_by_role("button", name="Leave Sunday Album Club").click()
    dora.wait_for_url(f"{base}/clubs/")
    expect(dora.get_by_text("You left Sunday Album Club.")).to_be_visible()
    page.reload()
    assert page.locator("table[data-table=members] tr[data-member=dora]").count() == 0
    assert "bob" in page.locator("table[data-table=members]").inner_text()
    dora.context.close()
    page.context.close()


def heard(page, username: str) -> str:
    """What the club page's standings say ``username`` heard: "2/3"."""
    row = page.locator(f"table[data-table=standings] tr[data-member={username}]")
    return row.locator("[data-figure=heard]").inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_newcomer_joins_from_an_invitation_connects_lastfm_and_sees_their_progress(
    browser,  # noqa: F811
    live_server,
    external_settings,
    worker,
    empty_cache,
    alice,
    bob,
):
    """Alice invites; Dora, new here, joins from the link on her phone, connects her
    (emulated) Last.fm, and her listens of the nominated album fill her row of the
    standings: two tracks after the first fetch, all three after she listens to the
    last one and presses Fetch now."""

    from tests.emulator import Emulator, World

    world = World()
    band = world.catalog.add_artist("The Velvet Hours")
    album = world.catalog.add_album(band, "Lantern Coast", ["Harbour", "Tidewater", "Shoals"])
    harbour, tidewater, shoals = (track.recording for track in album.media[0])
    world.add_user("dora_fm", lastfm=True, listenbrainz=False)
    now = int(time.time())
    world.scrobble("dora_fm", now - 3000, harbour)
    world.scrobble("dora_fm", now - 2800, tidewater)
    key, secret = external_settings.LASTFM_API_KEY, external_settings.LASTFM_API_SECRET
    club = make_club(alice, bob)
    base = live_server.url
    with Emulator(
        world, lastfm_api_keys={key}, lastfm_auth_user="dora_fm", lastfm_api_secret=secret
    ) as emu:
        for name, url in emu.env.items():
            setattr(external_settings, name, url)
        external_settings.MBID_MAPPER_BASE_URL = emu.env["LISTENBRAINZ_BASE_URL"]
        # A scrobble reaches Last.fm after its track started: as in production, each
        # fetch looks back for late ones (the unit tests' settings turn that off).
        external_settings.INGEST_LOOKBACK_SECONDS = 3600
        club_nominate(
            club=club,
            actor=alice,
            album=AlbumRequest(release_group_mbid=album.release_group.mbid),
            starts_at=timezone.now() - timedelta(days=1),
        )

        page = screen(browser, DESKTOP)
        sign_in(page, base)
        page.goto(f"{base}/clubs/{club.pk}/members/")
        link = create_invitation(page)
        assert serious_violations(page) == []
        page.context.close()

        dora = screen(browser, PHONE)
        dora.goto(link)
        assert serious_violations(dora) == []
        sign_up_and_join(dora, "dora")
        dora.wait_for_url(f"{base}/clubs/{club.pk}/")
        expect(
            dora.get_by_text("Welcome to Sunday Album Club! Connect a source next.")
        ).to_be_visible()
        expect(dora.get_by_role("heading", name="Now: Lantern Coast")).to_be_visible()
        assert heard(dora, "dora") == "0/3"
        assert serious_violations(dora) == []

        dora.get_by_role("link", name="Sources", exact=True).click()
        dora.wait_for_url(f"{base}/sources/")
        assert serious_violations(dora) == []
        # To the (emulated) Last.fm auth page, which approves as dora_fm and sends her
        # back; the same URL again, so wait for the message rather than the URL.
        dora.get_by_role("button", name="Connect with Last.fm").click()
        expect(dora.get_by_text("Connected dora_fm on Last.fm, proven yours.")).to_be_visible()
        assert serious_violations(dora) == []
        # Connecting queued the first fetch; a worker runs it.
        worker.run("listens.tasks.ingest")

        dora.get_by_role("link", name="Clubs", exact=True).click()
        dora.get_by_role("link", name="Sunday Album Club").click()
        assert heard(dora, "dora") == "2/3"
        expect(dora.get_by_role("img", name="2 of 3 tracks heard")).to_be_visible()

        # She plays the last track; Fetch now brings it in without waiting for the schedule.
        world.scrobble("dora_fm", int(time.time()) - 5, shoals)
        dora.get_by_role("link", name="Sources", exact=True).click()
        dora.get_by_role("button", name="Fetch now dora_fm").click()
        expect(dora.get_by_text("Fetching dora_fm: new listens soon.")).to_be_visible()
        worker.run("listens.tasks.ingest")

        dora.goto(f"{base}/clubs/{club.pk}/")
        assert heard(dora, "dora") == "3/3"
        standings = dora.locator("table[data-table=standings]")
        assert (
            standings.locator("tr[data-member=dora] [data-figure=listen_count]").inner_text() == "3"
        )
        assert dora.locator("[data-figure=totals]").inner_text().startswith("1 of 3 started")
        width = dora.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the club page is {width}px wide"
        assert serious_violations(dora) == []
        dora.context.close()
