"""Sign in, sign out, password change, and sign-up (open, or by club invitation)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters

from faces.web import invitations
from faces.web.forms import SignUpForm
from sidetrack.login_throttle import login_wait


class SignInView(auth_views.LoginView):
    template_name = "web/signin.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The same guessing limits as the admin's login and the API's token endpoint.
        wait = login_wait(request, request.POST.get("username"))
        if wait is not None:
            form = self.get_form()
            form.errors.clear()
            context = {**self.get_context_data(form=form), "throttled": wait}
            response = render(request, self.template_name, context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


signin = sensitive_post_parameters("password")(SignInView.as_view())
signout = auth_views.LogoutView.as_view()
password_change = auth_views.PasswordChangeView.as_view(
    template_name="web/password_change.html",
    success_url=reverse_lazy("web:home"),
    extra_context={"nav": "account"},
)


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    """Open self-registration, only when the operator turned it on."""
    if not settings.SIDETRACK_OPEN_SIGNUP:
        raise Http404("Sign-up is by invitation only.")
    if request.user.is_authenticated:
        return redirect("web:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Connect a source to see your listening.")
        return redirect("web:sources")
    return render(request, "web/signup.html", {"form": form})


@sensitive_post_parameters("password1", "password2")
def join(request: HttpRequest, code: str) -> HttpResponse:
    """A club invitation link: a new person creates a login and joins in one step; a
    signed-in member accepts or declines."""
    preview = invitations.invitation_preview(code=code, user=request.user)
    if preview is None:
        return _invalid(request, "The invitation is unknown, expired, used up or withdrawn.")
    if preview.addressed_to and not request.user.is_authenticated:
        # Addressed to an existing login: its owner signs in to answer it.
        return render(request, "web/signup.html", {"invitation": preview})
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                if "decline" in request.POST:
                    invitations.invitation_decline(code=code, user=request.user)
                    messages.info(request, f"You declined the invitation to {preview.club_name}.")
                    return redirect("web:clubs")
                club_id = invitations.invitation_accept(code=code, user=request.user)
            except invitations.InvitationUnavailable as error:
                return _invalid(request, str(error))
            messages.success(request, f"You joined {preview.club_name}.")
            return redirect("web:club", club_id=club_id)
        return render(request, "web/signup.html", {"invitation": preview})
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
                club_id = invitations.invitation_accept(code=code, user=user)
        except invitations.InvitationUnavailable as error:
            return _invalid(request, str(error))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to {preview.club_name}! Connect a source next.")
        return redirect(reverse("web:club", kwargs={"club_id": club_id}))
    return render(request, "web/signup.html", {"form": form, "invitation": preview})


def _invalid(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "web/invitation_invalid.html", {"reason": reason}, status=404)
