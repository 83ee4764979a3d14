"""The demo clinic's courses, booked and lived through with the scheduling services.

Every change goes through the services as of the moment it would have happened (``now=``): a
course is booked days before its first session and scheduled there and then, each session is
completed just after it ended, and so on up to the present. So the result keeps every rule the
services keep. The coming week's visits (``week.py``) are booked first; fixed stories (a missed
session, a cancelled course, maintenance due or overdue) afterwards, around them.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import Count

from clinic.demo.desk import (
    WEEK,
    DemoError,
    Desk,
    days_earlier,
    free_start,
    local_at,
    open_days,
)
from clinic.demo.people import (
    BOOSTERS,
    COMBO,
    JIWOO,
    PATIENTS,
    PRACTITIONERS,
    PRP,
    REJURAN,
    DemoPatient,
    Staff,
)
from clinic.demo.week import FIXED_VISITS, MAINTENANCE, Step, Visit, week_visits
from patients.models import Patient
from patients.services import patient_save
from scheduling.models import (
    PlanStatus,
    Reminder,
    ReminderStatus,
    RequestKind,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import add_months, local_day
from scheduling.requests import session_move_options, session_request_create
from scheduling.selectors import clinic_tz
from scheduling.services import (
    plan_book,
    plan_cancel,
    plan_schedule,
    session_book,
    session_cancel,
    session_complete,
    session_mark_no_show,
    session_reschedule,
)
from treatments.models import Contraindication, ProtocolTemplate

REACTIONS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    REJURAN: [
        (("swelling", "bumps"), "Small injection bumps; gone by the next morning."),
        (("swelling", "redness"), "Mild swelling under the eyes for a day."),
        (("redness",), ""),
        (("bumps",), ""),
        (("tightness",), "Skin felt tight for two days."),
        ((), ""),
        ((), ""),
    ],
    BOOSTERS: [(("bumps",), ""), (("redness", "bumps"), ""), (("swelling",), ""), ((), "")],
    PRP: [
        (("redness", "swelling"), ""),
        (("other",), "Small bruise at the blood-draw site."),
        (("swelling",), ""),
        ((), ""),
    ],
}
JIWOO_REACTIONS = (("swelling", "bumps"), "Mild swelling under the eyes; bumps faded in a day.")
DEMO_HISTORY = "demo history: fell due before the demo clinic was set up"


# --- Courses ----------------------------------------------------------------------------------


def _session_count(template: ProtocolTemplate, wanted: int) -> int:
    """``wanted``, inside what the protocol allows (an admin may have changed it)."""
    return min(max(wanted, template.initial_sessions_min), template.initial_sessions_max)


def _course(
    desk: Desk,
    person: DemoPatient,
    slug: str,
    *,
    preferred: datetime,
    sessions: int,
    interval: int,
    no_show: Collection[int] = (),
    first_reactions: tuple[tuple[str, ...], str] | None = None,
) -> TreatmentPlan:
    """Book a course a few days before its first session (at the free slot nearest to
    ``preferred``), schedule it there and then, and live it through to the present."""
    template = desk.templates[slug]
    first = free_start(desk, person=person, duration=desk.minutes(slug), preferred=preferred)
    if first is None:
        raise DemoError(f"No free time for {person.given} {person.family} near {preferred}.")
    booked_at = min(first - timedelta(days=desk.rng.randint(3, 12)), desk.now)
    patient = desk.patients[person.email]
    plan = plan_book(
        patient=patient,
        template=template,
        practitioner=desk.staff.practitioners[person.practitioner],
        room=desk.staff.rooms[person.practitioner],
        first_start=first,
        booked_by=desk.staff.reception,
        session_count=_session_count(template, sessions),
        interval_days=interval,
        override_reason=person.override,
        now=booked_at,
    )
    # The worker's job, done here and now: the worker may not be running yet, and the course
    # must be placed as of the day it was booked.
    plan = plan_schedule(plan_id=plan.pk, now=booked_at)
    if plan.status != PlanStatus.ACTIVE:
        raise DemoError(f"{plan} could not be scheduled: {plan.attention_reason}")
    desk.plans.append(plan.pk)
    _live(desk, plan, no_show=no_show, first_reactions=first_reactions)
    plan.refresh_from_db()
    return plan


def _live(
    desk: Desk,
    plan: TreatmentPlan,
    *,
    no_show: Collection[int] = (),
    first_reactions: tuple[tuple[str, ...], str] | None = None,
) -> None:
    """Complete every planned session that is over, in order, just after it ended; the
    sessions in ``no_show`` the patient missed instead."""
    slug = plan.template.treatment.slug
    for session in plan.sessions.filter(status=SessionStatus.PLANNED).select_related(
        "practitioner__user"
    ):
        if session.ends_at > desk.now:
            break
        if session.sequence in no_show:
            session_mark_no_show(
                session=session,
                marked_by=desk.staff.reception,
                now=session.starts_at + timedelta(minutes=30),
            )
            continue
        reactions, notes = first_reactions or desk.rng.choice(REACTIONS.get(slug, [((), "")]))
        first_reactions = None
        session_complete(
            session=session,
            completed_by=session.practitioner.user,
            reactions=reactions,
            reaction_notes=notes,
            now=min(session.ends_at + timedelta(minutes=desk.rng.randint(5, 20)), desk.now),
        )


def _finished_course(desk: Desk, person: DemoPatient, *, due: date) -> TreatmentPlan:
    """A course whose initial sessions are all done, with maintenance falling due about ``due``."""
    slug = person.treatment
    template = desk.templates[slug]
    sessions = template.initial_sessions_default
    interval = desk.weekly_interval(slug)
    last_day = add_months(due, -(template.maintenance_interval_months or 6))
    clock = desk.rng.choice([time(10, 30), time(11, 15), time(14, 0), time(15, 30), time(17, 0)])
    plan = _course(
        desk,
        person,
        slug,
        preferred=local_at(last_day - timedelta(days=interval * (sessions - 1)), clock),
        sessions=sessions,
        interval=interval,
    )
    if plan.status != PlanStatus.MAINTENANCE:
        raise DemoError(f"{plan} should be in maintenance, not {plan.status}.")
    return plan


def _maintenance_book(
    desk: Desk, plan: TreatmentPlan, person: DemoPatient, at: datetime
) -> Session:
    start = free_start(desk, person=person, duration=desk.minutes(person.treatment), preferred=at)
    if start is None:
        raise DemoError(f"No free time for the maintenance session of {plan} near {at}.")
    return session_book(
        plan=plan,
        starts_at=start,
        booked_by=desk.staff.reception,
        now=min(start - timedelta(days=desk.rng.randint(4, 14)), desk.now),
    )


# --- The coming week's visits --------------------------------------------------------------------


def _visit(desk: Desk, visit: Visit) -> None:
    person = visit.person
    template = desk.templates.get(person.treatment)
    if visit.step == MAINTENANCE and template and template.maintenance_interval_months:
        plan = _finished_course(desk, person, due=_maintenance_due(desk, visit))
        session = _maintenance_book(desk, plan, person, visit.start)
        if person.story == "maintenance_cancelled":
            session_cancel(
                session=session,
                reason="Travelling abroad that week; will call to book a new date.",
                cancelled_by=desk.staff.reception,
                now=min(session.starts_at - timedelta(days=1), desk.now),
            )
        _live(desk, plan)
        return
    step = visit.step if visit.step != MAINTENANCE else Step(2)
    slugs = [REJURAN, BOOSTERS] if person.treatment == COMBO else [person.treatment]
    interval = desk.weekly_interval(*slugs)
    preferred = days_earlier(visit.start, interval * (step.sequence - 1))
    for slug in slugs:  # a combination visit: the second course starts as the first one ends
        plan = _course(
            desk,
            person,
            slug,
            preferred=preferred,
            sessions=step.sessions,
            interval=interval,
            first_reactions=JIWOO_REACTIONS if person.story == "jiwoo" else None,
        )
        preferred = plan.sessions.order_by("sequence").values_list("ends_at", flat=True)[0]


def _maintenance_due(desk: Desk, visit: Visit) -> date:
    """Maintenance falls due around the visit: patients book it a little before or after."""
    day = local_day(visit.start, clinic_tz())
    shift = {"emma": 6, "maintenance_cancelled": 3}.get(visit.person.story)
    return day + timedelta(days=desk.rng.randint(-7, 10) if shift is None else shift)


# --- Fixed stories ------------------------------------------------------------------------------


def _story(desk: Desk, person: DemoPatient) -> None:
    today = desk.today
    if person.story == "no_show":
        # Session 2 was on the last open day; she did not come, so the course needs attention.
        missed = open_days(today - timedelta(days=WEEK), today - timedelta(days=1))
        interval = desk.weekly_interval(REJURAN, wanted=28)
        if missed:
            _course(
                desk,
                person,
                REJURAN,
                preferred=local_at(missed[-1] - timedelta(days=interval), time(11, 0)),
                sessions=3,
                interval=interval,
                no_show={2},
            )
    elif person.story == "pregnant":
        plan = _course(
            desk,
            person,
            REJURAN,
            preferred=local_at(today - timedelta(days=24), time(15, 30)),
            sessions=3,
            interval=desk.weekly_interval(REJURAN, wanted=28),
        )
        pregnancy = Contraindication.objects.get(slug="pregnancy")
        patient_save(
            patient=desk.patients[person.email],
            fields={},
            changed_by=desk.staff.reception,
            flags=[(pregnancy, "Pregnant (8 weeks); come back after breastfeeding.")],
        )
        plan_cancel(
            plan=plan,
            reason="Pregnant: elective injections stop until after breastfeeding.",
            cancelled_by=desk.staff.reception,
            now=desk.now - timedelta(days=2),
        )
    elif person.story == "overdue":
        _finished_course(desk, person, due=today - timedelta(days=9))
    elif person.story == "due_soon":
        _finished_course(desk, person, due=today + timedelta(days=11))
    elif person.story == "long_term":
        # Her second maintenance cycle: the first maintenance session was half a year ago.
        visit_day = add_months(today + timedelta(days=24), -6)
        plan = _finished_course(desk, person, due=visit_day - timedelta(days=3))
        _maintenance_book(desk, plan, person, local_at(visit_day, time(10, 30)))
        _live(desk, plan)
    elif person.story == "recent":
        # Mid-course: the second session was earlier this week (or in the last few days, on a
        # Monday), the next is weeks away. The coming week is full; this fills the days before.
        monday = today - timedelta(days=today.weekday())
        past = open_days(today - timedelta(days=WEEK - 1), today - timedelta(days=1))
        past = [day for day in past if day >= monday] or past
        day = desk.rng.choice(past) if past else today - timedelta(days=3)
        interval = desk.weekly_interval(person.treatment, wanted=21)
        clock = desk.rng.choice([time(10, 30), time(12, 0), time(14, 30), time(16, 0)])
        _course(
            desk,
            person,
            person.treatment,
            preferred=local_at(day - timedelta(days=interval), clock),
            sessions=4,
            interval=interval,
        )
    else:  # "later", and anyone the coming week had no room for: a course starting soon
        slug = REJURAN if person.treatment == COMBO else person.treatment
        _course(
            desk,
            person,
            slug,
            preferred=local_at(today + timedelta(days=desk.rng.randint(9, 16)), time(14, 0)),
            sessions=3,
            interval=desk.weekly_interval(slug),
        )


def _reschedule_one(desk: Desk) -> None:
    """A patient asked for a later time on the day of their next session."""
    doctor = PRACTITIONERS[1].username
    single = (
        TreatmentPlan.objects.filter(pk__in=desk.plans)
        .values("patient")
        .annotate(n=Count("pk"))
        .filter(n=1)
        .values("patient")
    )
    session = (
        Session.objects.filter(
            plan_id__in=desk.plans,
            plan__patient__in=single,
            practitioner=desk.staff.practitioners[doctor],
            kind=SessionKind.INITIAL,
            status=SessionStatus.PLANNED,
            starts_at__gte=local_at(desk.today + timedelta(days=2), time(0)),
            starts_at__lt=local_at(desk.today + timedelta(days=WEEK), time(0)),
        )
        .filter(plan__patient__user__isnull=True)
        .first()
    )
    if session is None:
        return
    person = next(p for p in PATIENTS if desk.patients[p.email].pk == session.plan.patient_id)
    new_start = free_start(
        desk,
        person=person,
        duration=session.ends_at - session.starts_at,
        preferred=session.starts_at + timedelta(hours=2),
        reach=(0,),
    )
    if new_start is not None:
        session_reschedule(
            session=session, new_start=new_start, changed_by=desk.staff.reception, now=desk.now
        )


def _jiwoo_asks_to_move(desk: Desk) -> None:
    """Ji-woo asked on the portal to move her next session, so staff have a request to answer:
    to the latest time offered (one her course's protocol allows)."""
    patient = desk.patients[JIWOO.email]
    session = (
        Session.objects.filter(
            patient=patient, status=SessionStatus.PLANNED, starts_at__gt=desk.now
        )
        .select_related("plan__template__treatment", "practitioner", "room")
        .order_by("starts_at")
        .first()
    )
    if session is None or patient.user is None:
        return
    offered = session_move_options(session=session, plan=session.plan, now=desk.now).starts
    if offered:
        session_request_create(
            patient=patient,
            session=session,
            kind=RequestKind.MOVE,
            wanted_start=offered[-1],
            note="I have a work trip that week. Later in the day would suit me better.",
            now=desk.now,
        )


# --- The whole clinic ---------------------------------------------------------------------------


def clinic_build(
    *, staff: Staff, patients: dict[str, Patient], now: datetime, rng: random.Random
) -> list[int]:
    """Book every demo course; returns the plans' ids."""
    templates = {
        t.treatment.slug: t
        for t in ProtocolTemplate.objects.filter(is_default=True).select_related("treatment")
    }
    desk = Desk(now=now, rng=rng, staff=staff, patients=patients, templates=templates)
    visits, left = week_visits(desk)
    for visit in visits:
        _visit(desk, visit)
    for person in [p for p in PATIENTS if p.story and p.story not in FIXED_VISITS] + left:
        _story(desk, person)
    _reschedule_one(desk)
    _jiwoo_asks_to_move(desk)
    return desk.plans


def reminders_retire_demo_history(*, plan_ids: Iterable[int], now: datetime) -> int:
    """Mark not needed the reminders of the demo's back-dated courses that fell due before the
    demo existed: otherwise the worker's first beat would send months of them at once."""
    return Reminder.objects.filter(
        plan_id__in=list(plan_ids), status=ReminderStatus.PENDING, due_at__lte=now
    ).update(status=ReminderStatus.CANCELLED, last_error=DEMO_HISTORY)
