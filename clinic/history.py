"""Who changed a record when no person asked for it through the web: the Celery worker.

Web pages, the API and the admin name the person (simple-history's ``HistoryRequestMiddleware``,
or ``_history_user`` set by a service). A change the worker makes has no person behind it, so
its history row says so: ``history_user`` is empty (shown as "System") and
``history_change_reason`` is ``"worker: <task>"``. Every task runs inside :func:`worker_changes`
(the Celery app's base task class does it), so a task written tomorrow is attributed too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from celery import Task

_current_task: ContextVar[str | None] = ContextVar("worker_task", default=None)


@contextmanager
def worker_changes(task_name: str) -> Iterator[None]:
    """Attribute every history row written inside to the worker running ``task_name``."""
    token = _current_task.set(task_name.rsplit(".", 1)[-1])
    try:
        yield
    finally:
        _current_task.reset(token)


def worker_change_reason() -> str | None:
    """``"worker: <task>"`` inside a task, else None (a person is behind the change)."""
    task = _current_task.get()
    return None if task is None else f"worker: {task}"


class WorkerTask(Task):
    """Every task of the clinic's Celery app: its changes are recorded as the worker's."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with worker_changes(self.name):
            return super().__call__(*args, **kwargs)


def fill_worker_reason(sender: type, history_instance: Any, **kwargs: Any) -> None:
    """simple-history's ``pre_create_historical_record``: a row written by the worker names it.

    A reason a service gave explicitly is kept. The user is left as the service set it (None
    for the worker: no request, no ``_history_user``)."""
    reason = worker_change_reason()
    if reason and not history_instance.history_change_reason:
        history_instance.history_change_reason = reason
