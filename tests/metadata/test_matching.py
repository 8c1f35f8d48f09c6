from __future__ import annotations

import pytest

from metadata.matching import (
    AlbumCandidate,
    RecordingCandidate,
    ReleaseOption,
    TitleMatch,
    TrackText,
    album_bound_title,
    album_key,
    artist_key,
    artist_matches,
    choose_preferred_release,
    choose_recording,
    compare_titles,
    comparison_key,
    normalize_text,
    parse_title,
    rank_album_candidates,
    split_featured_artist,
    text_key,
    verify_hint,
    versions_agree,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Guns N’ Roses", "guns n' roses"),
        ("Beyoncé", "BEYONCE"),
        ("Sigur Rós", "sigur ros"),
        ("Simon & Garfunkel", "Simon and Garfunkel"),
        ("Don’t Stop Me Now", "Don't Stop Me Now"),
        ("Jay‐Z", "Jay-Z"),  # U+2010 hyphen
        ("  Motörhead  ", "motorhead"),
        ("ＡＢＢＡ", "abba"),  # full-width letters
    ],
)
def test_normalize_text_ignores_variants_that_never_distinguish_songs(a, b):
    assert normalize_text(a) == normalize_text(b)
    assert text_key("x", a) == text_key("x", b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("AC/DC", "ACDC"), ("!!!", "?!?"), ("Live", "Alive"), ("The The", "The")],
)
def test_normalize_text_keeps_real_differences(a, b):
    assert normalize_text(a) != normalize_text(b)


def test_punctuation_only_names_keep_their_punctuation():
    assert comparison_key("!!!") == "!!!"
    assert comparison_key("AC/DC") == comparison_key("AC-DC") == "ac dc"


@pytest.mark.parametrize(
    ("reported", "base", "featured", "live"),
    [
        ("Come Together - Remastered 2009", "Come Together", (), False),
        ("Come Together - 2019 Remaster", "Come Together", (), False),
        ("Bohemian Rhapsody (Remastered 2011)", "Bohemian Rhapsody", (), False),
        ("Heroes [2017 Remastered Version]", "Heroes", (), False),
        ("Paranoid (Live)", "Paranoid", (), True),
        ("Paranoid - Live at Hammersmith", "Paranoid", (), True),
        (
            "No Church in the Wild (feat. Frank Ocean)",
            "No Church in the Wild",
            ("Frank Ocean",),
            False,
        ),
        ("Lean On ft. MØ", "Lean On", ("MØ",), False),
        ("Stay [featuring Justin Bieber]", "Stay", ("Justin Bieber",), False),
        ("Alive", "Alive", (), False),  # "live" inside a word is not a live marker
        ("Song 2", "Song 2", (), False),
    ],
)
def test_parse_title_strips_source_noise(reported, base, featured, live):
    parts = parse_title(reported)

    assert (parts.base, parts.featured, parts.live) == (base, featured, live)


def test_featured_artist_moves_between_artist_and_title():
    assert split_featured_artist("Drake feat. Rihanna") == ("Drake", ("Rihanna",))
    assert split_featured_artist("Queen") == ("Queen", ())
    assert artist_matches("Drake feat. Rihanna", ["Drake", "Rihanna"], "Drake feat. Rihanna")
    assert artist_matches("Drake", ["Drake", "Rihanna"], "Drake feat. Rihanna")
    assert artist_matches("Drake feat. Rihanna", ["Drake"], "Drake")


@pytest.mark.parametrize(
    ("reported", "credited", "display", "expected"),
    [
        ("The Beatles", ["The Beatles"], "The Beatles", True),
        ("Beatles", ["The Beatles"], "The Beatles", True),
        ("AC/DC", ["AC/DC"], "AC/DC", True),
        ("Guns N' Roses", ["Guns N’ Roses"], "Guns N’ Roses", True),
        ("!!!", ["!!!"], "!!!", True),
        ("!!!", ["???"], "???", False),
        ("Jay-Z & Kanye West", ["JAY-Z", "Kanye West"], "JAY-Z & Kanye West", True),
        ("Kanye West", ["JAY-Z", "Kanye West"], "JAY-Z & Kanye West", True),
        ("Oasis", ["Ryan Adams"], "Ryan Adams", False),
        ("Queen", ["Queens of the Stone Age"], "Queens of the Stone Age", False),
    ],
)
def test_artist_matching(reported, credited, display, expected):
    assert artist_matches(reported, credited, display) is expected


