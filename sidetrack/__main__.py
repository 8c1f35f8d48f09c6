"""``sidetrack <command>`` (the installed console script) and ``python -m sidetrack``:
Django's ``manage.py`` for Sidetrack, runnable from any directory."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sidetrack.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    argv[0] = "sidetrack"  # usage lines read "sidetrack <command>", not the script's path
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
