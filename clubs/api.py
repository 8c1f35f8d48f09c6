"""REST endpoints for album clubs under /api/clubs/ and /api/invitations/: clubs,
invitations (joining is the invitee's own act), members, nominations, standings, album
progress and comparisons.

A club is visible to its members only: to anyone else every URL under it answers
404, as if it did not exist. Views parse input, call one selector or service and
present the result; the definitions behind the figures live in ``clubs.progress``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from clubs.models import Club, Invitation, Membership, Nomination
from clubs.progress import Album, AlbumRelease, AlbumTrack, Plays, Progress
from metadata.serializers import album_choice_data
from sidetrack.api import error_response, upstream_errors
from sidetrack.http.errors import NotFoundError
from sidetrack.parsing import is_blank_name

NOT_FOUND = error_response("No such club, or you are not a member of it.")
NOT_OWNER = error_response("Only the club's owner may do this.")
INVALID = error_response("The request is invalid.")
CAP_REACHED = error_response(
    "A cap is reached (`too_many_clubs`, `club_full`, `too_many_nominations`, "
    "`too_many_invitations`; settings MAX_*)."
)
INVITATION_ID = OpenApiParameter("invitation_id", OpenApiTypes.INT, OpenApiParameter.PATH)
CLUB_ID = OpenApiParameter("club_id", OpenApiTypes.INT, OpenApiParameter.PATH)
NOMINATION_ID = OpenApiParameter("nomination_id", OpenApiTypes.INT, OpenApiParameter.PATH)
USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH)


class ClubRuleBroken(APIException):
    """A request the club's rules refuse; the error code names the rule."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


