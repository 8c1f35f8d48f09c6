from __future__ import annotations

from typing import Any

from accounts.scrobble_auth import create_scrobble_api_key
from sidetrack.commands import SidetrackCommand


class Command(SidetrackCommand):
    help = (
        "Issue an API key and secret for a Last.fm-protocol client of /2.0/ (its requests "
        "must then be signed). Prints 'api_key secret' on the last line, alone, for scripts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The client it is for, e.g. MyPlayer.")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        row = create_scrobble_api_key(name=name)
        self.stderr.write(
            f"API key for {row.name}: configure the client with this key and secret; "
            "requests with this key must carry a valid api_sig."
        )
        self.stdout.write(f"{row.key} {row.secret}")
