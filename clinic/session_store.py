"""Django's database sessions, read with one plain query that also brings the data versions.

Every logged-in request loads its session first; the same round trip reads the data versions
(clinic/data_version.py) that the user, kept values and kept pages of the request are keyed
by, and skips building an ORM query for a lookup by primary key."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from clinic.data_version import VERSION_TABLE, note_request_data_versions


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if key is None:
            return None
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        # One row per version (a single row of NULLs before any was written).
        sql = (
            f"SELECT s.session_data, v.id, v.version FROM {table} s "  # noqa: S608
            f"LEFT JOIN {VERSION_TABLE} v ON 1 = 1 "
            "WHERE s.session_key = %s AND s.expire_date > %s"
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [key, now])
            rows = cursor.fetchall()
        if not rows:
            self._session_key = None
            return None
        note_request_data_versions((pk, version) for _, pk, version in rows)
        return model(session_key=key, session_data=rows[0][0])
