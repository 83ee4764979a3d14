"""Reads for scheduling: the clinic calendar, who is busy when, and free slots.

Each function issues a fixed number of queries whatever the range or the number of bookings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from clinic.data_version import Area
from clinic.page_cache import kept_value
from clinic.roles import is_staff_member
from patients.models import Patient
from scheduling.calendar_rules import calendar_rules, clinic_tz
from scheduling.models import (
    MAX_SESSION_LENGTH,
    CalendarFeed,
    Leave,
    PatientMessage,
    PlanStatus,
    Practitioner,
    Reminder,
    ReminderStatus,
    RequestStatus,
    Room,
    Session,
    SessionKind,
    SessionRequest,
    SessionStatus,
    TreatmentPlan,
    WorkingHours,
)
from scheduling.planner import (
    BusySet,
    Calendar,
    Interval,
    SlotSearch,
    free_starts,
    local_datetime,
)
from treatments.models import ProtocolTemplate, Treatment
from treatments.selectors import protocol_templates

MAX_FREE_SLOT_DAYS = 56


def slot_step() -> timedelta:
    return timedelta(minutes=settings.CLINIC_SLOT_MINUTES)


def day_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The instants where a local date range starts and ends."""
    tz = clinic_tz()
    return local_datetime(first_day, time(0), tz), local_datetime(
        last_day + timedelta(days=1), time(0), tz
    )


def clinic_calendar(
    *, first_day: date, last_day: date, practitioner_id: int | None = None
) -> Calendar:
    """Opening hours and the closures touching the range; with a practitioner, also their
    working hours and the leave touching the range (1 query)."""
    if practitioner_id is None:
        return calendar_rules(first_day=first_day, last_day=last_day).clinic()
    rules = calendar_rules(
        first_day=first_day, last_day=last_day, practitioner_ids=[practitioner_id]
    )
    return rules.for_practitioner(practitioner_id)


def busy_intervals(
    *,
    practitioner_id: int,
    room_id: int | None,
    start: datetime,
    end: datetime,
    patient_id: int | None = None,
    exclude_plan_id: int | None = None,
    exclude_session_ids: Iterable[int] = (),
) -> tuple[BusySet, BusySet]:
    """Time taken by sessions that hold it (1 query): the practitioner's or the room's, and
    the patient's."""
    holder = Q(practitioner_id=practitioner_id)
    if room_id is not None:
        holder |= Q(room_id=room_id)
    if patient_id is not None:
        holder |= Q(patient_id=patient_id)
    sessions = (
        # The lower bound on starts_at (no session lasts longer, by constraint) lets the indexes
        # on (practitioner, starts_at) and (patient, starts_at) skip the whole history.
        Session.objects.filter(
            holder,
            starts_at__lt=end,
            starts_at__gt=start - MAX_SESSION_LENGTH,
            ends_at__gt=start,
        ).exclude(status=SessionStatus.CANCELLED)
    )
    if excluded := list(exclude_session_ids):
        sessions = sessions.exclude(pk__in=excluded)
    if exclude_plan_id is not None:
        sessions = sessions.exclude(plan_id=exclude_plan_id)
    resources, patient = [], []
    for starts_at, ends_at, practitioner, room, who in sessions.values_list(
        "starts_at", "ends_at", "practitioner_id", "room_id", "patient_id"
    ):
        if practitioner == practitioner_id or (room_id is not None and room == room_id):
            resources.append(Interval(starts_at, ends_at))
        if patient_id is not None and who == patient_id:
            patient.append(Interval(starts_at, ends_at))
    return BusySet(resources), BusySet(patient)


