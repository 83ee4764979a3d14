"""When sessions can take place, read once: the clinic's opening hours and closures and the
practitioners' working hours and leave over a date range, in one query.

Every free-time search, the booking calendar and the calendar grid start from these four
tables. They change rarely and are small, so one ``UNION ALL`` reads the part of each that
matters instead of four round trips on every page, booking and move.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import CharField, DateField, F, IntegerField, QuerySet, TimeField, Value
from django.db.models.functions import Cast

from clinic.data_version import Area
from clinic.page_cache import kept_value
from scheduling.models import Closure, Leave, OpeningHours, WorkingHours
from scheduling.planner import Calendar, Interval, local_datetime
from scheduling.planner import Closure as ClosedDays

OPENING, CLOSURE, WORKING, LEAVE = "opening", "closure", "working", "leave"
_COLUMNS = ("source", "who", "weekday", "first_day", "last_day", "start", "end", "why")

WeeklyHours = dict[int, list[tuple[time, time]]]


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def leave_interval(leave: Leave) -> Interval:
    """A stretch of leave as instants: an empty "from" is the start of the first day, an empty
    "until" the end of the last."""
    return _leave_interval(
        leave.starts_on, leave.ends_on, leave.start_time, leave.end_time, leave.reason
    )


def _leave_interval(
    first: date, last: date, start: time | None, end: time | None, reason: str
) -> Interval:
    tz = clinic_tz()
    begins = local_datetime(first, start or time(0), tz)
    ends = (
        local_datetime(last, end, tz)
        if end is not None
        else local_datetime(last + timedelta(days=1), time(0), tz)
    )
    return Interval(begins, ends, reason)


@dataclass(frozen=True)
class CalendarRules:
    """The clinic's hours and closures, and the working hours and leave of the practitioners
    asked about, over a date range."""

    tz: ZoneInfo
    opening_hours: WeeklyHours
    closures: list[ClosedDays]
    working: dict[int, WeeklyHours]
    leave: dict[int, list[Interval]]

    def clinic(self) -> Calendar:
        return Calendar(tz=self.tz, opening_hours=self.opening_hours, closures=self.closures)

    def for_practitioner(self, practitioner_id: int) -> Calendar:
        return Calendar(
            tz=self.tz,
            opening_hours=self.opening_hours,
            closures=self.closures,
            # No pattern of their own: they work whenever the clinic is open.
            working_hours=self.working.get(practitioner_id) or None,
            leave=self.leave.get(practitioner_id, []),
        )


def _typed(queryset: QuerySet[Any], source: str, **columns: F | Cast) -> QuerySet[Any]:
    """One branch of the union: the same eight columns, typed alike, whatever the table."""
    # Typed NULLs: an untyped NULL in the first branch makes PostgreSQL guess text for the column.
    blank: dict[str, F | Cast] = {
        "who": Cast(Value(None), IntegerField()),
        "weekday": Cast(Value(None), IntegerField()),
        "first_day": Cast(Value(None), DateField()),
        "last_day": Cast(Value(None), DateField()),
        "start": Cast(Value(None), TimeField()),
        "end": Cast(Value(None), TimeField()),
        "why": Cast(Value(""), CharField()),
    }
    blank.update(columns)
    annotations = {f"_{name}": value for name, value in blank.items()}
    return (
        queryset.order_by()
        .annotate(_source=Value(source, output_field=CharField()), **annotations)
        .values_list(*(f"_{name}" for name in _COLUMNS))
    )


def calendar_rules(
    *, first_day: date, last_day: date, practitioner_ids: Collection[int] | None = ()
) -> CalendarRules:
    """The rules for local days ``first_day``–``last_day`` (1 query; none while the calendar
    tables are unchanged, see clinic/data_version.py). ``practitioner_ids`` None reads every
    practitioner's hours and leave; an empty collection none."""
    who = "all" if practitioner_ids is None else ",".join(map(str, sorted(practitioner_ids)))
    return kept_value(
        f"calendar-rules:{first_day}:{last_day}:{who}",
        lambda: _read_calendar_rules(first_day, last_day, practitioner_ids),
        area=Area.CALENDAR,
    )


def _read_calendar_rules(
    first_day: date, last_day: date, practitioner_ids: Collection[int] | None
) -> CalendarRules:
    # A day either side: a session starting late on the last day may run into the next one.
    leave_from, leave_until = first_day - timedelta(days=1), last_day + timedelta(days=1)
    branches = [
        _typed(
            OpeningHours.objects.all(),
            OPENING,
            weekday=F("weekday"),
            start=F("opens_at"),
            end=F("closes_at"),
        ),
        _typed(
            Closure.objects.filter(starts_on__lte=last_day, ends_on__gte=first_day),
            CLOSURE,
            first_day=F("starts_on"),
            last_day=F("ends_on"),
            why=F("reason"),
        ),
    ]
    if practitioner_ids is None or practitioner_ids:
        shifts = WorkingHours.objects.all()
        stretches = Leave.objects.filter(starts_on__lte=leave_until, ends_on__gte=leave_from)
        if practitioner_ids is not None:
            shifts = shifts.filter(practitioner_id__in=practitioner_ids)
            stretches = stretches.filter(practitioner_id__in=practitioner_ids)
        branches += [
            _typed(
                shifts,
                WORKING,
                who=F("practitioner_id"),
                weekday=F("weekday"),
                start=F("start_time"),
                end=F("end_time"),
            ),
            _typed(
                stretches,
                LEAVE,
                who=F("practitioner_id"),
                first_day=F("starts_on"),
                last_day=F("ends_on"),
                start=F("start_time"),
                end=F("end_time"),
                why=F("reason"),
            ),
        ]
    opening: defaultdict[int, list[tuple[time, time]]] = defaultdict(list)
    closures: list[ClosedDays] = []
    working: defaultdict[int, defaultdict[int, list[tuple[time, time]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    leave: defaultdict[int, list[Interval]] = defaultdict(list)
    # order_by(): the union would otherwise sort by the first table's Meta ordering.
    rows = branches[0].union(*branches[1:], all=True).order_by()
    for source, who, weekday, first, last, start, end, why in rows:
        match source:
            case "opening":
                opening[weekday].append((start, end))
            case "closure":
                closures.append(ClosedDays(first, last, why))
            case "working":
                working[who][weekday].append((start, end))
            case "leave":
                leave[who].append(_leave_interval(first, last, start, end, why))
    # A union has no order of its own: put each list in the order the tables' Meta gives.
    closures.sort(key=lambda c: c.first_day)
    for stretches_of in leave.values():
        stretches_of.sort(key=lambda i: i.start)
    return CalendarRules(
        tz=clinic_tz(),
        opening_hours={day: sorted(periods) for day, periods in opening.items()},
        closures=closures,
        working={
            pk: {day: sorted(periods) for day, periods in days.items()}
            for pk, days in working.items()
        },
        leave=dict(leave),
    )
