"""Reminders over HTTP, for staff: what failed (``?status=failed``, for a Today page) and
retrying it. Patients see no reminders at all. Retrying is safe to repeat: a reminder that is
not failed is left as it is and the answer says so.

Errors always come as ``{"errors": [{"field", "code", "message"}]}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from scheduling.models import (
    PlanStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Session,
    SessionStatus,
)
from scheduling.reminders import MAX_ATTEMPTS
from tests.api.helpers import API, ERROR_CODES, ROLES, assert_not_logged_in, the_error
from tests.factories import PatientFactory, SessionFactory, TreatmentPlanFactory
from tests.helpers import SESSION, snapshot
from tests.timeutil import seoul

pytestmark = pytest.mark.django_db


def a_session(day: date, *, patient: Any = None) -> Session:
    """A planned session of an active course at 10:00 on ``day``."""
    plan = TreatmentPlanFactory(
        patient=patient or PatientFactory(),
        status=PlanStatus.ACTIVE,
        first_session_at=seoul(day, 10),
    )
    start = seoul(day, 10)
    return SessionFactory(plan=plan, sequence=1, starts_at=start, ends_at=start + SESSION)


def a_reminder(session: Session, status: str = ReminderStatus.FAILED, **fields: Any) -> Reminder:
    """The two-day reminder of ``session``, given up on after every attempt unless told."""
    failed = status == ReminderStatus.FAILED
    return Reminder.objects.create(
        plan=session.plan,
        session=session,
        kind=ReminderKind.SESSION_EARLY,
        channel="sms",
        due_at=session.starts_at - timedelta(days=2),
        status=status,
        attempts=MAX_ATTEMPTS if failed else 0,
        last_error="SMS gateway unreachable (HTTP 503)" if failed else "",
        **fields,
    )


@pytest.fixture
def failed(tuesday: date) -> Reminder:
    return a_reminder(a_session(tuesday))


def reminders() -> dict[str, list[dict[str, Any]]]:
    return snapshot(reminders=Reminder)


# --- Permissions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "endpoint", "role", "expected"),
    [
        pytest.param(method, endpoint, role, status, id=f"{role} {method.upper()} {endpoint}")
        for (method, endpoint), statuses in {
            ("get", "reminders/"): [403, 200, 200],
            ("get", "reminders/{failed}/"): [403, 200, 200],
            ("post", "reminders/{failed}/retry/"): [403, 200, 200],
            ("get", "reminders/{failed}/retry/"): [403, 405, 405],
            ("post", "reminders/"): [403, 405, 405],
            ("delete", "reminders/{failed}/"): [403, 405, 405],
        }.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_only_staff_see_and_retry_reminders(
    clients: dict[str, APIClient],
    failed: Reminder,
    method: str,
    endpoint: str,
    role: str,
    expected: int,
) -> None:
    before = reminders()

    response = getattr(clients[role], method)(f"{API}/" + endpoint.format(failed=failed.pk))

    if expected < 400:
        assert response.status_code == expected, response.content
        return
    error = the_error(response, expected)
    assert error["code"] == ERROR_CODES[expected]
    if expected == 403:
        assert error["message"] == "Only clinic staff can do this."
    assert reminders() == before


def test_anonymous_callers_cannot_retry(anonymous_api: APIClient, failed: Reminder) -> None:
    before = reminders()

    assert_not_logged_in(anonymous_api.post(f"{API}/reminders/{failed.pk}/retry/"))

    assert reminders() == before


# --- Listing ---------------------------------------------------------------------------------


def test_staff_list_the_failed_reminders_with_why_they_failed(
    staff_api: APIClient, failed: Reminder, tuesday: date
) -> None:
    a_reminder(a_session(tuesday + timedelta(days=1)), status=ReminderStatus.PENDING)

    body = staff_api.get(f"{API}/reminders/?status=failed").json()

    assert body["count"] == 1
    [item] = body["results"]
    patient = failed.plan.patient
    assert item == {
        "id": failed.pk,
        "plan": failed.plan_id,
        "session": failed.session_id,
        "patient": {"id": patient.pk, "name": str(patient)},
        "kind": "session_early",
        "cycle": 0,
        "channel": "sms",
        "due_at": (seoul(tuesday, 10) - timedelta(days=2)).isoformat(),
        "status": "failed",
        "attempts": MAX_ATTEMPTS,
        "last_error": "SMS gateway unreachable (HTTP 503)",
        "sent_at": None,
        "retried_at": None,
        "retried_by": None,
    }


def test_reminders_filter_by_patient(staff_api: APIClient, failed: Reminder, tuesday: date) -> None:
    a_reminder(a_session(tuesday + timedelta(days=1)))

    body = staff_api.get(f"{API}/reminders/?patient={failed.plan.patient_id}").json()

    assert [item["id"] for item in body["results"]] == [failed.pk]


@pytest.mark.parametrize("rows", [10, 200])
def test_listing_reminders_costs_the_same_queries_for_10_or_200_rows(
    staff_api: APIClient, tuesday: date, django_assert_num_queries: Callable[..., Any], rows: int
) -> None:
    for n in range(rows):
        a_reminder(a_session(tuesday + timedelta(days=n)))

    with django_assert_num_queries(3):  # the caller's roles, count, page (patients joined in)
        response = staff_api.get(f"{API}/reminders/?status=failed&page_size=200")

    assert len(response.json()["results"]) == rows


# --- Retrying --------------------------------------------------------------------------------


def test_staff_retry_a_failed_reminder(
    staff_api: APIClient, staff_user: User, failed: Reminder
) -> None:
    response = staff_api.post(f"{API}/reminders/{failed.pk}/retry/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["retried"] is True
    assert body["message"] == "The reminder is queued again and goes out within a minute."
    assert body["reminder"]["status"] == "pending"
    assert body["reminder"]["retried_by"] == staff_user.username
    assert body["reminder"]["retried_at"].endswith("+09:00")
    failed.refresh_from_db()
    assert failed.status == ReminderStatus.PENDING
    assert failed.retried_by == staff_user


def test_retrying_again_changes_nothing_and_says_so(
    staff_api: APIClient, admin_api: APIClient, failed: Reminder
) -> None:
    staff_api.post(f"{API}/reminders/{failed.pk}/retry/")
    before = reminders()

    response = admin_api.post(f"{API}/reminders/{failed.pk}/retry/")

    assert response.status_code == 200
    assert response.json()["retried"] is False
    assert response.json()["message"] == (
        "This reminder is waiting, not failed: nothing was changed."
    )
    assert reminders() == before


def test_a_failed_reminder_for_a_cancelled_session_is_not_retried(
    staff_api: APIClient, failed: Reminder
) -> None:
    Session.objects.filter(pk=failed.session_id).update(status=SessionStatus.CANCELLED)
    before = reminders()

    error = the_error(staff_api.post(f"{API}/reminders/{failed.pk}/retry/"), 400)

    assert error == {
        "field": "reminder",
        "code": "not_needed",
        "message": "This reminder is no longer needed (the session is cancelled): it is not "
        "sent again.",
    }
    assert reminders() == before


def test_retrying_an_unknown_reminder_is_not_found(staff_api: APIClient) -> None:
    assert the_error(staff_api.post(f"{API}/reminders/999999/retry/"), 404)["code"] == "not_found"


def test_retrying_costs_a_fixed_number_of_queries(
    staff_api: APIClient, failed: Reminder, django_assert_num_queries: Callable[..., Any]
) -> None:
    # the caller's roles, the reminder (the view's lookup), the reminder with its plan and
    # session (the service), the conditional update, the reminder again, the answer
    with django_assert_num_queries(6):
        response = staff_api.post(f"{API}/reminders/{failed.pk}/retry/")

    assert response.json()["retried"] is True
