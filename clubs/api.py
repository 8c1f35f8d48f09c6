"""REST endpoints for album clubs under /api/clubs/: clubs, members, nominations,
standings, album progress and comparisons.

A club is visible to its members only: to anyone else every URL under it answers
404, as if it did not exist. Views parse input, call one selector or service and
present the result; the definitions behind the figures live in ``clubs.progress``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clubs import selectors, services
from clubs.models import Club, Nomination
from clubs.progress import Album, AlbumTrack, Overlap, Plays, Progress
from metadata.serializers import album_choice_data
from sidetrack.api import error_response, upstream_errors
from sidetrack.http.errors import NotFoundError

NOT_FOUND = error_response("No such club, or you are not a member of it.")
NOT_OWNER = error_response("Only the club's owner may do this.")
INVALID = error_response("The request is invalid.")
CLUB_ID = OpenApiParameter("club_id", OpenApiTypes.INT, OpenApiParameter.PATH)
NOMINATION_ID = OpenApiParameter("nomination_id", OpenApiTypes.INT, OpenApiParameter.PATH)
USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH)


class ClubRuleBroken(APIException):
    """A request the club's rules refuse; the error code names the rule."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


# --- Serializers (responses are built from selector values) ---------------------------


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField()
    joined_at = serializers.DateTimeField()


class ClubSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    owner = serializers.CharField(read_only=True, help_text="The owner's username.")
    created_at = serializers.DateTimeField(read_only=True)

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise ValidationError("The name must not be blank.")
        return value


class ClubDetailSerializer(ClubSerializer):
    members = MemberSerializer(many=True, read_only=True)


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class ReleaseGroupRefSerializer(serializers.Serializer):
    mbid = serializers.UUIDField()
    title = serializers.CharField()
    artist_credit = serializers.CharField()


class NominationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    release_group = ReleaseGroupRefSerializer()
    nominated_by = serializers.CharField(allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)


class NominateSerializer(serializers.Serializer):
    release_group_mbid = serializers.UUIDField(
        required=False, help_text="The album to nominate; or give artist and title to search."
    )
    artist = serializers.CharField(max_length=500, required=False)
    title = serializers.CharField(max_length=500, required=False)
    year = serializers.IntegerField(min_value=1, max_value=9999, required=False)
    country = serializers.CharField(
        max_length=2, min_length=2, required=False, help_text="Preferred release country."
    )
    starts_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    ends_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        by_search = bool(data.get("artist", "").strip() and data.get("title", "").strip())
        if "release_group_mbid" not in data and not by_search:
            raise ValidationError("Give release_group_mbid, or artist and title.")
        return data


class TrackProgressSerializer(serializers.Serializer):
    medium = serializers.IntegerField()
    position = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    length_ms = serializers.IntegerField(allow_null=True)
    recording_mbid = serializers.UUIDField()
    play_count = serializers.IntegerField()
    first_listen = serializers.DateTimeField(allow_null=True)
    last_listen = serializers.DateTimeField(allow_null=True)


class BonusTrackProgressSerializer(TrackProgressSerializer):
    releases = serializers.ListField(
        child=serializers.UUIDField(), help_text="The editions that carry it."
    )


class ReleaseProgressSerializer(serializers.Serializer):
    mbid = serializers.UUIDField()
    title = serializers.CharField()
    date = serializers.CharField()
    country = serializers.CharField()
    tracks = serializers.IntegerField(help_text="Distinct recordings on its tracklist.")
    tracks_heard = serializers.IntegerField()


class FullListenSerializer(serializers.Serializer):
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()


class FullListensSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sessions = FullListenSerializer(many=True, help_text="Oldest first.")


class ProgressSummarySerializer(serializers.Serializer):
    tracks_heard = serializers.IntegerField(help_text="Distinct tracklist recordings heard.")
    tracklist_size = serializers.IntegerField()
    share_heard = serializers.FloatField(help_text="tracks_heard / tracklist_size")
    listen_count = serializers.IntegerField(help_text="Counted listens, bonus tracks included.")
    first_listen = serializers.DateTimeField(allow_null=True)
    last_listen = serializers.DateTimeField(allow_null=True)
    full_listens = FullListensSerializer()


class AlbumProgressSerializer(ProgressSummarySerializer):
    release_group = ReleaseGroupRefSerializer()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    album_length_ms = serializers.IntegerField()
    full_listen_window_ms = serializers.IntegerField()
    full_listen_tracks_needed = serializers.IntegerField()
    tracks = TrackProgressSerializer(many=True, help_text="The preferred release's tracklist.")
    bonus_tracks = BonusTrackProgressSerializer(many=True)
    releases = ReleaseProgressSerializer(many=True)


