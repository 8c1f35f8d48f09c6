"""MusicBrainz WS/2 face (JSON): search, lookup and browse for the entities Sidetrack uses.

Shapes follow /work/shared/fixtures/musicbrainz__*. Lookups honour ``inc`` the way
the real service does (no ``release-group`` inside a release without
``inc=release-groups``, ...), merged MBIDs answer the surviving entity, and a
release browse that includes recordings is cut at ``mb_browse_track_cap`` tracks
per page (never mid-release). https://musicbrainz.org/doc/MusicBrainz_API
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.emulator.data import (
    Catalog,
    CreditPart,
    EmuArtist,
    EmuRecording,
    EmuRelease,
    EmuReleaseGroup,
    fold,
)
from tests.emulator.search import Doc, SearchIndex, cached_index, tokens
from tests.emulator.wire import EmuRequest, Reply

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tests.emulator.server import Emulator

HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
MAX_LIMIT = 100
DEFAULT_LIMIT = 25


def error(status: int, message: str) -> Reply:
    return Reply(status, {"error": message, "help": HELP})


def _incs(request: EmuRequest) -> set[str]:
    # "inc=recordings+media": a literal "+" arrives as "+" or, form-decoded, as " ".
    return {part for part in re.split(r"[+\s]+", request.params.get("inc", "")) if part}


def _paging(request: EmuRequest) -> tuple[int, int] | Reply:
    try:
        limit = int(request.params.get("limit") or DEFAULT_LIMIT)
        offset = int(request.params.get("offset") or 0)
    except ValueError:
        return error(400, "Invalid limit or offset.")
    return max(1, min(limit, MAX_LIMIT)), max(0, offset)


def _valid_mbid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def handle(emu: Emulator, request: EmuRequest) -> Reply:
    parts = [p for p in request.path.split("/") if p]
    if not parts or parts[0] not in _LOOKUPS or len(parts) > 2 or request.method != "GET":
        return error(404, "Not Found")
    entity = parts[0]
    catalog = emu.world.catalog
    with emu.world.lock:
        if len(parts) == 2:
            if not _valid_mbid(parts[1]):
                return error(400, "Invalid mbid.")
            return _LOOKUPS[entity](emu, catalog, catalog.resolve(parts[1].lower()), request)
        if "query" in request.params:
            return search(emu, catalog, entity, request)
        return browse(emu, catalog, entity, request)


# --- serializers --------------------------------------------------------------------


def artist_json(artist: EmuArtist) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": artist.mbid,
        "name": artist.name,
        "sort-name": artist.sort_name,
        "disambiguation": artist.disambiguation,
    }
    if artist.type:
        data["type"] = artist.type
    return data


def credit_json(credit: Sequence[CreditPart], *, search: bool = False) -> list[dict[str, Any]]:
    out = []
    for artist, name, join in credit:
        item: dict[str, Any] = {"name": name, "artist": artist_json(artist)}
        if join or not search:  # search answers leave out empty join phrases
            item["joinphrase"] = join
        out.append(item)
    return out


def recording_core(
    recording: EmuRecording, catalog: Catalog, *, search: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": recording.mbid,
        "title": recording.title,
        "length": recording.length_ms,
        "disambiguation": recording.disambiguation,
        "video": None if search else recording.video,  # search hits carry null
    }
    first = catalog.first_release_date(recording.mbid)
    if first:
        data["first-release-date"] = first
    return data


def group_core(group: EmuReleaseGroup) -> dict[str, Any]:
    return {
        "id": group.mbid,
        "title": group.title,
        "primary-type": group.primary_type,
        "secondary-types": list(group.secondary_types),
        "first-release-date": group.first_release_date,
        "disambiguation": group.disambiguation,
    }


def release_core(release: EmuRelease) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": release.mbid,
        "title": release.title,
        "status": release.status,
        "disambiguation": release.disambiguation,
        "barcode": release.barcode,
        "quality": "normal",
    }
    if release.date is not None:
        data["date"] = release.date
    if release.country is not None:
        data["country"] = release.country
    return data


def track_json(
    release: EmuRelease, disc: int, position: int, catalog: Catalog, incs: set[str]
) -> dict[str, Any]:
    track = release.media[disc - 1][position - 1]
    recording = recording_core(track.recording, catalog)
    data: dict[str, Any] = {
        "id": track.mbid,
        "number": track.number or str(position),
        "position": position,
        "title": track.shown_title,
        "length": track.shown_length,
        "recording": recording,
    }
    if incs & {"artist-credits", "artists"}:
        recording["artist-credit"] = credit_json(track.recording.artist_credit)
        data["artist-credit"] = credit_json(track.recording.artist_credit)
    return data


def medium_json(
    release: EmuRelease, disc: int, catalog: Catalog, incs: set[str], only: int | None = None
) -> dict[str, Any]:
    """A medium; with ``only`` (a 1-based position), just that track (recording lookups)."""
    tracks = release.media[disc - 1]
    data: dict[str, Any] = {
        "position": disc,
        "format": release.medium_format(disc - 1),
        "title": "",
        "track-count": len(tracks),
    }
    if only is not None:
        data["track-offset"] = only - 1
        data["tracks"] = [track_json(release, disc, only, catalog, incs)]
    elif "recordings" in incs:
        data["track-offset"] = 0
        data["tracks"] = [
            track_json(release, disc, p, catalog, incs) for p in range(1, len(tracks) + 1)
        ]
    return data


def release_json(release: EmuRelease, catalog: Catalog, incs: set[str]) -> dict[str, Any]:
    data = release_core(release)
    if incs & {"artist-credits", "artists"}:
        data["artist-credit"] = credit_json(release.credit)
    if "release-groups" in incs:
        group = group_core(release.release_group)
        if incs & {"artist-credits", "artists"}:
            group["artist-credit"] = credit_json(release.release_group.artist_credit)
        data["release-group"] = group
    if incs & {"recordings", "media", "discids"}:
        data["media"] = [
            medium_json(release, d, catalog, incs) for d in range(1, len(release.media) + 1)
        ]
    return data


# --- lookups --------------------------------------------------------------------------


def lookup_recording(emu: Emulator, catalog: Catalog, mbid: str, request: EmuRequest) -> Reply:
    recording = catalog.recordings.get(mbid)
    if recording is None:
        return error(404, "Not Found")
    incs = _incs(request)
    data = recording_core(recording, catalog)
    if incs & {"artist-credits", "artists"}:
        data["artist-credit"] = credit_json(recording.artist_credit)
    if "isrcs" in incs:
        data["isrcs"] = list(recording.isrcs)
    if "releases" in incs:
        releases = []
        cap = emu.config.mb_lookup_list_cap  # linked lists stop at 25: browse for the rest
        for appearance in catalog.appearances(recording.mbid)[:cap]:
            item = release_core(appearance.release)
            if "release-groups" in incs:
                item["release-group"] = group_core(appearance.release.release_group)
            item["media"] = [
                medium_json(
                    appearance.release, appearance.disc, catalog, set(), only=appearance.position
                )
            ]
            releases.append(item)
        data["releases"] = releases
    return Reply(200, data)


def lookup_release(emu: Emulator, catalog: Catalog, mbid: str, request: EmuRequest) -> Reply:
    release = catalog.releases.get(mbid)
    if release is None:
        return error(404, "Not Found")
    return Reply(200, release_json(release, catalog, _incs(request)))


def lookup_release_group(emu: Emulator, catalog: Catalog, mbid: str, request: EmuRequest) -> Reply:
    group = catalog.release_groups.get(mbid)
    if group is None:
        return error(404, "Not Found")
    incs = _incs(request)
    data = group_core(group)
    if incs & {"artist-credits", "artists"}:
        data["artist-credit"] = credit_json(group.artist_credit)
    if "releases" in incs:
        releases = catalog.releases_of(group.mbid)[: emu.config.mb_lookup_list_cap]
        data["releases"] = [release_core(r) for r in releases]
    return Reply(200, data)


def lookup_artist(emu: Emulator, catalog: Catalog, mbid: str, request: EmuRequest) -> Reply:
    artist = catalog.artists.get(mbid)
    if artist is None:
        return error(404, "Not Found")
    data = artist_json(artist)
    data["country"] = artist.country
    data["life-span"] = {"begin": None, "end": None, "ended": False}
    if "release-groups" in _incs(request):
        groups = catalog.release_groups_of(artist.mbid)[: emu.config.mb_lookup_list_cap]
        data["release-groups"] = [group_core(g) for g in groups]
    return Reply(200, data)


_LOOKUPS = {
    "recording": lookup_recording,
    "release": lookup_release,
    "release-group": lookup_release_group,
    "artist": lookup_artist,
}


# --- browse ---------------------------------------------------------------------------


def browse(emu: Emulator, catalog: Catalog, entity: str, request: EmuRequest) -> Reply:
    paging = _paging(request)
    if isinstance(paging, Reply):
        return paging
    limit, offset = paging
    incs = _incs(request)
    params = request.params
    if entity == "release":
        for key in ("release-group", "artist", "recording"):
            if key in params:
                target = catalog.resolve(params[key].lower())
                releases = _releases_linked_to(catalog, key, target)
                if releases is None:
                    return error(404, "Not Found")
                return _browse_releases(emu, catalog, releases, limit, offset, incs)
    if entity == "release-group" and "artist" in params:
        target = catalog.resolve(params["artist"].lower())
        if target not in catalog.artists:
            return error(404, "Not Found")
        groups = catalog.release_groups_of(target)
        page = []
        for group in groups[offset : offset + limit]:
            item = group_core(group)
            if incs & {"artist-credits", "artists"}:
                item["artist-credit"] = credit_json(group.artist_credit)
            page.append(item)
        return Reply(
            200,
            {
                "release-group-count": len(groups),
                "release-group-offset": offset,
                "release-groups": page,
            },
        )
    return error(400, "Invalid browse or search request: give query= or a linked entity.")


def _releases_linked_to(catalog: Catalog, key: str, mbid: str) -> list[EmuRelease] | None:
    if key == "release-group":
        return catalog.releases_of(mbid) if mbid in catalog.release_groups else None
    if key == "recording":
        if mbid not in catalog.recordings:
            return None
        seen: dict[str, EmuRelease] = {}
        for appearance in catalog.appearances(mbid):
            seen.setdefault(appearance.release.mbid, appearance.release)
        return list(seen.values())
    if mbid not in catalog.artists:
        return None
    return [r for r in catalog.releases.values() if any(a.mbid == mbid for a, _, _ in r.credit)]


def _browse_releases(
    emu: Emulator,
    catalog: Catalog,
    releases: list[EmuRelease],
    limit: int,
    offset: int,
    incs: set[str],
) -> Reply:
    cap = emu.config.mb_browse_track_cap if "recordings" in incs else None
    page: list[dict[str, Any]] = []
    tracks = 0
    for release in releases[offset : offset + limit]:
        # At least one whole release per page; never a partial one.
        if cap is not None and page and tracks + release.track_count > cap:
            break
        tracks += release.track_count
        page.append(release_json(release, catalog, incs))
    return Reply(200, {"release-count": len(releases), "release-offset": offset, "releases": page})


# --- search ---------------------------------------------------------------------------


def _credit_text(credit: Sequence[CreditPart]) -> list[tuple[str, ...]]:
    names = [tokens("".join(n + j for _, n, j in credit))]
    names += [tokens(a.name) for a, _, _ in credit] + [tokens(a.sort_name) for a, _, _ in credit]
    return names


def _recording_index(catalog: Catalog) -> SearchIndex:
    docs = []
    for recording in catalog.recordings.values():
        appearances = catalog.appearances(recording.mbid)
        releases = [a.release for a in appearances]
        groups = [r.release_group for r in releases]
        credit = recording.artist_credit
        docs.append(
            Doc(
                recording,
                sort_key=f"{fold(recording.title)}\0{recording.mbid}",
                text={
                    "recording": [tokens(recording.title)],
                    "artist": _credit_text(credit),
                    "artistname": [tokens(a.name) for a, _, _ in credit],
                    "creditname": [tokens(n) for _, n, _ in credit],
                    "release": [tokens(r.title) for r in releases],
                    "releasegroup": [tokens(g.title) for g in groups],
                },
                keywords={
                    "rid": {recording.mbid},
                    "arid": {a.mbid for a, _, _ in credit},
                    "reid": {r.mbid for r in releases},
                    "rgid": {g.mbid for g in groups},
                    "isrc": {fold(i) for i in recording.isrcs},
                    "status": {fold(r.status or "") for r in releases},
                    "country": {fold(r.country or "") for r in releases},
                    "primarytype": {fold(g.primary_type or "") for g in groups},
                    "secondarytype": {fold(t) for g in groups for t in g.secondary_types},
                    "video": {"true" if recording.video else "false"},
                },
                dates={
                    "date": [r.date for r in releases if r.date],
                    "firstreleasedate": [
                        d for d in [catalog.first_release_date(recording.mbid)] if d
                    ],
                },
            )
        )
    return SearchIndex(docs, default_field="recording", aliases={"recordingaccent": "recording"})


def _group_index(catalog: Catalog) -> SearchIndex:
    docs = []
    for group in catalog.release_groups.values():
        releases = catalog.releases_of(group.mbid)
        credit = group.artist_credit
        docs.append(
            Doc(
                group,
                sort_key=f"{fold(group.title)}\0{group.mbid}",
                text={
                    "releasegroup": [tokens(group.title)],
                    "release": [tokens(r.title) for r in releases],
                    "artist": _credit_text(credit),
                    "artistname": [tokens(a.name) for a, _, _ in credit],
                    "creditname": [tokens(n) for _, n, _ in credit],
                },
                keywords={
                    "rgid": {group.mbid},
                    "arid": {a.mbid for a, _, _ in credit},
                    "reid": {r.mbid for r in releases},
                    "primarytype": {fold(group.primary_type or "")},
                    "secondarytype": {fold(t) for t in group.secondary_types},
                    "status": {fold(r.status or "") for r in releases},
                },
                dates={
                    "firstreleasedate": [group.first_release_date]
                    if group.first_release_date
                    else []
                },
            )
        )
    aliases = {"releasegroupaccent": "releasegroup", "type": "primarytype"}
    return SearchIndex(docs, default_field="releasegroup", aliases=aliases)


def _artist_index(catalog: Catalog) -> SearchIndex:
    docs = [
        Doc(
            artist,
            sort_key=f"{fold(artist.name)}\0{artist.mbid}",
            text={
                "artist": [tokens(artist.name), tokens(artist.sort_name)],
                "sortname": [tokens(artist.sort_name)],
            },
            keywords={
                "arid": {artist.mbid},
                "type": {fold(artist.type or "")},
                "country": {fold(artist.country or "")},
            },
        )
        for artist in catalog.artists.values()
    ]
    aliases = {"artistaccent": "artist", "name": "artist", "alias": "artist"}
    return SearchIndex(docs, default_field="artist", aliases=aliases)


def _release_index(catalog: Catalog) -> SearchIndex:
    docs = []
    for release in catalog.releases.values():
        group = release.release_group
        credit = release.credit
        docs.append(
            Doc(
                release,
                sort_key=f"{fold(release.title)}\0{release.mbid}",
                text={
                    "release": [tokens(release.title)],
                    "releasegroup": [tokens(group.title)],
                    "artist": _credit_text(credit),
                    "artistname": [tokens(a.name) for a, _, _ in credit],
                },
                keywords={
                    "reid": {release.mbid},
                    "rgid": {group.mbid},
                    "arid": {a.mbid for a, _, _ in credit},
                    "status": {fold(release.status or "")},
                    "country": {fold(release.country or "")},
                    "primarytype": {fold(group.primary_type or "")},
                },
                dates={"date": [release.date] if release.date else []},
            )
        )
    return SearchIndex(docs, default_field="release", aliases={"releaseaccent": "release"})


def _recording_hit(recording: EmuRecording, catalog: Catalog) -> dict[str, Any]:
    data = recording_core(recording, catalog, search=True)
    data["artist-credit"] = credit_json(recording.artist_credit, search=True)
    if recording.isrcs:
        data["isrcs"] = list(recording.isrcs)
    releases = []
    for appearance in catalog.appearances(recording.mbid)[:25]:
        release = appearance.release
        group = release.release_group
        item = release_core(release)
        item.pop("barcode")
        item.pop("quality")
        item["count"] = 1
        item["release-group"] = {
            "id": group.mbid,
            "title": group.title,
            "primary-type": group.primary_type,
            "secondary-types": list(group.secondary_types),
        }
        item["track-count"] = release.track_count
        track = appearance.track
        item["media"] = [
            {
                "position": appearance.disc,
                "format": release.medium_format(appearance.disc - 1),
                "track": [
                    {
                        "id": track.mbid,
                        "number": track.number or str(appearance.position),
                        "title": track.shown_title,
                        "length": track.shown_length,
                    }
                ],
                "track-count": len(release.media[appearance.disc - 1]),
                "track-offset": appearance.position - 1,
            }
        ]
        releases.append(item)
    data["releases"] = releases
    return data


def _group_hit(group: EmuReleaseGroup, catalog: Catalog) -> dict[str, Any]:
    data = group_core(group)
    if not group.secondary_types:
        data.pop("secondary-types")
    data["artist-credit"] = credit_json(group.artist_credit, search=True)
    releases = catalog.releases_of(group.mbid)
    data["count"] = len(releases)
    data["releases"] = [{"id": r.mbid, "title": r.title, "status": r.status} for r in releases]
    return data


def _artist_hit(artist: EmuArtist, catalog: Catalog) -> dict[str, Any]:
    data = artist_json(artist)
    if artist.country:
        data["country"] = artist.country
    data["life-span"] = {"ended": None}
    return data


def _release_hit(release: EmuRelease, catalog: Catalog) -> dict[str, Any]:
    data = release_core(release)
    data["artist-credit"] = credit_json(release.credit, search=True)
    group = release.release_group
    data["release-group"] = {
        "id": group.mbid,
        "title": group.title,
        "primary-type": group.primary_type,
    }
    data["track-count"] = release.track_count
    data["media"] = [
        {"format": release.medium_format(i), "track-count": len(m)}
        for i, m in enumerate(release.media)
    ]
    return data


_SEARCHES = {
    "recording": ("recordings", _recording_index, _recording_hit),
    "release-group": ("release-groups", _group_index, _group_hit),
    "artist": ("artists", _artist_index, _artist_hit),
    "release": ("releases", _release_index, _release_hit),
}


def search(emu: Emulator, catalog: Catalog, entity: str, request: EmuRequest) -> Reply:
    paging = _paging(request)
    if isinstance(paging, Reply):
        return paging
    limit, offset = paging
    key, build, hit = _SEARCHES[entity]
    index = cached_index(catalog, entity, lambda: build(catalog))
    hits = index.search(request.params.get("query", ""))
    items = []
    for doc, score in hits[offset : offset + limit]:
        item = hit(doc.entity, catalog)
        item["score"] = score
        items.append(item)
    created = datetime.fromtimestamp(request.now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return Reply(200, {"created": created, "count": len(hits), "offset": offset, key: items})
