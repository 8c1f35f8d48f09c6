"""REST endpoints for MusicBrainz-normalized metadata: lookups, album search, import,
and the curation queue of unresolved recordings (staff).

Thin: parse input, call one selector or service, serialize. Upstream failures
(``ExternalApiError``) reach ``sidetrack.api.exception_handler``, which answers
502 or 503 in the shared error shape.
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from metadata.curation import CurationError, assign_by_curator
from metadata.models import Artist, Recording, RecordingAlias, Release, ReleaseGroup, Track
from metadata.selectors import (
    artist_get,
    artist_release_groups,
    recording_get,
    release_group_get,
    unresolved_recordings,
)
from metadata.serializers import AlbumSearchSerializer, album_choice_data
from metadata.services import import_release_group, search_albums
from sidetrack.api import JsonNotFoundMixin, error_response, upstream_errors
from sidetrack.http.errors import NotFoundError
from sidetrack.permissions import HasActionPermissions

NOT_FOUND = error_response("Not stored here (or not a valid MBID).")
CURATORS_ONLY = error_response(
    "Needs the admin's model permissions on unresolved recordings (view to list, change "
    "to resolve)."
)
UPSTREAM = upstream_errors("MusicBrainz")

MBID_PARAMETER = OpenApiParameter(
    "mbid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="MusicBrainz id"
)


# --- Serializers ---------------------------------------------------------------------


class ReleaseGroupSummarySerializer(serializers.ModelSerializer):
    artist_credit = serializers.CharField(source="artist_credit.name", allow_null=True)

    class Meta:
        model = ReleaseGroup
        fields = ["mbid", "title", "artist_credit", "primary_type", "first_release_date"]
        read_only_fields = fields


class ArtistSerializer(serializers.ModelSerializer):
    release_groups = ReleaseGroupSummarySerializer(
        many=True, read_only=True, source="credited_release_groups"
    )

    class Meta:
        model = Artist
        fields = [
            "mbid",
            "name",
            "sort_name",
            "disambiguation",
            "type",
            "country",
            "release_groups",
        ]
        read_only_fields = fields


class ReleaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Release
        fields = ["mbid", "title", "date", "country", "status", "barcode"]
        read_only_fields = fields


class TrackSerializer(serializers.ModelSerializer):
    medium = serializers.IntegerField(source="medium_position")
    recording_mbid = serializers.UUIDField(source="recording.mbid", allow_null=True)

    class Meta:
        model = Track
        fields = ["medium", "position", "number", "title", "length_ms", "recording_mbid"]
        read_only_fields = fields


class PreferredReleaseSerializer(ReleaseSerializer):
    tracks = TrackSerializer(many=True, read_only=True)

    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "tracklist_fetched_at", "tracks"]
        read_only_fields = fields


class ReleaseGroupSerializer(serializers.ModelSerializer):
    artist_credit = serializers.CharField(source="artist_credit.name", allow_null=True)
    secondary_types = serializers.ListField(child=serializers.CharField())
    releases = ReleaseSerializer(many=True, read_only=True)
    preferred_release = PreferredReleaseSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ReleaseGroup
        fields = [
            "mbid",
            "title",
            "artist_credit",
            "primary_type",
            "secondary_types",
            "first_release_date",
            "disambiguation",
            "releases",
            "preferred_release",
        ]
        read_only_fields = fields


class AppearanceSerializer(serializers.ModelSerializer):
    release_mbid = serializers.UUIDField(source="release.mbid")
    release_title = serializers.CharField(source="release.title")
    release_group_mbid = serializers.UUIDField(source="release.release_group.mbid")
    medium = serializers.IntegerField(source="medium_position")

    class Meta:
        model = Track
        fields = ["release_mbid", "release_title", "release_group_mbid", "medium", "position"]
        read_only_fields = fields


class RecordingSerializer(serializers.ModelSerializer):
    artist_credit = serializers.CharField(
        source="artist_name", help_text="Display credit: MusicBrainz's once resolved."
    )
    appearances = AppearanceSerializer(many=True, read_only=True, source="tracks")

    class Meta:
        model = Recording
        fields = [
            "id",
            "mbid",
            "title",
            "artist_credit",
            "status",
            "length_ms",
            "disambiguation",
            "appearances",
        ]
        read_only_fields = fields


class AlbumSearchQuerySerializer(serializers.Serializer):
    artist = serializers.CharField(max_length=500)
    title = serializers.CharField(max_length=500)
    year = serializers.IntegerField(min_value=1, max_value=9999, required=False)


class ReleaseGroupImportSerializer(serializers.Serializer):
    mbid = serializers.UUIDField()
    country = serializers.CharField(
        max_length=2,
        min_length=2,
        required=False,
        help_text="ISO country code preferred when choosing the release whose tracklist is kept.",
    )


# --- Views -----------------------------------------------------------------------------


def _found(value: Any) -> Any:
    if value is None:
        raise NotFound()
    return value


@extend_schema(
    tags=["metadata"],
    parameters=[MBID_PARAMETER],
    responses={200: ArtistSerializer, 404: NOT_FOUND},
)
class ArtistDetailView(APIView):
    """A stored artist and the stored release groups crediting it."""

    def get(self, request: Request, mbid: str) -> Response:
        artist = _found(artist_get(mbid=mbid))
        artist.credited_release_groups = list(artist_release_groups(artist=artist))
        return Response(ArtistSerializer(artist).data)


@extend_schema(
    tags=["metadata"],
    parameters=[MBID_PARAMETER],
    responses={200: ReleaseGroupSerializer, 404: NOT_FOUND},
)
class ReleaseGroupDetailView(APIView):
    """A stored release group, its releases and the preferred release's tracklist."""

    def get(self, request: Request, mbid: str) -> Response:
        group = _found(release_group_get(mbid=mbid))
        return Response(ReleaseGroupSerializer(group).data)


