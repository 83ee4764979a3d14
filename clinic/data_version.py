"""Data versions: counters in the database raised with every committed change, which key what
is kept between requests (clinic/page_cache.py).

- **All** goes up with every committed transaction that wrote to the clinic's tables: kept
  pages and API answers are keyed by it. :func:`watch_writes` sees every statement Django sends
  (ORM, bulk and raw SQL alike), so no write path can forget to invalidate, and a change made
  by any process (a web worker, the Celery worker, the admin) shows on the very next request.
- An **area** goes up, besides, when one of its tables was written: values that depend on those
  tables alone are keyed by it, and outlive the bookings and edits that change everything else
  (the logged-in user with their roles, the clinic calendar, the reminder rules, the
  practitioners and rooms, the treatment catalogue, a patient's details, concerns, medical
  flags and consents).

The versions go up inside the transaction that made the change, as its last statement before
COMMIT (the clinic's database backends call :func:`raise_before_commit`; on PostgreSQL a write
in autocommit is given a transaction of its own, see :func:`watch_writes`). A change and its
new versions therefore become visible together: whoever reads a version sees every change
committed under it. That is what lets a request read the versions once, before anything they
guard (the session brings them in the same query, clinic/session_store.py; an API token
request reads them on its own), and a booking trust a value kept for the version it reads
once its locks are held (:func:`transaction_data_version`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum
from typing import Any, cast

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

VERSION_TABLE = "clinic_dataversion"


class Area(IntEnum):
    """What a version covers (its row in the version table)."""

    ALL = 1  # every tracked table
    ACCOUNTS = 2  # who is logged in, with which roles, tokens and patient record
    CALENDAR = 3  # opening hours, closures, working hours and leave
    REMINDER_RULES = 4
    RESOURCES = 5  # practitioners, the treatments they perform, rooms
    CATALOGUE = 6  # treatments, protocols with their milestones, concerns, contraindications
    PATIENT_RECORDS = 7  # patients' details, concerns, medical flags and consents


AREA_TABLES: dict[Area, frozenset[str]] = {
    Area.ACCOUNTS: frozenset(
        {"auth_user", "auth_group", "auth_user_groups", "clinic_apitoken", "patients_patient"}
    ),
    Area.CALENDAR: frozenset(
        {
            "scheduling_openinghours",
            "scheduling_closure",
            "scheduling_workinghours",
            "scheduling_leave",
        }
    ),
    Area.REMINDER_RULES: frozenset({"scheduling_reminderrule"}),
    Area.RESOURCES: frozenset(
        {
            "scheduling_practitioner",
            "scheduling_practitioner_treatments",
            "scheduling_room",
            "treatments_treatment",
        }
    ),
    Area.CATALOGUE: frozenset(
        {
            "treatments_treatment",
            "treatments_treatment_contraindications",
            "treatments_protocoltemplate",
            "treatments_protocolmilestone",
            "treatments_skinconcern",
            "treatments_contraindication",
            "treatments_indication",
        }
    ),
    # With the catalogue's names the records show (a concern, a condition and the treatments
    # it rules out, a consent's treatment).
    Area.PATIENT_RECORDS: frozenset(
        {
            "patients_patient",
            "patients_patientconcern",
            "patients_medicalflag",
            "patients_consent",
            "treatments_skinconcern",
            "treatments_contraindication",
            "treatments_treatment",
            "treatments_treatment_contraindications",
        }
    ),
}

# Tables written while reading, or that only decide who gets in (checked before anything kept
# is asked for): a write to them changes nothing kept.
UNTRACKED_TABLES = frozenset(
    {
        VERSION_TABLE,
        "django_session",
        "patients_patientaccess",
        "axes_accessattempt",
        "axes_accessfailurelog",
        "axes_accesslog",
    }
)
_READS = (
    *("SELECT", "(SELECT", "EXPLAIN", "SHOW", "PRAGMA", "SET "),
    *("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"),
    # Schema changes come with a deployment, which restarts the processes and their caches.
    *("CREATE", "ALTER", "DROP", "COMMENT"),
    # Maintenance changes no data, and VACUUM cannot run inside the transaction a write gets.
    *("VACUUM", "ANALYZE"),
)
# A write and its table. SQLite writes bulk_create(ignore_conflicts=True) as INSERT OR IGNORE.
_WRITE = re.compile(
    r'\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE
)
_EVERY_AREA = frozenset(Area)
_NONE: frozenset[Area] = frozenset()


def statement_areas(sql: str) -> frozenset[Area]:
    """The versions a statement may change: none for reads and writes to untracked tables;
    ``ALL`` and the tables' own areas for a write (a ``WITH`` holding writes included); every
    area for a statement it cannot read (such as ``TRUNCATE``, or a ``WITH`` it finds no
    write in)."""
    head = sql.lstrip()[:10].upper()
    if head.startswith(_READS):
        return _NONE
    if head.startswith("WITH"):
        # Every write the statement holds: a keyword followed by anything but a table (FOR
        # UPDATE OF, DO UPDATE SET) only names an unknown table, and so raises ALL alone.
        tables = {table.lower() for table in _WRITE.findall(sql)}
    else:
        target = _WRITE.match(sql.lstrip())
        tables = {target.group(1).lower()} if target else set()
    if not tables:
        return _EVERY_AREA
    tables -= UNTRACKED_TABLES
    if not tables:
        return _NONE
    return frozenset({Area.ALL, *(area for area, held in AREA_TABLES.items() if tables & held)})


# --- Reading and raising -------------------------------------------------------------------------

Versions = dict[int, int]


def data_versions(using: str = "default") -> Versions:
    """Every area's version (one query); an area never written has none (read as 0)."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT id, version FROM {VERSION_TABLE}")  # noqa: S608
        return {int(pk): int(version) for pk, version in cursor.fetchall()}


