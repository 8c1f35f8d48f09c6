"""MusicBrainzClient against recorded payloads (tests/fixtures/musicbrainz, see SOURCES.md)."""

from __future__ import annotations

import copy

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured
from responses import matchers
from responses.registries import OrderedRegistry

from metadata.clients.musicbrainz import (
    Artist,
    MusicBrainzClient,
    RecordingRelease,
    render_artist_credit,
)
from metadata.providers import get_musicbrainz_client
from sidetrack.http.errors import NotFoundError, UnavailableError
from sidetrack.http.options import HttpOptions, RetryPolicy
from tests.payloads import load_payload

BASE = "https://mb.test/ws/2/"

ED_SHEERAN = "b8a7c51f-362c-4dcb-a259-bc6e0095f0a6"
HEXNDEIFL_RG = "4a9421e6-9def-4616-82bf-674d5a5c7a29"
HEXNDEIFL_RELEASE = "cb36e0ab-6634-4d85-a84e-8be89924811f"
MULTIDISC_RELEASE = "6c4f766f-3351-4c10-a53d-b119452c27b2"
LAST_ANGEL = "b9ad642e-b012-41c7-b72a-42cf4911f9ff"
BROWSE_RG = "e8c2ff4d-2fa3-4bc7-a3b3-5e95ef1e2b39"  # the comment did not name its group


def mb(filename: str):
    return load_payload("musicbrainz", f"musicbrainz__{filename}.json")


def sent(**params) -> list:
    """Matcher for the exact query string: every call also carries fmt=json."""
    return [matchers.query_param_matcher({**params, "fmt": "json"})]


@pytest.fixture
def client():
    mb_client = MusicBrainzClient(
        base_url=BASE,
        options=HttpOptions(
            user_agent="SidetrackTests/0.1 ( tests@example.org )", retry=RetryPolicy.none()
        ),
    )
    yield mb_client
    mb_client.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:  # fails the test if a registered call is unused
        yield rsps


@pytest.fixture
def mocked_in_order():
    """Each registered response answers exactly once, in order: an extra page request fails."""
    with responses.RequestsMock(registry=OrderedRegistry) as rsps:
        yield rsps


# --- Release groups ------------------------------------------------------------


def test_search_release_groups_sends_escaped_query_and_parses_hits(client, mocked):
    mocked.get(
        BASE + "release-group/",
        json=mb("release-group_search__in_times_before_the_light_trimmed"),
        match=sent(
            query="releasegroup:(In Times Before the Light) AND artist:(The Kovenant)",
            limit="5",
            offset="0",
        ),
    )

    page = client.search_release_groups("The Kovenant", "In Times Before the Light", limit=5)

    assert page.count == 546170
    assert page.offset == 0
    assert [g.score for g in page.items] == [100, 100, 91, 36, 32]
    remix, original, _, demo, single = page.items
    assert remix.mbid == "ba62217c-c12f-4eae-859e-5202936914ff"
    assert remix.secondary_types == ("Remix",)
    assert remix.disambiguation == "remix version"
    assert remix.first_release_date == "2002-09-03"
    assert original.first_release_date == "1997"
    # Credited as "Covenant", artist now named "The Kovenant".
    assert render_artist_credit(original.artist_credit) == "Covenant"
    assert original.artist_credit[0].artist_name == "The Kovenant"
    assert original.artist_credit[0].artist_sort_name == "Kovenant, The"
    assert original.artist_credit[0].artist_mbid == "cc6fed9a-a14b-46e1-a5b0-97f740e66e6a"
    assert demo.secondary_types == ("Demo",)
    assert single.primary_type == "Single"
    assert single.first_release_date is None


def test_search_release_groups_with_year_adds_first_release_date_range(client, mocked):
    mocked.get(
        BASE + "release-group/",
        json=mb("release-group_search__main_tenance_musicbrainz_rs"),
        match=sent(
            query="releasegroup:(Main Tenance) AND artist:(Fred Giannelli)"
            " AND firstreleasedate:[1998 TO 1998-12-31]",
            limit="25",
            offset="50",
        ),
    )

    page = client.search_release_groups("Fred Giannelli", "Main Tenance", year=1998, offset=50)

    assert page.count == 1
    (group,) = page.items
    assert (group.title, group.mbid) == ("Main Tenance", "70664047-2545-4e46-b75f-4556f2a7b83e")
    assert (group.primary_type, group.first_release_date, group.score) == ("Single", "1998", 100)
    assert group.secondary_types == ()
    assert render_artist_credit(group.artist_credit) == "Fred Giannelli"
    assert group.artist_credit[0].disambiguation == "US electronic artist"


