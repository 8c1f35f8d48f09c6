"""Writers that several workers run at once must not deadlock on PostgreSQL.

Found by ``test_multi_worker``: with four workers ingesting accounts whose
histories share tracks, ``store_page`` -> ``recordings_for_tracks`` failed with
"deadlock detected ... while inserting index tuple in relation
metadata_recording" in 5 of 35 ingest runs. Each worker's ``bulk_create(...,
ignore_conflicts=True)`` is one ``INSERT ... ON CONFLICT DO NOTHING`` whose rows
come in page order; a row whose key another open insert has just written waits
for that insert to finish, so two inserts meeting the same keys in opposite
orders wait for each other.

The race is made deterministic here, in a throwaway database, by a trigger
that sleeps before each new ``metadata_recording`` row: both writers have
written their first key before either reaches its second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.scale._support import (
    ROOT,
    base_environment,
    describe,
    is_postgres,
    scratch_database,
)

pytestmark = pytest.mark.skipif(
    not is_postgres(os.environ.get("DATABASE_URL", "")),
    reason="needs a PostgreSQL DATABASE_URL: SQLite runs one writer at a time",
)

SLOW_INSERTS = """
CREATE FUNCTION scale_test_slow_insert() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER scale_test_slow_insert BEFORE INSERT ON metadata_recording
FOR EACH ROW EXECUTE FUNCTION scale_test_slow_insert();
"""

WRITER = """
import json, os, time
from metadata.identity import ReportedTrack, recordings_for_tracks

tracks = [ReportedTrack(artist, title) for artist, title in json.loads(os.environ["TRACKS"])]
time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))
print(len(recordings_for_tracks(tracks)))
"""


def test_two_workers_creating_the_same_recordings_in_opposite_orders_both_succeed(tmp_path):
    import psycopg

    tracks = [["Shared Artist", "First Shared Song"], ["Shared Artist", "Second Shared Song"]]
    with scratch_database(tmp_path) as db:
        with psycopg.connect(db.psycopg_url, autocommit=True) as connection:
            connection.execute(SLOW_INSERTS)
        start_at = time.time() + 4  # both processes have started Django by then
        writers = [
            subprocess.Popen(
                [sys.executable, "manage.py", "shell", "-c", WRITER],
                cwd=ROOT,
                env=base_environment(db, TRACKS=json.dumps(order), START_AT=str(start_at)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for order in (tracks, tracks[::-1])
        ]
        results = []
        for writer in writers:
            out, err = writer.communicate(timeout=60)
            results.append(subprocess.CompletedProcess(writer.args, writer.returncode, out, err))
        (rows,) = db.rows("SELECT COUNT(*) FROM metadata_recording")[0]

    for result in results:
        assert result.returncode == 0, describe(result)
        assert result.stdout.splitlines()[-1] == "2"
    assert rows == 2
