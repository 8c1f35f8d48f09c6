"""Album search/import and artist services against recorded MusicBrainz payloads.

Payloads live in tests/fixtures/musicbrainz (provenance in SOURCES.md); ``built__*``
files are hand-made in the same shapes for cases no recording shows.
"""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from metadata.models import (
    Artist,
    ArtistCredit,
    ArtistCreditName,
    Recording,
    Release,
    ReleaseGroup,
    Track,
)
from metadata.services import import_release_group, lookup_artist, search_albums, search_artists
from tests.payloads import load_payload

pytestmark = pytest.mark.django_db

BASE = "https://mb.test/ws/2/"
BROWSE_INC = "recordings+media+artist-credits"

HEXNDEIFL_RG = "4a9421e6-9def-4616-82bf-674d5a5c7a29"
HEXNDEIFL_RELEASE = "cb36e0ab-6634-4d85-a84e-8be89924811f"
MULTIDISC_RELEASE = "6c4f766f-3351-4c10-a53d-b119452c27b2"
PSEUDO_RELEASE = "d7c52617-8976-484d-af73-dc76116ca131"
GRAINHEIM = "c46ed989-cb1c-48fb-848d-0078784fc3f4"
LAST_ANGEL_RG = "1a570000-0000-4000-8000-000000000001"
LAST_ANGEL_RELEASE = "9c7a7669-b43a-3323-906b-c3f0bedc10c9"
LAST_ANGEL_RECORDING = "b9ad642e-b012-41c7-b72a-42cf4911f9ff"
WEEZER_BLUE = "3eeee000-1994-4000-8000-000000000001"
WEEZER_GREEN = "3eeee000-2001-4000-8000-000000000002"
WEEZER_COMPILATION = "3eeee000-2010-4000-8000-000000000003"
KOVENANT_ORIGINAL = "422496f0-d2b5-30a6-806e-cf5b7e70c28f"
ED_SHEERAN = "b8a7c51f-362c-4dcb-a259-bc6e0095f0a6"

HEXNDEIFL_TRACKS = [
    (1, 1, "1", "Transilvania", 336562, "60ab5ee3-c283-467c-ace3-d07927ae166c"),
    (1, 2, "2", "Vlad Draculea", 258088, "01b07b1d-6cff-4cbb-9c15-79afab66caf6"),
    (1, 3, "3", "Finstersucht", 333366, "baecb7a6-e05b-48b8-ae3b-300750c3f58b"),
    (1, 4, "4", "Aetherbrand", 327267, "651d8ac5-c710-4fbc-965c-52e693d1f75d"),
    (1, 5, "5", "Hexndeifl", 393438, "478c74ce-5c6e-4a3e-983c-b3f37b998b64"),
    (1, 6, "6", "Ausklang", 156763, "5092d660-9fdf-485e-94ce-272fdcbf7afa"),
]


def mb(name: str):
    return load_payload("musicbrainz", f"musicbrainz__{name}.json")


def built(name: str):
    return load_payload("musicbrainz", f"built__{name}.json")


def sent(**params) -> list:
    """Matcher for the exact query string: every call also carries fmt=json."""
    return [matchers.query_param_matcher({**params, "fmt": "json"})]


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:  # fails the test if a registered call is unused
        yield rsps


def serve_album_search(mocked, body: dict, *, artist: str, title: str, year: int | None = None):
    query = f"releasegroup:({title}) AND artist:({artist})"
    if year is not None:
        query += f" AND firstreleasedate:[{year} TO {year}-12-31]"
    mocked.get(BASE + "release-group/", json=body, match=sent(query=query, limit="25", offset="0"))


def serve_group(mocked, lookup: dict, pages: list[dict]) -> None:
    """The lookup and every browse page of one release group, each matched on what is sent."""
    mbid = lookup["id"]
    mocked.get(BASE + f"release-group/{mbid}", json=lookup, match=sent(inc="artist-credits"))
    for page in pages:
        mocked.get(
            BASE + "release/",
            json=page,
            match=sent(
                **{
                    "release-group": mbid,
                    "inc": BROWSE_INC,
                    "limit": "100",
                    "offset": str(page["release-offset"]),
                }
            ),
        )


