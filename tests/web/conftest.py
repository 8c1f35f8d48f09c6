"""The members' web test world: the clubs' album world, signed-in browsers (Django's
test client with a session) and a reader of the tables a page shows."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.caches import clear_cache
from tests.clubs.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    T0,
    as_alice,
    as_bob,
    carol,
    client_for,
    fast_password_hashing,
    make_club,
    nominate,
    world,
)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def empty_cache():
    """The cache as a fresh install has it. Redis outlives each test while transactional
    tests start ids over: a marker such as "an ingest of account 1 is queued", left by an
    earlier test, would otherwise stop this test's account 1 from being fetched."""
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def web_alice(alice) -> Client:
    return signed_in(alice)


@pytest.fixture
def web_bob(bob) -> Client:
    return signed_in(bob)


class _Tables(HTMLParser):
    """Rows of cell texts of every ``<table data-table="name">`` on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self._table = attrs["data-table"]
            self.tables[self._table] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table and not self._in_head:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: bytes | str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    return parser.tables