class UnresolvedSerializer(serializers.Serializer):
    listens = serializers.IntegerField(help_text="Listens of this album waiting for curation.")
    admin_url = serializers.URLField(allow_null=True)


class StandingSerializer(ProgressSummarySerializer):
    rank = serializers.IntegerField()
    username = serializers.CharField()
    unresolved = UnresolvedSerializer()


class TotalsSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    members_started = serializers.IntegerField(help_text="Members with at least one listen.")
    members_finished = serializers.IntegerField(help_text="Members with a full listen.")
    listens = serializers.IntegerField()
    full_listens = serializers.IntegerField()
    tracks_heard_by_anyone = serializers.IntegerField()
    share_heard_by_club = serializers.FloatField()
    average_share_heard = serializers.FloatField()
    unresolved_listens = serializers.IntegerField()


class TracklistLineSerializer(serializers.Serializer):
    medium = serializers.IntegerField()
    position = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    length_ms = serializers.IntegerField(allow_null=True)
    recording_mbid = serializers.UUIDField()


class StandingsSerializer(NominationSerializer):
    until = serializers.DateTimeField(help_text="Counted up to: the end, or now.")
    tracklist = TracklistLineSerializer(many=True)
    standings = StandingSerializer(many=True, help_text="Best first.")
    totals = TotalsSerializer()


class PeriodQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Listened at or after.")
    until = serializers.DateTimeField(required=False, help_text="Listened before.")


class CompareQuerySerializer(PeriodQuerySerializer):
    user = serializers.CharField(max_length=150, help_text="The member to compare with.")
    other = serializers.CharField(
        max_length=150, required=False, help_text="Another member instead of yourself."
    )
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class SharedItemSerializer(serializers.Serializer):
    mbid = serializers.UUIDField()
    name = serializers.CharField()
    listens_a = serializers.IntegerField()
    listens_b = serializers.IntegerField()


class OverlapSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="0 (nothing shared) to 1 (same listening).")
    shared = SharedItemSerializer(many=True)


class ComparisonSerializer(serializers.Serializer):
    user_a = serializers.CharField()
    user_b = serializers.CharField()
    listens_a = serializers.IntegerField()
    listens_b = serializers.IntegerField()
    score = serializers.FloatField(help_text="Mean of the artist and release-group scores.")
    artists = OverlapSerializer()
    release_groups = OverlapSerializer()


# --- Presenting selector values ----------------------------------------------------------


def club_data(club: Club, *, members: bool = False) -> dict[str, Any]:
    data = {
        "id": club.pk,
        "name": club.name,
        "owner": club.owner.get_username(),
        "created_at": club.created_at,
    }
    if members:
        data["members"] = [
            {"username": m.user.get_username(), "joined_at": m.joined_at}
            for m in selectors.memberships_of(club=club)
        ]
    return data


def group_data(nomination: Nomination) -> dict[str, Any]:
    group = nomination.release_group
    return {
        "mbid": group.mbid,
        "title": group.title,
        "artist_credit": group.artist_credit.name if group.artist_credit_id else "",
    }


def nomination_data(nomination: Nomination) -> dict[str, Any]:
    by = nomination.nominated_by
    return {
        "id": nomination.pk,
        "release_group": group_data(nomination),
        "nominated_by": by.get_username() if by else None,
        "starts_at": nomination.starts_at,
        "ends_at": nomination.ends_at,
    }


def line_data(track: AlbumTrack) -> dict[str, Any]:
    return {
        "medium": track.medium,
        "position": track.position,
        "number": track.number,
        "title": track.title,
        "length_ms": track.length_ms,
        "recording_mbid": track.recording_mbid,
    }


def plays_data(plays: Plays | None) -> dict[str, Any]:
    plays = plays or Plays()
    return {"play_count": plays.count, "first_listen": plays.first, "last_listen": plays.last}


def summary_data(progress: Progress) -> dict[str, Any]:
    return {
        "tracks_heard": progress.heard,
        "tracklist_size": progress.tracklist_size,
        "share_heard": round(progress.share_heard, 4),
        "listen_count": progress.listen_count,
        "first_listen": progress.first_listen,
        "last_listen": progress.last_listen,
        "full_listens": {
            "count": len(progress.full_listens),
            "sessions": [
                {"started_at": f.started_at, "finished_at": f.finished_at}
                for f in progress.full_listens
            ],
        },
    }