def data_version(area: Area = Area.ALL, using: str = "default") -> int:
    """One area's current version, read afresh."""
    return data_versions(using).get(area, 0)


def data_versions_raise(areas: Iterable[Area], using: str = "default") -> None:
    """Raise these versions (one statement, outside any transaction of the caller's). A fresh
    row starts at a random number, so versions from before a table was emptied never return."""
    rows = sorted(set(areas))
    if not rows:
        return
    values = ", ".join(["(%s, %s)"] * len(rows))
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {VERSION_TABLE} (id, version) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (id) DO UPDATE SET version = {VERSION_TABLE}.version + 1",
            [value for area in rows for value in (int(area), secrets.randbelow(2**62))],
        )


# --- Watching writes -----------------------------------------------------------------------------

_unseen: ContextVar[bool] = ContextVar("clinic_unseen_writes", default=False)


@contextmanager
def unseen_writes() -> Iterator[None]:
    """Writes that change nothing kept (bookkeeping such as when an API token was last used):
    they leave the versions alone."""
    token = _unseen.set(True)
    try:
        yield
    finally:
        _unseen.reset(token)


class _PendingRaise:
    """The areas one transaction wrote, raised by the clinic's database backends just before it
    commits (:func:`raise_before_commit`). Also its on-commit callback, which raises them if
    nothing did: a write in autocommit on SQLite, or a test running the callbacks of a
    transaction it never commits. One per transaction, so a write made by another on-commit
    callback cannot take over a pending one's areas."""

    def __init__(self, alias: str, areas: frozenset[Area]) -> None:
        self.alias = alias
        self.areas: set[Area] = set(areas)
        self.raised = False

    def raise_now(self) -> None:
        data_versions_raise(self.areas, using=self.alias)
        self.raised = True

    def __call__(self) -> None:
        if not self.raised:
            self.raise_now()
        # The rest of this request sees its own change, not what was kept before it.
        _request_versions.set(None)


def raise_before_commit(connection: BaseDatabaseWrapper) -> None:
    """Raise the versions of what the committing transaction wrote, as its last statement.

    The change and its new version then become visible together: no request can read the old
    version once the change is there, and keep a page built without it under that version. One
    commit (one flush to disk) covers both. The version rows stay locked from here to the end
    of the commit, which cannot deadlock: no transaction locks them any earlier, and each takes
    them in one statement, in the order of their ids."""
    pending: _PendingRaise | None = getattr(connection, "clinic_pending_raise", None)
    if pending is not None and not pending.raised and _pending(connection, pending):
        pending.raise_now()


def _has_version_table(connection: BaseDatabaseWrapper) -> bool:
    """False only while the database is being migrated (remembered once true)."""
    if not getattr(connection, "clinic_version_table", False):
        found = VERSION_TABLE in connection.introspection.table_names()
        connection.clinic_version_table = found  # type: ignore[attr-defined]
    return bool(connection.clinic_version_table)  # type: ignore[attr-defined]


