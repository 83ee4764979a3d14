"""An UPDATE and an INSERT sent as one statement, where the database can run them so.

PostgreSQL runs an ``UPDATE`` inside the ``WITH`` of an ``INSERT``: one round trip instead of
two, which matters on a booking's path (every statement there costs parsing, planning and a
trip to the server while locks are held). Both parts see the rows as they were when the
statement began, so the INSERT never meets what the UPDATE changed and the UPDATE never touches
the rows being inserted: use it only where the two touch different rows, as cancelling a
moved session's reminders and writing the new ones do. Other databases get the two statements,
in that order. The SQL is Django's own for both parts, so they follow the model as it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, router
from django.db.models import Model, QuerySet, sql
from django.db.models.constants import OnConflict


def update_then_insert(
    update: QuerySet[Any],
    values: dict[str, Any],
    new: Sequence[Model],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """``update.update(**values)``, then ``bulk_create(new)`` of the same model, in one
    statement on PostgreSQL. The update's filter must not need a join (it goes into ``WITH``
    as written); ``new`` rows get no primary keys back."""
    model = update.model
    alias = router.db_for_write(model)
    connection = connections[alias]
    if not new or connection.vendor != "postgresql":
        update.update(**values)
        model._default_manager.using(alias).bulk_create(new, ignore_conflicts=ignore_conflicts)
        return
    changes = cast(sql.UpdateQuery, update.query.chain(sql.UpdateQuery))
    if any(n for table, n in changes.alias_refcount.items() if table != changes.base_table):
        raise ValueError("The update's filter needs a join; send it as a statement of its own.")
    changes.add_update_values(values)
    update_sql, update_params = changes.get_compiler(alias).as_sql()
    insert = sql.InsertQuery(model, on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.generated and field is not model._meta.auto_field
    ]
    for obj in new:  # as bulk_create does: refuses unsaved related rows, copies their keys
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
    insert.insert_values(fields, list(new))
    ((insert_sql, insert_params),) = insert.get_compiler(alias).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH changed AS ({update_sql}) {insert_sql}", (*update_params, *insert_params)
        )
