"""Django's database backends with one change: a transaction's data versions go up in the
transaction itself, just before it commits (clinic/data_version.py)."""

from __future__ import annotations

from typing import Any, cast

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.data_version import raise_before_commit


class VersionsRaisedBeforeCommit:
    """Mixed in before a Django ``DatabaseWrapper``."""

    def _commit(self) -> Any:
        raise_before_commit(cast(BaseDatabaseWrapper, self))
        return super()._commit()  # type: ignore[misc]  # private, so not in the type stubs