def watch_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Execute wrapper on every connection: note the areas a write changes, to be raised when
    its transaction commits.

    A write in autocommit gets a transaction of its own for that on PostgreSQL, whose driver
    has the whole answer in hand once the statement ran. SQLite cannot commit while the caller
    has yet to read the rows a write returns (an INSERT's new id): there the versions go up
    right after the write instead (the on-commit callback runs at once)."""
    areas = _NONE if _unseen.get() else statement_areas(sql)
    connection = cast(BaseDatabaseWrapper, context["connection"])
    if not areas or not _has_version_table(connection):
        return execute(sql, params, many, context)
    if not connection.in_atomic_block and connection.vendor == "postgresql":
        with transaction.atomic(using=connection.alias):
            return watch_writes(execute, sql, params, many, context)
    result = execute(sql, params, many, context)
    pending: _PendingRaise | None = getattr(connection, "clinic_pending_raise", None)
    if pending is not None and _pending(connection, pending):
        pending.areas |= areas
    else:
        # The transaction's first write (a rolled-back transaction's callback is dropped with
        # it, and the raise with the callback).
        pending = _PendingRaise(connection.alias, areas)
        connection.clinic_pending_raise = pending  # type: ignore[attr-defined]
        connection.on_commit(pending, robust=True)
    return result


def _written(connection: BaseDatabaseWrapper) -> frozenset[Area]:
    """The areas the current transaction has written (and not rolled back)."""
    pending: _PendingRaise | None = getattr(connection, "clinic_pending_raise", None)
    if pending is None or not _pending(connection, pending):
        return _NONE
    return frozenset(pending.areas)


def _pending(connection: BaseDatabaseWrapper, callback: object) -> bool:
    """Whether an on-commit callback still waits for the current transaction: it is dropped
    when the transaction (or the savepoint it was registered in) is rolled back."""
    waiting = cast(list[tuple[Any, ...]], connection.run_on_commit)  # (savepoints, f, robust)
    return any(entry[1] is callback for entry in waiting)


def watch_connection(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """``connection_created`` receiver: every new connection to the clinic's database watches
    its writes (not the ones Django opens to the server alone, e.g. to create a test database)."""
    if connection.alias == "default" and watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(watch_writes)


# --- The versions a request sees ------------------------------------------------------------------

_in_request: ContextVar[bool] = ContextVar("clinic_in_request", default=False)
_request_versions: ContextVar[Versions | None] = ContextVar("clinic_versions", default=None)


def request_began(**kwargs: object) -> None:
    """``request_started`` receiver."""
    _in_request.set(True)
    _request_versions.set(None)


def request_ended(**kwargs: object) -> None:
    """``request_finished`` receiver: outside a request, every read of a version is fresh."""
    _in_request.set(False)
    _request_versions.set(None)


def in_request() -> bool:
    return _in_request.get()


def request_data_version(area: Area = Area.ALL) -> int:
    """A version as the current request first read it (at most one query a request); outside
    a request (the worker, commands), read afresh each time."""
    if not _in_request.get():
        return data_version(area)
    versions = _request_versions.get()
    if versions is None:
        versions = data_versions()
        _request_versions.set(versions)
    return versions.get(area, 0)


class _TransactionVersions:
    """The versions one transaction read, valid while its (no-op) on-commit callback waits."""

    def __init__(self, versions: Versions) -> None:
        self.versions = versions

    def __call__(self) -> None:
        pass


def transaction_data_version(area: Area, using: str = "default") -> int | None:
    """A version as the current transaction first read it (one query a transaction), for values
    kept per version to be trusted inside it; None when this transaction has itself changed
    the area (its reads are its own, not to be kept or reused).

    Read at the first kept value a service asks for, which comes after its locks: like reading
    the tables themselves at that point, it reflects every change committed before it."""
    connection = connections[using]
    if area in _written(connection):
        return None
    read: _TransactionVersions | None = getattr(connection, "clinic_transaction_versions", None)
    if read is None or not _pending(connection, read):
        read = _TransactionVersions(data_versions(using))
        connection.clinic_transaction_versions = read  # type: ignore[attr-defined]
        connection.on_commit(read, robust=True)
    return read.versions.get(area, 0)


def note_request_data_versions(rows: Iterable[tuple[int | None, int | None]]) -> None:
    """Take the versions read along with another query, if the request has none yet."""
    if _in_request.get() and _request_versions.get() is None:
        found = {pk: version for pk, version in rows if pk is not None and version is not None}
        _request_versions.set({int(pk): int(version) for pk, version in found.items()})
