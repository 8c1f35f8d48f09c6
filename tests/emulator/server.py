"""The emulator's HTTP server: Last.fm, ListenBrainz and MusicBrainz on one local port.

``ThreadingHTTPServer`` with daemon threads and HTTP/1.1 keep-alive (every answer
carries a Content-Length), so a ``requests.Session`` reuses its connection the way
it does against the real services. Every request is logged with its service,
status, User-Agent and any injected fault.
"""

from __future__ import annotations

import contextlib
import math
import socket
import struct
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.emulator import lastfm, listenbrainz, musicbrainz
from tests.emulator.data import World
from tests.emulator.faults import (
    LASTFM_MESSAGES,
    LASTFM_STATUSES,
    Arrival,
    Fault,
    FaultKind,
    FaultPlan,
)
from tests.emulator.wire import EmuRequest, Reply

SERVICE_PATHS = {
    "lastfm": "lastfm/2.0/",
    # Last.fm's web-authentication page (www.last.fm/api/auth/), where a user approves.
    "lastfm_auth": "lastfm/api/auth/",
    "listenbrainz": "listenbrainz/1/",
    "musicbrainz": "musicbrainz/ws/2/",
}
ENV_NAMES = {
    "lastfm": "LASTFM_BASE_URL",
    "lastfm_auth": "LASTFM_AUTH_URL",
    "listenbrainz": "LISTENBRAINZ_BASE_URL",
    "musicbrainz": "MUSICBRAINZ_BASE_URL",
}
_FACES: dict[str, Callable[[Any, EmuRequest], Reply]] = {
    "lastfm": lastfm.handle,
    "lastfm_auth": lastfm.auth_page,
    "listenbrainz": listenbrainz.handle,
    "musicbrainz": musicbrainz.handle,
}
_HTML_500 = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
_HTML_503 = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
_LB_429 = (
    "You have exceeded your rate limit. See the X-RateLimit-* response headers for more"
    " information on your current rate limit."
)
_MB_503 = (
    "Your requests are exceeding the allowable rate limit. Please see"
    " http://wiki.musicbrainz.org/XMLWebService for more information."
)


@dataclass
class EmulatorConfig:
    # Last.fm: None accepts any non-empty api_key.
    lastfm_api_keys: frozenset[str] | set[str] | None = None
    # Answer a one-item `track` list as a bare object, as the real API does.
    lastfm_single_item_as_object: bool = False
    # Web authentication: the Last.fm user the auth page approves as (None: the user
    # does not approve, and the page never sends them back), and the shared secret
    # auth.getSession's api_sig is checked with (None: any signature passes).
    lastfm_auth_user: str | None = None
    lastfm_api_secret: str | None = None
    # ListenBrainz: X-RateLimit-* on every answer; 429 past the limit when enforced.
    lb_rate_limit: int = 100_000
    lb_rate_window: int = 10
    lb_enforce_rate_limit: bool = True
    # MusicBrainz: requests per second per User-Agent; None turns the check off.
    mb_rate_limit: float | None = None
    mb_rate_tolerance: float = 0.05  # seconds of jitter forgiven
    mb_enforce_rate_limit: bool = False  # answer 503 to violations (else only log them)
    mb_require_user_agent: bool = False  # 403 for blank or python-requests/* agents
    mb_browse_track_cap: int = 500
    mb_lookup_list_cap: int = 25


@dataclass(frozen=True)
class LoggedRequest:
    time: float  # clock() when the request arrived
    service: str
    method: str
    path: str  # relative to the service's base URL
    params: dict[str, str]
    status: int  # 0: connection reset without an answer
    client_id: str  # User-Agent
    fault: str | None = None
    rate_violation: bool = False
    duration: float = 0.0


@dataclass
class _RateWindow:
    """ListenBrainz's fixed-window counter behind X-RateLimit-*."""

    start: float = 0.0
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, now: float, limit: int, window: int) -> tuple[dict[str, str], bool]:
        with self.lock:
            start = now - now % window
            if start != self.start:
                self.start, self.used = start, 0
            self.used += 1
            reset_in = max(1, math.ceil(self.start + window - now))
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, limit - self.used)),
                "X-RateLimit-Reset-In": str(reset_in),
                "X-RateLimit-Reset": str(int(now) + reset_in),
            }
            return headers, self.used > limit