def test_artist_key_moves_trailing_article():
    assert artist_key("Beatles, The") == artist_key("The Beatles") == "beatles"


def test_title_comparison_levels():
    assert compare_titles(parse_title("Come Together - Remastered 2009"), "Come Together") is (
        TitleMatch.EXACT
    )
    assert compare_titles(parse_title("Dont Stop Me Now"), "Don't Stop Me Now") is TitleMatch.EXACT
    assert compare_titles(parse_title("Bohemian Rhapsodyy"), "Bohemian Rhapsody") is TitleMatch.NEAR
    assert compare_titles(parse_title("Help"), "Help!") is TitleMatch.EXACT
    assert compare_titles(parse_title("Yesterday"), "Yesterdays") is TitleMatch.NONE


def test_album_key_ignores_edition_noise():
    assert album_key("Abbey Road (Super Deluxe Edition)") == album_key("Abbey Road")
    assert album_key("Rumours [Remastered]") == "rumours"


def candidate(mbid, title="We Will Rock You", artist="Queen", **kwargs) -> RecordingCandidate:
    return RecordingCandidate(
        mbid=mbid, title=title, credited_names=(artist,), credit_display=artist, **kwargs
    )


def test_single_exact_match_is_chosen():
    decision = choose_recording(
        TrackText("We Will Rock You - Remastered 2011", "Queen"),
        [candidate("studio"), candidate("other", title="We Are the Champions")],
    )

    assert decision.mbid == "studio"


def test_same_title_by_two_artists_picks_the_reported_artist():
    decision = choose_recording(
        TrackText("Wonderwall", "Ryan Adams"),
        [
            candidate("oasis", "Wonderwall", "Oasis"),
            candidate("adams", "Wonderwall", "Ryan Adams"),
        ],
    )

    assert decision.mbid == "adams"


def test_live_and_studio_recordings_are_never_confused():
    pool = [
        candidate("studio", length_ms=122000),
        candidate("live", disambiguation="live, 1985-07-13: Live Aid", length_ms=130000),
    ]

    # A plain title is never the live one; without album it is the studio one only
    # with evidence (its length), else a curator decides (issue 18).
    plain = choose_recording(TrackText("We Will Rock You", "Queen"), pool)
    assert plain.mbid is None
    assert "several versions" in plain.reason
    timed = TrackText("We Will Rock You", "Queen", duration_ms=121000)
    assert choose_recording(timed, pool).mbid == "studio"
    on_album = TrackText("We Will Rock You", "Queen", "News of the World")
    assert choose_recording(on_album, pool).mbid == "studio"
    assert choose_recording(TrackText("We Will Rock You (Live)", "Queen"), pool).mbid == "live"
    only_studio = [candidate("studio")]
    assert choose_recording(TrackText("We Will Rock You (Live)", "Queen"), only_studio).mbid is None


def test_the_album_a_plain_title_was_heard_amid_picks_its_version_only_when_on_it():
    pool = [
        candidate("studio", release_titles=("News of the World",)),
        candidate(
            "live",
            disambiguation="live, 1986-07-12: Wembley Stadium",
            release_titles=("Live at Wembley '86",),
        ),
    ]

    def heard_amid(album: str) -> TrackText:
        return TrackText("We Will Rock You", "Queen", heard_amid=album)

    assert choose_recording(heard_amid("Live at Wembley '86"), pool).mbid == "live"
    assert choose_recording(heard_amid("News of the World"), pool).mbid == "studio"
    # An album holding neither says nothing: still several versions and no album.
    elsewhere = choose_recording(heard_amid("Jazz"), pool)
    assert elsewhere.mbid is None
    assert "several versions" in elsewhere.reason