def progress_data(
    album: Album, progress: Progress, *, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    return {
        "release_group": {
            "mbid": album.mbid,
            "title": album.title,
            "artist_credit": album.artist_credit,
        },
        "since": since,
        "until": until,
        **summary_data(progress),
        "album_length_ms": album.length_ms,
        "full_listen_window_ms": int(album.full_listen_window.total_seconds() * 1000),
        "full_listen_tracks_needed": album.full_listen_tracks,
        "tracks": [
            {**line_data(t), **plays_data(progress.plays.get(t.recording_id))}
            for t in album.tracklist
        ],
        "bonus_tracks": [
            {
                **line_data(b.track),
                **plays_data(progress.plays.get(b.track.recording_id)),
                "releases": list(b.release_mbids),
            }
            for b in album.bonus
        ],
        "releases": [
            {
                "mbid": r.mbid,
                "title": r.title,
                "date": r.date,
                "country": r.country,
                "tracks": len(r.recording_ids),
                "tracks_heard": len(r.recording_ids & progress.plays.keys()),
            }
            for r in album.releases
        ],
    }


def overlap_data(found: Overlap) -> dict[str, Any]:
    return {
        "score": found.score,
        "shared": [
            {"mbid": s.key, "name": s.name, "listens_a": s.listens_a, "listens_b": s.listens_b}
            for s in found.shared
        ],
    }


def standings_data(standings: selectors.Standings, request: Request) -> dict[str, Any]:
    admin_url = request.build_absolute_uri(standings.unresolved_url)
    return {
        **nomination_data(standings.nomination),
        "until": standings.until,
        "tracklist": [line_data(t) for t in standings.album.tracklist],
        "standings": [
            {
                "rank": rank,
                "username": member.username,
                **summary_data(member.progress),
                "unresolved": {
                    "listens": member.unresolved_listens,
                    "admin_url": admin_url if member.unresolved_listens else None,
                },
            }
            for rank, member in enumerate(standings.members, start=1)
        ],
        "totals": standings.totals,
    }


# --- Views ---------------------------------------------------------------------------------


def _row_id(value: str) -> int | None:
    """A path id as an int the database can compare, or None."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value)


def _club(request: Request, club_id: str) -> Club:
    """The club if the caller is a member; 404 for everyone else (and for bad ids)."""
    pk = _row_id(club_id)
    club = selectors.club_get(user=request.user, club_id=pk) if pk is not None else None
    if club is None:
        raise NotFound("No such club.")
    return club


def _nomination(club: Club, nomination_id: str) -> Nomination:
    pk = _row_id(nomination_id)
    found = selectors.nomination_get(club=club, nomination_id=pk) if pk is not None else None
    if found is None:
        raise NotFound("No such nomination in this club.")
    return found


@contextmanager
def club_rules() -> Iterator[None]:
    """A ``ClubError`` from the services as its HTTP error: 403 for owner-only
    actions, 404 for unknown users, 400 with the rule's code otherwise."""
    try:
        yield
    except services.ClubError as error:
        if error.code is services.ClubRule.NOT_OWNER:
            raise PermissionDenied(str(error)) from error
        if error.code in (services.ClubRule.UNKNOWN_USER, services.ClubRule.NOT_A_MEMBER):
            raise NotFound(str(error)) from error
        raise ClubRuleBroken(str(error), code=error.code.value) from error


@extend_schema(tags=["clubs"])
class ClubListView(GenericAPIView):
    """The clubs you are a member of; create one (you become its owner and first member)."""

    serializer_class = ClubSerializer
    filter_backends: list = []

    def get_queryset(self) -> Any:
        return selectors.clubs_of(user=self.request.user)

    @extend_schema(responses={200: ClubSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([club_data(club) for club in page])

    @extend_schema(request=ClubSerializer, responses={201: ClubSerializer, 400: INVALID})
    def post(self, request: Request) -> Response:
        body = ClubSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        club = services.club_create(name=body.validated_data["name"], owner=request.user)
        return Response(club_data(club), status=status.HTTP_201_CREATED)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID])
class ClubDetailView(APIView):
    """A club and its members."""

    @extend_schema(responses={200: ClubDetailSerializer, 404: NOT_FOUND})
    def get(self, request: Request, club_id: str) -> Response:
        return Response(club_data(_club(request, club_id), members=True))

    @extend_schema(
        request=ClubSerializer,
        responses={200: ClubDetailSerializer, 400: INVALID, 403: NOT_OWNER, 404: NOT_FOUND},
    )
    def patch(self, request: Request, club_id: str) -> Response:
        """Rename the club (owner only)."""
        club = _club(request, club_id)
        body = ClubSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with club_rules():
            services.club_rename(club=club, actor=request.user, name=body.validated_data["name"])
        return Response(club_data(club, members=True))

    @extend_schema(responses={204: None, 403: NOT_OWNER, 404: NOT_FOUND})
    def delete(self, request: Request, club_id: str) -> Response:
        """Delete the club and its nominations (owner only)."""
        with club_rules():
            services.club_delete(club=_club(request, club_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID])
class MemberAddView(APIView):
    @extend_schema(
        request=MemberAddSerializer,
        responses={201: ClubDetailSerializer, 400: INVALID, 403: NOT_OWNER, 404: NOT_FOUND},
    )
    def post(self, request: Request, club_id: str) -> Response:
        """Add a user by username (owner only; adding a member again changes nothing)."""
        club = _club(request, club_id)
        body = MemberAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with club_rules():
            services.member_add(
                club=club, actor=request.user, username=body.validated_data["username"]
            )
        club = _club(request, club_id)
        return Response(club_data(club, members=True), status=status.HTTP_201_CREATED)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID, USERNAME])
