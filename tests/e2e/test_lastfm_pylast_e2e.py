"""pylast, a real Last.fm client, against gunicorn serving HTTPS (pylast speaks nothing
else) with a certificate made here and trusted through ``SSL_CERT_FILE`` in pylast's
process: it gets a session key through the web flow (a signed-in member approves the
request on Sidetrack's page), updates now playing and scrobbles; the listens are stored.
Its md5-of-password login (``authToken``) is refused with Last.fm's error 4."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.test_ingest_e2e import ROOT, base_environment, describe, manage
from tests.e2e.web import gunicorn
from tests.scale._support import scratch_database, stored_listens

NOW = int(time.time())
PASSWORD = "alice-e2e-password-1"

# Runs in its own process so that SSL_CERT_FILE is read when pylast builds its SSL
# context (at import). Lines on stdout are JSON; it waits for a line on stdin while
# the member approves.
PYLAST_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import pylast

    base, api_key, secret, now = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    host = base.split("://", 1)[1]
    network = pylast.LastFMNetwork(api_key=api_key, api_secret=secret)
    network.ws_server = (host, "/2.0/")  # as for Libre.fm: the server is configurable
    network.homepage = base
    try:
        pylast.SessionKeyGenerator(network).get_session_key("alice", pylast.md5("guess"))
    except pylast.WSError as error:
        print(json.dumps({"md5_login": [error.status, error.details]}), flush=True)
    generator = pylast.SessionKeyGenerator(network)
    url = generator.get_web_auth_url()
    print(json.dumps({"url": url}), flush=True)
    sys.stdin.readline()  # approved
    network.session_key = generator.get_web_auth_session_key(url)
    network.update_now_playing(artist="Comete", title="On Air", album="Live", duration=200)
    network.scrobble(artist="Rick Astley", title="Never Gonna Give You Up",
                     timestamp=now - 600, album="Whenever You Need Somebody")
    network.scrobble_many([
        {"artist": "Comete", "title": f"Track {i}", "timestamp": now - 500 + i}
        for i in range(60)
    ])
    print(json.dumps({"done": True}), flush=True)
    """
)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return cert, key


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, Path, dict[str, str], object]]:
    where = tmp_path_factory.mktemp("lastfm_tls")
    cert, key = self_signed_certificate(where)
    with scratch_database(where) as db:
        env = base_environment(db, DEBUG="false", ALLOWED_HOSTS="127.0.0.1")
        made = manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user('alice', password='{PASSWORD}')",
        )
        assert made.returncode == 0, describe(made)
        with gunicorn(env, where / "web.log", tls=(cert, key)) as web:
            yield web, cert, env, db


def approve(base: str, cert: Path, url: str) -> None:
    """A member signs in and allows the request on Sidetrack's page, as in a browser
    (CSRF token and, over HTTPS, a same-origin Referer)."""
    browser = requests.Session()
    # Per request: a session's own ``verify`` loses to REQUESTS_CA_BUNDLE when set.
    verify = str(cert)
    page = browser.get(url, timeout=30, verify=verify)  # /api/auth/ → approval page → sign-in page
    assert "/signin/" in page.url, page.url
    signed_in = browser.post(
        page.url,
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrfmiddlewaretoken": _csrf(page.text),
            "next": re.search(r'name="next" value="([^"]*)"', page.text)[1].replace("&amp;", "&"),
        },
        headers={"Referer": page.url},
        timeout=30,
        verify=verify,
    )
    assert "Allow a scrobbler?" in signed_in.text, signed_in.text[:2000]
    assert "PylastE2E" in signed_in.text  # the issued key's name
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', signed_in.text))
    allowed = browser.post(
        signed_in.url,
        data={**form, "decision": "approve"},
        headers={"Referer": signed_in.url},
        timeout=30,
        verify=verify,
    )
    assert allowed.status_code == 200
    assert "<h1>Allowed</h1>" in allowed.text


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]


def test_pylast_gets_a_session_by_the_web_flow_and_scrobbles_over_https(site):
    base, cert, env, db = site
    issued = manage(env, "scrobble_api_key", "PylastE2E")
    assert issued.returncode == 0, describe(issued)
    api_key, secret = issued.stdout.strip().splitlines()[-1].split()

    client_env = {**env, "SSL_CERT_FILE": str(cert)}
    pylast = subprocess.Popen(
        [sys.executable, "-c", PYLAST_SCRIPT, base, api_key, secret, str(NOW)],
        cwd=ROOT,
        env=client_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        refused = json.loads(pylast.stdout.readline() or "{}")
        assert refused.get("md5_login", [None])[0] == "4", pylast.stderr.read()
        assert "authToken" in refused["md5_login"][1]
        started = json.loads(pylast.stdout.readline() or "{}")
        assert started.get("url", "").startswith(f"{base}/api/auth/?api_key={api_key}&token=")
        approve(base, cert, started["url"])
        pylast.stdin.write("approved\n")
        pylast.stdin.flush()
        out, err = pylast.communicate(timeout=120)
    finally:
        if pylast.poll() is None:
            pylast.kill()
            pylast.wait()
    assert pylast.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"done": True}

    stored = stored_listens(db, user="alice")
    assert ("submitted", "alice", NOW - 600, "Rick Astley", "Never Gonna Give You Up") in stored
    comete = {key for key in stored if key[3] == "Comete"}
    # scrobble_many sent 60 as batches of 50 and 10; now playing was not stored.
    assert comete == {
        ("submitted", "alice", NOW - 500 + i, "Comete", f"Track {i}") for i in range(60)
    }
    assert sum(stored.values()) == 61

    # Now playing is what the member's API shows.
    token = requests.post(
        f"{base}/api/auth/token/",
        json={"username": "alice", "password": PASSWORD},
        verify=str(cert),
        timeout=30,
    ).json()["token"]
    playing = requests.get(
        f"{base}/api/now-playing/",
        headers={"Authorization": f"Token {token}"},
        verify=str(cert),
        timeout=30,
    ).json()
    assert [p["now_playing"]["track_name"] for p in playing if p["now_playing"]] == ["On Air"]
