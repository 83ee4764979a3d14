"""The planner's promises, checked against an independent brute-force model on random clinics.

The model below shares no code with the planner beyond the plain data classes: it turns wall-clock
times into instants its own way, and finds usable starts by scanning the step grid. Every
property compares the planner's answer with the model's, so a NoFit is only accepted when the
model, too, finds nothing.

Opening times are generated on the step grid and the three zones only ever shift by whole hours;
practitioners' working hours and leave are generated anywhere on a five-minute clock, so they
narrow the day without moving the grid, which always counts from the clinic's opening time.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from clinic.formatting import format_day
from scheduling.explain import explain_no_fit
from scheduling.planner import (
    EXACT_TIME,
    BookedSession,
    BusySet,
    Calendar,
    Cascade,
    Closure,
    Interval,
    NoFit,
    Obstacle,
    Proposal,
    ProtocolRules,
    SlotSearch,
    add_months,
    free_starts,
    iter_free_starts,
    local_datetime,
    propose_course,
    reschedule_cascade,
)
from tests.timeutil import utc

ZONES = [ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")]
# Spring-forward and fall-back days in New York and Berlin (Seoul has none).
DST_CHANGES = [
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2027, 3, 14),
    date(2027, 3, 28),
    date(2027, 10, 31),
    date(2027, 11, 7),
]
REASONS = ["", "holiday", "renovation"]
# Biased coins (an integer draw would favour its lower bound).
MOSTLY = st.sampled_from([True, True, True, False])
SOMETIMES = st.sampled_from([False, False, False, True])
RARELY = st.sampled_from([False] * 9 + [True])

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
QUICK_PROPERTIES = settings(PROPERTIES, max_examples=150)


# --- The model ---------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def model_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time by the module's policy, found by trying the offsets the
    zone uses around that day: the earliest that reads back as the wall time (first occurrence);
    in a gap, the offset before the gap (which moves the time forward by the gap)."""
    naive = datetime.combine(day, wall.replace(fold=0))
    offsets = set()
    for hours in range(-36, 37, 6):
        around = (naive + timedelta(hours=hours)).replace(tzinfo=UTC).astimezone(tz)
        offsets.add(around.utcoffset())
    readings = []
    for offset in offsets:
        instant = (naive - offset).replace(tzinfo=UTC)
        if instant.astimezone(tz).replace(tzinfo=None, fold=0) == naive:
            readings.append(instant)
    if readings:
        return min(readings)
    before = (naive - timedelta(days=1)).replace(tzinfo=UTC).astimezone(tz).utcoffset()
    assert before is not None
    return (naive - before).replace(tzinfo=UTC)


def model_add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = month_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


