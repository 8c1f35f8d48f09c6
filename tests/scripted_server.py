"""A tiny HTTP server on 127.0.0.1 answering from a script, for testing what
``responses`` cannot show: urllib3's real retries and Retry-After sleeps."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedServer:
    replies: list[Reply]
    base_url: str = ""
    requests: list[tuple[float, str, str]] = field(default_factory=list)  # (time, path, UA)


@contextmanager
def scripted_server(replies: list[Reply]) -> Iterator[ScriptedServer]:
    """Serves ``replies`` in order (the last one repeats), recording each request."""
    state = ScriptedServer(replies=list(replies))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            with lock:
                state.requests.append((time.monotonic(), self.path, self.headers.get("User-Agent")))
                reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
