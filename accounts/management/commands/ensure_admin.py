from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model

from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = "Create the local admin login (printed once) unless it exists."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--username", default="admin", help="the login to create (default: admin)"
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Set and print a new password for an existing login.",
        )

    def handle(self, *args: Any, username: str, reset: bool, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None and not reset:
            self.stdout.write(
                f"Admin login: {username} (password printed when it was created; "
                f"new one: manage.py ensure_admin --reset)"
            )
            return
        password = secrets.token_urlsafe(12)
        if user is None:
            user_model.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        self.stdout.write(self.style.SUCCESS(f"Admin login: {username} / {password}  (at /admin/)"))
