"""Signals metadata sends to the apps that depend on it (metadata imports none of them)."""

from __future__ import annotations

from django.dispatch import Signal

# Rows of ``sender`` (pks=[…]) now point at recording ``target_id``: a merge moved
# them. Listens re-check their cross-source duplicates on it.
recording_rows_moved = Signal()
