"""What people see of plans and sessions, typed, for the API and the pages alike.

Built from plans whose sessions (with practitioners), template, treatment, patient, practitioner
and room are already loaded (``selectors.plans_visible_to``); no queries of their own. Which
presenter a caller gets is decided by who is asking, in one place: :func:`plan_view`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from clinic.i18n import localized
from clinic.roles import is_staff_member
from patients.models import Patient
from scheduling.models import PlanStatus, Practitioner, Room, Session, SessionStatus, TreatmentPlan
from scheduling.planner import add_months, local_day
from scheduling.selectors import Progress, clinic_tz, plan_progress


@dataclass(frozen=True)
class Ref:
    id: int
    name: str


def ref(obj: Patient | Practitioner | Room) -> Ref:
    name = obj.display_name if isinstance(obj, Practitioner) else str(obj)
    return Ref(id=obj.pk, name=name)


@dataclass(frozen=True)
class SessionView:
    id: int
    sequence: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    status: str
    practitioner: Ref


def session_view(session: Session) -> SessionView:
    return SessionView(
        id=session.pk,
        sequence=session.sequence,
        kind=session.kind,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        status=session.status,
        practitioner=ref(session.practitioner),
    )


@dataclass(frozen=True)
class PlanView:
    """What anyone allowed to see a plan sees of it, its patient included."""

    id: int
    patient: Ref
    treatment: str
    protocol: Ref
    practitioner: Ref
    room: Ref | None
    status: str
    session_count: int
    interval_days: int
    first_session_at: datetime
    booked_at: datetime
    maintenance_due_on: date | None
    progress: Progress
    sessions: tuple[SessionView, ...]


@dataclass(frozen=True)
class StaffPlanView(PlanView):
    """Besides: who booked it, any contraindication overridden and why, and staff notes."""

    booked_by: str
    overridden_conditions: str
    override_reason: str
    attention_reason: str
    schedule_notes: str


def _plan_fields(plan: TreatmentPlan) -> dict[str, object]:
    return {
        "id": plan.pk,
        "patient": ref(plan.patient),
        "treatment": plan.template.treatment.slug,
        "protocol": Ref(id=plan.template_id, name=plan.template.name),
        "practitioner": ref(plan.practitioner),
        "room": ref(plan.room) if plan.room else None,
        "status": plan.status,
        "session_count": plan.session_count,
        "interval_days": plan.interval_days,
        "first_session_at": plan.first_session_at,
        "booked_at": plan.booked_at,
        "maintenance_due_on": plan.maintenance_due_on,
        "progress": plan_progress(plan),
        "sessions": tuple(session_view(s) for s in plan.sessions.all()),
    }


def staff_plan_view(plan: TreatmentPlan) -> StaffPlanView:
    return StaffPlanView(
        **_plan_fields(plan),  # type: ignore[arg-type]
        booked_by=plan.booked_by.username,
        overridden_conditions=plan.overridden_conditions,
        override_reason=plan.override_reason,
        attention_reason=plan.attention_reason,
        schedule_notes=plan.schedule_notes,
    )


def plan_view(plan: TreatmentPlan, *, user: object) -> PlanView:
    """The plan as this user may see it: staff get the staff view, a patient the plain one."""
    if is_staff_member(user):
        return staff_plan_view(plan)
    return PlanView(**_plan_fields(plan))  # type: ignore[arg-type]


# --- A course as its patient sees it ----------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    description: str
    expected_on: date | None
    expected_until: date | None


@dataclass(frozen=True)
class Aftercare:
    session: int
    treatment: str
    text: str


@dataclass(frozen=True)
class PatientCourse:
    """What is next, how far along, what to expect and aftercare, in the patient's language."""

    id: int
    treatment: str
    treatment_name: str
    status: str
    progress: Progress
    next_session: SessionView | None
    sessions: tuple[SessionView, ...]
    next_maintenance_on: date | None
    milestones: tuple[Milestone, ...]
    aftercare: Aftercare | None


def patient_course(
    plan: TreatmentPlan, *, language: str, now: datetime | None = None
) -> PatientCourse:
    """Needs the plan's sessions (with practitioners) and template milestones prefetched."""
    now = now or timezone.now()
    tz = clinic_tz()
    treatment = plan.template.treatment
    sessions = sorted(
        (s for s in plan.sessions.all() if s.status != SessionStatus.CANCELLED),
        key=lambda s: s.starts_at,
    )
    upcoming = [s for s in sessions if s.status == SessionStatus.PLANNED and s.ends_at > now]
    completed = [s for s in sessions if s.status == SessionStatus.COMPLETED]
    by_sequence = {s.sequence: s for s in sessions}
    first_day = local_day(sessions[0].starts_at, tz) if sessions else None
    milestones = []
    for milestone in plan.template.milestones.all():
        expected_on = expected_until = None
        if milestone.after_session and milestone.after_session in by_sequence:
            expected_on = local_day(by_sequence[milestone.after_session].starts_at, tz)
        elif milestone.months_from_start_min is not None and first_day:
            expected_on = add_months(first_day, milestone.months_from_start_min)
            if milestone.months_from_start_max is not None:
                expected_until = add_months(first_day, milestone.months_from_start_max)
        milestones.append(
            Milestone(
                description=localized(milestone, "description", language),
                expected_on=expected_on,
                expected_until=expected_until,
            )
        )
    last_done = completed[-1] if completed else None
    return PatientCourse(
        id=plan.pk,
        treatment=treatment.slug,
        treatment_name=localized(treatment, "name", language),
        status=plan.status,
        progress=plan_progress(plan),
        next_session=session_view(upcoming[0]) if upcoming else None,
        sessions=tuple(session_view(s) for s in sessions),
        next_maintenance_on=(
            plan.maintenance_due_on if plan.status == PlanStatus.MAINTENANCE else None
        ),
        milestones=tuple(milestones),
        aftercare=None
        if last_done is None
        else Aftercare(
            session=last_done.pk,
            treatment=localized(treatment, "name", language),
            text=localized(treatment, "aftercare", language),
        ),
    )
