"""django-q2 tasks: thin wrappers that take ids or plain values."""

from __future__ import annotations

from metadata.resolution import resolve_unresolved


def resolve_unresolved_task(limit: int | None = 500) -> dict[str, int | str]:
    summary = resolve_unresolved(limit=limit)
    return {
        "resolved": summary.resolved,
        "unresolved": summary.unresolved,
        "errors": summary.errors,
        "stopped_early": summary.stopped_early,
    }
