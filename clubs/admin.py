"""Clubs, their members and nominations in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from clubs.models import Club, Invitation, Membership, Nomination


class MembershipInline(admin.TabularInline):
    """Members join by accepting an invitation: the admin shows and removes them, it
    does not add anyone (that would be membership without consent)."""

    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "joined_at", "joined_via")
    readonly_fields = ("user", "joined_at", "joined_via")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    fields = ("prefix", "invitee_name", "expires_at", "uses", "max_uses", "revoked_at")
    readonly_fields = ("prefix", "invitee_name", "expires_at", "uses", "max_uses")

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the code is shown once, to whoever makes it: the owner, in the API


class NominationInline(admin.TabularInline):
    model = Nomination
    extra = 0
    raw_id_fields = ("release_group", "nominated_by")
    fields = ("release_group", "starts_at", "ends_at", "nominated_by")


@admin.register(Club)
class ClubAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "member_count", "created_at")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    inlines = (MembershipInline, InvitationInline, NominationInline)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj: Club) -> int:
        return obj.member_total


@admin.register(Nomination)
class NominationAdmin(admin.ModelAdmin):
    list_display = ("release_group", "club", "starts_at", "ends_at", "nominated_by")
    list_filter = ("club",)
    list_select_related = ("release_group__artist_credit", "club", "nominated_by")
    search_fields = ("release_group__title", "club__name")
    raw_id_fields = ("release_group", "nominated_by")
    date_hierarchy = "starts_at"
