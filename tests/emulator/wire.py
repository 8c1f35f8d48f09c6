"""Request and reply values passed between the HTTP server and the service faces."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EmuRequest:
    service: str  # "lastfm" | "listenbrainz" | "musicbrainz"
    method: str
    path: str  # relative to the service's base URL, without the leading slash
    params: dict[str, str]  # first value of each query parameter
    body: bytes
    user_agent: str
    now: float
    history_user: str | None = None  # set by a face when it served a user's history


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()