class ClubCapReached(APIException):
    """A cap on clubs, members, nominations or invitations (settings ``MAX_*``)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def validated_name(value: str) -> str:
    """A club name with something visible in it once cleaned."""
    if is_blank_name(value):
        raise ValidationError("The name must not be blank.")
    return value


# --- Serializers: they produce every response, from models and selector values -------


class RoundedFloatField(serializers.FloatField):
    def to_representation(self, value: Any) -> float:
        return round(float(value), 4)


class CountField(serializers.IntegerField):
    """The number of items in a sequence attribute."""

    def to_representation(self, value: Any) -> int:
        return len(value)


JOINED_VIA_HELP = (
    "`owner`, `invitation`, or `legacy`: added by the owner before invitations existed, "
    "without the member's consent (they may leave at once)."
)


class MyMembershipSerializer(serializers.Serializer):
    joined_at = serializers.DateTimeField(source="my_joined_at")
    joined_via = serializers.ChoiceField(
        source="my_joined_via", choices=Membership.JoinedVia.choices, help_text=JOINED_VIA_HELP
    )


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    joined_at = serializers.DateTimeField()
    joined_via = serializers.ChoiceField(
        choices=Membership.JoinedVia.choices, help_text=JOINED_VIA_HELP
    )


class ClubSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    owner = serializers.CharField(
        source="owner.username", read_only=True, help_text="The owner's username."
    )
    created_at = serializers.DateTimeField(read_only=True)
    membership = MyMembershipSerializer(
        source="*", read_only=True, help_text="How you joined this club."
    )

    def validate_name(self, value: str) -> str:
        return validated_name(value)


class ClubDetailSerializer(ClubSerializer):
    members = MemberSerializer(many=True, read_only=True, source="memberships.all")


class ReleaseGroupRefSerializer(serializers.Serializer):
    mbid = serializers.UUIDField()
    title = serializers.CharField()
    artist_credit = serializers.CharField()


class NominatedGroupSerializer(ReleaseGroupRefSerializer):
    artist_credit = serializers.CharField(source="artist_credit.name", default="")


class NominationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    release_group = NominatedGroupSerializer()
    nominated_by = serializers.CharField(source="nominated_by.username", allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)


class InvitationCreateSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        help_text="Only this user may accept it, and it is listed among their invitations. "
        "The answer is the same whether or not the name exists.",
    )
    expires_at = serializers.DateTimeField(
        required=False, help_text="Default: CLUB_INVITATION_DAYS from now."
    )
    max_uses = serializers.IntegerField(min_value=1, max_value=1000, default=1)


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    club = serializers.IntegerField(source="club_id")
    club_name = serializers.CharField(source="club.name")
    prefix = serializers.CharField(help_text="The code's first characters.")
    invitee = serializers.CharField(source="invitee_name", allow_blank=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    max_uses = serializers.IntegerField()
    uses = serializers.IntegerField()
    members_see = serializers.SerializerMethodField(
        help_text="What members of the club see of each other."
    )

    def get_members_see(self, invitation: Invitation) -> str:
        return services.MEMBERS_SEE


class NewInvitationSerializer(InvitationSerializer):
    code = serializers.CharField(help_text="The code to pass on: shown in this answer only.")


class InvitationCodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=100)


class ClubInvitationSerializer(InvitationSerializer):
    """An invitation as its invitee sees it: the club, its owner and members."""

    owner = serializers.CharField(source="club.owner.username")


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


class TrackLineSerializer(serializers.Serializer):
    medium = serializers.IntegerField()
    position = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    length_ms = serializers.IntegerField(allow_null=True)
    recording_mbid = serializers.UUIDField()


class TrackProgressSerializer(serializers.Serializer):
    medium = serializers.IntegerField(source="track.medium")
    position = serializers.IntegerField(source="track.position")
    number = serializers.CharField(source="track.number")
    title = serializers.CharField(source="track.title")
    length_ms = serializers.IntegerField(source="track.length_ms", allow_null=True)
    recording_mbid = serializers.UUIDField(source="track.recording_mbid")
    play_count = serializers.IntegerField(source="plays.count")
    first_listen = serializers.DateTimeField(source="plays.first", allow_null=True)
    last_listen = serializers.DateTimeField(source="plays.last", allow_null=True)


class BonusTrackProgressSerializer(TrackProgressSerializer):
    releases = serializers.ListField(
        child=serializers.UUIDField(), help_text="The editions that carry it."
    )


class ReleaseProgressSerializer(serializers.Serializer):
    mbid = serializers.UUIDField(source="release.mbid")
    title = serializers.CharField(source="release.title")
    date = serializers.CharField(source="release.date")
    country = serializers.CharField(source="release.country")
    tracks = CountField(
        source="release.recording_ids", help_text="Distinct recordings on its tracklist."
    )
    tracks_heard = serializers.IntegerField()


class FullListenSerializer(serializers.Serializer):
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()


class FullListensSerializer(serializers.Serializer):
    count = CountField(source="full_listens")
    sessions = FullListenSerializer(many=True, source="full_listens", help_text="Oldest first.")


class ProgressSummarySerializer(serializers.Serializer):
    """Read from an object with a ``progress`` (``clubs.progress.Progress``)."""

    tracks_heard = serializers.IntegerField(
        source="progress.heard", help_text="Distinct tracklist recordings heard."
    )
    tracklist_size = serializers.IntegerField(source="progress.tracklist_size")
    share_heard = RoundedFloatField(
        source="progress.share_heard", help_text="tracks_heard / tracklist_size"
    )
    listen_count = serializers.IntegerField(
        source="progress.listen_count", help_text="Counted listens, bonus tracks included."
    )
    first_listen = serializers.DateTimeField(source="progress.first_listen", allow_null=True)
    last_listen = serializers.DateTimeField(source="progress.last_listen", allow_null=True)
    full_listens = FullListensSerializer(source="progress")


class AlbumProgressSerializer(ProgressSummarySerializer):
    release_group = ReleaseGroupRefSerializer(source="album")
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    album_length_ms = serializers.IntegerField(source="album.length_ms")
    full_listen_window_ms = serializers.IntegerField()
    full_listen_tracks_needed = serializers.IntegerField(source="album.full_listen_tracks")
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


class StandingsSerializer(NominationSerializer):
    until = serializers.DateTimeField(help_text="Counted up to: the end, or now.")
    tracklist = TrackLineSerializer(many=True, source="album.tracklist")
    standings = StandingSerializer(many=True, source="rows", help_text="Best first.")
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
    mbid = serializers.UUIDField(source="key")
    name = serializers.CharField()
    listens_a = serializers.IntegerField()
    listens_b = serializers.IntegerField()


class OverlapSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="0 (nothing shared) to 1 (same listening).")
    shared = SharedItemSerializer(many=True)


class ComparisonSerializer(serializers.Serializer):
    user_a = serializers.CharField()
    user_b = serializers.CharField()
    listens_a = serializers.IntegerField(source="comparison.listens_a")
    listens_b = serializers.IntegerField(source="comparison.listens_b")
    score = serializers.FloatField(
        source="comparison.score", help_text="Mean of the artist and release-group scores."
    )
    artists = OverlapSerializer(source="comparison.artists")
    release_groups = OverlapSerializer(source="comparison.release_groups")


# --- What the serializers read: selector values, with the figures a page shows -----------


@dataclass(frozen=True)
class TrackPlays:
    track: AlbumTrack
    plays: Plays
    releases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseHeard:
    release: AlbumRelease
    tracks_heard: int


@dataclass(frozen=True)
class AlbumProgressOut:
    """One user's progress on an album over a period."""

    album: Album
    progress: Progress
    since: datetime | None
    until: datetime | None

    @property
    def full_listen_window_ms(self) -> int:
        return int(self.album.full_listen_window.total_seconds() * 1000)

    def _plays(self, track: AlbumTrack) -> Plays:
        return self.progress.plays.get(track.recording_id) or Plays()

    @property
    def tracks(self) -> list[TrackPlays]:
        return [TrackPlays(t, self._plays(t)) for t in self.album.tracklist]

    @property
    def bonus_tracks(self) -> list[TrackPlays]:
        return [
            TrackPlays(b.track, self._plays(b.track), b.release_mbids) for b in self.album.bonus
        ]

    @property
    def releases(self) -> list[ReleaseHeard]:
        heard = self.progress.plays.keys()
        return [ReleaseHeard(r, len(r.recording_ids & heard)) for r in self.album.releases]


