from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "sidetrack.example.org",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SIDETRACK_MUSICBRAINZ_APP_NAME": "Sidetrack/1.0 ( ops@example.org )",
    "LASTFM_API_KEY": "k" * 32,
    "LASTFM_API_SECRET": "s" * 32,
    "LISTENBRAINZ_USER_AGENT": "Sidetrack/1.0 ( ops@example.org )",
}


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    env = {**os.environ, **PRODUCTION_ENV, "SIDETRACK_ENV_FILE": str(tmp_path / "none.env")}

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # The one message: Discord, optional, is not configured (an Info, not a warning).
    output = result.stdout + result.stderr
    assert "identified 1 issue" in output, output
    assert "(discord.I001) Discord is not configured" in output
