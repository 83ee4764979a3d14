"""Database helpers shared by the scheduling and API tests: courses booked the way the clinic
books them, other patients' sessions holding a practitioner's time, medical flags, extra
catalogue rows, and snapshots of tables to check that a refused request changed nothing.

Times in the clinic's zone are in ``tests.timeutil``; HTTP helpers in ``tests.api.helpers``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Model
from django.utils import timezone

from patients.models import MedicalFlag, Patient
from scheduling.models import (
    PlanStatus,
    Practitioner,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Room,
    Session,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.services import plan_book, plan_schedule
from tests.factories import PractitionerFactory, SessionFactory, TreatmentPlanFactory
from treatments.models import (
    Contraindication,
    Indication,
    ProtocolMilestone,
    ProtocolTemplate,
    SkinConcern,
    Treatment,
)

SESSION = timedelta(minutes=45)  # a Rejuran Healer session


def due_session_reminder(patient: Patient, *, channel: str, hours_ahead: int = 3) -> Reminder:
    """A reminder of the patient's first session (``hours_ahead`` from now) by ``channel``,
    due a minute ago: the next thing a dispatcher sends."""
    starts_at = timezone.now() + timedelta(hours=hours_ahead)
    plan = TreatmentPlanFactory(
        patient=patient,
        practitioner=PractitionerFactory(),
        session_count=3,
        first_session_at=starts_at,
    )
    session = SessionFactory(
        plan=plan,
        sequence=1,
        starts_at=starts_at,
        ends_at=starts_at + SESSION,
        practitioner=plan.practitioner,
    )
    return Reminder.objects.create(
        plan=plan,
        session=session,
        kind=ReminderKind.SESSION_LATE,
        channel=channel,
        due_at=timezone.now() - timedelta(minutes=1),
    )


def failed_reminder(
    practitioner: Practitioner, error: str = "gateway refused the number"
) -> Reminder:
    """A reminder of another patient's session in three days with ``practitioner`` that failed
    for good an hour ago, with ``error``: what Today lists for staff to try again."""
    session = hold(practitioner, timezone.now() + timedelta(days=3))
    return Reminder.objects.create(
        plan=session.plan,
        session=session,
        kind=ReminderKind.SESSION_EARLY,
        channel="sms",
        due_at=timezone.now() - timedelta(hours=1),
        status=ReminderStatus.FAILED,
        attempts=5,
        last_error=error,
    )


# --- Snapshots -------------------------------------------------------------------------------


def snapshot(**tables: type[Model]) -> dict[str, list[dict[str, Any]]]:
    """Every row of each model's table, by the name given, to compare before and after."""
    return {name: list(model.objects.order_by("pk").values()) for name, model in tables.items()}


def db_state() -> dict[str, Any]:
    """Everything booking and the session services may write, to check that a refused request
    changed nothing."""
    return {
        **snapshot(plans=TreatmentPlan, sessions=Session, reminders=Reminder),
        "plan history": TreatmentPlan.history.count(),
        "session history": Session.history.count(),
    }


# --- Courses and bookings --------------------------------------------------------------------


def book_and_schedule(
    patient: Patient,
    template: ProtocolTemplate,
    practitioner: Practitioner,
    first_start: datetime,
    booked_by: User,
    *,
    now: datetime | None = None,
    **extra: Any,
) -> TreatmentPlan:
    """A course booked (``plan_book``) and placed by the worker's service (``plan_schedule``)
    right away, as the clinic would have it."""
    plan = plan_book(
        patient=patient,
        template=template,
        practitioner=practitioner,
        first_start=first_start,
        booked_by=booked_by,
        now=now,
        **extra,
    )
    return plan_schedule(plan_id=plan.pk, now=now)


def hold(
    practitioner: Practitioner,
    start: datetime,
    minutes: int = 45,
    *,
    room: Room | None = None,
    status: str = SessionStatus.PLANNED,
    patient: Patient | None = None,
) -> Session:
    """Another patient's session (by default a new patient's) holding the practitioner's (and
    room's) time, in an active course that starts with it."""
    plan = TreatmentPlanFactory(
        practitioner=practitioner,
        status=PlanStatus.ACTIVE,
        first_session_at=start,
        **({"patient": patient} if patient is not None else {}),
    )
    return SessionFactory(
        plan=plan,
        sequence=1,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        room=room,
        status=status,
    )


def sessions_of(plan: TreatmentPlan) -> dict[int, Session]:
    """The plan's sessions as they are in the database now, by session number."""
    return {s.sequence: s for s in Session.objects.filter(plan=plan)}


# --- Patients and the catalogue --------------------------------------------------------------


def flag(patient: Patient, slug: str, **fields: Any) -> MedicalFlag:
    """A medical flag for the seeded contraindication ``slug``."""
    return MedicalFlag.objects.create(
        patient=patient, condition=Contraindication.objects.get(slug=slug), **fields
    )


def add_treatments(count: int, concerns: tuple[str, ...] = ("acne-scars", "dullness")) -> None:
    """More treatments like the seeded ones: indications for the concerns, two contraindications,
    a default protocol with a milestone."""
    indicated = list(SkinConcern.objects.filter(slug__in=concerns))
    conditions = list(Contraindication.objects.all()[:2])
    treatments = Treatment.objects.bulk_create(
        Treatment(
            slug=f"extra-{n}",
            name=f"Extra treatment {n:03d}",
            core_ingredient="Something",
            primary_effect="Something else",
            texture_change="gradual",
            long_term_benefit="mild",
            session_minutes=30,
        )
        for n in range(count)
    )
    Indication.objects.bulk_create(
        Indication(treatment=t, concern=c, strength=3) for t in treatments for c in indicated
    )
    Treatment.contraindications.through.objects.bulk_create(
        Treatment.contraindications.through(treatment=t, contraindication=c)
        for t in treatments
        for c in conditions
    )
    protocols = ProtocolTemplate.objects.bulk_create(
        ProtocolTemplate(
            treatment=t,
            name="Course",
            is_default=True,
            initial_sessions_min=1,
            initial_sessions_default=2,
            initial_sessions_max=3,
            interval_days_min=7,
            interval_days_default=14,
            interval_days_max=21,
        )
        for t in treatments
    )
    ProtocolMilestone.objects.bulk_create(
        ProtocolMilestone(template=p, description="Glow", after_session=1) for p in protocols
    )
