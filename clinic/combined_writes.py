"""Several writes sent as one statement, where the database can run them so.

PostgreSQL runs an ``UPDATE`` or ``INSERT`` inside the ``WITH`` of another: one round trip
instead of several, which matters on a booking's path (every statement there costs parsing,
planning and a trip to the server while locks are held). Every part sees the rows as they were
when the statement began, and PostgreSQL runs the parts in no set order: use it only where the
parts touch different rows and none reads what another writes, as moving a session, recording
its history and replacing its reminders do. Other databases get the writes one by one, in the
order given. The SQL is Django's own for every part, so each follows its model as it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.db import connections, router
from django.db.models import Model, QuerySet, sql
from django.db.models.constants import OnConflict


@dataclass(frozen=True)
class Update:
    """``rows.update(**values)``. The filter must not need a join: it goes into ``WITH`` as
    written."""

    rows: QuerySet[Any]
    values: dict[str, Any]


@dataclass(frozen=True)
class Insert:
    """``bulk_create(rows)`` of one model; the rows get no primary keys back."""

    rows: Sequence[Model]
    ignore_conflicts: bool = False


def write_as_one(*writes: Update | Insert) -> None:
    """The writes, in one statement on PostgreSQL (an insert of no rows is left out); in order,
    one statement each, elsewhere. All parts go to the same database."""
    parts = [w for w in writes if isinstance(w, Update) or w.rows]
    if not parts:
        return
    alias = router.db_for_write(_model(parts[0]))
    connection = connections[alias]
    if connection.vendor != "postgresql" or len(parts) == 1:
        for part in parts:
            _run_alone(part, alias)
        return
    compiled = [_compiled(part, alias) for part in parts]
    # The last part is the statement itself, the others its WITH; parameters in that order.
    ctes = ", ".join(
        f"w{number} AS ({part_sql})" for number, (part_sql, _) in enumerate(compiled[:-1])
    )
    params = [value for _, part_params in compiled for value in part_params]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} {compiled[-1][0]}", params)


def _model(part: Update | Insert) -> type[Model]:
    return part.rows.model if isinstance(part, Update) else type(part.rows[0])


def _run_alone(part: Update | Insert, alias: str) -> None:
    if isinstance(part, Update):
        part.rows.using(alias).update(**part.values)
    else:
        _model(part)._default_manager.using(alias).bulk_create(
            part.rows, ignore_conflicts=part.ignore_conflicts
        )


def _compiled(part: Update | Insert, alias: str) -> tuple[str, Sequence[Any]]:
    if isinstance(part, Update):
        changes = cast(sql.UpdateQuery, part.rows.query.chain(sql.UpdateQuery))
        if any(n for table, n in changes.alias_refcount.items() if table != changes.base_table):
            raise ValueError("The update's filter needs a join; send it as a statement of its own.")
        changes.add_update_values(part.values)
        update_sql, update_params = changes.get_compiler(alias).as_sql()
        return update_sql, update_params
    model = _model(part)
    insert = sql.InsertQuery(
        model, on_conflict=OnConflict.IGNORE if part.ignore_conflicts else None
    )
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.generated and field is not model._meta.auto_field
    ]
    for obj in part.rows:  # as bulk_create does: refuses unsaved related rows, copies their keys
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
    insert.insert_values(fields, list(part.rows))
    ((insert_sql, insert_params),) = insert.get_compiler(alias).as_sql()
    return insert_sql, insert_params
