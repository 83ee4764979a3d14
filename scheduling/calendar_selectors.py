"""Reads for the staff calendar: who can have a column, and everything a range of days draws,
in a fixed number of queries whatever the number of sessions, practitioners or days.

Kept beside ``scheduling.calendar`` (the presenter that draws what these load); built on the
scheduling selectors, so the calendar sees the same sessions, hours and leave as booking does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta

from scheduling.models import Leave, Practitioner, Room, Session, WorkingHours
from scheduling.planner import Calendar, Interval
from scheduling.selectors import clinic_calendar, leave_interval, sessions_between


@dataclass(frozen=True)
class CalendarResources:
    practitioners: list[Practitioner]  # every practitioner, by name (inactive ones too)
    rooms: list[Room]  # every room, by name


def calendar_resources() -> CalendarResources:
    """Who and what can have a column (2 queries)."""
    return CalendarResources(
        practitioners=list(Practitioner.objects.order_by("display_name", "pk")),
        rooms=list(Room.objects.order_by("name", "pk")),
    )


@dataclass(frozen=True)
class CalendarSources:
    sessions: list[Session]  # cancelled ones included: the presenter decides
    clinic: Calendar  # opening hours and closures
    # The calendars of practitioners with hours or leave of their own; the others work
    # whenever the clinic is open (see calendar_for).
    practitioners: dict[int, Calendar]

    def calendar_for(self, practitioner_id: int) -> Calendar:
        return self.practitioners.get(practitioner_id, self.clinic)


def calendar_sources(
    *,
    user: object,
    first_day: date,
    last_day: date,
    practitioner_id: int | None = None,
    room_id: int | None = None,
) -> CalendarSources:
    """The sessions the user may see starting on local days ``first_day``–``last_day`` (only
    one practitioner's or one room's when given), with patient, treatment, practitioner and
    room loaded; the clinic's calendar; and every practitioner's calendar (5 queries)."""
    sessions = sessions_between(user=user, first_day=first_day, last_day=last_day)
    if practitioner_id is not None:
        sessions = sessions.filter(practitioner_id=practitioner_id)
    if room_id is not None:
        sessions = sessions.filter(room_id=room_id)
    clinic = clinic_calendar(first_day=first_day, last_day=last_day)  # 2 queries
    shifts = WorkingHours.objects.all()
    # A day either side, as the booking calendar reads leave (selectors.clinic_calendar).
    stretches = Leave.objects.filter(
        starts_on__lte=last_day + timedelta(days=1), ends_on__gte=first_day - timedelta(days=1)
    )
    if practitioner_id is not None:
        shifts = shifts.filter(practitioner_id=practitioner_id)
        stretches = stretches.filter(practitioner_id=practitioner_id)
    working: defaultdict[int, defaultdict[int, list[tuple[time, time]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for shift in shifts:
        working[shift.practitioner_id][shift.weekday].append((shift.start_time, shift.end_time))
    leave: defaultdict[int, list[Interval]] = defaultdict(list)
    for stretch in stretches:
        leave[stretch.practitioner_id].append(leave_interval(stretch))
    return CalendarSources(
        sessions=list(sessions),
        clinic=clinic,
        practitioners={
            pk: Calendar(
                tz=clinic.tz,
                opening_hours=clinic.opening_hours,
                closures=clinic.closures,
                # No pattern of their own: they work whenever the clinic is open.
                working_hours=dict(working[pk]) if pk in working else None,
                leave=leave.get(pk, []),
            )
            for pk in {*working, *leave}
        },
    )
