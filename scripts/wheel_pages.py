"""Check that a running Sidetrack serves its pages and every static file they name.

Run by scripts/check-wheel against gunicorn serving the installed wheel, as a client
behind the README's HTTPS proxy would reach it (``X-Forwarded-Proto: https``).
Usage: wheel_pages.py BASE_URL ADMIN_PASSWORD UNRESOLVED_RECORDING_ID

Add a page to PAGES when the site grows one (members' pages: login=True or False).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from urllib.parse import urljoin

import requests


@dataclass(frozen=True)
class Page:
    path: str
    login: bool
    # Text the page must contain: it rendered, not a login form or an error page.
    expect: str
    # Whether it must name static files (CSS, scripts), each of which must answer.
    assets: bool = True


PAGES = (
    Page("/health/", login=False, expect='"status"', assets=False),
    Page("/api/docs/", login=False, expect="swagger-ui"),
    Page("/api/schema/", login=False, expect="openapi", assets=False),
    Page("/admin/", login=True, expect="Site administration"),
    Page("/admin/metadata/unresolvedrecording/", login=True, expect="Unresolved"),
    Page("/admin/metadata/unresolvedrecording/{recording}/curate/", login=True, expect="Curate"),
    # The members' web (faces/web): its stylesheet must come from the wheel too.
    Page("/signin/", login=False, expect="Sign in"),
    Page("/", login=True, expect="Your listening"),
    Page("/listens/", login=True, expect="Your listens"),
    Page("/sources/", login=True, expect="Your sources"),
    Page("/clubs/", login=True, expect="Your clubs"),
)
STATIC_REF = re.compile(r"""(?:href|src)=["']([^"']*/static/[^"']+)["']""")


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        # The proxy's header (SECURE_PROXY_SSL_HEADER=true): the app sees HTTPS.
        self.session.headers["X-Forwarded-Proto"] = "https"
        self.session.headers["Origin"] = base.replace("http://", "https://")

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        answer = self.session.request(
            method, urljoin(self.base, path), timeout=30, allow_redirects=False, **kwargs
        )
        # Secure cookies come back to this plain-http hop, as they would through the proxy.
        for cookie in self.session.cookies:
            cookie.secure = False
        return answer

    def log_in(self, password: str) -> None:
        form = self.request("GET", "/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, f"/admin/login/ has no login form ({form.status_code})"
        answer = self.request(
            "POST",
            "/admin/login/?next=/admin/",
            data={"username": "admin", "password": password, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": urljoin(self.session.headers["Origin"], "/admin/login/")},
        )
        assert answer.status_code == 302, f"admin login answered {answer.status_code}"


def main(base: str, password: str, recording: str) -> int:
    anonymous, admin = Client(base), Client(base)
    admin.log_in(password)
    failures: list[str] = []
    checked_static: set[str] = set()
    for page in PAGES:
        path = page.path.format(recording=recording)
        answer = (admin if page.login else anonymous).request("GET", path)
        if answer.status_code != 200 or page.expect not in answer.text:
            failures.append(f"{path}: {answer.status_code}, {page.expect!r} not on the page")
            continue
        static = sorted(set(STATIC_REF.findall(answer.text)))
        if page.assets and not static:
            failures.append(f"{path}: names no static files")
        for ref in static:
            if ref in checked_static:
                continue
            checked_static.add(ref)
            asset = anonymous.request("GET", urljoin(urljoin(base, path), ref))
            if asset.status_code != 200 or not asset.content:
                failures.append(f"{path}: {ref} answered {asset.status_code}")
        print(f"ok {path} ({len(static)} static files)")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
