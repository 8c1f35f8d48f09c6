"""A stand-in django-q2 worker for tests: tasks are recorded when queued and run when
the test says, after the request that queued them has answered. Nothing reaches a
shared queue (Redis), so no task outlives its test."""

from __future__ import annotations

import importlib
from typing import Any

import pytest


class Worker:
    """Stands in for a django-q2 worker: tasks are recorded when queued and run when
    the test says, after the web request that queued them has answered."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, tuple, dict]] = []

    def async_task(self, func: str, *args: Any, **kwargs: Any) -> str:
        self.queued.append((func, args, kwargs))
        return f"task-{len(self.queued)}"

    def run(self, prefix: str = "") -> list[Any]:
        results = []
        while True:
            pending = [t for t in self.queued if t[0].startswith(prefix)]
            if not pending:
                return results
            task = pending[0]
            self.queued.remove(task)
            func, args, kwargs = task
            module, name = func.rsplit(".", 1)
            kwargs = {k: v for k, v in kwargs.items() if k not in ("task_name", "q_options")}
            results.append(getattr(importlib.import_module(module), name)(*args, **kwargs))


@pytest.fixture
def worker(monkeypatch) -> Worker:
    worker = Worker()
    monkeypatch.setattr("django_q.tasks.async_task", worker.async_task)
    return worker
