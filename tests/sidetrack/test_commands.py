"""Every management command reports a missing setting as one line and exit status 1."""

from __future__ import annotations

import pytest
from django.core.management import execute_from_command_line, get_commands, load_command_class

from accounts.models import ExternalAccount, ListenSource
from metadata.models import Recording

pytestmark = pytest.mark.django_db

# What BaseCommand gives every command, with Django's own help.
DJANGO_OPTIONS = {
    "help",
    "version",
    "verbosity",
    "settings",
    "pythonpath",
    "traceback",
    "no_color",
    "force_color",
    "skip_checks",
}


@pytest.fixture
def nothing_configured(settings):
    for name in (
        "SIDETRACK_MUSICBRAINZ_APP_NAME",
        "LASTFM_API_KEY",
        "LASTFM_API_SECRET",
        "LISTENBRAINZ_USER_AGENT",
    ):
        setattr(settings, name, "")
    # Were anything reached, it would be nothing real.
    settings.MUSICBRAINZ_BASE_URL = settings.MBID_MAPPER_BASE_URL = "http://127.0.0.1:9/"
    settings.HTTP_MAX_RETRIES = 0


@pytest.mark.parametrize(
    ("argv", "variable"),
    [
        (
            ["import_album", "--artist", "Weezer", "--album", "Weezer"],
            "SIDETRACK_MUSICBRAINZ_APP_NAME",
        ),
        (["resolve_unresolved"], "SIDETRACK_MUSICBRAINZ_APP_NAME"),
        (["taste_snapshot"], "LASTFM_API_KEY"),
    ],
)
def test_missing_setting_is_one_line_and_exit_status_1(
    argv, variable, nothing_configured, alice, capsys
):
    ExternalAccount.objects.create(user=alice, source=ListenSource.LASTFM, external_username="a")
    Recording.objects.create(
        status=Recording.Status.UNRESOLVED, title="T", artist_name="A", unresolved_key="k"
    )

    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", *argv, "--skip-checks"])

    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"CommandError: {variable} is not set: set the {variable} environment variable to use "
        + (
            "MusicBrainz lookups and track resolution."
            if "MUSICBRAINZ" in variable
            else "Last.fm ingest."
        )
    ]


def test_without_skip_checks_the_missing_setting_is_still_the_only_line(nothing_configured, capsys):
    # The way a newcomer types it: system checks run first.
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "import_album", "--artist", "W", "--album", "W"])

    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "CommandError: SIDETRACK_MUSICBRAINZ_APP_NAME is not set: set the "
        "SIDETRACK_MUSICBRAINZ_APP_NAME environment variable to use MusicBrainz lookups "
        "and track resolution."
    ]


def test_the_check_command_still_names_every_missing_variable(nothing_configured, capsys):
    with pytest.raises(SystemExit):
        execute_from_command_line(["manage.py", "check", "--fail-level", "WARNING"])

    err = capsys.readouterr().err
    assert [f"sidetrack.W00{n}" in err for n in range(1, 5)] == [True] * 4


def sidetrack_commands() -> list[tuple[str, str]]:
    ours = ("sidetrack", "accounts", "metadata", "listens", "clubs")
    return sorted((name, app) for name, app in get_commands().items() if app in ours)


@pytest.mark.parametrize(("name", "app"), sidetrack_commands())
def test_every_argument_of_a_sidetrack_command_says_what_it_is_in_help(name, app):
    parser = load_command_class(app, name).create_parser("sidetrack", name)
    ours = [a for a in parser._actions if a.dest not in DJANGO_OPTIONS]

    assert [a.dest for a in ours if not (a.help or "").strip()] == []