def slot_search(
    *,
    practitioner_id: int,
    room_id: int | None,
    duration: timedelta,
    first_day: date,
    last_day: date,
    patient_id: int | None = None,
    exclude_plan_id: int | None = None,
    exclude_session_ids: Iterable[int] = (),
) -> SlotSearch:
    """The calendar (the clinic's and the practitioner's) and the busy time of the practitioner,
    the room and the patient for a date range, ready for the planner (2 queries)."""
    start, end = day_bounds(first_day, last_day)
    busy, patient_busy = busy_intervals(
        practitioner_id=practitioner_id,
        room_id=room_id,
        patient_id=patient_id,
        start=start - duration,
        end=end + duration,
        exclude_plan_id=exclude_plan_id,
        exclude_session_ids=exclude_session_ids,
    )
    return SlotSearch(
        calendar=clinic_calendar(
            first_day=first_day, last_day=last_day, practitioner_id=practitioner_id
        ),
        busy=busy,
        duration=duration,
        step=slot_step(),
        patient_busy=patient_busy,
    )


def session_slot_search(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    exclude_plan_id: int | None = None,
    exclude_session_ids: Iterable[int] = (),
) -> SlotSearch:
    """``slot_search`` for a session's own practitioner, room, patient and length (2 queries):
    where it may go, or whether it may stay, leaving aside what is excluded."""
    return slot_search(
        practitioner_id=session.practitioner_id,
        room_id=session.room_id,
        patient_id=session.patient_id,
        duration=session.ends_at - session.starts_at,
        first_day=first_day,
        last_day=last_day,
        exclude_plan_id=exclude_plan_id,
        exclude_session_ids=exclude_session_ids,
    )


def check_bookable(*, treatment: Treatment, practitioner: Practitioner, room: Room | None) -> None:
    """The practitioner takes bookings and performs the treatment, and the room is in use; field
    errors otherwise. Booking and free-slot search both ask, so they never disagree (1 query)."""
    errors: dict[str, ValidationError] = {}
    if not practitioner.is_active:
        errors["practitioner"] = ValidationError(
            gettext("%(practitioner)s is not taking bookings.") % {"practitioner": practitioner},
            code="practitioner_inactive",
        )
    elif not practitioner.treatments.filter(pk=treatment.pk).exists():
        errors["practitioner"] = ValidationError(
            gettext("%(practitioner)s does not perform %(treatment)s.")
            % {"practitioner": practitioner, "treatment": treatment.display_name},
            code="not_performed",
        )
    if room is not None and not room.is_active:
        errors["room"] = ValidationError(
            gettext("%(room)s is not in use.") % {"room": room}, code="room_inactive"
        )
    if errors:
        raise ValidationError(errors)


def free_slots(
    *,
    practitioner: Practitioner,
    treatment: Treatment,
    first_day: date,
    last_day: date,
    room: Room | None = None,
) -> list[datetime]:
    """Start times at which a booking of the treatment would be accepted for the practitioner
    (and room): bookable at all, inside opening hours and the practitioner's working hours,
    outside closures and their leave, on the booking grid, clear of every session that holds the
    time. At most 6 queries."""
    if last_day < first_day:
        raise ValidationError(
            {
                "to": ValidationError(
                    gettext("The end of the range is before its start."), code="invalid"
                )
            }
        )
    if (last_day - first_day).days + 1 > MAX_FREE_SLOT_DAYS:
        raise ValidationError(
            {
                "to": ValidationError(
                    gettext("Search at most %(days)s days (8 weeks) at a time.")
                    % {"days": MAX_FREE_SLOT_DAYS},
                    code="too_long",
                )
            }
        )
    check_bookable(treatment=treatment, practitioner=practitioner, room=room)
    search = slot_search(
        practitioner_id=practitioner.pk,
        room_id=room.pk if room else None,
        duration=timedelta(minutes=treatment.session_minutes),
        first_day=first_day,
        last_day=last_day,
    )
    now = timezone.now()
    return [start for start in free_starts(search, first_day, last_day) if start > now]


@dataclass(frozen=True)
class WorkingPattern:
    """A practitioner's week and their current and coming leave, as staff read it."""

    practitioner: Practitioner
    working_hours: list[WorkingHours]
    leave: list[Leave]

    @property
    def works_clinic_hours(self) -> bool:
        return not self.working_hours


