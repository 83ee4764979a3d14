"""Values kept between requests by area: the logged-in user, the clinic calendar and the
reminder rules outlive bookings (which change everything else), and are read afresh on the
first request after their own tables change, whichever way they were written. These tests
commit for real (transactional database), as production does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clinic.data_version import (
    Area,
    data_version,
    request_began,
    request_ended,
    statement_areas,
)
from clinic.tokens import api_token_create
from scheduling.calendar_rules import calendar_rules
from scheduling.models import (
    Closure,
    PlanStatus,
    Practitioner,
    ReminderKind,
    ReminderRule,
    Session,
    TreatmentPlan,
)
from tests.factories import SessionFactory, TreatmentPlanFactory
from tests.helpers import SESSION, hold
from tests.timeutil import seoul, upcoming

pytestmark = [pytest.mark.page_cache, pytest.mark.usefixtures("catalogue")]

Count = Callable[..., Any]


# --- Which versions a statement raises -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "areas"),
    [
        ('SELECT "x" FROM "auth_user"', set()),
        ("(SELECT 1) UNION ALL (SELECT 2)", set()),
        ('SAVEPOINT "s1"', set()),
        ("BEGIN IMMEDIATE", set()),
        ('UPDATE "django_session" SET "session_data" = %s', set()),
        ('INSERT INTO "patients_patient" ("family_name") VALUES (%s)', {Area.ALL, Area.ACCOUNTS}),
        ('WITH moved AS (UPDATE "scheduling_session" SET x = 1) SELECT 1', set(Area)),
        ('UPDATE "scheduling_session" SET "status" = %s', {Area.ALL}),
        ('UPDATE "auth_user" SET "is_active" = false', {Area.ALL, Area.ACCOUNTS}),
        ('DELETE FROM "auth_user_groups" WHERE "user_id" = %s', {Area.ALL, Area.ACCOUNTS}),
        ('UPDATE "clinic_apitoken" SET "revoked_at" = %s', {Area.ALL, Area.ACCOUNTS}),
        ('INSERT INTO "scheduling_closure" ("reason") VALUES (%s)', {Area.ALL, Area.CALENDAR}),
        ('DELETE FROM "scheduling_leave" WHERE "id" = %s', {Area.ALL, Area.CALENDAR}),
        ('UPDATE "scheduling_reminderrule" SET x = 1', {Area.ALL, Area.REMINDER_RULES}),
        ('INSERT INTO "patients_patientaccess" ("patient_id") VALUES (%s)', set()),
        ('INSERT OR IGNORE INTO "scheduling_reminder" ("kind") VALUES (%s)', {Area.ALL}),
        ('TRUNCATE "scheduling_closure"', set(Area)),
    ],
)
def test_a_write_raises_the_version_of_everything_and_of_its_tables_area(
    sql: str, areas: set[Area]
) -> None:
    assert statement_areas(sql) == areas


@pytest.fixture
def course(kim: Practitioner, patient: Any) -> TreatmentPlan:
    """A course of Dr. Kim's, made before anything is measured (its patient is an account)."""
    return TreatmentPlanFactory(practitioner=kim, patient=patient, status=PlanStatus.ACTIVE)


def book(course: TreatmentPlan, start: datetime) -> Session:
    """A session of the course, in one transaction (the session and its history)."""
    with transaction.atomic():
        return SessionFactory(plan=course, starts_at=start, ends_at=start + SESSION)


def test_a_booking_raises_the_overall_version_only(course: TreatmentPlan) -> None:
    before = {area: data_version(area) for area in Area}

    book(course, seoul(upcoming(2), 11))

    after = {area: data_version(area) for area in Area}
    assert after[Area.ALL] == before[Area.ALL] + 1
    assert {a: v for a, v in after.items() if a != Area.ALL} == {
        a: v for a, v in before.items() if a != Area.ALL
    }


def test_one_transaction_raises_each_area_it_wrote_once(course: TreatmentPlan) -> None:
    before = {area: data_version(area) for area in Area}

    with transaction.atomic():
        Closure.objects.create(starts_on=upcoming(3), ends_on=upcoming(3), reason="Training")
        Closure.objects.create(starts_on=upcoming(4), ends_on=upcoming(4), reason="Training")
        book(course, seoul(upcoming(2), 11))

    after = {area: data_version(area) for area in Area}
    assert after[Area.ALL] == before[Area.ALL] + 1
    assert after[Area.CALENDAR] == before[Area.CALENDAR] + 1
    assert after[Area.ACCOUNTS] == before[Area.ACCOUNTS]


