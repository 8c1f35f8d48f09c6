"""REST endpoints for listens, now playing and stats.

Users see their own listens only; a user holding ``listens.view_listenevent`` (the
admin's permission to see listens) sees everyone's and may pass ``user`` (a username)
to look at one user. The curation queue needs the admin's permissions on unresolved
recordings (view to list, change to resolve). Views parse input and call one
selector or service; querysets come from ``listens.selectors`` with everything
they render already joined, so a page costs the same queries whatever its size.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import include, path
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from accounts.models import ListenSource
from listens.models import ListenEvent, TasteSnapshot
from listens.now_playing import now_playing_for_user
from listens.profile import listen_profile_get, listen_profile_update
from listens.selectors import (
    latest_taste_snapshots,
    listens_filter,
    listens_visible_to,
    top_albums,
    top_artists,
    top_recordings,
    user_id_by_username,
)
from metadata.models import Recording
from sidetrack.api import JsonNotFoundMixin, error_response

STAFF_ONLY = error_response(
    "Needs the admin's model permission (listens.view_listenevent to look at another "
    "user; metadata.view/change_unresolvedrecording for curation)."
)
VIEW_LISTENS = "listens.view_listenevent"
NOT_FOUND = error_response("No such object visible to you.")


def target_user_id(request: Request, username: str | None) -> int:
    """The user a stats request is about: the caller, or anyone named for a user who
    may see every listen (``listens.view_listenevent``)."""
    if not username or username == request.user.get_username():
        return request.user.pk
    if not request.user.has_perm(VIEW_LISTENS):
        raise PermissionDenied("Only staff allowed to see listens may look at another user's.")
    user_id = user_id_by_username(username=username)
    if user_id is None:
        raise NotFound(f"No user {username!r}.")
    return user_id


# --- Listens -------------------------------------------------------------------------


class ListenRecordingSerializer(serializers.ModelSerializer):
    artist_credit = serializers.CharField(
        source="artist_name", help_text="Display credit: MusicBrainz's once resolved."
    )

    class Meta:
        model = Recording
        fields = ["id", "mbid", "title", "artist_credit", "status"]
        read_only_fields = fields


class ListenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="username", help_text="The listener's username.")
    recording = ListenRecordingSerializer()

    class Meta:
        model = ListenEvent
        fields = [
            "id",
            "listened_at",
            "source",
            "account",
            "user",
            "track_name",
            "artist_name",
            "album_name",
            "recording",
            "duplicate_of",
        ]
        read_only_fields = fields


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant the database can hold: offsets beyond ±16 h and years
    that leave the calendar once moved to UTC are a 400, not a database error."""

    def clean(self, value: Any) -> datetime | None:
        moment = super().clean(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and abs(offset) >= timedelta(hours=16):
            raise ValidationError("Time zone offsets must be under 16 hours.")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Date out of range.") from None


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or ``1``/``0``); anything else is a 400, where Django's
    field would read it as "no filter" and answer with every listen."""

    def to_python(self, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError("Use true or false.", code="invalid")

    def validate(self, value: Any) -> None:
        pass  # None means "not given"; required-ness does not apply to filters


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # django-filter's BooleanWidget turns unknown text into None before the field sees it.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class ListenFilter(filters.FilterSet):
    """Parses and documents the filters; ``listens_filter`` applies them."""

    since = UtcIsoDateTimeFilter(
        field_name="listened_at", lookup_expr="gte", help_text="Listened at or after (ISO 8601)."
    )
    until = UtcIsoDateTimeFilter(
        field_name="listened_at", lookup_expr="lt", help_text="Listened before (ISO 8601)."
    )
    source = filters.ChoiceFilter(choices=ListenSource.choices)
    resolved = StrictBooleanFilter(
        field_name="recording__mbid",
        lookup_expr="isnull",
        exclude=True,
        help_text="Only listens whose recording has (true) or lacks (false) an MBID.",
    )
    artist_mbid = filters.UUIDFilter(
        field_name="recording__artist_credit__names__artist__mbid",
        help_text="Listens of recordings crediting this artist.",
    )
    release_group_mbid = filters.UUIDFilter(
        field_name="recording__tracks__release__release_group__mbid",
        help_text="Listens of recordings on this release group's stored tracklist.",
    )
    recording_mbid = filters.UUIDFilter(field_name="recording__mbid")
    include_duplicates = StrictBooleanFilter(
        method="keep",
        help_text="Also list copies of listens the user's other source has too (default false).",
    )
    user = filters.CharFilter(
        field_name="user__username", help_text="Staff only: one user's listens, by username."
    )

    class Meta:
        model = ListenEvent
        fields: list[str] = []

    @extend_schema_field(OpenApiTypes.BOOL)
    def keep(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset

    def filter_queryset(self, queryset: Any) -> Any:
        data = self.form.cleaned_data
        username = data.get("user") or None
        request = self.request
        if (
            username
            and username != request.user.get_username()
            and not request.user.has_perm(VIEW_LISTENS)
        ):
            raise PermissionDenied("Only staff allowed to see listens may filter by user.")
        return listens_filter(
            queryset,
            username=username,
            since=data.get("since"),
            until=data.get("until"),
            source=data.get("source") or None,
            resolved=data.get("resolved"),
            artist_mbid=data.get("artist_mbid"),
            release_group_mbid=data.get("release_group_mbid"),
            recording_mbid=data.get("recording_mbid"),
            include_duplicates=bool(data.get("include_duplicates")),
        )


class ListenCursorPagination(CursorPagination):
    ordering = ("-listened_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, refused (404 "Invalid cursor") unless its position is an
        instant the database can compare with: a tampered ``p`` would otherwise
        reach ``filter(listened_at__lt=…)`` and fail there."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        position = cursor_position(cursor.position)
        if position is None:
            raise NotFound(self.invalid_cursor_message)
        # Written the way DRF writes positions (str of the field), which it compares with.
        return cursor._replace(position=str(position))


def cursor_position(text: str) -> datetime | None:
    """The aware UTC instant a cursor position names, or None when it names none."""
    if "\x00" in text:
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:  # well formed but impossible, e.g. month 13
        return None
    if moment is None or moment.utcoffset() is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 9999 with a negative offset leaves the calendar
        return None


@extend_schema_view(
    list=extend_schema(tags=["listens"], responses={200: ListenSerializer, 403: STAFF_ONLY}),
    retrieve=extend_schema(tags=["listens"], responses={200: ListenSerializer, 404: NOT_FOUND}),
)
class ListenViewSet(JsonNotFoundMixin, viewsets.ReadOnlyModelViewSet):
    """Listens, newest first. Cross-source duplicates are left out unless
    ``include_duplicates=true``; each shows the listen it duplicates."""

    serializer_class = ListenSerializer
    filterset_class = ListenFilter
    pagination_class = ListenCursorPagination

    def get_queryset(self) -> Any:
        return listens_visible_to(viewer=self.request.user)

    def filter_queryset(self, queryset: Any) -> Any:
        # Filters are for lists: a listen's own URL finds it even when it is a duplicate.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


# --- Now playing ---------------------------------------------------------------------


class AccountRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.ChoiceField(choices=ListenSource.choices)
    external_username = serializers.CharField()


class NowPlayingTrackSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=ListenSource.choices)
    track_name = serializers.CharField()
    artist_name = serializers.CharField()
    album_name = serializers.CharField(allow_blank=True)
    recording_mbid = serializers.UUIDField(allow_null=True)
    fetched_at = serializers.DateTimeField()


class UpstreamErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    service = serializers.CharField(required=False)


class NowPlayingEntrySerializer(serializers.Serializer):
    account = AccountRefSerializer()
    now_playing = NowPlayingTrackSerializer(allow_null=True)
    error = UpstreamErrorSerializer(allow_null=True)


@extend_schema(tags=["listens"], responses={200: NowPlayingEntrySerializer(many=True)})
class NowPlayingView(APIView):
    """What each of your enabled accounts is playing (null when nothing). A source
    that fails, or has not answered within the upstream deadline, is reported in its
    account's ``error`` (failures are remembered for a few seconds); the others
    still answer."""

    def get(self, request: Request) -> Response:
        entries = now_playing_for_user(username=request.user.get_username())
        return Response(NowPlayingEntrySerializer(entries, many=True).data)


# --- The user's listen profile -------------------------------------------------------


class ListenProfileSerializer(serializers.Serializer):
    listens_public = serializers.BooleanField(
        help_text="Anyone may read your listens through the ListenBrainz-compatible /1/ API "
        "(/1/user/{name}/listens, listen-count, playing-now) without a token. Default: false."
    )


@extend_schema_view(
    get=extend_schema(tags=["listens"], responses={200: ListenProfileSerializer}),
    put=extend_schema(
        tags=["listens"], request=ListenProfileSerializer, responses={200: ListenProfileSerializer}
    ),
    patch=extend_schema(
        tags=["listens"], request=ListenProfileSerializer, responses={200: ListenProfileSerializer}
    ),
)
class ListenProfileView(APIView):
    """Your listen profile: whether your listens are public (readable without your
    token, as ListenBrainz serves everyone's) or private (the default)."""

    def get(self, request: Request) -> Response:
        profile = listen_profile_get(user=request.user)
        return Response(ListenProfileSerializer(profile).data)

    def put(self, request: Request) -> Response:
        serializer = ListenProfileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = listen_profile_update(
            user=request.user, listens_public=serializer.validated_data["listens_public"]
        )
        return Response(ListenProfileSerializer(profile).data)

    patch = put


# --- Stats ---------------------------------------------------------------------------


class StatsQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Listened at or after.")
    until = serializers.DateTimeField(required=False, help_text="Listened before.")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    user = serializers.CharField(required=False, help_text="Staff only: another user's stats.")


class TopArtistSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="MusicBrainz credit, else the listen's artist text.")
    listen_count = serializers.IntegerField()


