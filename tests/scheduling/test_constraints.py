"""The database itself refuses double bookings of a practitioner, a room or a patient
(PostgreSQL exclusion constraints), and refuses sessions that end before they start, on any
database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduling.models import Session, SessionStatus, TreatmentPlan
from tests.factories import PractitionerFactory, RoomFactory, SessionFactory, TreatmentPlanFactory

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + timedelta(days=10)


def book(plan: TreatmentPlan, starts_at: datetime, minutes: int = 45, **extra: object) -> Session:
    return SessionFactory(
        plan=plan, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), **extra
    )


@pytest.fixture
def plan() -> TreatmentPlan:
    return TreatmentPlanFactory()


@pytest.mark.postgres
def test_overlapping_session_for_the_same_practitioner_is_rejected(plan: TreatmentPlan) -> None:
    book(plan, START)
    other_plan = TreatmentPlanFactory(practitioner=plan.practitioner)

    with (
        pytest.raises(IntegrityError, match="session_no_practitioner_overlap"),
        transaction.atomic(),
    ):
        book(other_plan, START + timedelta(minutes=30))

    assert Session.objects.filter(practitioner=plan.practitioner).count() == 1


@pytest.mark.postgres
def test_a_session_inside_another_is_rejected(plan: TreatmentPlan) -> None:
    book(plan, START, minutes=120)

    with pytest.raises(IntegrityError), transaction.atomic():
        book(TreatmentPlanFactory(practitioner=plan.practitioner), START + timedelta(minutes=30))


@pytest.mark.postgres
def test_back_to_back_sessions_are_accepted(plan: TreatmentPlan) -> None:
    first = book(plan, START)
    book(TreatmentPlanFactory(practitioner=plan.practitioner), first.ends_at)
    book(
        TreatmentPlanFactory(practitioner=plan.practitioner),
        first.starts_at - timedelta(minutes=45),
    )

    assert Session.objects.filter(practitioner=plan.practitioner).count() == 3


@pytest.mark.postgres
def test_a_cancelled_session_does_not_hold_the_time(plan: TreatmentPlan) -> None:
    book(plan, START, status=SessionStatus.CANCELLED)

    book(TreatmentPlanFactory(practitioner=plan.practitioner), START)

    assert Session.objects.filter(practitioner=plan.practitioner).count() == 2


@pytest.mark.postgres
def test_cancelling_frees_the_time_but_reinstating_a_clash_is_rejected(plan: TreatmentPlan) -> None:
    first = book(plan, START)
    first.status = SessionStatus.CANCELLED
    first.save(update_fields=["status"])
    book(TreatmentPlanFactory(practitioner=plan.practitioner), START)

    first.status = SessionStatus.PLANNED
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save(update_fields=["status"])


@pytest.mark.postgres
def test_overlapping_sessions_for_different_practitioners_are_accepted(plan: TreatmentPlan) -> None:
    book(plan, START)
    book(TreatmentPlanFactory(practitioner=PractitionerFactory()), START)

    assert Session.objects.count() == 2


@pytest.mark.postgres
def test_a_room_cannot_hold_two_overlapping_sessions(plan: TreatmentPlan) -> None:
    room = RoomFactory()
    book(plan, START, room=room)
    other_plan = TreatmentPlanFactory(practitioner=PractitionerFactory())

    with pytest.raises(IntegrityError, match="session_no_room_overlap"), transaction.atomic():
        book(other_plan, START + timedelta(minutes=10), room=room)
    book(other_plan, START + timedelta(minutes=10), room=RoomFactory())


@pytest.mark.postgres
def test_a_patient_cannot_be_in_two_overlapping_sessions_with_two_practitioners(
    plan: TreatmentPlan,
) -> None:
    book(plan, START)
    other_course = TreatmentPlanFactory(patient=plan.patient, practitioner=PractitionerFactory())

    with pytest.raises(IntegrityError, match="session_no_patient_overlap"), transaction.atomic():
        book(other_course, START + timedelta(minutes=30))

    assert Session.objects.filter(patient=plan.patient).count() == 1


@pytest.mark.postgres
def test_a_patients_back_to_back_and_cancelled_sessions_do_not_clash(plan: TreatmentPlan) -> None:
    first = book(plan, START)
    other_course = TreatmentPlanFactory(patient=plan.patient, practitioner=PractitionerFactory())
    book(other_course, first.ends_at, sequence=1)
    book(TreatmentPlanFactory(patient=plan.patient), START, status=SessionStatus.CANCELLED)

    assert Session.objects.filter(patient=plan.patient).count() == 3


def test_a_session_must_end_after_it_starts(plan: TreatmentPlan) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        book(plan, START, minutes=0)


def test_session_numbers_are_unique_within_a_plan(plan: TreatmentPlan) -> None:
    book(plan, START, sequence=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        book(plan, START + timedelta(days=28), sequence=1)
