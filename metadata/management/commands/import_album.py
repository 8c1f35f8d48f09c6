from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from metadata.models import ReleaseGroup
from metadata.services import import_release_group, search_albums
from sidetrack.commands import SidetrackCommand
from sidetrack.http.errors import ExternalApiError


class Command(SidetrackCommand):
    help = (
        "Find an album on MusicBrainz, store its release group, releases and the preferred "
        "release's tracklist, and print what was chosen."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--artist", required=True, help="the album's artist, as written")
        parser.add_argument("--album", required=True, help="the album's title, as written")
        parser.add_argument(
            "--year", type=int, help="year of first release, to tell same-named albums apart"
        )
        parser.add_argument("--country", help="ISO country code preferred for the release")
        parser.add_argument(
            "--pick", type=int, help="Import candidate N (1-based) instead of the top one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        artist, album, year = options["artist"].strip(), options["album"].strip(), options["year"]
        if not artist or not album:
            raise CommandError("--artist and --album must not be blank.")
        try:
            choice = search_albums(artist_name=artist, album_title=album, year=year)
        except ExternalApiError as error:
            raise CommandError(f"MusicBrainz search failed: {error}") from error
        if not choice.ranked:
            raise CommandError(f"No release group on MusicBrainz matches {artist!r} – {album!r}.")

        self.stdout.write(f"Candidates for {artist} – {album}{f' ({year})' if year else ''}:")
        for number, ranked in enumerate(choice.ranked, start=1):
            c = ranked.candidate
            self.stdout.write(
                f"  {number:>2}. {c.credit_display} – {c.title} "
                f"[{c.primary_type or '?'}{''.join('+' + t for t in c.secondary_types)}, "
                f"{c.first_release_date or 'no date'}] {c.mbid}\n"
                f"      {'; '.join(ranked.reasons)}"
            )

        pick = options["pick"]
        if pick is not None:
            if not 1 <= pick <= len(choice.ranked):
                raise CommandError(f"--pick must be between 1 and {len(choice.ranked)}.")
            chosen = choice.ranked[pick - 1]
        elif choice.confident:
            chosen = choice.ranked[0]
        else:
            raise CommandError(
                f"Not sure which one you mean ({choice.reason}). "
                "Choose with --pick N, or narrow with --year."
            )

        try:
            group = import_release_group(mbid=chosen.candidate.mbid, country=options["country"])
        except ExternalApiError as error:
            raise CommandError(f"Importing from MusicBrainz failed: {error}") from error
        self._print_group(group)

    def _print_group(self, group: ReleaseGroup) -> None:
        release = group.preferred_release
        self.stdout.write(self.style.SUCCESS(f"Release group: {group} ({group.mbid})"))
        if release is None:
            self.stdout.write("No release with a tracklist was found.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Preferred release: {release} ({release.mbid})")
            + f"  [{group.releases.count()} releases stored]"
        )
        for track in release.tracks.select_related("recording").order_by(
            "medium_position", "position"
        ):
            length = (
                f"{track.length_ms // 60000}:{track.length_ms // 1000 % 60:02d}"
                if track.length_ms
                else "?:??"
            )
            self.stdout.write(
                f"  {track.medium_position}.{track.number:<4} {track.title} ({length}) "
                f"{track.recording.mbid}"
            )
