"""Your sources: polled accounts (connect, Connect with Last.fm, fetch now, disconnect),
submission tokens, and the code that links your Discord user."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_POST

from accounts.models import POLLED_SOURCES, ExternalAccount, ListenSource, SubmissionToken
from accounts.selectors import user_account_get, user_accounts
from accounts.services import (
    AccountRefused,
    connect_proven_account,
    connect_user_account,
    disconnect_account,
    request_ingest,
)
from accounts.submission_tokens import (
    create_submission_token,
    revoke_submission_token,
    user_submission_tokens,
)
from faces.discord.providers import discord_enabled
from faces.discord.services import CODE_LIFETIME, link_code_create
from faces.web.forms import ConnectForm, TokenForm
from faces.web.presenting import account_state
from listens.providers import client_for
from sidetrack.http.errors import AuthError, ExternalApiError

logger = logging.getLogger(__name__)

# The session key holding the nonce a Connect with Last.fm round trip must bring back:
# without it, anyone could send a member's browser to the return URL with a token of
# theirs and connect their own Last.fm name to the member's Sidetrack.
LASTFM_STATE_KEY = "web:lastfm-connect-state"
LASTFM_SETTINGS = ("LASTFM_API_KEY", "LASTFM_API_SECRET")


def lastfm_connect_missing() -> list[str]:
    """The settings Connect with Last.fm still needs (none: it is offered)."""
    return [name for name in LASTFM_SETTINGS if not getattr(settings, name, "")]


def _page(
    request: HttpRequest,
    *,
    connect: ConnectForm | None = None,
    token_form: TokenForm | None = None,
    new_token: tuple[SubmissionToken, str] | None = None,
    discord_code: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    accounts = [(a, account_state(a, now)) for a in user_accounts(user=request.user)]
    context = {
        "nav": "sources",
        "accounts": accounts,
        "connect": connect or ConnectForm(),
        "token_form": token_form or TokenForm(),
        "tokens": list(user_submission_tokens(user=request.user)),
        "new_token": new_token,
        # What players are told: the server's root; they add /1/… themselves.
        "api_root": request.build_absolute_uri("/"),
        "polled": POLLED_SOURCES,
        "lastfm_missing": lastfm_connect_missing(),
        "discord_enabled": discord_enabled(),
        "discord_code": discord_code,
        "code_minutes": int(CODE_LIFETIME.total_seconds() // 60),
    }
    return render(request, "web/sources.html", context, status=status)


@login_required
def sources(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def connect(request: HttpRequest) -> HttpResponse:
    form = ConnectForm(request.POST)
    if not form.is_valid():
        return _page(request, connect=form, status=400)
    try:
        account, created = connect_user_account(
            user=request.user,
            source=form.cleaned_data["source"],
            external_username=form.cleaned_data["external_username"],
            max_accounts=settings.MAX_ACCOUNTS_PER_USER,
        )
    except (AccountRefused, ValueError) as error:
        form.add_error("external_username", str(error))
        return _page(
            request, connect=form, status=409 if isinstance(error, AccountRefused) else 400
        )
    label = account.get_source_display()
    if created:
        messages.success(request, f"Connected {account.external_username} on {label}.")
        request_ingest(account=account)
    else:
        messages.info(request, f"{account.external_username} on {label} was already connected.")
    return redirect("web:sources")


def _account(request: HttpRequest, account_id: int) -> ExternalAccount:
    account = user_account_get(user=request.user, account_id=account_id)
    if account is None:
        raise Http404("No such account of yours.")
    return account


@login_required
@require_POST
def fetch(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    if account.source not in POLLED_SOURCES or not account.enabled:
        messages.error(request, "Only a connected Last.fm or ListenBrainz account is fetched.")
        return redirect("web:sources")
    asked = request_ingest(account=account)
    if asked.queued:
        messages.success(request, f"Fetching {account.external_username}: new listens soon.")
    else:
        messages.info(request, f"{account.external_username} is already being fetched.")
    return redirect("web:sources")


@login_required
@require_POST
def disconnect(request: HttpRequest, account_id: int) -> HttpResponse:
    account = disconnect_account(account=_account(request, account_id))
    messages.success(request, f"Disconnected {account.external_username}; its listens are kept.")
    return redirect("web:sources")


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, token_form=form, status=400)
    row, token = create_submission_token(user=request.user, name=form.cleaned_data["name"])
    # Rendered, not redirected: the token is shown this once and never stored in clear.
    response = _page(request, new_token=(row, token))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = user_submission_tokens(user=request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token of yours.")
    revoke_submission_token(token=token)
    messages.success(request, f"Revoked the token {token.prefix}…; players using it stop at once.")
    return redirect("web:sources")


@login_required
@require_POST
def discord_link_code(request: HttpRequest) -> HttpResponse:
    """A one-time code that links the Discord user who runs ``/link CODE`` to you
    (the web's door to ``manage.py discord_link_code``)."""
    if not discord_enabled():
        messages.error(request, "Discord is not set up on this Sidetrack.")
        return redirect("web:sources")
    code = link_code_create(user=request.user, now=timezone.now())
    # Rendered, not redirected: shown this once; only its digest is stored.
    response = _page(request, discord_code=code)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def lastfm_start(request: HttpRequest) -> HttpResponse:
    """Send the member to Last.fm's page to approve Sidetrack; Last.fm sends them back
    to ``lastfm_done`` with a token (https://www.last.fm/api/webauth)."""
    if lastfm_connect_missing():
        messages.error(request, "Connect with Last.fm is not set up on this Sidetrack.")
        return redirect("web:sources")
    state = secrets.token_urlsafe(24)
    request.session[LASTFM_STATE_KEY] = state
    back = request.build_absolute_uri(f"{reverse('web:lastfm_done')}?{urlencode({'state': state})}")
    query = urlencode({"api_key": settings.LASTFM_API_KEY, "cb": back})
    return redirect(f"{settings.LASTFM_AUTH_URL}?{query}")


@login_required
def lastfm_done(request: HttpRequest) -> HttpResponse:
    """Last.fm's redirect back: trade the token for the session's user name, which the
    member has just proven theirs, and connect it (taking it over from unproven claims)."""
    expected = request.session.pop(LASTFM_STATE_KEY, None)
    state = request.GET.get("state", "")
    token = request.GET.get("token", "")
    if not expected or not constant_time_compare(state, expected) or not token:
        messages.error(
            request,
            "That return from Last.fm does not match a Connect with Last.fm started here "
            "(or it was used already). Nothing was connected; start again with the button.",
        )
        return redirect("web:sources")
    try:
        with client_for(ListenSource.LASTFM) as lastfm:
            session = lastfm.get_session(token)
    except AuthError:
        messages.error(
            request,
            "Last.fm did not confirm the approval (it may have expired or been used "
            "already). Nothing was connected; start again with the button.",
        )
        return redirect("web:sources")
    except ExternalApiError as error:
        logger.warning("auth.getSession failed: %s", error)
        messages.error(
            request,
            "Last.fm could not be reached to confirm your name. Nothing was connected; "
            "try again in a minute.",
        )
        return redirect("web:sources")
    try:
        proven = connect_proven_account(
            user=request.user,
            source=ListenSource.LASTFM,
            external_username=session.name,
            max_accounts=settings.MAX_ACCOUNTS_PER_USER,
        )
    except AccountRefused as refused:
        messages.error(request, f"Not connected: {refused}.")
        return redirect("web:sources")
    account = proven.account
    if proven.created:
        request_ingest(account=account)
    text = f"Connected {account.external_username} on Last.fm, proven yours."
    if proven.taken_over:
        text += (
            " Another Sidetrack user had typed this name in without proof: "
            "their account of it is stopped."
        )
    messages.success(request, text)
    return redirect("web:sources")