def test_search_release_groups_one_hit_and_no_hits(client, mocked):
    mocked.get(
        BASE + "release-group/",
        json=mb("release-group_search__hexndeifl_1_result"),
        match=sent(query="releasegroup:(Hexndeifl) AND artist:(Gråinheim)", limit="25", offset="0"),
    )
    mocked.get(
        BASE + "release-group/",
        json=mb("release-group_search__no_results"),
        match=sent(
            query='releasegroup:(\\"Heroes\\" \\(Remastered\\)) AND artist:(AC\\/DC)',
            limit="25",
            offset="0",
        ),
    )

    found = client.search_release_groups("Gråinheim", "Hexndeifl")
    none = client.search_release_groups("AC/DC", '"Heroes" (Remastered)')

    assert [(g.mbid, g.title, g.primary_type) for g in found.items] == [
        (HEXNDEIFL_RG, "Hexndeifl", "Album")
    ]
    assert found.items[0].first_release_date == "2021-02-15"
    assert render_artist_credit(found.items[0].artist_credit) == "Gråinheim"
    assert (none.count, none.items) == (0, ())


@pytest.mark.parametrize(
    ("title", "artist", "query"),
    [
        ("Rock AND Roll", "Led Zeppelin", "releasegroup:(Rock and Roll) AND artist:(Led Zeppelin)"),
        ("NOT Fade Away", "!!!", "releasegroup:(not Fade Away) AND artist:(\\!\\!\\!)"),
        ("Black && White", "A:B", "releasegroup:(Black \\&\\& White) AND artist:(A\\:B)"),
        ("1/2", "", "releasegroup:(1\\/2)"),
    ],
)
def test_search_release_groups_query_text(client, mocked, title, artist, query):
    mocked.get(
        BASE + "release-group/",
        json=mb("release-group_search__no_results"),
        match=sent(query=query, limit="25", offset="0"),
    )

    assert client.search_release_groups(artist, title).items == ()


def test_lookup_release_group(client, mocked):
    mocked.get(
        BASE + f"release-group/{HEXNDEIFL_RG}",
        json=mb("release-group_lookup__hexndeifl_inc_releases"),
        match=sent(inc="artist-credits"),
    )

    group = client.lookup_release_group(HEXNDEIFL_RG.upper())  # ids are normalised first

    assert group.mbid == HEXNDEIFL_RG
    assert (group.title, group.primary_type, group.secondary_types) == ("Hexndeifl", "Album", ())
    assert group.first_release_date == "2021-02-15"
    assert group.score is None
    assert group.artist_credit == ()  # this recorded body was fetched without artist-credits


# --- Releases ------------------------------------------------------------------


def test_lookup_release_with_tracks_and_recordings(client, mocked):
    mocked.get(
        BASE + f"release/{HEXNDEIFL_RELEASE}",
        json=mb("release_lookup__hexndeifl_inc_recordings"),
        match=sent(inc="recordings+artist-credits+release-groups+media"),
    )

    release = client.lookup_release(HEXNDEIFL_RELEASE)

    assert (release.title, release.date, release.country) == ("Hexndeifl", "2021-02-15", "XW")
    assert (release.status, release.barcode) == ("Official", None)
    (medium,) = release.media
    assert (medium.position, medium.format, medium.track_count, medium.title) == (
        1,
        "Digital Media",
        6,
        None,
    )
    assert [t.title for t in medium.tracks] == [
        "Transilvania",
        "Vlad Draculea",
        "Finstersucht",
        "Aetherbrand",
        "Hexndeifl",
        "Ausklang",
    ]
    fifth = medium.tracks[4]
    assert (fifth.number, fifth.position, fifth.length_ms) == ("5", 5, 393438)
    assert fifth.mbid == "17660646-6191-40f7-b5c5-1b39bd4a9333"
    assert fifth.recording_mbid == "478c74ce-5c6e-4a3e-983c-b3f37b998b64"
    assert fifth.recording_length_ms == 393438


