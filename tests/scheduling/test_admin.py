"""Clinic admins edit practitioners' working hours and leave in the admin, with history; leave
over booked sessions is refused there with the sessions to move, and nothing is saved."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from scheduling.models import Leave, Practitioner, WorkingHours
from tests.helpers import hold
from tests.timeutil import seoul

pytestmark = pytest.mark.django_db


def admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def practitioner_form(practitioner: Practitioner, hours: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "user": practitioner.user_id,
        "display_name": practitioner.display_name,
        "title": practitioner.title,
        "is_active": "on",
        "treatments": [t.pk for t in practitioner.treatments.all()],
        "working_hours-TOTAL_FORMS": str(len(hours)),
        "working_hours-INITIAL_FORMS": "0",
        "working_hours-MIN_NUM_FORMS": "0",
        "working_hours-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(hours):
        data.update({f"working_hours-{index}-{key}": value for key, value in row.items()})
    return data


def leave_form(practitioner: Practitioner, day: date, **overrides: Any) -> dict[str, Any]:
    return {
        "practitioner": practitioner.pk,
        "starts_on": day.isoformat(),
        "ends_on": day.isoformat(),
        "start_time": "",
        "end_time": "",
        "reason": "conference",
        **overrides,
    }


def test_an_admin_gives_a_practitioner_tuesday_and_thursday_afternoons(
    clinic_admin: User, kim: Practitioner
) -> None:
    response = admin_client(clinic_admin).post(
        reverse("admin:scheduling_practitioner_change", args=[kim.pk]),
        practitioner_form(
            kim,
            [
                {"weekday": "1", "start_time": "14:00", "end_time": "18:00"},
                {"weekday": "3", "start_time": "14:00", "end_time": "18:00"},
            ],
        ),
    )

    assert response.status_code == 302, response.content
    assert list(
        WorkingHours.objects.filter(practitioner=kim).values_list("weekday", "start_time")
    ) == [(1, time(14)), (3, time(14))]
    assert {h.history_user for h in WorkingHours.history.all()} == {clinic_admin}


def test_a_working_period_ending_before_it_starts_is_refused_and_nothing_is_saved(
    clinic_admin: User, kim: Practitioner
) -> None:
    response = admin_client(clinic_admin).post(
        reverse("admin:scheduling_practitioner_change", args=[kim.pk]),
        practitioner_form(kim, [{"weekday": "1", "start_time": "18:00", "end_time": "14:00"}]),
    )

    assert response.status_code == 200
    assert "A working period must end after it starts." in response.text
    assert not WorkingHours.objects.exists()


def test_an_admin_records_leave_with_its_history(
    clinic_admin: User, kim: Practitioner, tuesday: date
) -> None:
    response = admin_client(clinic_admin).post(
        reverse("admin:scheduling_leave_add"), leave_form(kim, tuesday)
    )

    assert response.status_code == 302, response.content
    leave = Leave.objects.get()
    assert (leave.practitioner, leave.starts_on, leave.reason) == (kim, tuesday, "conference")
    assert leave.history.get().history_user == clinic_admin  # type: ignore[attr-defined]


def test_leave_over_a_booked_session_is_refused_in_the_admin_naming_it(
    clinic_admin: User, kim: Practitioner, tuesday: date
) -> None:
    session = hold(kim, seoul(tuesday, 15))

    response = admin_client(clinic_admin).post(
        reverse("admin:scheduling_leave_add"),
        leave_form(kim, tuesday, start_time="14:00", end_time="17:00"),
    )

    assert response.status_code == 200
    assert "Dr. Kim has a session booked during this leave; move or cancel it first:" in (
        response.text
    )
    assert str(session.patient) in response.text
    assert not Leave.objects.exists()


def test_leave_ending_before_it_starts_is_refused_in_the_admin(
    clinic_admin: User, kim: Practitioner, tuesday: date
) -> None:
    response = admin_client(clinic_admin).post(
        reverse("admin:scheduling_leave_add"),
        leave_form(kim, tuesday, ends_on=(tuesday - timedelta(days=1)).isoformat()),
    )

    assert response.status_code == 200
    assert "The last day of leave cannot be before the first." in response.text
    assert not Leave.objects.exists()


def test_staff_may_see_but_not_edit_working_hours_and_leave(
    staff_user: User, kim: Practitioner, tuesday: date
) -> None:
    client = admin_client(staff_user)

    assert client.get(reverse("admin:scheduling_leave_changelist")).status_code == 200
    assert client.get(reverse("admin:scheduling_workinghours_changelist")).status_code == 200
    assert (
        client.post(reverse("admin:scheduling_leave_add"), leave_form(kim, tuesday)).status_code
        == 403
    )
    assert not Leave.objects.exists()
