"""Hypothesis strategies shared by the fuzz tests: exotic text, JSON-like values and
recorded payloads with fields removed or replaced by values of the wrong type."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.payloads import FIXTURES

# Characters random generation rarely reaches but that real names contain or that
# break naive code: NUL and other controls, Unicode line/paragraph separators,
# zero-width and BOM, combining marks, case-folding oddities (İ ı ß ẞ ſ ǅ, Kelvin
# and Ångström signs, final sigma, Cherokee), compatibility forms (ﬃ, fullwidth
# ＆), the quote and dash variants normalize_text maps, noncharacters, astral.
EXOTIC_CHARACTERS = (
    "\x00\x01\x1c\x1f\x7f\x85\xa0\u2028\u2029\u3000\ufeff\u200b\u200d\u200e\u202e"
    "\u0301\u0327\u0345\u20dd\u0e33\u0f73"
    "İıßẞſǅǰΐﬃΩKÅςΣᏸꭰ"
    "＆﹠＂＇‘’‚‛′´`“”„″‐‑‒–—―−&'\"-"
    "\ufdd0\ufffe\uffff\U0001f3b5\U000e0041\U0010ffff"
)

# Surrogates are left out: they cannot be encoded, and what JSON decoding can
# produce from "\\ud800" is covered by its own (xfail) property.
characters = st.one_of(
    st.characters(exclude_categories=("Cs",)), st.sampled_from(EXOTIC_CHARACTERS)
)
short_text = st.text(characters, max_size=120)


def _repeat(chunk: str, size: int) -> str:
    return (chunk * (size // len(chunk) + 1))[:size]


# Hypothesis would need far more buffer than it allows to draw 10k characters one by
# one, so long strings repeat a drawn chunk.
long_text = st.builds(
    _repeat, st.text(characters, min_size=1, max_size=16), st.integers(2_000, 10_000)
)
any_text = st.one_of(short_text, short_text, short_text, long_text)


# --- JSON-like values ------------------------------------------------------------------


def fixtures(service: str, pattern: str) -> list[Any]:
    paths = sorted((FIXTURES / service).glob(pattern))
    assert paths, f"no fixture matches {service}/{pattern}"
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def jsonl_fixture_lines(service: str, pattern: str) -> list[Any]:
    lines: list[Any] = []
    for path in sorted((FIXTURES / service).glob(pattern)):
        lines += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return lines


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _all_fixture_keys() -> list[str]:
    keys: set[str] = set()
    for path in Path(FIXTURES).rglob("*.json*"):
        for line in (
            path.read_text(encoding="utf-8").splitlines()
            if path.suffix == ".jsonl"
            else [path.read_text(encoding="utf-8")]
        ):
            keys.update(_keys(json.loads(line)))
    return sorted(keys)


# Keys the services really send, so that random objects reach the parsers' branches.
KNOWN_KEYS = _all_fixture_keys()

# Strings that look like the numbers, dates, ids and flags the parsers read.
TRICKY_STRINGS = (
    "",
    " ",
    "0",
    "-1",
    "1",
    "true",
    "null",
    "NaN",
    "1e3",
    "1.5",
    " 42 ",
    "0x1F",
    "1_000",
    "9" * 40,
    "1997",
    "1997-02",
    "1997-02-30",
    "2024-13-01",
    "????-??-??",
    "00000000-0000-0000-0000-000000000000",
    "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
    "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "6BA7B8109DAD11D180B400C04FD430C8",
    "Fri, 13 Jun 2025 10:00:00 GMT",
    "Mon, 32 Foo 1999 99:99:99 +9999",
    "user not found",
    "\x00",
    "\u202e",
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    # json.loads (hence requests' .json()) accepts NaN and Infinity.
    st.floats(),
    short_text,
    st.sampled_from(TRICKY_STRINGS),
)
json_keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(characters, max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(json_keys, children, max_size=6)
    ),
    max_leaves=25,
)
wrong_values = st.one_of(json_scalars, st.just([]), st.just({}), json_values)


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _at(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated(draw: st.DrawFn, payload: Any) -> Any:
    """``payload`` with one to four fields deleted or replaced by a wrong-type value."""
    doc = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _at(doc, path[:-1])
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(wrong_values)
    return doc


def recorded_or_arbitrary(payloads: list[Any]) -> st.SearchStrategy[Any]:
    """Mostly mutated recordings (realistic shapes), sometimes arbitrary JSON."""
    recorded = st.sampled_from(payloads)
    return st.one_of(recorded, recorded.flatmap(mutated), recorded.flatmap(mutated), json_values)


def walk(value: Any) -> Iterator[Any]:
    """Every value nested in a JSON-like value, mapping keys included, the root first."""
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from walk(item)
