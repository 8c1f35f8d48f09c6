"""ListenBrainz API face: listens, playing-now, listen-count and the MBID mapper lookup.

Behaviour checked against metabrainz/listenbrainz-server (see the notes on
:func:`listens` and :func:`lookup_post`); shapes follow /work/shared/fixtures/listenbrainz__*.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from tests.emulator.data import Catalog, EmuScrobble, EmuUser, make_mbid
from tests.emulator.wire import EmuRequest, Reply

if TYPE_CHECKING:
    from tests.emulator.server import Emulator

DEFAULT_COUNT = 25
MAX_COUNT = 1000
MAX_LOOKUPS_PER_POST = 50
MAX_MAPPING_QUERY_LENGTH = 250


def error(status: int, message: str) -> Reply:
    return Reply(status, {"code": status, "error": message})


def handle(emu: Emulator, request: EmuRequest) -> Reply:
    parts = [p for p in request.path.split("/") if p]
    if len(parts) == 3 and parts[0] == "user" and request.method == "GET":
        user = emu.world.user(parts[1])
        if user is None or not user.listenbrainz:
            return error(404, f"Cannot find user: {parts[1]}")
        endpoint = {"listens": listens, "playing-now": playing_now, "listen-count": listen_count}
        if parts[2] in endpoint:
            return endpoint[parts[2]](emu, request, user)
    if parts == ["metadata", "lookup"]:
        if request.method == "POST":
            return lookup_post(emu, request)
        return lookup_get(emu, request)
    return error(404, "The requested URL was not found on the server.")


def _int_arg(request: EmuRequest, name: str) -> int | None:
    value = request.params.get(name)
    if value in (None, ""):
        return None
    return int(value)  # ValueError -> 400 in listens()


def listens(emu: Emulator, request: EmuRequest, user: EmuUser) -> Reply:
    """Listens strictly between ``min_ts`` and ``max_ts``, always newest first.

    With ``min_ts``, the real server selects the *oldest* ``count`` listens after
    it and reverses them: TimescaleListenStore.fetch_listens orders ``ASC`` when
    ``from_ts`` is set and calls ``listens.reverse()`` at the end
    (metabrainz/listenbrainz-server listenbrainz/listenstore/timescale_listenstore.py;
    its docstring: "from_ts: ... if specified, listens will be returned in ascending
    order"). So walking forward with ``min_ts`` = newest seen loses nothing.
    """
    try:
        count = _int_arg(request, "count")
        min_ts = _int_arg(request, "min_ts")
        max_ts = _int_arg(request, "max_ts")
    except ValueError as e:
        return error(400, f"Invalid argument: {e}")
    count = DEFAULT_COUNT if count is None else count
    if count < 0:
        return error(400, "Count must be a non-negative number")
    count = min(count, MAX_COUNT)
    if min_ts is not None and max_ts is not None and min_ts >= max_ts:
        return error(400, "min_ts should be less than max_ts")
    with emu.world.lock:
        history = emu.world.history(user.name)
        # Exclusive bounds on an inclusive index: min_ts + 1 .. max_ts - 1.
        lo, hi = history.index_range(
            None if min_ts is None else min_ts + 1, None if max_ts is None else max_ts - 1
        )
        if min_ts:  # truthy, as in the server: min_ts=0 behaves as absent
            chosen = history.slice(lo, min(hi, lo + count))
        else:
            chosen = history.slice(max(lo, hi - count), hi)
        latest, oldest = history.latest_ts, history.oldest_ts
    catalog = emu.world.catalog
    items = [listen_json(s, user.name, catalog) for s in reversed(chosen)]
    request.history_user = user.name
    payload = {
        "count": len(items),
        "user_id": user.name,
        "listens": items,
        "latest_listen_ts": latest or 0,
        "oldest_listen_ts": oldest or 0,
    }
    return Reply(200, {"payload": payload})


@functools.lru_cache(maxsize=1 << 16)
def _msid_for(artist: str, track: str, album: str) -> str:
    # MessyBrainz ids depend on the submitted text only; cached, as tracks repeat a lot.
    return make_mbid("msid", artist, track, album)


def _msid(scrobble: EmuScrobble) -> str:
    return _msid_for(scrobble.artist, scrobble.track, scrobble.album)


def track_metadata(
    scrobble: EmuScrobble, catalog: Catalog, msid: str | None = None
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "submission_client": scrobble.submission_client,
        "recording_msid": msid or _msid(scrobble),
    }
    if scrobble.recording_mbid:
        info["recording_mbid"] = scrobble.recording_mbid
    if scrobble.artist_mbid:
        info["artist_mbids"] = [scrobble.artist_mbid]
    if scrobble.album_mbid:
        info["release_mbid"] = scrobble.album_mbid
    if scrobble.duration_ms is not None:
        info["duration_ms"] = scrobble.duration_ms
    metadata: dict[str, Any] = {
        "artist_name": scrobble.artist,
        "track_name": scrobble.track,
        "additional_info": info,
    }
    if scrobble.album:
        metadata["release_name"] = scrobble.album
    mapping = _mbid_mapping(scrobble, catalog)
    if mapping is not None:
        metadata["mbid_mapping"] = mapping
    return metadata


def _mbid_mapping(scrobble: EmuScrobble, catalog: Catalog) -> dict[str, Any] | None:
    mbid = scrobble.mapped_recording_mbid
    recording = catalog.recordings.get(mbid) if mbid else None
    if recording is None:
        return None
    appearances = catalog.appearances(recording.mbid)
    release = next(
        (a.release for a in appearances if a.release.mbid == scrobble.album_mbid),
        appearances[0].release if appearances else None,
    )
    credit = recording.artist_credit
    return {
        "recording_mbid": recording.mbid,
        "recording_name": recording.title,
        "artists": [
            {"artist_mbid": a.mbid, "artist_credit_name": name, "join_phrase": join}
            for a, name, join in credit
        ],
        "artist_mbids": [a.mbid for a, _, _ in credit],
        "release_mbid": release.mbid if release else None,
        "caa_id": None,
        "caa_release_mbid": None,
    }


def listen_json(scrobble: EmuScrobble, user_name: str, catalog: Catalog) -> dict[str, Any]:
    msid = _msid(scrobble)
    return {
        "listened_at": scrobble.ts,
        "inserted_at": scrobble.inserted_at if scrobble.inserted_at is not None else scrobble.ts,
        "recording_msid": msid,
        "user_name": user_name,
        "track_metadata": track_metadata(scrobble, catalog, msid),
    }


def playing_now(emu: Emulator, request: EmuRequest, user: EmuUser) -> Reply:
    with emu.world.lock:
        scrobble = user.now_playing
    items = []
    if scrobble is not None:
        metadata = track_metadata(scrobble, emu.world.catalog)
        metadata.pop("mbid_mapping", None)  # playing-now items are not mapped
        items.append({"playing_now": True, "track_metadata": metadata})
    payload = {"count": len(items), "user_id": user.name, "playing_now": True, "listens": items}
    return Reply(200, {"payload": payload})


def listen_count(emu: Emulator, request: EmuRequest, user: EmuUser) -> Reply:
    with emu.world.lock:
        count = len(emu.world.history(user.name))
    return Reply(200, {"payload": {"count": count}})


def _match(catalog: Catalog, artist: str, recording: str, release: str | None) -> dict[str, Any]:
    appearance = catalog.mapper_match(artist, recording, release)
    if appearance is None:
        return {}
    found = appearance.track.recording
    return {
        "artist_credit_name": found.credit_name,
        "artist_credit_id": None,
        "artist_mbids": [a.mbid for a, _, _ in found.artist_credit],
        "recording_mbid": found.mbid,
        "recording_name": found.title,
        "release_mbid": appearance.release.mbid,
        "release_name": appearance.release.title,
        "recording_arg": recording,
    }


def lookup_post(emu: Emulator, request: EmuRequest) -> Reply:
    """``POST metadata/lookup/``: one entry per recording asked, in request order.

    As in metabrainz/listenbrainz-server webserver/views/metadata_api.py
    ``get_mbid_mapping_post``: every entry starts as ``{artist_name_arg,
    recording_name_arg, release_name_arg, index}``; a match adds the lookup's
    output fields (recording_mbid, recording_name, artist_credit_name, artist_mbids,
    release_mbid, release_name, ...). A miss keeps only the ``*_arg`` and ``index``
    keys. Only exact (normalized) matching is emulated, not the fuzzy stage.
    """
    try:
        data = json.loads(request.body or b"null")
    except ValueError:
        return error(400, "Cannot parse JSON document")
    recordings = data.get("recordings") if isinstance(data, dict) else None
    if not recordings or not isinstance(recordings, list):
        return error(400, "recordings is invalid or not present in body")
    if len(recordings) > MAX_LOOKUPS_PER_POST:
        return error(
            400,
            f"Number of recordings in request body exceeds maximum permitted. "
            f"({MAX_LOOKUPS_PER_POST})",
        )
    results = []
    catalog = emu.world.catalog
    for index, item in enumerate(recordings):
        item = item if isinstance(item, dict) else {}
        artist, recording = item.get("artist_name"), item.get("recording_name")
        release = item.get("release_name")
        if not artist:
            return error(400, f"Recording {index} artist_name is invalid or not present")
        if not recording:
            return error(400, f"Recording {index} recording_name is invalid or not present")
        if len(artist) + len(recording) + len(release or "") > MAX_MAPPING_QUERY_LENGTH:
            return error(
                400,
                f"Recording {index} total number of characters in artist_name, recording_name"
                f" and release_name arguments must be less than {MAX_MAPPING_QUERY_LENGTH}",
            )
        entry: dict[str, Any] = {
            "artist_name_arg": artist,
            "recording_name_arg": recording,
            "release_name_arg": release,
            "index": index,
        }
        with emu.world.lock:
            entry.update(_match(catalog, artist, recording, release))
        results.append(entry)
    return Reply(200, results)


def lookup_get(emu: Emulator, request: EmuRequest) -> Reply:
    """``GET metadata/lookup/``: the match's fields, or ``{}`` when nothing matched."""
    artist = request.params.get("artist_name", "")
    recording = request.params.get("recording_name", "")
    if not artist:
        return error(400, "artist_name is invalid or not present in arguments")
    if not recording:
        return error(400, "recording_name is invalid or not present in arguments")
    with emu.world.lock:
        found = _match(emu.world.catalog, artist, recording, request.params.get("release_name"))
    found.pop("recording_arg", None)
    found.pop("artist_credit_id", None)
    return Reply(200, found)
