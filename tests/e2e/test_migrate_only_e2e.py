"""A new deployment's whole set-up is ``manage.py migrate``.

On an empty database (a SQLite file, or a throwaway PostgreSQL database when
DATABASE_URL names a server) this runs exactly ``migrate`` and then uses the app
as a newcomer would, every piece in its own process against the emulator: the
REST API behind gunicorn (anonymous and with a token), ``import_album``,
``ingest`` and ``resolve_unresolved``. No ``createcachetable``, no other step:
before the cache table came from a migration, every /api/ request answered 500
(``no such table: sidetrack_cache``: throttling reads the cache) and so did
the MusicBrainz commands (their rate limiter lives in the cache).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.test_ingest_e2e import (
    API_KEY,
    POSTGRES_SCHEMES,
    Database,
    base_environment,
    describe,
    manage,
    throwaway_postgres,
)
from tests.e2e.web import gunicorn
from tests.emulator import Emulator, World

ARTIST, ALBUM = "Nadia Reid", "Out of My Province"
TRACKS = ("The Arrow & the Song", "Other Side of Gold", "Oh Canada")
LISTENER = "newcomer_lfm"


@pytest.fixture
def empty_database(tmp_path) -> Iterator[Database]:
    server = os.environ.get("DATABASE_URL", "")
    if urlsplit(server).scheme in POSTGRES_SCHEMES:
        with throwaway_postgres(server) as db:
            yield db
    else:
        path = tmp_path / "fresh.sqlite3"
        yield Database(url=f"sqlite:///{path}", sqlite_path=path)


def newcomer_world() -> tuple[World, dict[str, str]]:
    """One album on MusicBrainz; a Last.fm history of its tracks without MBIDs (and
    unknown to the mapper), so only the imported tracklist can resolve them."""
    world = World()
    artist = world.catalog.add_artist(ARTIST, type="Person")
    release = world.catalog.add_album(artist, ALBUM, list(TRACKS))
    world.add_user(LISTENER, listenbrainz=False)
    mbids = {}
    for n, track in enumerate(release.media[0]):
        recording = track.recording
        mbids[recording.title] = recording.mbid
        world.scrobble(LISTENER, 1_700_000_000 + 600 * n, recording, with_mbids=False, mapped=False)
    return world, mbids


def test_after_migrate_alone_the_api_and_every_command_work(empty_database, tmp_path):
    world, mbids = newcomer_world()
    with Emulator(world, lastfm_api_keys={API_KEY}) as emu:
        env = base_environment(empty_database, **emu.env, DEBUG="false")

        migrated = manage(env, "migrate", "--noinput")
        assert migrated.returncode == 0, describe(migrated)

        with gunicorn(env, tmp_path / "web.log") as web:
            # Anonymous: public docs, a JSON refusal elsewhere (both pass the throttle).
            assert requests.get(f"{web}/api/schema/", timeout=30).status_code == 200
            # Pages naming static files render before any collectstatic.
            assert requests.get(f"{web}/api/docs/", timeout=30).status_code == 200
            assert requests.get(f"{web}/admin/login/", timeout=30).status_code == 200
            refused = requests.get(f"{web}/api/listens/", timeout=30)
            assert refused.status_code in (401, 403), refused.text
            assert set(refused.json()["error"]) >= {"code", "message"}

            admin = manage(env, "ensure_admin")
            assert admin.returncode == 0, describe(admin)
            password = re.search(r"Admin login: admin / (\S+)", admin.stdout).group(1)
            token = requests.post(
                f"{web}/api/auth/token/",
                data={"username": "admin", "password": password},
                timeout=30,
            )
            assert token.status_code == 200, token.text
            api = requests.Session()
            api.headers["Authorization"] = f"Token {token.json()['token']}"

            connected = api.post(
                f"{web}/api/accounts/",
                json={"source": "lastfm", "external_username": LISTENER},
                timeout=30,
            )
            assert connected.status_code == 201, connected.text

            ingested = manage(env, "ingest", "--user", "admin")
            assert ingested.returncode == 0, describe(ingested)
            imported = manage(env, "import_album", "--artist", ARTIST, "--album", ALBUM)
            assert imported.returncode == 0, describe(imported)
            assert "Release group:" in imported.stdout
            resolved = manage(env, "resolve_unresolved")
            assert resolved.returncode == 0, describe(resolved)
            assert resolved.stdout.startswith("Resolved 3, still unresolved 0, errors 0")

            listens = api.get(f"{web}/api/listens/", timeout=30)
            assert listens.status_code == 200, listens.text
            shown = {
                row["track_name"]: row["recording"]["mbid"] for row in listens.json()["results"]
            }
            assert shown == mbids
            top = api.get(f"{web}/api/stats/top-recordings/", timeout=30)
            assert top.status_code == 200, top.text
            assert {row["mbid"] for row in top.json()["results"]} == set(mbids.values())
        assert not emu.errors, emu.errors[0]
