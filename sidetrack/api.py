"""Shared REST API pieces: one error body shape for every failure, and its schema."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import (
    ImproperlyConfigured,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from sidetrack.http.errors import ExternalApiError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """``{"error": {"code", "message", "detail"?}}`` for every error response.

    Upstream failures become 502/503 with the (secret-free) service message;
    a missing setting becomes 503 naming the variable.
    """
    if isinstance(exc, ExternalApiError):
        code = "upstream_unavailable" if exc.retryable else "upstream_error"
        http_status = (
            status.HTTP_503_SERVICE_UNAVAILABLE if exc.retryable else status.HTTP_502_BAD_GATEWAY
        )
        body = {"error": {"code": code, "message": str(exc), "service": exc.service}}
        response = Response(body, status=http_status)
        if exc.retry_after:
            response["Retry-After"] = str(int(exc.retry_after))
        return response
    if isinstance(exc, ImproperlyConfigured):
        body = {"error": {"code": "not_configured", "message": str(exc)}}
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)

    # Django refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE or with more than
    # DATA_UPLOAD_MAX_NUMBER_FIELDS fields when DRF reads them: 413, not a 500.
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = PayloadTooLarge("The request has too many fields.", code="too_many_fields")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request is malformed.", code="bad_request")
    # Django's own 404/403 get DRF's codes too.
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    codes = exc.get_codes() if hasattr(exc, "get_codes") else None
    code = (
        codes if isinstance(codes, str) else "invalid" if response.status_code == 400 else "error"
    )
    message = detail.get("detail") if isinstance(detail, dict) and "detail" in detail else None
    error: dict[str, Any] = {
        "code": code,
        "message": str(message or _summary(response.status_code)),
    }
    if message is None:
        error["detail"] = detail
    response.data = {"error": error}
    return response


def _summary(status_code: int) -> str:
    return {400: "The request is invalid.", 404: "Not found."}.get(status_code, "Request failed.")


class DefaultPagination(LimitOffsetPagination):
    # Without a cap, ?limit=9223372036854775808 reaches the database and fails there.
    max_limit = 1000


# --- The error body in the schema (what exception_handler returns) ----------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.JSONField(required=False, help_text="Field errors, when there are any.")
    service = serializers.CharField(required=False, help_text="The upstream service that failed.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


def upstream_errors(service: str) -> dict[int, OpenApiResponse]:
    """The 502 and 503 answers of a view that calls ``service`` (see exception_handler)."""
    return {
        502: error_response(f"{service} refused or failed the request."),
        503: error_response(f"{service} is unavailable or rate limiting; retry later."),
    }


class JsonNotFoundMixin:
    """``get_object``'s Django ``Http404`` as DRF's ``NotFound``, so the error body
    carries the ``not_found`` code (the shared handler reads codes off DRF exceptions)."""

    def get_object(self) -> Any:
        try:
            return super().get_object()  # type: ignore[misc]
        except Http404 as error:
            raise exceptions.NotFound() from error
