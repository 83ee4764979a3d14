"""Practitioners' own working hours and leave, as the clinic uses them: free slots, booking and
moving sessions respect them exactly as they respect the clinic's opening hours and closures;
leave over booked sessions is refused, naming the sessions to move; a working period or leave
that ends before it starts is refused by the model and by the database.

Dr. Kim works the clinic's hours (10:00–19:00 on weekdays) unless a test gives him a pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.formatting import format_day
from scheduling.models import (
    Leave,
    Practitioner,
    Session,
    SessionStatus,
    TreatmentPlan,
    WorkingHours,
)
from scheduling.selectors import free_slots
from scheduling.services import leave_save, session_book, session_reschedule
from tests.factories import PractitionerFactory
from tests.helpers import book_and_schedule, db_state, hold, sessions_of
from tests.timeutil import seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db

TUESDAY, THURSDAY = 1, 3


def afternoons(practitioner: Practitioner, *weekdays: int) -> None:
    for weekday in weekdays:
        WorkingHours.objects.create(
            practitioner=practitioner, weekday=weekday, start_time=time(14), end_time=time(18)
        )


def local_times(slots: list[datetime]) -> list[str]:
    return [f"{slot:%a %H:%M}" for slot in slots]


def leave_state() -> dict[str, Any]:
    return {
        "leave": list(Leave.objects.order_by("pk").values()),
        "leave history": Leave.history.count(),
    }


@pytest.fixture
def course(
    patient: Any, rejuran: ProtocolTemplate, kim: Practitioner, staff_user: User, tuesday: date
) -> TreatmentPlan:
    """A Rejuran course of 3 sessions on Tuesdays at 10:00, 28 days apart."""
    return book_and_schedule(patient, rejuran, kim, seoul(tuesday, 10), staff_user)


# --- Free slots ------------------------------------------------------------------------------


def test_a_practitioner_without_a_pattern_is_offered_the_clinics_hours(
    kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    slots = free_slots(
        practitioner=kim, treatment=rejuran.treatment, first_day=tuesday, last_day=tuesday
    )

    assert local_times(slots)[0] == "Tue 10:00"
    assert local_times(slots)[-1] == "Tue 18:15"


def test_free_slots_are_only_on_the_practitioners_days_and_hours(
    kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    afternoons(kim, TUESDAY, THURSDAY)

    slots = free_slots(
        practitioner=kim,
        treatment=rejuran.treatment,
        first_day=tuesday - timedelta(days=1),
        last_day=tuesday + timedelta(days=5),
    )

    assert {f"{slot:%a}" for slot in slots} == {"Tue", "Thu"}
    assert local_times(slots)[0] == "Tue 14:00"
    assert local_times(slots)[-1] == "Thu 17:15"


def test_a_split_shift_offers_both_stretches_and_nothing_across_the_gap(
    kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    WorkingHours.objects.create(
        practitioner=kim, weekday=TUESDAY, start_time=time(10), end_time=time(12)
    )
    WorkingHours.objects.create(
        practitioner=kim, weekday=TUESDAY, start_time=time(16), end_time=time(19)
    )

    slots = local_times(
        free_slots(
            practitioner=kim, treatment=rejuran.treatment, first_day=tuesday, last_day=tuesday
        )
    )

    assert slots == [
        "Tue 10:00",
        "Tue 10:15",
        "Tue 10:30",
        "Tue 10:45",
        "Tue 11:00",
        "Tue 11:15",
        "Tue 16:00",
        "Tue 16:15",
        "Tue 16:30",
        "Tue 16:45",
        "Tue 17:00",
        "Tue 17:15",
        "Tue 17:30",
        "Tue 17:45",
        "Tue 18:00",
        "Tue 18:15",
    ]


def test_a_pattern_wider_than_the_clinics_hours_is_held_to_them(
    kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    WorkingHours.objects.create(
        practitioner=kim, weekday=TUESDAY, start_time=time(7), end_time=time(22)
    )

    slots = local_times(
        free_slots(
            practitioner=kim, treatment=rejuran.treatment, first_day=tuesday, last_day=tuesday
        )
    )

    assert (slots[0], slots[-1]) == ("Tue 10:00", "Tue 18:15")


def test_part_of_a_day_on_leave_is_not_offered(
    kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    Leave.objects.create(
        practitioner=kim,
        starts_on=tuesday,
        ends_on=tuesday,
        start_time=time(12),
        end_time=time(16),
        reason="dentist",
    )

    slots = local_times(
        free_slots(
            practitioner=kim, treatment=rejuran.treatment, first_day=tuesday, last_day=tuesday
        )
    )

    assert "Tue 11:15" in slots
    assert "Tue 11:30" not in slots  # would run into the leave
    assert "Tue 15:45" not in slots
    assert "Tue 16:00" in slots


def test_whole_days_on_leave_are_not_offered(
    kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    Leave.objects.create(practitioner=kim, starts_on=tuesday, ends_on=tuesday + timedelta(days=1))

    slots = free_slots(
        practitioner=kim,
        treatment=rejuran.treatment,
        first_day=tuesday,
        last_day=tuesday + timedelta(days=2),
    )

    assert {f"{slot:%a}" for slot in slots} == {"Thu"}


# --- Booking and moving sessions -------------------------------------------------------------


@pytest.fixture
def in_maintenance(course: TreatmentPlan, kim: Practitioner) -> TreatmentPlan:
    from scheduling.services import session_complete

    for session in sorted(sessions_of(course).values(), key=lambda s: s.sequence):
        session_complete(
            session=session, completed_by=kim.user, now=session.starts_at + timedelta(hours=1)
        )
    course.refresh_from_db()
    return course


def maintenance_day(plan: TreatmentPlan) -> date:
    """The Tuesday of the week maintenance is due."""
    assert plan.maintenance_due_on is not None
    due = plan.maintenance_due_on
    return due + timedelta(days=(TUESDAY - due.weekday()) % 7)


def test_a_session_outside_the_practitioners_hours_is_refused_saying_when_they_work(
    in_maintenance: TreatmentPlan, kim: Practitioner, staff_user: User
) -> None:
    afternoons(kim, TUESDAY, THURSDAY)
    day = maintenance_day(in_maintenance)
    before = db_state()

    with pytest.raises(ValidationError) as error:
        session_book(plan=in_maintenance, starts_at=seoul(day, 10), booked_by=staff_user)

    (message,) = error.value.message_dict["starts_at"]
    assert message.startswith("Dr. Kim works 14:00–18:00 on Tue ")
    assert message.endswith("; the session must fit inside those hours.")
    assert db_state() == before


def test_a_session_on_a_practitioners_day_off_is_refused(
    in_maintenance: TreatmentPlan, kim: Practitioner, staff_user: User
) -> None:
    afternoons(kim, THURSDAY)
    day = maintenance_day(in_maintenance)

    with pytest.raises(ValidationError) as error:
        session_book(plan=in_maintenance, starts_at=seoul(day, 15), booked_by=staff_user)

    assert error.value.message_dict["starts_at"] == [f"Dr. Kim does not work on {format_day(day)}."]


def test_a_session_inside_the_practitioners_hours_is_booked(
    in_maintenance: TreatmentPlan, kim: Practitioner, staff_user: User
) -> None:
    afternoons(kim, TUESDAY)
    day = maintenance_day(in_maintenance)

    session = session_book(plan=in_maintenance, starts_at=seoul(day, 17), booked_by=staff_user)

    assert session.starts_at == seoul(day, 17)


def test_a_session_during_leave_is_refused_naming_the_leave(
    in_maintenance: TreatmentPlan, kim: Practitioner, staff_user: User
) -> None:
    day = maintenance_day(in_maintenance)
    Leave.objects.create(
        practitioner=kim,
        starts_on=day,
        ends_on=day,
        start_time=time(14),
        end_time=time(16, 30),
        reason="training",
    )
    before = db_state()

    with pytest.raises(ValidationError) as error:
        session_book(plan=in_maintenance, starts_at=seoul(day, 16), booked_by=staff_user)

    assert error.value.message_dict["starts_at"] == [
        f"Dr. Kim is on leave from {format_day(day)}, 14:00 to {format_day(day)}, 16:30 (training)."
    ]
    assert db_state() == before


def test_moving_a_session_into_leave_is_refused_and_changes_nothing(
    course: TreatmentPlan, kim: Practitioner, staff_user: User, tuesday: date
) -> None:
    away = tuesday + timedelta(days=29)
    Leave.objects.create(practitioner=kim, starts_on=away, ends_on=away, reason="conference")
    before = db_state()

    with pytest.raises(ValidationError) as error:
        session_reschedule(
            session=sessions_of(course)[2], new_start=seoul(away, 11), changed_by=staff_user
        )

    assert "Dr. Kim is on leave" in error.value.message_dict["new_start"][0]
    assert db_state() == before


def test_a_cascade_moves_later_sessions_around_the_practitioners_leave(
    course: TreatmentPlan, kim: Practitioner, staff_user: User, tuesday: date
) -> None:
    # Session 2 moves a day earlier, to day 27: session 3 (day 56) is then 29 days on and must
    # move into days 48–55. Dr. Kim is away on days 53–55, so it keeps 10:00 on day 52.
    Leave.objects.create(
        practitioner=kim,
        starts_on=tuesday + timedelta(days=53),
        ends_on=tuesday + timedelta(days=55),
    )

    result = session_reschedule(
        session=sessions_of(course)[2],
        new_start=seoul(tuesday + timedelta(days=27), 10),
        changed_by=staff_user,
    )

    assert [(m.sequence, m.new_start) for m in result.moves] == [
        (2, seoul(tuesday + timedelta(days=27), 10)),
        (3, seoul(tuesday + timedelta(days=52), 10)),
    ]


# --- Leave -----------------------------------------------------------------------------------


def test_leave_over_a_booked_session_is_refused_naming_the_sessions_to_move(
    course: TreatmentPlan, kim: Practitioner, clinic_admin: User, tuesday: date
) -> None:
    before = leave_state()
    patient = course.patient

    with pytest.raises(ValidationError) as error:
        leave_save(
            leave=Leave(
                practitioner=kim,
                starts_on=tuesday + timedelta(days=27),
                ends_on=tuesday + timedelta(days=56),
                reason="sabbatical",
            ),
            saved_by=clinic_admin,
        )

    second, third = (tuesday + timedelta(days=n) for n in (28, 56))
    assert error.value.messages == [
        "Dr. Kim has sessions booked during this leave; move or cancel them first: "
        f"{format_day(second)}, 10:00 ({patient}, Rejuran Healer session 2); "
        f"{format_day(third)}, 10:00 ({patient}, Rejuran Healer session 3)."
    ]
    assert leave_state() == before


def test_part_day_leave_that_touches_a_session_is_refused(
    course: TreatmentPlan, kim: Practitioner, clinic_admin: User, tuesday: date
) -> None:
    # Session 1 runs 10:00–10:45: leave from 10:30 overlaps it; leave from 10:45 does not.
    with pytest.raises(ValidationError, match="has a session booked during this leave"):
        leave_save(
            leave=Leave(
                practitioner=kim, starts_on=tuesday, ends_on=tuesday, start_time=time(10, 30)
            ),
            saved_by=clinic_admin,
        )

    leave = leave_save(
        leave=Leave(practitioner=kim, starts_on=tuesday, ends_on=tuesday, start_time=time(10, 45)),
        saved_by=clinic_admin,
    )
    assert leave.pk is not None


def test_leave_over_cancelled_sessions_and_other_practitioners_sessions_is_accepted(
    course: TreatmentPlan, kim: Practitioner, clinic_admin: User, tuesday: date
) -> None:
    from scheduling.services import session_cancel

    away = tuesday + timedelta(days=28)
    session_cancel(session=sessions_of(course)[2], reason="patient ill", cancelled_by=clinic_admin)
    hold(PractitionerFactory(), seoul(away, 12))

    leave = leave_save(
        leave=Leave(practitioner=kim, starts_on=away, ends_on=away), saved_by=clinic_admin
    )

    assert Leave.objects.get().pk == leave.pk
    assert leave.history.get().history_user == clinic_admin  # type: ignore[attr-defined]


def test_a_session_cannot_be_booked_into_leave_taken_meanwhile(
    in_maintenance: TreatmentPlan, kim: Practitioner, clinic_admin: User, staff_user: User
) -> None:
    day = maintenance_day(in_maintenance)
    leave_save(leave=Leave(practitioner=kim, starts_on=day, ends_on=day), saved_by=clinic_admin)

    with pytest.raises(ValidationError, match=r"Dr\. Kim is on leave"):
        session_book(plan=in_maintenance, starts_at=seoul(day, 11), booked_by=staff_user)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"starts_on": 5, "ends_on": 4},
            "ends_on",
            "The last day of leave cannot be before the first.",
        ),
        (
            {"starts_on": 5, "ends_on": 5, "start_time": time(15), "end_time": time(14)},
            "end_time",
            "Leave on a single day must end after it starts.",
        ),
        (
            {"starts_on": 5, "ends_on": 5, "start_time": time(15), "end_time": time(15)},
            "end_time",
            "Leave on a single day must end after it starts.",
        ),
        (
            {"starts_on": 5, "ends_on": 5, "end_time": time(0)},
            "end_time",
            "Leave on a single day must end after it starts.",
        ),
    ],
)
def test_leave_that_ends_before_it_starts_is_refused_by_the_model_and_the_database(
    kim: Practitioner,
    clinic_admin: User,
    tuesday: date,
    fields: dict[str, Any],
    field: str,
    message: str,
) -> None:
    values = {
        **fields,
        "starts_on": tuesday + timedelta(days=fields["starts_on"]),
        "ends_on": tuesday + timedelta(days=fields["ends_on"]),
    }

    with pytest.raises(ValidationError) as error:
        leave_save(leave=Leave(practitioner=kim, **values), saved_by=clinic_admin)
    with pytest.raises(IntegrityError), transaction.atomic():
        Leave.objects.create(practitioner=kim, **values)

    assert error.value.message_dict == {field: [message]}
    assert not Leave.objects.exists()


def test_leave_over_several_days_may_end_earlier_in_the_day_than_it_started(
    kim: Practitioner, clinic_admin: User, tuesday: date
) -> None:
    leave = leave_save(
        leave=Leave(
            practitioner=kim,
            starts_on=tuesday,
            ends_on=tuesday + timedelta(days=1),
            start_time=time(15),
            end_time=time(12),
        ),
        saved_by=clinic_admin,
    )

    assert leave.pk is not None


# --- Working hours ---------------------------------------------------------------------------


@pytest.mark.parametrize("end", [time(13), time(14)])
def test_a_working_period_that_ends_before_it_starts_is_refused_by_the_model_and_the_database(
    kim: Practitioner, end: time
) -> None:
    hours = WorkingHours(practitioner=kim, weekday=TUESDAY, start_time=time(14), end_time=end)

    with pytest.raises(ValidationError) as error:
        hours.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        hours.save()

    assert error.value.message_dict == {"end_time": ["A working period must end after it starts."]}
    assert not WorkingHours.objects.exists()


def test_two_periods_on_a_weekday_cannot_start_at_the_same_time(kim: Practitioner) -> None:
    afternoons(kim, TUESDAY)
    again = WorkingHours(practitioner=kim, weekday=TUESDAY, start_time=time(14), end_time=time(16))

    with pytest.raises(ValidationError) as error:
        again.full_clean()

    assert error.value.messages == ["That weekday already has a period starting then."]


def test_reading_the_calendar_costs_the_same_whatever_the_pattern_and_leave(
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    tuesday: date,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    afternoons(kim, 0, 1, 2, 3, 4)
    for week in range(8):
        day = tuesday + timedelta(weeks=week)
        Leave.objects.create(practitioner=kim, starts_on=day, ends_on=day)

    # bookable; opening hours, closures, working hours and leave in one union; busy time
    with django_assert_num_queries(3):
        free_slots(
            practitioner=kim,
            treatment=rejuran.treatment,
            first_day=tuesday,
            last_day=tuesday + timedelta(days=55),
        )


def test_sessions_record_their_patient(course: TreatmentPlan) -> None:
    assert {s.patient_id for s in Session.objects.filter(plan=course)} == {course.patient_id}
    assert not Session.objects.filter(plan=course, status=SessionStatus.CANCELLED).exists()
