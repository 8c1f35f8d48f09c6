"""The OpenAPI schema is served, public, validates without a warning, and its docs
page works offline."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
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


def test_schema_and_docs_are_public(client):
    # They describe the API's shape, never data (README, "REST API").
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/listens/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/listens/").status_code in (401, 403)


def test_docs_page_loads_only_installed_local_assets(client):
    page = client.get("/api/docs/").content.decode()

    # Every URL the page names, in attributes or in its inline script.
    urls = set(re.findall(r"""(?:src|href)=["']([^"']+)["']""", page))
    urls |= set(re.findall(r"""["'`]((?:https?:)?//[^"'`\s]+)["'`]""", page))
    assert urls, page[:500]
    external = sorted(url for url in urls if re.match(r"(https?:)?//", url))
    assert external == []
    assert "validator.swagger.io" not in page  # Swagger UI's online validator is off
    for url in urls:
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        # ...and each is a file of the installed sidecar package.
        assert finders.find(url.removeprefix("/static/")), url
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/listens/" in target.read_text()
