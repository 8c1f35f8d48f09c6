"""Pure text functions for matching tracks: no I/O, no Django.

``text_key`` is deliberately conservative: it only removes differences that
never distinguish two songs (case, Unicode form, accents, quote and dash
variants, ``&`` vs ``and``, spacing), because it decides which listens share
one unresolved recording row. Fuzzier comparison belongs to the resolver.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_AMPERSAND = re.compile(r"\s*&\s*")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
KEY_SEPARATOR = "\x1f"
MAX_KEY_PART = 500


def normalize_text(value: str | None) -> str:
    """Case-, accent- and punctuation-variant-insensitive form of a name."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _CONTROL.sub(" ", text.translate(_QUOTES))
    text = _AMPERSAND.sub(" and ", text.casefold())
    return _SPACES.sub(" ", text).strip()


def text_key(artist_name: str | None, track_name: str | None) -> str:
    """The identity of an unresolved track: normalized artist and title."""
    artist = normalize_text(artist_name)[:MAX_KEY_PART]
    title = normalize_text(track_name)[:MAX_KEY_PART]
    return f"{artist}{KEY_SEPARATOR}{title}"


def text_key_digest(artist_name: str | None, track_name: str | None) -> str:
    """Fixed-length digest of :func:`text_key`, for indexes and unique constraints."""
    return hashlib.sha256(text_key(artist_name, track_name).encode("utf-8")).hexdigest()
