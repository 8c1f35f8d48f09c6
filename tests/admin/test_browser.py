"""The curation flow in a real browser: headless Chromium driven by Playwright.

Uses the system Chromium (Playwright's own browser downloads are never used):
``pip install playwright`` and ``apt-get install chromium``. MusicBrainz is
served by ``responses``, which patches ``requests`` process-wide, so it also
answers the live server's thread.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import responses
from django.db import connections
from responses import matchers

from listens.models import ListenEvent
from metadata.models import CurationDecision, Recording
from tests.admin.conftest import (
    MB,
    WWRY_QUERY,
    WWRY_SEARCH,
    WWRY_SHORT,
    fixture,
    recording_lookup_body,
)

CHROMIUM = os.environ.get("SIDETRACK_CHROMIUM", "/usr/bin/chromium")
HOW_TO_GET_THEM = "pip install playwright; apt-get install chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def unavailable(reason: str) -> None:
    """Skip with the reason, or fail where CI promises a browser."""
    if os.environ.get("SIDETRACK_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}; SIDETRACK_REQUIRE_BROWSER is set")
    pytest.skip(reason)


@pytest.fixture
def browser(monkeypatch):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(f"Playwright is not installed ({HOW_TO_GET_THEM})")
    if not Path(CHROMIUM).exists():
        unavailable(f"No Chromium at {CHROMIUM} ({HOW_TO_GET_THEM}; or set SIDETRACK_CHROMIUM)")
    # Playwright's sync API keeps an event loop in this thread, which trips
    # Django's async-unsafe check for the test's own ORM calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            # Inside Playwright's running loop Django keeps connections per
            # context, apart from the ones pytest-django closes: close them here
            # (PostgreSQL cannot drop a test database that is still in use).
            connections.close_all()
            launched.close()


@pytest.mark.django_db(transaction=True)
def test_curator_picks_a_candidate_in_the_browser(
    browser,
    live_server,
    django_user_model,
    make_listens,
    mb_settings,
):
    django_user_model.objects.create_superuser("curator", password="curator-password-1")
    listener = django_user_model.objects.create_user("listener")
    track = make_listens("Queen", "We Will Rock You", 3, user=listener, album="News of the World")
    make_listens("Queen", "We Will Rock You", 2, user=listener, source="listenbrainz")

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.add_passthru(live_server.url)
        mocked.get(
            MB + "recording/",
            json=fixture(WWRY_SEARCH),
            match=[matchers.query_param_matcher(WWRY_QUERY)],
        )
        mocked.get(MB + f"recording/{WWRY_SHORT}", json=recording_lookup_body(WWRY_SHORT))

        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/metadata/unresolvedrecording/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", "curator-password-1")
        page.click("input[type=submit]")

        page.wait_for_selector("#result_list")
        assert page.title().startswith("Unresolved tracks, most listened first")
        page.click("#result_list a:text-is('We Will Rock You')")

        page.wait_for_selector("#find-candidates")
        assert f"/{track.pk}/curate/" in page.url
        page.click("#find-candidates")

        row = page.locator(f"tr.candidate[data-mbid='{WWRY_SHORT}']")
        assert "MTV Music History" in row.inner_text()
        # Two reports of the text (on the album, and without): the curator takes both.
        assert "Every album: 5 plays on 2 reports" in page.inner_text("#scopes")
        row.locator("button.scope-text").click()

        page.wait_for_selector(".messagelist .success")
        assert "5 plays of" in page.inner_text(".messagelist")
        assert "/admin/metadata/unresolvedrecording/" in page.url

    mbids = set(ListenEvent.objects.values_list("recording__mbid", flat=True))
    assert {str(m) for m in mbids} == {WWRY_SHORT}
    assert Recording.objects.get(mbid=WWRY_SHORT).status == Recording.Status.RESOLVED
    assert CurationDecision.objects.get().curator.username == "curator"
