"""client_for builds a service's client from settings and closes it when done."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured

from listens.providers import client_for as source_client_for
from metadata.providers import client_for


def test_the_client_is_closed_when_the_block_ends(settings):
    settings.SIDETRACK_MUSICBRAINZ_APP_NAME = "SidetrackTests/0.1 ( t@example.org )"
    with mock.patch("requests.Session.close", autospec=True) as close:
        with client_for("musicbrainz") as client:
            close.assert_not_called()
        close.assert_called_once_with(client.http.session)


def test_a_missing_setting_is_named(settings):
    settings.SIDETRACK_MUSICBRAINZ_APP_NAME = ""
    with (
        pytest.raises(ImproperlyConfigured, match="SIDETRACK_MUSICBRAINZ_APP_NAME"),
        client_for("musicbrainz"),
    ):
        pass


def test_submitted_listens_have_no_source_client():
    with pytest.raises(ValueError, match="submitted"), source_client_for("submitted"):
        pass
