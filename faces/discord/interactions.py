"""Discord's interaction payloads in and messages out, as plain values; Discord's limits.

https://discord.com/developers/docs/interactions/receiving-and-responding
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class InteractionType(IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class ResponseType(IntEnum):
    PONG = 1
    MESSAGE = 4  # CHANNEL_MESSAGE_WITH_SOURCE
    DEFERRED_MESSAGE = 5  # "thinking…", edited later through the webhook
    DEFERRED_UPDATE = 6  # a component's message, edited later
    UPDATE_MESSAGE = 7


class OptionType(IntEnum):
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    USER = 6


EPHEMERAL = 1 << 6
# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
SELECT_OPTIONS_MAX = 25
SELECT_TEXT_MAX = 100


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_lines(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in ``limit`` characters, then how many were left out."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    room = limit - len(f"\n…and {len(lines)} more")
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > room:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join([*kept, f"…and {len(lines) - len(kept)} more"])


@dataclass(frozen=True)
class Interaction:
    """The parts of an interaction payload Sidetrack acts on."""

    id: str
    type: int
    token: str
    application_id: str
    guild_id: str | None
    user_id: str
    user_name: str
    permissions: int
    command: str = ""  # "club join": the command and its subcommand
    options: dict[str, Any] = field(default_factory=dict)
    custom_id: str = ""
    values: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Interaction:
        member = payload.get("member") or {}
        user = member.get("user") or payload.get("user") or {}
        data = payload.get("data") or {}
        command, options = data.get("name", ""), data.get("options") or []
        # Subcommands nest their options one level down.
        while options and options[0].get("type") in (
            OptionType.SUB_COMMAND,
            OptionType.SUB_COMMAND_GROUP,
        ):
            command = f"{command} {options[0]['name']}"
            options = options[0].get("options") or []
        return cls(
            id=str(payload.get("id", "")),
            type=int(payload.get("type", 0)),
            token=str(payload.get("token", "")),
            application_id=str(payload.get("application_id", "")),
            guild_id=str(payload["guild_id"]) if payload.get("guild_id") else None,
            user_id=str(user.get("id", "")),
            user_name=str(user.get("global_name") or user.get("username") or ""),
            permissions=int(member.get("permissions") or 0),
            command=command,
            options={o["name"]: o.get("value") for o in options if "name" in o},
            custom_id=str(data.get("custom_id", "")),
            values=tuple(str(v) for v in data.get("values") or ()),
        )


@dataclass(frozen=True)
class Reply:
    """A message: text, embeds, components; ephemeral ones only their asker sees."""

    content: str = ""
    embeds: tuple[dict[str, Any], ...] = ()
    components: tuple[dict[str, Any], ...] = ()
    ephemeral: bool = False

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "content": clip(self.content, CONTENT_MAX),
            "embeds": [_fit_embed(e) for e in self.embeds[:10]],
            # Editing the original replaces its components too: an empty list removes a menu.
            "components": list(self.components),
            # Names in answers never ping anyone.
            "allowed_mentions": {"parse": []},
        }
        if self.ephemeral:
            message["flags"] = EPHEMERAL
        return message


def _fit_embed(embed: dict[str, Any]) -> dict[str, Any]:
    fitted = dict(embed)
    if "title" in fitted:
        fitted["title"] = clip(fitted["title"], EMBED_TITLE_MAX)
    if "description" in fitted:
        fitted["description"] = clip(fitted["description"], EMBED_DESCRIPTION_MAX)
    if "footer" in fitted:
        fitted["footer"] = {"text": clip(fitted["footer"]["text"], EMBED_FOOTER_MAX)}
    return fitted


class Refused(Exception):
    """The command cannot be done for this user here; the message tells them why."""
