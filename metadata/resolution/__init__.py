"""Track resolution: reported text (+ source hints) → recording MBID, or None.

A reported track's identity is (artist, title, album, source MBID): the same text
on *Nevermind* and on *MTV Unplugged in New York* is two recordings. Tiers,
cheapest first, each accepted only when the recording it names agrees with the
text and the version its title names (``matching``): the stored answer for the
same identity; a source's own MBID (checked against a known row, ListenBrainz's
mapping, or one lookup); the answer the text's other reports agree on
(``identity.agreed_recordings``); ListenBrainz's MBID mapper (50 tracks a request,
no MusicBrainz request; trusted only when it names the reported album); the
album's tracklist when several tracks of one album still wait; MusicBrainz
recording search (one per text and run, whatever the albums). Anything ambiguous
stays unresolved: a wrong MBID is worse than none.

Modules: ``types`` (values), ``known`` (stored recordings as candidates),
``tiers`` (``TrackResolver``, one method per tier), ``run`` (``ResolutionRun``, the
one order of tiers every door uses), ``apply`` (storing an answer or a failed
attempt). The names below are the package's public face.
"""

from __future__ import annotations

from metadata.resolution.apply import apply_resolution, record_failed_attempt
from metadata.resolution.known import known_recordings
from metadata.resolution.run import (
    MAX_CONSECUTIVE_FAILURES,
    RETRY_INLINE_LIMIT,
    ResolutionRun,
    agreed_resolution,
    due_unresolved_recordings,
    resolve_track_to_mb_recording,
    resolve_unresolved,
    retry_rows,
    row_text,
)
from metadata.resolution.tiers import TrackResolver
from metadata.resolution.types import Hint, Method, Resolution, ResolveSummary

__all__ = [
    "MAX_CONSECUTIVE_FAILURES",
    "RETRY_INLINE_LIMIT",
    "Hint",
    "Method",
    "Resolution",
    "ResolutionRun",
    "ResolveSummary",
    "TrackResolver",
    "agreed_resolution",
    "apply_resolution",
    "due_unresolved_recordings",
    "known_recordings",
    "record_failed_attempt",
    "resolve_track_to_mb_recording",
    "resolve_unresolved",
    "retry_rows",
    "row_text",
]
