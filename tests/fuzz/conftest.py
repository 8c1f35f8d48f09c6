"""Keeps hypothesis' on-disk caches (Unicode tables, collected constants) out of the
repository: without this it creates ./.hypothesis wherever pytest is started."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "sidetrack-hypothesis")
