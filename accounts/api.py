"""REST endpoints for a user's listen-source accounts, and API tokens.

Users see and change their own accounts; anyone else's answers 404, as if it did not
exist, unless the caller holds the model permissions the admin checks
(``accounts.view_externalaccount`` to see, ``change_externalaccount`` to disconnect
or ingest).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.urls import include, path
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    NotFound,
    PermissionDenied,
    Throttled,
    ValidationError,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from accounts.api_tokens import issue_api_token
from accounts.models import (
    POLLED_SOURCE_CHOICES,
    POLLED_SOURCES,
    ExternalAccount,
    ScrobbleSession,
    SubmissionToken,
)
from accounts.scrobble_auth import (
    create_scrobble_session,
    revoke_scrobble_session,
    user_scrobble_sessions,
)
from accounts.services import (
    AccountRefused,
    connect_user_account,
    disconnect_account,
    request_ingest,
)
from accounts.submission_tokens import (
    create_submission_token,
    revoke_submission_token,
    user_submission_tokens,
)
from sidetrack.login_throttle import login_wait
from sidetrack.parsers import API_PARSERS

NOT_FOUND = OpenApiResponse(description="No such account visible to you (error body).")
INVALID = OpenApiResponse(description="Invalid source or user name (error body).")


class AccountSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    last_ingested_at = serializers.DateTimeField(
        source="cursor",
        allow_null=True,
        help_text="Every listen at or before this instant is stored.",
    )

    class Meta:
        model = ExternalAccount
        fields = [
            "id",
            "user",
            "source",
            "external_username",
            "status",
            "last_error",
            "last_error_at",
            "last_ingested_at",
            "last_ingest_started_at",
            "last_ingest_finished_at",
            "proven_at",
            "taken_over_at",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "proven_at": {
                "help_text": "When the user proved the name theirs (Connect with Last.fm); "
                "null if never. A proven name is nobody else's to connect."
            },
            "taken_over_at": {
                "help_text": "When another user proved this name theirs: the account was "
                "disabled then. Null if not taken over."
            },
        }


class ConnectSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=POLLED_SOURCE_CHOICES)
    external_username = serializers.CharField(max_length=255, help_text="Name on that source.")


class IngestQueuedSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    queued = serializers.BooleanField(
        help_text="False when an ingest was already running or queued."
    )
    task = serializers.CharField(allow_null=True, help_text="The queued task's name.")
    run = serializers.IntegerField(allow_null=True, help_text="The ingest run in progress.")


class AccountConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This account cannot be connected."
    default_code = "conflict"


class AccountNotPolled(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "Listens of a submitted account arrive through /1/submit-listens: nothing to poll."
    )
    default_code = "not_polled"


class AccountDisabled(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This account is disconnected: connect it again to ingest."
    default_code = "account_disabled"


@extend_schema_view(
    list=extend_schema(tags=["accounts"]),
    retrieve=extend_schema(tags=["accounts"], responses={200: AccountSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        tags=["accounts"],
        request=ConnectSerializer,
        responses={
            201: OpenApiResponse(AccountSerializer, description="Connected."),
            200: OpenApiResponse(AccountSerializer, description="Already connected (re-enabled)."),
            400: INVALID,
            409: OpenApiResponse(
                description="Too many accounts (too_many_accounts), or the name is connected by "
                "another user (name_taken): error body."
            ),
        },
    ),
    destroy=extend_schema(
        tags=["accounts"],
        responses={
            200: OpenApiResponse(AccountSerializer, description="Disconnected; listens kept."),
            404: NOT_FOUND,
        },
    ),
)
class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your Last.fm and ListenBrainz accounts and how their ingest went."""

    serializer_class = AccountSerializer
    filter_backends: list = []

    def get_queryset(self) -> Any:
        accounts = ExternalAccount.objects.select_related("user").order_by("pk")
        if not self.request.user.has_perm("accounts.view_externalaccount"):
            accounts = accounts.filter(user_id=self.request.user.pk)
        return accounts

    def get_object(self) -> ExternalAccount:
        # DRF's NotFound rather than Django's Http404: the error body gets its code.
        try:
            account = super().get_object()
        except Http404 as error:
            raise NotFound() from error
        changes = self.action in ("destroy", "ingest")
        if (
            changes
            and account.user_id != self.request.user.pk
            and not self.request.user.has_perm("accounts.change_externalaccount")
        ):
            raise PermissionDenied("Changing another user's account needs the admin's permission.")
        return account

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Connect an account (idempotent: a known name is returned, re-enabled if it
        was disconnected, with 200 instead of 201)."""
        body = ConnectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            account, created = connect_user_account(
                user=request.user,
                source=body.validated_data["source"],
                external_username=body.validated_data["external_username"],
                max_accounts=settings.MAX_ACCOUNTS_PER_USER,
            )
        except AccountRefused as error:
            raise AccountConflict(str(error), code=error.code) from error
        except ValueError as error:
            raise ValidationError({"external_username": [str(error)]}) from error
        account = self.get_queryset().get(pk=account.pk)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(AccountSerializer(account).data, status=code)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Disconnect: ingest stops, status becomes ``disabled``; listens are kept."""
        account = disconnect_account(account=self.get_object())
        return Response(AccountSerializer(account).data)

    @extend_schema(
        tags=["accounts"],
        request=None,
        responses={
            202: IngestQueuedSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(description="The account is disconnected (error body)."),
        },
    )
    @action(detail=True, methods=["post"])
    def ingest(self, request: Request, pk: str | None = None) -> Response:
        """Queue an ingest of this account now; it runs on a worker. While one is
        running (``run``) or waiting in the queue (``task``), nothing new is queued
        (``queued`` false)."""
        account = self.get_object()
        if account.source not in POLLED_SOURCES:
            raise AccountNotPolled()
        if not account.enabled:
            raise AccountDisabled()
        asked = request_ingest(account=account)
        body = {
            "account": asked.account_id,
            "queued": asked.queued,
            "task": asked.task,
            "run": asked.run,
        }
        return Response(IngestQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


@extend_schema(
    tags=["auth"],
    responses={
        200: TokenResponseSerializer,
        400: OpenApiResponse(description="Wrong username or password (error body)."),
        429: OpenApiResponse(description="Too many failed logins; see Retry-After (error body)."),
    },
)
@method_decorator(sensitive_post_parameters(), name="dispatch")
class TokenView(ObtainAuthToken):
    """Exchange a username and password for a new API token (``Authorization: Token …``),
    shown in this answer only (only its digest is stored). Each login issues one; the
    newest ``API_TOKENS_PER_USER`` keep working.

    After a few wrong passwords from one client (for one username, or for any), it
    answers 429 with ``Retry-After`` until the window ends; other clients are not
    affected."""

    parser_classes = API_PARSERS  # ObtainAuthToken lists DRF's own

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # No local holds the body: a traceback's variables would show the password.
        wait = login_wait(
            request, request.data.get("username") if hasattr(request.data, "get") else None
        )
        if wait is not None:
            raise Throttled(wait=wait, detail="Too many failed logins.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _, token = issue_api_token(user=serializer.validated_data["user"])
        return Response({"token": token})


class SubmissionTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = SubmissionToken
        fields = ["id", "user", "name", "prefix", "active", "created_at", "last_used_at"]
        fields += ["revoked_at"]
        read_only_fields = ["id", "user", "prefix", "active", "created_at", "last_used_at"]
        read_only_fields += ["revoked_at"]


class NewSubmissionTokenSerializer(SubmissionTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The token itself: shown in this answer only."
    )

    class Meta(SubmissionTokenSerializer.Meta):
        fields = [*SubmissionTokenSerializer.Meta.fields, "token"]


class SubmissionTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="What will use it."
    )


class IssuedTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's secrets of one kind: list, show, make (the secret is in that answer
    only, as ``secret_field``) and revoke (DELETE keeps the row, with ``revoked_at``)."""

    filter_backends: list = []
    new_serializer_class: type[serializers.Serializer]
    secret_field: str

    def user_rows(self, user: Any) -> QuerySet:
        raise NotImplementedError

    def issue(self, *, user: Any, name: str) -> tuple[Any, str]:
        raise NotImplementedError

    def revoke(self, row: Any) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        return self.user_rows(self.request.user).select_related("user")

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except Http404 as error:
            raise NotFound() from error

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = SubmissionTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row, secret = self.issue(user=request.user, name=body.validated_data.get("name", ""))
        setattr(row, self.secret_field, secret)
        return Response(self.new_serializer_class(row).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.revoke(self.get_object())
        return Response(self.get_serializer_class()(row).data)


def issued_token_schema(tag: str, shown: type, new: type) -> Callable[[type], type]:
    """How the API docs describe an ``IssuedTokenViewSet``: ``shown`` is a row's
    serializer, ``new`` the one answering its creation, with the secret."""
    return extend_schema_view(
        list=extend_schema(tags=[tag]),
        retrieve=extend_schema(tags=[tag], responses={200: shown}),
        create=extend_schema(
            tags=[tag], request=SubmissionTokenCreateSerializer, responses={201: new}
        ),
        destroy=extend_schema(
            tags=[tag], responses={200: OpenApiResponse(shown, description="Revoked.")}
        ),
    )


@issued_token_schema("submission tokens", SubmissionTokenSerializer, NewSubmissionTokenSerializer)
class SubmissionTokenViewSet(IssuedTokenViewSet):
    """Your tokens for the ListenBrainz-compatible /1/ API (players submit listens
    with one). The token itself is in the answer to its creation only; revoking
    (DELETE) keeps the row, with ``revoked_at``, and the token stops working."""

    serializer_class = SubmissionTokenSerializer
    new_serializer_class = NewSubmissionTokenSerializer
    secret_field = "token"

    def user_rows(self, user: Any) -> QuerySet[SubmissionToken]:
        return user_submission_tokens(user=user)

    def issue(self, *, user: Any, name: str) -> tuple[SubmissionToken, str]:
        return create_submission_token(user=user, name=name)

    def revoke(self, row: SubmissionToken) -> SubmissionToken:
        return revoke_submission_token(token=row)


class ScrobbleSessionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ScrobbleSession
        fields = ["id", "user", "name", "prefix", "api_key", "active", "created_at"]
        fields += ["last_used_at", "revoked_at"]
        read_only_fields = [f for f in fields if f != "name"]


class NewScrobbleSessionSerializer(ScrobbleSessionSerializer):
    session_key = serializers.CharField(
        read_only=True, help_text="The session key itself: shown in this answer only."
    )

    class Meta(ScrobbleSessionSerializer.Meta):
        fields = [*ScrobbleSessionSerializer.Meta.fields, "session_key"]


@issued_token_schema("scrobble sessions", ScrobbleSessionSerializer, NewScrobbleSessionSerializer)
class ScrobbleSessionViewSet(IssuedTokenViewSet):
    """Your session keys for the Last.fm-compatible /2.0/ endpoint (``sk``), for clients
    that take one directly; those made through a client's sign-in are listed too. The
    key itself is in the answer to its creation only; DELETE revokes it."""

    serializer_class = ScrobbleSessionSerializer
    new_serializer_class = NewScrobbleSessionSerializer
    secret_field = "session_key"

    def user_rows(self, user: Any) -> QuerySet[ScrobbleSession]:
        return user_scrobble_sessions(user=user)

    def issue(self, *, user: Any, name: str) -> tuple[ScrobbleSession, str]:
        return create_scrobble_session(user=user, name=name)

    def revoke(self, row: ScrobbleSession) -> ScrobbleSession:
        return revoke_scrobble_session(session=row)


router = SimpleRouter()
router.register("accounts", AccountViewSet, basename="api-account")
router.register("submission-tokens", SubmissionTokenViewSet, basename="api-submission-token")
router.register("scrobble-sessions", ScrobbleSessionViewSet, basename="api-scrobble-session")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include(router.urls)),
]
