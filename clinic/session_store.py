"""Django's database sessions, read with one plain query that also brings the data version.

Every logged-in request loads its session first; the same round trip reads the data version
(clinic/page_cache.py) that the user, kept values and kept pages of the request are keyed by,
and skips building an ORM query for a lookup by primary key."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from clinic.page_cache import VERSION_TABLE, note_request_data_version


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        sql = (
            f"SELECT session_data, (SELECT version FROM {VERSION_TABLE} WHERE id = 1) "  # noqa: S608
            f"FROM {table} WHERE session_key = %s AND expire_date > %s"
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        note_request_data_version(row[1])
        return model(session_key=self.session_key, session_data=row[0])