@dataclass(frozen=True)
class StandingRow:
    rank: int
    username: str
    progress: Progress
    unresolved: dict[str, Any]


class StandingsOut:
    """A nomination's standings, as ``StandingsSerializer`` reads them."""

    def __init__(self, standings: selectors.Standings, *, admin_url: str) -> None:
        nomination = standings.nomination
        self.id, self.release_group = nomination.pk, nomination.release_group
        self.nominated_by = nomination.nominated_by
        self.starts_at, self.ends_at = nomination.starts_at, nomination.ends_at
        self.until, self.album, self.totals = standings.until, standings.album, standings.totals
        self.rows = [
            StandingRow(
                rank,
                member.username,
                member.progress,
                {
                    "listens": member.unresolved_listens,
                    "admin_url": admin_url if member.unresolved_listens else None,
                },
            )
            for rank, member in enumerate(standings.members, start=1)
        ]


@dataclass(frozen=True)
class ComparisonOut:
    user_a: str
    user_b: str
    comparison: selectors.Comparison


# --- Views ---------------------------------------------------------------------------------


def _row_id(value: str) -> int | None:
    """A path id as an int the database can compare, or None."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value)


def member_club(request: Request, club_id: str) -> Club:
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
    actions, 404 for non-members and unusable invitations, 409 for caps, 400 with the
    rule's code otherwise."""
    try:
        yield
    except services.ClubError as error:
        if error.code is services.ClubRule.NOT_OWNER:
            raise PermissionDenied(str(error)) from error
        if error.code in (services.ClubRule.NOT_A_MEMBER, services.ClubRule.INVALID_INVITATION):
            raise NotFound(str(error), code=error.code.value) from error
        if error.code in services.CAP_RULES:
            raise ClubCapReached(str(error), code=error.code.value) from error
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
        return self.get_paginated_response(ClubSerializer(page, many=True).data)

    @extend_schema(
        request=ClubSerializer,
        responses={201: ClubSerializer, 400: INVALID, 409: CAP_REACHED},
    )
    def post(self, request: Request) -> Response:
        body = ClubSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with club_rules():
            club = services.club_create(name=body.validated_data["name"], owner=request.user)
        club = selectors.club_get(user=request.user, club_id=club.pk)
        return Response(ClubSerializer(club).data, status=status.HTTP_201_CREATED)


def _club_detail(request: Request, club_id: str) -> Response:
    club = selectors.club_with_members(user=request.user, club_id=member_club(request, club_id).pk)
    return Response(ClubDetailSerializer(club).data)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID])
