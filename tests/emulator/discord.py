"""Discord's side of an interactions application, on 127.0.0.1, for tests and benches.

It holds the application's Ed25519 key pair, builds and signs interactions as
Discord does and posts them to a live Sidetrack, and serves the two REST calls
Sidetrack makes back (editing an original response, overwriting commands),
recording each. ``rate_limit_next(n)`` answers the next n calls with Discord's
429 (``Retry-After`` header and ``retry_after`` in the body).
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

APPLICATION_ID = "1100000000000000001"
_EDIT = re.compile(r"^/api/v10/webhooks/(\d+)/([^/]+)/messages/@original$")
_COMMANDS = re.compile(r"^/api/v10/applications/(\d+)(?:/guilds/(\d+))?/commands$")


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    body: Any
    authorization: str | None
    user_agent: str | None
    at: float  # time.monotonic() when received


@dataclass
class DiscordEmulator:
    application_id: str = APPLICATION_ID
    bot_token: str = "emulated-bot-token.0123456789abcdef"
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    received: list[Received] = field(default_factory=list)
    edits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # token -> bodies
    commands: dict[str | None, list[dict[str, Any]]] = field(default_factory=dict)
    _rate_limited: int = 0
    # Snowflakes are unique across runs too: a shared cache remembers seen ids.
    _ids: Any = field(
        default_factory=lambda: itertools.count(
            1_200_000_000_000_000_000 + secrets.randbelow(10**12) * 10**6
        )
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    base_url: str = ""

    # --- keys and settings ---------------------------------------------------------

    @property
    def public_key_hex(self) -> str:
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "DISCORD_APPLICATION_ID": self.application_id,
            "DISCORD_PUBLIC_KEY": self.public_key_hex,
            "DISCORD_BOT_TOKEN": self.bot_token,
            "DISCORD_API_BASE_URL": self.base_url + "api/v10/",
        }

    def sign(self, body: bytes, timestamp: str) -> str:
        return self.key.sign(timestamp.encode() + body).hex()

    # --- interactions Discord sends ------------------------------------------------

    def next_id(self) -> str:
        return str(next(self._ids))

    def command(
        self,
        name: str,
        *,
        user: str,
        guild: str | None = None,
        options: dict[str, Any] | None = None,
        sub: str | None = None,
        permissions: int = 0,
        user_name: str | None = None,
    ) -> dict[str, Any]:
        """A slash command as Discord sends it: ``sub`` nests the options in a subcommand."""
        opts = [
            {"name": k, "type": 6 if k == "member" else 4 if k == "year" else 3, "value": v}
            for k, v in (options or {}).items()
        ]
        if sub:
            opts = [{"name": sub, "type": 1, "options": opts}]
        return self._interaction(
            2,
            {"id": self.next_id(), "name": name, "type": 1, "options": opts},
            user,
            guild,
            permissions,
            user_name,
        )

    def component(
        self, custom_id: str, values: list[str], *, user: str, guild: str | None = None
    ) -> dict[str, Any]:
        data = {"custom_id": custom_id, "component_type": 3, "values": values}
        return self._interaction(3, data, user, guild, 0, None)

    def ping(self) -> dict[str, Any]:
        return {
            "id": self.next_id(),
            "type": 1,
            "application_id": self.application_id,
            "token": "ping-token",
            "version": 1,
        }

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user: str,
        guild: str | None,
        permissions: int,
        user_name: str | None,
    ) -> dict[str, Any]:
        who = {"id": user, "username": user_name or f"user{user[-4:]}", "global_name": None}
        payload: dict[str, Any] = {
            "id": self.next_id(),
            "application_id": self.application_id,
            "type": kind,
            "data": data,
            "token": f"itoken-{self.next_id()}-{'x' * 40}",
            "version": 1,
        }
        if guild:
            payload["guild_id"] = guild
            payload["member"] = {"user": who, "permissions": str(permissions)}
        else:
            payload["user"] = who
        return payload

    def post(
        self,
        base: str,
        payload: dict[str, Any] | bytes,
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """POST ``payload`` to ``base``'s endpoint, signed unless told otherwise."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        timestamp = timestamp if timestamp is not None else str(int(time.time()))
        sent = {
            "Content-Type": "application/json",
            "X-Signature-Ed25519": signature
            if signature is not None
            else self.sign(body, timestamp),
            "X-Signature-Timestamp": timestamp,
        }
        sent.update(headers or {})
        return requests.post(
            f"{base.rstrip('/')}/discord/interactions/",
            data=body,
            headers={k: v for k, v in sent.items() if v is not None},
            timeout=30,
        )

    # --- Discord's REST API --------------------------------------------------------

    def rate_limit_next(self, n: int) -> None:
        with self._lock:
            self._rate_limited = n

    def _serve(
        self, method: str, path: str, body: Any, headers: Any
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.received.append(
                Received(
                    method,
                    path,
                    body,
                    headers.get("Authorization"),
                    headers.get("User-Agent"),
                    time.monotonic(),
                )
            )
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return (
                    429,
                    {"Retry-After": "1"},
                    {
                        "message": "You are being rate limited.",
                        "retry_after": 0.05,
                        "global": False,
                    },
                )
        edit = _EDIT.match(path)
        if edit and method == "PATCH":
            if edit.group(1) != self.application_id:
                return 404, {}, {"message": "Unknown Webhook", "code": 10015}
            with self._lock:
                self.edits.setdefault(edit.group(2), []).append(body)
            return 200, {}, {"id": self.next_id(), **body}
        commands = _COMMANDS.match(path)
        if commands and method == "PUT":
            if headers.get("Authorization") != f"Bot {self.bot_token}":
                return 401, {}, {"message": "401: Unauthorized", "code": 0}
            registered = [
                {"id": self.next_id(), "application_id": self.application_id, **c} for c in body
            ]
            with self._lock:
                self.commands[commands.group(2)] = registered
            return 200, {}, registered
        return 404, {}, {"message": "404: Not Found", "code": 0}

    def edits_for(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.edits.get(payload["token"], []))

    # --- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> DiscordEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                status, extra, answer = emulator._serve(self.command, self.path, body, self.headers)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_PATCH = do_PUT = do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
