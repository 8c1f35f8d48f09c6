"""Pure helpers of the MusicBrainz client: query building and lenient value parsing."""

from __future__ import annotations

import pytest

from metadata.clients.musicbrainz import (
    ArtistCreditPart,
    build_query,
    first_release_year_clause,
    lucene_escape,
    parse_artist_credit,
    parse_partial_date,
    parse_recording,
    parse_release,
    parse_release_group,
    parse_score,
    render_artist_credit,
)
from sidetrack.parsing import parse_mbid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('He said "Hi"', 'He said \\"Hi\\"'),
        ("Re: Stacks", "Re\\: Stacks"),
        ("AC/DC", "AC\\/DC"),
        ("!!!", "\\!\\!\\!"),
        ("Help!", "Help\\!"),
        ("Rock AND Roll", "Rock and Roll"),
        ("NOT", "not"),
        ("This OR That", "This or That"),
        ("ANDROID NOTHING ORACLE", "ANDROID NOTHING ORACLE"),  # only whole words
        ("Black && White || Red", "Black \\&\\& White \\|\\| Red"),
        ("Tom & Jerry", "Tom \\& Jerry"),
        ("C:\\Music", "C\\:\\\\Music"),
        ("+44", "\\+44"),
        ("Blink-182", "Blink\\-182"),
        ("(What's the Story) Morning Glory?", "\\(What's the Story\\) Morning Glory\\?"),
        ("[Untitled] {x} ^~*", "\\[Untitled\\] \\{x\\} \\^\\~\\*"),
        ("Sigur Rós", "Sigur Rós"),
    ],
)
def test_lucene_escape_neutralises_syntax(value, expected):
    assert lucene_escape(value) == expected


def test_lucene_escape_escapes_every_special_character():
    specials = '+-&|!(){}[]^"~*?:\\/'
    assert lucene_escape(specials) == "".join("\\" + c for c in specials)


def test_build_query_uses_loose_field_groups():
    query = build_query(releasegroup="OK Computer (Remastered)", artist="Radiohead")

    assert query == "releasegroup:(OK Computer \\(Remastered\\)) AND artist:(Radiohead)"


def test_build_query_escapes_titles_and_collapses_whitespace():
    query = build_query(recording='  "Heroes"\n (2017 Remaster) ', artist="David   Bowie")

    assert query == 'recording:(\\"Heroes\\" \\(2017 Remaster\\)) AND artist:(David Bowie)'


def test_build_query_lowercases_operator_words_in_values():
    query = build_query(recording="NOT Fade Away", artist="Buddy Holly AND The Crickets")

    assert query == "recording:(not Fade Away) AND artist:(Buddy Holly and The Crickets)"


def test_build_query_skips_blank_fields():
    assert build_query(recording="Lune", artist="  ", release=None) == "recording:(Lune)"


def test_build_query_with_nothing_to_search_raises():
    with pytest.raises(ValueError, match="non-blank"):
        build_query(releasegroup=" ", artist="")


def test_build_query_appends_prebuilt_clauses():
    query = build_query(first_release_year_clause(1997), releasegroup="X", artist="AC/DC")

    assert (
        query == "releasegroup:(X) AND artist:(AC\\/DC) AND firstreleasedate:[1997 TO 1997-12-31]"
    )


@pytest.mark.parametrize("year", [0, 10000, "1997", True, 1997.0])
def test_first_release_year_clause_rejects_non_years(year):
    with pytest.raises(ValueError, match="year"):
        first_release_year_clause(year)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1997", "1997"),
        ("1997-05", "1997-05"),
        ("2016-08-26", "2016-08-26"),
        (" 2004 ", "2004"),
        ("", None),
        (None, None),
        ("1997-??-??", None),
        ("????", None),
        ("19??", None),
        ("1997-13", None),
        ("2021-02-30", None),
        ("1997-5-3", None),
        ("26 Oct, 1996", None),
        (1997, None),
    ],
)
def test_parse_partial_date(value, expected):
    assert parse_partial_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("B8A7C51F-362C-4DCB-A259-BC6E0095F0A6", "b8a7c51f-362c-4dcb-a259-bc6e0095f0a6"),
        ("b8a7c51f-362c-4dcb-a259-bc6e0095f0a6", "b8a7c51f-362c-4dcb-a259-bc6e0095f0a6"),
        ("", None),
        ("   ", None),
        (None, None),
        ("not-an-mbid", None),
        ("b8a7c51f-362c-4dcb-a259", None),
    ],
)
def test_parse_mbid(value, expected):
    assert parse_mbid(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100, 100),
        ("87", 87),
        (" 36 ", 36),
        (0, 0),
        ("abc", None),
        (None, None),
        (True, None),
        (101, None),
        (-1, None),
        (99.0, 99),
    ],
)
def test_parse_score_is_lenient(value, expected):
    assert parse_score(value) == expected


def test_render_artist_credit_joins_names_and_phrases():
    credit = parse_artist_credit(
        [
            {"name": "Simon", "joinphrase": " & ", "artist": {"id": "", "name": "Paul Simon"}},
            {"name": "Garfunkel", "artist": {"name": "Art Garfunkel"}},  # no joinphrase
        ]
    )

    assert render_artist_credit(credit) == "Simon & Garfunkel"
    assert credit[0] == ArtistCreditPart(
        artist_mbid=None,  # empty-string MBID
        artist_name="Paul Simon",
        artist_sort_name=None,
        credited_name="Simon",
        join_phrase=" & ",
        disambiguation="",
    )
    assert render_artist_credit(()) == ""


def test_parsing_tolerates_sparse_real_world_shapes():
    release = parse_release(
        {
            "id": "cb36e0ab-6634-4d85-a84e-8be89924811f",
            "title": "Sparse",
            "date": "2001-??-??",
            "media": [
                {"position": 1, "format": None, "track-count": 12},  # no tracks (no inc)
                {
                    "position": "2",
                    "tracks": [
                        {
                            "id": "",
                            "number": "B1",
                            "position": 1,
                            "title": "",
                            "length": None,
                            "recording": {"id": "x", "title": "Untitled"},
                        },
                    ],
                },
            ],
        }
    )

    assert release is not None
    assert release.date is None
    assert release.artist_credit == ()
    assert release.release_group_mbid is None
    first, second = release.media
    assert (first.track_count, first.tracks, first.format) == (12, (), None)
    assert second.position == 2
    assert second.track_count == 1  # counted when track-count is absent
    track = second.tracks[0]
    assert track.mbid is None
    assert track.title == "Untitled"  # falls back to the recording title
    assert track.length_ms is None
    assert track.recording_mbid is None  # "x" is no UUID
    assert track.recording_length_ms is None


def test_parse_release_group_with_string_score_and_no_secondary_types():
    group = parse_release_group(
        {"id": "70664047-2545-4e46-b75f-4556f2a7b83e", "title": "Main Tenance", "score": "87"}
    )

    assert group is not None
    assert group.score == 87
    assert group.secondary_types == ()
    assert group.primary_type is None
    assert group.first_release_date is None


def test_entities_without_a_valid_id_are_not_parsed():
    assert parse_recording({"id": "", "title": "Ghost"}) is None
    assert parse_release_group({"title": "No id"}) is None
    assert parse_release(["not", "a", "dict"]) is None
