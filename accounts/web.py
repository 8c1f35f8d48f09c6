"""The few server-rendered pages accounts needs before the members' web exists: a
sign-in page, and the page where a signed-in user approves (or denies) a
Last.fm-protocol client's request token (the desktop/web flow of /2.0/)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.scrobble_auth import decide_auth_request, pending_auth_request
from sidetrack.login_throttle import login_wait


class ThrottledLoginView(LoginView):
    """Django's sign-in page, refused with 429 while the client or the username has
    failed too often (``sidetrack.login_throttle``, as the admin's login)."""

    template_name = "registration/login.html"

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wait = login_wait(request, request.POST.get("username"))
        if wait is not None:
            response = HttpResponse(
                f"Too many failed logins. Try again in {wait} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


@require_GET
def lastfm_auth_redirect(request: HttpRequest) -> HttpResponse:
    """``/api/auth/?api_key=…&token=…``: where Last.fm-protocol clients (pylast,
    GNU FM-configurable players) send the user, built from the server's address."""
    query = urlencode(
        {key: request.GET[key] for key in ("api_key", "token", "cb") if key in request.GET}
    )
    return HttpResponseRedirect(f"{reverse('lastfm-approve')}?{query}")


@login_required
@require_http_methods(["GET", "POST"])
def approve_lastfm_client(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    token = data.get("token", "")
    api_key = data.get("api_key", "")
    pending = pending_auth_request(token=token, api_key=api_key)
    context: dict[str, object] = {"pending": pending, "token": token, "api_key": api_key}
    if pending is None:
        return render(request, "lastfm/approve.html", context, status=404)
    if request.method == "POST":
        approve = data.get("decision") == "approve"
        context["decided"] = decide_auth_request(token=token, user=request.user, approve=approve)
        context["approved"] = approve
        context["posted"] = True
    return render(request, "lastfm/approve.html", context)
