"""What building the demo clinic needs at hand: the clock, the staff and patients, the
protocols, and where a patient's practitioner, room and the patient are all free."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from clinic.demo.people import BOOSTERS, COMBO, REJURAN, DemoPatient, Staff
from patients.models import Patient
from scheduling.models import Session, SessionStatus
from scheduling.planner import BusySet, Interval, days, free_starts, local_datetime, local_day
from scheduling.selectors import clinic_calendar, clinic_tz, day_bounds, slot_search
from treatments.models import ProtocolTemplate

WEEK = 7


class DemoError(RuntimeError):
    """The demo could not be built as designed (e.g. an admin closed the clinic for weeks)."""


@dataclass
class Desk:
    now: datetime  # the present the clinic is built up to
    rng: random.Random
    staff: Staff
    patients: dict[str, Patient]  # by email
    templates: dict[str, ProtocolTemplate]  # the default protocol, by treatment slug
    plans: list[int] = field(default_factory=list)  # booked so far

    @property
    def today(self) -> date:
        return local_day(self.now, clinic_tz())

    def minutes(self, treatment: str) -> timedelta:
        """How long a session (or a combination visit) takes."""
        if treatment == COMBO:
            return self.minutes(REJURAN) + self.minutes(BOOSTERS)
        return timedelta(minutes=self.templates[treatment].treatment.session_minutes)

    def weekly_interval(self, *slugs: str, wanted: int | None = None) -> int:
        """Days between sessions: a whole number of weeks every template allows (so a course
        keeps its weekday); ``wanted`` or, most of the time, the usual interval when it is one."""
        templates = [self.templates[slug] for slug in slugs]
        weekly = [
            d
            for d in range(7, 99, 7)
            if all(t.interval_days_min <= d <= t.interval_days_max for t in templates)
        ]
        usual = templates[0].interval_days_default
        if not weekly:
            return usual
        if wanted in weekly:
            return wanted
        return usual if usual in weekly and self.rng.random() < 0.7 else self.rng.choice(weekly)


def local_at(day: date, clock: time) -> datetime:
    return local_datetime(day, clock, clinic_tz())


def end_of(start: datetime, duration: timedelta) -> datetime:
    return (start.astimezone(UTC) + duration).astimezone(start.tzinfo)


def days_earlier(moment: datetime, count: int) -> datetime:
    """The same wall-clock time ``count`` days earlier."""
    local = moment.astimezone(clinic_tz())
    return local_at(local.date() - timedelta(days=count), local.time())


def open_days(first: date, last: date) -> list[date]:
    calendar = clinic_calendar(first_day=first, last_day=last)
    return [day for day in days(first, last) if calendar.periods(day)]


def _patient_busy(patient: Patient, first: date, last: date) -> BusySet:
    start, end = day_bounds(first, last)
    return BusySet(
        Interval(s, e)
        for s, e in Session.objects.filter(
            plan__patient=patient, starts_at__lt=end, ends_at__gt=start
        )
        .exclude(status=SessionStatus.CANCELLED)
        .values_list("starts_at", "ends_at")
    )


def free_start(
    desk: Desk,
    *,
    person: DemoPatient,
    duration: timedelta,
    preferred: datetime,
    reach: Iterable[int] = (0, 3, 7),
) -> datetime | None:
    """The start on the booking grid nearest to ``preferred`` at which the patient, their
    practitioner and room are all free: on the same day if possible, else up to ``reach`` days
    either side."""
    practitioner = desk.staff.practitioners[person.practitioner]
    room = desk.staff.rooms[person.practitioner]
    patient = desk.patients[person.email]
    day = local_day(preferred, clinic_tz())
    for spread in reach:
        first, last = day - timedelta(days=spread), day + timedelta(days=spread)
        search = slot_search(
            practitioner_id=practitioner.pk,
            room_id=room.pk,
            duration=duration,
            first_day=first,
            last_day=last,
        )
        theirs = _patient_busy(patient, first, last)
        starts = [
            s for s in free_starts(search, first, last) if theirs.is_free(s, end_of(s, duration))
        ]
        if starts:
            return min(starts, key=lambda s: (abs(s - preferred), s))
    return None