def test_a_named_performance_is_only_a_recording_that_names_it():
    wembley = candidate("wembley", disambiguation="live, 1986-07-12: Wembley Stadium")
    live_aid = candidate("aid", disambiguation="live, 1985-07-13: Live Aid")

    live_aid_report = TrackText("We Will Rock You (Live Aid)", "Queen", "Live Aid")
    assert choose_recording(live_aid_report, [wembley]).mbid is None
    assert choose_recording(live_aid_report, [wembley, live_aid]).mbid == "aid"
    # The album alone names it too ("Live at Wembley '86"), and a plain "(Live)" names
    # no performance: any live recording of the song still qualifies.
    on_album = TrackText("We Will Rock You - Live", "Queen", "Live at Wembley Stadium")
    assert choose_recording(on_album, [live_aid]).mbid is None
    assert choose_recording(on_album, [live_aid, wembley]).mbid == "wembley"
    assert choose_recording(TrackText("We Will Rock You (Live)", "Queen"), [wembley]).mbid == (
        "wembley"
    )
    # A source's MBID for another performance is not verified either.
    assert not verify_hint(live_aid_report, wembley)


def test_several_equally_good_candidates_are_ambiguous():
    decision = choose_recording(
        TrackText("We Will Rock You", "Queen"), [candidate("a"), candidate("b")]
    )

    assert decision.mbid is None
    assert "ambiguous" in decision.reason


def test_album_name_prefers_the_recording_on_that_album():
    pool = [
        candidate("news", release_titles=("News of the World",)),
        candidate("greatest", release_titles=("Greatest Hits",)),
    ]

    decision = choose_recording(
        TrackText("We Will Rock You", "Queen", album="News of the World (Deluxe Edition)"), pool
    )

    assert decision.mbid == "news"


def test_duration_picks_the_candidate_within_three_seconds():
    pool = [candidate("short", length_ms=121000), candidate("long", length_ms=181000)]

    assert choose_recording(
        TrackText("We Will Rock You", "Queen", duration_ms=123500), pool
    ).mbid == ("short")
    assert (
        choose_recording(TrackText("We Will Rock You", "Queen", duration_ms=150000), pool).mbid
        is None
    )


def test_videos_and_strangers_are_not_credible():
    pool = [candidate("video", video=True), candidate("cover", artist="Tribute Band")]

    assert choose_recording(TrackText("We Will Rock You", "Queen"), pool).mbid is None


def test_exact_titles_beat_near_ones():
    pool = [
        candidate("exact", title="Bohemian Rhapsody"),
        candidate("near", title="Bohemian Rhapsodie"),
    ]

    assert choose_recording(TrackText("Bohemian Rhapsody", "Queen"), pool).mbid == "exact"


def test_hint_is_verified_against_the_text():
    right = candidate("hint", title="We Will Rock You")
    stale = candidate("hint", title="Radio Ga Ga")

    assert verify_hint(TrackText("We Will Rock You - Remastered", "Queen"), right)
    assert not verify_hint(TrackText("We Will Rock You", "Queen"), stale)
    assert not verify_hint(TrackText("We Will Rock You", "Five"), right)


def album(
    mbid, title, *, type_="Album", secondary=(), date="1977-10-28", artist="Queen", score=100
):
    return AlbumCandidate(mbid, title, artist, (artist,), type_, tuple(secondary), date, score)


def test_album_ranking_prefers_studio_album_exact_title_then_earliest():
    choice = rank_album_candidates(
        "Queen",
        "News of the World",
        [
            album("single", "News of the World", type_="Single", date="1977-10-07"),
            album("reissue", "News of the World (40th anniversary)", date="2017-11-17"),
            album("live", "News of the World", secondary=("Live",), date="1978-01-01"),
            album("album", "News of the World"),
            album("tribute", "News of the World", artist="Queen Tribute"),
        ],
    )

    assert [r.candidate.mbid for r in choice.ranked] == [
        "album",
        "reissue",
        "single",
        "live",
        "tribute",
    ]
    assert choice.confident
    assert choice.chosen.candidate.mbid == "album"
    assert "studio album" in choice.ranked[0].reasons


def test_two_albums_with_one_title_ask_the_user_unless_a_year_narrows():
    candidates = [
        album("blue", "Weezer", artist="Weezer", date="1994-05-10"),
        album("green", "Weezer", artist="Weezer", date="2001-05-15"),
    ]

    unsure = rank_album_candidates("Weezer", "Weezer", candidates)
    sure = rank_album_candidates("Weezer", "Weezer", candidates, year=2001)

    assert not unsure.confident
    assert unsure.chosen is None
    assert [r.candidate.mbid for r in unsure.ranked] == ["blue", "green"]
    assert sure.confident
    assert sure.chosen.candidate.mbid == "green"