def test_lookup_multidisc_release(client, mocked):
    mocked.get(
        BASE + f"release/{MULTIDISC_RELEASE}",
        json=mb("release_lookup__multidisc_cd_dvd_inc_recordings_release-groups_picard"),
        match=sent(inc="recordings+release-groups"),
    )

    release = client.lookup_release(MULTIDISC_RELEASE, inc=("recordings", "release-groups"))

    assert release.title == "ケアレス"
    assert release.disambiguation == "初回生産限定盤"
    assert (release.barcode, release.date, release.country) == ("4547366518764", "2021-09-15", "JP")
    assert release.release_group_mbid == "b89c4dbd-1734-4536-a16d-dde648f735c0"
    assert [(m.position, m.format, m.track_count) for m in release.media] == [
        (1, "CD", 4),
        (2, "DVD-Video", 3),
    ]
    bye_bye = release.media[0].tracks[1]
    # The track is printed with an ASCII hyphen, the recording uses U+2010.
    assert bye_bye.title == "Bye-Bye Butterfly"
    assert bye_bye.recording_title == "Bye\u2010Bye Butterfly"
    assert release.media[1].tracks[2].title == "ケアレス (30秒メッセージコメント入りCM)"
    assert release.media[1].tracks[2].length_ms == 29000


def test_browse_releases_single_page_from_recorded_browse(client, mocked):
    mocked.get(
        BASE + "release/",
        json=mb("release_browse__by_release-group_5_releases_from_code_comment"),
        match=sent(
            **{
                "release-group": BROWSE_RG,
                "inc": "recordings+media+artist-credits",
                "limit": "100",
                "offset": "0",
            }
        ),
    )

    releases = client.browse_releases(BROWSE_RG)

    assert len(releases) == 5
    assert [r.mbid[:8] for r in releases] == [
        "165f6643",
        "a3e0f12c",
        "d7c52617",
        "f171e0ae",
        "f81cbdf9",
    ]
    pseudo = releases[2]
    assert (pseudo.title, pseudo.status) == ("Crescent", "Pseudo-Release")
    assert (pseudo.date, pseudo.country, pseudo.barcode) == (None, None, None)
    assert releases[3].disambiguation == "初回限定盤"
    assert all(r.release_group_mbid == BROWSE_RG for r in releases)
    assert all(r.media == () for r in releases)  # recorded without inc=media


def _browse_page(releases: list, count: int, offset: int) -> dict:
    # Built envelope around real release bodies: no recorded browse with inc=recordings exists.
    return {"release-count": count, "release-offset": offset, "releases": releases}


def test_browse_releases_advances_by_releases_received(client, mocked_in_order):
    browse = mb("release_browse__by_release-group_5_releases_from_code_comment")["releases"]
    multidisc = mb("release_lookup__multidisc_cd_dvd_inc_recordings_release-groups_picard")
    hexndeifl = mb("release_lookup__hexndeifl_inc_recordings")
    pages = [  # limit 3, but the track cap cut pages 1 and 2 short
        (0, [hexndeifl, multidisc]),
        (2, [browse[0]]),
        (3, [browse[2], browse[4]]),
    ]
    for offset, page in pages:
        mocked_in_order.get(
            BASE + "release/",
            json=_browse_page(page, count=5, offset=offset),
            match=sent(
                **{
                    "release-group": HEXNDEIFL_RG,
                    "inc": "recordings+media+artist-credits",
                    "limit": "3",
                    "offset": str(offset),
                }
            ),
        )

    releases = client.browse_releases(HEXNDEIFL_RG, page_size=3)

    assert len(mocked_in_order.calls) == 3
    assert [r.title for r in releases] == [
        "Hexndeifl",
        "ケアレス",
        "欠けた心象、世のよすが",
        "Crescent",
        "欠けた心象、世のよすが",
    ]
    # Release group from the body when present, else the one browsed.
    assert releases[1].release_group_mbid == "b89c4dbd-1734-4536-a16d-dde648f735c0"
    assert releases[0].release_group_mbid == HEXNDEIFL_RG
    assert sum(m.track_count for r in releases for m in r.media) == 13