@extend_schema(
    tags=["metadata"],
    parameters=[MBID_PARAMETER],
    responses={200: RecordingSerializer, 404: NOT_FOUND},
)
class RecordingDetailView(APIView):
    """A stored, resolved recording and the stored tracklists it appears on."""

    def get(self, request: Request, mbid: str) -> Response:
        recording = _found(recording_get(mbid=mbid))
        return Response(RecordingSerializer(recording).data)


@extend_schema(
    tags=["metadata"],
    parameters=[AlbumSearchQuerySerializer],
    responses={
        200: AlbumSearchSerializer,
        400: error_response("Missing artist or title."),
        **UPSTREAM,
    },
)
class AlbumSearchView(APIView):
    """Rank MusicBrainz release groups for an (artist, album title[, year]) nomination.

    ``confident`` says whether the first candidate can be taken without asking the
    user; ``reason`` explains why (not).
    """

    def get(self, request: Request) -> Response:
        query = AlbumSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        choice = search_albums(
            artist_name=query.validated_data["artist"],
            album_title=query.validated_data["title"],
            year=query.validated_data.get("year"),
        )
        return Response(AlbumSearchSerializer(album_choice_data(choice)).data)


@extend_schema(
    tags=["metadata"],
    request=ReleaseGroupImportSerializer,
    responses={
        201: ReleaseGroupSerializer,
        400: error_response("Invalid MBID or country."),
        404: error_response("MusicBrainz has no release group with this MBID."),
        **UPSTREAM,
    },
)
class ReleaseGroupImportView(APIView):
    """Fetch a release group, all its releases and the preferred release's tracklist
    from MusicBrainz and store them (a re-import updates what changed)."""

    def post(self, request: Request) -> Response:
        body = ReleaseGroupImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        mbid = str(body.validated_data["mbid"])
        try:
            group = import_release_group(mbid=mbid, country=body.validated_data.get("country"))
        except NotFoundError as error:
            raise NotFound(f"MusicBrainz has no release group {mbid}.") from error
        group = release_group_get(mbid=group.mbid)
        return Response(ReleaseGroupSerializer(group).data, status=status.HTTP_201_CREATED)


