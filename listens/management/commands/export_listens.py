from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.models import ListenSource
from listens.export_import import export_refusal, export_row
from listens.models import ListenEvent
from sidetrack.commands import SidetrackCommand

CHUNK_SIZE = 2000


class Command(SidetrackCommand):
    help = (
        "Write a user's listens to stdout as ListenBrainz JSON Lines, oldest first. "
        "A listen scrobbled to both Last.fm and ListenBrainz appears once per source "
        "(additional_info.source says which) unless --exclude-duplicates is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="Sidetrack user name")
        parser.add_argument(
            "--source",
            choices=ListenSource.values,
            help="only this source's listens (default: all)",
        )
        parser.add_argument(
            "--exclude-duplicates",
            action="store_true",
            help="Leave out listens marked as the other source's copy of a listen",
        )

    def handle(
        self,
        *args: Any,
        user: str,
        source: str | None,
        exclude_duplicates: bool,
        **options: Any,
    ) -> None:
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No Sidetrack user {user!r}")
        listens = ListenEvent.objects.filter(user=owner)
        if source:
            listens = listens.filter(source=source)
        if exclude_duplicates:
            listens = listens.counted()
        rows = listens.order_by("listened_at", "pk").values_list(
            "listened_at", "artist_name", "track_name", "album_name", "recording__mbid", "source"
        )
        left_out: dict[str, int] = {}
        # A server-side cursor on PostgreSQL: memory stays flat for millions of rows.
        for listened_at, artist, track, album, mbid, listen_source in rows.iterator(
            chunk_size=CHUNK_SIZE
        ):
            refusal = export_refusal(listened_at=listened_at, artist_name=artist, track_name=track)
            if refusal is not None:
                left_out[refusal] = left_out.get(refusal, 0) + 1
                continue
            row = export_row(
                listened_at=listened_at,
                artist_name=artist,
                track_name=track,
                album_name=album,
                recording_mbid=mbid,
                source=listen_source,
            )
            self.stdout.write(json.dumps(row, ensure_ascii=False))
        # On stderr: stdout is the export. ListenBrainz would refuse these listens.
        for reason, count in sorted(left_out.items()):
            self.stderr.write(f"left out {count} listens ListenBrainz would refuse: {reason}")
