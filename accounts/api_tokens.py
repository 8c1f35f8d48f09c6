"""REST API login tokens, stored as SHA-256 digests: issued at a password login and
shown in that answer only; checked by ``ApiTokenAuthentication``, which counts wrong
tokens per client address (``sidetrack.login_throttle``) and answers 429 past the
limit, before DRF's own refusal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.models import ApiToken
from accounts.tokens import find_active_token, issue_token, user_tokens
from sidetrack.login_throttle import record_token_failure, token_guess_wait


def issue_api_token(*, user: Any, keep: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row and the token (not stored anywhere). Only the
    newest ``keep`` (``API_TOKENS_PER_USER``) of the user's tokens keep working."""
    keep = settings.API_TOKENS_PER_USER if keep is None else keep
    with transaction.atomic():
        row, token = issue_token(ApiToken, nbytes=20, user=user)
        stale = user_tokens(ApiToken, user=user)[keep:]
        ApiToken.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    return row, token


def authenticate_api_token(token: str | None) -> ApiToken | None:
    """The token's row, with its active user, or None."""
    return find_active_token(ApiToken, token)


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Token <token>``; a wrong token counts against the client."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        wait = token_guess_wait(request)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail="Too many wrong tokens.")
        try:
            token = parts[1].decode() if len(parts) == 2 else ""
        except UnicodeError:
            token = ""
        row = authenticate_api_token(token)
        if row is None:
            record_token_failure(request)
            raise exceptions.AuthenticationFailed("Invalid token.")
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the API docs describe ``ApiTokenAuthentication``."""

    target_class = "accounts.api_tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=ApiTokenAuthentication.keyword
        )
