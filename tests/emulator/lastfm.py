"""Last.fm API 2.0 face: ``user.getRecentTracks``, ``user.getTopArtists``, ``user.getTopAlbums``;
web authentication: the auth page (``www.last.fm/api/auth/``) and ``auth.getSession``.

Shapes follow /work/shared/fixtures/lastfm__*: numbers as strings, ``@attr``
paging, ``{"error": N, "message": ...}`` errors. https://www.last.fm/api/show/user.getRecentTracks
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from tests.emulator.data import EmuScrobble, EmuUser
from tests.emulator.faults import LASTFM_MESSAGES, LASTFM_STATUSES
from tests.emulator.wire import EmuRequest, Reply

if TYPE_CHECKING:
    from tests.emulator.server import Emulator

MAX_LIMIT = 200
TOKEN_SECONDS = 3600  # a web-authentication token lives an hour (webauth docs)
PERIOD_DAYS = {"7day": 7, "1month": 30, "3month": 91, "6month": 182, "12month": 365}


def error(code: int, message: str | None = None, status: int | None = None) -> Reply:
    body = {"error": code, "message": message or LASTFM_MESSAGES.get(code, "Error")}
    return Reply(status if status is not None else LASTFM_STATUSES.get(code, 400), body)


def _int(value: str | None, default: int | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def handle(emu: Emulator, request: EmuRequest) -> Reply:
    if request.path not in ("", "/"):
        return Reply(404, b"<html><body>Not Found</body></html>", content_type="text/html")
    params = request.params
    keys = emu.config.lastfm_api_keys
    api_key = params.get("api_key", "")
    if not api_key or (keys is not None and api_key not in keys):
        return error(10)
    method = params.get("method", "").lower()
    if method == "auth.getsession":
        return get_session(emu, request)
    handler = _METHODS.get(method)
    if handler is None:
        return error(3, status=400)
    name = params.get("user", "")
    if not name:
        return error(6, "Invalid parameters - Your request is missing the [user] parameter", 400)
    user = emu.world.user(name)
    if user is None or not user.lastfm:
        return error(6, "User not found", 404)
    if user.private:
        return error(17)
    return handler(emu, request, user)


# --- web authentication (https://www.last.fm/api/webauth) -----------------------------


def auth_page(emu: Emulator, request: EmuRequest) -> Reply:
    """``/api/auth/?api_key=K&cb=URL``: the configured user approves at once and is sent
    back to ``cb`` with ``token`` added; with no configured user, nobody approves and
    the page stays (as when a user closes Last.fm's page)."""
    params = request.params
    keys = emu.config.lastfm_api_keys
    api_key = params.get("api_key", "")
    if not api_key or (keys is not None and api_key not in keys):
        return _html(400, "Invalid API key")
    callback = params.get("cb", "")
    name = emu.config.lastfm_auth_user
    if not callback.startswith(("http://", "https://")) or name is None:
        return _html(200, "Connect application: not approved")
    token = secrets.token_hex(16)
    with emu.world.lock:
        emu.lastfm_tokens[token] = (name, request.now)
    joiner = "&" if "?" in callback else "?"
    location = f"{callback}{joiner}token={token}"
    return Reply(302, b"", {"Location": location}, "text/html")


def get_session(emu: Emulator, request: EmuRequest) -> Reply:
    """``auth.getSession``: signed; each approved token buys one session."""
    params = request.params
    token = params.get("token", "")
    if not token:
        return error(6, "Invalid parameters - Your request is missing a required parameter", 400)
    secret = emu.config.lastfm_api_secret
    if secret is not None:
        signed = sorted(k for k in params if k not in ("format", "callback", "api_sig"))
        text = "".join(k + params[k] for k in signed) + secret
        expected = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
        if not hmac.compare_digest(expected, params.get("api_sig", "")):
            return error(13, "Invalid method signature supplied", 403)
    with emu.world.lock:
        found = emu.lastfm_tokens.get(token)
        if found is not None and found[0] is not None:
            del emu.lastfm_tokens[token]  # used once
    if found is None:
        return error(4, "Invalid authentication token supplied", 403)
    name, made_at = found
    if name is None:
        return error(14, "Unauthorized Token - This token has not been authorized", 403)
    if request.now - made_at > TOKEN_SECONDS:
        return error(15, "This token has expired", 403)
    session = {"name": name, "key": secrets.token_hex(16), "subscriber": "0"}
    return Reply(200, {"session": session})


def _html(status: int, title: str) -> Reply:
    text = html.escape(title)
    body = f"<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"
    return Reply(status, body.encode(), content_type="text/html")


def _page_params(params: dict[str, str], default_limit: int) -> tuple[int, int]:
    limit = _int(params.get("limit"), default_limit) or default_limit
    page = _int(params.get("page"), 1) or 1
    return max(1, min(limit, MAX_LIMIT)), max(1, page)


def _url(*names: str) -> str:
    return "https://www.last.fm/music/" + "/_/".join(quote_plus(n) for n in names)


def _track(scrobble: EmuScrobble, extended: bool, *, now_playing: bool = False) -> dict[str, Any]:
    if extended:
        artist: dict[str, Any] = {
            "url": _url(scrobble.artist),
            "name": scrobble.artist,
            "image": [],
            "mbid": scrobble.artist_mbid or "",
        }
    else:
        artist = {"mbid": scrobble.artist_mbid or "", "#text": scrobble.artist}
    item: dict[str, Any] = {
        "artist": artist,
        "streamable": "0",
        "image": [],
        "mbid": scrobble.recording_mbid or "",
        "album": {"mbid": scrobble.album_mbid or "", "#text": scrobble.album},
        "name": scrobble.track,
        "url": _url(scrobble.artist, scrobble.track),
    }
    if now_playing:
        item["@attr"] = {"nowplaying": "true"}  # and no "date"
    else:
        text = time.strftime("%d %b %Y, %H:%M", time.gmtime(scrobble.ts))
        item["date"] = {"uts": str(scrobble.ts), "#text": text}
    if extended:
        item["loved"] = "1" if scrobble.loved else "0"
    return item


def recent_tracks(emu: Emulator, request: EmuRequest, user: EmuUser) -> Reply:
    params = request.params
    limit, page = _page_params(params, 50)
    extended = params.get("extended", "0") in ("1", "true")
    # `from` and `to` are inclusive bounds in UTC seconds.
    from_ts = _int(params.get("from"), None)
    to_ts = _int(params.get("to"), None)
    with emu.world.lock:
        history = emu.world.history(user.name)
        lo, hi = history.index_range(from_ts, to_ts)
        total = hi - lo
        # Newest first: page 1 is the top `limit` of [lo, hi).
        end = hi - (page - 1) * limit
        start = max(lo, end - limit)
        chosen = history.slice(start, end) if end > lo else []
        now_playing = user.now_playing
    tracks = [_track(s, extended) for s in reversed(chosen)]
    if page == 1 and now_playing is not None:
        # On top of `limit`: a limit=1 page can hold two items (fixtures *_limit1_nowplaying_*).
        tracks.insert(0, _track(now_playing, extended, now_playing=True))
    request.history_user = user.name
    total_pages = -(-total // limit)
    attr = {
        "user": user.name,
        "totalPages": str(total_pages),
        "page": str(page),
        "perPage": str(limit),
        "total": str(total),
    }
    track_value: Any = tracks
    if len(tracks) == 1 and emu.config.lastfm_single_item_as_object:
        track_value = tracks[0]  # the real API's XML-to-JSON quirk
    return Reply(200, {"recenttracks": {"track": track_value, "@attr": attr}})


def _since(period: str, now: float) -> int | None:
    days = PERIOD_DAYS.get(period)
    return None if days is None else int(now) - days * 86400


def _top(emu: Emulator, request: EmuRequest, user: EmuUser, albums: bool) -> Reply:
    params = request.params
    limit, page = _page_params(params, 50)
    period = params.get("period", "overall")
    period = period if period in PERIOD_DAYS else "overall"
    since = _since(period, request.now)
    plays: Counter[tuple[str, str]] = Counter()
    mbids: dict[tuple[str, str], Counter[str]] = {}
    artist_mbids: dict[str, Counter[str]] = {}
    with emu.world.lock:
        history = emu.world.history(user.name)
        lo, hi = history.index_range(since, None)
        scrobbles = history.slice(lo, hi)
    for s in scrobbles:
        if albums and not s.album:
            continue
        key = (s.artist, s.album if albums else "")
        plays[key] += 1
        mbid = s.album_mbid if albums else s.artist_mbid
        if mbid:
            mbids.setdefault(key, Counter())[mbid] += 1
        if albums and s.artist_mbid:
            artist_mbids.setdefault(s.artist, Counter())[s.artist_mbid] += 1
    ranked = sorted(plays.items(), key=lambda kv: (-kv[1], kv[0]))
    total = len(ranked)
    chosen = ranked[(page - 1) * limit : page * limit]
    items = []
    for rank, (key, count) in enumerate(chosen, start=(page - 1) * limit + 1):
        artist, album = key
        mbid = mbids[key].most_common(1)[0][0] if key in mbids else ""
        item: dict[str, Any] = {
            "name": album if albums else artist,
            "playcount": str(count),
            "mbid": mbid,
            "url": _url(artist, album) if albums else _url(artist),
            "image": [],
            "@attr": {"rank": str(rank)},
        }
        if albums:
            counts = artist_mbids.get(artist)
            item["artist"] = {
                "name": artist,
                "mbid": counts.most_common(1)[0][0] if counts else "",
                "url": _url(artist),
            }
        else:
            item["streamable"] = "0"
        items.append(item)
    attr = {
        "user": user.name,
        "type": period,
        "page": str(page),
        "perPage": str(limit),
        "totalPages": str(-(-total // limit)),
        "total": str(total),
    }
    root, key = ("topalbums", "album") if albums else ("topartists", "artist")
    return Reply(200, {root: {key: items, "@attr": attr}})


def top_artists(emu: Emulator, request: EmuRequest, user: EmuUser) -> Reply:
    return _top(emu, request, user, albums=False)


def top_albums(emu: Emulator, request: EmuRequest, user: EmuUser) -> Reply:
    return _top(emu, request, user, albums=True)


_METHODS = {
    "user.getrecenttracks": recent_tracks,
    "user.gettopartists": top_artists,
    "user.gettopalbums": top_albums,
}
