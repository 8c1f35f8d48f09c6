from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.debug import sensitive_post_parameters

from sidetrack.login_throttle import login_wait

logger = logging.getLogger(__name__)


def health(request: HttpRequest) -> JsonResponse:
    """Ingest health for load balancers and operators: 200 while the database
    answers; the body says how deep the task queue is and which accounts fail.

    Counts only, no names: the endpoint needs no login.
    """
    body: dict[str, object] = {"status": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = "ok"
    except Exception:  # report, don't crash: this endpoint exists to say what is down
        logger.exception("health: database unavailable")
        return JsonResponse({"status": "down", "database": "unavailable"}, status=503)

    from accounts.models import ExternalAccount
    from metadata.models import Recording

    statuses = dict(_count_by_status())
    body["accounts"] = {
        "failing": statuses.get(ExternalAccount.Status.ERROR, 0),
        "retrying": statuses.get(ExternalAccount.Status.RETRYING, 0),
        "ok": statuses.get(ExternalAccount.Status.OK, 0),
    }
    body["unresolved_recordings"] = Recording.objects.filter(
        status=Recording.Status.UNRESOLVED
    ).count()
    body["queue"] = _queue_depth()
    if body["accounts"]["failing"] or body["queue"].get("status") != "ok":
        body["status"] = "degraded"
    return JsonResponse(body)


def _count_by_status() -> list[tuple[str, int]]:
    from django.db.models import Count

    from accounts.models import ExternalAccount

    return list(
        ExternalAccount.objects.values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
        .order_by()
    )


def _queue_depth() -> dict[str, object]:
    try:
        from django_q.brokers import get_broker

        return {"status": "ok", "depth": get_broker().queue_size()}
    except Exception as error:  # the broker (Redis) may be down while the web app is up
        logger.warning("health: task queue unavailable: %s", type(error).__name__)
        return {"status": "unavailable"}


# Outermost, before the throttle or anything else can fail: the password is marked
# sensitive for the DEBUG page and error reports from the first line on.
@sensitive_post_parameters()
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin's login, refused with 429 while this client has failed too often
    (see ``sidetrack.login_throttle``)."""
    if request.method == "POST":
        wait = login_wait(request, request.POST.get("username"))
        if wait is not None:
            response = HttpResponse(
                f"Too many failed logins. Try again in {wait} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request, extra_context)
