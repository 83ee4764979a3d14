"""Who looked at which patient's record: written where a record is shown, read by clinic admins.

The staff patient page, the API's patient detail, the admin's change page and every search
(page or API) that returns patients each call :func:`patient_access_record` once per request:
one INSERT, however many patients were shown. Views call it explicitly (not a signal), so a
new page that shows a record has to decide to log it.

The log reads to the minute, so a look it already holds for the same minute (same person,
patient, way in and address) is not written again: refreshing a search or a record adds no
row that says anything new. Each process remembers the looks it wrote in the current minute,
once they are committed; another process may write the same look once more.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db import connections, router, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request

from clinic.clients import client_address
from clinic.page_cache import replay_on_hit
from patients.models import AccessKind, Patient, PatientAccess

ACCESSES_PER_PAGE = 50

# (user, way in, address, patient): one look as the log shows it within a minute.
Look = tuple[int | None, str, str | None, int]


class _LooksWritten:
    """The looks this process has written (and committed) in the current minute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute = -1
        self._looks: set[Look] = set()

    def unwritten(self, minute: int, looks: list[Look]) -> list[Look]:
        with self._lock:
            if minute != self._minute:
                return looks
            return [look for look in looks if look not in self._looks]

    def written(self, minute: int, looks: list[Look]) -> None:
        with self._lock:
            if minute > self._minute:  # a new minute: the last one's looks are done with
                self._minute, self._looks = minute, set()
            if minute == self._minute:
                self._looks.update(looks)

    def forget(self) -> None:
        with self._lock:
            self._minute, self._looks = -1, set()


_written = _LooksWritten()


def forget_written_looks() -> None:
    """Write the next look at any record again, even within the minute (tests start afresh)."""
    _written.forget()


def patient_access_record(
    *, request: HttpRequest | Request, patient_ids: Iterable[int], kind: AccessKind
) -> int:
    """One access row per patient shown to the request's user, in one statement (none when no
    patient was shown, or when every one was already logged this minute, see above); returns
    how many rows were written."""
    ids = list(dict.fromkeys(patient_ids))  # a patient shown twice was still seen once
    if not ids:
        return 0
    django_request = request._request if isinstance(request, Request) else request
    # A page served from the cache was still seen: this runs again then.
    replay_on_hit(
        django_request,
        "patients.access_log.patient_access_record",
        patient_ids=ids,
        kind=AccessKind(kind).value,
    )
    user = request.user if request.user.is_authenticated else None
    user_id = user.pk if isinstance(user, User) else None
    address = client_address(django_request)
    now = timezone.now()
    minute = int(now.timestamp()) // 60
    looks = _written.unwritten(
        minute, [(user_id, AccessKind(kind).value, address, pk) for pk in ids]
    )
    if not looks:
        return 0
    # Plain rows rather than model instances (a page of search results would build 25).
    connection = connections[router.db_for_write(PatientAccess)]
    ops = connection.ops
    shared = [
        user_id,
        ops.adapt_datetimefield_value(now),
        ops.adapt_ipaddressfield_value(address),
        AccessKind(kind).value,
    ]
    table = ops.quote_name(PatientAccess._meta.db_table)
    columns = ", ".join(map(ops.quote_name, ("patient_id", "user_id", "at", "address", "kind")))
    rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(looks))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {rows}",  # noqa: S608
            [value for look in looks for value in (look[3], *shared)],
        )
    # Remembered once committed: a rolled-back row was never written (at once in autocommit).
    transaction.on_commit(lambda: _written.written(minute, looks), using=connection.alias)
    return len(looks)


@dataclass(frozen=True)
class AccessLogPage:
    patient: Patient
    page: Page[Any]


def patient_access_page(*, patient_id: int, page: str | int | None) -> AccessLogPage:
    """One page of the patient's access log, newest first, with who looked (3 queries: the
    patient, the count, the page)."""
    patient = Patient.objects.only("pk", "family_name", "given_name").get(pk=patient_id)
    accesses = (
        PatientAccess.objects.filter(patient_id=patient_id)
        .select_related("user")
        .order_by("-at", "-pk")
    )
    return AccessLogPage(
        patient=patient, page=Paginator(accesses, ACCESSES_PER_PAGE).get_page(page)
    )