def test_browse_releases_stops_on_an_empty_page(client, mocked_in_order):
    hexndeifl = mb("release_lookup__hexndeifl_inc_recordings")
    params = {
        "release-group": HEXNDEIFL_RG,
        "inc": "recordings+media+artist-credits",
        "limit": "100",
    }
    mocked_in_order.get(
        BASE + "release/",
        json=_browse_page([hexndeifl], count=10, offset=0),
        match=sent(**params, offset="0"),
    )
    mocked_in_order.get(
        BASE + "release/",
        json=_browse_page([], count=10, offset=1),
        match=sent(**params, offset="1"),
    )

    releases = client.browse_releases(HEXNDEIFL_RG)

    assert [r.mbid for r in releases] == [HEXNDEIFL_RELEASE]
    assert len(mocked_in_order.calls) == 2


def test_browse_releases_rejects_bad_arguments_without_calling(client, mocked):
    with pytest.raises(ValueError, match="release group id"):
        client.browse_releases("not-an-mbid")
    with pytest.raises(ValueError, match="limit"):
        client.browse_releases(HEXNDEIFL_RG, page_size=101)
    assert len(mocked.calls) == 0


# --- Artists -------------------------------------------------------------------


def test_search_artists(client, mocked):
    mocked.get(
        BASE + "artist/",
        json=mb("artist_search__manowar_6_results"),
        match=sent(query="artist:(Manowar)", limit="10", offset="0"),
    )

    page = client.search_artists("Manowar", limit=10)

    assert page.count == 6
    assert [a.name for a in page.items] == [
        "Manowar",
        "Womanowar",
        "Josef Manowarda",
        "Eric Adams",
        "Womenowar",
        "Hanowar",
    ]
    assert page.items[0] == Artist(
        mbid="00eeed6b-5897-4359-8347-b8cd28375331",
        name="Manowar",
        sort_name="Manowar",
        type="Group",
        country="US",
        disambiguation="",
        score=100,
    )
    womanowar = page.items[1]
    assert (womanowar.type, womanowar.country, womanowar.score) == (None, None, 39)
    assert page.items[3].disambiguation == "Louis Marullo, Manowar"


def test_search_artists_paged_results(client, mocked):
    mocked.get(
        BASE + "artist/",
        json=mb("artist_search__fred_group_US_musicbrainz_rs_trimmed"),
        match=sent(query="artist:(Fred)", limit="25", offset="0"),
    )

    page = client.search_artists("Fred")

    assert page.count == 16
    assert len(page.items) == 4
    assert page.items[2].disambiguation == "US barbershop quartet from Marietta, GA"
    assert (page.items[-1].name, page.items[-1].score) == ("Fred Martin and The Levite Camp", 76)


@pytest.mark.parametrize(
    ("filename", "disambiguation"),
    [
        ("artist_lookup__ed_sheeran_picard", "famous UK singer-songwriter"),
        (
            "artist_lookup__ed_sheeran_inc_tags_ratings_url-rels_releases_trimmed",
            "UK singer-songwriter",
        ),
    ],
)
def test_lookup_artist(client, mocked, filename, disambiguation):
    mocked.get(BASE + f"artist/{ED_SHEERAN}", json=mb(filename), match=sent())

    artist = client.lookup_artist(ED_SHEERAN)

    assert artist == Artist(
        mbid=ED_SHEERAN,
        name="Ed Sheeran",
        sort_name="Sheeran, Ed",
        type="Person",
        country="GB",
        disambiguation=disambiguation,
        score=None,
    )


# --- Recordings ----------------------------------------------------------------


def test_search_recordings_with_release_narrowing(client, mocked):
    mocked.get(
        BASE + "recording/",
        json=mb("recording_search__we_will_rock_you_queen_trimmed"),
        match=sent(
            query="recording:(We Will Rock You) AND artist:(Queen) AND release:(News of the World)",
            limit="25",
            offset="0",
        ),
    )

    page = client.search_recordings("We Will Rock You", "Queen", release="News of the World")

    assert page.count == 392
    first, second = page.items
    assert (first.mbid, first.length_ms, first.first_release_date) == (
        "3eb00f9f-6291-4a47-9309-8c7152a408bb",
        126826,
        "1999",
    )
    assert first.video is False  # null in search hits
    assert first.score == 100
    assert render_artist_credit(first.artist_credit) == "Queen"
    assert first.releases == (
        RecordingRelease(
            mbid="08a09c20-9bb4-49c9-81c9-b0f028652cbe",
            title="MTV Music History: The Greatest Hits III–IV",
            status="Bootleg",
            date="1999",
            country="UA",
            release_group_mbid="f4975179-f390-3d66-b217-ec5a8cbeea05",
            primary_type="Album",
            secondary_types=("Compilation",),
        ),
    )
    assert second.releases[0].country == "XE"