class TopAlbumSerializer(serializers.Serializer):
    album_name = serializers.CharField()
    artist_name = serializers.CharField()
    listen_count = serializers.IntegerField()


class TopRecordingSerializer(serializers.Serializer):
    recording_id = serializers.IntegerField()
    mbid = serializers.UUIDField(allow_null=True)
    title = serializers.CharField()
    artist_name = serializers.CharField()
    status = serializers.ChoiceField(choices=Recording.Status.choices)
    listen_count = serializers.IntegerField()


class TopArtistsSerializer(serializers.Serializer):
    results = TopArtistSerializer(many=True)


class TopAlbumsSerializer(serializers.Serializer):
    results = TopAlbumSerializer(many=True)


class TopRecordingsSerializer(serializers.Serializer):
    results = TopRecordingSerializer(many=True)


class TopView(APIView):
    """Counted from stored listens; a listen on both sources counts once."""

    selector: Any = None
    response_serializer: Any = None

    def get(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = self.selector(
            user_id=target_user_id(request, params.get("user")),
            since=params.get("since"),
            until=params.get("until"),
            limit=params["limit"],
        )
        return Response(self.response_serializer({"results": rows}).data)


def _stats_schema(serializer: Any) -> Any:
    return extend_schema(
        tags=["stats"],
        parameters=[StatsQuerySerializer],
        responses={200: serializer, 403: STAFF_ONLY},
    )


@_stats_schema(TopArtistsSerializer)
class TopArtistsView(TopView):
    """Most listened artists, grouped by the recording's MusicBrainz artist credit or,
    for unresolved recordings, the listen's artist text."""

    selector = staticmethod(top_artists)
    response_serializer = TopArtistsSerializer


@_stats_schema(TopAlbumsSerializer)
class TopAlbumsView(TopView):
    """Most listened albums, grouped by the listen's album and artist text."""

    selector = staticmethod(top_albums)
    response_serializer = TopAlbumsSerializer


@_stats_schema(TopRecordingsSerializer)
class TopRecordingsView(TopView):
    """Most listened recordings (``mbid`` null while unresolved)."""

    selector = staticmethod(top_recordings)
    response_serializer = TopRecordingsSerializer


class TasteItemSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    artist_name = serializers.CharField(required=False, help_text="Albums only.")
    mbid = serializers.UUIDField(allow_null=True)
    playcount = serializers.IntegerField(allow_null=True)


class TasteSnapshotSerializer(serializers.ModelSerializer):
    external_username = serializers.CharField(source="account.external_username")
    items = TasteItemSerializer(many=True)

    class Meta:
        model = TasteSnapshot
        fields = ["id", "account", "external_username", "kind", "period", "taken_at", "items"]
        read_only_fields = fields


class TasteQuerySerializer(serializers.Serializer):
    user = serializers.CharField(required=False, help_text="Staff only: another user's charts.")


@extend_schema(
    tags=["stats"],
    parameters=[TasteQuerySerializer],
    responses={200: TasteSnapshotSerializer(many=True), 403: STAFF_ONLY},
)
class TasteView(APIView):
    """The latest Last.fm top-artists and top-albums chart per period, per Last.fm account."""

    def get(self, request: Request) -> Response:
        query = TasteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user_id = target_user_id(request, query.validated_data.get("user"))
        snapshots = latest_taste_snapshots(user_id=user_id)
        return Response(TasteSnapshotSerializer(snapshots, many=True).data)


router = SimpleRouter()
router.register("listens", ListenViewSet, basename="api-listen")

urlpatterns = [
    path("now-playing/", NowPlayingView.as_view(), name="api-now-playing"),
    path("me/listen-profile/", ListenProfileView.as_view(), name="api-listen-profile"),
    path("stats/top-artists/", TopArtistsView.as_view(), name="api-top-artists"),
    path("stats/top-albums/", TopAlbumsView.as_view(), name="api-top-albums"),
    path("stats/top-recordings/", TopRecordingsView.as_view(), name="api-top-recordings"),
    path("stats/taste/", TasteView.as_view(), name="api-taste"),
    path("", include(router.urls)),
]
