"""Every request to /discord/interactions/ is Discord's, fresh and new, or it gets 401."""

from __future__ import annotations

import io
import json
import time

import pytest
from discord_interactions import verify_key
from django.core.management import call_command

from faces.discord.signature import MAX_AGE_SECONDS, signature_valid
from tests.emulator.discord import DiscordEmulator

pytestmark = pytest.mark.django_db
URL = "/discord/interactions/"


def _cases(emulator: DiscordEmulator, other: DiscordEmulator) -> list[tuple[str, str, str, bytes]]:
    body = b'{"type":1}'
    ts = "1700000000"
    good = emulator.sign(body, ts)
    return [
        ("valid", good, ts, body),
        ("body changed", good, ts, b'{"type":2}'),
        ("timestamp changed", good, "1700000001", body),
        ("other key", other.sign(body, ts), ts, body),
        ("signature flipped", good[:-2] + ("00" if good[-2:] != "00" else "01"), ts, body),
        ("signature short", good[:64], ts, body),
        ("signature not hex", "zz" * 64, ts, body),
        ("signature empty", "", ts, body),
        ("empty body signed", emulator.sign(b"", ts), ts, b""),
        ("unicode timestamp", good, "１７００", body),
    ]


def test_signature_verdicts_match_discords_reference_implementation():
    emulator, other = DiscordEmulator(), DiscordEmulator()
    verdicts = {}
    for name, signature, ts, body in _cases(emulator, other):
        ours = signature_valid(
            public_key_hex=emulator.public_key_hex, signature_hex=signature, timestamp=ts, body=body
        )
        try:
            reference = verify_key(body, signature, ts, emulator.public_key_hex)
        except UnicodeEncodeError:
            reference = False
        assert ours == reference, name
        verdicts[name] = ours
    assert verdicts["valid"]
    assert verdicts["empty body signed"]
    assert sum(verdicts.values()) == 2


def test_ping_is_answered_with_pong(client, discord):
    body = json.dumps(discord.ping()).encode()
    ts = str(int(time.time()))
    answer = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE_ED25519=discord.sign(body, ts),
        HTTP_X_SIGNATURE_TIMESTAMP=ts,
    )
    assert answer.status_code == 200
    assert answer.json() == {"type": 1}


def _post(client, discord, payload, *, ts=None, signature=None, omit=()):
    body = json.dumps(payload).encode()
    ts = str(int(time.time())) if ts is None else ts
    headers = {
        "HTTP_X_SIGNATURE_ED25519": discord.sign(body, ts) if signature is None else signature,
        "HTTP_X_SIGNATURE_TIMESTAMP": ts,
    }
    for name in omit:
        headers.pop(name)
    return client.post(URL, body, content_type="application/json", **headers)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no signature header", "missing signature headers"),
        ("no timestamp header", "missing signature headers"),
        ("timestamp not a number", "malformed signature timestamp"),
        ("timestamp too old", "stale signature timestamp"),
        ("timestamp in the future", "stale signature timestamp"),
        ("signed by another key", "invalid request signature"),
        ("signature garbage", "invalid request signature"),
    ],
)
def test_every_unsigned_or_wrongly_signed_request_gets_401(client, discord, case, reason):
    payload = discord.command("help", user="42")
    now = int(time.time())
    kwargs = {
        "no signature header": {"omit": ("HTTP_X_SIGNATURE_ED25519",)},
        "no timestamp header": {"omit": ("HTTP_X_SIGNATURE_TIMESTAMP",)},
        "timestamp not a number": {"ts": "yesterday"},
        "timestamp too old": {"ts": str(now - MAX_AGE_SECONDS - 5)},
        "timestamp in the future": {"ts": str(now + MAX_AGE_SECONDS + 5)},
        "signed by another key": {
            "signature": DiscordEmulator().sign(json.dumps(payload).encode(), str(now)),
            "ts": str(now),
        },
        "signature garbage": {"signature": "not-a-signature"},
    }[case]
    answer = _post(client, discord, payload, **kwargs)
    assert answer.status_code == 401
    assert answer.json() == {"error": reason}


def test_a_replayed_interaction_is_refused_the_second_time(client, discord):
    payload = discord.command("help", user="42")
    body = json.dumps(payload).encode()
    ts = str(int(time.time()))
    first = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE_ED25519=discord.sign(body, ts),
        HTTP_X_SIGNATURE_TIMESTAMP=ts,
    )
    again = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE_ED25519=discord.sign(body, ts),
        HTTP_X_SIGNATURE_TIMESTAMP=ts,
    )
    assert first.status_code == 200
    assert "/standings" in first.json()["data"]["content"]
    assert again.status_code == 401
    assert again.json() == {"error": "interaction already received"}


def test_without_discord_settings_nothing_is_served_and_check_says_so(client, settings):
    settings.DISCORD_APPLICATION_ID = settings.DISCORD_PUBLIC_KEY = ""
    settings.DISCORD_BOT_TOKEN = ""
    emulator = DiscordEmulator()
    body = json.dumps(emulator.ping()).encode()
    ts = str(int(time.time()))
    answer = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE_ED25519=emulator.sign(body, ts),
        HTTP_X_SIGNATURE_TIMESTAMP=ts,
    )
    assert answer.status_code == 404
    out, err = io.StringIO(), io.StringIO()
    call_command("check", stdout=out, stderr=err)
    assert "(discord.I001) Discord is not configured: /discord/interactions/ is not served." in (
        out.getvalue() + err.getvalue()
    )


def test_check_names_a_missing_discord_variable_and_a_malformed_key(settings):
    from faces.discord.checks import check_discord_settings

    settings.DISCORD_APPLICATION_ID = "1"
    settings.DISCORD_PUBLIC_KEY = "abc"
    settings.DISCORD_BOT_TOKEN = ""
    messages = {m.id: m.msg for m in check_discord_settings()}
    assert messages == {
        "discord.W003": "DISCORD_BOT_TOKEN is not set.",
        "discord.W004": "DISCORD_PUBLIC_KEY is not an Ed25519 public key (64 hex digits).",
    }
    settings.DISCORD_APPLICATION_ID = settings.DISCORD_PUBLIC_KEY = ""
    assert [m.id for m in check_discord_settings()] == ["discord.I001"]
