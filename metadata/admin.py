from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import OuterRef, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from metadata import curation
from metadata.listen_facts import listen_facts
from metadata.models import (
    Artist,
    ArtistCredit,
    ArtistCreditName,
    CurationDecision,
    Recording,
    RecordingAlias,
    Release,
    ReleaseGroup,
    Track,
    UnresolvedRecording,
)
from metadata.selectors import curation_scopes, unresolved_recordings
from sidetrack.http.errors import ExternalApiError


def _admin_link(obj, text=None) -> str:
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)


def _mbid_link(mbid, entity: str = "recording") -> str:
    if not mbid:
        return "—"
    return format_html('<a href="https://musicbrainz.org/{}/{}">{}</a>', entity, mbid, mbid)


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
    readonly_fields = ("musicbrainz_link", "preferred_tracklist")
    inlines = [ReleaseInline]

    @admin.display(description="MusicBrainz")
    def musicbrainz_link(self, obj: ReleaseGroup) -> str:
        return _mbid_link(obj.mbid, "release-group")

    @admin.display(description="preferred release's tracklist")
    def preferred_tracklist(self, obj: ReleaseGroup) -> str:
        if obj.preferred_release_id is None:
            return "No preferred release (no tracklist stored)."
        tracks = Track.objects.filter(release_id=obj.preferred_release_id).select_related(
            "recording"
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    t.medium_position,
                    t.number,
                    _admin_link(t.recording, t.title),
                    t.recording.artist_name,
                    curation.format_length(t.length_ms or t.recording.length_ms),
                )
                for t in tracks
            ),
        )
        return format_html(
            "<p>{}</p><table><thead><tr><th>Medium</th><th>#</th><th>Title</th>"
            "<th>Artist</th><th>Length</th></tr></thead><tbody>{}</tbody></table>",
            _admin_link(obj.preferred_release),
            rows or format_html("<tr><td colspan=5>{}</td></tr>", "No tracks stored."),
        )


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
    readonly_fields = (
        "unresolved_key",
        "listens_link",
        "appears_on",
        "curate_link",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        # Every listen, copies included: the row's whole use (metadata.listen_facts).
        plays = listen_facts().plays(counted=False, pk=OuterRef("pk"))
        return super().get_queryset(request).annotate(listen_total=plays)

    @admin.display(description="listens", ordering="listen_total")
    def listen_count(self, obj: Recording) -> int:
        return obj.listen_total

    @admin.display(description="listens")
    def listens_link(self, obj: Recording) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{} listens</a>',
            listen_facts().of_recording(recording_id=obj.pk).admin_url,
            obj.listen_total,
        )

    @admin.display(description="appears on")
    def appears_on(self, obj: Recording) -> str:
        if obj.pk is None:
            return "—"
        groups = ReleaseGroup.objects.filter(releases__tracks__recording=obj).distinct()
        links = format_html_join(", ", "{}", ((_admin_link(g),) for g in groups))
        return links or "—"

    @admin.display(description="curation")
    def curate_link(self, obj: Recording) -> str:
        if obj.pk is None or obj.mbid is not None:
            return _mbid_link(obj.mbid)
        url = reverse("admin:metadata_unresolvedrecording_curate", args=[obj.pk])
        return format_html('<a href="{}">Curate this unresolved track</a>', url)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("title", "release", "medium_position", "position", "number", "length_ms")
    search_fields = ("title", "release__title", "=mbid", "=recording__mbid")
    list_select_related = ("release",)
    raw_id_fields = ("release", "recording")


@admin.register(RecordingAlias)
class RecordingAliasAdmin(admin.ModelAdmin):
    list_display = (
        "artist_name",
        "track_name",
        "album_name",
        "scope",
        "hint_mbid",
        "recording",
        "decided_by",
        "curator",
        "updated_at",
    )
    list_filter = ("decided_by", "scope")
    search_fields = ("artist_name", "track_name", "album_name", "=recording__mbid")
    list_select_related = ("recording", "curator")
    raw_id_fields = ("recording", "curator")


# --- Curating unresolved tracks ------------------------------------------------------