class ClubDetailView(APIView):
    """A club and its members."""

    @extend_schema(responses={200: ClubDetailSerializer, 404: NOT_FOUND})
    def get(self, request: Request, club_id: str) -> Response:
        return _club_detail(request, club_id)

    @extend_schema(
        request=ClubSerializer,
        responses={200: ClubDetailSerializer, 400: INVALID, 403: NOT_OWNER, 404: NOT_FOUND},
    )
    def patch(self, request: Request, club_id: str) -> Response:
        """Rename the club (owner only)."""
        club = member_club(request, club_id)
        body = ClubSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with club_rules():
            services.club_rename(club=club, actor=request.user, name=body.validated_data["name"])
        return _club_detail(request, club_id)

    @extend_schema(responses={204: None, 403: NOT_OWNER, 404: NOT_FOUND})
    def delete(self, request: Request, club_id: str) -> Response:
        """Delete the club and its nominations (owner only)."""
        with club_rules():
            services.club_delete(club=member_club(request, club_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID])
class MemberListView(APIView):
    @extend_schema(responses={200: MemberSerializer(many=True), 404: NOT_FOUND})
    def get(self, request: Request, club_id: str) -> Response:
        """The club's members, in joining order. Members join by accepting an
        invitation (``/api/clubs/{club_id}/invitations/``): nobody is added by name."""
        club = member_club(request, club_id)
        return Response(MemberSerializer(selectors.memberships_of(club=club), many=True).data)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID, USERNAME])
class MemberDetailView(APIView):
    @extend_schema(responses={204: None, 400: INVALID, 403: NOT_OWNER, 404: NOT_FOUND})
    def delete(self, request: Request, club_id: str, username: str) -> Response:
        """Leave the club (your own username: at once), or remove a member (owner)."""
        with club_rules():
            services.member_remove(
                club=member_club(request, club_id), actor=request.user, username=username
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["club invitations"], parameters=[CLUB_ID])
class ClubInvitationListView(APIView):
    @extend_schema(responses={200: InvitationSerializer(many=True), 403: NOT_OWNER, 404: NOT_FOUND})
    def get(self, request: Request, club_id: str) -> Response:
        """The club's invitations that can still be used (owner only)."""
        club = member_club(request, club_id)
        if club.owner_id != request.user.pk:
            raise PermissionDenied("Only the club's owner may do this.")
        rows = selectors.invitations_of(club=club, now=timezone.now()).select_related("club")
        return Response(InvitationSerializer(rows, many=True).data)

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={
            201: NewInvitationSerializer,
            400: INVALID,
            403: NOT_OWNER,
            404: NOT_FOUND,
            409: CAP_REACHED,
        },
    )
    def post(self, request: Request, club_id: str) -> Response:
        """Invite someone (owner only): the answer holds the code, shown this once, to
        pass on. It works until ``expires_at``, ``max_uses`` times; with ``username``
        only that user may use it. The answer never says whether the name exists."""
        club = member_club(request, club_id)
        body = InvitationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with club_rules():
            invitation, code = services.invitation_create(
                club=club,
                actor=request.user,
                invitee_username=data.get("username", ""),
                expires_at=data.get("expires_at"),
                max_uses=data["max_uses"],
            )
        invitation.code = code
        return Response(NewInvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["club invitations"], parameters=[CLUB_ID, INVITATION_ID])
class ClubInvitationDetailView(APIView):
    @extend_schema(responses={204: None, 403: NOT_OWNER, 404: NOT_FOUND})
    def delete(self, request: Request, club_id: str, invitation_id: str) -> Response:
        """Revoke an invitation (owner only): it stops working at once."""
        club = member_club(request, club_id)
        pk = _row_id(invitation_id)
        invitation = club.invitations.filter(pk=pk).first() if pk is not None else None
        if invitation is None:
            raise NotFound("No such invitation in this club.")
        with club_rules():
            services.invitation_revoke(invitation=invitation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["club invitations"])
