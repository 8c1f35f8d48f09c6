"""The OpenAPI schema is served and validates without a warning."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_endpoint_serves_every_path(as_alice):
    response = as_alice.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/listens/",
        "/api/now-playing/",
        "/api/accounts/{id}/ingest/",
        "/api/albums/search/",
        "/api/release-groups/import/",
        "/api/stats/top-artists/",
        "/api/stats/taste/",
        "/api/unresolved/{id}/resolve/",
    ):
        assert path in paths


def test_swagger_ui_is_served(as_alice):
    assert as_alice.get("/api/docs/").status_code == 200


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/listens/" in target.read_text()