class MemberDetailView(APIView):
    @extend_schema(responses={204: None, 400: INVALID, 403: NOT_OWNER, 404: NOT_FOUND})
    def delete(self, request: Request, club_id: str, username: str) -> Response:
        """Remove a member (owner), or leave the club (yourself)."""
        with club_rules():
            services.member_remove(
                club=_club(request, club_id), actor=request.user, username=username
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID])
class NominationListView(APIView):
    @extend_schema(responses={200: NominationSerializer(many=True), 404: NOT_FOUND})
    def get(self, request: Request, club_id: str) -> Response:
        """The club's nominations, latest start first."""
        club = _club(request, club_id)
        return Response([nomination_data(n) for n in selectors.nominations_of(club=club)])

    @extend_schema(
        request=NominateSerializer,
        responses={
            201: NominationSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: error_response(
                "The album search was not confident: `detail` holds the ranked candidates "
                "(as /api/albums/search/ gives them); nominate again with the chosen "
                "`release_group_mbid`."
            ),
            **upstream_errors("MusicBrainz"),
        },
    )
    def post(self, request: Request, club_id: str) -> Response:
        """Nominate an album (any member). With ``release_group_mbid`` it is imported
        from MusicBrainz unless stored; with ``artist`` and ``title`` it is searched
        first, and taken only when the search is confident."""
        club = _club(request, club_id)
        body = NominateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        mbid = data.get("release_group_mbid")
        album = services.AlbumRequest(
            release_group_mbid=str(mbid) if mbid else None,
            artist=data.get("artist"),
            title=data.get("title"),
            year=data.get("year"),
            country=data.get("country"),
        )
        try:
            with club_rules():
                nomination = services.nominate(
                    club=club,
                    actor=request.user,
                    album=album,
                    starts_at=data.get("starts_at") or timezone.now(),
                    ends_at=data.get("ends_at"),
                )
        except services.AlbumChoiceNeeded as needed:
            # The shared error shape, with the candidates to pick from as its detail.
            error = {
                "code": "album_choice_needed",
                "message": str(needed),
                "detail": album_choice_data(needed.choice),
            }
            return Response({"error": error}, status=status.HTTP_409_CONFLICT)
        except NotFoundError as error:
            raise NotFound(f"MusicBrainz has no release group {mbid}.") from error
        nomination = selectors.nomination_get(club=club, nomination_id=nomination.pk)
        return Response(nomination_data(nomination), status=status.HTTP_201_CREATED)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID, NOMINATION_ID])
class NominationDetailView(APIView):
    @extend_schema(responses={200: StandingsSerializer, 404: NOT_FOUND})
    def get(self, request: Request, club_id: str, nomination_id: str) -> Response:
        """Every member's progress on the nominated album since the nomination started
        (to its end, or now), best first, with the club's totals and, per member, the
        listens of the album still waiting for curation."""
        nomination = _nomination(_club(request, club_id), nomination_id)
        standings = selectors.nomination_standings(nomination=nomination, now=timezone.now())
        return Response(standings_data(standings, request))

    @extend_schema(responses={204: None, 403: NOT_OWNER, 404: NOT_FOUND})
    def delete(self, request: Request, club_id: str, nomination_id: str) -> Response:
        """Withdraw the nomination (the owner, or the member who nominated)."""
        nomination = _nomination(_club(request, club_id), nomination_id)
        with club_rules():
            services.nomination_delete(nomination=nomination, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID, NOMINATION_ID, USERNAME])
