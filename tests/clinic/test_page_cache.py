"""Kept pages: served again while nothing changed, rebuilt on the first request after any
committed change (whichever way it was written), after the minute turns, and never shown to
another user. These tests commit for real (transactional database), as production does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.data_version import Area, data_version
from clinic.tokens import api_token_create, api_token_revoke
from patients.models import Patient, PatientAccess
from scheduling.models import Practitioner, Session
from scheduling.services import session_mark_arrived
from tests.helpers import failed_reminder, hold
from tests.timeutil import local_today, seoul

pytestmark = [pytest.mark.page_cache, pytest.mark.usefixtures("catalogue")]

Count = Callable[..., Any]


@pytest.fixture
def staff(client: Client, staff_user: User) -> Client:
    client.force_login(staff_user)
    client.get(reverse("staff:today"))  # the CSRF cookie pages' tokens are made from
    return client


@pytest.fixture
def todays_session(kim: Practitioner) -> Session:
    return hold(kim, max(timezone.now() + timedelta(minutes=5), seoul(local_today(), 0)))


def test_a_committed_change_raises_the_version_and_a_rolled_back_one_does_not(
    patient: Patient,
) -> None:
    before = data_version()

    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(notes="Prefers mornings.")
        Patient.objects.filter(pk=patient.pk).update(notes="Prefers afternoons.")
    after_commit = data_version()

    def change_then_fail() -> None:
        with transaction.atomic():
            Patient.objects.filter(pk=patient.pk).update(notes="Never saved.")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_then_fail()
    after_rollback = data_version()

    assert after_commit == before + 1  # once per transaction, however many statements
    assert after_rollback == after_commit


def _written_by(table: str, pk: int) -> int:
    """The transaction that last wrote a row (PostgreSQL's ``xmin``)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT xmin::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.parametrize("autocommit", [False, True])
def test_a_change_and_its_new_version_are_committed_together(
    patient: Patient, autocommit: bool
) -> None:
    """The version goes up in the writing transaction itself, so no request can read the old
    version with the change already there (and keep a stale page under it)."""
    before = data_version()

    if autocommit:
        Patient.objects.filter(pk=patient.pk).update(notes="Prefers afternoons.")
    else:
        with transaction.atomic():
            Patient.objects.filter(pk=patient.pk).update(notes="Prefers mornings.")

    assert data_version() == before + 1
    assert _written_by("clinic_dataversion", int(Area.ALL)) == _written_by(
        "patients_patient", patient.pk
    )


def test_reading_pages_changes_no_version(staff: Client, patient: Patient) -> None:
    before = data_version()
    staff.get(reverse("staff:patient", args=[patient.pk]))  # writes the access log
    staff.get(reverse("staff:patients"), {"q": patient.family_name})
    assert data_version() == before


# --- Pages ---------------------------------------------------------------------------------------


def test_today_is_served_again_in_one_query_while_nothing_changed(
    mid_minute: None, staff: Client, todays_session: Session, django_assert_num_queries: Count
) -> None:
    first = staff.get(reverse("staff:today"))

    # the login session with the data version; the user with their roles is kept as well
    with django_assert_num_queries(1):
        again = staff.get(reverse("staff:today"))

    assert again.content == first.content
    assert again["Cache-Control"] == first["Cache-Control"]  # still never kept by browsers
    assert "no-store" in again["Cache-Control"]


def test_a_change_made_through_a_service_shows_on_the_next_request(
    staff: Client, staff_user: User, todays_session: Session
) -> None:
    name = todays_session.plan.patient.full_name
    assert "Arrived " not in staff.get(reverse("staff:today")).text

    session_mark_arrived(session=todays_session, marked_by=staff_user)

    page = staff.get(reverse("staff:today")).text
    assert name in page
    assert "Arrived " in page


def test_a_change_written_in_bulk_shows_on_the_next_request(
    staff: Client, patient: Patient
) -> None:
    url = reverse("staff:patient", args=[patient.pk])
    assert "Lee Bulk-Written" not in staff.get(url).text

    Patient.objects.filter(pk=patient.pk).update(family_name="Lee", given_name="Bulk-Written")

    assert "Lee Bulk-Written" in staff.get(url).text


def test_a_kept_page_is_rebuilt_when_the_minute_turns(
    staff: Client, todays_session: Session, django_assert_max_num_queries: Count
) -> None:
    staff.get(reverse("staff:today"))
    with (
        time_machine.travel(timezone.now() + timedelta(seconds=61)),
        django_assert_max_num_queries(100) as built,
    ):
        staff.get(reverse("staff:today"))
    assert len(built.captured_queries) > 4


def test_a_page_kept_for_one_user_is_never_shown_to_another(
    client: Client, patient: Patient, other_patient: Patient, kim: Practitioner
) -> None:
    mine_session = hold(kim, seoul(local_today() + timedelta(days=9), 11), patient=patient)
    their_session = hold(kim, seoul(local_today() + timedelta(days=10), 15), patient=other_patient)
    mine_link = reverse("portal:session-change", args=[mine_session.pk])
    their_link = reverse("portal:session-change", args=[their_session.pk])
    client.force_login(patient.user)
    client.get(reverse("portal:schedule"))
    mine = client.get(reverse("portal:schedule")).text

    client.force_login(other_patient.user)
    client.get(reverse("portal:schedule"))
    theirs = client.get(reverse("portal:schedule")).text

    assert mine_link in mine
    assert mine_link not in theirs
    assert their_link in theirs


def test_seeing_a_patient_from_a_kept_page_is_still_logged(
    mid_minute: None,
    staff: Client,
    staff_user: User,
    patient: Patient,
    django_assert_num_queries: Count,
) -> None:
    """Within the minute the page is kept; seen from another address, it is a new look."""
    url = reverse("staff:patient", args=[patient.pk])
    staff.get(url, REMOTE_ADDR="10.0.0.1")

    with django_assert_num_queries(2):  # the session with the versions; the log's INSERT
        assert staff.get(url, REMOTE_ADDR="10.0.0.2").status_code == 200

    seen_from = PatientAccess.objects.filter(patient=patient, user=staff_user)
    assert sorted(seen_from.values_list("address", flat=True)) == ["10.0.0.1", "10.0.0.2"]


def test_a_message_is_shown_once_and_not_kept_with_the_page(
    staff: Client, kim: Practitioner
) -> None:
    reminder = failed_reminder(kim)
    staff.get(reverse("staff:today"))  # kept before the message exists
    message = "The reminder is queued again"

    shown = staff.post(reverse("staff:reminder-retry", args=[reminder.pk]), follow=True).text
    again = staff.get(reverse("staff:today")).text

    assert message in shown
    assert message not in again


# --- API answers ---------------------------------------------------------------------------------


def test_an_api_answer_is_kept_until_a_change_and_per_patient(
    mid_minute: None,
    client: Client,
    patient: Patient,
    other_patient: Patient,
    kim: Practitioner,
    django_assert_num_queries: Count,
) -> None:
    session = hold(kim, seoul(local_today() + timedelta(days=9), 11), patient=patient)
    url = "/api/v1/me/schedule/"
    client.force_login(patient.user)
    answer = client.get(url)
    first = answer.json()

    # the login session with the data version (the user and their patient record are kept)
    with django_assert_num_queries(1):
        again = client.get(url)
    assert again.content == answer.content  # the JSON as sent, not serialised again
    assert again["Content-Type"] == answer["Content-Type"] == "application/json"
    assert again["Vary"] == answer["Vary"]

    Session.objects.filter(pk=session.pk).update(
        starts_at=F("starts_at") + timedelta(hours=1), ends_at=F("ends_at") + timedelta(hours=1)
    )
    moved = client.get(url).json()
    assert moved != first

    client.force_login(other_patient.user)
    assert client.get(url).json()["patient"]["id"] == other_patient.pk


# --- Kept logins -------------------------------------------------------------------------------


def test_a_deactivated_account_is_logged_out_on_its_next_request(
    staff: Client, staff_user: User
) -> None:
    assert staff.get(reverse("staff:today")).status_code == 200  # the user is kept from here

    User.objects.filter(pk=staff_user.pk).update(is_active=False)

    answer = staff.get(reverse("staff:today"))
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))