def practitioner_working_pattern(
    *, practitioner: Practitioner, today: date | None = None
) -> WorkingPattern:
    """The practitioner's working hours and the leave that has not ended yet (2 queries)."""
    today = today or timezone.now().astimezone(clinic_tz()).date()
    return WorkingPattern(
        practitioner=practitioner,
        working_hours=list(
            WorkingHours.objects.filter(practitioner=practitioner).order_by("weekday", "start_time")
        ),
        leave=list(
            Leave.objects.filter(practitioner=practitioner, ends_on__gte=today).order_by(
                "starts_on", "start_time", "pk"
            )
        ),
    )


# --- What a user may see --------------------------------------------------------------------


def plans_visible_to(user: object) -> QuerySet[TreatmentPlan]:
    """Staff see every plan; a patient only their own; anyone else nothing. Another patient's
    plan is therefore simply not found (404), never forbidden (403)."""
    plans = TreatmentPlan.objects.select_related(
        "patient", "template__treatment", "practitioner", "room", "booked_by"
    ).prefetch_related(
        Prefetch("sessions", queryset=Session.objects.select_related("practitioner", "room"))
    )
    if is_staff_member(user):
        return plans
    if isinstance(user, User) and user.is_authenticated:
        return plans.filter(patient__user=user)
    return plans.none()


def reminders_visible_to(user: object) -> QuerySet[Reminder]:
    """Staff see every reminder (a Today page lists the failed ones); nobody else any."""
    reminders = Reminder.objects.select_related("plan__patient", "retried_by")
    return reminders if is_staff_member(user) else reminders.none()


def sessions_visible_to(user: object) -> QuerySet[Session]:
    """The sessions the user may see, with their course, patient, practitioner and room
    loaded; the course's protocol and treatment come from the kept catalogue
    (``sessions_with_protocols``): joined, the two tables made PostgreSQL plan a day's sessions
    for 1.8 ms, longer than it took to read them."""
    sessions = Session.objects.select_related("plan__patient", "practitioner", "room")
    if is_staff_member(user):
        return sessions
    if isinstance(user, User) and user.is_authenticated:
        return sessions.filter(plan__patient__user=user)
    return sessions.none()


def starting_on_days(
    sessions: QuerySet[Session], *, first_day: date | None = None, last_day: date | None = None
) -> QuerySet[Session]:
    """Narrow sessions to those starting on the clinic's local days ``first_day`` to
    ``last_day`` (either end open): local days become the instants where they begin and end."""
    if first_day is not None:
        sessions = sessions.filter(starts_at__gte=day_bounds(first_day, first_day)[0])
    if last_day is not None:
        sessions = sessions.filter(starts_at__lt=day_bounds(last_day, last_day)[1])
    return sessions


def sessions_between(*, user: object, first_day: date, last_day: date) -> QuerySet[Session]:
    """The sessions the user may see that start on local days ``first_day``–``last_day``, in
    time order, with what a calendar or list shows of them loaded (1 query) but for the course's
    protocol, which ``sessions_with_protocols`` attaches from the kept catalogue."""
    return starting_on_days(
        sessions_visible_to(user), first_day=first_day, last_day=last_day
    ).order_by("starts_at", "pk")


@dataclass(frozen=True)
class Progress:
    completed: int
    total: int


def plan_progress(plan: TreatmentPlan) -> Progress:
    """Initial sessions done out of those still part of the course (uses prefetched sessions)."""
    initial = [
        s
        for s in plan.sessions.all()
        if s.kind == SessionKind.INITIAL and s.status != SessionStatus.CANCELLED
    ]
    done = sum(1 for s in initial if s.status == SessionStatus.COMPLETED)
    return Progress(completed=done, total=len(initial))


def portal_patient(*, user: object) -> Patient | None:
    """The patient record behind a login, or None (1 query; none while the accounts' data
    version stays the same, as every portal request asks)."""
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    return kept_value(
        f"patient-of-user:{user.pk}",
        lambda: Patient.objects.filter(user=user).first(),
        area=Area.ACCOUNTS,
    )