def hexndeifl_pages() -> list[dict]:
    return [
        built("release_browse__hexndeifl_page_1_of_2"),
        built("release_browse__hexndeifl_page_2_of_2"),
    ]


def serve_hexndeifl(mocked, pages: list[dict] | None = None) -> None:
    serve_group(
        mocked,
        built("release-group_lookup__hexndeifl_inc_artist-credits"),
        pages or hexndeifl_pages(),
    )


def tracklist(release_mbid: str) -> list[tuple]:
    return [
        (t.medium_position, t.position, t.number, t.title, t.length_ms, str(t.recording.mbid))
        for t in Track.objects.filter(release__mbid=release_mbid)
        .select_related("recording")
        .order_by("medium_position", "position")
    ]


def row_counts() -> dict[str, int]:
    models = (Artist, ArtistCredit, ArtistCreditName, ReleaseGroup, Release, Track, Recording)
    return {model.__name__: model.objects.count() for model in models}


# --- search_albums ---------------------------------------------------------------------


def test_single_exact_studio_album_is_a_confident_choice(mocked):
    body = mb("release-group_search__hexndeifl_1_result")
    serve_album_search(mocked, body, artist="Gråinheim", title="Hexndeifl")

    choice = search_albums(artist_name="Gråinheim", album_title="Hexndeifl")

    assert choice.confident is True
    assert choice.reason == "single exact title and artist match"
    assert choice.chosen.candidate.mbid == HEXNDEIFL_RG
    assert choice.chosen.reasons == (
        "artist matches",
        "exact title",
        "studio album",
        "first released 2021-02-15",
    )
    assert choice.chosen.candidate.credit_display == "Gråinheim"


def test_candidates_rank_studio_album_first_then_other_types_then_other_artists(mocked):
    serve_album_search(
        mocked,
        mb("release-group_search__in_times_before_the_light_trimmed"),
        artist="The Kovenant",
        title="In Times Before the Light",
    )

    choice = search_albums(artist_name="The Kovenant", album_title="In Times Before the Light")

    assert [(r.candidate.title, r.reasons) for r in choice.ranked] == [
        # Credited as "Covenant", but the artist is The Kovenant: still a match.
        (
            "In Times Before the Light",
            ("artist matches", "exact title", "studio album", "first released 1997"),
        ),
        (
            "In Times Before the Light 1995",
            ("artist matches", "title differs", "studio album", "first released 2007-01-26"),
        ),
        (
            "In Times Before the Light",
            ("artist matches", "exact title", "type Album + Remix", "first released 2002-09-03"),
        ),
        (
            "Before the Light",
            ("different artist", "title differs", "type Album + Demo", "first released 2004"),
        ),
        (
            "Before The Light Goes",
            ("different artist", "title differs", "type Single", "first released unknown"),
        ),
    ]
    # The remix album shares the title but is no studio album: no rival to the original.
    assert choice.confident is True
    assert choice.chosen.candidate.mbid == KOVENANT_ORIGINAL
    assert choice.chosen.candidate.credit_display == "Covenant"


def test_two_albums_sharing_the_title_ask_the_user(mocked):
    serve_album_search(
        mocked, built("release-group_search__weezer_self_titled"), artist="Weezer", title="Weezer"
    )

    choice = search_albums(artist_name="Weezer", album_title="Weezer")

    assert choice.confident is False
    assert choice.chosen is None
    assert choice.reason == "2 albums share the title: ask the user (a year narrows)"
    # Earliest first, although the payload lists the Green Album first with the same score.
    assert [r.candidate.mbid for r in choice.ranked] == [
        WEEZER_BLUE,
        WEEZER_GREEN,
        WEEZER_COMPILATION,
    ]
    assert choice.ranked[2].reasons == (
        "artist matches",
        "title differs",
        "type Album + Compilation",
        "first released 2010-11-02",
    )


