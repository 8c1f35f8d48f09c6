from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

from sidetrack.config import REQUIRED_SETTINGS

# Sidetrack's own commands leave these out (sidetrack.commands): the client that needs
# a missing variable says so in one line, and `check`, `migrate`, `runserver` still
# name every missing one at start.
EXTERNAL_SETTINGS_TAG = "sidetrack_external_settings"


@register(EXTERNAL_SETTINGS_TAG)
def check_external_service_settings(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Names every missing external-service variable at startup.

    Warnings rather than errors: a deployment may use only one listen source,
    and the web app must still start; the client that needs a missing variable
    refuses to be built (ImproperlyConfigured naming it).
    """
    return [
        Warning(
            f"{required.name} is not set.",
            hint=f"Set the {required.name} environment variable; {required.needed_for} "
            "will fail until it is.",
            id=f"sidetrack.W{index:03d}",
        )
        for index, required in enumerate(REQUIRED_SETTINGS, start=1)
        if not str(getattr(settings, required.name, "") or "").strip()
    ]