def _plans_of(patient: Patient) -> QuerySet[TreatmentPlan]:
    return (
        patient.plans.select_related("practitioner")
        .prefetch_related(
            Prefetch(
                "sessions",
                queryset=Session.objects.select_related("practitioner").order_by("starts_at"),
            )
        )
        .order_by("-booked_at", "-pk")
    )


def with_protocols(plans: list[TreatmentPlan]) -> list[TreatmentPlan]:
    """Each course with its protocol, treatment and milestones from the kept catalogue, rather
    than joined and prefetched with the courses (no query while the catalogue is kept)."""
    templates = protocol_templates()
    for plan in plans:
        plan.template = templates[plan.template_id]
    return plans


def sessions_with_protocols(sessions: list[Session]) -> list[Session]:
    """The sessions, each course with its protocol and treatment from the kept catalogue (no
    query while it is kept)."""
    with_protocols([session.plan for session in sessions])
    return sessions


def requests_with_protocols(requests: list[SessionRequest]) -> list[SessionRequest]:
    """The requests, each session's course with its protocol and treatment from the kept
    catalogue (no query while it is kept)."""
    with_protocols([request.session.plan for request in requests])
    return requests


def patient_plans(*, patient: Patient) -> list[TreatmentPlan]:
    """The patient's courses, newest first, with their sessions (and practitioners), treatment
    and milestones loaded (2 queries, whatever the number of courses and sessions, and the
    catalogue's 2 when it is not kept)."""
    return with_protocols(list(_plans_of(patient)))


def patient_plan(*, patient: Patient, plan_id: int) -> TreatmentPlan:
    """One of the patient's courses, loaded as ``patient_plans`` loads them. Raises
    ``TreatmentPlan.DoesNotExist`` for anyone else's."""
    (plan,) = with_protocols([_plans_of(patient).get(pk=plan_id)])
    return plan


def patient_schedule_for_user(*, user: object) -> tuple[Patient, list[TreatmentPlan]] | None:
    """The logged-in patient and their courses, newest first (4 queries); None for a user who
    has no patient record."""
    patient = portal_patient(user=user)
    if patient is None:
        return None
    return patient, patient_plans(patient=patient)


def patient_sessions(*, patient: Patient) -> QuerySet[Session]:
    """The patient's own sessions, with their course, treatment and practitioner: any other
    session is simply not found (404)."""
    return Session.objects.filter(patient=patient).select_related(
        "plan__template__treatment", "practitioner", "room"
    )


def patient_may_change(session: Session, *, plan_status: str, now: datetime) -> bool:
    """Whether a patient may ask to move or cancel the session: it is still to come, planned,
    and its course is running."""
    return (
        session.status == SessionStatus.PLANNED
        and session.starts_at > now
        and plan_status in (PlanStatus.ACTIVE, PlanStatus.NEEDS_ATTENTION, PlanStatus.MAINTENANCE)
    )


# How long a patient keeps seeing the clinic's answer to a request on their schedule.
ANSWERS_SHOWN_FOR = timedelta(days=30)


def _requests() -> QuerySet[SessionRequest]:
    """Requests with the patient, the session, its course and its practitioner loaded; the
    course's protocol and treatment come from the catalogue (``requests_with_protocols``)."""
    return SessionRequest.objects.select_related(
        "patient", "session__plan", "session__practitioner"
    )


def patient_requests(*, patient: Patient, now: datetime) -> list[SessionRequest]:
    """The patient's open requests and those answered lately, newest first (1 query)."""
    return requests_with_protocols(
        list(
            _requests()
            .filter(patient=patient)
            .filter(Q(status=RequestStatus.OPEN) | Q(answered_at__gte=now - ANSWERS_SHOWN_FOR))
            .order_by("-created_at", "-pk")
        )
    )


def open_session_requests(*, limit: int | None = None) -> list[SessionRequest]:
    """Requests waiting for the clinic's answer, the oldest first, at most ``limit``, with
    the patient, the session, its course's treatment and its practitioner loaded (1 query)."""
    waiting = _requests().filter(status=RequestStatus.OPEN).order_by("created_at", "pk")
    return requests_with_protocols(list(waiting if limit is None else waiting[:limit]))


