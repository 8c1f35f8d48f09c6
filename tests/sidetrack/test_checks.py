from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from sidetrack.checks import check_external_service_settings
from sidetrack.config import require_setting
from sidetrack.http.options import HttpOptions
from sidetrack.http.transport import ServiceHttp

REQUIRED = [
    "SIDETRACK_MUSICBRAINZ_APP_NAME",
    "LASTFM_API_KEY",
    "LASTFM_API_SECRET",
    "LISTENBRAINZ_USER_AGENT",
]


def test_check_names_every_missing_variable(settings):
    for name in REQUIRED:
        setattr(settings, name, "")

    messages = [warning.msg for warning in check_external_service_settings()]

    assert messages == [f"{name} is not set." for name in REQUIRED]


def test_check_is_silent_when_everything_is_set(external_settings):
    assert check_external_service_settings() == []


def test_check_reports_only_what_is_missing(external_settings):
    external_settings.LASTFM_API_KEY = "  "

    warnings = check_external_service_settings()

    assert [w.id for w in warnings] == ["sidetrack.W002"]
    assert "LASTFM_API_KEY" in warnings[0].msg


def test_manage_check_prints_the_missing_variable_and_still_passes(external_settings):
    external_settings.LISTENBRAINZ_USER_AGENT = ""
    out, err = StringIO(), StringIO()

    call_command("check", stdout=out, stderr=err)  # warnings: the app still starts

    assert "LISTENBRAINZ_USER_AGENT is not set" in out.getvalue() + err.getvalue()


def test_require_setting_names_the_variable(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.LASTFM_API_SECRET = ""

    with pytest.raises(ImproperlyConfigured, match="LASTFM_API_SECRET"):
        require_setting("LASTFM_API_SECRET")


def test_service_http_is_importable_without_settings():
    # The HTTP layer takes plain values: clients are testable without Django.
    http = ServiceHttp(service="x", base_url="https://x.test", options=HttpOptions("X/1"))
    assert http.base_url == "https://x.test/"