def test_a_role_taken_away_applies_on_the_next_request(staff: Client, staff_user: User) -> None:
    assert staff.get(reverse("staff:patients")).status_code == 200

    staff_user.groups.clear()

    assert staff.get(reverse("staff:patients")).status_code == 403


def test_a_patient_record_unlinked_from_its_login_leaves_the_portal_at_once(
    client: Client, patient: Patient
) -> None:
    client.force_login(patient.user)
    assert client.get(reverse("portal:schedule")).status_code == 200

    Patient.objects.filter(pk=patient.pk).update(user=None)

    assert client.get(reverse("portal:schedule")).status_code == 404  # no record behind it


def test_a_revoked_api_token_is_refused_on_its_next_request(staff_user: User) -> None:
    token, raw = api_token_create(user=staff_user, name="CRM sync", created_by=None)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/treatments/").status_code == 200
    assert api.get("/api/v1/treatments/").status_code == 200  # the token's user is kept

    api_token_revoke(token=token)

    assert api.get("/api/v1/treatments/").status_code == 401


def test_an_api_token_of_a_deactivated_account_is_refused_on_its_next_request(
    staff_user: User,
) -> None:
    _, raw = api_token_create(user=staff_user, name="CRM sync", created_by=None)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/treatments/").status_code == 200

    User.objects.filter(pk=staff_user.pk).update(is_active=False)

    assert api.get("/api/v1/treatments/").status_code == 401


def test_noting_when_a_token_was_used_keeps_the_kept_answers(
    mid_minute: None, staff_user: User, django_assert_num_queries: Count
) -> None:
    token, raw = api_token_create(user=staff_user, name="CRM sync", created_by=None)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    before = data_version()

    api.get("/api/v1/practitioners/")  # the token's first use is written down

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert data_version() == before
    with django_assert_num_queries(1):  # the data version; the token and the answer are kept
        assert api.get("/api/v1/practitioners/").status_code == 200
