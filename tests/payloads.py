"""Recorded API payloads in tests/fixtures/<service>/ (provenance in each folder's SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def load_payload(service: str, filename: str) -> Any:
    return json.loads((FIXTURES / service / filename).read_text(encoding="utf-8"))


def payload_text(service: str, filename: str) -> str:
    return (FIXTURES / service / filename).read_text(encoding="utf-8")
