from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clubs.models import Nomination
from clubs.selectors import nomination_standings


class Command(BaseCommand):
    help = (
        "Print a nomination's standings: every member's progress on the nominated album "
        "since the nomination started, best first, with the club's totals."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("nomination", type=int, help="Nomination id (see the admin)")

    def handle(self, *args: Any, **options: Any) -> None:
        nomination = (
            Nomination.objects.select_related("club", "release_group__artist_credit")
            .filter(pk=options["nomination"])
            .first()
        )
        if nomination is None:
            raise CommandError(f"No nomination {options['nomination']}.")
        standings = nomination_standings(nomination=nomination, now=timezone.now())
        album = standings.album
        self.stdout.write(
            f"{album.artist_credit} – {album.title} in {nomination.club.name}, "
            f"{nomination.starts_at:%Y-%m-%d %H:%M} to {standings.until:%Y-%m-%d %H:%M} UTC "
            f"({len(album.tracklist)} tracks, {len(album.bonus)} bonus)"
        )
        self.stdout.write(
            f"{'#':>3}  {'member':20} {'heard':>7} {'share':>6} {'listens':>8} "
            f"{'full':>5}  {'last listen':16} {'unresolved':>10}"
        )
        for rank, member in enumerate(standings.members, start=1):
            p = member.progress
            last = f"{p.last_listen:%Y-%m-%d %H:%M}" if p.last_listen else "-"
            self.stdout.write(
                f"{rank:>3}  {member.username[:20]:20} {p.heard:>3}/{p.tracklist_size:<3} "
                f"{p.share_heard:>6.0%} {p.listen_count:>8} {len(p.full_listens):>5}  "
                f"{last:16} {member.unresolved_listens or '':>10}"
            )
        totals = standings.totals
        self.stdout.write(
            f"club: {totals['members_started']}/{totals['members']} members started, "
            f"{totals['members_finished']} with a full listen, {totals['listens']} listens, "
            f"{totals['full_listens']} full listens, "
            f"{totals['share_heard_by_club']:.0%} of the tracklist heard by someone"
        )
        if totals["unresolved_listens"]:
            self.stdout.write(
                f"listens of this album waiting for curation: {totals['unresolved_listens']} "
                f"(curate them at {standings.unresolved_url})"
            )
