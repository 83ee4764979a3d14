"""PostgreSQL, raising the data versions a transaction wrote inside it, before COMMIT."""

from django.db.backends.postgresql import base

from clinic.backends import VersionsRaisedBeforeCommit


class DatabaseWrapper(VersionsRaisedBeforeCommit, base.DatabaseWrapper):
    pass