def test_search_recordings_by_isrc_payload(client, mocked):
    mocked.get(
        BASE + "recording/",
        json=mb("recording_search__isrc_GBAHT1600302_dua_lipa_trimmed"),
        match=sent(
            query="recording:(Blow Your Mind \\(Mwah\\)) AND artist:(Dua Lipa)",
            limit="1",
            offset="0",
        ),
    )

    (recording,) = client.search_recordings("Blow Your Mind (Mwah)", "Dua Lipa", limit=1).items

    assert recording.mbid == "026fa041-3917-4c73-9079-ed16e36f20f8"
    assert (recording.disambiguation, recording.length_ms) == ("explicit", 179000)
    assert recording.isrcs == ("GBAHT1600302", "DEUM71601954")
    assert recording.artist_credit[0].join_phrase == ""  # joinphrase absent
    compilation, album, promo = recording.releases
    assert compilation.secondary_types == ("Compilation",)
    assert album.secondary_types == ()  # key absent
    assert (album.title, album.date) == ("Dua Lipa (complete edition)", None)
    assert (promo.status, promo.primary_type, promo.date, promo.country) == (
        "Promotion",
        "Single",
        None,
        "CA",
    )  # date "" on the wire


def test_search_recordings_release_element_fragment(client, mocked):
    # Built envelope: the recorded file is one element of recordings[].releases[].
    fragment = mb("recording_search__release_element_picard_fragment")
    body = {
        "created": "2022-11-01T00:00:00.000Z",
        "count": 1,
        "offset": 0,
        "recordings": [
            {"id": "0b0e9a4e-1111-4c4c-9b9b-000000000001", "title": "Lune", "releases": [fragment]},
        ],
    }
    mocked.get(
        BASE + "recording/",
        json=body,
        match=sent(query="recording:(Lune) AND artist:(Tim Green)", limit="25", offset="0"),
    )

    (recording,) = client.search_recordings("Lune", "Tim Green").items

    assert recording.releases == (
        RecordingRelease(
            mbid="af96cd94-f759-4f9f-8c63-75404d4853dc",
            title="Eastbound Silhouette",
            status="Official",
            date="2022-10-28",
            country="XW",
            release_group_mbid="275f2ad4-a506-4ab1-8ae2-ff7f203cbf6b",
            primary_type=None,
            secondary_types=(),  # release-group without primary-type
        ),
    )
    assert recording.length_ms is None


def test_lookup_recording_with_featured_artist(client, mocked):
    mocked.get(
        BASE + f"recording/{LAST_ANGEL}",
        json=mb("recording_lookup__last_angel_inc_releases_isrcs_trimmed"),
        match=sent(inc="artist-credits+releases+release-groups+isrcs"),
    )

    recording = client.lookup_recording(LAST_ANGEL)

    assert recording.title == "LAST ANGEL"
    assert render_artist_credit(recording.artist_credit) == "倖田來未 feat. 東方神起"
    assert [p.artist_sort_name for p in recording.artist_credit] == ["Koda, Kumi", "Tohoshinki"]
    assert (recording.length_ms, recording.isrcs) == (230240, ("JPB600760301",))
    assert recording.first_release_date == "2007-11-07"
    assert [(r.title, r.date) for r in recording.releases] == [
        ("LAST ANGEL", "2007-11-07"),
        ("Kingdom", "2008-01-30"),
    ]


def test_lookup_recording_video_and_hand_edited_payloads(client, mocked):
    video_id = "370889ee-7a70-4d0a-8f4d-e514e0494d7e"
    plus_id = "11f3c37d-839f-4f65-87c1-d55cb416d0c5"
    mocked.get(
        BASE + f"recording/{video_id}",
        json=mb("recording_lookup__paradise_lost_video_inc_rels_picard"),
        match=sent(inc="artist-credits"),
    )
    mocked.get(
        BASE + f"recording/{plus_id}",
        json=mb("recording_lookup__plus_plus_inc_releases_artists"),
        match=sent(inc="artist-credits+releases+release-groups+isrcs"),
    )

    video = client.lookup_recording(video_id, inc=("artist-credits",))
    plus = client.lookup_recording(plus_id)

    assert (video.title, video.video, video.disambiguation) == (
        "The Enemy",
        True,
        "official music video",
    )
    assert (video.length_ms, video.releases, video.isrcs) == (218000, (), ())
    assert video.artist_credit[0].disambiguation == "British metal / hard rock band"
    assert (plus.title, plus.length_ms, plus.video) == ("Plus Plus", 125400, False)
    (release,) = plus.releases
    assert (release.title, release.date, release.country) == (
        "Red and Blue Boxing",
        "2000-05-15",
        "GB",
    )
    assert (release.release_group_mbid, release.primary_type) == (None, None)


