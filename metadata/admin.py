from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from metadata.models import (
    Artist,
    ArtistCredit,
    ArtistCreditName,
    Recording,
    RecordingAlias,
    Release,
    ReleaseGroup,
    Track,
)


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ("name", "sort_name", "disambiguation", "type", "country", "mbid")
    list_filter = ("type",)
    search_fields = ("name", "sort_name", "=mbid")


class ArtistCreditNameInline(admin.TabularInline):
    model = ArtistCreditName
    extra = 0
    raw_id_fields = ("artist",)


@admin.register(ArtistCredit)
class ArtistCreditAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = [ArtistCreditNameInline]


@admin.register(ArtistCreditName)
class ArtistCreditNameAdmin(admin.ModelAdmin):
    list_display = ("name", "join_phrase", "artist", "credit", "position")
    search_fields = ("name", "artist__name", "=artist__mbid")
    list_select_related = ("artist", "credit")
    raw_id_fields = ("artist", "credit")


class ReleaseInline(admin.TabularInline):
    model = Release
    extra = 0
    fields = ("title", "date", "country", "status", "mbid")
    show_change_link = True


@admin.register(ReleaseGroup)
class ReleaseGroupAdmin(admin.ModelAdmin):
    list_display = ("title", "artist_credit", "primary_type", "first_release_date", "mbid")
    list_filter = ("primary_type",)
    search_fields = ("title", "artist_credit__name", "=mbid")
    list_select_related = ("artist_credit",)
    raw_id_fields = ("artist_credit", "preferred_release")
    inlines = [ReleaseInline]


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0
    fields = ("medium_position", "position", "number", "title", "length_ms", "recording")
    raw_id_fields = ("recording",)


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("title", "release_group", "date", "country", "status", "mbid")
    list_filter = ("status", "country")
    search_fields = ("title", "release_group__title", "=mbid", "barcode")
    list_select_related = ("release_group",)
    raw_id_fields = ("release_group", "artist_credit")
    inlines = [TrackInline]


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "artist_name",
        "status",
        "mbid",
        "listen_count",
        "resolution_attempts",
        "last_attempt_at",
    )
    list_filter = ("status",)
    search_fields = ("title", "artist_name", "=mbid")
    raw_id_fields = ("artist_credit",)
    readonly_fields = ("unresolved_key", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(listen_total=Count("listens"))

    @admin.display(description="listens", ordering="listen_total")
    def listen_count(self, obj: Recording) -> int:
        return obj.listen_total


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("title", "release", "medium_position", "position", "number", "length_ms")
    search_fields = ("title", "release__title", "=mbid", "=recording__mbid")
    list_select_related = ("release",)
    raw_id_fields = ("release", "recording")


@admin.register(RecordingAlias)
class RecordingAliasAdmin(admin.ModelAdmin):
    list_display = ("artist_name", "track_name", "recording", "decided_by", "curator", "updated_at")
    list_filter = ("decided_by",)
    search_fields = ("artist_name", "track_name", "=recording__mbid")
    list_select_related = ("recording", "curator")
    raw_id_fields = ("recording", "curator")
