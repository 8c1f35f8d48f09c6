from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from metadata.clients.mbid_mapper import MbidMapperClient, parse_lookup_response
from tests.http_options import split_options
from tests.payloads import load_payload

BASE = "https://lb.test/1/"
LOOKUP = BASE + "metadata/lookup/"


def make_client(**kw) -> MbidMapperClient:
    options, rest = split_options(kw, "SidetrackTests/0.1 ( t@example.org )")
    return MbidMapperClient(base_url=BASE, options=options, **rest)


def fixture(name: str):
    return load_payload("listenbrainz", name)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


# --- MBID mapper ----------------------------------------------------------------------


def test_lookup_answers_in_input_order(mocked):
    mocked.post(
        LOOKUP,
        json=fixture("built__metadata_lookup_post__3_recordings.json"),
        match=[
            matchers.json_params_matcher(
                {
                    "recordings": [
                        {
                            "artist_name": "The Stranglers",
                            "recording_name": "Golden Brown",
                            "release_name": "La Folie",
                        },
                        {"artist_name": "Srikanth", "recording_name": "screen-20240803-185944.mp4"},
                        {
                            "artist_name": "Lost Frequencies & Calum Scott",
                            "recording_name": "Where Are You Now",
                        },
                    ]
                }
            )
        ],
    )

    golden, nothing, duo = make_client().lookup_recordings(
        [
            ("The Stranglers", "Golden Brown", "La Folie"),
            ("Srikanth", "screen-20240803-185944.mp4", None),
            ("Lost Frequencies & Calum Scott", "Where Are You Now", ""),
        ]
    )

    assert golden.recording_mbid == "c7d0bf6e-b2aa-4ffa-bded-2448415b39b0"
    assert (golden.recording_name, golden.artist_credit_name, golden.release_name) == (
        "Golden Brown",
        "The Stranglers",
        "La Folie",
    )
    assert golden.artist_mbids == ("a96d82a0-cdca-40bf-b4c8-3d7ec178d85b",)
    assert golden.release_mbid == "c6911b3b-135f-4b7b-a2cc-b90ea1e11ac9"
    assert nothing is None
    assert duo.artist_mbids == (
        "ea7260de-e1b1-43f1-bb11-f78274a36308",
        "68fdc9cc-1094-48bb-942f-66492343e41c",
    )


def test_lookup_batches_50_per_request_and_realigns(mocked):
    def answer(request):
        recordings = json.loads(request.body)["recordings"]
        # Answer matches only, in reverse order, to prove alignment goes by index.
        body = [
            {"index": i, "recording_mbid": f"mbid-{r['recording_name']}"}
            for i, r in enumerate(recordings)
            if int(r["recording_name"]) % 3 == 0
        ][::-1]
        return 200, {}, json.dumps(body)

    mocked.add_callback(responses.POST, LOOKUP, callback=answer)
    items = [("Artist", str(n), None) for n in range(120)]

    results = make_client().lookup_recordings(items)

    assert [len(json.loads(c.request.body)["recordings"]) for c in mocked.calls] == [50, 50, 20]
    assert len(results) == 120
    for n, match in enumerate(results):
        assert (match.recording_mbid if match else None) == (f"mbid-{n}" if n % 3 == 0 else None)


@pytest.mark.parametrize("answer", [{}, [], [{}], [{"index": 0}], "oops"])
def test_lookup_without_matches_gives_none(mocked, answer):
    mocked.post(LOOKUP, json=answer)

    assert make_client().lookup_recordings([("A", "B", None), ("C", "D", None)]) == [None, None]


def test_lookup_entries_without_index_align_by_position():
    answer = [{"recording_mbid": "r1"}, {"recording_mbid": "r2", "index": "nope"}]

    first, second, third = parse_lookup_response(answer, 3)

    assert (first.recording_mbid, second.recording_mbid, third) == ("r1", "r2", None)


def test_lookup_fits_each_query_in_250_characters_and_skips_unaskable_items(mocked):
    long_artist, long_title = "A" * 300, "T" * 300
    mocked.post(LOOKUP, json=[])

    results = make_client().lookup_recordings(
        [
            (long_artist, "Short", "Album"),
            ("Artist", long_title, None),
            (long_artist, long_title, None),
            ("Artist", "Title", "R" * 240),  # the release would not fit: dropped
            ("", "Title", None),  # the server refuses a whole batch over one of these
            ("Artist", "   ", "Album"),
        ]
    )

    assert results == [None] * 6
    (call,) = mocked.calls
    sent = json.loads(call.request.body)["recordings"]
    assert len(sent) == 4
    for query in sent:
        total = sum(
            len(query.get(k, "")) for k in ("artist_name", "recording_name", "release_name")
        )
        assert total <= 250
    assert sent[0] == {"artist_name": "A" * 245, "recording_name": "Short"}
    assert sent[1] == {"artist_name": "Artist", "recording_name": "T" * 244}
    assert sent[2] == {"artist_name": "A" * 125, "recording_name": "T" * 125}
    assert sent[3] == {"artist_name": "Artist", "recording_name": "Title"}


def test_lookup_with_nothing_askable_sends_nothing(mocked):
    assert make_client().lookup_recordings([("", "", None)]) == [None]
    assert make_client().lookup_recordings([]) == []
    assert len(mocked.calls) == 0
