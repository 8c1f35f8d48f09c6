from __future__ import annotations

from django.contrib import admin

from accounts.models import ExternalAccount


@admin.register(ExternalAccount)
class ExternalAccountAdmin(admin.ModelAdmin):
    list_display = (
        "external_username",
        "source",
        "user",
        "status",
        "cursor",
        "last_ingest_finished_at",
        "short_error",
    )
    list_filter = ("source", "status")
    search_fields = ("external_username", "user__username", "last_error")
    list_select_related = ("user",)
    readonly_fields = (
        "last_error",
        "last_error_at",
        "last_ingest_started_at",
        "last_ingest_finished_at",
        "created_at",
        "updated_at",
    )

    @admin.display(description="last error")
    def short_error(self, obj: ExternalAccount) -> str:
        return obj.last_error[:80]
