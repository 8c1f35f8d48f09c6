"""Staff powers are model permissions: the API checks the same ``app.action_model``
permissions the admin checks, never ``is_staff`` alone (a staff user without
permissions is refused by the admin, and so by the API)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


class HasActionPermissions(BasePermission):
    """The view's ``required_permissions[action]`` (or ``[method]``), all of them.

    A view lists what each action needs, e.g.
    ``{"list": ("metadata.view_unresolvedrecording",)}``; an action it does not list
    needs nothing beyond the other permission classes."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Any, view: Any) -> bool:
        required = getattr(view, "required_permissions", {})
        key = getattr(view, "action", None) or request.method.lower()
        perms = required.get(key, ())
        return bool(request.user and request.user.is_authenticated) and (
            not perms or request.user.has_perms(perms)
        )