def session_request_for_staff(*, request_id: int) -> SessionRequest:
    """One request, with what the answer page shows loaded (1 query). Raises
    ``SessionRequest.DoesNotExist``."""
    (found,) = requests_with_protocols([_requests().get(pk=request_id)])
    return found


# The feed shows the sessions of the last year and all that are to come.
CALENDAR_PAST = timedelta(days=365)


def calendar_feed_patient(*, token: str) -> Patient | None:
    """The patient whose calendar address this is, or None for any other token (1 query)."""
    if not token:
        return None
    feed = CalendarFeed.objects.select_related("patient").filter(token=token).first()
    return feed.patient if feed else None


def calendar_feed_of(*, patient: Patient) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(patient=patient).first()


def patient_calendar_sessions(*, patient: Patient, now: datetime) -> list[Session]:
    """The patient's sessions for their calendar, cancelled ones included so phones remove
    them (1 query)."""
    return list(
        patient_sessions(patient=patient)
        .filter(starts_at__gte=now - CALENDAR_PAST)
        .order_by("starts_at", "pk")
    )


# --- The clinic's day, for staff pages ----------------------------------------------------------


@dataclass(frozen=True)
class PractitionerDay:
    practitioner: Practitioner
    sessions: list[Session]


def practitioner_roster() -> list[Practitioner]:
    """Every practitioner by name (inactive ones too), each with ``shortest_session``: the
    minutes of the shortest active treatment they perform, None when there is none. Kept while
    practitioners and treatments are unchanged (1 query, none while kept); read-only."""
    return kept_value(
        "practitioner-roster",
        lambda: list(
            Practitioner.objects.annotate(
                shortest_session=Min(
                    "treatments__session_minutes", filter=Q(treatments__is_active=True)
                )
            ).order_by("display_name", "pk")
        ),
        area=Area.RESOURCES,
    )


def day_by_practitioner(*, user: object, day: date) -> list[PractitionerDay]:
    """The day's sessions (cancelled ones left out) for each practitioner taking bookings or
    seeing someone that day, in time order (1 query while the roster and the catalogue are
    kept; each costs its own when not)."""
    sessions = sessions_with_protocols(
        list(
            sessions_between(user=user, first_day=day, last_day=day).exclude(
                status=SessionStatus.CANCELLED
            )
        )
    )
    working = {s.practitioner_id for s in sessions}
    return [
        PractitionerDay(p, [s for s in sessions if s.practitioner_id == p.pk])
        for p in practitioner_roster()
        if p.is_active or p.pk in working
    ]


def plans_needing_attention() -> list[TreatmentPlan]:
    """Courses the worker could not place, or that a missed or cancelled session broke, oldest
    booking first, each with ``missed_session_id``: its earliest missed session, if any, for
    staff to move or cancel (1 query; the protocols from the kept catalogue)."""
    missed = Session.objects.filter(plan=OuterRef("pk"), status=SessionStatus.NO_SHOW)
    return with_protocols(
        list(
            TreatmentPlan.objects.filter(status=PlanStatus.NEEDS_ATTENTION)
            .select_related("patient", "practitioner")
            .annotate(
                missed_session_id=Subquery(missed.order_by("starts_at", "pk").values("pk")[:1])
            )
            .order_by("booked_at", "pk")
        )
    )


def maintenance_due(
    *,
    until: date,
    practitioner_id: int | None = None,
    with_sessions: bool = True,
    limit: int | None = None,
) -> list[TreatmentPlan]:
    """Courses in maintenance due on or before ``until`` with no maintenance session booked
    yet, the most overdue first, at most ``limit``; with their sessions unless told not to (2
    queries, or 1). The protocols come from the kept catalogue: joined, they made PostgreSQL
    plan the query for 3.1 ms against 0.7 ms without them."""
    booked = Session.objects.filter(
        plan=OuterRef("pk"), kind=SessionKind.MAINTENANCE, status=SessionStatus.PLANNED
    )
    plans = (
        TreatmentPlan.objects.filter(status=PlanStatus.MAINTENANCE, maintenance_due_on__lte=until)
        .exclude(Exists(booked))
        .select_related("patient", "practitioner", "room")
        .order_by("maintenance_due_on", "pk")
    )
    if with_sessions:
        plans = plans.prefetch_related(
            Prefetch("sessions", queryset=Session.objects.order_by("starts_at"))
        )
    if practitioner_id is not None:
        plans = plans.filter(practitioner_id=practitioner_id)
    return with_protocols(list(plans if limit is None else plans[:limit]))


