from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from rest_framework.authtoken.models import TokenProxy

from accounts.models import (
    POLLED_SOURCES,
    ApiToken,
    ExternalAccount,
    ScrobbleApiKey,
    ScrobbleAuthRequest,
    ScrobbleSession,
    SubmissionToken,
)
from accounts.scrobble_auth import (
    create_scrobble_api_key,
    create_scrobble_session,
    revoke_scrobble_api_key,
    revoke_scrobble_session,
)
from accounts.services import request_ingest
from accounts.submission_tokens import create_submission_token, revoke_submission_token


@admin.register(ExternalAccount)
class ExternalAccountAdmin(admin.ModelAdmin):
    list_display = (
        "external_username",
        "source",
        "user",
        "status",
        "cursor_at",
        "last_ingest_finished_at",
        "short_error",
        "related",
    )
    list_filter = ("source", "status")
    search_fields = ("external_username", "user__username", "last_error")
    list_select_related = ("user",)
    readonly_fields = (
        "cursor_at",
        "related",
        "last_error",
        "last_error_at",
        "last_ingest_started_at",
        "last_ingest_finished_at",
        "created_at",
        "updated_at",
    )
    actions = ["ingest_now"]

    @admin.display(description="last error")
    def short_error(self, obj: ExternalAccount) -> str:
        return obj.last_error[:80]

    @admin.display(description="cursor (stored up to)", ordering="last_ingested_ts")
    def cursor_at(self, obj: ExternalAccount) -> str:
        if obj.cursor is None:
            return "—"
        return formats.localize(timezone.template_localtime(obj.cursor))

    @admin.display(description="related")
    def related(self, obj: ExternalAccount) -> str:
        if obj.pk is None:
            return "—"
        listens = reverse("admin:listens_listenevent_changelist")
        runs = reverse("admin:listens_ingestrun_changelist")
        return format_html(
            '<a href="{}?account__id__exact={}">listens</a> · '
            '<a href="{}?account__id__exact={}">ingest runs</a>',
            listens,
            obj.pk,
            runs,
            obj.pk,
        )

    @admin.action(description="Ingest now", permissions=["change"])
    def ingest_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        enabled = list(queryset.exclude(status=ExternalAccount.Status.DISABLED))
        # A submitted account has nothing to poll: its listens arrive through /1/.
        polled = [account for account in enabled if account.source in POLLED_SOURCES]
        # The same door as the API's: an ingest already running or waiting is not doubled.
        queued = sum(request_ingest(account=account).queued for account in polled)
        skipped = queryset.count() - len(enabled)
        self.message_user(request, f"Queued an ingest for {queued} account(s).")
        if queued < len(polled):
            self.message_user(
                request,
                f"{len(polled) - queued} account(s) already had an ingest running or queued.",
            )
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} disabled account(s).", level=messages.WARNING
            )
        if len(enabled) > len(polled):
            self.message_user(
                request,
                f"Skipped {len(enabled) - len(polled)} submitted account(s): nothing to poll.",
                level=messages.WARNING,
            )


class IssuedTokenAdmin(admin.ModelAdmin):
    """A user's secrets of one kind (``HashedToken`` rows that can be revoked). Adding
    one shows the secret once, in the confirmation message; only its digest is stored."""

    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    actions = ["revoke"]
    # What the confirmation calls the secret, and the revoke action's message a row.
    secret_label = "Token"
    row_plural = "token(s)"

    def issue(self, *, user: Any, name: str) -> tuple[Any, str]:
        raise NotImplementedError

    def revoke_row(self, row: Any) -> None:
        raise NotImplementedError

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["user", "name"]
        return ["user", "name", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_fields + (("user",) if obj is not None else ())

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        row, secret = self.issue(user=obj.user, name=obj.name)
        obj.pk = row.pk
        obj.prefix, obj.digest, obj.created_at = row.prefix, row.digest, row.created_at
        self.message_user(
            request,
            f"{self.secret_label} for {row.user}: {secret} — copy it now, it is not shown again.",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        rows = list(queryset.filter(revoked_at__isnull=True))
        for row in rows:
            self.revoke_row(row)
        self.message_user(request, f"Revoked {len(rows)} {self.row_plural}.")


@admin.register(SubmissionToken)
class SubmissionTokenAdmin(IssuedTokenAdmin):
    """Submission tokens for the /1/ API."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    secret_label = "Submission token"

    def issue(self, *, user: Any, name: str) -> tuple[SubmissionToken, str]:
        return create_submission_token(user=user, name=name)

    def revoke_row(self, row: SubmissionToken) -> None:
        revoke_submission_token(token=row)


@admin.register(ScrobbleSession)
class ScrobbleSessionAdmin(IssuedTokenAdmin):
    """Session keys for the Last.fm-compatible /2.0/ endpoint."""

    list_display = ("prefix", "name", "user", "api_key", "created_at", "last_used_at")
    list_display += ("revoked_at",)
    search_fields = ("prefix", "name", "user__username", "api_key")
    readonly_fields = ("prefix", "api_key", "created_at", "last_used_at", "revoked_at")
    secret_label = "Session key"
    row_plural = "session key(s)"

    def issue(self, *, user: Any, name: str) -> tuple[ScrobbleSession, str]:
        return create_scrobble_session(user=user, name=name)

    def revoke_row(self, row: ScrobbleSession) -> None:
        revoke_scrobble_session(session=row)


@admin.register(ScrobbleApiKey)
class ScrobbleApiKeyAdmin(admin.ModelAdmin):
    """API keys Sidetrack issues to Last.fm-protocol clients; their requests must be
    signed with the secret, shown once when the key is made."""

    list_display = ("name", "key", "created_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "key")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ScrobbleApiKey | None = None) -> list[str]:
        if obj is None:
            return ["name"]
        return ["name", "key", "created_at", "revoked_at"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ScrobbleApiKey | None = None
    ) -> tuple[str, ...]:
        return ("key", "created_at", "revoked_at") if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: ScrobbleApiKey, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        row = create_scrobble_api_key(name=obj.name)
        obj.pk, obj.key, obj.secret, obj.created_at = row.pk, row.key, row.secret, row.created_at
        self.message_user(
            request,
            f"API key {row.key}, secret {row.secret} — copy the secret now, it is not shown again.",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            revoke_scrobble_api_key(api_key=key)
        self.message_user(request, f"Revoked {len(keys)} API key(s).")


@admin.register(ScrobbleAuthRequest)
class ScrobbleAuthRequestAdmin(admin.ModelAdmin):
    """Request tokens of the /2.0/ web flow, to see who approved what; read only (the
    token itself is never stored, only its digest)."""

    list_display = ("api_key", "created_at", "user", "approved_at", "denied_at", "used_at")
    list_filter = (("approved_at", admin.EmptyFieldListFilter),)
    search_fields = ("api_key", "user__username")
    list_select_related = ("user",)
    fields = ("api_key", "created_at", "user", "approved_at", "denied_at", "used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# DRF's own token admin would show (and make) plain-text tokens nothing accepts any more.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API logins: deleting one signs that client out. Tokens are made by logging in."""

    list_display = ("prefix", "user", "created_at", "last_used_at")
    search_fields = ("user__username", "prefix")
    list_select_related = ("user",)
    readonly_fields = ("user", "prefix", "created_at", "last_used_at")
    exclude = ("digest",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
