"""What people see of plans and sessions, typed, for the API and the pages alike.

Built from plans whose sessions (with practitioners), template, treatment, patient, practitioner
and room are already loaded (``selectors.plans_visible_to``); no queries of their own. Which
presenter a caller gets is decided by who is asking, in one place: :func:`plan_view`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from clinic.i18n import localized
from clinic.roles import is_staff_member
from patients.models import Patient
from scheduling.models import (
    PlanStatus,
    Practitioner,
    RequestStatus,
    Room,
    Session,
    SessionKind,
    SessionRequest,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import add_months, local_day
from scheduling.selectors import Progress, clinic_tz, patient_may_change, plan_progress
from scheduling.timeline import CourseTimeline, course_timeline


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
        attention_reason=plan.display_attention_reason,
        schedule_notes=plan.display_schedule_notes,
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
class FollowingWindow:
    """Where the session after the next one will fall: ``low``–``high`` days after it."""

    number: int
    first_day: date
    last_day: date
    booked_on: date


@dataclass(frozen=True)
class NextSession:
    """The course's next session as the patient reads it: "session 2 of 4" counts the course's
    sessions still on (not cancelled), in time order; maintenance sessions have no number."""

    session: SessionView
    number: int | None
    total: int
    treatment_name: str
    preparation: str
    following: FollowingWindow | None


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
    # For the patient's pages besides the API:
    next: NextSession | None = None
    upcoming: tuple[SessionView, ...] = ()
    past: tuple[SessionView, ...] = ()  # completed or missed, the most recent first
    maintenance_expected_on: date | None = None  # an active course's estimate
    numbers: Mapping[int, int] = field(default_factory=dict)  # "session 2 of 4" by session id


def _following(
    plan: TreatmentPlan, course: Sequence[Session], nxt: Session
) -> FollowingWindow | None:
    later = [s for s in course if s.starts_at > nxt.starts_at]
    if nxt.kind != SessionKind.INITIAL or not later:
        return None
    tz = clinic_tz()
    day = local_day(nxt.starts_at, tz)
    template = plan.template
    return FollowingWindow(
        number=course.index(later[0]) + 1,
        first_day=day + timedelta(days=template.interval_days_min),
        last_day=day + timedelta(days=template.interval_days_max),
        booked_on=local_day(later[0].starts_at, tz),
    )


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
    course = [s for s in sessions if s.kind == SessionKind.INITIAL]
    numbers = {s.pk: index for index, s in enumerate(course, start=1)}
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
    months = plan.template.maintenance_interval_months
    expected = None
    if plan.status in (PlanStatus.ACTIVE, PlanStatus.NEEDS_ATTENTION) and months and course:
        # As the services will set it when the last session is completed.
        expected = add_months(local_day(course[-1].starts_at, tz), months)
    nxt = upcoming[0] if upcoming else None
    return PatientCourse(
        id=plan.pk,
        treatment=treatment.slug,
        treatment_name=localized(treatment, "name", language),
        status=plan.status,
        progress=plan_progress(plan),
        next_session=session_view(nxt) if nxt else None,
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
        next=None
        if nxt is None
        else NextSession(
            session=session_view(nxt),
            number=numbers.get(nxt.pk),
            total=len(course),
            treatment_name=localized(treatment, "name", language),
            preparation=localized(treatment, "preparation", language),
            following=_following(plan, course, nxt),
        ),
        upcoming=tuple(session_view(s) for s in upcoming),
        past=tuple(
            session_view(s)
            for s in reversed(sessions)
            if s.status in (SessionStatus.COMPLETED, SessionStatus.NO_SHOW)
        ),
        maintenance_expected_on=expected,
        numbers=numbers,
    )


# --- The patient's own schedule page -----------------------------------------------------------


@dataclass(frozen=True)
class PortalSessionRow:
    session: SessionView
    number: int | None  # "session 2 of 4"; None for a maintenance session
    changeable: bool  # the patient may ask to move or cancel it
    request: SessionRequest | None  # their request waiting for the clinic


@dataclass(frozen=True)
class PortalCourse:
    course: PatientCourse
    timeline: CourseTimeline
    next_row: PortalSessionRow | None
    upcoming: tuple[PortalSessionRow, ...]
    past: tuple[PortalSessionRow, ...]

    @property
    def maintenance_on(self) -> date | None:
        return self.course.next_maintenance_on or self.course.maintenance_expected_on

    @property
    def status_label(self) -> str:
        return str(_PATIENT_STATUS.get(self.course.status, ""))


# A course's state in the patient's words: what needs staff is the clinic's business.
_PATIENT_STATUS: dict[str, str | Promise] = {
    PlanStatus.SCHEDULING: pgettext_lazy("course, for patients", "Being booked"),
    PlanStatus.ACTIVE: pgettext_lazy("course, for patients", "Under way"),
    PlanStatus.NEEDS_ATTENTION: pgettext_lazy("course, for patients", "Under way"),
    PlanStatus.MAINTENANCE: pgettext_lazy("course, for patients", "In maintenance"),
    PlanStatus.COMPLETED: pgettext_lazy("course, for patients", "Completed"),
    PlanStatus.CANCELLED: pgettext_lazy("course, for patients", "Cancelled"),
}


@dataclass(frozen=True)
class PortalSchedule:
    """My schedule: the next session of all courses at the top, then each course."""

    patient: Patient
    next: PortalCourse | None  # the course whose next session comes first
    courses: tuple[PortalCourse, ...]
    requests: tuple[SessionRequest, ...]


def _row(
    view: SessionView,
    session: Session,
    course: PatientCourse,
    plan_status: str,
    request: SessionRequest | None,
    now: datetime,
) -> PortalSessionRow:
    return PortalSessionRow(
        session=view,
        number=course.numbers.get(view.id),
        changeable=request is None
        and patient_may_change(session, plan_status=plan_status, now=now),
        request=request,
    )


def portal_schedule(
    *,
    patient: Patient,
    plans: Sequence[TreatmentPlan],
    requests: Sequence[SessionRequest],
    now: datetime | None = None,
) -> PortalSchedule:
    """Built from ``selectors.patient_plans`` and ``selectors.patient_requests``: no queries of
    its own. In the patient's language (the page activates it)."""
    now = now or timezone.now()
    today = local_day(now, clinic_tz())
    language = patient.preferred_language
    waiting = {r.session_id: r for r in requests if r.status == RequestStatus.OPEN}
    courses = []
    for plan in plans:
        course = patient_course(plan, language=language, now=now)
        by_id = {s.pk: s for s in plan.sessions.all()}
        rows = {
            view.id: _row(view, by_id[view.id], course, plan.status, waiting.get(view.id), now)
            for view in course.sessions
        }
        courses.append(
            PortalCourse(
                course=course,
                timeline=course_timeline(plan=plan, today=today),
                next_row=rows[course.next.session.id] if course.next else None,
                upcoming=tuple(rows[view.id] for view in course.upcoming),
                past=tuple(rows[view.id] for view in course.past),
            )
        )
    with_next = [c for c in courses if c.course.next is not None]
    first = min(
        with_next,
        key=lambda c: c.course.next.session.starts_at,  # type: ignore[union-attr]
        default=None,
    )
    return PortalSchedule(
        patient=patient, next=first, courses=tuple(courses), requests=tuple(requests)
    )
