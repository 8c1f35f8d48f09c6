"""``/discord/interactions/``: Discord POSTs every slash command here, signed."""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from faces.discord import tasks
from faces.discord.handlers import command_for
from faces.discord.interactions import (
    EPHEMERAL,
    Interaction,
    InteractionType,
    Refused,
    Reply,
    ResponseType,
)
from faces.discord.providers import discord_enabled
from faces.discord.signature import MAX_AGE_SECONDS, Refusal, check_request

logger = logging.getLogger(__name__)


def _unauthorized(reason: Refusal) -> HttpResponse:
    return JsonResponse({"error": str(reason)}, status=401)


@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    if not discord_enabled():
        raise Http404("Discord is not configured.")
    body = request.body
    refusal = check_request(
        public_key_hex=settings.DISCORD_PUBLIC_KEY,
        signature_hex=request.headers.get("X-Signature-Ed25519"),
        timestamp=request.headers.get("X-Signature-Timestamp"),
        body=body,
        now=time.time(),
    )
    if refusal is not None:
        logger.info("discord interaction refused: %s", refusal)
        return _unauthorized(refusal)
    try:
        payload = json.loads(body)
        ix = Interaction.from_payload(payload)
    except (ValueError, TypeError, KeyError, AttributeError):
        return JsonResponse({"error": "malformed interaction"}, status=400)
    if ix.type == InteractionType.PING:
        return JsonResponse({"type": ResponseType.PONG})
    # A signed request seen before, within its freshness window, is a replay: the
    # cache is shared by every web process, and add() is atomic.
    if not ix.id or not cache.add(f"discord-interaction:{ix.id}", 1, timeout=2 * MAX_AGE_SECONDS):
        return _unauthorized(Refusal.REPLAYED)
    return JsonResponse(respond(ix))


def respond(ix: Interaction) -> dict:
    """The initial response: the answer itself, a private refusal, or "thinking…"
    with a task queued to finish the work."""
    command = command_for(ix)
    if command is None:
        return _message(Reply(content="Sidetrack does not know that command.", ephemeral=True))
    now = timezone.now()
    try:
        if command.check is not None:
            command.check(ix, now)
        if not command.deferred:
            return _message(command.run(ix, now))
    except Refused as refused:
        return _message(Reply(content=str(refused), ephemeral=True))
    tasks.queue_finish(ix)
    if ix.type == InteractionType.MESSAGE_COMPONENT:
        return {"type": ResponseType.DEFERRED_UPDATE}
    data = {"flags": EPHEMERAL} if command.ephemeral else {}
    return {"type": ResponseType.DEFERRED_MESSAGE, "data": data}


def _message(reply: Reply) -> dict:
    return {"type": ResponseType.MESSAGE, "data": reply.message()}
