"""Reads for the staff calendar: who can have a column, and everything a range of days draws,
in a fixed number of queries whatever the number of sessions, practitioners or days.

Kept beside ``scheduling.calendar`` (the presenter that draws what these load); built on the
scheduling selectors, so the calendar sees the same sessions, hours and leave as booking does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clinic.data_version import Area
from clinic.page_cache import kept_value
from scheduling.calendar_rules import calendar_rules
from scheduling.models import Practitioner, Room, Session
from scheduling.planner import Calendar
from scheduling.selectors import practitioner_roster, sessions_between, sessions_with_protocols


@dataclass(frozen=True)
class CalendarResources:
    practitioners: list[Practitioner]  # every practitioner, by name (inactive ones too)
    rooms: list[Room]  # every room, by name


def calendar_resources() -> CalendarResources:
    """Who and what can have a column (2 queries; none while they are unchanged)."""
    return CalendarResources(
        practitioners=practitioner_roster(),
        rooms=kept_value(
            "rooms", lambda: list(Room.objects.order_by("name", "pk")), area=Area.RESOURCES
        ),
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
    room loaded (the treatment from the kept catalogue); the clinic's calendar; and every
    practitioner's calendar (2 queries while the catalogue is kept)."""
    sessions = sessions_between(user=user, first_day=first_day, last_day=last_day)
    if practitioner_id is not None:
        sessions = sessions.filter(practitioner_id=practitioner_id)
    if room_id is not None:
        sessions = sessions.filter(room_id=room_id)
    rules = calendar_rules(
        first_day=first_day,
        last_day=last_day,
        practitioner_ids=None if practitioner_id is None else [practitioner_id],
    )
    return CalendarSources(
        sessions=sessions_with_protocols(list(sessions)),
        clinic=rules.clinic(),
        practitioners={pk: rules.for_practitioner(pk) for pk in {*rules.working, *rules.leave}},
    )
