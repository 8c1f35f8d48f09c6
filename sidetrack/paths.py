"""Where Sidetrack keeps its data by default: never inside the installed code."""

from __future__ import annotations

import os
from pathlib import Path

# The directory holding the sidetrack package: the project root in a source checkout,
# site-packages in an installed wheel.
_CODE_ROOT = Path(__file__).resolve().parent.parent


def is_source_checkout(root: Path = _CODE_ROOT) -> bool:
    """Whether the code runs from a source checkout (editable install or manage.py)."""
    return (root / "manage.py").is_file() and (root / "pyproject.toml").is_file()


def default_data_dir(root: Path = _CODE_ROOT, environ: os._Environ | dict | None = None) -> Path:
    """The project root for a source checkout (``scripts/run`` keeps its files there);
    otherwise the per-user data directory, ``$XDG_DATA_HOME/sidetrack`` or
    ``~/.local/share/sidetrack``.

    Not the current directory: a command typed in one directory and a server started
    in another would then use two different databases.
    """
    if is_source_checkout(root):
        return root
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sidetrack"