def test_a_year_narrows_a_shared_title_to_one_album(mocked):
    body = built("release-group_search__weezer_self_titled")
    # The server applies the firstreleasedate range: only the 2001 album comes back.
    body["release-groups"] = [g for g in body["release-groups"] if g["id"] == WEEZER_GREEN]
    body["count"] = 1
    serve_album_search(mocked, body, artist="Weezer", title="Weezer", year=2001)

    choice = search_albums(artist_name="Weezer", album_title="Weezer", year=2001)

    assert choice.confident is True
    assert choice.chosen.candidate.mbid == WEEZER_GREEN
    assert choice.chosen.reasons == (
        "artist matches",
        "exact title",
        "studio album",
        "year matches",
        "first released 2001-05-15",
    )


def test_a_year_without_hits_searches_again_without_it_and_asks_the_user(mocked):
    serve_album_search(
        mocked,
        mb("release-group_search__no_results"),
        artist="Weezer",
        title="Weezer",
        year=2000,
    )
    serve_album_search(
        mocked, built("release-group_search__weezer_self_titled"), artist="Weezer", title="Weezer"
    )

    choice = search_albums(artist_name="Weezer", album_title="Weezer", year=2000)

    assert len(mocked.calls) == 2
    assert [r.candidate.mbid for r in choice.ranked] == [
        WEEZER_BLUE,
        WEEZER_GREEN,
        WEEZER_COMPILATION,
    ]
    assert all("other year" in r.reasons for r in choice.ranked)
    assert choice.confident is False
    assert choice.chosen is None


def test_an_empty_search_has_no_candidates(mocked):
    serve_album_search(
        mocked, mb("release-group_search__no_results"), artist="Nobody", title="Nothing"
    )

    choice = search_albums(artist_name="Nobody", album_title="Nothing")

    assert choice.ranked == ()
    assert (choice.confident, choice.reason, choice.chosen) == (False, "no candidates", None)


# --- import_release_group ----------------------------------------------------------------


def test_import_stores_group_with_its_artist_credit(mocked):
    serve_hexndeifl(mocked)

    import_release_group(mbid=HEXNDEIFL_RG)

    group = ReleaseGroup.objects.get(mbid=HEXNDEIFL_RG)
    assert (group.title, group.primary_type, group.first_release_date) == (
        "Hexndeifl",
        "Album",
        "2021-02-15",
    )
    assert group.secondary_types == []
    assert str(group) == "Gråinheim – Hexndeifl"
    (credit_name,) = group.artist_credit.names.select_related("artist")
    assert (credit_name.position, credit_name.name, credit_name.join_phrase) == (0, "Gråinheim", "")
    assert str(credit_name.artist.mbid) == GRAINHEIM
    assert (credit_name.artist.name, credit_name.artist.sort_name) == ("Gråinheim", "Gråinheim")


def test_import_stores_credit_names_and_join_phrases_shared_by_group_release_and_recording(
    mocked,
):
    serve_group(
        mocked,
        built("release-group_lookup__last_angel_feat_credit"),
        [built("release_browse__last_angel_1_release")],
    )

    group = import_release_group(mbid=LAST_ANGEL_RG)

    assert group.artist_credit.name == "倖田來未 feat. 東方神起"
    assert [
        (n.position, n.name, n.join_phrase, str(n.artist.mbid), n.artist.sort_name)
        for n in group.artist_credit.names.select_related("artist")
    ] == [
        (0, "倖田來未", " feat. ", "455641ea-fff4-49f6-8fb4-49f961d8f1ac", "Koda, Kumi"),
        (1, "東方神起", "", "05cbaf37-6dc2-4f71-a0ce-d633447d90c3", "Tohoshinki"),
    ]
    assert ArtistCredit.objects.count() == 1
    assert Artist.objects.count() == 2
    release = Release.objects.get(mbid=LAST_ANGEL_RELEASE)
    assert release.artist_credit_id == group.artist_credit_id
    # The track has no credit of its own: the recording takes the release's.
    recording = Recording.objects.get(mbid=LAST_ANGEL_RECORDING)
    assert recording.artist_name == "倖田來未 feat. 東方神起"
    assert recording.artist_credit_id == group.artist_credit_id