# --- Curation (staff) ----------------------------------------------------------------


class UnresolvedRecordingSerializer(serializers.ModelSerializer):
    listen_count = serializers.IntegerField(
        help_text="Plays of this report (artist, title, album, source MBID), duplicates "
        "counted once: what a decision for this album only moves."
    )
    every_album_listen_count = serializers.IntegerField(
        help_text="Plays of every unresolved report of this artist and title, on any "
        "album: what a decision for every album moves."
    )

    class Meta:
        model = Recording
        fields = [
            "id",
            "title",
            "artist_name",
            "album_name",
            "status",
            "listen_count",
            "every_album_listen_count",
            "hint_mbid",
            "resolution_attempts",
            "last_attempt_at",
            "next_attempt_at",
            "last_error",
        ]
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    mbid = serializers.UUIDField(help_text="The MusicBrainz recording this track means.")
    scope = serializers.ChoiceField(
        choices=RecordingAlias.Scope.choices,
        default=RecordingAlias.Scope.IDENTITY,
        help_text="`identity`: this report only (its album and source MBID); `text`: every "
        "unresolved report of this artist and title, and later ones on albums without an "
        "answer of their own.",
    )


@extend_schema_view(
    list=extend_schema(
        tags=["curation"], responses={200: UnresolvedRecordingSerializer, 403: CURATORS_ONLY}
    ),
    resolve=extend_schema(
        tags=["curation"],
        request=ResolveSerializer,
        responses={
            200: RecordingSerializer,
            400: error_response("Invalid MBID, unknown to MusicBrainz, or the track is resolved."),
            403: CURATORS_ONLY,
            404: error_response("No unresolved recording with this id."),
            502: error_response("MusicBrainz failed."),
            503: error_response("MusicBrainz is unavailable or not configured."),
        },
    ),
)
class UnresolvedViewSet(JsonNotFoundMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Recordings without an MBID, most played first: the admin's queue, with the
    admin's permissions (view to list, change to resolve)."""

    permission_classes = [IsAuthenticated, HasActionPermissions]
    required_permissions = {
        "list": ("metadata.view_unresolvedrecording",),
        "resolve": ("metadata.view_unresolvedrecording", "metadata.change_unresolvedrecording"),
    }
    serializer_class = UnresolvedRecordingSerializer
    filter_backends: list = []

    def get_queryset(self) -> Any:
        return unresolved_recordings()

    @action(detail=True, methods=["post"], serializer_class=ResolveSerializer)
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Tie this report to a MusicBrainz recording, as the admin's curation page does:
        the MBID is looked up (a merged MBID gives the canonical one), every listen of
        the scope follows, future listens resolve without a search, and the decision
        is logged."""
        recording = self.get_object()
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            resolved = assign_by_curator(
                recording=recording,
                reference=str(body.validated_data["mbid"]),
                curator_id=request.user.id,
                scope=body.validated_data["scope"],
            )
        except CurationError as error:
            raise serializers.ValidationError({"mbid": [str(error)]}) from error
        return Response(RecordingSerializer(recording_get(mbid=resolved.mbid)).data)


router = SimpleRouter()
router.register("unresolved", UnresolvedViewSet, basename="api-unresolved")

# <str:mbid>, not <uuid:mbid>: a malformed MBID must get the JSON 404 body, not
# Django's HTML page.
urlpatterns = [
    path("artists/<str:mbid>/", ArtistDetailView.as_view(), name="api-artist"),
    path(
        "release-groups/import/", ReleaseGroupImportView.as_view(), name="api-release-group-import"
    ),
    path("release-groups/<str:mbid>/", ReleaseGroupDetailView.as_view(), name="api-release-group"),
    path("recordings/<str:mbid>/", RecordingDetailView.as_view(), name="api-recording"),
    path("albums/search/", AlbumSearchView.as_view(), name="api-album-search"),
    path("", include(router.urls)),
]
