"""Every management command reports a missing setting as one line and exit status 1."""

from __future__ import annotations

import pytest
from django.core.management import execute_from_command_line

from accounts.models import ExternalAccount, ListenSource
from metadata.models import Recording

pytestmark = pytest.mark.django_db


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
