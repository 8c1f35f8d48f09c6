"""The base of every Sidetrack management command."""

from __future__ import annotations

from typing import Any

from django.core.checks.registry import registry
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from sidetrack.checks import EXTERNAL_SETTINGS_TAG


class SidetrackCommand(BaseCommand):
    """System checks without the external-service warnings. A missing or invalid
    setting (a client factory's ``ImproperlyConfigured`` naming the variable) ends
    the command with that one line on stderr and exit status 1, as any
    ``CommandError`` does, instead of a traceback."""

    def check(self, app_configs: Any = None, tags: Any = None, **kwargs: Any) -> None:
        # Not the external-service warnings first (ten lines before the one that
        # matters): a command that needs a missing variable names it itself.
        if tags is None:
            tags = [tag for tag in registry.tags_available() if tag != EXTERNAL_SETTINGS_TAG]
        super().check(app_configs=app_configs, tags=tags, **kwargs)

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
