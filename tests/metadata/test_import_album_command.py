"""``manage.py import_album`` against recorded MusicBrainz payloads.

Payloads live in tests/fixtures/musicbrainz (provenance in SOURCES.md); ``built__*``
files are hand-made in the same shapes for cases no recording shows.
"""

from __future__ import annotations

from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command
from responses import matchers

from metadata.models import Release, ReleaseGroup, Track
from tests.payloads import load_payload

pytestmark = pytest.mark.django_db

BASE = "https://mb.test/ws/2/"
HEXNDEIFL_RG = "4a9421e6-9def-4616-82bf-674d5a5c7a29"
HEXNDEIFL_RELEASE = "cb36e0ab-6634-4d85-a84e-8be89924811f"
MULTIDISC_RELEASE = "6c4f766f-3351-4c10-a53d-b119452c27b2"
WEEZER_BLUE = "3eeee000-1994-4000-8000-000000000001"
WEEZER_GREEN = "3eeee000-2001-4000-8000-000000000002"
WEEZER_COMPILATION = "3eeee000-2010-4000-8000-000000000003"
OVERLOADED = {"error": "Your requests are exceeding the allowable rate limit."}


def mb(name: str):
    return load_payload("musicbrainz", f"musicbrainz__{name}.json")


def built(name: str):
    return load_payload("musicbrainz", f"built__{name}.json")


def sent(**params) -> list:
    """Matcher for the exact query string: every call also carries fmt=json."""
    return [matchers.query_param_matcher({**params, "fmt": "json"})]


def browse_params(group: str, offset: int) -> list:
    return sent(
        **{
            "release-group": group,
            "inc": "recordings+media+artist-credits",
            "limit": "100",
            "offset": str(offset),
        }
    )


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:  # fails the test if a registered call is unused
        yield rsps


def serve_search(mocked, body: dict, *, artist: str, title: str, status: int = 200) -> None:
    mocked.get(
        BASE + "release-group/",
        json=body,
        status=status,
        match=sent(query=f"releasegroup:({title}) AND artist:({artist})", limit="25", offset="0"),
    )


def serve_hexndeifl_search(mocked) -> None:
    body = mb("release-group_search__hexndeifl_1_result")
    serve_search(mocked, body, artist="Gråinheim", title="Hexndeifl")


def serve_hexndeifl(mocked) -> None:
    serve_hexndeifl_search(mocked)
    mocked.get(
        BASE + f"release-group/{HEXNDEIFL_RG}",
        json=built("release-group_lookup__hexndeifl_inc_artist-credits"),
        match=sent(inc="artist-credits"),
    )
    for offset, page in ((0, "page_1_of_2"), (2, "page_2_of_2")):
        mocked.get(
            BASE + "release/",
            json=built(f"release_browse__hexndeifl_{page}"),
            match=browse_params(HEXNDEIFL_RG, offset),
        )