def test_import_stores_every_release_across_browse_pages(mocked):
    serve_hexndeifl(mocked)

    import_release_group(mbid=HEXNDEIFL_RG)

    # Page 1 held 2 of 3 releases (fewer than limit=100): the next page starts at offset 2.
    assert len(mocked.calls) == 3
    assert {
        (str(r.mbid), r.title, r.date, r.country, r.status, r.barcode)
        for r in Release.objects.filter(release_group__mbid=HEXNDEIFL_RG)
    } == {
        (HEXNDEIFL_RELEASE, "Hexndeifl", "2021-02-15", "XW", "Official", ""),
        (MULTIDISC_RELEASE, "ケアレス", "2021-09-15", "JP", "Official", "4547366518764"),
        (PSEUDO_RELEASE, "Crescent", "", "", "Pseudo-Release", ""),
    }


def test_import_without_country_prefers_the_earliest_official_release(mocked):
    serve_hexndeifl(mocked)

    group = import_release_group(mbid=HEXNDEIFL_RG)

    group.refresh_from_db()
    assert str(group.preferred_release.mbid) == HEXNDEIFL_RELEASE
    assert tracklist(HEXNDEIFL_RELEASE) == HEXNDEIFL_TRACKS
    # Only the preferred release's tracklist is fetched into rows.
    assert Track.objects.filter(release__mbid=MULTIDISC_RELEASE).count() == 0
    assert group.preferred_release.tracklist_fetched_at is not None


def test_import_stores_resolved_recordings_with_the_release_credit(mocked):
    serve_hexndeifl(mocked)

    import_release_group(mbid=HEXNDEIFL_RG)

    recordings = Recording.objects.order_by("title")
    assert [(r.title, r.length_ms, r.status, r.artist_name) for r in recordings] == [
        ("Aetherbrand", 327267, "resolved", "Gråinheim"),
        ("Ausklang", 156763, "resolved", "Gråinheim"),
        ("Finstersucht", 333366, "resolved", "Gråinheim"),
        ("Hexndeifl", 393438, "resolved", "Gråinheim"),
        ("Transilvania", 336562, "resolved", "Gråinheim"),
        ("Vlad Draculea", 258088, "resolved", "Gråinheim"),
    ]
    assert {str(r.mbid) for r in recordings} == {row[5] for row in HEXNDEIFL_TRACKS}
    assert all(r.unresolved_key is None for r in recordings)


def test_import_with_country_prefers_that_countrys_multi_disc_release(mocked):
    serve_hexndeifl(mocked)

    group = import_release_group(mbid=HEXNDEIFL_RG, country="jp")

    group.refresh_from_db()
    assert str(group.preferred_release.mbid) == MULTIDISC_RELEASE
    assert tracklist(MULTIDISC_RELEASE) == [
        (1, 1, "1", "ケアレス", 256000, "9e1bd108-5e69-41cf-b744-ff7731293403"),
        (1, 2, "2", "Bye-Bye Butterfly", 263000, "e7434e09-727e-4962-aa20-6c8b38431d31"),
        (1, 3, "3", "Starry", 262000, "781f567c-04de-4690-81f8-b5e9396af231"),
        (1, 4, "4", "ケアレス -Instrumental-", 254000, "e337e1b6-818b-4923-9bf2-8256168ff95a"),
        (2, 1, "1", "ケアレス (Music Video)", 249000, "187a4c6f-3920-46ee-869a-30077ff7feb8"),
        (2, 2, "2", "ケアレス (15秒CM)", 14000, "5f6bf35e-98c4-4dad-af43-5b14c42544c8"),
        (
            2,
            3,
            "3",
            "ケアレス (30秒メッセージコメント入りCM)",
            29000,
            "1a7faef4-6f9c-4579-9770-4da2e05b247c",
        ),
    ]
    formats = Track.objects.filter(release__mbid=MULTIDISC_RELEASE).values_list(
        "medium_position", "medium_format"
    )
    assert set(formats) == {(1, "CD"), (2, "DVD-Video")}
    # The track prints an ASCII hyphen; the recording keeps MusicBrainz's U+2010.
    assert Recording.objects.get(mbid="e7434e09-727e-4962-aa20-6c8b38431d31").title == (
        "Bye\u2010Bye Butterfly"
    )
    assert Track.objects.filter(release__mbid=HEXNDEIFL_RELEASE).count() == 0


