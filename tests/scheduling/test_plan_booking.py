"""Previewing and booking a course, and the worker placing its sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.formatting import format_day
from patients.models import Patient
from scheduling.errors import ProtocolViolationError
from scheduling.explain import explain_no_fit
from scheduling.models import (
    Closure,
    Leave,
    PlanStatus,
    Practitioner,
    Reminder,
    ReminderKind,
    Session,
    TreatmentPlan,
    WorkingHours,
)
from scheduling.services import plan_book, plan_preview, plan_schedule
from tests.factories import PatientFactory, PractitionerFactory, UserFactory
from tests.helpers import flag, hold
from tests.timeutil import seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def receptionist(db: None) -> User:
    return UserFactory(username="reception")


@pytest.fixture
def emma(db: None) -> Patient:
    return PatientFactory(family_name="Clarke", given_name="Emma")


# --- Preview --------------------------------------------------------------------------------


def test_preview_proposes_the_usual_course_on_the_same_weekday_and_time(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )

    assert preview.fits
    assert [s.starts_at for s in preview.proposal.sessions] == [
        seoul(tuesday, 10),
        seoul(tuesday + timedelta(days=28), 10),
        seoul(tuesday + timedelta(days=56), 10),
    ]
    assert not preview.proposal.moved
    assert preview.proposal.maintenance_due_on is not None
    assert preview.contraindications == []


def test_preview_writes_nothing(
    emma: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    # performs?, opening hours, closures, working hours, leave, busy time, flags
    with django_assert_num_queries(4):
        plan_preview(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            session_count=4,
        )

    assert not TreatmentPlan.objects.exists()
    assert not Session.objects.exists()


def test_preview_queries_do_not_grow_with_existing_bookings(
    emma: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    for day in range(40):
        hold(kim, seoul(tuesday + timedelta(days=day), 15))

    with django_assert_num_queries(4):
        plan_preview(
            patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
        )


def test_preview_warns_about_a_recorded_contraindication(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    flag(emma, "fish-allergy")
    flag(emma, "anticoagulants")  # rules out PRP, not Rejuran

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )

    assert [c.slug for c in preview.contraindications] == ["fish-allergy"]


def test_a_resolved_medical_flag_no_longer_warns(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    pregnancy = flag(emma, "pregnancy")
    pregnancy.resolved_at = seoul(tuesday, 9) - timedelta(days=30)
    pregnancy.save()

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )

    assert preview.contraindications == []


def test_a_taken_preferred_slot_keeps_the_time_of_day_on_the_nearest_day_and_says_so(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    hold(kim, seoul(tuesday + timedelta(days=28), 10), minutes=60)

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )

    # 11:00 that Tuesday is free too, but 10:00 on the Monday before keeps the patient's time.
    second = preview.proposal.sessions[1]
    assert second.moved
    assert second.preferred_at == seoul(tuesday + timedelta(days=28), 10)
    assert second.starts_at == seoul(tuesday + timedelta(days=27), 10)


# --- The first session: exactly the chosen time, or not at all --------------------------------


def test_a_taken_first_slot_is_shown_in_the_preview_and_refused_at_once_with_the_reason(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    hold(kim, seoul(tuesday, 9, 30))  # until 10:15
    plans_before = TreatmentPlan.objects.count()

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )
    with pytest.raises(ProtocolViolationError) as error:
        plan_book(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            booked_by=receptionist,
        )

    assert not preview.fits
    assert preview.no_fit.sequence == 1
    assert preview.no_fit.cause == "booked"
    assert error.value.no_fit.cause == "booked"
    assert error.value.message == (
        f"Session 1 cannot be placed at {format_day(tuesday)}, 10:00; the practitioner or room "
        "is already booked then."
    )
    assert TreatmentPlan.objects.count() == plans_before


def test_a_first_slot_taken_before_the_worker_runs_needs_attention_and_books_nothing(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    plan = booked_plan(emma, rejuran, kim, seoul(tuesday, 10), receptionist)
    hold(kim, seoul(tuesday, 10))  # someone took it between the answer and the worker

    plan_schedule(plan_id=plan.pk)

    plan.refresh_from_db()
    assert plan.status == PlanStatus.NEEDS_ATTENTION
    assert plan.attention_reason == (
        f"Session 1 cannot be placed at {format_day(tuesday)}, 10:00; the practitioner or room "
        "is already booked then."
    )
    assert plan.schedule_notes == ""
    assert not plan.sessions.exists()
    assert not Reminder.objects.filter(plan=plan).exists()


def test_a_first_start_off_the_booking_grid_is_a_field_error_and_saves_nothing(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    for call in (plan_preview, plan_book):
        extra = {"booked_by": receptionist} if call is plan_book else {}
        with pytest.raises(ValidationError) as error:
            call(
                patient=emma,
                template=rejuran,
                practitioner=kim,
                first_start=seoul(tuesday, 10, 10),
                **extra,
            )

        assert error.value.message_dict == {
            "first_start": [
                "Sessions start every 15 minutes from opening time, and 10:10 is not one of "
                "those times: choose 10:00 or 10:15."
            ]
        }
    assert not TreatmentPlan.objects.exists()


def test_a_first_start_when_the_practitioner_does_not_work_is_refused(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    WorkingHours.objects.create(practitioner=kim, weekday=1, start_time=time(14), end_time=time(18))

    with pytest.raises(ProtocolViolationError) as error:
        plan_book(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            booked_by=receptionist,
        )

    assert error.value.no_fit.cause == "not_working"
    assert "the practitioner does not work then" in error.value.message
    assert not TreatmentPlan.objects.exists()


def test_a_first_start_while_the_patient_is_with_another_practitioner_is_refused(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    lee = PractitionerFactory(display_name="Dr. Lee")
    hold(lee, seoul(tuesday, 10, 15), patient=emma)

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )

    assert preview.no_fit.sequence == 1
    assert preview.no_fit.cause == "patient_busy"
    assert "the patient has another session then" in explain_no_fit(preview.no_fit)


def test_later_sessions_stay_clear_of_the_patients_other_sessions(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    lee = PractitionerFactory(display_name="Dr. Lee")
    hold(lee, seoul(tuesday + timedelta(days=28), 10), patient=emma)

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )

    assert preview.proposal.sessions[1].starts_at == seoul(tuesday + timedelta(days=27), 10)


def test_the_course_follows_the_practitioners_days_and_leave(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    # Dr. Kim works Tuesday and Thursday afternoons, and is away on the fourth Tuesday.
    for weekday in (1, 3):
        WorkingHours.objects.create(
            practitioner=kim, weekday=weekday, start_time=time(14), end_time=time(18)
        )
    away = tuesday + timedelta(days=28)
    Leave.objects.create(practitioner=kim, starts_on=away, ends_on=away, reason="conference")

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 14)
    )

    assert [s.starts_at for s in preview.proposal.sessions] == [
        seoul(tuesday, 14),
        seoul(tuesday + timedelta(days=23), 14),  # the Thursday before the leave
        seoul(tuesday + timedelta(days=49), 14),  # back on the first session's weekday
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"session_count": 5}, "session_count", "takes 3–4 sessions, not 5"),
        ({"interval_days": 14}, "interval_days", "must be 21–28 days apart, not 14"),
    ],
)
def test_choices_outside_the_protocol_are_field_errors(
    emma: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    overrides: dict[str, int],
    field: str,
    message: str,
) -> None:
    with pytest.raises(ValidationError) as error:
        plan_preview(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            **overrides,
        )

    assert message in error.value.message_dict[field][0]


def test_a_practitioner_who_does_not_perform_the_treatment_is_refused(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    kim.treatments.clear()

    with pytest.raises(ValidationError) as error:
        plan_preview(
            patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
        )

    assert error.value.message_dict["practitioner"] == ["Dr. Kim does not perform Rejuran Healer."]


def test_a_first_session_in_the_past_is_refused(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    with pytest.raises(ValidationError) as error:
        plan_preview(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            now=seoul(tuesday, 11),
        )

    assert error.value.message_dict["first_start"] == ["The time must be in the future."]


def test_a_treatment_no_longer_offered_cannot_be_booked(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    rejuran.treatment.is_active = False
    rejuran.treatment.save()

    with pytest.raises(ValidationError) as error:
        plan_preview(
            patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
        )

    assert "no longer offered" in error.value.message_dict["template"][0]


def test_a_course_that_cannot_fit_says_which_session_and_why(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> None:
    Closure.objects.create(
        starts_on=tuesday + timedelta(days=20),
        ends_on=tuesday + timedelta(days=29),
        reason="clinic renovation",
    )

    preview = plan_preview(
        patient=emma, template=rejuran, practitioner=kim, first_start=seoul(tuesday, 10)
    )

    assert not preview.fits
    assert preview.no_fit.sequence == 2
    assert preview.no_fit.window_first_day == tuesday + timedelta(days=21)
    assert preview.no_fit.window_last_day == tuesday + timedelta(days=28)
    assert "Session 2 cannot be placed between" in explain_no_fit(preview.no_fit)
    assert "(clinic renovation)" in explain_no_fit(preview.no_fit)


# --- Booking --------------------------------------------------------------------------------


def test_booking_creates_a_plan_for_the_worker_to_schedule_after_commit(
    emma: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    receptionist: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        plan = plan_book(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            booked_by=receptionist,
            session_count=4,
        )

    assert plan.status == PlanStatus.SCHEDULING
    assert (plan.session_count, plan.interval_days) == (4, 28)
    assert not plan.sessions.exists()
    assert len(callbacks) == 1
    assert plan.history.get().history_user == receptionist


def test_after_commit_the_worker_places_the_sessions_and_their_reminders(
    emma: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    receptionist: User,
    eager_celery: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        plan = plan_book(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            booked_by=receptionist,
        )

    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    sessions = list(plan.sessions.order_by("sequence"))
    assert [(s.sequence, s.starts_at, s.ends_at - s.starts_at) for s in sessions] == [
        (n + 1, seoul(tuesday + timedelta(days=28 * n), 10), timedelta(minutes=45))
        for n in range(3)
    ]
    first = sessions[0]
    assert {r.kind: r.due_at for r in first.reminders.all()} == {
        ReminderKind.SESSION_EARLY: seoul(tuesday, 10) - timedelta(hours=48),
        ReminderKind.SESSION_LATE: seoul(tuesday, 8),
        ReminderKind.AFTERCARE: seoul(tuesday, 20),
    }


def test_a_contraindication_blocks_booking_without_a_reason_and_nothing_is_saved(
    emma: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    receptionist: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    flag(emma, "fish-allergy")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError) as error:
        plan_book(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            booked_by=receptionist,
            override_reason="   ",
        )

    assert error.value.error_dict["override_reason"][0].code == "contraindicated"
    assert "Fish or salmon allergy" in error.value.message_dict["override_reason"][0]
    assert not TreatmentPlan.objects.exists()
    assert callbacks == []


def test_an_override_with_a_reason_books_and_is_recorded(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    flag(emma, "fish-allergy")

    plan = plan_book(
        patient=emma,
        template=rejuran,
        practitioner=kim,
        first_start=seoul(tuesday, 10),
        booked_by=receptionist,
        override_reason="Allergist cleared PN injections (letter scanned 2026-11-02).",
    )

    assert plan.overridden_conditions == "Fish or salmon allergy"
    assert plan.override_reason.startswith("Allergist cleared")


def test_a_booking_that_cannot_keep_the_protocol_is_refused_with_the_reason(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    Closure.objects.create(
        starts_on=tuesday + timedelta(days=21),
        ends_on=tuesday + timedelta(days=28),
        reason="Seollal",
    )

    with pytest.raises(ProtocolViolationError) as error:
        plan_book(
            patient=emma,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            booked_by=receptionist,
        )

    assert error.value.code == "protocol_violation"
    assert "Session 2" in error.value.message
    assert "Seollal" in error.value.message
    assert not TreatmentPlan.objects.exists()


# --- The worker's part ----------------------------------------------------------------------


def booked_plan(
    patient: Patient,
    template: ProtocolTemplate,
    practitioner: Practitioner,
    start: datetime,
    by: User,
) -> TreatmentPlan:
    return plan_book(
        patient=patient,
        template=template,
        practitioner=practitioner,
        first_start=start,
        booked_by=by,
    )


def test_scheduling_twice_creates_nothing_twice(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    plan = booked_plan(emma, rejuran, kim, seoul(tuesday, 10), receptionist)

    plan_schedule(plan_id=plan.pk)
    plan_schedule(plan_id=plan.pk)

    assert plan.sessions.count() == 3
    assert Reminder.objects.filter(plan=plan).count() == 9


def test_a_later_slot_taken_since_the_preview_is_replanned_inside_the_window_and_noted(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    plan = booked_plan(emma, rejuran, kim, seoul(tuesday, 10), receptionist)
    hold(kim, seoul(tuesday + timedelta(days=28), 10))  # someone took session 2's slot

    plan_schedule(plan_id=plan.pk)

    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    first, second = plan.sessions.get(sequence=1), plan.sessions.get(sequence=2)
    assert first.starts_at == seoul(tuesday, 10)
    assert second.starts_at == seoul(tuesday + timedelta(days=27), 10)
    assert first.patient == second.patient == emma
    assert "Session 2 moved from" in plan.schedule_notes


def test_a_course_that_no_longer_fits_needs_staff_attention_with_the_reason(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    plan = booked_plan(emma, rejuran, kim, seoul(tuesday, 10), receptionist)
    Closure.objects.create(
        starts_on=tuesday + timedelta(days=21),
        ends_on=tuesday + timedelta(days=28),
        reason="Chuseok",
    )

    plan_schedule(plan_id=plan.pk)

    plan.refresh_from_db()
    assert plan.status == PlanStatus.NEEDS_ATTENTION
    assert "Session 2 cannot be placed" in plan.attention_reason
    assert "Chuseok" in plan.attention_reason
    assert not plan.sessions.exists()


def test_a_wished_start_that_passed_before_scheduling_needs_attention(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    plan = booked_plan(emma, rejuran, kim, seoul(tuesday, 10), receptionist)

    plan_schedule(plan_id=plan.pk, now=seoul(tuesday, 12))

    plan.refresh_from_db()
    assert plan.status == PlanStatus.NEEDS_ATTENTION
    assert "passed" in plan.attention_reason


def test_a_cancelled_plan_is_left_alone_by_the_worker(
    emma: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date, receptionist: User
) -> None:
    plan = booked_plan(emma, rejuran, kim, seoul(tuesday, 10), receptionist)
    TreatmentPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.CANCELLED)

    plan_schedule(plan_id=plan.pk)

    assert not plan.sessions.exists()


@pytest.mark.django_db(transaction=True)
def test_a_booking_rolled_back_enqueues_nothing(catalogue: None, tuesday: date) -> None:
    published: list[str] = []

    def record(sender: str, **kwargs: Any) -> None:
        published.append(sender)

    practitioner = PractitionerFactory()
    template = ProtocolTemplate.objects.get(treatment__slug="rejuran-healer")
    practitioner.treatments.add(template.treatment)
    patient, receptionist = PatientFactory(), UserFactory()

    def request_that_fails_after_booking() -> None:
        with transaction.atomic():
            plan_book(
                patient=patient,
                template=template,
                practitioner=practitioner,
                first_start=seoul(tuesday, 10),
                booked_by=receptionist,
            )
            raise RuntimeError("the request failed after booking")

    before_task_publish.connect(record)
    try:
        with pytest.raises(RuntimeError):
            request_that_fails_after_booking()
    finally:
        before_task_publish.disconnect(record)

    assert published == []
    assert not TreatmentPlan.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_committed_booking_hands_the_plan_to_the_worker_once(
    catalogue: None, tuesday: date
) -> None:
    published: list[tuple[str, list[Any]]] = []

    def record(sender: str, body: Any, **kwargs: Any) -> None:
        published.append((sender, list(body[0])))

    practitioner = PractitionerFactory()
    template = ProtocolTemplate.objects.get(treatment__slug="rejuran-healer")
    practitioner.treatments.add(template.treatment)
    before_task_publish.connect(record)
    try:
        plan = plan_book(
            patient=PatientFactory(),
            template=template,
            practitioner=practitioner,
            first_start=seoul(tuesday, 10),
            booked_by=UserFactory(),
        )
    finally:
        before_task_publish.disconnect(record)

    assert published == [("scheduling.tasks.schedule_plan", [plan.pk])]
