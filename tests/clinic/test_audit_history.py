"""The audit trail of changes: every change to patients, courses, sessions, consents and users
says who made it (the person behind the request, or the worker by task name), when, and what
changed — bulk writes of the services included; a user's password hash is never copied."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient
from simple_history.models import HistoricalRecords

from clinic.history import history_rows, worker_changes
from clinic.roles import Role
from patients.models import Patient
from scheduling.models import PlanStatus, Practitioner, Session, TreatmentPlan
from scheduling.services import plan_book
from scheduling.tasks import schedule_plan
from tests.api.helpers import API, at, client_for
from tests.helpers import book_and_schedule, hold
from tests.timeutil import seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff_user: User) -> APIClient:
    return client_for(staff_user)


def changed_fields(record: Any) -> set[str]:
    """The fields a history row changed compared with the row before it."""
    return set(record.diff_against(record.prev_record).changed_fields)


def test_a_course_booked_through_the_api_names_the_staff_member(
    staff_api: APIClient,
    staff_user: User,
    patient: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks():
        response = staff_api.post(
            f"{API}/plans/",
            {
                "patient": patient.pk,
                "protocol": rejuran.pk,
                "practitioner": kim.pk,
                "first_start": at(tuesday, 10),
            },
        )

    assert response.status_code == 202, response.content
    created = TreatmentPlan.history.get()
    assert (created.history_type, created.history_user) == ("+", staff_user)
    assert (created.patient_id, created.status) == (patient.pk, PlanStatus.SCHEDULING)


def test_moving_a_session_through_the_api_records_each_moved_session_with_its_new_time(
    staff_api: APIClient,
    staff_user: User,
    patient: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
) -> None:
    course = book_and_schedule(patient, rejuran, kim, seoul(tuesday, 10), staff_user)
    first = course.sessions.get(sequence=1)

    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/",
        {"new_start": at(tuesday + timedelta(days=7), 10)},
    )

    assert response.status_code == 200, response.content
    moved = [s.history.latest() for s in Session.objects.filter(plan=course).order_by("sequence")]
    assert moved[0].history_user == staff_user
    assert {"starts_at", "ends_at", "revision"} <= changed_fields(moved[0])
    # The later ones moved as far as the protocol needed, each recorded with who asked.
    for record in moved:
        if record.history_type == "~":
            assert record.history_user == staff_user


def test_the_worker_placing_a_course_is_named_with_its_task_and_what_it_changed(
    staff_user: User,
    patient: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
) -> None:
    plan = plan_book(
        patient=patient,
        template=rejuran,
        practitioner=kim,
        first_start=seoul(tuesday, 10),
        booked_by=staff_user,
    )
    hold(kim, seoul(tuesday + timedelta(days=28), 10))  # session 2's preferred slot is taken

    assert schedule_plan(plan.pk) == PlanStatus.ACTIVE  # the task's function, as the worker runs it

    sessions = Session.history.filter(plan_id=plan.pk)
    assert sessions.count() == 3  # written in one bulk insert, each with its history row
    assert {(s.history_type, s.history_user, s.history_change_reason) for s in sessions} == {
        ("+", None, "worker: schedule_plan")
    }
    latest = plan.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (None, "worker: schedule_plan")
    assert "status" in changed_fields(latest)
    assert any(field.startswith("schedule_notes") for field in changed_fields(latest))
    # The booking itself stays the staff member's.
    assert plan.history.earliest().history_user == staff_user


def test_a_change_outside_any_task_is_not_put_down_to_the_worker(
    staff_user: User, patient: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    book_and_schedule(patient, rejuran, kim, seoul(tuesday, 10), staff_user)

    assert not TreatmentPlan.history.filter(history_change_reason__startswith="worker").exists()
    assert set(Session.history.values_list("history_change_reason", flat=True)) == {"scheduled"}


def test_a_users_changes_are_recorded_without_the_password_hash(
    clinic_admin: User, client: Client
) -> None:
    client.force_login(clinic_admin)
    hana = User.objects.create_user("hana", password="first-pass-123")

    response = client.post(
        f"/admin/auth/user/{hana.pk}/change/",
        {
            "username": "hana",
            "first_name": "Hana",
            "last_name": "Seo",
            "email": "",
            "is_active": "on",
            "groups": [Group.objects.get(name=Role.STAFF.value).pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
        },
    )

    assert response.status_code == 302, response.content
    changes = list(hana.history.filter(history_type="~"))  # type: ignore[attr-defined]
    assert {record.history_user for record in changes} == {clinic_admin}
    assert {"first_name", "last_name", "groups"} <= set().union(*map(changed_fields, changes))
    latest = changes[0]
    assert [g.group.name for g in latest.groups.all()] == [Role.STAFF.value]
    hana.set_password("second-pass-456")
    hana.save()
    assert not any(f.name == "password" for f in type(latest)._meta.fields)
    assert "pbkdf2" not in str(list(hana.history.values()))  # type: ignore[attr-defined]
    # And the admin shows the user's history.
    assert client.get(f"/admin/auth/user/{hana.pk}/history/").status_code == 200


def test_logging_in_notes_the_time_without_a_history_row(client, staff_user):
    staff_user.set_password("correct-horse-battery")
    staff_user.save()
    rows = staff_user.history.count()

    response = client.post(
        "/login/", {"username": staff_user.username, "password": "correct-horse-battery"}
    )

    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.last_login is not None
    assert staff_user.history.count() == rows


def test_every_tracked_model_builds_its_history_manager_class_once(
    patient: Patient, staff_user: User
) -> None:
    """A save reads ``Model.history`` to write the history row; the manager class behind it is
    built once, not on every save, and still answers for the row it was read from."""
    other = Patient.objects.create(
        family_name="Lee", given_name="Mina", date_of_birth=date(1990, 5, 1), email="m@example.com"
    )

    assert type(patient.history) is type(other.history)
    assert type(Session.history) is type(Session.history)
    assert patient.history.instance == patient
    assert other.history.instance == other
    other.given_name = "Minah"
    other.save()
    assert [r.given_name for r in other.history.order_by("history_id")] == ["Mina", "Minah"]
    assert list(patient.history.values_list("id", flat=True).distinct()) == [patient.pk]


def test_a_history_row_sent_with_a_change_is_the_row_a_save_writes(
    staff_user: User, kim: Practitioner, tuesday: date
) -> None:
    """A move writes its session's history row in the same statement as the move
    (clinic.history.history_rows): the row must be the one a save would have written."""
    session = hold(kim, seoul(tuesday, 10))
    session.starts_at, session.ends_at = seoul(tuesday, 11), seoul(tuesday, 11, 45)
    session._history_user = staff_user  # type: ignore[attr-defined]
    session._change_reason = "moved at the desk"  # type: ignore[attr-defined]
    session.save()
    saved = session.history.latest()
    (sent,) = history_rows([session])  # the session as saved

    tracked = [field.attname for field in type(saved).tracked_fields]
    assert [getattr(sent, name) for name in tracked] == [getattr(saved, name) for name in tracked]
    assert (sent.history_type, sent.history_user, sent.history_change_reason) == (
        "~",
        staff_user,
        "moved at the desk",
    )


def test_a_history_row_sent_by_the_worker_names_its_task(kim: Practitioner, tuesday: date) -> None:
    session = hold(kim, seoul(tuesday, 10))
    session._history_user = None  # type: ignore[attr-defined]

    with worker_changes("scheduling.tasks.schedule_plan"):
        (row,) = history_rows([session])

    assert (row.history_user, row.history_change_reason) == (None, "worker: schedule_plan")


def test_a_history_row_sent_with_a_change_names_the_person_behind_the_request(
    staff_user: User, kim: Practitioner, tuesday: date, rf: Any
) -> None:
    session = hold(kim, seoul(tuesday, 10))
    request = rf.post("/")
    request.user = staff_user
    HistoricalRecords.context.request = request  # as simple-history's middleware does
    try:
        (row,) = history_rows([session])
    finally:
        del HistoricalRecords.context.request

    assert row.history_user == staff_user
    assert history_rows([session])[0].history_user is None  # outside a request: nobody