class NominationMemberView(APIView):
    @extend_schema(responses={200: AlbumProgressSerializer, 404: NOT_FOUND})
    def get(self, request: Request, club_id: str, nomination_id: str, username: str) -> Response:
        """One member's detailed progress on the nominated album during the nomination."""
        club = _club(request, club_id)
        nomination = _nomination(club, nomination_id)
        user_id = next(
            (uid for uid, name in selectors.member_user_ids(club=club).items() if name == username),
            None,
        )
        if user_id is None:
            raise NotFound(f"{username!r} is not a member of this club.")
        until = selectors.nomination_until(nomination=nomination, now=timezone.now())
        album, progress = selectors.user_album_progress(
            user_id=user_id, group=nomination.release_group, since=nomination.starts_at, until=until
        )
        return Response(progress_data(album, progress, since=nomination.starts_at, until=until))


@extend_schema(
    tags=["clubs"],
    parameters=[
        OpenApiParameter("mbid", OpenApiTypes.UUID, OpenApiParameter.PATH),
        PeriodQuerySerializer,
    ],
    responses={200: AlbumProgressSerializer, 400: INVALID, 404: error_response("Not stored.")},
)
class AlbumProgressView(APIView):
    """Your progress on a stored album (release group), over all time or a period."""

    def get(self, request: Request, mbid: str) -> Response:
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data.get("since"), query.validated_data.get("until")
        group = selectors.release_group_for_progress(mbid=mbid)
        if group is None:
            raise NotFound("No stored release group with this MBID.")
        album, progress = selectors.user_album_progress(
            user_id=request.user.pk, group=group, since=since, until=until
        )
        return Response(progress_data(album, progress, since=since, until=until))


@extend_schema(
    tags=["clubs"],
    parameters=[CLUB_ID, CompareQuerySerializer],
    responses={200: ComparisonSerializer, 400: INVALID, 404: NOT_FOUND},
)
class CompareView(APIView):
    """Shared top artists and release groups of two members over a period, with overlap
    scores: you and ``user``, or ``other`` and ``user``."""

    def get(self, request: Request, club_id: str) -> Response:
        club = _club(request, club_id)
        query = CompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        members = {name: uid for uid, name in selectors.member_user_ids(club=club).items()}
        name_a = params.get("other") or request.user.get_username()
        name_b = params["user"]
        for name in (name_a, name_b):
            if name not in members:
                raise NotFound(f"{name!r} is not a member of this club.")
        comparison = selectors.compare_users(
            user_a=members[name_a],
            user_b=members[name_b],
            since=params.get("since"),
            until=params.get("until"),
            limit=params["limit"],
        )
        return Response(
            {
                "user_a": name_a,
                "user_b": name_b,
                "listens_a": comparison.listens_a,
                "listens_b": comparison.listens_b,
                "score": comparison.score,
                "artists": overlap_data(comparison.artists),
                "release_groups": overlap_data(comparison.release_groups),
            }
        )


# <str:…> ids: a malformed one must get the JSON 404 body, not Django's HTML page.
urlpatterns = [
    path("clubs/", ClubListView.as_view(), name="api-clubs"),
    path(
        "clubs/album-progress/<str:mbid>/", AlbumProgressView.as_view(), name="api-album-progress"
    ),
    path("clubs/<str:club_id>/", ClubDetailView.as_view(), name="api-club"),
    path("clubs/<str:club_id>/members/", MemberAddView.as_view(), name="api-club-members"),
    path(
        "clubs/<str:club_id>/members/<str:username>/",
        MemberDetailView.as_view(),
        name="api-club-member",
    ),
    path("clubs/<str:club_id>/compare/", CompareView.as_view(), name="api-club-compare"),
    path(
        "clubs/<str:club_id>/nominations/",
        NominationListView.as_view(),
        name="api-club-nominations",
    ),
    path(
        "clubs/<str:club_id>/nominations/<str:nomination_id>/",
        NominationDetailView.as_view(),
        name="api-club-nomination",
    ),
    path(
        "clubs/<str:club_id>/nominations/<str:nomination_id>/members/<str:username>/",
        NominationMemberView.as_view(),
        name="api-club-nomination-member",
    ),
]
