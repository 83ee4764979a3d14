"""Who saw a patient's record: the patient page, the API, the admin and searches each leave one
row per patient shown (who, when, from where, through what); clinic admins read the log, plain
staff cannot; refusals to a logged-in user are logged as security events without patient data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from patients.access_log import patient_access_record
from patients.models import AccessKind, Patient, PatientAccess
from tests.api.helpers import API, client_for
from tests.factories import PatientFactory, SessionFactory, TreatmentPlanFactory

pytestmark = pytest.mark.django_db


def logged_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def accesses() -> list[tuple[int, int | None, str, str | None]]:
    return [
        (a.patient_id, a.user_id, a.kind, a.address)
        for a in PatientAccess.objects.order_by("patient_id", "pk")
    ]


# --- Writing the log -------------------------------------------------------------------------


def test_opening_the_patient_page_logs_who_saw_it_and_from_where(
    client: Client, staff_user: User, patient: Patient
) -> None:
    logged_in(client, staff_user)
    before = timezone.now()

    response = client.get(reverse("staff:patient", args=[patient.pk]), REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 200
    assert accesses() == [(patient.pk, staff_user.pk, AccessKind.PAGE, "10.1.2.3")]
    assert PatientAccess.objects.get().at >= before


def test_opening_the_history_of_changes_logs_a_look_at_the_record(
    client: Client, staff_user: User, patient: Patient
) -> None:
    logged_in(client, staff_user)

    client.get(
        reverse("staff:patient-history", args=[patient.pk]),
        headers={"HX-Request": "true"},
        REMOTE_ADDR="10.1.2.3",
    )

    assert accesses() == [(patient.pk, staff_user.pk, AccessKind.PAGE, "10.1.2.3")]


# The log reads to the minute: a look it holds for the minute is not written again. These
# tests commit, as requests in production do (a look is remembered once its row is committed).


@pytest.mark.usefixtures("catalogue")
def test_a_search_repeated_within_the_minute_is_logged_once_and_again_the_next_minute(
    mid_minute: None,
    client: Client,
    staff_user: User,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    lees = sorted(PatientFactory(family_name="Lee").pk for _ in range(3))
    logged_in(client, staff_user)
    client.get(reverse("staff:patients"), {"q": "lee"})

    with django_assert_num_queries(4):  # session, user with roles; count, page; no INSERT
        client.get(reverse("staff:patients"), {"q": "lee"})
    assert sorted(a[0] for a in accesses()) == lees

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        client.get(reverse("staff:patients"), {"q": "lee"})
    assert sorted(a[0] for a in accesses()) == sorted(lees * 2)


@pytest.mark.usefixtures("catalogue")
def test_within_the_minute_only_the_looks_the_log_lacks_are_written(
    mid_minute: None, client: Client, staff_user: User, patient: Patient
) -> None:
    other = PatientFactory(family_name="Lee")
    logged_in(client, staff_user)
    client.get(reverse("staff:patient", args=[patient.pk]), REMOTE_ADDR="10.1.2.3")

    client.get(reverse("staff:patient", args=[patient.pk]), REMOTE_ADDR="10.9.9.9")
    client.get(f"{API}/patients/{patient.pk}/", REMOTE_ADDR="10.1.2.3")
    client.get(reverse("staff:patients"), {"q": "lee"}, REMOTE_ADDR="10.1.2.3")
    client.get(reverse("staff:patients"), {"q": "lee"}, REMOTE_ADDR="10.1.2.3")

    assert accesses() == [
        (patient.pk, staff_user.pk, AccessKind.PAGE, "10.1.2.3"),
        (patient.pk, staff_user.pk, AccessKind.PAGE, "10.9.9.9"),
        (patient.pk, staff_user.pk, AccessKind.API, "10.1.2.3"),
        (other.pk, staff_user.pk, AccessKind.SEARCH, "10.1.2.3"),
    ]


@pytest.mark.usefixtures("catalogue")
def test_another_person_looking_within_the_minute_is_logged(
    mid_minute: None, client: Client, staff_user: User, clinic_admin: User, patient: Patient
) -> None:
    for user in (staff_user, clinic_admin):
        logged_in(client, user).get(reverse("staff:patient", args=[patient.pk]))

    assert [a[1] for a in accesses()] == [staff_user.pk, clinic_admin.pk]


@pytest.mark.usefixtures("catalogue")
def test_a_look_whose_row_was_rolled_back_is_written_again(
    mid_minute: None, rf: RequestFactory, staff_user: User, patient: Patient
) -> None:
    request = rf.get("/")
    request.user = staff_user

    def a_request_that_fails_after_the_log_was_written() -> None:
        with transaction.atomic():
            patient_access_record(request=request, patient_ids=[patient.pk], kind=AccessKind.PAGE)
            raise RuntimeError("the page could not be built")

    with pytest.raises(RuntimeError):
        a_request_that_fails_after_the_log_was_written()
    assert accesses() == []

    assert patient_access_record(request=request, patient_ids=[patient.pk], kind=AccessKind.PAGE)
    assert accesses() == [(patient.pk, staff_user.pk, AccessKind.PAGE, "127.0.0.1")]


def test_a_missing_patient_page_logs_nothing(client: Client, staff_user: User) -> None:
    logged_in(client, staff_user)

    assert client.get(reverse("staff:patient", args=[999999])).status_code == 404
    assert client.get(reverse("staff:patient-history", args=[999999])).status_code == 404
    assert accesses() == []


def test_a_search_logs_each_patient_it_shows_once_in_one_query(
    client: Client,
    staff_user: User,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    lees = [PatientFactory(family_name="Lee") for _ in range(3)]
    PatientFactory(family_name="Kang")
    logged_in(client, staff_user)
    client.get(reverse("staff:patients"), {"q": "lee"})  # session warmed up
    PatientAccess.objects.all().delete()

    with django_assert_num_queries(5):  # session, user with roles; count, page; the log (1 INSERT)
        client.get(reverse("staff:patients"), {"q": "lee"})

    assert sorted(a[0] for a in accesses()) == sorted(p.pk for p in lees)
    assert {a[2] for a in accesses()} == {AccessKind.SEARCH}


def test_a_search_that_finds_nobody_logs_nothing(client: Client, staff_user: User) -> None:
    PatientFactory(family_name="Kang")
    logged_in(client, staff_user)

    client.get(reverse("staff:patients"), {"q": "nobody-by-this-name"})

    assert accesses() == []


def test_the_api_logs_a_patient_read_and_the_patients_a_search_returns(
    staff_user: User, patient: Patient
) -> None:
    other = PatientFactory(family_name="Zed")
    api = client_for(staff_user)

    assert api.get(f"{API}/patients/{patient.pk}/").status_code == 200
    listed = api.get(f"{API}/patients/", {"search": "zed"})

    assert [row["id"] for row in listed.json()["results"]] == [other.pk]
    assert accesses() == [
        (patient.pk, staff_user.pk, AccessKind.API, "127.0.0.1"),
        (other.pk, staff_user.pk, AccessKind.SEARCH, "127.0.0.1"),
    ]


def test_the_admin_change_page_logs_a_view_but_not_the_save_redirect(
    client: Client, clinic_admin: User, patient: Patient
) -> None:
    logged_in(client, clinic_admin)

    response = client.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    missing = client.get(reverse("admin:patients_patient_change", args=[999999]))

    assert response.status_code == 200
    assert missing.status_code == 302  # the admin goes back to the list: nothing was shown
    assert accesses() == [(patient.pk, clinic_admin.pk, AccessKind.ADMIN, "127.0.0.1")]


# --- Reading the log -------------------------------------------------------------------------


def seen(patient: Patient, by: User, times: int) -> None:
    now = timezone.now()
    PatientAccess.objects.bulk_create(
        PatientAccess(
            patient=patient,
            user=by,
            at=now - timedelta(minutes=n),
            address="10.0.0.9",
            kind=AccessKind.PAGE,
        )
        for n in range(times)
    )


def test_clinic_admins_read_who_saw_a_record_newest_first(
    client: Client, clinic_admin: User, staff_user: User, patient: Patient
) -> None:
    staff_user.first_name, staff_user.last_name = "Min-seo", "Park"
    staff_user.save()
    seen(patient, staff_user, 2)
    logged_in(client, clinic_admin)

    detail = client.get(reverse("staff:patient", args=[patient.pk])).content.decode()
    response = client.get(reverse("staff:patient-access", args=[patient.pk]))

    assert reverse("staff:patient-access", args=[patient.pk]) in detail
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="access-row"') == 3  # the two, and the admin's own look just now
    assert "Min-seo Park" in page
    assert "10.0.0.9" in page
    assert page.index(clinic_admin.get_username()) < page.index("Min-seo Park")


def test_plain_staff_neither_see_the_link_nor_open_the_log(
    client: Client, staff_user: User, patient: Patient
) -> None:
    logged_in(client, staff_user)

    detail = client.get(reverse("staff:patient", args=[patient.pk])).content.decode()
    response = client.get(reverse("staff:patient-access", args=[patient.pk]))

    assert reverse("staff:patient-access", args=[patient.pk]) not in detail
    assert response.status_code == 403


def test_the_log_of_a_missing_patient_is_not_found(client: Client, clinic_admin: User) -> None:
    logged_in(client, clinic_admin)

    assert client.get(reverse("staff:patient-access", args=[999999])).status_code == 404


@pytest.mark.parametrize("rows", [10, 200])
def test_the_log_takes_the_same_queries_for_10_or_200_rows_and_is_paginated(
    client: Client,
    clinic_admin: User,
    staff_user: User,
    patient: Patient,
    django_assert_num_queries: Callable[..., Any],
    rows: int,
) -> None:
    seen(patient, staff_user, rows)
    logged_in(client, clinic_admin)

    with django_assert_num_queries(5):  # session, user with roles; patient, count, page (with who)
        response = client.get(reverse("staff:patient-access", args=[patient.pk]))

    assert response.content.decode().count('class="access-row"') == min(rows, 50)
    last = client.get(reverse("staff:patient-access", args=[patient.pk]), {"page": 99})
    assert last.content.decode().count('class="access-row"') == (rows - 1) % 50 + 1


def test_the_admin_shows_the_log_read_only(
    client: Client, clinic_admin: User, staff_user: User, patient: Patient
) -> None:
    seen(patient, staff_user, 1)
    access = PatientAccess.objects.get()
    logged_in(client, clinic_admin)

    listing = client.get(reverse("admin:patients_patientaccess_changelist"))
    detail = client.get(reverse("admin:patients_patientaccess_change", args=[access.pk]))
    add = client.get(reverse("admin:patients_patientaccess_add"))
    delete = client.post(
        reverse("admin:patients_patientaccess_delete", args=[access.pk]), {"post": "yes"}
    )

    assert (listing.status_code, detail.status_code, add.status_code) == (200, 200, 403)
    assert delete.status_code == 403
    assert PatientAccess.objects.count() == 1
    assert 'name="address"' not in detail.content.decode()  # shown, not editable


# --- Refusals --------------------------------------------------------------------------------


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "clinic.security"]


def test_another_patients_session_in_the_portal_is_a_security_event_without_patient_data(
    client: Client,
    patient: Patient,
    other_patient: Patient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    theirs = SessionFactory(plan=TreatmentPlanFactory(patient=other_patient), sequence=1)
    logged_in(client, patient.user)  # type: ignore[arg-type]
    path = reverse("portal:session-change", args=[theirs.pk])

    with caplog.at_level(logging.WARNING, logger="clinic.security"):
        response = client.get(path, {"q": other_patient.phone})

    assert response.status_code == 404
    [line] = security_lines(caplog)
    assert f"user={patient.user_id}" in line
    assert "status=404" in line
    assert f"path={path}" in line
    for private in (other_patient.family_name, other_patient.given_name, other_patient.phone):
        assert private not in line
    assert patient.family_name not in line


def test_another_patients_rows_in_the_api_are_security_events(
    patient: Patient,
    other_patient: Patient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    theirs = SessionFactory(plan=TreatmentPlanFactory(patient=other_patient), sequence=1)
    api: APIClient = client_for(patient.user)

    with caplog.at_level(logging.WARNING, logger="clinic.security"):
        session = api.get(f"{API}/sessions/{theirs.pk}/")
        record = api.get(f"{API}/patients/{other_patient.pk}/")

    assert (session.status_code, record.status_code) == (404, 403)
    lines = security_lines(caplog)
    assert [("status=404" in lines[0]), ("status=403" in lines[1])] == [True, True]
    assert all(f"user={patient.user_id}" in line for line in lines)
    assert not any(
        other_patient.family_name in line or other_patient.phone in line for line in lines
    )
    assert accesses() == []  # a refused read saw nothing


def test_what_a_user_may_see_is_not_a_security_event(
    client: Client, patient: Patient, caplog: pytest.LogCaptureFixture
) -> None:
    logged_in(client, patient.user)  # type: ignore[arg-type]

    with caplog.at_level(logging.WARNING, logger="clinic.security"):
        assert client.get(reverse("portal:schedule")).status_code == 200

    assert security_lines(caplog) == []
