"""The page where a signed-in member allows (or denies) a Last.fm-protocol client's
request token: the desktop/web flow of ``/2.0/`` (``auth.getToken`` → this page →
``auth.getSession``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.scrobble_auth import decide_auth_request, pending_auth_request


@require_GET
def lastfm_auth_redirect(request: HttpRequest) -> HttpResponse:
    """``/api/auth/?api_key=…&token=…``: where Last.fm-protocol clients (pylast,
    GNU FM-configurable players) send the user, built from the server's address."""
    query = urlencode(
        {key: request.GET[key] for key in ("api_key", "token", "cb") if key in request.GET}
    )
    return HttpResponseRedirect(f"{reverse('web:lastfm_approve')}?{query}")


@login_required
@require_http_methods(["GET", "POST"])
def approve_lastfm_client(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    token = data.get("token", "")
    api_key = data.get("api_key", "")
    pending = pending_auth_request(token=token, api_key=api_key)
    context: dict[str, object] = {"pending": pending, "token": token, "api_key": api_key}
    if pending is None:
        return render(request, "web/lastfm_approve.html", context, status=404)
    if request.method == "POST":
        approve = data.get("decision") == "approve"
        context["decided"] = decide_auth_request(token=token, user=request.user, approve=approve)
        context["approved"] = approve
        context["posted"] = True
    return render(request, "web/lastfm_approve.html", context)
