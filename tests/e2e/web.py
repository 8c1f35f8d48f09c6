"""The production web server in a subprocess: ``gunicorn sidetrack.wsgi`` on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.e2e.test_ingest_e2e import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(
    env: dict[str, str],
    log: Path,
    *,
    workers: int = 2,
    access_log: bool = True,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[str]:
    """Yield the base URL once ``/health/`` answers; the server is stopped afterwards.
    Its output (a traceback, "database is locked") goes to ``log``. With ``tls``
    (certificate, key) it serves HTTPS."""
    port = free_port()
    access = ["--access-logfile", "-"] if access_log else []
    if tls is not None:
        access += ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "sidetrack.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", str(workers), *access, "--timeout", "120"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        verify: bool | str = str(tls[0]) if tls else True
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{base}/health/", timeout=5, verify=verify).status_code in (
                        200,
                        503,
                    ):
                        break
                except (requests.ConnectionError, requests.Timeout):  # still booting
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
