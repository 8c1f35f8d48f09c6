"""The base of every Sidetrack management command."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError


class SidetrackCommand(BaseCommand):
    """A missing or invalid setting (a client factory's ``ImproperlyConfigured``
    naming the variable) ends the command with that one line on stderr and exit
    status 1, as any ``CommandError`` does, instead of a traceback."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
