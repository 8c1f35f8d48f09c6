"""What Django's DEBUG error page may show: no credentials, whatever holds them."""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ — the password part of any URL (DATABASE_URL, REDIS_URL,
# the cache LOCATION and django-q2's broker, which are copies of them).
_URL_PASSWORD_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/@\s:]*):[^/@\s]*@")
HIDDEN = SafeExceptionReporterFilter.cleansed_substitute


def without_url_passwords(text: str) -> str:
    return _URL_PASSWORD_RE.sub(rf"\1:{HIDDEN}@", text)


class CredentialHidingReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings and request headers *named* like secrets
    (``PASSWORD``, ``SECRET_KEY``…). ``DATABASE_URL`` is not named so, and under
    ``runserver`` the environment is part of ``request.META``: passwords inside
    URLs are hidden too, in settings, META and the traceback's local variables. It
    filters with DEBUG on too: sensitive POST parameters (the login's password) never
    appear on the DEBUG page."""

    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern + "|DATABASE_URL|REDIS_URL",
        flags=re.IGNORECASE,
    )

    def is_active(self, request: Any) -> bool:
        # Django filters only with DEBUG off; a DEBUG page shown to whoever made the
        # request (a failing login) would then show the password they typed.
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return without_url_passwords(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, self.cleanse_setting("", value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
