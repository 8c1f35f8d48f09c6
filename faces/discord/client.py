"""Discord's REST API, the two calls Sidetrack makes: edit an interaction's original
response, and overwrite the application's commands. HTTP only: no ORM, no settings.

https://discord.com/developers/docs/interactions/receiving-and-responding#edit-original-interaction-response
https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sidetrack.http.errors import ExternalApiError
from sidetrack.http.options import HttpOptions
from sidetrack.http.redaction import REDACTED
from sidetrack.http.transport import ServiceHttp

SERVICE = "discord"
DEFAULT_BASE_URL = "https://discord.com/api/v10/"
# Discord asks bots to identify as "DiscordBot ($url, $versionNumber)".
USER_AGENT = "DiscordBot (https://github.com/sidetrack/sidetrack, 0.1)"
# Both calls are idempotent (PATCH the same message, PUT the same list), so a 429
# (Discord sends Retry-After) or a 5xx is retried like a read.
RETRY_METHODS = frozenset({"GET", "PATCH", "PUT"})


class DiscordClient:
    def __init__(
        self,
        *,
        application_id: str,
        bot_token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        options: HttpOptions | None = None,
    ) -> None:
        self.application_id = application_id
        self.http = ServiceHttp(
            service=SERVICE,
            base_url=base_url,
            options=options or HttpOptions(user_agent=USER_AGENT),
            secrets=[bot_token] if bot_token else [],
            retry_methods=RETRY_METHODS,
        )
        self._has_bot_token = bool(bot_token)
        if bot_token:
            self.http.session.headers["Authorization"] = f"Bot {bot_token}"

    def edit_original(self, *, interaction_token: str, message: dict[str, Any]) -> dict[str, Any]:
        """Replace the interaction's original (deferred) response with ``message``.
        The token authenticates the call (valid 15 minutes); no bot token is needed."""
        path = f"webhooks/{self.application_id}/{interaction_token}/messages/@original"
        with _token_hidden(interaction_token):
            return self.http.request_json("PATCH", path, json_body=message).data

    def overwrite_commands(
        self, *, commands: Iterable[dict[str, Any]], guild_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Make the application's commands exactly ``commands`` (globally, or in one
        guild, where changes show at once). Idempotent."""
        if not self._has_bot_token:
            raise ValueError("overwriting commands needs the bot token")
        path = f"applications/{self.application_id}/commands"
        if guild_id:
            path = f"applications/{self.application_id}/guilds/{guild_id}/commands"
        return self.http.request_json("PUT", path, json_body=list(commands)).data

    def close(self) -> None:
        self.http.close()


@contextmanager
def _token_hidden(token: str) -> Iterator[None]:
    """An interaction token lives in the URL path, where the HTTP layer's redaction
    (query parameters, registered secrets) does not look; registering every
    short-lived token would grow that list forever, so errors are scrubbed here."""
    try:
        yield
    except ExternalApiError as error:
        if error.url:
            error.url = error.url.replace(token, REDACTED)
        error.message = error.message.replace(token, REDACTED)
        error.args = (error.message,)
        raise