def failed_reminders(*, limit: int = 50) -> QuerySet[Reminder]:
    """Reminders that failed for good, the latest first, with whom they were for (1 query)."""
    return (
        Reminder.objects.filter(status=ReminderStatus.FAILED)
        .select_related("plan__patient", "session")
        .order_by("-due_at", "-pk")[:limit]
    )


def possibly_repeated_count(*, since: datetime) -> int:
    """Reminders and messages sent since ``since`` that patients may have received twice (sent
    again after a worker stopped mid-hand-off), 1 query."""
    reminders = Reminder.objects.filter(possibly_repeated=True, sent_at__gte=since).values("pk")
    messages = PatientMessage.objects.filter(possibly_repeated=True, sent_at__gte=since).values(
        "pk"
    )
    return reminders.union(messages, all=True).count()


# --- Booking a course ----------------------------------------------------------------------------

BOOKING_SEARCH_DAYS = 28


def practitioners_for(treatment: Treatment) -> QuerySet[Practitioner]:
    """Practitioners taking bookings who perform the treatment (1 query)."""
    return Practitioner.objects.filter(is_active=True, treatments=treatment).order_by(
        "display_name", "pk"
    )


def first_free_slot(
    *,
    practitioner: Practitioner,
    treatment: Treatment,
    from_day: date,
    room: Room | None = None,
    days: int = BOOKING_SEARCH_DAYS,
) -> datetime | None:
    """The earliest start on or after ``from_day`` at which a booking would be accepted, looking
    ``days`` days ahead (3 queries)."""
    slots = free_slots(
        practitioner=practitioner,
        treatment=treatment,
        first_day=from_day,
        last_day=from_day + timedelta(days=days - 1),
        room=room,
    )
    return slots[0] if slots else None


@dataclass(frozen=True)
class BookingDefaults:
    """What the booking form starts with, so a usual course takes a click to confirm."""

    template: ProtocolTemplate | None
    practitioner: Practitioner | None
    room: Room | None
    first_start: datetime | None


def booking_defaults(*, patient: Patient, treatment: Treatment, today: date) -> BookingDefaults:
    """The treatment's default protocol, the practitioner (and room) of the patient's latest
    course when they perform it, otherwise the first who does, and their first free slot from
    tomorrow on (at most 7 queries)."""
    templates = list(treatment.protocols.order_by("-is_default", "name"))
    template = templates[0] if templates else None
    latest = (
        patient.plans.filter(practitioner__is_active=True, practitioner__treatments=treatment)
        .select_related("practitioner", "room")
        .order_by("-booked_at")
        .first()
    )
    practitioner = latest.practitioner if latest else practitioners_for(treatment).first()
    room = latest.room if latest and latest.room and latest.room.is_active else None
    first_start = (
        first_free_slot(
            practitioner=practitioner,
            treatment=treatment,
            from_day=today + timedelta(days=1),
            room=room,
        )
        if practitioner and template
        else None
    )
    return BookingDefaults(template, practitioner, room, first_start)


def move_options(*, session: Session, day: date) -> list[datetime]:
    """Free starts on ``day`` for moving a session: its practitioner, room and patient must be
    free, leaving its own course aside (moving it may move the later sessions). 2 queries."""
    search = session_slot_search(
        session, first_day=day, last_day=day, exclude_plan_id=session.plan_id
    )
    now = timezone.now()
    return [start for start in free_starts(search, day, day) if start > now]
