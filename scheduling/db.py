"""PostgreSQL-only database pieces used by the scheduling migrations.

The no-double-booking guarantee is an exclusion constraint, which only PostgreSQL has. It is added
by :class:`AddConstraintOnPostgres`, which leaves the migration state alone, so the embedded SQLite
default migrates cleanly and ``makemigrations --check`` is clean on both databases. On SQLite the
service layer's overlap check is the only guard, which is fine for a single embedded process.
"""

from __future__ import annotations

from django.contrib.postgres.fields import DateTimeRangeField
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState
from django.db.models import Func


class TsTzRange(Func):
    """``tstzrange(start, end, '[)')``: back-to-back sessions touch but do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class AddConstraintOnPostgres(migrations.AddConstraint):
    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        # Deliberately outside the model state: SQLite cannot build exclusion constraints.
        pass

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            model = to_state.apps.get_model(app_label, self.model_name)
            schema_editor.add_constraint(model, self.constraint)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            model = from_state.apps.get_model(app_label, self.model_name)
            schema_editor.remove_constraint(model, self.constraint)

    def describe(self) -> str:
        return f"{super().describe()} (PostgreSQL only)"


class RemoveConstraintOnPostgres(AddConstraintOnPostgres):
    """The inverse of :class:`AddConstraintOnPostgres`: give it the constraint being removed."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        super().database_backwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        name, model = self.constraint.name, self.model_name
        return f"Remove constraint {name} from model {model} (PostgreSQL only)"
