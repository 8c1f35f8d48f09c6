"""The slash commands as Discord registers them (bulk overwrite: this list is the truth).

https://discord.com/developers/docs/interactions/application-commands#application-command-object
"""

from __future__ import annotations

from typing import Any

from faces.discord.interactions import OptionType


def _option(
    kind: OptionType, name: str, description: str, *, required: bool = False, **extra: Any
) -> dict[str, Any]:
    return {"type": kind, "name": name, "description": description, "required": required, **extra}


def _sub(name: str, description: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": OptionType.SUB_COMMAND,
        "name": name,
        "description": description,
        "options": list(options),
    }


def _command(name: str, description: str, *options: dict[str, Any]) -> dict[str, Any]:
    # type 1: a slash command; contexts: servers (0) and direct messages with the bot (1).
    return {
        "name": name,
        "type": 1,
        "description": description,
        "options": list(options),
        "contexts": [0, 1],
    }


MEMBER = _option(OptionType.USER, "member", "A club member (you when left out)")

COMMAND_DEFINITIONS: list[dict[str, Any]] = [
    _command("np", "Now playing, or the last listen", MEMBER),
    _command("standings", "Everyone's progress on the club's nominated album"),
    _command("progress", "The nominated album's tracklist, heard or not", MEMBER),
    _command(
        "nominate",
        "Nominate the club's next album",
        _option(OptionType.STRING, "artist", "The artist", required=True, max_length=200),
        _option(OptionType.STRING, "album", "The album's title", required=True, max_length=200),
        _option(
            OptionType.INTEGER,
            "year",
            "Its year, when there are several",
            min_value=1900,
            max_value=2100,
        ),
    ),
    _command(
        "whoknows",
        "Club members ranked by plays",
        _sub(
            "artist",
            "Who knows an artist",
            _option(OptionType.STRING, "name", "The artist", required=True),
        ),
        _sub(
            "album",
            "Who knows an album (the nominated one when left out)",
            _option(OptionType.STRING, "name", "The album, or Artist - Album"),
        ),
        _sub(
            "track",
            "Who knows a track",
            _option(OptionType.STRING, "name", "The track, or Artist - Track", required=True),
        ),
    ),
    _command(
        "compare",
        "Taste overlap and shared top artists with a member",
        {**MEMBER, "required": True},
    ),
    _command(
        "connect",
        "Connect your scrobbles to Sidetrack",
        _sub(
            "lastfm",
            "Connect a Last.fm user",
            _option(OptionType.STRING, "name", "Your Last.fm user name", required=True),
        ),
        _sub(
            "listenbrainz",
            "Connect a ListenBrainz user",
            _option(OptionType.STRING, "name", "Your ListenBrainz user name", required=True),
        ),
    ),
    _command(
        "link",
        "Link your Discord account, or bind this server to a club, with a code",
        _option(OptionType.STRING, "code", "The one-time code", required=True),
    ),
    _command(
        "club",
        "This server's club",
        _sub("join", "Join this server's club"),
        _sub("leave", "Leave this server's club"),
    ),
    _command("help", "What Sidetrack can do here"),
]
