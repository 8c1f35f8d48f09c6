"""``manage.py nomination_standings``: the standings as operators read them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.api.conftest import make_account, make_listen
from tests.clubs.conftest import T0, make_club, nominate

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("nomination_standings", *args, stdout=out)
    return out.getvalue()


def test_prints_members_best_first_with_totals_and_the_curation_link(world, alice, bob):
    nomination = nominate(make_club(alice, bob), world.studio, ends_at=T0 + timedelta(days=7))
    alice_fm, bob_fm = make_account(alice), make_account(bob)
    for n, song in enumerate(world.songs):
        make_listen(alice_fm, at=T0 + timedelta(minutes=4 * n), recording=song, track=song.title)
    make_listen(bob_fm, at=T0 + timedelta(hours=3), recording=world.songs[0], track="Song 1")
    make_listen(
        bob_fm,
        at=T0 + timedelta(hours=4),
        track="Sng 2",
        artist="The Weeknights",
        album="Night Drive",
    )

    lines = run(str(nomination.pk)).splitlines()

    assert lines[0] == (
        "The Weeknights – Night Drive in Sunday Album Club, "
        "2024-05-01 20:00 to 2024-05-08 20:00 UTC (10 tracks, 2 bonus)"
    )
    assert lines[2].split() == ["1", "alice", "10/10", "100%", "10", "1", "2024-05-01", "20:36"]
    assert lines[3].split() == ["2", "bob", "1/10", "10%", "1", "0", "2024-05-01", "23:00", "1"]
    assert lines[4].startswith("club: 2/2 members started, 1 with a full listen, 11 listens")
    assert lines[5] == (
        "listens of this album waiting for curation: 1 "
        "(curate them at /admin/metadata/unresolvedrecording/?album_name__icontains=Night+Drive)"
    )


def test_an_unknown_nomination_is_an_error():
    with pytest.raises(CommandError, match="No nomination 404"):
        run("404")