class UnresolvedStatusFilter(admin.SimpleListFilter):
    """Unresolved rows by default: those marked not in MusicBrainz are done with."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            (Recording.Status.UNRESOLVED, "Unresolved (retried automatically)"),
            (Recording.Status.NOT_IN_MUSICBRAINZ, "Not in MusicBrainz"),
            ("all", "All"),
        ]

    def value(self):
        return super().value() or Recording.Status.UNRESOLVED

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(status=self.value())


class ListenSourceFilter(admin.SimpleListFilter):
    title = "source (of its listens)"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return listen_facts().sources()

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # A semi-join, not a join: the listen count annotation stays a total.
        return queryset.filter(pk__in=listen_facts().recording_ids(source=self.value()))


class ListenUserFilter(admin.SimpleListFilter):
    title = "user (of its listens)"
    parameter_name = "user"

    def lookups(self, request, model_admin):
        listeners = listen_facts().listener_ids(unresolved=True)
        users = get_user_model().objects.filter(pk__in=listeners).order_by("username")
        return [(str(u.pk), u.get_username()) for u in users]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(pk__in=listen_facts().recording_ids(user_id=int(value)))


class HasAlbumFilter(admin.SimpleListFilter):
    title = "has album"
    parameter_name = "has_album"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(album_name="")
        if self.value() == "no":
            return queryset.filter(album_name="")
        return queryset


class ReferenceForm(forms.Form):
    reference = forms.CharField(
        label="MusicBrainz recording MBID or URL",
        max_length=500,
        widget=forms.TextInput(
            attrs={"size": 70, "placeholder": "https://musicbrainz.org/recording/…"}
        ),
    )

    def clean_reference(self) -> str:
        try:
            return curation.parse_recording_reference(self.cleaned_data["reference"])
        except curation.CurationError as error:
            raise forms.ValidationError(str(error)) from error


@admin.register(UnresolvedRecording)
class UnresolvedRecordingAdmin(admin.ModelAdmin):
    """Unresolved tracks, most-listened first, each with a curation page."""

    list_display = (
        "track_link",
        "artist_name",
        "album_name",
        "listen_count",
        "every_album_listen_count",
        "last_attempt_at",
        "failure",
        "resolution_attempts",
        "status",
    )
    list_display_links = None
    list_filter = (UnresolvedStatusFilter, ListenSourceFilter, ListenUserFilter, HasAlbumFilter)
    search_fields = ("title", "artist_name", "album_name")
    actions = ["retry_resolution", "merge_selected"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The API's queue, counted the same way (plays, duplicates once).
        queryset = unresolved_recordings(base=self.model._default_manager.all())
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["-listen_count", "pk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # listens protect their recording; merge instead

    def changelist_view(self, request, extra_context=None):
        title = "Unresolved tracks, most listened first"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.display(description="track", ordering="title")
    def track_link(self, obj: Recording) -> str:
        url = reverse("admin:metadata_unresolvedrecording_curate", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.title or "(no title)")

    @admin.display(description="plays", ordering="listen_count")
    def listen_count(self, obj: Recording) -> int:
        return obj.listen_count

    @admin.display(description="plays, every album", ordering="every_album_listen_count")
    def every_album_listen_count(self, obj: Recording) -> int:
        return obj.every_album_listen_count

    @admin.display(description="why it failed")
    def failure(self, obj: Recording) -> str:
        return Truncator(obj.last_error).chars(120)

    # Pages

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/curate/", view(self.curate_view), name=f"{prefix}_curate"),
            path("<int:pk>/assign/", view(self.assign_view), name=f"{prefix}_assign"),
            path(
                "<int:pk>/not-in-musicbrainz/",
                view(self.not_in_musicbrainz_view),
                name=f"{prefix}_not_in_musicbrainz",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The curation page replaces the edit form for these rows.
        if not str(object_id).isdigit():
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:metadata_unresolvedrecording_curate", args=[object_id])
        )

    def _track(self, request: HttpRequest, pk: int) -> Recording | HttpResponse:
        track = self.get_queryset(request).filter(pk=pk).first()
        if track is None:
            resolved = Recording.objects.filter(pk=pk, mbid__isnull=False).first()
            if resolved is None:
                raise Http404("No such unresolved track (merged away?)")
            messages.info(request, f"“{resolved}” is already resolved.")
            return HttpResponseRedirect(
                reverse("admin:metadata_recording_change", args=[resolved.pk])
            )
        if not self.has_change_permission(request, track):
            raise PermissionDenied
        return track

    def _changelist_url(self) -> str:
        return reverse("admin:metadata_unresolvedrecording_changelist")

    def curate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        track = self._track(request, pk)
        if isinstance(track, HttpResponse):
            return track
        search = None
        if request.GET.get("find"):
            try:
                search = curation.find_candidates(recording=track)
            except ImproperlyConfigured as error:
                messages.error(request, f"MusicBrainz is not configured: {error}")
            else:
                for error in search.errors:
                    messages.error(request, error)
        return self._render_curate(request, track, ReferenceForm(), search)

    def _render_curate(
        self,
        request: HttpRequest,
        track: Recording,
        form: ReferenceForm,
        search: curation.CandidateSearch | None = None,
    ) -> TemplateResponse:
        listens = listen_facts().of_recording(recording_id=track.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Curate “{Truncator(str(track)).chars(80)}”",
            "track": track,
            "listen_count": track.listen_count,
            "scopes": curation_scopes(recording=track),
            "breakdown": listens.breakdown,
            "recent_listens": listens.recent,
            "listens_url": listens.admin_url,
            "decisions": CurationDecision.objects.filter(recording=track).select_related("curator")[
                :20
            ],
            "search": search,
            "form": form,
        }
        return TemplateResponse(request, "admin/metadata/unresolvedrecording/curate.html", context)

    def assign_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        track = self._track(request, pk)
        if isinstance(track, HttpResponse):
            return track
        form = ReferenceForm(request.POST)
        if not form.is_valid():
            messages.error(request, "That is not a MusicBrainz recording; nothing was changed.")
            return self._render_curate(request, track, form)
        scope = request.POST.get("scope") or RecordingAlias.Scope.IDENTITY
        moved = {s.scope: s for s in curation_scopes(recording=track)}.get(scope)
        try:
            result = curation.assign_by_curator(
                recording=track,
                reference=request.POST["reference"],
                curator_id=request.user.id,
                scope=scope,
            )
        except curation.CurationError as error:
            form.add_error("reference", str(error))
            messages.error(request, str(error))
            return self._render_curate(request, track, form)
        except (ExternalApiError, ImproperlyConfigured) as error:
            messages.error(request, f"MusicBrainz could not be asked; nothing was changed: {error}")
            return self._render_curate(request, track, form)
        messages.success(
            request,
            format_html(
                "{} plays of “{}” ({}) now point at {} ({}).",
                moved.listen_count if moved else track.listen_count,
                track,
                moved.label.lower() if moved else "",
                _admin_link(result),
                result.mbid,
            ),
        )
        return HttpResponseRedirect(self._changelist_url())

    def not_in_musicbrainz_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        track = self._track(request, pk)
        if isinstance(track, HttpResponse):
            return track
        scope = request.POST.get("scope") or RecordingAlias.Scope.IDENTITY
        try:
            curation.mark_not_in_musicbrainz(
                recording=track, curator_id=request.user.id, scope=scope
            )
        except curation.CurationError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(
                reverse("admin:metadata_unresolvedrecording_curate", args=[pk])
            )
        messages.success(
            request, f"“{track}” is marked as not in MusicBrainz and will not be retried."
        )
        return HttpResponseRedirect(self._changelist_url())

    # Bulk actions

    @admin.action(description="Retry resolution for the selected tracks", permissions=["change"])
    def retry_resolution(self, request: HttpRequest, queryset: QuerySet) -> None:
        try:
            summary = curation.retry_resolution(recordings=list(queryset))
        except ImproperlyConfigured as error:
            self.message_user(request, f"MusicBrainz is not configured: {error}", messages.ERROR)
            return
        text = (
            f"Resolved {summary.resolved}; still unresolved {summary.unresolved}; "
            f"errors {summary.errors}."
        )
        if summary.deferred:
            text += f" {summary.deferred} more will be tried by the next scheduled run."
        level = messages.SUCCESS if not summary.errors else messages.WARNING
        self.message_user(request, text, level)
        if summary.stopped_early:
            self.message_user(
                request,
                f"Stopped early, MusicBrainz failing: {summary.stopped_early}",
                messages.ERROR,
            )

    @admin.action(description="Merge the selected tracks into one", permissions=["change"])
    def merge_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        rows = list(queryset.order_by("-listen_count", "created_at", "pk"))
        if len(rows) < 2:
            self.message_user(request, "Select at least two tracks to merge.", messages.ERROR)
            return None
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Merge unresolved tracks?",
                "target": rows[0],
                "sources": rows[1:],
                "rows": rows,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/metadata/unresolvedrecording/merge_confirmation.html", context
            )
        try:
            result = curation.merge_unresolved(recordings=rows, curator_id=request.user.id)
        except curation.CurationError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        self.message_user(
            request,
            f"Merged {result.merged} tracks ({result.listens_moved} listens) into "
            f"“{result.target}”.",
            messages.SUCCESS,
        )
        return None


@admin.register(CurationDecision)
class CurationDecisionAdmin(admin.ModelAdmin):
    """The curators' log: read-only."""

    list_display = (
        "created_at",
        "curator",
        "action",
        "artist_name",
        "track_name",
        "album_name",
        "chosen_mbid",
        "previous_status",
        "recording_link",
        "listen_count",
    )
    list_filter = ("action", "previous_status", "curator")
    search_fields = ("artist_name", "track_name", "album_name", "=mbid", "note")
    list_select_related = ("curator", "recording")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="chosen MBID", ordering="mbid")
    def chosen_mbid(self, obj: CurationDecision) -> str:
        return _mbid_link(obj.mbid)

    @admin.display(description="recording now", ordering="recording")
    def recording_link(self, obj: CurationDecision) -> str:
        return _admin_link(obj.recording) if obj.recording_id else "—"
