"""Discord's request signatures: Ed25519 over timestamp + raw body, and their freshness.

https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# A signed request older (or further ahead) than this is refused as a replay; within
# it, the interaction's id is remembered so the same request is not served twice.
MAX_AGE_SECONDS = 300


class Refusal(StrEnum):
    """Why a request was answered 401 (the text Discord and operators see)."""

    MISSING_HEADERS = "missing signature headers"
    BAD_TIMESTAMP = "malformed signature timestamp"
    STALE = "stale signature timestamp"
    BAD_SIGNATURE = "invalid request signature"
    REPLAYED = "interaction already received"


@lru_cache(maxsize=4)
def _public_key(public_key_hex: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))


def public_key_valid(public_key_hex: str) -> bool:
    try:
        _public_key(public_key_hex.strip())
    except ValueError:
        return False
    return True


def signature_valid(
    *, public_key_hex: str, signature_hex: str, timestamp: str, body: bytes
) -> bool:
    """Whether ``signature_hex`` signs ``timestamp`` + ``body`` under the application's key."""
    try:
        key = _public_key(public_key_hex.strip())
        signature = bytes.fromhex(signature_hex)
        key.verify(signature, timestamp.encode() + body)
    except (ValueError, UnicodeEncodeError, InvalidSignature):
        return False
    return True


def check_request(
    *,
    public_key_hex: str,
    signature_hex: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
) -> Refusal | None:
    """None when the request is Discord's and fresh, else why not."""
    if not signature_hex or not timestamp:
        return Refusal.MISSING_HEADERS
    if not timestamp.isascii() or not timestamp.isdigit():
        return Refusal.BAD_TIMESTAMP
    # Freshness is only meaningful once the timestamp is proven to be Discord's,
    # but a cheap check first spares the signature work for old junk.
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return Refusal.STALE
    if not signature_valid(
        public_key_hex=public_key_hex, signature_hex=signature_hex, timestamp=timestamp, body=body
    ):
        return Refusal.BAD_SIGNATURE
    return None
