"""``is_blank_name``: the one rule for a name that is empty after cleaning."""

from __future__ import annotations

import pytest

from sidetrack.parsing import is_blank_name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "\x00",
        "\x00\x01\x7f",
        "\u200b",
        "\u200c\u200d\u2060",
        "\ufeff",
        "\u3164",
        "\u2028\u2029",
        "\t\n\r",
        "\u00a0\u3000",
        "\u202e\u200f",
        None,
        42,
    ],
)
def test_invisible_names_are_blank(name):
    assert is_blank_name(name)


@pytest.mark.parametrize(
    "name", ["a", " Björk ", "\u200bx", "👩\u200d🎤", "שלום\u200f", "!!!", "·", "\u0301e"]
)
def test_a_name_with_anything_visible_is_not_blank(name):
    assert not is_blank_name(name)