def test_reimport_stores_nothing_twice(mocked):
    serve_hexndeifl(mocked)
    import_release_group(mbid=HEXNDEIFL_RG)
    before = row_counts()

    import_release_group(mbid=HEXNDEIFL_RG)

    assert before == {
        "Artist": 1,
        "ArtistCredit": 1,
        "ArtistCreditName": 1,
        "ReleaseGroup": 1,
        "Release": 3,
        "Track": 6,
        "Recording": 6,
    }
    assert row_counts() == before
    assert tracklist(HEXNDEIFL_RELEASE) == HEXNDEIFL_TRACKS


def test_reimport_updates_a_changed_track_title_and_length(mocked):
    serve_hexndeifl(mocked)
    import_release_group(mbid=HEXNDEIFL_RG)
    pages = hexndeifl_pages()
    vlad = pages[0]["releases"][1]["media"][0]["tracks"][1]
    vlad["title"] = vlad["recording"]["title"] = "Vlad Drăculea"
    vlad["length"] = vlad["recording"]["length"] = 258000
    mocked.reset()
    serve_hexndeifl(mocked, pages)

    import_release_group(mbid=HEXNDEIFL_RG)

    track = Track.objects.select_related("recording").get(
        release__mbid=HEXNDEIFL_RELEASE, medium_position=1, position=2
    )
    assert (track.title, track.length_ms) == ("Vlad Drăculea", 258000)
    assert (track.recording.title, track.recording.length_ms) == ("Vlad Drăculea", 258000)
    assert str(track.recording.mbid) == "01b07b1d-6cff-4cbb-9c15-79afab66caf6"
    assert Track.objects.count() == 6


def test_reimport_updates_a_changed_group_title(mocked):
    serve_hexndeifl(mocked)
    import_release_group(mbid=HEXNDEIFL_RG)
    lookup = built("release-group_lookup__hexndeifl_inc_artist-credits")
    lookup["title"] = "Hexndeifl (Remastered)"
    mocked.reset()
    serve_group(mocked, lookup, hexndeifl_pages())

    import_release_group(mbid=HEXNDEIFL_RG)

    assert list(ReleaseGroup.objects.values_list("title", flat=True)) == ["Hexndeifl (Remastered)"]


def test_reimport_drops_the_last_track_removed_upstream(mocked):
    serve_hexndeifl(mocked)
    import_release_group(mbid=HEXNDEIFL_RG)
    pages = hexndeifl_pages()
    medium = pages[0]["releases"][1]["media"][0]
    del medium["tracks"][5]
    medium["track-count"] = 5
    mocked.reset()
    serve_hexndeifl(mocked, pages)

    import_release_group(mbid=HEXNDEIFL_RG)

    assert tracklist(HEXNDEIFL_RELEASE) == HEXNDEIFL_TRACKS[:5]