class MyInvitationsView(APIView):
    @extend_schema(responses={200: ClubInvitationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Invitations addressed to you, still usable, to clubs you are not in; each says
        what the club's members would see of you."""
        rows = selectors.invitations_for_user(user=request.user, now=timezone.now())
        return Response(ClubInvitationSerializer(rows, many=True).data)


def _invitation_door(request: Request, invitation_id: str | None) -> dict[str, Any]:
    """The invitation's key: its code (body ``code``) or, for one addressed to you, its id."""
    if invitation_id is not None:
        pk = _row_id(invitation_id)
        if pk is None:
            raise NotFound("This invitation does not exist, has expired or was used up.")
        return {"invitation_id": pk}
    body = InvitationCodeSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return {"code": body.validated_data["code"]}


INVITATION_GONE = error_response(
    "No usable invitation: unknown code, expired, used up, revoked, declined or "
    "addressed to someone else (one answer for all)."
)


@extend_schema(tags=["club invitations"])
class InvitationLookupView(APIView):
    @extend_schema(
        request=InvitationCodeSerializer,
        responses={200: ClubInvitationSerializer, 404: INVITATION_GONE},
    )
    def post(self, request: Request) -> Response:
        """What an invitation code is for, before accepting: the club, its owner and
        what members see of each other. (POST: a code in a URL ends up in logs.)"""
        found = selectors.usable_invitation(
            user=request.user, now=timezone.now(), lock=False, **_invitation_door(request, None)
        )
        if found is None:
            raise NotFound(
                "This invitation does not exist, has expired or was used up.",
                code=services.ClubRule.INVALID_INVITATION.value,
            )
        return Response(ClubInvitationSerializer(found).data)


@extend_schema(tags=["club invitations"])
class InvitationAcceptView(APIView):
    @extend_schema(
        request=InvitationCodeSerializer,
        responses={201: ClubSerializer, 404: INVITATION_GONE, 409: CAP_REACHED},
    )
    def post(self, request: Request, invitation_id: str | None = None) -> Response:
        """Join the club: with the code in the body, or at
        ``/api/invitations/{id}/accept/`` for one addressed to you."""
        with club_rules():
            membership = services.invitation_accept(
                user=request.user, **_invitation_door(request, invitation_id)
            )
        club = selectors.club_get(user=request.user, club_id=membership.club_id)
        return Response(ClubSerializer(club).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["club invitations"])
class InvitationDeclineView(APIView):
    @extend_schema(request=InvitationCodeSerializer, responses={204: None, 404: INVITATION_GONE})
    def post(self, request: Request, invitation_id: str | None = None) -> Response:
        """Decline: an invitation addressed to you stops working; nothing of yours is
        shared either way."""
        with club_rules():
            services.invitation_decline(
                user=request.user, **_invitation_door(request, invitation_id)
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID])
class NominationListView(APIView):
    @extend_schema(responses={200: NominationSerializer(many=True), 404: NOT_FOUND})
    def get(self, request: Request, club_id: str) -> Response:
        """The club's nominations, latest start first."""
        club = member_club(request, club_id)
        nominations = selectors.nominations_of(club=club)
        return Response(NominationSerializer(nominations, many=True).data)

    @extend_schema(
        request=NominateSerializer,
        responses={
            201: NominationSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: error_response(
                "The album search was not confident (`album_choice_needed`: `detail` holds "
                "the ranked candidates as /api/albums/search/ gives them; nominate again "
                "with the chosen `release_group_mbid`), or the club has "
                "MAX_OPEN_NOMINATIONS_PER_CLUB open nominations (`too_many_nominations`)."
            ),
            **upstream_errors("MusicBrainz"),
        },
    )
    def post(self, request: Request, club_id: str) -> Response:
        """Nominate an album (any member). With ``release_group_mbid`` it is imported
        from MusicBrainz unless stored; with ``artist`` and ``title`` it is searched
        first, and taken only when the search is confident."""
        club = member_club(request, club_id)
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
        return Response(NominationSerializer(nomination).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID, NOMINATION_ID])
