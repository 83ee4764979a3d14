"""The coming seven days, planned first because they are what a receptionist looks at first.

Each practitioner gets a few *visits* on every open day, and each visit is the next step of one
patient's course: a first session, a later one (the earlier ones done), or a maintenance session.
Intervals are whole weeks, so every session of a course falls on its visit's weekday and time,
where the planner prefers to put it; two visits of one practitioner in one week never share
both, so the courses never compete for a slot, whichever weeks they reach back or ahead into.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from clinic.demo.desk import WEEK, Desk, end_of, open_days
from clinic.demo.people import COMBO, PATIENTS, PRACTITIONERS, REJURAN, DemoPatient
from scheduling.planner import Interval, SlotSearch, free_starts
from scheduling.selectors import slot_search, slot_step


@dataclass(frozen=True)
class Step:
    """Which session of a course a visit is: ``sequence`` of ``sessions``; 0 for maintenance."""

    sequence: int
    sessions: int = 3


MAINTENANCE = Step(0, 0)
_COURSE_STEPS = [Step(1)] * 3 + [Step(2)] * 3 + [Step(3)] * 2
STEPS = {
    REJURAN: [*_COURSE_STEPS, Step(1, 4), Step(2, 4), Step(3, 4), Step(4, 4), *[MAINTENANCE] * 3],
    COMBO: [Step(1), Step(2), Step(3)],
}
DEFAULT_STEPS = [*_COURSE_STEPS, *[MAINTENANCE] * 3]
# Visits the demo's patients with a login (and one more) always have: story -> (open day
# counted from today, step).
FIXED_VISITS = {
    "jiwoo": (1, Step(2)),  # her second session is coming up; the first is done
    "emma": (2, MAINTENANCE),
    "maintenance_cancelled": (1, MAINTENANCE),
}


@dataclass(frozen=True)
class Visit:
    person: DemoPatient
    start: datetime
    step: Step


def week_visits(desk: Desk) -> tuple[list[Visit], list[DemoPatient]]:
    """Each practitioner's visits over the coming seven days, and the patients who did not fit.

    Days fill in order up to the sessions wanted on them (a combination visit is two sessions);
    patients beyond that go to the least busy day."""
    week = open_days(desk.today, desk.today + timedelta(days=WEEK - 1))
    if not week:  # closed all week (an admin's closure): everyone starts a course later
        return [], [p for p in PATIENTS if not p.story or p.story in FIXED_VISITS]
    visits: list[Visit] = []
    left: list[DemoPatient] = []
    for rank, doctor in enumerate(PRACTITIONERS):
        wanted = [doctor.today] + [doctor.per_day] * (len(week) - 1)
        by_day: list[list[DemoPatient]] = [[] for _ in week]
        load = [0] * len(week)
        mine = [p for p in PATIENTS if p.practitioner == doctor.username]
        fixed = [p for p in mine if p.story in FIXED_VISITS]
        for person in [*fixed, *(p for p in mine if not p.story)]:
            size = 2 if person.treatment == COMBO else 1
            if person in fixed:
                index = min(FIXED_VISITS[person.story][0], len(week) - 1)
            else:
                index = next(
                    (i for i in range(len(week)) if load[i] + size <= wanted[i]),
                    min(range(len(week)), key=lambda i: (load[i] - wanted[i], -i)),
                )
            by_day[index].append(person)
            load[index] += size
        for day, people in zip(week, by_day, strict=True):
            placed, missed = _day_visits(desk, doctor.username, day, people, offset=rank * 0.3)
            visits += placed
            left += missed
    return visits, left


def _day_visits(
    desk: Desk, doctor: str, day: date, people: list[DemoPatient], *, offset: float
) -> tuple[list[Visit], list[DemoPatient]]:
    """Spread the day's visits over its opening hours; ``offset`` staggers practitioners."""
    if not people:
        return [], []
    durations = [desk.minutes(p.treatment) for p in people]
    search = slot_search(
        practitioner_id=desk.staff.practitioners[doctor].pk,
        room_id=desk.staff.rooms[doctor].pk,
        duration=min(durations),
        first_day=day,
        last_day=day,
    )
    periods = search.calendar.periods(day)
    opens, closes = periods[0][0], periods[-1][1]
    busy = search.busy  # grows with each visit placed: they are not booked yet
    visits, missed = [], []
    for index, (person, duration) in enumerate(zip(people, durations, strict=True)):
        target = opens + (closes - opens) * ((index + offset) / len(people))
        target += timedelta(minutes=desk.rng.choice([-30, -15, 0, 15, 30]))  # less regular
        starts = free_starts(SlotSearch(search.calendar, busy, duration, slot_step()), day, day)
        if not starts:
            missed.append(person)
            continue
        start = min(starts, key=lambda s: (abs(s - target), s))
        busy.add(Interval(start, end_of(start, duration)))
        step = (
            FIXED_VISITS[person.story][1]
            if person.story in FIXED_VISITS
            else desk.rng.choice(STEPS.get(person.treatment, DEFAULT_STEPS))
        )
        visits.append(Visit(person, start, step))
    return visits, missed
