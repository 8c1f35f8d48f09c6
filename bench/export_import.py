"""Memory of reading an old single-array ListenBrainz export (one line, hundreds of MB).

    .venv/bin/python -m bench.export_import [--size-mb 200]

Writes a synthetic ``<user>_lb-YYYY-MM-DD.json`` of about SIZE MB, then in a fresh
process each reads every listen and prints its peak resident memory: the streamed
reader the importer uses (``listens.export_import.read_export``), and ``json.loads``
of the whole file (what it did before). No database is touched.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READERS = {
    "streamed (read_export)": (
        "from listens.export_import import read_export\nn = sum(1 for _ in read_export(path))\n"
    ),
    "whole file (json.loads)": ("import json\nn = len(json.loads(open(path, 'rb').read()))\n"),
}


def write_export(path: Path, size_mb: int) -> int:
    listens = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        while out.tell() < size_mb * 1_000_000:
            listen = {
                "user_name": "bench",
                "listened_at": 1_500_000_000 + listens * 180,
                "recording_msid": f"{listens:08d}-0000-4000-8000-000000000000",
                "track_metadata": {
                    "artist_name": f"Artist {listens % 997}",
                    "track_name": f"Track {listens % 7919} (Remastered 2011)",
                    "release_name": f"Album {listens % 3001}",
                    "additional_info": {"recording_mbid": None, "duration_ms": 215000},
                },
            }
            out.write(("," if listens else "") + json.dumps(listen))
            listens += 1
        out.write("]")
    return listens


def measure(code: str, path: Path) -> tuple[float, float, str]:
    probe = (
        # Django set up in both, so both peaks include the same base.
        "import os, resource, sys, time, django\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'sidetrack.settings'\n"
        "os.environ['SIDETRACK_ENV_FILE'] = '/nonexistent/.env'\n"
        "django.setup()\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        f"path = {str(path)!r}\n"
        "start = time.perf_counter()\n"
        f"{code}"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(peak - base, time.perf_counter() - start, n)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]), out[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    size_mb = parser.parse_args().size_mb
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bench_lb-2019-03-01.json"
        started = time.perf_counter()
        listens = write_export(path, size_mb)
        size = path.stat().st_size / 1e6
        print(
            f"export: {size:.0f} MB on one line, {listens} listens "
            f"(written in {time.perf_counter() - started:.0f} s)"
        )
        for name, code in READERS.items():
            peak, seconds, n = measure(code, path)
            print(
                f"{name:>24}: peak RSS +{peak:5.0f} MB ({peak / size:.2f}x the file), "
                f"{seconds:5.1f} s, {n} listens"
            )


if __name__ == "__main__":
    main()
