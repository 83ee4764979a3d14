"""Who changed a record when no person asked for it through the web: the Celery worker.

Web pages, the API and the admin name the person (simple-history's ``HistoryRequestMiddleware``,
or ``_history_user`` set by a service). A change the worker makes has no person behind it, so
its history row says so: ``history_user`` is empty (shown as "System") and
``history_change_reason`` is ``"worker: <task>"``. Every task runs inside :func:`worker_changes`
(the Celery app's base task class does it), so a task written tomorrow is attributed too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from celery import Task
from django.apps import apps
from django.conf import settings
from django.db.models import Model
from django.utils import timezone
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record
from simple_history.utils import get_change_reason_from_object

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


class _HistoryDescriptorBuiltOnce(HistoryDescriptor):
    """simple-history's ``Model.history``, with its manager class built once rather than on
    every access: each save of a tracked row reads ``history`` to write the history row, and
    building the class (``from_queryset`` inspects every queryset method) cost about a tenth
    of a millisecond of every booking."""

    def __init__(self, original: HistoryDescriptor) -> None:
        super().__init__(original.model, original.manager_class, original.queryset_class)
        self._manager = self.manager_class.from_queryset(self.queryset_class)

    def __get__(self, instance: Any, owner: type) -> Any:
        return self._manager(self.model, instance)


def build_history_managers_once() -> None:
    """Give every tracked model the descriptor above (called once the models are loaded)."""
    for model in apps.get_models():
        name: str | None = getattr(model._meta, "simple_history_manager_attribute", None)
        if name and type(model.__dict__.get(name)) is HistoryDescriptor:
            setattr(model, name, _HistoryDescriptorBuiltOnce(model.__dict__[name]))


def history_rows(instances: Sequence[Model], *, history_type: str = "~") -> list[Model]:
    """The history rows simple-history would write for ``instances`` as they are now, unsaved,
    for a service that sends them in the same statement as its change (clinic/combined_writes.py)
    rather than one ``save()`` each. The user is the instance's ``_history_user``, else the
    person behind the request, as for a save; the ``pre_create_historical_record`` receivers
    (the worker's reason) run as for a save too."""
    if not instances or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return []
    model = type(instances[0])
    history_model = getattr(model, model._meta.simple_history_manager_attribute).model  # type: ignore[attr-defined]
    rows = []
    for instance in instances:
        history_date = getattr(instance, "_history_date", None) or timezone.now()
        history_user = getattr(instance, "_history_user", None) or _request_user()
        reason = get_change_reason_from_object(instance)
        row = history_model(
            history_date=history_date,
            history_type=history_type,
            history_user=history_user,
            history_change_reason=reason,
            **{
                field.attname: getattr(instance, field.attname)
                for field in history_model.tracked_fields
            },
        )
        pre_create_historical_record.send(
            sender=history_model,
            instance=instance,
            history_date=history_date,
            history_user=history_user,
            history_change_reason=reason,
            history_instance=row,
            using=None,
        )
        rows.append(row)
    return rows


def _request_user() -> Any:
    """The logged-in person behind the current request, as simple-history's middleware records
    it (None outside a request or for an anonymous one)."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