def test_no_exact_match_is_not_confident():
    choice = rank_album_candidates("Queen", "Innuendo", [album("x", "Innuendo Live")])

    assert not choice.confident
    assert choice.ranked[0].candidate.mbid == "x"


def test_preferred_release_country_then_date_then_mbid():
    releases = [
        ReleaseOption("c-us-late", "1978-02", "US", "Official"),
        ReleaseOption("b-gb", "1977-10-28", "GB", "Official"),
        ReleaseOption("a-nodate", None, "DE", "Official"),
        ReleaseOption("bootleg", "1977-01-01", "GB", "Bootleg"),
        ReleaseOption("a-gb", "1977-10-28", "GB", "Official"),
    ]

    assert choose_preferred_release(releases) == "a-gb"  # same date: MBID breaks the tie
    assert choose_preferred_release(releases, country="us") == "c-us-late"
    assert choose_preferred_release(releases, country="JP") == "a-gb"
    assert choose_preferred_release([]) is None


@pytest.mark.parametrize(
    ("reported", "candidate"),
    [
        ("Another Brick in the Wall, Part 3", "Another Brick in the Wall, Part 2"),
        ("Piano Sonata No. 14 in C-sharp minor", "Piano Sonata No. 18 in C-sharp minor"),
        ("Symphony No. 5 Movement II", "Symphony No. 5 Movement III"),
    ],
)
def test_titles_that_differ_in_a_number_are_not_near_matches(reported, candidate):
    assert compare_titles(parse_title(reported), candidate) is TitleMatch.NONE


def test_listed_artists_match_when_every_one_is_credited():
    credit = ("Drake", "Rihanna")

    assert artist_matches("Drake, Rihanna", credit, "Drake feat. Rihanna")
    assert artist_matches("Drake & Rihanna", credit, "Drake feat. Rihanna")
    assert not artist_matches("Drake, Future", credit, "Drake feat. Rihanna")
    assert artist_matches("Earth, Wind & Fire", ("Earth, Wind & Fire",), "Earth, Wind & Fire")


def test_plain_title_on_the_reported_live_album_is_the_live_recording():
    studio = candidate("studio", release_titles=("News of the World",))
    live = candidate("live", on_live_releases_only=True, release_titles=("Live Killers",))

    on_live_album = TrackText("We Will Rock You", "Queen", album="Live Killers")
    without_album = TrackText("We Will Rock You", "Queen")

    assert choose_recording(on_live_album, [studio, live]).mbid == "live"
    # Without album either may be meant: left for curation, never the live one.
    assert choose_recording(without_album, [studio, live]).mbid is None


@pytest.mark.parametrize(
    ("title", "bound"),
    [
        ("Intro", True),
        ("Outro (Remastered)", True),
        ("interlude", True),
        ("Intro - Live", True),
        ("Introduction", False),
        ("Intro to Love", False),
        ("Polly", False),
    ],
)
def test_titles_that_name_a_place_on_an_album_are_album_bound(title, bound):
    assert album_bound_title(title) is bound


@pytest.mark.parametrize(
    ("title", "candidate_title", "disambiguation", "agrees"),
    [
        ("Polly (Live)", "Polly", "live, 1993-11-18: MTV Unplugged", True),  # unplugged is live
        ("Polly (Unplugged)", "Polly", "live, 1991", False),  # but live is not unplugged
        ("Polly (Acoustic)", "Polly", "", False),
        ("Polly", "Polly", "demo", False),
        ("Polly - Remastered 2011", "Polly", "", True),
        ("Song (Radio Edit)", "Song (radio edit)", "", True),
        ("Song (Extended Mix)", "Song", "extended mix", True),
    ],
)
def test_versions_must_agree(title, candidate_title, disambiguation, agrees):
    candidate = RecordingCandidate(
        "m", candidate_title, ("Nirvana",), "Nirvana", disambiguation=disambiguation
    )
    assert versions_agree(TrackText(title, "Nirvana"), candidate) is agrees


def test_a_comma_listed_duo_with_an_ampersand_in_its_name_is_credited():
    assert artist_matches("Dun & Belpa, Elri", ["Dun & Belpa", "Elri"], "Dun & Belpa feat. Elri")
