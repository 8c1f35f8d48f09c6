from __future__ import annotations

import json
from datetime import UTC, datetime

from django.contrib import admin
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from listens.models import IngestRun, ListenEvent, ListenProfile, TasteSnapshot


@admin.register(ListenEvent)
class ListenEventAdmin(admin.ModelAdmin):
    list_display = (
        "listened_at",
        "user",
        "source",
        "artist_name",
        "track_name",
        "album_name",
        "recording_link",
        "is_resolved",
    )
    list_filter = ("source", "recording__status", ("duplicate_of", admin.EmptyFieldListFilter))
    search_fields = (
        "track_name",
        "artist_name",
        "album_name",
        "user__username",
        "=recording__mbid",
    )
    date_hierarchy = "listened_at"
    list_select_related = ("user", "recording")
    raw_id_fields = ("recording", "duplicate_of")
    readonly_fields = [f.name for f in ListenEvent._meta.fields if f.name != "raw_payload"] + [
        "raw_payload_pretty"
    ]
    exclude = ("raw_payload",)

    @admin.display(boolean=True, description="resolved")
    def is_resolved(self, obj: ListenEvent) -> bool:
        return obj.recording.mbid is not None

    @admin.display(description="recording", ordering="recording__title")
    def recording_link(self, obj: ListenEvent) -> str:
        recording = obj.recording
        if recording.mbid is None:
            url = reverse("admin:metadata_unresolvedrecording_curate", args=[recording.pk])
        else:
            url = reverse("admin:metadata_recording_change", args=[recording.pk])
        return format_html('<a href="{}">{}</a>', url, recording)

    @admin.display(description="raw payload")
    def raw_payload_pretty(self, obj: ListenEvent) -> str:
        # format_html escapes the payload: it is text from third parties.
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.raw_payload, indent=2, ensure_ascii=False)
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IngestRun)
class IngestRunAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "account",
        "status",
        "pages",
        "listens_new",
        "listens_known",
        "unresolved",
        "errors",
        "finished_at",
    )
    list_filter = ("status", "account__source")
    search_fields = ("account__external_username", "account__user__username", "error_message")
    list_select_related = ("account__user",)
    readonly_fields = [f.name for f in IngestRun._meta.fields] + [
        "cursor_before_at",
        "cursor_after_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="cursor before (as time)")
    def cursor_before_at(self, obj: IngestRun):
        return _from_unix(obj.cursor_before)

    @admin.display(description="cursor after (as time)")
    def cursor_after_at(self, obj: IngestRun):
        return _from_unix(obj.cursor_after)


def _from_unix(value: int | None) -> str:
    if value is None:
        return "—"
    return formats.localize(timezone.template_localtime(datetime.fromtimestamp(value, tz=UTC)))


@admin.register(TasteSnapshot)
class TasteSnapshotAdmin(admin.ModelAdmin):
    list_display = ("account", "kind", "period", "taken_at", "item_count")
    list_filter = ("kind", "period")
    search_fields = ("account__external_username", "account__user__username")
    list_select_related = ("account__user",)
    readonly_fields = [f.name for f in TasteSnapshot._meta.fields]

    @admin.display(description="items")
    def item_count(self, obj: TasteSnapshot) -> int:
        return len(obj.items or [])

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ListenProfile)
class ListenProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "listens_public", "updated_at")
    list_filter = ("listens_public",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
