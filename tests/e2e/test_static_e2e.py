"""A single box serves itself: with DEBUG off, gunicorn alone serves the admin's
stylesheets and the API docs' files (WhiteNoise, after ``collectstatic``), with
hashed names, compressed, cacheable forever; the docs page loads nothing from
another host."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.test_ingest_e2e import base_environment, describe, manage
from tests.e2e.web import gunicorn
from tests.scale._support import scratch_database


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[str]:
    where = tmp_path_factory.mktemp("static_site")
    with scratch_database(where) as db:
        env = base_environment(db, DEBUG="false", STATIC_ROOT=str(where / "static"))
        collected = manage(env, "collectstatic", "--noinput", "-v", "0")
        assert collected.returncode == 0, describe(collected)
        with gunicorn(env, where / "web.log") as web:
            yield web


def assets(page: str) -> list[str]:
    return re.findall(r"""(?:href|src)=["'](/static/[^"']+)["']""", page)


def test_admin_stylesheet_is_served_hashed_and_compressed(site):
    login = requests.get(f"{site}/admin/login/", timeout=30)
    assert login.status_code == 200
    (base_css,) = [url for url in assets(login.text) if "/admin/css/base." in url]
    assert re.search(r"/admin/css/base\.[0-9a-f]{12}\.css$", base_css), base_css

    css = requests.get(f"{site}{base_css}", headers={"Accept-Encoding": "gzip"}, timeout=30)

    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers.get("Content-Encoding") == "gzip"
    assert "immutable" in css.headers["Cache-Control"]
    assert "body" in css.text


def test_api_docs_load_every_file_from_this_server(site):
    page = requests.get(f"{site}/api/docs/", timeout=30)
    assert page.status_code == 200
    assert not re.search(r"""(?:href|src)=["'](?:https?:)?//""", page.text)
    files = assets(page.text)
    assert any("swagger-ui-bundle" in url for url in files), files
    for url in files:
        answer = requests.get(f"{site}{url}", timeout=30)
        assert answer.status_code == 200, url