def test_a_write_made_by_an_on_commit_callback_leaves_the_transactions_own_areas(
    staff_user: User,
) -> None:
    before = {area: data_version(area) for area in Area}

    with transaction.atomic():
        # Registered before the transaction's first write, run before its version raise.
        transaction.on_commit(
            lambda: Closure.objects.create(starts_on=upcoming(3), ends_on=upcoming(3), reason="x")
        )
        User.objects.filter(pk=staff_user.pk).update(first_name="Min")

    after = {area: data_version(area) for area in Area}
    assert after[Area.ACCOUNTS] == before[Area.ACCOUNTS] + 1
    assert after[Area.CALENDAR] == before[Area.CALENDAR] + 1


def test_inside_a_transaction_the_calendar_is_read_afresh(kim: Practitioner) -> None:
    # A booking locks the practitioner, then checks the calendar: leave saved by another
    # process after the request began must be seen, not the rules kept for its version.
    day = upcoming(2)

    def leave_elsewhere() -> None:
        Closure.objects.create(starts_on=day, ends_on=day, reason="Inspection")
        connections.close_all()

    def rules() -> list[date]:
        found = calendar_rules(first_day=day, last_day=day, practitioner_ids=[kim.pk])
        return [closure.first_day for closure in found.closures]

    request_began()
    try:
        assert rules() == []  # kept for the version the request began with
        elsewhere = threading.Thread(target=leave_elsewhere)
        elsewhere.start()
        elsewhere.join()
        with transaction.atomic():
            in_transaction = rules()
        outside = rules()
    finally:
        request_ended()

    assert in_transaction == [day]
    assert outside == []  # a read-only page may be a request's moment behind


# --- Kept across bookings, fresh after their own change -----------------------------------------


@pytest.fixture
def api(staff_user: User) -> Client:
    _, raw = api_token_create(user=staff_user, name="CRM sync", created_by=None)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def free_slots(api: Client, practitioner: Practitioner, day: date) -> list[str]:
    answer = api.get(
        f"/api/v1/practitioners/{practitioner.pk}/free-slots/",
        {"treatment": "rejuran-healer", "from": day.isoformat(), "to": day.isoformat()},
    )
    assert answer.status_code == 200, answer.content
    slots: list[str] = answer.json()["slots"]
    return slots


def test_after_a_booking_the_calendar_and_the_token_are_not_read_again(
    api: Client, kim: Practitioner, course: TreatmentPlan
) -> None:
    day = upcoming(2)
    free_slots(api, kim, day)

    book(course, seoul(day, 11))  # a committed booking: every kept page and answer is stale
    with CaptureQueriesContext(connection) as seen:
        slots = free_slots(api, kim, day)

    sql = [query["sql"] for query in seen.captured_queries]
    assert seoul(day, 11).isoformat() not in slots  # the booking is seen
    assert not any("UNION ALL" in statement for statement in sql)  # the calendar is kept
    assert not any("clinic_apitoken" in statement for statement in sql)  # so is the token


def test_a_closure_shows_on_the_next_request_whichever_way_it_was_written(
    api: Client, kim: Practitioner
) -> None:
    day = upcoming(2)
    assert free_slots(api, kim, day)

    Closure.objects.bulk_create([Closure(starts_on=day, ends_on=day, reason="Staff training")])

    assert free_slots(api, kim, day) == []


def test_a_reminder_rule_turned_off_applies_to_the_next_booking(
    api: Client, kim: Practitioner, patient: Any
) -> None:
    session = hold(kim, seoul(upcoming(2), 11), patient=patient)
    move = seoul(upcoming(2), 14)
    first = api.post(  # the rules are read (and kept) for the first move
        f"/api/v1/sessions/{session.pk}/reschedule/",
        {"new_start": move.isoformat()},
        content_type="application/json",
    )
    assert first.status_code == 200, first.content

    ReminderRule.objects.filter(kind=ReminderKind.SESSION_LATE).update(is_enabled=False)
    answer = api.post(
        f"/api/v1/sessions/{session.pk}/reschedule/",
        {"new_start": seoul(upcoming(2), 16).isoformat()},
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    session.refresh_from_db()
    kinds = set(
        session.reminders.filter(status="pending", cycle=session.revision).values_list(
            "kind", flat=True
        )
    )
    assert ReminderKind.SESSION_LATE not in kinds
    assert ReminderKind.SESSION_EARLY in kinds
    assert Session.objects.filter(pk=session.pk, starts_at=seoul(upcoming(2), 16)).exists()
