"""The README's command table names every option each Sidetrack command has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

README = Path(__file__).resolve().parents[2] / "README.md"
OURS = ("accounts", "listens", "metadata")
# What every Django command accepts (README points at --help for those).
DJANGO_COMMON = {
    "-h",
    "--help",
    "--version",
    "-v",
    "--verbosity",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
}


def sidetrack_commands() -> list[tuple[str, str]]:
    return sorted((name, app) for name, app in get_commands().items() if app in OURS)


@pytest.mark.parametrize(("name", "app"), sidetrack_commands())
def test_readme_lists_every_option_of(name, app):
    parser = load_command_class(app, name).create_parser("manage.py", name)
    options = {
        option
        for action in parser._actions
        for option in action.option_strings
        if option not in DJANGO_COMMON
    }
    rows = [line for line in README.read_text().splitlines() if re.match(rf"\| `{name}\b", line)]
    assert rows, f"no README row for {name}"
    missing = {option for option in options if option not in rows[0]}
    assert not missing, f"README's {name} row lacks {sorted(missing)}"