def serve_weezer_search(mocked) -> None:
    serve_search(
        mocked, built("release-group_search__weezer_self_titled"), artist="Weezer", title="Weezer"
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_album", *args, stdout=out, no_color=True)
    return out.getvalue()


def run_failing(*args: str) -> tuple[str, str]:
    """The CommandError message and what was printed before it."""
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_album", *args, stdout=out, no_color=True)
    return str(excinfo.value), out.getvalue()


def test_confident_match_prints_candidates_chosen_ids_and_tracklist(mocked):
    serve_hexndeifl(mocked)

    output = run("--artist", "Gråinheim", "--album", "Hexndeifl")

    assert output == (
        "Candidates for Gråinheim – Hexndeifl:\n"
        f"   1. Gråinheim – Hexndeifl [Album, 2021-02-15] {HEXNDEIFL_RG}\n"
        "      artist matches; exact title; studio album; first released 2021-02-15\n"
        f"Release group: Gråinheim – Hexndeifl ({HEXNDEIFL_RG})\n"
        f"Preferred release: Hexndeifl (XW, 2021-02-15) ({HEXNDEIFL_RELEASE})"
        "  [3 releases stored]\n"
        "  1.1    Transilvania (5:36) 60ab5ee3-c283-467c-ace3-d07927ae166c\n"
        "  1.2    Vlad Draculea (4:18) 01b07b1d-6cff-4cbb-9c15-79afab66caf6\n"
        "  1.3    Finstersucht (5:33) baecb7a6-e05b-48b8-ae3b-300750c3f58b\n"
        "  1.4    Aetherbrand (5:27) 651d8ac5-c710-4fbc-965c-52e693d1f75d\n"
        "  1.5    Hexndeifl (6:33) 478c74ce-5c6e-4a3e-983c-b3f37b998b64\n"
        "  1.6    Ausklang (2:36) 5092d660-9fdf-485e-94ce-272fdcbf7afa\n"
    )
    assert str(ReleaseGroup.objects.get().preferred_release.mbid) == HEXNDEIFL_RELEASE
    assert Release.objects.count() == 3
    assert Track.objects.count() == 6


def test_country_option_prints_the_multi_disc_release_of_that_country(mocked):
    serve_hexndeifl(mocked)

    output = run("--artist", "Gråinheim", "--album", "Hexndeifl", "--country", "JP")

    assert f"Preferred release: ケアレス (JP, 2021-09-15) ({MULTIDISC_RELEASE})" in output
    assert output.endswith(
        "  1.4    ケアレス -Instrumental- (4:14) e337e1b6-818b-4923-9bf2-8256168ff95a\n"
        "  2.1    ケアレス (Music Video) (4:09) 187a4c6f-3920-46ee-869a-30077ff7feb8\n"
        "  2.2    ケアレス (15秒CM) (0:14) 5f6bf35e-98c4-4dad-af43-5b14c42544c8\n"
        "  2.3    ケアレス (30秒メッセージコメント入りCM) (0:29) "
        "1a7faef4-6f9c-4579-9770-4da2e05b247c\n"
    )


def test_pick_imports_the_second_candidate(mocked):
    serve_weezer_search(mocked)
    mocked.get(
        BASE + f"release-group/{WEEZER_GREEN}",
        json=built("release-group_lookup__weezer_green_album"),
        match=sent(inc="artist-credits"),
    )
    mocked.get(
        BASE + "release/",
        json=built("release_browse__no_releases"),
        match=browse_params(WEEZER_GREEN, 0),
    )

    output = run("--artist", "Weezer", "--album", "Weezer", "--pick", "2")

    assert f"   1. Weezer – Weezer [Album, 1994-05-10] {WEEZER_BLUE}\n" in output
    assert f"   2. Weezer – Weezer [Album, 2001-05-15] {WEEZER_GREEN}\n" in output
    assert (
        f"   3. Weezer – Death to False Metal [Album+Compilation, 2010-11-02] "
        f"{WEEZER_COMPILATION}\n"
        "      artist matches; title differs; type Album + Compilation; first released 2010-11-02\n"
    ) in output
    assert output.endswith(
        f"Release group: Weezer – Weezer ({WEEZER_GREEN})\nNo release with a tracklist was found.\n"
    )
    assert [(str(g.mbid), g.disambiguation) for g in ReleaseGroup.objects.all()] == [
        (WEEZER_GREEN, "Green Album")
    ]


def test_ambiguous_title_without_pick_asks_for_pick_or_year(mocked):
    serve_weezer_search(mocked)

    message, output = run_failing("--artist", "Weezer", "--album", "Weezer")

    assert message == (
        "Not sure which one you mean (2 albums share the title: ask the user (a year narrows)). "
        "Choose with --pick N, or narrow with --year."
    )
    # The candidates are printed first so the user can choose a number.
    assert output.startswith("Candidates for Weezer – Weezer:\n")
    assert f"   2. Weezer – Weezer [Album, 2001-05-15] {WEEZER_GREEN}\n" in output
    assert ReleaseGroup.objects.count() == 0


def test_no_match_fails_with_no_release_group(mocked):
    serve_search(mocked, mb("release-group_search__no_results"), artist="Nobody", title="Nothing")

    message, output = run_failing("--artist", "Nobody", "--album", "Nothing")

    assert message == "No release group on MusicBrainz matches 'Nobody' – 'Nothing'."
    assert output == ""
    assert ReleaseGroup.objects.count() == 0


@pytest.mark.parametrize("pick", ["0", "4"])
def test_pick_out_of_range_fails_without_importing(mocked, pick):
    serve_weezer_search(mocked)

    message, _ = run_failing("--artist", "Weezer", "--album", "Weezer", "--pick", pick)

    assert message == "--pick must be between 1 and 3."
    assert len(mocked.calls) == 1  # the search only: nothing was looked up
    assert ReleaseGroup.objects.count() == 0


def test_search_outage_fails_with_a_message_not_a_traceback(mocked):
    serve_search(mocked, OVERLOADED, artist="Gråinheim", title="Hexndeifl", status=503)

    message, output = run_failing("--artist", "Gråinheim", "--album", "Hexndeifl")

    assert message.startswith(
        "MusicBrainz search failed: musicbrainz: "
        "Your requests are exceeding the allowable rate limit. | HTTP 503 | https://mb.test/ws/2/"
    )
    assert output == ""


def test_outage_during_import_fails_and_stores_nothing(mocked):
    serve_hexndeifl_search(mocked)
    mocked.get(
        BASE + f"release-group/{HEXNDEIFL_RG}",
        json=built("release-group_lookup__hexndeifl_inc_artist-credits"),
        match=sent(inc="artist-credits"),
    )
    mocked.get(
        BASE + "release/",
        json=built("release_browse__hexndeifl_page_1_of_2"),
        match=browse_params(HEXNDEIFL_RG, 0),
    )
    mocked.get(BASE + "release/", status=503, json=OVERLOADED, match=browse_params(HEXNDEIFL_RG, 2))

    message, output = run_failing("--artist", "Gråinheim", "--album", "Hexndeifl")

    assert message.startswith(
        "Importing from MusicBrainz failed: musicbrainz: "
        "Your requests are exceeding the allowable rate limit. | HTTP 503"
    )
    assert output.startswith("Candidates for Gråinheim – Hexndeifl:\n")
    # The first page arrived, but nothing is written until every page has.
    assert (ReleaseGroup.objects.count(), Release.objects.count()) == (0, 0)
