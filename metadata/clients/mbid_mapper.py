"""ListenBrainz's MBID mapper (``POST /1/metadata/lookup/``): text → recording MBID.

A cheap first tier for track resolution: no key, up to 50 tracks a request.
Its fuzzy answers can be wrong, so callers compare before trusting.
https://listenbrainz.readthedocs.io/en/latest/users/api/metadata.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidetrack.http.options import HttpOptions
from sidetrack.http.transport import ServiceHttp
from sidetrack.parsing import as_list, lenient_int, stripped

SERVICE = "listenbrainz-mapper"
# listenbrainz/webserver/views/metadata_api.py: a bulk lookup holds at most 50
# recordings, and each one's artist + recording + release names at most 250
# characters *in total*; one bad item gets the whole batch refused with a 400.
MAX_LOOKUPS_PER_POST = 50
MAX_MAPPING_QUERY_LENGTH = 250


@dataclass(frozen=True)
class MapperMatch:
    recording_mbid: str
    recording_name: str | None
    artist_credit_name: str | None
    artist_mbids: tuple[str, ...]
    release_mbid: str | None
    release_name: str | None


class MbidMapperClient:
    """Client of the mapper over one :class:`ServiceHttp` session."""

    def __init__(
        self,
        *,
        base_url: str,
        options: HttpOptions,
    ) -> None:
        self.http = ServiceHttp(
            service=SERVICE,
            base_url=base_url,
            options=options,
        )

    def close(self) -> None:
        self.http.close()

    def lookup_recordings(
        self, items: Sequence[tuple[str, str, str | None]]
    ) -> list[MapperMatch | None]:
        """Ask the MBID mapper about ``(artist_name, recording_name, release_name)`` triples.

        The answer is aligned with ``items``; ``None`` where nothing matched or the
        item could not be asked (empty artist or recording name). Fuzzy matches
        can be wrong: compare before trusting.
        """
        results: list[MapperMatch | None] = [None] * len(items)
        queries: list[tuple[int, dict[str, str]]] = []
        for position, (artist_name, recording_name, release_name) in enumerate(items):
            query = _mapper_query(artist_name, recording_name, release_name)
            if query is not None:
                queries.append((position, query))
        for start in range(0, len(queries), MAX_LOOKUPS_PER_POST):
            batch = queries[start : start + MAX_LOOKUPS_PER_POST]
            response = self.http.post_json(
                "metadata/lookup/", {"recordings": [query for _, query in batch]}
            )
            for index, match in enumerate(parse_lookup_response(response.data, len(batch))):
                results[batch[index][0]] = match
        return results


def parse_lookup_response(data: Any, size: int) -> list[MapperMatch | None]:
    """Align a ``POST metadata/lookup/`` answer with the ``size`` recordings sent.

    The server answers a list of ``{index, *_arg, recording_mbid?, ...}`` in request
    order; ``{}`` (the GET endpoint's "no match") or missing entries mean no match.
    """
    results: list[MapperMatch | None] = [None] * size
    if not isinstance(data, list):
        return results
    for position, entry in enumerate(data):
        if not isinstance(entry, Mapping):
            continue
        index = lenient_int(entry.get("index"))
        index = index if index is not None and 0 <= index < size else position
        if index < size:
            results[index] = parse_mapper_match(entry)
    return results


def parse_mapper_match(data: Any) -> MapperMatch | None:
    if not isinstance(data, Mapping) or not stripped(data.get("recording_mbid")):
        return None
    return MapperMatch(
        recording_mbid=stripped(data.get("recording_mbid")),
        recording_name=stripped(data.get("recording_name")) or None,
        artist_credit_name=stripped(data.get("artist_credit_name")) or None,
        artist_mbids=tuple(m for m in map(stripped, as_list(data.get("artist_mbids"))) if m),
        release_mbid=stripped(data.get("release_mbid")) or None,
        release_name=stripped(data.get("release_name")) or None,
    )


def _mapper_query(artist: Any, recording: Any, release: Any) -> dict[str, str] | None:
    """Fit one lookup into the server's limits, or None if it can't be asked."""
    artist, recording, release = stripped(artist), stripped(recording), stripped(release)
    if not artist or not recording:
        return None
    limit = MAX_MAPPING_QUERY_LENGTH
    if len(artist) + len(recording) > limit:
        # Give each name at least half the budget, and any unused share to the other.
        artist = artist[: max(limit - len(recording), limit // 2)]
        recording = recording[: limit - len(artist)]
    query = {"artist_name": artist, "recording_name": recording}
    # The release only narrows the match; a truncated one would just miss it.
    if release and len(artist) + len(recording) + len(release) <= limit:
        query["release_name"] = release
    return query
