"""The wheel is the whole application: what the code loads, the wheel holds.

The wheel is built from this checkout and unpacked into a directory that is the only
place Sidetrack can be imported from (the checkout is left off ``sys.path``), the way
an installed package runs on a host that never saw the source tree.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("sidetrack", "accounts", "metadata", "listens", "clubs", "faces")
TEMPLATE_NAME = re.compile(r"""["']((?:[\w.-]+/)*[\w.-]+\.html)["']""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # pip builds in the source tree (build/, *.egg-info): a copy keeps two suites
    # running side by side (.ci/run) from building in the same place at once.
    source = tmp_path_factory.mktemp("source") / "sidetrack"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "dist", "build", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("sidetrack-*.whl")
    return path


def package_files(pattern: str) -> set[str]:
    """Files of the apps (as paths inside the wheel) that match a glob under each app."""
    return {
        path.relative_to(ROOT).as_posix()
        for app in APPS
        for path in (ROOT / app).glob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    }


def template_names_in_code() -> set[str]:
    """Every template name the apps' code and templates ask for."""
    names: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*"):
            if path.suffix in (".py", ".html") and "migrations" not in path.parts:
                names.update(TEMPLATE_NAME.findall(path.read_text()))
    return names


def test_wheel_holds_every_template_static_file_and_migration_of_the_apps(wheel):
    held = set(zipfile.ZipFile(wheel).namelist())
    shipped = (
        package_files("**/templates/**/*")
        | package_files("**/static/**/*")
        | package_files("**/migrations/*.py")
    )

    assert "metadata/templates/admin/metadata/unresolvedrecording/curate.html" in shipped
    assert shipped - held == set()
    # Nothing at the top level outside the apps: no templates/ or tests/ beside them.
    assert {name.split("/")[0] for name in held} - set(APPS) == {"sidetrack-0.1.0.dist-info"}


def test_every_template_the_code_names_loads_from_the_unpacked_wheel_alone(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    names = sorted(template_names_in_code())
    assert "admin/metadata/unresolvedrecording/scope_buttons.html" in names
    # -S: no site-packages .pth files, so the editable install cannot put the checkout
    # back on sys.path; the dependencies' directory is added by hand after the wheel.
    probe = f"""
import json, sys
sys.path[:] = [{str(site)!r}] + [p for p in sys.path if p and not p.startswith({str(ROOT)!r})]
sys.path.append({sysconfig.get_paths()["purelib"]!r})
import django
django.setup()
from django.conf import settings
from django.template.loader import get_template
import sidetrack
print(json.dumps({{
    "code": sidetrack.__file__,
    "data_dir": str(settings.DATA_DIR),
    "origins": {{n: get_template(n).origin.name for n in {names!r}}},
}}))
"""
    env = {
        "DJANGO_SETTINGS_MODULE": "sidetrack.settings",
        "HOME": str(tmp_path / "home"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-P", "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout)

    assert loaded["code"].startswith(str(site))
    checkout = tuple(f"{ROOT / app}/" for app in APPS)
    assert not [o for o in loaded["origins"].values() if o.startswith(checkout)]
    assert loaded["origins"]["admin/metadata/unresolvedrecording/curate.html"].startswith(str(site))
    # An installed package keeps its data in the per-user data directory, never beside
    # its code.
    assert loaded["data_dir"] == str(tmp_path / "home" / ".local" / "share" / "sidetrack")
