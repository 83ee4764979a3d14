"""Reads for scheduling: the clinic calendar, who is busy when, and free slots.

Each function issues a fixed number of queries whatever the range or the number of bookings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from clinic.roles import is_staff_member
from patients.models import Patient
from scheduling.models import (
    MAX_SESSION_LENGTH,
    Closure,
    Leave,
    OpeningHours,
    Practitioner,
    Reminder,
    Room,
    Session,
    SessionKind,
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
from scheduling.planner import Closure as ClosedDays
from treatments.models import Treatment

MAX_FREE_SLOT_DAYS = 56


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def slot_step() -> timedelta:
    return timedelta(minutes=settings.CLINIC_SLOT_MINUTES)


def day_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The instants where a local date range starts and ends."""
    tz = clinic_tz()
    return local_datetime(first_day, time(0), tz), local_datetime(
        last_day + timedelta(days=1), time(0), tz
    )


def leave_interval(leave: Leave) -> Interval:
    """A stretch of leave as instants: an empty "from" is the start of the first day, an empty
    "until" the end of the last."""
    tz = clinic_tz()
    start = local_datetime(leave.starts_on, leave.start_time or time(0), tz)
    end = (
        local_datetime(leave.ends_on, leave.end_time, tz)
        if leave.end_time is not None
        else local_datetime(leave.ends_on + timedelta(days=1), time(0), tz)
    )
    return Interval(start, end, leave.reason)


def clinic_calendar(
    *, first_day: date, last_day: date, practitioner_id: int | None = None
) -> Calendar:
    """Opening hours and the closures touching the range (2 queries); with a practitioner, also
    their working hours and the leave touching the range (2 more)."""
    hours: defaultdict[int, list[tuple[time, time]]] = defaultdict(list)
    for period in OpeningHours.objects.all():
        hours[period.weekday].append((period.opens_at, period.closes_at))
    closures = [
        ClosedDays(c.starts_on, c.ends_on, c.reason)
        for c in Closure.objects.filter(starts_on__lte=last_day, ends_on__gte=first_day)
    ]
    if practitioner_id is None:
        return Calendar(tz=clinic_tz(), opening_hours=dict(hours), closures=closures)
    working: defaultdict[int, list[tuple[time, time]]] = defaultdict(list)
    for shift in WorkingHours.objects.filter(practitioner_id=practitioner_id):
        working[shift.weekday].append((shift.start_time, shift.end_time))
    # A day either side: a session starting late on the last day may run into the next one.
    leave = [
        leave_interval(stretch)
        for stretch in Leave.objects.filter(
            practitioner_id=practitioner_id,
            starts_on__lte=last_day + timedelta(days=1),
            ends_on__gte=first_day - timedelta(days=1),
        )
    ]
    return Calendar(
        tz=clinic_tz(),
        opening_hours=dict(hours),
        closures=closures,
        # No pattern of their own: they work whenever the clinic is open.
        working_hours=dict(working) if working else None,
        leave=leave,
    )


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
        )
        .exclude(status=SessionStatus.CANCELLED)
        .exclude(pk__in=list(exclude_session_ids))
    )
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
    the room and the patient for a date range, ready for the planner (5 queries)."""
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


def free_slots(
    *,
    practitioner: Practitioner,
    treatment: Treatment,
    first_day: date,
    last_day: date,
    room: Room | None = None,
) -> list[datetime]:
    """Start times at which the treatment fits for the practitioner (and room): inside opening
    hours and the practitioner's working hours, outside closures and their leave, on the booking
    grid, clear of every session that holds the time. At most 5 queries."""
    if last_day < first_day:
        raise ValidationError({"to": "The end of the range is before its start."})
    if (last_day - first_day).days + 1 > MAX_FREE_SLOT_DAYS:
        raise ValidationError(
            {"to": f"Search at most {MAX_FREE_SLOT_DAYS} days (8 weeks) at a time."}
        )
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
    sessions = Session.objects.select_related(
        "plan__patient", "plan__template__treatment", "practitioner", "room"
    )
    if is_staff_member(user):
        return sessions
    if isinstance(user, User) and user.is_authenticated:
        return sessions.filter(plan__patient__user=user)
    return sessions.none()


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


def patient_schedule_for_user(*, user: object) -> tuple[Patient, list[TreatmentPlan]]:
    """The logged-in patient and their courses, newest first (3 queries).

    Raises Patient.DoesNotExist for a user who is not a patient."""
    if not isinstance(user, User):
        raise Patient.DoesNotExist("Only a logged-in user can have a patient record.")
    patient = Patient.objects.get(user=user)
    plans = list(
        patient.plans.select_related("template__treatment", "practitioner")
        .prefetch_related(
            Prefetch(
                "sessions",
                queryset=Session.objects.select_related("practitioner").order_by("starts_at"),
            ),
            "template__milestones",
        )
        .order_by("-booked_at")
    )
    return patient, plans
