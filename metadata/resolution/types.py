"""Values of track resolution: a source's hint, how an answer was reached, the answer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from metadata.clients import musicbrainz as mb


@dataclass(frozen=True, slots=True)
class Hint:
    """An MBID a source attached to a listen, with what the source says it is."""

    mbid: str
    mapped_title: str | None = None  # ListenBrainz mbid_mapping.recording_name
    mapped_artist: str | None = None  # … and its artist credit


class Method(StrEnum):
    """How a resolution was reached (the tier that answered)."""

    KNOWN = "known"  # source MBID agrees with a stored recording
    MAPPING = "mapping"  # source MBID agrees with ListenBrainz's mapping
    HINT = "hint"  # source MBID verified by a lookup
    AGREED = "agreed"  # every other report of the text agrees
    MAPPER = "mapper"
    ALBUM = "album"
    SEARCH = "search"
    UNRESOLVED = "unresolved"

    @property
    def from_source_mbid(self) -> bool:
        return self in (Method.KNOWN, Method.MAPPING, Method.HINT)


@dataclass(frozen=True)
class Resolution:
    mbid: str | None
    method: Method
    reason: str
    title: str | None = None
    length_ms: int | None = None
    credit: tuple[mb.ArtistCreditPart, ...] = ()
    artist_name: str | None = None
    disambiguation: str | None = None


UNRESOLVED = Method.UNRESOLVED


@dataclass
class ResolveSummary:
    """What one run did: rows resolved (by tier), left unresolved, failed."""

    resolved: int = 0
    unresolved: int = 0
    errors: int = 0
    by_method: dict[Method, int] = field(default_factory=lambda: defaultdict(int))
    stopped_early: str = ""
    deferred: int = 0  # handed to the scheduled run (the admin's retry of many rows)

    @property
    def attempted(self) -> int:
        return self.resolved + self.unresolved + self.errors