FIVE_MINUTES = timedelta(minutes=5)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def ceil_div(numerator: timedelta, denominator: timedelta) -> int:
    return -(-numerator // denominator)


@dataclass
class Clinic:
    """A random clinic and practitioner: what the planner gets, and the model's own view of it."""

    tz: ZoneInfo
    hours: dict[int, list[tuple[time, time]]]
    closures: list[Closure]
    busy: list[Interval]
    duration: timedelta
    step: timedelta
    working_hours: dict[int, list[tuple[time, time]]] | None = None
    leave: list[Interval] = field(default_factory=list)
    patient_busy: list[Interval] = field(default_factory=list)
    _periods: dict[date, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def search(self) -> SlotSearch:
        return SlotSearch(
            calendar=Calendar(
                tz=self.tz,
                opening_hours=self.hours,
                closures=tuple(self.closures),
                working_hours=self.working_hours,
                leave=tuple(self.leave),
            ),
            busy=BusySet(self.busy),
            duration=self.duration,
            step=self.step,
            patient_busy=BusySet(self.patient_busy),
        )

    def closure(self, day: date) -> Closure | None:
        return next((c for c in self.closures if c.first_day <= day <= c.last_day), None)

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening periods as UTC instants; none when closed."""
        if day not in self._periods:
            self._periods[day] = (
                []
                if self.closure(day)
                else [
                    (model_instant(day, opens, self.tz), model_instant(day, closes, self.tz))
                    for opens, closes in self.hours.get(day.weekday(), [])
                ]
            )
        return self._periods[day]

    def works(self, start: datetime, end: datetime) -> bool:
        """Inside the practitioner's working time that day: every five minutes of the session
        lie in some working period (so periods that touch count as one). Working hours are on a
        five-minute clock, so checking five-minute pieces is exact."""
        if self.working_hours is None:
            return True
        day = local_date(start, self.tz)
        spans = [
            (model_instant(day, a, self.tz), model_instant(day, b, self.tz))
            for a, b in self.working_hours.get(day.weekday(), [])
        ]
        tick = start
        while tick < end:
            piece_end = min(tick + FIVE_MINUTES, end)
            if not any(a <= tick and piece_end <= b for a, b in spans):
                return False
            tick = piece_end
        return True

    def on_leave(self, start: datetime, end: datetime) -> bool:
        return any(utc(i.start) < end and start < utc(i.end) for i in self.leave)

    def free(self, start: datetime, end: datetime) -> bool:
        return not any(
            utc(b.start) < end and start < utc(b.end) for b in [*self.busy, *self.patient_busy]
        )

    def obstacle(self, start: datetime) -> Obstacle | None:
        start = utc(start)
        end = start + self.duration
        day = local_date(start, self.tz)
        period = next(((o, c) for o, c in self.periods(day) if o <= start and end <= c), None)
        if period is None:
            return Obstacle.CLOSED
        if (start - period[0]) % self.step:
            return Obstacle.OFF_GRID
        if not self.works(start, end):
            return Obstacle.NOT_WORKING
        if self.on_leave(start, end):
            return Obstacle.ON_LEAVE
        if any(utc(b.start) < end and start < utc(b.end) for b in self.busy):
            return Obstacle.BOOKED
        if any(utc(b.start) < end and start < utc(b.end) for b in self.patient_busy):
            return Obstacle.PATIENT_BUSY
        return None

    def fits(self, start: datetime) -> bool:
        """Opening hours, the grid, working hours and leave: everything but other sessions."""
        return self.obstacle(start) in (None, Obstacle.BOOKED, Obstacle.PATIENT_BUSY)

    def usable(self, start: datetime, first_day: date, last_day: date) -> bool:
        return first_day <= local_date(start, self.tz) <= last_day and self.obstacle(start) is None

    def scan(self, first_day: date, last_day: date) -> list[datetime]:
        """Starts at each period's opening + k * step while the session fits, kept when the
        practitioner works then, is not on leave, and nobody involved is booked."""
        starts = []
        day = first_day
        while day <= last_day:
            for opens, closes in self.periods(day):
                start = opens
                while start + self.duration <= closes:
                    if self.obstacle(start) is None:
                        starts.append(start)
                    start += self.step
            day += timedelta(days=1)
        return starts

    def nearest(
        self, preferred: datetime, first_day: date, last_day: date, wall: time
    ) -> datetime | None:
        """The wished wall-clock time on the day nearest the preferred one (earlier on a tie);
        failing that, the usable grid start nearest in absolute time (earlier on a tie)."""
        around = local_date(preferred, self.tz)
        span = (last_day - first_day).days
        window = [first_day + timedelta(days=n) for n in range(span + 1)]
        for day in sorted(window, key=lambda d: (abs((d - around).days), d)):
            candidate = model_instant(day, wall, self.tz)
            if self.usable(candidate, first_day, last_day):
                return candidate
        preferred = utc(preferred)
        found = self.scan(first_day, last_day)
        return min(found, key=lambda start: (abs(start - preferred), start), default=None)


def model_preferred_day(target: date, weekday: int, first_day: date, last_day: date) -> date:
    span = (last_day - first_day).days
    same_weekday = [
        first_day + timedelta(days=n)
        for n in range(span + 1)
        if (first_day + timedelta(days=n)).weekday() == weekday
    ]
    if not same_weekday:
        return min(max(target, first_day), last_day)
    return min(same_weekday, key=lambda day: (abs((day - target).days), day))


@dataclass
class Placed:
    sequence: int
    start: datetime
    preferred: datetime


@dataclass
class Refusal:
    sequence: int
    first_day: date
    last_day: date
    preferred: datetime


def model_course(
    clinic: Clinic, rules: ProtocolRules, first_start: datetime
) -> tuple[list[Placed], Refusal | None]:
    tz = clinic.tz
    local_first = first_start.astimezone(tz)
    placed: list[Placed] = []
    # The first session takes exactly the wished time, or nothing is placed.
    if clinic.obstacle(first_start) is not None:
        day = local_first.date()
        return placed, Refusal(1, day, day, utc(first_start))
    placed.append(Placed(1, utc(first_start), utc(first_start)))
    for sequence in range(2, rules.session_count + 1):
        previous = local_date(placed[-1].start, tz)
        first_day = previous + timedelta(days=rules.interval_days_min)
        last_day = previous + timedelta(days=rules.interval_days_max)
        target = previous + timedelta(days=rules.interval_days_preferred)
        day = model_preferred_day(target, local_first.weekday(), first_day, last_day)
        preferred = model_instant(day, local_first.time(), tz)
        start = clinic.nearest(preferred, first_day, last_day, local_first.time())
        if start is None:
            return placed, Refusal(sequence, first_day, last_day, preferred)
        placed.append(Placed(sequence, start, preferred))
    return placed, None


# --- Strategies --------------------------------------------------------------------------------


def wall(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def opening_hours(
    draw: st.DrawFn, step: int, closed_days: bool = True
) -> dict[int, list[tuple[time, time]]]:
    """Per weekday: closed, or one or two periods on the step grid (anywhere in the day, so
    some cross the DST change at night)."""
    last_slot = 24 * 60 // step - 1
    per_hour = 60 // step
    daytime, night = st.integers(7 * per_hour, 11 * per_hour), st.integers(0, 3 * per_hour)
    opening = st.one_of(daytime, daytime, night, st.integers(0, last_slot - 1))
    lengths = st.one_of(st.integers(3 * per_hour, 10 * per_hour), st.integers(1, 8 * per_hour))
    hours = {}
    for weekday in range(7):
        count = draw(st.sampled_from([0, 1, 1, 1, 2, 2] if closed_days else [1, 1, 2]))
        periods: list[tuple[time, time]] = []
        opens = draw(opening)
        for _ in range(count):
            closes = opens + draw(lengths)
            if closes > last_slot:
                break
            periods.append((wall(opens * step), wall(closes * step)))
            opens = closes + draw(st.integers(1, 2 * per_hour))  # a break, then the next period
        if periods:
            hours[weekday] = periods
    return hours


@st.composite
def protocol_rules(draw: st.DrawFn, min_count: int = 1, max_count: int = 5) -> ProtocolRules:
    """1 ≤ min ≤ preferred ≤ max ≤ 45; often a narrow window, as protocols tend to have."""
    low = draw(st.integers(1, 45))
    preferred = draw(st.one_of(st.integers(low, min(low + 3, 45)), st.integers(low, 45)))
    high = draw(
        st.one_of(st.integers(preferred, min(preferred + 3, 45)), st.integers(preferred, 45))
    )
    return ProtocolRules(
        session_count=draw(st.integers(min_count, max_count)),
        interval_days_min=low,
        interval_days_preferred=preferred,
        interval_days_max=high,
        maintenance_months=draw(st.none() | st.integers(1, 24)),
    )


@st.composite
def first_starts(
    draw: st.DrawFn,
    tz: ZoneInfo,
    step: int,
    hours: dict[int, list[tuple[time, time]]],
    first_day: date | None = None,
) -> datetime:
    """A first start on the step grid, usually inside opening hours; often some weeks before a
    DST change, or whole weeks before it (so a weekly course meets the change day); in either
    occurrence of a repeated hour; sometimes given in UTC."""
    change = draw(st.sampled_from(DST_CHANGES))
    day = change + timedelta(
        days=draw(st.one_of(st.integers(-90, 10), st.integers(0, 8).map(lambda k: -7 * k)))
    )
    minutes = step * draw(
        st.one_of(st.integers(8 * 60 // step, 18 * 60 // step), st.integers(0, 24 * 60 // step - 1))
    )
    if first_day is not None:
        day = first_day
    if hours and draw(MOSTLY):  # on an open weekday, inside a period
        day += timedelta(days=next(n for n in range(7) if (day.weekday() + n) % 7 in hours))
        opens, closes = draw(st.sampled_from(hours[day.weekday()]))
        first_slot = (opens.hour * 60 + opens.minute) // step
        last_slot = (closes.hour * 60 + closes.minute) // step
        minutes = step * draw(st.integers(first_slot, max(first_slot, last_slot - 1)))
    local = datetime.combine(day, wall(minutes), tzinfo=tz).replace(fold=draw(st.integers(0, 1)))
    instant = local.astimezone(UTC)  # a wall time in a gap becomes a real instant
    return instant if draw(st.booleans()) else instant.astimezone(tz)


@st.composite
def clinics(
    draw: st.DrawFn,
    tz: ZoneInfo,
    step: int,
    around: datetime,
    span_days: int,
    every: int,
    hours: dict[int, list[tuple[time, time]]],
    max_busy: int = 60,
) -> Clinic:
    """Closures and bookings scattered over ``span_days`` from ``around``'s date, bookings often
    near its wall-clock time every ``every`` days, where the course would like to be."""
    base = local_date(around, tz)
    wished = around.astimezone(tz)
    wished_minutes = wished.hour * 60 + wished.minute
    closures = [
        Closure(
            first_day,
            first_day + timedelta(days=draw(st.integers(0, 6))),
            draw(st.sampled_from(REASONS)),
        )
        for first_day in draw(
            st.lists(st.integers(1, span_days).map(lambda n: base + timedelta(days=n)), max_size=3)
        )
    ]
    if draw(RARELY):  # now and then the first day itself is closed
        start = base - timedelta(days=draw(st.integers(0, 3)))
        closures.append(Closure(start, base + timedelta(days=draw(st.integers(0, 3))), "holiday"))
    busy = []
    for _ in range(draw(st.integers(0, max_busy))):
        day_offset = draw(
            st.one_of(
                st.integers(0, span_days),
                st.integers(1, max(span_days // every, 1)).map(lambda k: k * every),
            )
        )
        minute = 5 * draw(
            st.one_of(
                st.integers((wished_minutes - 120) // 5, (wished_minutes + 120) // 5),
                st.integers(0, 24 * 60 // 5 - 1),
            )
        )
        midnight = model_instant(base + timedelta(days=day_offset), time(0), tz)
        start = midnight + timedelta(minutes=minute)
        end = start + timedelta(minutes=5 * draw(st.integers(1, 48)))
        if draw(SOMETIMES):  # now and then in the clinic's zone, not UTC
            start, end = start.astimezone(tz), end.astimezone(tz)
        busy.append(Interval(start, end, f"booking {len(busy) + 1}"))
    if draw(SOMETIMES):  # the wished time taken day after day: other times of day get tried
        for day_offset in range(1, span_days + 1):
            midnight = model_instant(base + timedelta(days=day_offset), time(0), tz)
            start = midnight + timedelta(minutes=wished_minutes - 5 * draw(st.integers(0, 6)))
            busy.append(Interval(start, start + timedelta(minutes=60), "every day at that time"))
    patient_busy = []
    for _ in range(draw(st.integers(0, 6))):
        day = base + timedelta(days=draw(st.integers(0, span_days)))
        minute = 5 * draw(st.integers((wished_minutes - 90) // 5, (wished_minutes + 90) // 5))
        start = model_instant(day, time(0), tz) + timedelta(minutes=minute)
        end = start + timedelta(minutes=5 * draw(st.integers(1, 36)))
        patient_busy.append(Interval(start, end, "the patient's other session"))
    return Clinic(
        tz=tz,
        hours=hours,
        closures=closures,
        busy=busy,
        duration=timedelta(minutes=draw(st.integers(15, 120))),
        step=timedelta(minutes=step),
        working_hours=draw(st.none() | working_patterns()),
        leave=draw(leaves(tz, base, span_days)),
        patient_busy=patient_busy,
    )


@st.composite
def working_patterns(draw: st.DrawFn) -> dict[int, list[tuple[time, time]]]:
    """A practitioner's week on a five-minute clock, so it is rarely on the booking grid: some
    days off, one period or a split shift (now and then two periods that touch)."""
    pattern = {}
    for weekday in range(7):
        count = draw(st.sampled_from([0, 1, 1, 2]))
        periods: list[tuple[time, time]] = []
        starts = 5 * draw(st.integers(6 * 12, 16 * 12))
        for _ in range(count):
            ends = starts + 5 * draw(st.integers(6, 10 * 12))
            if ends >= 24 * 60:
                break
            periods.append((wall(starts), wall(ends)))
            starts = ends + 5 * draw(st.sampled_from([0, 6, 12, 24]))
            if starts >= 24 * 60 - 5:
                break
        if periods:
            pattern[weekday] = periods
    return pattern


@st.composite
def leaves(
    draw: st.DrawFn, tz: ZoneInfo, base: date, span_days: int, at_least: int = 0
) -> list[Interval]:
    """A few stretches of leave near the course: part of a day, or whole days."""
    found = []
    for _ in range(max(at_least, draw(st.sampled_from([0, 0, 1, 2])))):
        day = base + timedelta(days=draw(st.integers(0, span_days)))
        if draw(st.booleans()):  # whole days, midnight to midnight
            start = model_instant(day, time(0), tz)
            end = model_instant(day + timedelta(days=draw(st.integers(1, 3))), time(0), tz)
        else:
            start = model_instant(day, time(0), tz) + timedelta(
                minutes=5 * draw(st.integers(7 * 12, 18 * 12))
            )
            end = start + timedelta(minutes=5 * draw(st.integers(6, 8 * 12)))
        found.append(Interval(start.astimezone(tz), end.astimezone(tz), "leave"))
    return found


@st.composite
def courses(
    draw: st.DrawFn,
    min_count: int = 1,
    max_count: int = 5,
    closed_days: bool = True,
    regular: bool = False,
    practitioner: bool | None = None,
) -> tuple[Clinic, ProtocolRules, datetime]:
    """A random clinic and course; a ``regular`` clinic opens 08:00–20:00 every day. With
    ``practitioner`` True the practitioner always has working hours of their own and some
    leave; with False never; by default sometimes."""
    tz = draw(st.sampled_from(ZONES))
    step = draw(st.sampled_from([15, 15, 20, 30]))
    rules = draw(protocol_rules(min_count, max_count))
    if regular:
        hours = {weekday: [(time(8), time(20))] for weekday in range(7)}
    else:
        hours = draw(opening_hours(step, closed_days))
    first_start = draw(first_starts(tz, step, hours))
    span = rules.session_count * rules.interval_days_max + 1
    clinic = draw(clinics(tz, step, first_start, span, rules.interval_days_preferred, hours))
    base = local_date(first_start, tz)
    if practitioner is False:
        clinic.working_hours, clinic.leave = None, []
    elif practitioner:
        if clinic.working_hours is None:
            clinic.working_hours = draw(working_patterns())
        clinic.leave += draw(leaves(tz, base, span, at_least=1))
    return clinic, rules, draw(mostly_usable(clinic, first_start))


@st.composite
def mostly_usable(draw: st.DrawFn, clinic: Clinic, first_start: datetime) -> datetime:
    """The first start, or mostly, when the practitioner cannot take it, one they can on one of
    the next days: a course refused at its first session tests little else."""
    if clinic.obstacle(first_start) is None or not draw(MOSTLY):
        return first_start
    day = local_date(first_start, clinic.tz)
    usable = clinic.scan(day, day + timedelta(days=6))
    if not usable:
        return first_start
    start = draw(st.sampled_from(usable))
    return start if draw(st.booleans()) else start.astimezone(clinic.tz)


# --- propose_course ----------------------------------------------------------------------------


def assert_session_keeps_the_rules(
    clinic: Clinic, session_start: datetime, session_end: datetime
) -> None:
    tz = clinic.tz
    search = clinic.search()
    start, end = utc(session_start), utc(session_end)
    day = local_date(start, tz)
    assert clinic.closure(day) is None
    assert search.calendar.fits(session_start, session_end)
    assert search.obstacle(session_start) is None
    assert clinic.obstacle(start) is None
    # On the grid from the opening of its period, in the practitioner's hours, not on leave.
    assert any(
        opens <= start and end <= closes and (start - opens) % clinic.step == timedelta(0)
        for opens, closes in clinic.periods(day)
    )
    assert clinic.works(start, end)
    assert not clinic.on_leave(start, end)
    assert search.busy.is_free(session_start, session_end)
    assert search.patient_busy.is_free(session_start, session_end)
    assert clinic.free(start, end)
    assert end - start == clinic.duration


def assert_the_preference_is_kept(
    search: SlotSearch,
    preferred: datetime,
    chosen: datetime,
    first_day: date,
    last_day: date,
    wished: time,
) -> str:
    """The planner's own check of its order of preference: the wished wall-clock time on the
    nearest day where it is usable; only when there is none, the usable grid start nearest in
    absolute time (earlier on a tie). Returns which rule chose."""
    tz = search.calendar.tz
    around = local_date(preferred, tz)
    window = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    by_distance = sorted(window, key=lambda d: (abs((d - around).days), d))
    same_time = [local_datetime(d, wished, tz) for d in by_distance]
    usable = [c for c in same_time if search.usable(c, first_day, last_day)]
    if usable:
        assert utc(chosen) == utc(usable[0])
        return "the wished time on the nearest day"
    starts = [utc(s) for s in free_starts(search, first_day, last_day)]
    assert utc(chosen) in starts
    distance = abs(utc(chosen) - utc(preferred))
    for start in starts:
        nearer = abs(start - utc(preferred))
        assert nearer > distance or (nearer == distance and start >= utc(chosen)), start
    return "the nearest grid start"


def spans_a_dst_change(tz: ZoneInfo, first_day: date, last_day: date) -> bool:
    return model_instant(first_day, time(12), tz).astimezone(tz).utcoffset() != (
        model_instant(last_day, time(12), tz).astimezone(tz).utcoffset()
    )


@PROPERTIES
@given(courses())
def test_a_proposal_keeps_every_rule_and_a_no_fit_is_real(
    course: tuple[Clinic, ProtocolRules, datetime],
) -> None:
    check_course(*course)


@st.composite
def courses_meeting_a_dst_change(draw: st.DrawFn) -> tuple[Clinic, ProtocolRules, datetime]:
    """A weekly course whose second session is wished for the day of a DST change, mostly closed
    that day. Wished about midway between the last start of the day before and the first of the
    day after, the two are nearly equally far on the wall clock, and the change decides."""
    tz = draw(st.sampled_from(ZONES[1:]))
    step = draw(st.sampled_from([15, 30]))
    per_hour = 60 // step
    change = draw(st.sampled_from(DST_CHANGES))
    opens = draw(st.integers(7 * per_hour, 10 * per_hour))
    closes = draw(st.integers(opens + 3 * per_hour, 20 * per_hour))
    duration = draw(st.integers(15, 120))
    last_start = (closes * step - duration) // step
    wished = (opens + last_start) // 2 + draw(st.integers(-3, 3))
    wished = min(max(wished, opens), last_start)
    hours = {weekday: [(wall(opens * step), wall(closes * step))] for weekday in range(7)}
    first_start = datetime.combine(change - timedelta(days=7), wall(wished * step), tzinfo=tz)
    rules = ProtocolRules(2, draw(st.integers(5, 7)), draw(st.integers(7, 9)), 7)
    clinic = draw(clinics(tz, step, first_start, 10, 7, hours, max_busy=10))
    clinic.duration = timedelta(minutes=duration)
    clinic.working_hours, clinic.leave = None, []  # the DST change is what decides here
    if draw(MOSTLY):
        clinic.closures.append(Closure(change, change, "training"))
    return clinic, rules, first_start


@st.composite
def courses_on_a_dst_night(draw: st.DrawFn) -> tuple[Clinic, ProtocolRules, datetime]:
    """A clinic open through the night of a DST change, and a course wished for that night."""
    tz = draw(st.sampled_from(ZONES[1:]))
    step = draw(st.sampled_from([15, 30]))
    change = draw(st.sampled_from(DST_CHANGES))
    closes = draw(st.sampled_from([time(3, 30), time(5), time(23, 45)]))
    hours = {weekday: [(time(0), closes)] for weekday in range(7)}
    first_start = draw(first_starts(tz, step, hours, first_day=change))
    rules = draw(protocol_rules(1, 3))
    clinic = draw(clinics(tz, step, first_start, 3, 1, hours, max_busy=8))
    return clinic, rules, draw(mostly_usable(clinic, first_start))


@QUICK_PROPERTIES
@given(st.one_of(courses_meeting_a_dst_change(), courses_on_a_dst_night()))
def test_a_proposal_around_a_dst_change_keeps_every_rule(
    course: tuple[Clinic, ProtocolRules, datetime],
) -> None:
    check_course(*course)


def check_course(clinic: Clinic, rules: ProtocolRules, first_start: datetime) -> None:
    """The planner's answer is the model's: the same sessions, or a NoFit for the same session
    in the same window when the model finds no usable start either."""
    tz = clinic.tz
    if clinic.working_hours is not None:
        event("the practitioner has working hours of their own")
    if clinic.leave:
        event("the practitioner has leave")

    result = propose_course(rules=rules, first_start=first_start, search=clinic.search())

    placed, refusal = model_course(clinic, rules, first_start)
    wished = first_start.astimezone(tz).time()
    if refusal is None:
        assert isinstance(result, Proposal), explain_no_fit(result)
        sessions = result.sessions
        assert [s.sequence for s in sessions] == list(range(1, rules.session_count + 1))
        # The first session is exactly the wished time.
        assert utc(sessions[0].starts_at) == utc(first_start)
        assert not sessions[0].moved
        for earlier, later in pairwise(sessions):
            gap = (local_date(later.starts_at, tz) - local_date(earlier.starts_at, tz)).days
            assert rules.interval_days_min <= gap <= rules.interval_days_max
        search = clinic.search()
        previous_day = None
        for session, model in zip(sessions, placed, strict=True):
            assert_session_keeps_the_rules(clinic, session.starts_at, session.ends_at)
            assert session.starts_at.tzinfo == tz
            assert utc(session.preferred_at) == model.preferred
            # The preferred slot when usable; otherwise the model's order of preference.
            assert utc(session.starts_at) == model.start
            assert session.moved == (model.start != model.preferred)
            if previous_day is not None:
                first_day = previous_day + timedelta(days=rules.interval_days_min)
                last_day = previous_day + timedelta(days=rules.interval_days_max)
                chosen_by = assert_the_preference_is_kept(
                    search, session.preferred_at, session.starts_at, first_day, last_day, wished
                )
                if session.moved:
                    event(f"a session was moved to {chosen_by}")
                    if spans_a_dst_change(tz, first_day, last_day):
                        event("a session was moved in a window across a DST change")
            previous_day = local_date(session.starts_at, tz)
        event("proposal")
        last_day = local_date(sessions[-1].starts_at, tz)
        expected_due = (
            None
            if rules.maintenance_months is None
            else model_add_months(last_day, rules.maintenance_months)
        )
        assert result.maintenance_due_on == expected_due
        assert result.moved == tuple(s for s in sessions if s.moved)
        return

    # The model found no usable start for session k given the sessions before it.
    event(f"no fit for session {min(refusal.sequence, 3)}{'+' if refusal.sequence >= 3 else ''}")
    assert isinstance(result, NoFit), result
    assert result.sequence == refusal.sequence
    assert (result.window_first_day, result.window_last_day) == (
        refusal.first_day,
        refusal.last_day,
    )
    assert utc(result.preferred_at) == refusal.preferred
    if refusal.sequence == 1:
        # Refused at the wished time, for the first rule it breaks, whatever else is free.
        expected = clinic.obstacle(first_start)
        event(f"first session refused: {expected}")
        assert result.cause == expected
        local = first_start.astimezone(tz)
        assert explain_no_fit(result).startswith(
            f"Session 1 cannot be placed at {format_day(local.date())}, {local:%H:%M}"
        )
    else:
        assert result.cause is None
        assert clinic.scan(refusal.first_day, refusal.last_day) == []
        assert free_starts(clinic.search(), refusal.first_day, refusal.last_day) == []
        # The sessions before it are what a shorter course gets.
        shorter = ProtocolRules(
            session_count=refusal.sequence - 1,
            interval_days_min=rules.interval_days_min,
            interval_days_preferred=rules.interval_days_preferred,
            interval_days_max=rules.interval_days_max,
        )
        earlier = propose_course(rules=shorter, first_start=first_start, search=clinic.search())
        assert isinstance(earlier, Proposal)
        assert [utc(s.starts_at) for s in earlier.sessions] == [p.start for p in placed]
    expected_closed = []
    day = refusal.first_day
    while day <= refusal.last_day:
        closure = clinic.closure(day)
        if closure:
            expected_closed.append((day, closure.reason))
        day += timedelta(days=1)
    assert list(result.closed_days) == expected_closed
    window = (
        model_instant(refusal.first_day, time(0), tz),
        model_instant(refusal.last_day + timedelta(days=1), time(0), tz),
    )
    for interval in [*result.busy, *result.leave, *result.patient_busy]:
        assert utc(interval.start) < window[1]
        assert window[0] < utc(interval.end)
    assert len(result.leave) == len(
        [i for i in clinic.leave if utc(i.start) < window[1] and window[0] < utc(i.end)]
    )
    assert explain_no_fit(result).startswith(f"Session {refusal.sequence} cannot be placed ")
    assert explain_no_fit(result).endswith(".")
    assert f"{format_day(refusal.first_day)}" in explain_no_fit(result)


# --- The practitioner's hours, leave, the grid and the first session ---------------------------


@PROPERTIES
@given(courses(practitioner=True))
def test_no_proposed_session_is_outside_the_practitioners_hours_or_leave_or_off_the_grid(
    course: tuple[Clinic, ProtocolRules, datetime],
) -> None:
    clinic, rules, first_start = course
    tz = clinic.tz
    pattern = clinic.working_hours
    assert pattern is not None

    result = propose_course(rules=rules, first_start=first_start, search=clinic.search())

    if isinstance(result, Proposal):
        event("proposal")
        for session in result.sessions:
            start, end = utc(session.starts_at), utc(session.ends_at)
            day = local_date(start, tz)
            wall_start, wall_end = start.astimezone(tz), end.astimezone(tz)
            # Inside one of the practitioner's periods that day (or periods that touch)...
            assert clinic.works(start, end), (wall_start, pattern.get(day.weekday()))
            # ...clear of every stretch of leave...
            for leave in clinic.leave:
                assert end <= utc(leave.start) or utc(leave.end) <= start, (wall_start, leave)
            # ...and on the grid from the opening of the clinic's period it lies in.
            assert any(
                opens <= start and end <= closes and (start - opens) % clinic.step == timedelta(0)
                for opens, closes in clinic.periods(day)
            ), (wall_start, wall_end)
    else:
        event(f"no fit for session {min(result.sequence, 2)}")
    check_course(clinic, rules, first_start)


@PROPERTIES
@given(courses())
def test_the_first_session_never_moves(course: tuple[Clinic, ProtocolRules, datetime]) -> None:
    clinic, rules, first_start = course

    result = propose_course(rules=rules, first_start=first_start, search=clinic.search())

    usable = clinic.obstacle(first_start) is None
    if isinstance(result, Proposal):
        first = result.sessions[0]
        assert utc(first.starts_at) == utc(first.preferred_at) == utc(first_start)
        assert not first.moved
        assert first not in result.moved
        assert usable
    elif result.sequence == 1:
        event(f"refused: {result.cause}")
        assert not usable
        assert result.cause == clinic.obstacle(first_start)
        assert result.cause in EXACT_TIME
    else:
        assert usable


@PROPERTIES
@given(courses(min_count=2))
def test_a_later_session_keeps_the_wished_time_of_day_when_any_day_of_its_window_has_it_free(
    course: tuple[Clinic, ProtocolRules, datetime],
) -> None:
    clinic, rules, first_start = course
    tz = clinic.tz
    wished = first_start.astimezone(tz).time()

    result = propose_course(rules=rules, first_start=first_start, search=clinic.search())

    assume(isinstance(result, Proposal))
    assert isinstance(result, Proposal)
    for earlier, later in pairwise(result.sessions):
        previous_day = local_date(earlier.starts_at, tz)
        first_day = previous_day + timedelta(days=rules.interval_days_min)
        last_day = previous_day + timedelta(days=rules.interval_days_max)
        window = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
        free_at_the_wished_time = [
            day
            for day in window
            if clinic.usable(model_instant(day, wished, tz), first_day, last_day)
        ]
        if free_at_the_wished_time:
            event("the wished time was free on some day of the window")
            assert utc(later.starts_at) == model_instant(
                local_date(later.starts_at, tz), wished, tz
            )
            preferred_day = local_date(later.preferred_at, tz)
            nearest = min(abs((day - preferred_day).days) for day in free_at_the_wished_time)
            assert abs((local_date(later.starts_at, tz) - preferred_day).days) == nearest


# --- Calendar months ---------------------------------------------------------------------------


@QUICK_PROPERTIES
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 240))
def test_add_months_is_the_same_day_or_the_months_last_day(day: date, months: int) -> None:
    result = add_months(day, months)

    assert result == model_add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert (
        result.day == day.day
        or result.day == month_calendar.monthrange(result.year, result.month)[1] < day.day
    )


# --- local_datetime ----------------------------------------------------------------------------


@QUICK_PROPERTIES
@given(
    st.sampled_from(ZONES),
    st.sampled_from(DST_CHANGES).flatmap(
        lambda change: st.integers(-2, 2).map(lambda n: change + timedelta(days=n))
    ),
    st.integers(0, 24 * 60 - 1),
    st.integers(0, 1),
)
def test_local_datetime_follows_the_time_policy(
    tz: ZoneInfo, day: date, minute: int, fold: int
) -> None:
    wall_time = wall(minute).replace(fold=fold)

    instant = local_datetime(day, wall_time, tz)

    assert utc(instant) == model_instant(day, wall_time, tz)
    assert instant.tzinfo == tz
    assert instant.date() == day
    local = instant.replace(tzinfo=None, fold=0)
    wished = datetime.combine(day, wall(minute))
    # Unchanged when the time exists; otherwise moved forward by the gap (an hour here).
    assert local == wished or local == wished + timedelta(hours=1)


# --- free_starts -------------------------------------------------------------------------------


@st.composite
def searches(draw: st.DrawFn) -> tuple[Clinic, date, date]:
    tz = draw(st.sampled_from(ZONES))
    step = draw(st.sampled_from([10, 15, 20, 30]))
    first_day = draw(st.sampled_from(DST_CHANGES)) - timedelta(days=draw(st.integers(0, 3)))
    last_day = first_day + timedelta(days=draw(st.integers(-1, 6)))
    around = datetime.combine(first_day, time(10), tzinfo=tz)
    hours = draw(opening_hours(step))
    clinic = draw(clinics(tz, step, around, 7, 1, hours, max_busy=30))
    return clinic, first_day, last_day


@PROPERTIES
@given(searches())
def test_free_starts_are_exactly_the_scanned_grid_starts_that_fit_and_are_free(
    case: tuple[Clinic, date, date],
) -> None:
    clinic, first_day, last_day = case
    search = clinic.search()

    starts = free_starts(search, first_day, last_day)

    assert [utc(s) for s in starts] == clinic.scan(first_day, last_day)
    for start in starts:
        end = utc(start) + clinic.duration  # absolute: `+` in a zone adds wall-clock time
        assert start.tzinfo == clinic.tz
        assert first_day <= local_date(start, clinic.tz) <= last_day
        assert search.calendar.fits(start, end)
        assert search.busy.is_free(start, end)
        assert search.usable(start, first_day, last_day)


@PROPERTIES
@given(searches(), st.integers(-24 * 60, 9 * 24 * 60))
def test_free_starts_not_before_a_moment_are_the_free_starts_from_it(
    case: tuple[Clinic, date, date], minutes: int
) -> None:
    clinic, first_day, last_day = case
    search = clinic.search()
    moment = datetime.combine(first_day, time(0), tzinfo=clinic.tz) + timedelta(minutes=minutes)

    later = list(iter_free_starts(search, first_day, last_day, not_before=moment))

    assert later == [s for s in free_starts(search, first_day, last_day) if s >= moment]


# --- BusySet -----------------------------------------------------------------------------------

BASE = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # midnight in New York on its fall-back night


def as_instant(minute: int, zone: ZoneInfo | None) -> datetime:
    instant = BASE + timedelta(minutes=minute)
    return instant if zone is None else instant.astimezone(zone)


raw_intervals = st.lists(
    st.tuples(st.integers(0, 600), st.integers(1, 120), st.none() | st.sampled_from(ZONES)),
    max_size=30,
).map(
    lambda items: [
        Interval(as_instant(start, zone), as_instant(start + length, zone), f"#{n}")
        for n, (start, length, zone) in enumerate(items)
    ]
)
query_ranges = st.tuples(
    st.integers(-30, 630), st.integers(1, 180), st.none() | st.sampled_from(ZONES)
).map(lambda q: (as_instant(q[0], q[2]), as_instant(q[0] + q[1], q[2])))


def model_components(intervals: Sequence[Interval]) -> list[tuple[datetime, datetime]]:
    """Overlapping intervals merged; back-to-back ones kept apart."""
    merged: list[tuple[datetime, datetime]] = []
    for interval in sorted(intervals, key=lambda i: utc(i.start)):
        start, end = utc(interval.start), utc(interval.end)
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def spans(intervals: Iterable[Interval]) -> list[tuple[datetime, datetime]]:
    return [(utc(i.start), utc(i.end)) for i in intervals]


@PROPERTIES
@given(raw_intervals, st.lists(query_ranges, min_size=1, max_size=8))
def test_busy_set_answers_like_the_raw_intervals(
    intervals: list[Interval], queries: list[tuple[datetime, datetime]]
) -> None:
    busy_set = BusySet(intervals)
    components = model_components(intervals)

    assert len(busy_set) == len(components)
    for start, end in queries:
        s, e = utc(start), utc(end)
        overlapping = [i for i in intervals if utc(i.start) < e and s < utc(i.end)]
        assert busy_set.is_free(start, end) == (not overlapping)
        blocker = busy_set.blocking(start, end)
        if overlapping:
            assert blocker is not None
            assert (utc(blocker.start), utc(blocker.end)) in components
            assert utc(blocker.start) < e
            assert s < utc(blocker.end)
        else:
            assert blocker is None
        assert spans(busy_set.within(start, end)) == [
            (cs, ce) for cs, ce in components if cs < e and s < ce
        ]


@PROPERTIES
@given(raw_intervals, raw_intervals)
def test_adding_bookings_one_by_one_equals_building_the_set_at_once(
    first: list[Interval], added: list[Interval]
) -> None:
    busy_set = BusySet(first)
    for interval in added:
        busy_set.add(interval)

    everything = (BASE - timedelta(days=1), BASE + timedelta(days=2))
    assert spans(busy_set.within(*everything)) == model_components([*first, *added])
    assert len(busy_set) == len(model_components([*first, *added]))


# --- reschedule_cascade ------------------------------------------------------------------------


@dataclass
class ModelMove:
    sequence: int
    start: datetime


def model_cascade(
    clinic: Clinic,
    rules: ProtocolRules,
    sessions: Sequence[BookedSession],
    sequence: int,
    new_start: datetime,
) -> list[ModelMove] | tuple[int, date, date, str]:  # an Obstacle is a str
    """The cascade worked out on the model: the moves, or (session, window, why) when refused."""
    tz = clinic.tz
    ordered = sorted(sessions, key=lambda s: s.sequence)
    index = [s.sequence for s in ordered].index(sequence)
    new_day = local_date(new_start, tz)
    first_day = last_day = new_day
    if index:
        previous_day = local_date(ordered[index - 1].starts_at, tz)
        first_day = previous_day + timedelta(days=rules.interval_days_min)
        last_day = previous_day + timedelta(days=rules.interval_days_max)
        if not first_day <= new_day <= last_day:
            return (sequence, first_day, last_day, "window")
    obstacle = clinic.obstacle(new_start)
    if obstacle is not None:
        return (sequence, new_day, new_day, obstacle)
    moves = [ModelMove(sequence, utc(new_start))]
    previous = utc(new_start)
    for later in ordered[index + 1 :]:
        previous_day = local_date(previous, tz)
        first_day = previous_day + timedelta(days=rules.interval_days_min)
        last_day = previous_day + timedelta(days=rules.interval_days_max)
        if clinic.usable(later.starts_at, first_day, last_day):
            break
        if not later.movable:
            return (later.sequence, first_day, last_day, "taken place")
        local_later = later.starts_at.astimezone(tz)
        day = min(max(local_later.date(), first_day), last_day)
        start = clinic.nearest(
            model_instant(day, local_later.time(), tz), first_day, last_day, local_later.time()
        )
        if start is None:
            return (later.sequence, first_day, last_day, "no slot")
        moves.append(ModelMove(later.sequence, start))
        previous = start
    return moves


# What the model calls each refusal, and the planner's cause for it.
CAUSES: dict[str, Obstacle | None] = {
    "window": Obstacle.WINDOW,
    "taken place": Obstacle.TAKEN_PLACE,
    "no slot": None,
    **{obstacle: obstacle for obstacle in Obstacle},
}


@st.composite
def reschedules(
    draw: st.DrawFn,
) -> tuple[Clinic, ProtocolRules, list[BookedSession], int, datetime]:
    clinic, rules, first_start = draw(
        courses(min_count=2, closed_days=False, regular=draw(st.booleans()))
    )
    proposal = propose_course(rules=rules, first_start=first_start, search=clinic.search())
    assume(isinstance(proposal, Proposal))
    assert isinstance(proposal, Proposal)
    sequence = draw(st.integers(1, rules.session_count))
    sessions = [
        BookedSession(
            s.sequence,
            s.starts_at,
            s.ends_at,
            movable=s.sequence == sequence or draw(MOSTLY),
        )
        for s in proposal.sessions
    ]
    tz = clinic.tz
    target = proposal.sessions[sequence - 1].starts_at.astimezone(tz)
    if sequence > 1 and draw(MOSTLY):  # mostly near the window after the previous one
        previous = local_date(proposal.sessions[sequence - 2].starts_at, tz)
        low, high = rules.interval_days_min, rules.interval_days_max
        gap = draw(
            st.one_of(st.sampled_from([low - 1, low, high, high + 1]), st.integers(low, high))
        )
        day = previous + timedelta(days=gap)
    else:
        day = target.date() + timedelta(days=draw(st.integers(-10, 20)))
    step = int(clinic.step.total_seconds() // 60)
    how = draw(st.sampled_from(["same time", "open hours", "open hours", "any time", "booked"]))
    minute = step * draw(st.integers(0, 24 * 60 // step - 1))
    if how == "same time":
        minute = target.hour * 60 + target.minute
    elif how == "open hours" and day.weekday() in clinic.hours:
        opens, closes = draw(st.sampled_from(clinic.hours[day.weekday()]))
        first_slot = (opens.hour * 60 + opens.minute) // step
        last_slot = (closes.hour * 60 + closes.minute) // step
        minute = step * draw(st.integers(first_slot, max(first_slot, last_slot - 1)))
    new_start = local_datetime(day, wall(minute), tz)
    if how == "booked" and clinic.busy:  # onto (or just around) someone else's booking
        booking = draw(st.sampled_from(clinic.busy))
        new_start = booking.start.astimezone(tz) + clinic.step * draw(st.integers(-2, 2))
    if draw(st.booleans()):
        new_start = utc(new_start)
    return clinic, rules, sessions, sequence, new_start


@PROPERTIES
@given(reschedules())
def test_a_cascade_keeps_every_window_or_says_why_it_cannot(
    case: tuple[Clinic, ProtocolRules, list[BookedSession], int, datetime],
) -> None:
    clinic, rules, sessions, sequence, new_start = case
    tz = clinic.tz

    result = reschedule_cascade(
        rules=rules,
        sessions=sessions,
        sequence=sequence,
        new_start=new_start,
        search=clinic.search(),
    )

    expected = model_cascade(clinic, rules, sessions, sequence, new_start)
    if isinstance(expected, tuple):
        refused_sequence, first_day, last_day, why = expected
        event(f"refused: {why}")
        assert isinstance(result, NoFit), result
        assert result.sequence == refused_sequence
        assert (result.window_first_day, result.window_last_day) == (first_day, last_day)
        assert result.cause == CAUSES[why]
        if why == "window":
            assert f"{rules.interval_days_min}–{rules.interval_days_max} days" in explain_no_fit(
                result
            )
        if why == "no slot":
            assert clinic.scan(first_day, last_day) == []
        assert explain_no_fit(result).startswith(f"Session {refused_sequence} cannot be placed ")
        return

    assert isinstance(result, Cascade), explain_no_fit(result)
    event(f"cascade of {len(result.moves)} move(s)")
    # The session being moved takes exactly the time asked for.
    assert utc(result.moves[0].new_start) == utc(new_start)
    assert [(m.sequence, utc(m.new_start)) for m in result.moves] == [
        (m.sequence, m.start) for m in expected
    ]
    by_sequence = {s.sequence: s for s in sessions}
    # Moves run from the target through consecutive later sessions; none has taken place.
    assert [m.sequence for m in result.moves] == list(range(sequence, sequence + len(result.moves)))
    for move in result.moves:
        assert by_sequence[move.sequence].movable
        assert move.old_start == by_sequence[move.sequence].starts_at
        assert move.new_start.tzinfo is not None
        assert_session_keeps_the_rules(clinic, move.new_start, move.new_end)

    # After the moves every session keeps its window after the one before.
    schedule = {s.sequence: s.starts_at for s in sessions}
    schedule.update({m.sequence: m.new_start for m in result.moves})
    ordered = [schedule[n] for n in sorted(schedule)]
    for earlier, later in pairwise(ordered):
        gap = (local_date(later, tz) - local_date(earlier, tz)).days
        assert rules.interval_days_min <= gap <= rules.interval_days_max
    # A later session moved only because its old time no longer kept its window.
    for previous, move in pairwise(result.moves):
        first_day = local_date(previous.new_start, tz) + timedelta(days=rules.interval_days_min)
        last_day = local_date(previous.new_start, tz) + timedelta(days=rules.interval_days_max)
        assert not clinic.usable(move.old_start, first_day, last_day)
