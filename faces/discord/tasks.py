"""Deferred interactions, finished by a django-q2 worker: the work, then an edit of
the original response through Discord's webhook."""

from __future__ import annotations

import logging
from typing import Any

import django_q.tasks
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from faces.discord.handlers import command_for, finish
from faces.discord.interactions import Interaction, Reply
from faces.discord.providers import get_discord_client
from sidetrack.http.errors import ExternalApiError

logger = logging.getLogger(__name__)

FINISH_TASK = "faces.discord.tasks.finish_interaction_task"
# Discord accepts edits for 15 minutes after the interaction.
TOKEN_SECONDS = 15 * 60


def _token_key(interaction_id: str) -> str:
    return f"discord-token:{interaction_id}"


def queue_finish(ix: Interaction) -> None:
    """Queue the rest of ``ix``. The interaction token is a credential for its
    message: it waits in the shared cache until it expires, never in the task's
    stored arguments."""
    cache.set(_token_key(ix.id), ix.token, TOKEN_SECONDS)
    fields = {k: v for k, v in ix.__dict__.items() if k != "token"}
    transaction.on_commit(lambda: django_q.tasks.async_task(FINISH_TASK, fields))


def finish_interaction_task(fields: dict[str, Any]) -> dict[str, Any]:
    token = cache.get(_token_key(fields["id"]))
    if not token:
        logger.warning("discord interaction %s: token expired before it was finished", fields["id"])
        return {"edited": False, "reason": "token expired"}
    ix = Interaction(**{**fields, "token": token, "values": tuple(fields.get("values") or ())})
    command = command_for(ix)
    try:
        reply = (
            finish(ix, command, timezone.now()) if command else Reply(content="Unknown command.")
        )
    except Exception:
        logger.exception("discord interaction %s failed", ix.command or ix.custom_id)
        reply = Reply(content="Something went wrong on Sidetrack's side; nothing was done.")
    client = get_discord_client()
    try:
        client.edit_original(interaction_token=token, message=reply.message())
    except ExternalApiError as error:
        logger.warning("discord interaction %s: edit failed: %s", ix.id, error)
        raise
    finally:
        client.close()
    return {"edited": True, "command": ix.command or ix.custom_id}
