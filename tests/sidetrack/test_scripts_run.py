"""``scripts/run`` as a newcomer meets it: a fresh data directory, then its output."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.web import free_port

ROOT = Path(__file__).resolve().parents[2]


def run_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    drop = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SIDETRACK_ENV_FILE", "ALLOWED_HOSTS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(SIDETRACK_DATA_DIR=str(data_dir), Q_WORKERS="1", **extra)
    return env


def test_debug_off_is_refused_with_a_sentence_naming_the_deployment_steps(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "run")],
        env=run_environment(tmp_path, DEBUG="false"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "scripts/run is for one machine in DEBUG mode (the development server serves static "
        "files, and logins work over plain http); with DEBUG=false follow README.md, "
        '"Deploying": collectstatic, then gunicorn behind HTTPS.'
    ]
    assert not (tmp_path / "db.sqlite3").exists()


def test_a_first_run_listening_on_all_interfaces_says_once_what_a_newcomer_needs(tmp_path):
    port = free_port()
    output = tmp_path / "run.log"
    with output.open("w") as log:
        run = subprocess.Popen(
            [str(ROOT / "scripts" / "run")],
            env=run_environment(tmp_path / "data", SIDETRACK_ADDR=f"0.0.0.0:{port}"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while "Ctrl-C stops" not in output.read_text():
                assert run.poll() is None, output.read_text()[-3000:]
                assert time.monotonic() < deadline, output.read_text()[-3000:]
                time.sleep(0.3)
        finally:
            run.send_signal(signal.SIGTERM)
            try:
                run.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    lines = output.read_text().splitlines()

    # Its own files in the data directory it was given, none in the checkout.
    assert {p.name for p in (tmp_path / "data").iterdir()} >= {".env", "db.sqlite3"}
    assert "DEBUG=true" in (tmp_path / "data" / ".env").read_text().splitlines()
    assert [line for line in lines if "Watching for file changes" in line] == [
        next(line for line in lines if "Watching for file changes" in line)
    ]
    assert not [line for line in lines if "WARNING: Location" in line or "!!" in line]
    assert not [line for line in lines if "Please be careful" in line]
    assert any(line.startswith("Admin login: admin / ") for line in lines)
    assert any(
        "Other machines get 400 Bad Request unless the name they use is in ALLOWED_HOSTS" in line
        for line in lines
    )