def test_lookup_of_a_merged_mbid_returns_the_canonical_id(client, mocked):
    merged_away = "f0000000-0000-4000-8000-000000000001"
    mocked.get(
        BASE + f"recording/{merged_away}",
        json=mb("recording_lookup__last_angel_inc_releases_isrcs_trimmed"),
        match=sent(inc="artist-credits+releases+release-groups+isrcs"),
    )

    recording = client.lookup_recording(merged_away)

    assert recording.mbid == LAST_ANGEL


# --- Errors --------------------------------------------------------------------


def test_unknown_mbid_raises_not_found(client, mocked):
    mocked.get(
        BASE + f"release/{HEXNDEIFL_RELEASE}",
        status=404,
        json={
            "error": "Not Found",
            "help": "For usage, please see: https://musicbrainz.org/development/mmd",
        },
    )

    with pytest.raises(NotFoundError) as excinfo:
        client.lookup_release(HEXNDEIFL_RELEASE)

    assert excinfo.value.status == 404
    assert excinfo.value.retryable is False
    assert str(excinfo.value).startswith("musicbrainz: Not Found | HTTP 404")


def test_overload_raises_retryable_unavailable(client, mocked):
    mocked.get(
        BASE + "artist/",
        status=503,
        json={"error": "Your requests are exceeding the allowable rate limit."},
    )

    with pytest.raises(UnavailableError) as excinfo:
        client.search_artists("Manowar")

    assert excinfo.value.status == 503
    assert excinfo.value.retryable is True
    assert "exceeding the allowable rate limit" in str(excinfo.value)


def test_a_body_that_is_not_an_object_is_unavailable(client, mocked):
    mocked.get(BASE + f"artist/{ED_SHEERAN}", json=["unexpected"])

    with pytest.raises(UnavailableError, match="malformed"):
        client.lookup_artist(ED_SHEERAN)


def test_lookup_body_without_an_id_is_unavailable(client, mocked):
    body = copy.deepcopy(mb("artist_lookup__ed_sheeran_picard"))
    body["id"] = ""
    mocked.get(BASE + f"artist/{ED_SHEERAN}", json=body)

    with pytest.raises(UnavailableError, match="malformed MusicBrainz artist"):
        client.lookup_artist(ED_SHEERAN)


def test_invalid_arguments_fail_before_any_request(client, mocked):
    with pytest.raises(ValueError, match="artist id"):
        client.lookup_artist("../admin")
    with pytest.raises(ValueError, match="limit"):
        client.search_artists("Manowar", limit=0)
    with pytest.raises(ValueError, match="non-blank"):
        client.search_recordings(" ", "")
    assert len(mocked.calls) == 0


# --- Factory -------------------------------------------------------------------


def test_factory_sends_the_configured_user_agent(external_settings, mocked):
    mocked.get(
        "https://mb.test/ws/2/artist/" + ED_SHEERAN,
        json=mb("artist_lookup__ed_sheeran_picard"),
        match=[
            matchers.query_param_matcher({"fmt": "json"}),
            matchers.header_matcher(
                {"User-Agent": "SidetrackTests/0.1 ( tests@example.org )"}, strict_match=False
            ),
        ],
    )

    artist = get_musicbrainz_client().lookup_artist(ED_SHEERAN)

    assert artist.name == "Ed Sheeran"
    assert (
        mocked.calls[0].request.headers["User-Agent"] == "SidetrackTests/0.1 ( tests@example.org )"
    )


def test_factory_without_app_name_names_the_variable(external_settings):
    external_settings.SIDETRACK_MUSICBRAINZ_APP_NAME = "  "

    with pytest.raises(ImproperlyConfigured, match="SIDETRACK_MUSICBRAINZ_APP_NAME"):
        get_musicbrainz_client()