def test_reimport_drops_a_middle_track_removed_upstream(mocked):
    serve_hexndeifl(mocked)
    import_release_group(mbid=HEXNDEIFL_RG)
    pages = hexndeifl_pages()
    medium = pages[0]["releases"][1]["media"][0]
    # MusicBrainz renumbers the tracks after a removed one: positions stay 1..n.
    del medium["tracks"][2]
    for position, track in enumerate(medium["tracks"], start=1):
        track["position"], track["number"] = position, str(position)
    medium["track-count"] = 5
    mocked.reset()
    serve_hexndeifl(mocked, pages)

    import_release_group(mbid=HEXNDEIFL_RG)

    assert [(t[3], t[1]) for t in tracklist(HEXNDEIFL_RELEASE)] == [
        ("Transilvania", 1),
        ("Vlad Draculea", 2),
        ("Aetherbrand", 3),
        ("Hexndeifl", 4),
        ("Ausklang", 5),
    ]


# --- search_artists / lookup_artist -------------------------------------------------------


def test_search_artists_stores_every_hit_best_first(mocked):
    mocked.get(
        BASE + "artist/",
        json=mb("artist_search__manowar_6_results"),
        match=sent(query="artist:(Manowar)", limit="25", offset="0"),
    )

    artists = search_artists(name="Manowar")

    assert [a.name for a in artists] == [
        "Manowar",
        "Womanowar",
        "Josef Manowarda",
        "Eric Adams",
        "Womenowar",
        "Hanowar",
    ]
    assert Artist.objects.count() == 6
    manowar = Artist.objects.get(mbid="00eeed6b-5897-4359-8347-b8cd28375331")
    assert (manowar.type, manowar.country, manowar.disambiguation) == ("Group", "US", "")
    eric = Artist.objects.get(mbid="4c96a93c-85ab-4aaa-83f2-bd1ad759e63b")
    assert (eric.sort_name, eric.type, eric.disambiguation) == (
        "Adams, Eric",
        "Person",
        "Louis Marullo, Manowar",
    )


def test_search_artists_twice_stores_each_artist_once(mocked):
    mocked.get(
        BASE + "artist/",
        json=mb("artist_search__fred_group_US_musicbrainz_rs_trimmed"),
        match=sent(query="artist:(Fred)", limit="25", offset="0"),
    )

    search_artists(name="Fred")
    artists = search_artists(name="Fred")

    assert Artist.objects.count() == 4
    assert [str(a.mbid) for a in artists][:3] == [
        "4a903390-4381-4c32-90d0-803bd4f9ce34",
        "05cfb5c7-0152-41f4-a9c9-622e8f710dfa",
        "4a024fd4-305e-4fea-9d3f-4ec858766e6e",
    ]
    fred = Artist.objects.get(mbid="4a024fd4-305e-4fea-9d3f-4ec858766e6e")
    assert (fred.name, fred.type, fred.country, fred.disambiguation) == (
        "Fred",
        "Group",
        "US",
        "US barbershop quartet from Marietta, GA",
    )


def test_lookup_artist_stores_the_artist_and_updates_it_later(mocked):
    mocked.get(
        BASE + f"artist/{ED_SHEERAN}",
        json=mb("artist_lookup__ed_sheeran_picard"),
        match=sent(),
    )

    artist = lookup_artist(mbid=ED_SHEERAN)

    assert (artist.name, artist.sort_name, artist.type, artist.country) == (
        "Ed Sheeran",
        "Sheeran, Ed",
        "Person",
        "GB",
    )
    assert Artist.objects.get(mbid=ED_SHEERAN).disambiguation == "famous UK singer-songwriter"

    mocked.reset()
    newer = mb("artist_lookup__ed_sheeran_inc_tags_ratings_url-rels_releases_trimmed")
    mocked.get(BASE + f"artist/{ED_SHEERAN}", json=newer, match=sent())
    lookup_artist(mbid=ED_SHEERAN)

    assert [(str(a.mbid), a.disambiguation) for a in Artist.objects.all()] == [
        (ED_SHEERAN, "UK singer-songwriter")
    ]
