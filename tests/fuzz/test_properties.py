"""Property-based tests (hypothesis) of the pure code: text normalization, Lucene
query building, the payload parsers, secret redaction and the matching heuristics.

Parsers are fed arbitrary JSON-like values and recorded payloads from
``tests/fixtures/`` with fields removed or replaced by values of the wrong type;
they may only raise what they document. Known bugs have their own properties,
marked ``xfail(strict=True)`` with a pinned failing example: they start failing
(XPASS) once the bug is fixed, as a reminder to drop the marker.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import string
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from listens.clients.lastfm import (
    LastfmTrack,
    check_lastfm_body,
    parse_recent_tracks,
    parse_top_albums,
    parse_top_artists,
)
from listens.clients.listenbrainz import (
    LBListen,
    MalformedListenError,
    NowPlaying,
    parse_listen,
    parse_listens_page,
    parse_playing_now,
)
from listens.export_import import MalformedLine, read_export
from listens.ingest.payloads import (
    clean_payload,
    incoming_from_lastfm,
    incoming_from_listenbrainz,
    payload_json,
)
from metadata.clients.mbid_mapper import MapperMatch, parse_lookup_response
from metadata.clients.musicbrainz import (
    build_query,
    first_release_year_clause,
    lucene_escape,
    parse_artist,
    parse_mbid,
    parse_partial_date,
    parse_recording,
    parse_release,
    parse_release_group,
    parse_score,
)
from metadata.matching import (
    KEY_SEPARATOR,
    MAX_KEY_PART,
    AlbumCandidate,
    RecordingCandidate,
    ReleaseOption,
    TitleMatch,
    TrackText,
    album_key,
    artist_key,
    artist_matches,
    candidate_agrees,
    choose_preferred_release,
    choose_recording,
    comparison_key,
    normalize_text,
    parse_title,
    rank_album_candidates,
    text_key,
    text_key_digest,
)
from sidetrack.http.errors import ExternalApiError, UnavailableError
from sidetrack.http.redaction import (
    REDACTED,
    SECRET_PARAM_NAMES,
    SecretRegistry,
    redact_mapping,
    redact_text,
    redact_url,
)
from tests.fuzz.strategies import (
    any_text,
    characters,
    fixtures,
    json_values,
    jsonl_fixture_lines,
    mutated,
    recorded_or_arbitrary,
    short_text,
    walk,
)

# No example database: it would be written outside tests/fuzz (./.hypothesis), and
# a failure prints its reproduction anyway. No deadline: long inputs and the first
# call into rapidfuzz vary too much in time for a per-example deadline to be fair.
FUZZ = settings(max_examples=200, deadline=None, database=None)
# Fewer examples where each one parses or copies a whole recorded payload.
FUZZ_SLOW = settings(FUZZ, max_examples=100)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --- Text normalization ----------------------------------------------------------------


@FUZZ
@given(any_text)
def test_normalize_text_is_idempotent_and_tidy(text):
    normalized = normalize_text(text)
    assert normalize_text(normalized) == normalized
    assert normalized == normalized.strip()
    assert "  " not in normalized
    assert not _CONTROL.search(normalized)


def _case_folds_together(char: str) -> bool:
    # Unicode casing is not a bijection (Turkish "ı".upper() is "I", whose lower case
    # is "i"): case-insensitivity only means something for characters whose upper-
    # and lower-case forms fold to the same text.
    folded = char.casefold()
    return char.upper().casefold() == folded == char.lower().casefold()


@FUZZ
@given(
    st.one_of(
        st.text(string.ascii_letters + string.digits + " &'-", max_size=60),
        st.text(characters.filter(_case_folds_together), max_size=120),
    )
)
def test_normalize_text_ignores_case(text):
    assert normalize_text(text.upper()) == normalize_text(text) == normalize_text(text.lower())


@FUZZ
@example(text="ᾳ")
@given(st.sampled_from("\u0345ᾀᾳᾼῃῌῳῼ"))
def test_greek_iota_subscript_is_case_insensitive(text):
    assert normalize_text(text.upper()) == normalize_text(text)


@FUZZ
@given(st.none() | any_text, st.none() | any_text)
def test_text_key_has_one_separator_and_bounded_parts(artist, title):
    key = text_key(artist, title)
    artist_part, title_part = key.split(KEY_SEPARATOR)  # exactly one separator
    assert artist_part == normalize_text(artist)[:MAX_KEY_PART]
    assert title_part == normalize_text(title)[:MAX_KEY_PART]
    assert len(key) <= 2 * MAX_KEY_PART + len(KEY_SEPARATOR)
    digest = text_key_digest(artist, title)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == text_key_digest(normalize_text(artist), normalize_text(title))


@FUZZ_SLOW
@given(short_text, short_text, st.lists(short_text, max_size=3))
def test_matching_keys_never_raise(title, artist, credited):
    parts = parse_title(title)
    assert parts.key == comparison_key(parts.base)
    assert comparison_key(comparison_key(title)) == comparison_key(title)
    assert album_key(album_key(title)) == album_key(title)
    result = artist_matches(artist, credited, title)
    assert isinstance(result, bool)
    if artist_key(artist):
        assert artist_matches(artist, [artist], artist)


# --- Lucene query building -------------------------------------------------------------

LUCENE_SPECIAL = frozenset('+-&|!(){}[]^"~*?:\\/')
# Lucene's classic QueryParser splits terms on these only.
LUCENE_WHITESPACE = frozenset(" \t\n\r\u3000")
LUCENE_OPERATORS = frozenset({"AND", "OR", "NOT"})


def lucene_problems(fragment: str) -> list[str]:
    """Unescaped special characters and bare operator words in a query fragment, read
    the way Lucene's classic query parser tokenizes it (independently of the
    regular expression ``lucene_escape`` uses)."""
    problems: list[str] = []
    tokens: list[str] = []
    current = ""
    index = 0
    while index < len(fragment):
        char = fragment[index]
        if char == "\\":
            if index + 1 == len(fragment):
                problems.append("dangling backslash at the end")
                break
            current += fragment[index : index + 2]  # an escaped character is a term character
            index += 2
            continue
        if char in LUCENE_SPECIAL:
            problems.append(f"unescaped {char!r} at {index}")
        if char in LUCENE_WHITESPACE:
            tokens.append(current)
            current = ""
        else:
            current += char
        index += 1
    tokens.append(current)
    problems += [f"bare operator {token}" for token in tokens if token in LUCENE_OPERATORS]
    return problems


def lucene_unescape(fragment: str) -> str:
    return re.sub(r"\\(.)", r"\1", fragment, flags=re.DOTALL)


lucene_text = st.one_of(
    any_text,
    st.lists(
        st.sampled_from(["AND", "OR", "NOT", "and", "&&", "||", "!", "(", ")", "\\", '"', "a"]),
        max_size=12,
    ).map(" ".join),
    st.text(st.sampled_from(sorted(LUCENE_SPECIAL) + [" ", "A", "N", "D", "O", "R", "T"])),
)
non_blank = lucene_text.filter(lambda value: value.split())


def test_lucene_checker_catches_what_it_should():
    assert lucene_problems("AC/DC") == ["unescaped '/' at 2"]
    assert lucene_problems("Rock AND Roll") == ["bare operator AND"]
    assert lucene_problems("Rock\\( AND") == ["bare operator AND"]
    assert lucene_problems("Rock\\ AND") == []  # an escaped space joins one term
    assert lucene_problems("a\\") == ["dangling backslash at the end"]
    assert lucene_problems("AC\\/DC Rock and Roll \\(AND\\)") == []


@FUZZ
@given(lucene_text)
def test_lucene_escape_leaves_no_syntax(value):
    escaped = lucene_escape(value)
    assert lucene_problems(escaped) == []
    # Nothing lost: only the case of operator words changes.
    assert len(lucene_unescape(escaped)) == len(value)
    assert lucene_unescape(escaped).lower() == value.lower()


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["artist", "recording", "release", "releasegroup"]),
        st.none() | lucene_text,
        min_size=1,
    ).filter(lambda fields: any((value or "").split() for value in fields.values()))
)
def test_build_query_escapes_every_field(fields):
    query = build_query(**fields)
    expected = [name for name, value in fields.items() if (value or "").split()]
    parts = query.split(" AND ")
    assert len(parts) == len(expected)
    for name, part in zip(expected, parts, strict=True):
        match = re.fullmatch(r"(\w+):\((.*)\)", part, flags=re.DOTALL)
        assert match, part
        assert match[1] == name
        assert lucene_problems(match[2]) == []
        assert lucene_unescape(match[2]).lower() == " ".join(fields[name].split()).lower()


blank = st.text(st.sampled_from(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000"), max_size=8)


@FUZZ
@given(st.dictionaries(st.sampled_from(["artist", "recording", "release"]), st.none() | blank))
def test_build_query_refuses_blank_fields(fields):
    with pytest.raises(ValueError, match="at least one non-blank field"):
        build_query(**fields)


@FUZZ
@given(st.integers() | st.booleans() | st.none() | st.floats() | short_text)
def test_year_clause_takes_only_sane_years(year):
    if isinstance(year, int) and not isinstance(year, bool) and 1 <= year <= 9999:
        assert first_release_year_clause(year).startswith(f"firstreleasedate:[{year:04d} TO ")
    else:
        with pytest.raises(ValueError, match="year must be an integer"):
            first_release_year_clause(year)


# --- Parsers: only documented exceptions -----------------------------------------------


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = (
        "https://ws.audioscrobbler.com/2.0/?method=user.getrecenttracks&user=u"
        "&api_key=LASTFM-KEY-THAT-MUST-NOT-LEAK&format=json"
    )
    return response


LASTFM_RECENT = fixtures("lastfm", "*user.getRecentTracks__*.json")
LASTFM_TOP_ARTISTS = fixtures("lastfm", "*user.getTopArtists__*.json")
LASTFM_TOP_ALBUMS = fixtures("lastfm", "*user.getTopAlbums__*.json")
LASTFM_ERRORS = fixtures("lastfm", "*__error__*.json")
LB_LISTENS = fixtures("listenbrainz", "*user_listens__*.json")
LB_PLAYING_NOW = fixtures("listenbrainz", "*user_playing-now__*.json")
LB_ERRORS = fixtures("listenbrainz", "*__error__*.json")
LB_EXPORT_LINES = jsonl_fixture_lines("listenbrainz", "*.jsonl")
MAPPER = fixtures("listenbrainz", "*metadata_lookup*.json")
MUSICBRAINZ = fixtures("musicbrainz", "*.json")


@FUZZ_SLOW
@given(recorded_or_arbitrary(LASTFM_RECENT + LASTFM_ERRORS))
def test_lastfm_recent_tracks_parse_or_raise_unavailable(data):
    has_root = isinstance(data, Mapping) and isinstance(data.get("recenttracks"), Mapping)
    try:
        page = parse_recent_tracks(data, user="u", page=1, per_page=200)
    except UnavailableError:
        assert not has_root
        return
    assert has_root
    for track in page.tracks:
        assert isinstance(track, LastfmTrack)
        assert not track.now_playing
        assert track.listened_at is not None
        assert track.listened_at.tzinfo is not None
    assert page.now_playing is None or page.now_playing.now_playing
    assert isinstance(page.page, int)
    assert isinstance(page.per_page, int)


@FUZZ_SLOW
@given(recorded_or_arbitrary(LASTFM_TOP_ARTISTS + LASTFM_TOP_ALBUMS))
def test_lastfm_top_charts_parse_or_raise_unavailable(data):
    for parse, root in ((parse_top_artists, "topartists"), (parse_top_albums, "topalbums")):
        has_root = isinstance(data, Mapping) and isinstance(data.get(root), Mapping)
        try:
            page = parse(data, user="u")
        except UnavailableError:
            assert not has_root
            continue
        assert all(isinstance(item.playcount, int) for item in page.items)


@FUZZ
@given(
    recorded_or_arbitrary(LASTFM_ERRORS + LASTFM_RECENT[:2]),
    st.sampled_from([200, 400, 403, 404, 429, 500, 503]),
)
def test_check_lastfm_body_raises_only_api_errors_without_the_key(data, status):
    if isinstance(data, Mapping) and "error" in data:
        with pytest.raises(ExternalApiError) as raised:
            check_lastfm_body(data, _response(status))
        shown = f"{raised.value} {raised.value!r}"
        assert "LASTFM-KEY-THAT-MUST-NOT-LEAK" not in shown
    else:
        assert check_lastfm_body(data, _response(status)) is None


@FUZZ_SLOW
@given(recorded_or_arbitrary(LB_LISTENS + LB_PLAYING_NOW + LB_ERRORS))
def test_listenbrainz_page_parses_or_raises_unavailable(data):
    payload = data.get("payload") if isinstance(data, Mapping) else None
    try:
        page = parse_listens_page(data, user="u")
    except UnavailableError:
        assert not isinstance(payload, Mapping)
        return
    raw = payload.get("listens")
    assert len(page.listens) + len(page.malformed) == (len(raw) if isinstance(raw, list) else 0)
    for listen in page.listens:
        assert listen.listened_at.tzinfo is not None
        assert listen.duration_ms is None or listen.duration_ms > 0


@FUZZ_SLOW
@given(st.one_of(recorded_or_arbitrary(LB_EXPORT_LINES), json_values))
def test_listenbrainz_listen_parses_or_raises_malformed(data):
    try:
        listen = parse_listen(data)
    except MalformedListenError:
        return
    assert isinstance(listen, LBListen)
    assert listen.mapping is None or listen.mapping.recording_mbid


@FUZZ_SLOW
@given(recorded_or_arbitrary(LB_PLAYING_NOW + LB_LISTENS))
def test_listenbrainz_playing_now_never_raises(data):
    result = parse_playing_now(data)
    assert result is None or isinstance(result, NowPlaying)


@FUZZ
@example(additional_info={"duration": 1e306})
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "duration": st.floats(min_value=1.8e305, allow_infinity=False),
            "duration_ms": st.integers(min_value=10**309),
        },
    ).filter(bool)
)
def test_listenbrainz_durations_never_overflow(additional_info):
    listen = {"listened_at": 1, "track_metadata": {"additional_info": additional_info}}
    assert parse_listen(listen).duration_ms is None
    assert parse_listens_page({"payload": {"listens": [listen]}}).listens[0].duration_ms is None


@FUZZ_SLOW
@given(recorded_or_arbitrary(MAPPER), st.integers(0, 60))
def test_mapper_answer_always_aligns_with_the_request(data, size):
    results = parse_lookup_response(data, size)
    assert len(results) == size
    assert all(r is None or (isinstance(r, MapperMatch) and r.recording_mbid) for r in results)


@FUZZ
@example(index="--0")
@example(index="²")
@given(
    st.one_of(
        st.builds(lambda n, d: "-" * n + d, st.integers(2, 3), st.sampled_from("0123456789")),
        st.sampled_from("²³¹⁰⁴⁵⁶⁷⁸⁹①⑴"),
    )
)
def test_mapper_index_is_parsed_leniently(index):
    assert parse_lookup_response([{"index": index, "recording_mbid": "x"}], 1)[0] is not None


def _mb_entities(doc: Any) -> list[Any]:
    """A lookup body, and each entity of a search or browse body."""
    entities = [doc]
    if isinstance(doc, Mapping):
        for key in ("artists", "release-groups", "releases", "recordings"):
            if isinstance(doc.get(key), list):
                entities += doc[key]
    return entities


@FUZZ_SLOW
@given(recorded_or_arbitrary(MUSICBRAINZ))
def test_musicbrainz_parsers_return_an_entity_or_none(doc):
    for entity in _mb_entities(doc):
        for parse in (parse_artist, parse_release_group, parse_release, parse_recording):
            result = parse(entity)
            if result is None:
                continue
            assert _UUID_TEXT.match(result.mbid)
            score = getattr(result, "score", None)
            assert score is None or 0 <= score <= 100
            length = getattr(result, "length_ms", None)
            assert length is None or length > 0
            date = getattr(result, "first_release_date", None) or getattr(result, "date", None)
            assert date is None or len(date) <= 10  # fits the CharField(max_length=10)


@FUZZ
@given(json_values)
def test_musicbrainz_value_parsers_are_lenient(value):
    mbid = parse_mbid(value)
    assert mbid is None or (_UUID_TEXT.match(mbid) and str(uuid.UUID(mbid)) == mbid)
    score = parse_score(value)
    assert score is None or 0 <= score <= 100
    date = parse_partial_date(value)
    assert date is None or (date == value.strip() and len(date) in (4, 7, 10))


# --- Export files ----------------------------------------------------------------------

jsonl_lines = st.lists(
    st.one_of(
        json_values.map(json.dumps).map(str.encode),
        st.sampled_from(LB_EXPORT_LINES).flatmap(mutated).map(json.dumps).map(str.encode),
        st.binary(max_size=40),
        short_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
    ).map(lambda line: line.replace(b"\n", b" ")),
    max_size=8,
)


@FUZZ_SLOW
@given(jsonl_lines, st.booleans())
def test_read_export_counts_every_line_or_refuses_the_file(lines, bom):
    body = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "listens.jsonl"
        path.write_bytes(body)
        content = body.removeprefix(b"\xef\xbb\xbf")
        looks_like_array = content[:4096].lstrip()[:1] == b"["
        try:
            items = list(read_export(path))
        except ValueError:
            assert looks_like_array  # documented: an old-style export that is not a JSON list
            return
    if not looks_like_array:  # JSON Lines: one item per non-blank line, never an error
        assert len(items) == sum(1 for line in content.split(b"\n") if line.strip())
    for item in items:
        if isinstance(item, MalformedLine):
            continue
        if isinstance(item, dict) and isinstance(item.get("listened_at"), float):
            assert not math.isfinite(item["listened_at"])  # finite floats became ints


@FUZZ
@example(depth=100_000, array=False)
@given(st.integers(5_000, 100_000), st.booleans())
def test_read_export_survives_deeply_nested_json(depth, array):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "listens.jsonl"
        nested = b"[" * depth
        path.write_bytes(b"[" + nested if array else b'{"listened_at": 1}\n' + nested)
        try:
            list(read_export(path))
        except ValueError:
            assert array  # an unreadable old-style export: documented


# --- From parsed listens to what ingest stores ------------------------------------------


def _assert_storable(incoming) -> None:
    for name in (incoming.track_name, incoming.artist_name, incoming.album_name):
        assert "\x00" not in name
        assert name == name.strip()
        assert len(name) <= 5000
        name.encode("utf-8")  # both databases store UTF-8
    assert incoming.listened_at.tzinfo is not None
    incoming.raw_json.encode("utf-8")
    for value in walk(json.loads(incoming.raw_json)):
        assert not (isinstance(value, str) and "\x00" in value)
    for hint in incoming.hints:
        assert _UUID_TEXT.match(str(hint.mbid))
    text_key_digest(incoming.artist_name, incoming.track_name)


@FUZZ_SLOW
@given(st.sampled_from(LASTFM_RECENT).flatmap(mutated))
def test_lastfm_tracks_become_storable_listens(data):
    try:
        page = parse_recent_tracks(data)
    except UnavailableError:
        return
    for track in page.tracks:
        _assert_storable(incoming_from_lastfm(track))


@FUZZ_SLOW
@given(st.one_of(st.sampled_from(LB_EXPORT_LINES).flatmap(mutated), json_values))
def test_listenbrainz_listens_become_storable_listens(data):
    try:
        listen = parse_listen(data)
    except MalformedListenError:
        return
    incoming = incoming_from_listenbrainz(listen)
    _assert_storable(incoming)
    assert incoming.duration_ms is None or 0 < incoming.duration_ms < 2**31


@FUZZ
@example(name='"Song \\ud83c"')
@given(st.sampled_from(["\\ud800", "\\udfff", "\\ud83c", "a\\udc00b"]).map(lambda s: f'"{s}"'))
def test_names_with_lone_surrogates_become_storable_listens(name):
    line = f'{{"listened_at": 1, "track_metadata": {{"track_name": {name}, "artist_name": "A"}}}}'
    _assert_storable(incoming_from_listenbrainz(parse_listen(json.loads(line))))


# --- Redaction -------------------------------------------------------------------------

# Real keys and tokens are long runs of letters and digits; anything shorter than 8
# characters is not registered (register_secret). Bracket-free, so that no secret
# can be formed across a "[REDACTED]" inserted next to it.
secrets = st.text(string.ascii_letters + string.digits, min_size=8, max_size=40).filter(
    lambda secret: secret not in REDACTED and not secret.isdigit()
)
url_text = st.text(string.ascii_letters + string.digits + "-._~%!$'()*+,;:@/", max_size=20)


def registered(*values: str) -> SecretRegistry:
    """A fresh registry holding ``values``; the process-wide one stays untouched."""
    return SecretRegistry(values)


@st.composite
def text_around(draw: st.DrawFn, secret: str) -> str:
    pieces = draw(st.lists(st.one_of(short_text, st.just(secret)), max_size=6))
    position = draw(st.integers(0, len(pieces)))
    return "".join([*pieces[:position], secret, *pieces[position:]])


@FUZZ
@given(st.data(), st.lists(secrets, min_size=1, max_size=3))
def test_redact_text_never_leaks_a_registered_secret(data, secrets_in_text):
    text = "".join(data.draw(text_around(secret)) for secret in secrets_in_text)
    redacted = redact_text(text, secrets=registered(*secrets_in_text))
    for secret in secrets_in_text:
        assert secret not in redacted


@st.composite
def urls(draw: st.DrawFn, secret: str) -> str:
    pieces = {
        "user": draw(url_text),
        "host": draw(st.sampled_from(["ws.audioscrobbler.com", "api.listenbrainz.org", "h"])),
        "path": draw(url_text),
        "key": draw(url_text.filter(lambda key: key and "=" not in key and "&" not in key)),
        "value": draw(url_text.filter(lambda value: "&" not in value)),
        "fragment": draw(url_text),
    }
    where = draw(st.sampled_from(sorted(set(pieces) - {"host"})))
    cut = draw(st.integers(0, len(pieces[where])))
    pieces[where] = pieces[where][:cut] + secret + pieces[where][cut:]
    extra = draw(st.lists(st.tuples(url_text, url_text), max_size=3))
    query = "&".join(
        f"{k.replace('&', '').replace('=', '')}={v.replace('&', '')}"
        for k, v in [(pieces["key"], pieces["value"]), *extra]
    )
    scheme = draw(st.sampled_from(["http", "https"]))
    userinfo = f"{pieces['user']}@" if pieces["user"] else ""
    return f"{scheme}://{userinfo}{pieces['host']}/{pieces['path']}?{query}#{pieces['fragment']}"


@FUZZ
@given(st.data(), secrets)
def test_redact_url_never_leaks_a_registered_secret(data, secret):
    url = data.draw(urls(secret))
    redacted = redact_url(url, secrets=registered(secret))
    assert secret not in redacted


@FUZZ
@given(
    st.sampled_from(sorted(SECRET_PARAM_NAMES)),
    st.sampled_from([str.lower, str.upper, str.title]),
    secrets,
    st.lists(st.tuples(url_text, url_text), max_size=3),
)
def test_redact_url_hides_secret_named_parameters(name, case, value, others):
    query = "&".join(
        f"{k}={v}" for k, v in [*others, (case(name), value)] if "&" not in k + v and "=" not in k
    )
    url = f"https://example.org/2.0/?{query}"
    assume(value not in url.replace(f"={value}", "=", 1))
    assert value not in redact_url(url)  # unregistered: redacted for its parameter name


@FUZZ
@given(st.data(), secrets, json_values)
def test_redact_mapping_never_leaks_a_registered_secret_in_values(data, secret, value):
    def plant(node: Any) -> Any:
        if isinstance(node, str):
            return data.draw(st.sampled_from([node, node + secret, secret + node]))
        if isinstance(node, dict):
            return {key: plant(item) for key, item in node.items()}
        if isinstance(node, list):
            return [plant(item) for item in node]
        return node

    planted = {"track": plant(value), "api_key": data.draw(json_values), "note": secret}
    redacted = redact_mapping(planted, secrets=registered(secret))
    assert redacted["api_key"] == REDACTED
    assert secret not in json.dumps(redacted, ensure_ascii=False)


@FUZZ
@given(st.data(), secrets, json_values)
def test_stored_payload_is_the_fully_cleaned_payload(data, secret, value):
    """payload_json skips the cleaning pass for payloads with nothing to clean: it
    must store exactly what the full pass would, whatever a payload hides."""
    # One kind of dirt per payload, so that no other kind sends it down the full pass.
    dirt = data.draw(
        st.sampled_from(["", "\x00", secret, "sk=unregistered", "\ud83c", "Token", "="])
    )

    def plant(node: Any, key: bool = False) -> Any:
        if isinstance(node, str) and data.draw(st.booleans()):
            return dirt if key and dirt == "Token" else node + dirt
        if isinstance(node, dict):
            return {plant(name, key=True): plant(item) for name, item in node.items()}
        if isinstance(node, list):
            return [plant(item) for item in node]
        return node

    payload = {"track": plant(value), plant("name", key=True): plant(value)}
    registry = registered(secret)
    stored = payload_json(payload, secrets=registry)
    assert json.loads(stored) == clean_payload(payload, secrets=registry)
    assert secret not in stored
    # No NUL in any decoded string (the text may spell "\\u0000" with an escaped backslash).
    assert "\x00" not in json.dumps(json.loads(stored), ensure_ascii=False)
    orjson.loads(stored)  # strict JSON (no NaN), valid UTF-8: what PostgreSQL accepts


@FUZZ
@example(secret="s3cr3t-token-0123456789".replace("-", ""))
@given(secrets)
def test_redact_mapping_never_leaks_a_registered_secret_in_keys(secret):
    redacted = redact_mapping({"sessions": {secret: {"user": "u"}}}, secrets=registered(secret))
    assert secret not in json.dumps(redacted)


# --- Choosing recordings and releases --------------------------------------------------

TITLES = (
    "Song",
    "song",
    "SONG!",
    "Sóng",
    "Songs",
    "Other Song",
    "Song (Live)",
    "Song - Live at Wembley",
    "Song - 2011 Remaster",
    "Song (Remastered)",
    "Song (feat. Bob)",
    "Song feat. Bob",
    "Don't Stop",
    "Dont Stop",
    "!!!",
)
ARTISTS = ("Alice", "alice", "The Alice", "Alice, The", "Alice feat. Bob", "Bob", "AC/DC", "")
ALBUMS = ("Album", "Album (Deluxe Edition)", "Other Album", "")

titles = st.one_of(st.sampled_from(TITLES), short_text)
artists = st.one_of(st.sampled_from(ARTISTS), short_text)
albums = st.one_of(st.sampled_from(ALBUMS), short_text)
lengths = st.none() | st.integers(0, 900_000)
mbids = st.uuids().map(str)

tracks = st.builds(
    TrackText,
    title=titles,
    artist=artists,
    album=st.none() | albums,
    duration_ms=lengths,
)
candidates = st.builds(
    RecordingCandidate,
    mbid=mbids,
    title=titles,
    credited_names=st.lists(artists, max_size=3).map(tuple),
    credit_display=artists,
    length_ms=lengths,
    disambiguation=st.sampled_from(["", "live", "live, 1999-05-01: Wembley", "demo"]),
    release_titles=st.lists(albums, max_size=3).map(tuple),
    on_live_releases_only=st.booleans(),
    video=st.booleans(),
)


@FUZZ
@given(tracks, st.lists(candidates, max_size=6), st.randoms(use_true_random=False))
def test_choose_recording_picks_a_candidate_or_none_whatever_the_order(track, pool, random):
    decision = choose_recording(track, pool)
    assert decision.mbid is None or decision.mbid in {c.mbid for c in pool}
    assert decision.considered == len(pool)
    shuffled = list(pool)
    random.shuffle(shuffled)
    assert choose_recording(track, shuffled) == decision


@FUZZ
@given(
    tracks,
    titles,
    lengths,
    st.lists(albums, max_size=2).map(tuple),
    st.lists(candidates, max_size=4),
    st.randoms(use_true_random=False),
)
def test_twins_that_differ_only_by_mbid_are_never_chosen(
    track, title, length, releases, others, random
):
    first = RecordingCandidate(
        mbid=str(uuid.uuid4()),
        title=random.choice([track.title, title]),
        credited_names=(track.artist,),
        credit_display=track.artist,
        length_ms=length,
        release_titles=releases,
    )
    assume(candidate_agrees(track, first) is not TitleMatch.NONE)
    twin = replace(first, mbid=str(uuid.uuid4()))
    pool = [*others, first, twin]
    random.shuffle(pool)
    assert choose_recording(track, pool).mbid not in {first.mbid, twin.mbid}
    assert choose_recording(track, [first, twin]).mbid is None


releases = st.builds(
    ReleaseOption,
    # A small pool, so that one MBID sometimes appears twice.
    mbid=st.sampled_from([str(uuid.UUID(int=n)) for n in range(6)]) | mbids,
    date=st.none() | st.sampled_from(["", "1997", "1997-05", "1997-05-12", "2001-??-??"]),
    country=st.none() | st.sampled_from(["GB", "gb", "US", "XW", "XE", ""]),
    status=st.none() | st.sampled_from(["Official", "official", "Promotion", "Bootleg", ""]),
)


@FUZZ
@given(
    st.lists(releases, max_size=8),
    st.none() | st.sampled_from(["GB", "us", "", "XW"]),
    st.randoms(use_true_random=False),
)
def test_preferred_release_is_a_member_whatever_the_order(options, country, random):
    chosen = choose_preferred_release(options, country=country)
    if not options:
        assert chosen is None
        return
    official = [r for r in options if (r.status or "").lower() == "official"]
    assert chosen in {r.mbid for r in official or options}
    for permutation in itertools.islice(itertools.permutations(options), 3):
        assert choose_preferred_release(permutation, country=country) == chosen
    shuffled = list(options)
    random.shuffle(shuffled)
    assert choose_preferred_release(shuffled, country=country) == chosen


album_candidates = st.builds(
    AlbumCandidate,
    mbid=mbids,
    title=st.one_of(st.sampled_from(ALBUMS), short_text),
    credit_display=artists,
    credited_names=st.lists(artists, max_size=2).map(tuple),
    primary_type=st.none() | st.sampled_from(["Album", "EP", "Single"]),
    secondary_types=st.lists(st.sampled_from(["Live", "Compilation"]), max_size=2).map(tuple),
    first_release_date=st.none() | st.sampled_from(["1997", "1997-05", "1997-05-12", ""]),
    score=st.none() | st.integers(0, 100),
)


@FUZZ
@given(
    artists,
    st.one_of(st.sampled_from(ALBUMS), short_text),
    st.lists(album_candidates, max_size=6, unique_by=lambda c: c.mbid),
    st.none() | st.integers(1990, 2000),
    st.randoms(use_true_random=False),
)
def test_album_ranking_is_a_permutation_and_order_independent(artist, title, pool, year, random):
    choice = rank_album_candidates(artist, title, pool, year=year)
    assert sorted(r.candidate.mbid for r in choice.ranked) == sorted(c.mbid for c in pool)
    if choice.chosen is not None:
        assert choice.confident
        assert choice.chosen.artist_match
        assert choice.chosen.title_exact
    shuffled = list(pool)
    random.shuffle(shuffled)
    again = rank_album_candidates(artist, title, shuffled, year=year)
    assert (again.confident, again.reason) == (choice.confident, choice.reason)
    assert [r.candidate for r in again.ranked] == [r.candidate for r in choice.ranked]


# --- Known matching bugs ---------------------------------------------------------------

plain_words = st.text(string.ascii_letters + " ", min_size=1, max_size=20).filter(str.strip)


@FUZZ
@example(title="Song", featured="Bob")
@given(plain_words, plain_words)
def test_live_marker_survives_a_trailing_featured_artist(title, featured):
    assert parse_title(f"{title} feat. {featured} (Live)").live


def test_title_regexes_are_linear_time():
    # Not a hypothesis property: random text almost never holds long whitespace runs,
    # and a regex in C cannot be interrupted, so one pinned input keeps this short.
    # A linear-time parse of 6k characters takes about a millisecond.
    title = "a" + " \t\n" * 2_000 + "b"
    started = time.perf_counter()
    parse_title(title)
    assert time.perf_counter() - started < 0.25
