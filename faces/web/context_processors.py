from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {"open_signup": settings.SIDETRACK_OPEN_SIGNUP}
