"""Benchmark C: the pure planner alone (no database): 4-session Rejuran proposals against a
calendar with 1,000 busy intervals."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from benchmarks.fixtures import random_start, seeded_random
from benchmarks.report import Table, count, progress, secs
from scheduling.planner import (
    BusySet,
    Calendar,
    Interval,
    NoFit,
    ProtocolRules,
    SlotSearch,
    days,
    propose_course,
)
from scheduling.seed import DEFAULT_OPENING_HOURS
from treatments.catalogue_data import TREATMENTS

BUSY_INTERVALS = 1000
BUSY_WEEKS = 52  # 1,000 sessions over a year: ~3 a day, a practitioner about a third booked
FIRST_START_WEEKS = 39  # so every course (~3 months) ends inside the busy year
START = date(2027, 3, 1)  # a fixed Monday: the planner takes no clock, so neither does this


def rejuran_rules(session_count: int = 4) -> tuple[ProtocolRules, timedelta]:
    """The shipped default Rejuran protocol, read from the catalogue data (not the database)."""
    treatment = next(t for t in TREATMENTS if t["slug"] == "rejuran-healer")
    protocol = next(p for p in treatment["protocols"] if p["is_default"])
    rules = ProtocolRules(
        session_count=session_count,
        interval_days_min=protocol["interval_days_min"],
        interval_days_max=protocol["interval_days_max"],
        interval_days_preferred=protocol["interval_days_default"],
        maintenance_months=protocol["maintenance_interval_months"],
    )
    return rules, timedelta(minutes=treatment["session_minutes"])


def busy_calendar(
    rng: random.Random, calendar: Calendar, length: timedelta, *, number: int, first: date
) -> BusySet:
    """``number`` non-overlapping sessions on open days over the weeks the proposals span."""
    open_days = [d for d in days(first, first + timedelta(weeks=BUSY_WEEKS)) if calendar.periods(d)]
    by_day: dict[date, list[Interval]] = {}
    placed = 0
    while placed < number:
        day = rng.choice(open_days)
        start = random_start(rng, calendar, day, length)
        taken = by_day.setdefault(day, [])
        if not any(other.overlaps(start, start + length) for other in taken):
            taken.append(Interval(start, start + length, "booked"))
            placed += 1
    return BusySet(interval for taken in by_day.values() for interval in taken)


def run(*, proposals: int) -> None:
    progress(f"C: {proposals:,} proposals against {BUSY_INTERVALS:,} busy intervals")
    rng = seeded_random(1124)
    calendar = Calendar(
        tz=ZoneInfo(settings.TIME_ZONE),
        opening_hours={
            weekday: [(opens, closes)] for weekday, opens, closes in DEFAULT_OPENING_HOURS
        },
    )
    rules, length = rejuran_rules()
    busy = busy_calendar(rng, calendar, length, number=BUSY_INTERVALS, first=START)
    search = SlotSearch(calendar=calendar, busy=busy, duration=length)
    first_days = [
        d for d in days(START, START + timedelta(weeks=FIRST_START_WEEKS)) if calendar.periods(d)
    ]
    # Staff choose the first start among free slots (it is never moved): draw free ones.
    starts: list[datetime] = []
    while len(starts) < proposals:
        start = random_start(rng, calendar, rng.choice(first_days), length)
        if busy.is_free(start, start + length):
            starts.append(start)

    moved = no_fit = 0
    started = time.perf_counter()
    for first_start in starts:
        result = propose_course(rules=rules, first_start=first_start, search=search)
        if isinstance(result, NoFit):
            no_fit += 1
        else:
            moved += len(result.moved)
    seconds = time.perf_counter() - started

    table = Table(
        f"C. Pure planner: {proposals:,} proposals, {rules.session_count}-session Rejuran, "
        f"{len(busy):,} busy intervals",
        ["measure", "figure", "target", "met"],
    )
    table.add("wall time", secs(seconds))
    table.add("proposals/second", count(proposals / seconds), "(none set)")
    table.add("per proposal", f"{seconds / proposals * 1e6:,.0f} µs")
    table.add("sessions moved off their preferred slot", count(moved))
    table.add("proposals that did not fit", count(no_fit))
    table.note(
        "Busy intervals are 45-minute sessions on the 15-minute grid over 52 weeks of open days "
        "(~3 a day); first starts are free grid starts in the first 39 weeks. Proposals are not "
        "added to the busy set, so every proposal sees the same calendar."
    )
    table.print()