class NominationDetailView(APIView):
    @extend_schema(responses={200: StandingsSerializer, 404: NOT_FOUND})
    def get(self, request: Request, club_id: str, nomination_id: str) -> Response:
        """Every member's progress on the nominated album since the nomination started
        (to its end, or now), best first, with the club's totals and, per member, the
        listens of the album still waiting for curation."""
        nomination = _nomination(member_club(request, club_id), nomination_id)
        standings = selectors.nomination_standings(nomination=nomination, now=timezone.now())
        admin_url = request.build_absolute_uri(standings.unresolved_url)
        return Response(StandingsSerializer(StandingsOut(standings, admin_url=admin_url)).data)

    @extend_schema(responses={204: None, 403: NOT_OWNER, 404: NOT_FOUND})
    def delete(self, request: Request, club_id: str, nomination_id: str) -> Response:
        """Withdraw the nomination (the owner, or the member who nominated)."""
        nomination = _nomination(member_club(request, club_id), nomination_id)
        with club_rules():
            services.nomination_delete(nomination=nomination, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["clubs"], parameters=[CLUB_ID, NOMINATION_ID, USERNAME])
class NominationMemberView(APIView):
    @extend_schema(responses={200: AlbumProgressSerializer, 404: NOT_FOUND})
    def get(self, request: Request, club_id: str, nomination_id: str, username: str) -> Response:
        """One member's detailed progress on the nominated album during the nomination."""
        club = member_club(request, club_id)
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
        out = AlbumProgressOut(album, progress, nomination.starts_at, until)
        return Response(AlbumProgressSerializer(out).data)


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
        return Response(
            AlbumProgressSerializer(AlbumProgressOut(album, progress, since, until)).data
        )


@extend_schema(
    tags=["clubs"],
    parameters=[CLUB_ID, CompareQuerySerializer],
    responses={200: ComparisonSerializer, 400: INVALID, 404: NOT_FOUND},
)
class CompareView(APIView):
    """Shared top artists and release groups of two members over a period, with overlap
    scores: you and ``user``, or ``other`` and ``user``."""

    def get(self, request: Request, club_id: str) -> Response:
        club = member_club(request, club_id)
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
        return Response(ComparisonSerializer(ComparisonOut(name_a, name_b, comparison)).data)


@extend_schema(tags=["club invitations"], parameters=[INVITATION_ID])
class AddressedInvitationAcceptView(InvitationAcceptView):
    @extend_schema(
        operation_id="invitations_addressed_accept",
        request=None,
        responses={201: ClubSerializer, 404: INVITATION_GONE, 409: CAP_REACHED},
    )
    def post(self, request: Request, invitation_id: str | None = None) -> Response:
        """Accept an invitation addressed to you (listed in ``/api/invitations/``)."""
        return super().post(request, invitation_id)


@extend_schema(tags=["club invitations"], parameters=[INVITATION_ID])
class AddressedInvitationDeclineView(InvitationDeclineView):
    @extend_schema(
        operation_id="invitations_addressed_decline",
        request=None,
        responses={204: None, 404: INVITATION_GONE},
    )
    def post(self, request: Request, invitation_id: str | None = None) -> Response:
        """Decline an invitation addressed to you: it stops working."""
        return super().post(request, invitation_id)


# <str:…> ids: a malformed one must get the JSON 404 body, not Django's HTML page.
urlpatterns = [
    path("invitations/", MyInvitationsView.as_view(), name="api-invitations"),
    path("invitations/lookup/", InvitationLookupView.as_view(), name="api-invitation-lookup"),
    path("invitations/accept/", InvitationAcceptView.as_view(), name="api-invitation-accept"),
    path("invitations/decline/", InvitationDeclineView.as_view(), name="api-invitation-decline"),
    path(
        "invitations/<str:invitation_id>/accept/",
        AddressedInvitationAcceptView.as_view(),
        name="api-invitation-accept-addressed",
    ),
    path(
        "invitations/<str:invitation_id>/decline/",
        AddressedInvitationDeclineView.as_view(),
        name="api-invitation-decline-addressed",
    ),
    path("clubs/", ClubListView.as_view(), name="api-clubs"),
    path(
        "clubs/album-progress/<str:mbid>/", AlbumProgressView.as_view(), name="api-album-progress"
    ),
    path("clubs/<str:club_id>/", ClubDetailView.as_view(), name="api-club"),
    path("clubs/<str:club_id>/members/", MemberListView.as_view(), name="api-club-members"),
    path(
        "clubs/<str:club_id>/invitations/",
        ClubInvitationListView.as_view(),
        name="api-club-invitations",
    ),
    path(
        "clubs/<str:club_id>/invitations/<str:invitation_id>/",
        ClubInvitationDetailView.as_view(),
        name="api-club-invitation",
    ),
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
