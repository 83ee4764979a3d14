"""SQLite, raising the data versions a transaction wrote inside it, before COMMIT."""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

from clinic.data_version import raise_before_commit


class DatabaseWrapper(base.DatabaseWrapper):
    def _commit(self) -> Any:
        raise_before_commit(self)
        return super()._commit()  # type: ignore[misc]  # private, so not in the type stubs
