"""Who looked at which patient's record: written where a record is shown, read by clinic admins.

The staff patient page, the API's patient detail, the admin's change page and every search
(page or API) that returns patients each call :func:`patient_access_record` once per request:
one INSERT, however many patients were shown. Views call it explicitly (not a signal), so a
new page that shows a record has to decide to log it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db import connections, router
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request

from clinic.clients import client_address
from clinic.page_cache import replay_on_hit
from patients.models import AccessKind, Patient, PatientAccess

ACCESSES_PER_PAGE = 50


def patient_access_record(
    *, request: HttpRequest | Request, patient_ids: Iterable[int], kind: AccessKind
) -> int:
    """One access row per patient shown to the request's user, in one statement (none when no
    patient was shown); returns how many rows were written."""
    ids = list(dict.fromkeys(patient_ids))  # a patient shown twice was still seen once
    if not ids:
        return 0
    django_request = request._request if isinstance(request, Request) else request
    user = request.user if request.user.is_authenticated else None
    # A page served from the cache was still seen: the same rows are written again then.
    replay_on_hit(
        django_request,
        "patients.access_log.patient_access_record",
        patient_ids=ids,
        kind=AccessKind(kind).value,
    )
    # Written on every search and record shown, kept pages included: plain rows rather than
    # model instances (a page of search results would build 25 of them per request).
    connection = connections[router.db_for_write(PatientAccess)]
    ops = connection.ops
    shared = [
        user.pk if isinstance(user, User) else None,
        ops.adapt_datetimefield_value(timezone.now()),
        ops.adapt_ipaddressfield_value(client_address(django_request)),
        AccessKind(kind).value,
    ]
    table = ops.quote_name(PatientAccess._meta.db_table)
    columns = ", ".join(map(ops.quote_name, ("patient_id", "user_id", "at", "address", "kind")))
    rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {rows}",  # noqa: S608
            [value for pk in ids for value in (pk, *shared)],
        )
    return len(ids)


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