class Emulator:
    """Serve ``world`` as Last.fm, ListenBrainz and MusicBrainz on 127.0.0.1.

    ``Emulator(world, lastfm_api_keys={"k"})`` passes keyword options to
    :class:`EmulatorConfig`; ``emulator.config`` may be changed while it runs.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        if config is not None and options:
            raise TypeError("give either config or keyword options, not both")
        self.world = world if world is not None else World()
        self.config = config or EmulatorConfig(**options)
        self.host = host
        self.port = port
        self.clock = clock
        self.faults = FaultPlan()
        self.errors: list[str] = []  # tracebacks of emulator bugs (answered with 500)
        self._arrivals: list[Arrival] = []
        self._history_counts: Counter[tuple[str, str]] = Counter()
        self._log: list[LoggedRequest] = []
        self._counters: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()
        self._lb_window = _RateWindow()
        self._mb_last: dict[str, float] = {}
        # Web-authentication tokens: token -> (Last.fm user who approved or None, made at).
        self.lastfm_tokens: dict[str, tuple[str | None, float]] = {}
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # lifecycle

    def start(self) -> str:
        """Bind, serve in a daemon thread and return the base URL (``http://127.0.0.1:PORT/``)."""
        if self._server is not None:
            return self.base_url
        emulator = self

        class Handler(_Handler):
            pass

        Handler.emulator = emulator
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        server.block_on_close = False  # never wait on a handler sleeping in a timeout fault
        self._server = server
        self.port = server.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}/"
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a timeout fault
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # end idle keep-alive handler threads too
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Block until stopped (standalone use)."""
        self.start()
        self._stopping.wait()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of each service, e.g. ``{"lastfm": "http://127.0.0.1:PORT/lastfm/2.0/"}``."""
        if not self.base_url:
            raise RuntimeError("start the emulator first")
        return {service: self.base_url + path for service, path in SERVICE_PATHS.items()}

    @property
    def env(self) -> dict[str, str]:
        """The ``*_BASE_URL`` variables that point Sidetrack at this emulator."""
        return {ENV_NAMES[service]: url for service, url in self.urls.items()}

    # log, counters, arrivals

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    @property
    def counters(self) -> dict[str, Counter[str]]:
        """Per service: ``requests``, ``faults``, ``rate_violations``, ``status_<code>``."""
        with self._lock:
            return {service: Counter(c) for service, c in self._counters.items()}

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._counters.clear()
            self.errors.clear()

    def add_arrival(self, arrival: Arrival) -> Arrival:
        with self._lock:
            self._arrivals.append(arrival)
        return arrival

    def add_fault(self, kind: FaultKind | str | Fault, **options: Any) -> Fault:
        """Shortcut for ``emulator.faults.add(...)``."""
        return self.faults.add(kind, **options)

    def history_requests(self, user: str, service: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (name, svc), n in self._history_counts.items()
                if name == user.lower() and service in (None, svc)
            )

    # request handling

    def _route(self, path: str) -> tuple[str | None, str]:
        trimmed = path.lstrip("/")
        for service, prefix in SERVICE_PATHS.items():
            if trimmed.startswith(prefix) or trimmed + "/" == prefix:
                return service, trimmed[len(prefix) :]
        return None, trimmed

    def _serve(self, handler: _Handler, method: str) -> None:
        started = time.monotonic()
        now = self.clock()
        split = urlsplit(handler.path)
        service, relative = self._route(split.path)
        params = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        agent = handler.headers.get("User-Agent", "")
        if service is None:
            reply = Reply(404, b"Not Found", content_type="text/plain")
            self._record(
                now, "unknown", method, relative, params, reply.status, agent, None, False, started
            )
            _write(handler, reply)
            return
        request = EmuRequest(service, method, relative, params, body, agent, now)

        lb_headers: dict[str, str] = {}
        refused: Reply | None = None
        violation = False
        if service == "listenbrainz":
            lb_headers, exceeded = self._lb_window.hit(
                now, self.config.lb_rate_limit, self.config.lb_rate_window
            )
            if exceeded and self.config.lb_enforce_rate_limit:
                refused = listenbrainz.error(429, _LB_429)
        elif service == "musicbrainz":
            violation = self._mb_rate_violation(agent)
            if violation and self.config.mb_enforce_rate_limit:
                refused = musicbrainz.error(503, _MB_503)
            elif self.config.mb_require_user_agent and (
                not agent.strip() or agent.startswith("python-requests")
            ):
                refused = musicbrainz.error(403, "Please send a meaningful User-Agent.")

        fault = self.faults.pick(service, method, relative, params)
        mode = "normal"
        reply: Reply | None = None
        if fault is not None:
            reply, mode = self._fault_reply(fault, request)
        if reply is None:
            reply = refused or self._answer(request)
        if service == "listenbrainz":
            if fault is not None and fault.kind == FaultKind.HTTP_429:
                lb_headers["X-RateLimit-Remaining"] = "0"
                if fault.retry_after is not None:
                    lb_headers["X-RateLimit-Reset-In"] = str(fault.retry_after)
            reply.headers = {**lb_headers, **reply.headers}
        if fault is None and refused is None and request.history_user:
            self._count_history(request)  # may change the world before this answer leaves

        status = 0 if mode == "reset" else reply.status
        self._record(
            now,
            service,
            method,
            relative,
            params,
            status,
            agent,
            str(fault.kind) if fault else None,
            violation,
            started,
        )
        if mode == "timeout" and fault is not None and self._stopping.wait(fault.delay):
            return
        if mode == "reset":
            _reset(handler)
        else:
            _write(handler, reply, truncate=mode == "truncate")

    def _answer(self, request: EmuRequest) -> Reply:
        try:
            return _FACES[request.service](self, request)
        except Exception:  # an emulator bug: answer 500 and keep the traceback for the test
            text = traceback.format_exc()
            with self._lock:
                self.errors.append(text)
            return Reply(500, {"error": "emulator error", "traceback": text})

    def _fault_reply(self, fault: Fault, request: EmuRequest) -> tuple[Reply | None, str]:
        service = request.service
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        kind = fault.kind
        if kind == FaultKind.HTTP_500:
            return Reply(
                fault.status or 500, fault.body or _HTML_500, headers, "text/html"
            ), "normal"
        if kind == FaultKind.HTTP_503:
            if service == "musicbrainz" and fault.body is None:
                reply = musicbrainz.error(fault.status or 503, _MB_503)
                reply.headers.update(headers)
                return reply, "normal"
            return Reply(
                fault.status or 503, fault.body or _HTML_503, headers, "text/html"
            ), "normal"
        if kind == FaultKind.HTTP_429:
            status = fault.status or 429
            body: Any = {
                "lastfm": {"error": 29, "message": LASTFM_MESSAGES[29]},
                "listenbrainz": {"code": 429, "error": _LB_429},
                "musicbrainz": {"error": _MB_503, "help": musicbrainz.HELP},
            }[service]
            return Reply(status, fault.body or body, headers), "normal"
        if kind == FaultKind.LASTFM_ERROR:
            code = fault.lastfm_code
            status = fault.status if fault.status is not None else LASTFM_STATUSES.get(code, 400)
            message = LASTFM_MESSAGES.get(code, "Error")
            return Reply(status, {"error": code, "message": message}, headers), "normal"
        if kind == FaultKind.MALFORMED_JSON:
            broken = fault.body or b'{"' + service.encode() + b'": {"items": [1, 2,, }'
            return Reply(fault.status or 200, broken, headers), "normal"
        if kind == FaultKind.TIMEOUT:
            return None, "timeout"
        if kind == FaultKind.RESET:
            return None, "reset"
        return None, "truncate"

    def _mb_rate_violation(self, agent: str) -> bool:
        rate = self.config.mb_rate_limit
        if not rate:
            return False
        now = time.monotonic()
        with self._lock:
            last = self._mb_last.get(agent)
            self._mb_last[agent] = now
        return last is not None and now - last < 1.0 / rate - self.config.mb_rate_tolerance

    def _count_history(self, request: EmuRequest) -> None:
        user = (request.history_user or "").lower()
        with self._lock:
            self._history_counts[(user, request.service)] += 1
            due = []
            for arrival in self._arrivals:
                if arrival.fired or arrival.user.lower() != user:
                    continue
                seen = sum(
                    n
                    for (name, svc), n in self._history_counts.items()
                    if name == user and arrival.service in (None, svc)
                )
                if seen >= arrival.after:
                    arrival.fired = True  # claimed here, applied below, once
                    due.append(arrival)
        for arrival in due:
            arrival.apply(self.world)

    def _record(
        self,
        now: float,
        service: str,
        method: str,
        path: str,
        params: dict[str, str],
        status: int,
        agent: str,
        fault: str | None,
        violation: bool,
        started: float,
    ) -> None:
        duration = time.monotonic() - started
        entry = LoggedRequest(
            now, service, method, path, params, status, agent, fault, violation, duration
        )
        with self._lock:
            self._log.append(entry)
            counter = self._counters.setdefault(service, Counter())
            counter["requests"] += 1
            counter[f"status_{status}"] += 1
            if fault:
                counter["faults"] += 1
            if violation:
                counter["rate_violations"] += 1

    def track_connection(self, connection: socket.socket, *, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def _write(handler: _Handler, reply: Reply, *, truncate: bool = False) -> None:
    body = reply.encode()
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", f"{reply.content_type}; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if truncate:
            handler.send_header("Connection", "close")
        handler.end_headers()
        # Truncated: the full Content-Length is promised, half is sent, then EOF.
        handler.wfile.write(body[: len(body) // 2] if truncate else body)
        handler.wfile.flush()
    except OSError:  # the client gave up (e.g. after its read timeout)
        handler.close_connection = True
        return
    if truncate:
        handler.close_connection = True


def _reset(handler: _Handler) -> None:
    """Close with SO_LINGER 0: the client gets an RST instead of an answer."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect of the real services
    server_version = "SidetrackEmulator/1.0"
    timeout = 60  # idle keep-alive connections end after a minute
    emulator: Emulator

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus
        # delayed ACKs add ~40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.emulator.track_connection(self.connection, opened=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the socket was reset on purpose
            super().finish()
        self.emulator.track_connection(self.connection, opened=False)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.emulator._serve(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.emulator._serve(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output clean
        pass
