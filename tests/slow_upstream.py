"""Upstreams that misbehave at the socket level, for deadline tests and bench/now_playing.py:
one that accepts connections and never answers, and one that answers only once
``n`` requests are waiting at the same time (proof that they were sent together)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The discard port: nothing listens there, so connections are refused at once.
REFUSING_URL = "http://127.0.0.1:9/"


@dataclass
class HangingServer:
    base_url: str
    connections: list[socket.socket] = field(default_factory=list)


@contextmanager
def hanging_server() -> Iterator[HangingServer]:
    """Accepts every connection and reads nothing, answers nothing: a hung upstream."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    listener.settimeout(0.05)
    state = HangingServer(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/")
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with suppress(TimeoutError, OSError):
                connection, _ = listener.accept()
                state.connections.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join()
        for connection in [*state.connections, listener]:
            connection.close()


@dataclass
class GatheringServer:
    base_url: str
    answered: int = 0


@contextmanager
def gathering_server(n: int, body: bytes, wait_seconds: float = 5.0) -> Iterator[GatheringServer]:
    """Answers ``body`` to GETs, but only once ``n`` of them are in flight together;
    a request that waits ``wait_seconds`` without company gets a 503."""
    barrier = threading.Barrier(n)
    state = GatheringServer(base_url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                barrier.wait(timeout=wait_seconds)
                status, reply = 200, body
            except threading.BrokenBarrierError:
                status, reply = 503, b'{"error": "alone"}'
            with lock:
                state.answered += status == 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        barrier.abort()
        server.shutdown()
        server.server_close()
