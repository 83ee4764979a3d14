"""Pure scheduling rules: protocol rules and a calendar in, proposed session times out.

No ORM and no clock: everything the planner knows is passed in, so the same inputs always give
the same answer and every rule can be tested exhaustively.

Time policy
-----------
* Dates and wall-clock times are reasoned about in the clinic's zone; durations in absolute time.
  A course that starts at 10:00 keeps 10:00 local across a DST change.
* Intervals between sessions are counted in local calendar days.
* A local time that does not exist (the spring-forward gap) moves forward by the length of the
  gap (02:30 becomes 03:30); an ambiguous local time (the fall-back hour) means its first
  occurrence. :func:`local_datetime` is the one place this is decided.
* Months are calendar months: 31 August + 6 months is the last day of February.

Where a session may start
-------------------------
Inside one of the clinic's opening periods, inside the practitioner's working hours (when they
have a pattern of their own) and clear of their leave, on the booking grid (every ``step`` from
the opening time of the clinic's period, in absolute time), and clear of the practitioner's,
room's and patient's other sessions. :meth:`SlotSearch.obstacle` names the first rule a start
breaks, in that order.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

DEFAULT_STEP = timedelta(minutes=15)
ZERO = timedelta(0)


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The aware instant for a wall-clock time on a local date (see the module's time policy)."""
    # fold=0 picks the first occurrence of an ambiguous time; the round trip through UTC moves a
    # nonexistent time forward by the gap. A time read off a repeated hour carries fold=1: drop it.
    return datetime.combine(day, at.replace(fold=0), tzinfo=tz).astimezone(UTC).astimezone(tz)


def _plus(instant: datetime, delta: timedelta) -> datetime:
    """``instant + delta`` in absolute time, kept in the instant's zone. (``+`` on a datetime
    with a ZoneInfo adds wall-clock time, which is off by the DST change when it crosses one.)"""
    return (instant.astimezone(UTC) + delta).astimezone(instant.tzinfo)


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end: 31 Aug + 6 months = 28/29 Feb."""
    return day + relativedelta(months=months)


def days(first: date, last: date) -> Iterator[date]:
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)


@dataclass(frozen=True)
class ProtocolRules:
    session_count: int
    interval_days_min: int
    interval_days_max: int
    interval_days_preferred: int
    maintenance_months: int | None = None

    def __post_init__(self) -> None:
        if self.session_count < 1:
            raise ValueError("A course needs at least one session.")
        low, preferred, high = (
            self.interval_days_min,
            self.interval_days_preferred,
            self.interval_days_max,
        )
        if not 1 <= low <= preferred <= high:
            raise ValueError("Intervals must satisfy 1 ≤ shortest ≤ preferred ≤ longest.")
        if self.maintenance_months is not None and self.maintenance_months < 1:
            raise ValueError("Maintenance must be at least one month apart.")


@dataclass(frozen=True)
class Interval:
    """A half-open time range ``[start, end)``; back-to-back intervals do not overlap."""

    start: datetime
    end: datetime
    label: str = ""

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # Compared in UTC: two datetimes in the same zone compare by wall clock, ignoring fold.
        return _utc(self.start) < _utc(end) and _utc(start) < _utc(self.end)


@dataclass(frozen=True)
class Closure:
    first_day: date
    last_day: date
    reason: str = ""


class Period(NamedTuple):
    """A stretch of bookable time on one day, in UTC, with the opening time of the clinic's
    period it lies in: the booking grid counts from there."""

    start: datetime
    end: datetime
    grid_origin: datetime


def _merged(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """UTC spans sorted, with overlapping and touching ones joined."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class Calendar:
    """When sessions can take place: the clinic's weekly periods in local time (Monday = 0) and
    closed days, narrowed by one practitioner's working hours and leave.

    ``working_hours`` None means the practitioner works whenever the clinic is open; a mapping
    means they work only then (a weekday missing from it is a day off). Their periods can only
    narrow the clinic's: a session must fit inside both. Touching or overlapping working periods
    count as one. ``leave`` is time off, as instants (whole days run midnight to midnight).
    """

    tz: ZoneInfo
    opening_hours: Mapping[int, Sequence[tuple[time, time]]]
    closures: Sequence[Closure] = ()
    working_hours: Mapping[int, Sequence[tuple[time, time]]] | None = None
    leave: Sequence[Interval] = ()
    # Each day's periods are computed once: a slot search asks for the same day many times.
    _periods: dict[date, list[tuple[datetime, datetime]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _working: dict[date, list[tuple[datetime, datetime]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _bookable: dict[date, list[Period]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def closure_on(self, day: date) -> Closure | None:
        for closure in self.closures:
            if closure.first_day <= day <= closure.last_day:
                return closure
        return None

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening periods as aware instants; none on a closed day."""
        cached = self._periods.get(day)
        if cached is None:
            cached = (
                []
                if self.closure_on(day)
                else [
                    (local_datetime(day, opens, self.tz), local_datetime(day, closes, self.tz))
                    for opens, closes in sorted(self.opening_hours.get(day.weekday(), ()))
                ]
            )
            self._periods[day] = cached
        return cached

    def working(self, day: date) -> list[tuple[datetime, datetime]] | None:
        """The practitioner's working periods on the day as UTC instants, joined where they
        touch; None when they work the clinic's hours."""
        if self.working_hours is None:
            return None
        cached = self._working.get(day)
        if cached is None:
            cached = _merged(
                (
                    _utc(local_datetime(day, starts, self.tz)),
                    _utc(local_datetime(day, ends, self.tz)),
                )
                for starts, ends in self.working_hours.get(day.weekday(), ())
            )
            self._working[day] = cached
        return cached

    def works_on(self, day: date) -> bool:
        """Whether the practitioner's hours meet the clinic's on the day (leave aside)."""
        working = self.working(day)
        if working is None:
            return True
        return any(
            max(_utc(opens), start) < min(_utc(closes), end)
            for opens, closes in self.periods(day)
            for start, end in working
        )

    def bookable(self, day: date) -> list[Period]:
        """The day's opening periods narrowed to the practitioner's hours, with leave cut out."""
        cached = self._bookable.get(day)
        if cached is not None:
            return cached
        working = self.working(day)
        cached = []
        for local_opens, local_closes in self.periods(day):
            opens, closes = _utc(local_opens), _utc(local_closes)
            spans = (
                [(opens, closes)]
                if working is None
                else [
                    (max(opens, s), min(closes, e))
                    for s, e in working
                    if max(opens, s) < min(closes, e)
                ]
            )
            for start, end in spans:
                for piece_start, piece_end in self._minus_leave(start, end):
                    cached.append(Period(piece_start, piece_end, opens))
        self._bookable[day] = cached
        return cached

    def _minus_leave(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        pieces = [(start, end)]
        for leave_start, leave_end in _merged((_utc(i.start), _utc(i.end)) for i in self.leave):
            rest = []
            for piece_start, piece_end in pieces:
                if leave_end <= piece_start or piece_end <= leave_start:
                    rest.append((piece_start, piece_end))
                    continue
                if piece_start < leave_start:
                    rest.append((piece_start, leave_start))
                if leave_end < piece_end:
                    rest.append((leave_end, piece_end))
            pieces = rest
        return pieces

    def is_open(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` lies inside one of the clinic's opening periods of its day."""
        # Compared in UTC: two datetimes in the same zone compare by wall clock, ignoring fold.
        start_utc, end_utc = _utc(start), _utc(end)
        return any(
            _utc(opens) <= start_utc and end_utc <= _utc(closes)
            for opens, closes in self.periods(local_day(start, self.tz))
        )

    def on_grid(self, start: datetime, step: timedelta) -> bool:
        """Whether ``start`` is a whole number of steps after the opening of the clinic's period
        it falls in."""
        start_utc = _utc(start)
        return any(
            _utc(opens) <= start_utc < _utc(closes) and (start_utc - _utc(opens)) % step == ZERO
            for opens, closes in self.periods(local_day(start, self.tz))
        )

    def is_working(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` lies inside one of the practitioner's working periods."""
        working = self.working(local_day(start, self.tz))
        if working is None:
            return True
        start_utc, end_utc = _utc(start), _utc(end)
        return any(s <= start_utc and end_utc <= e for s, e in working)

    def leave_during(self, start: datetime, end: datetime) -> Interval | None:
        """The practitioner's leave overlapping ``[start, end)``, if any."""
        return next((i for i in self.leave if i.overlaps(start, end)), None)

    def fits(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` lies inside one opening period of its day, inside the
        practitioner's hours and clear of their leave (the grid aside)."""
        return (
            self.is_open(start, end)
            and self.is_working(start, end)
            and self.leave_during(start, end) is None
        )


class BusySet:
    """Busy intervals, merged and sorted, with logarithmic free/busy checks."""

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self._starts: list[datetime] = []
        self._intervals: list[Interval] = []
        for interval in sorted(intervals, key=lambda i: _utc(i.start)):
            self._append(interval)

    def _append(self, interval: Interval) -> None:
        # Ordered and merged in UTC (see Interval.overlaps); ``_starts`` holds UTC instants.
        if self._intervals and _utc(interval.start) < _utc(self._intervals[-1].end):
            last = self._intervals[-1]
            if _utc(interval.end) > _utc(last.end):
                self._intervals[-1] = Interval(last.start, interval.end, last.label)
            return
        self._intervals.append(interval)
        self._starts.append(_utc(interval.start))

    def __len__(self) -> int:
        return len(self._intervals)

    def add(self, interval: Interval) -> None:
        """Insert in place, merging with the neighbours it overlaps (logarithmic search; the
        planner adds each placed session, so rebuilding the list would be quadratic)."""
        start, end = _utc(interval.start), _utc(interval.end)
        index = bisect.bisect_left(self._starts, start)
        first = index
        if first and _utc(self._intervals[first - 1].end) > start:
            first -= 1  # overlaps the interval before it
        last = index
        while last < len(self._intervals) and self._starts[last] < end:
            last += 1  # every following interval starting before it ends
        if first == last:
            self._intervals.insert(index, interval)
            self._starts.insert(index, start)
            return
        overlapped = self._intervals[first:last]
        earliest = min([interval, *overlapped], key=lambda i: _utc(i.start))
        latest = max([interval, *overlapped], key=lambda i: _utc(i.end))
        merged = Interval(earliest.start, latest.end, earliest.label)
        self._intervals[first:last] = [merged]
        self._starts[first:last] = [_utc(merged.start)]

    def blocking(self, start: datetime, end: datetime) -> Interval | None:
        """The busy interval overlapping ``[start, end)``, if any."""
        index = bisect.bisect_left(self._starts, _utc(end))  # intervals starting before `end`
        if index and self._intervals[index - 1].overlaps(start, end):
            return self._intervals[index - 1]
        return None

    def is_free(self, start: datetime, end: datetime) -> bool:
        return self.blocking(start, end) is None

    def within(self, start: datetime, end: datetime) -> list[Interval]:
        first = max(bisect.bisect_left(self._starts, _utc(start)) - 1, 0)
        last = bisect.bisect_left(self._starts, _utc(end))
        return [i for i in self._intervals[first:last] if i.overlaps(start, end)]


@dataclass(frozen=True)
class ProposedSession:
    sequence: int
    starts_at: datetime
    ends_at: datetime
    preferred_at: datetime

    @property
    def moved(self) -> bool:
        """True when the preferred slot could not be used and another free one was taken."""
        return self.starts_at.astimezone(UTC) != self.preferred_at.astimezone(UTC)


class Obstacle(StrEnum):
    """Why a session cannot start at one exact time: the first rule the time breaks, checked in
    this order. (A presenter renders these in the reader's language.)"""

    CLOSED = "closed"  # the clinic is closed then, or the session would run past closing
    OFF_GRID = "off_grid"  # not a whole number of booking steps after opening time
    NOT_WORKING = "not_working"  # outside the practitioner's working hours
    ON_LEAVE = "on_leave"  # the practitioner is on leave
    BOOKED = "booked"  # the practitioner or the room is taken
    PATIENT_BUSY = "patient_busy"  # the patient has another session
    WINDOW = "window"  # outside the protocol's interval after the previous session
    TAKEN_PLACE = "taken_place"  # a later session would have to move but already took place


# The causes that concern one exact time (the others concern a window of days).
EXACT_TIME = frozenset(Obstacle) - {Obstacle.WINDOW, Obstacle.TAKEN_PLACE}


@dataclass(frozen=True)
class NoFit:
    """Why a session could not be placed: which one, in which window, and what was in the way.

    Facts only; :func:`scheduling.explain.explain_no_fit` says it in the reader's language.
    """

    sequence: int
    window_first_day: date
    window_last_day: date
    preferred_at: datetime
    closed_days: tuple[tuple[date, str], ...] = ()
    busy: tuple[Interval, ...] = ()
    days_without_hours: tuple[date, ...] = ()
    # The rule an exact time breaks; None when no time in the window is free.
    cause: Obstacle | None = None
    # Open days of the window on which the practitioner does not work.
    days_not_working: tuple[date, ...] = ()
    # The practitioner's leave and the patient's other sessions in the window.
    leave: tuple[Interval, ...] = ()
    patient_busy: tuple[Interval, ...] = ()
    # For a window refusal: the session the window counts from, its day, and the protocol's
    # interval; for an off-grid time: the booking step.
    previous_sequence: int | None = None
    previous_day: date | None = None
    interval_days: tuple[int, int] | None = None
    step_minutes: int | None = None


@dataclass(frozen=True)
class Proposal:
    sessions: tuple[ProposedSession, ...]
    maintenance_due_on: date | None

    @property
    def moved(self) -> tuple[ProposedSession, ...]:
        return tuple(s for s in self.sessions if s.moved)


@dataclass(frozen=True)
class SlotSearch:
    """Everything a slot search needs besides the window: the calendar (the clinic's and the
    practitioner's), what is taken, and how long a session lasts."""

    calendar: Calendar
    busy: BusySet  # the practitioner's and the room's sessions
    duration: timedelta
    step: timedelta = DEFAULT_STEP
    patient_busy: BusySet = field(default_factory=BusySet)  # the patient's other sessions

    def obstacle(self, start: datetime) -> Obstacle | None:
        """The first rule a session starting exactly at ``start`` would break; None if none."""
        end = _plus(start, self.duration)
        calendar = self.calendar
        if not calendar.is_open(start, end):
            return Obstacle.CLOSED
        if not calendar.on_grid(start, self.step):
            return Obstacle.OFF_GRID
        if not calendar.is_working(start, end):
            return Obstacle.NOT_WORKING
        if calendar.leave_during(start, end) is not None:
            return Obstacle.ON_LEAVE
        if not self.busy.is_free(start, end):
            return Obstacle.BOOKED
        if not self.patient_busy.is_free(start, end):
            return Obstacle.PATIENT_BUSY
        return None

    def usable(self, start: datetime, first_day: date, last_day: date) -> bool:
        return (
            first_day <= local_day(start, self.calendar.tz) <= last_day
            and self.obstacle(start) is None
        )

    def blocking(self, start: datetime, end: datetime) -> Interval | None:
        """A session (the practitioner's, the room's or the patient's) overlapping the range."""
        return self.busy.blocking(start, end) or self.patient_busy.blocking(start, end)

    def nearest(
        self,
        preferred: datetime,
        first_day: date,
        last_day: date,
        *,
        wall_time: time | None = None,
    ) -> datetime | None:
        """The start to use when a session would like ``preferred`` but must stay in the window.

        In order of preference: the wished wall-clock time (``wall_time``, by default the
        preferred instant's) on the day nearest the preferred day, an earlier day winning a tie
        (the preferred day itself first); then any start on the booking grid, nearest to
        ``preferred`` in absolute time, an earlier one winning a tie. Patients keep their usual
        time of day when they can, even if another time on the same day is nearer.
        """
        tz = self.calendar.tz
        local_preferred = preferred.astimezone(tz)
        wished = local_preferred.time() if wall_time is None else wall_time
        around = local_preferred.date()
        by_distance = sorted(days(first_day, last_day), key=lambda d: (abs((d - around).days), d))
        for day in by_distance:
            candidate = local_datetime(day, wished, tz)
            if self.usable(candidate, first_day, last_day):
                return candidate
        origin = _utc(preferred)
        return min(
            free_starts(self, first_day, last_day),
            key=lambda start: (abs(_utc(start) - origin), _utc(start)),
            default=None,
        )

    def refusal(self, sequence: int, start: datetime, obstacle: Obstacle) -> NoFit:
        """Why ``sequence`` cannot start exactly at ``start``."""
        tz = self.calendar.tz
        local = start.astimezone(tz)
        day = local.date()
        return self.no_fit(
            sequence,
            local,
            day,
            day,
            cause=obstacle,
            step_minutes=self.step // timedelta(minutes=1),
        )

    def no_fit(
        self,
        sequence: int,
        preferred: datetime,
        first_day: date,
        last_day: date,
        *,
        cause: Obstacle | None = None,
        previous: tuple[int, date] | None = None,
        interval_days: tuple[int, int] | None = None,
        step_minutes: int | None = None,
    ) -> NoFit:
        calendar = self.calendar
        tz = calendar.tz
        closed, without_hours, not_working = [], [], []
        for day in days(first_day, last_day):
            closure = calendar.closure_on(day)
            if closure:
                closed.append((day, closure.reason))
            elif not calendar.opening_hours.get(day.weekday()):
                without_hours.append(day)
            elif not calendar.works_on(day):
                not_working.append(day)
        window_start = local_datetime(first_day, time(0), tz)
        window_end = local_datetime(last_day + timedelta(days=1), time(0), tz)
        leave = [
            Interval(i.start.astimezone(tz), i.end.astimezone(tz), i.label)
            for i in calendar.leave
            if i.overlaps(window_start, window_end)
        ]
        return NoFit(
            sequence=sequence,
            window_first_day=first_day,
            window_last_day=last_day,
            preferred_at=preferred.astimezone(tz),
            closed_days=tuple(closed),
            busy=tuple(self.busy.within(window_start, window_end)),
            days_without_hours=tuple(without_hours),
            cause=cause,
            days_not_working=tuple(not_working),
            leave=tuple(sorted(leave, key=lambda i: _utc(i.start))),
            patient_busy=tuple(self.patient_busy.within(window_start, window_end)),
            previous_sequence=previous[0] if previous else None,
            previous_day=previous[1] if previous else None,
            interval_days=interval_days,
            step_minutes=step_minutes,
        )


def preferred_day(target: date, weekday: int, first_day: date, last_day: date) -> date:
    """The day in the window with the wished weekday nearest to ``target`` (earlier on a tie);
    ``target`` clamped into the window when the window has no such weekday."""
    candidates = [day for day in days(first_day, last_day) if day.weekday() == weekday]
    if candidates:
        return min(candidates, key=lambda day: (abs((day - target).days), day))
    return min(max(target, first_day), last_day)


def propose_course(
    *, rules: ProtocolRules, first_start: datetime, search: SlotSearch
) -> Proposal | NoFit:
    """Place every initial session of a course.

    The first session takes exactly the wished time, or the course is refused with the reason:
    staff chose that time with the patient. Each later session falls
    ``interval_days_min``–``interval_days_max`` local days after the previous one, preferring the
    first session's weekday near the preferred interval at the first session's wall-clock time
    (see :meth:`SlotSearch.nearest` for what it takes when that slot is not free).
    """
    tz = search.calendar.tz
    local_first = first_start.astimezone(tz)
    wished_time, wished_weekday = local_first.time(), local_first.weekday()
    obstacle = search.obstacle(local_first)
    if obstacle is not None:
        return search.refusal(1, local_first, obstacle)
    sessions = [ProposedSession(1, local_first, _plus(local_first, search.duration), local_first)]
    for sequence in range(2, rules.session_count + 1):
        previous_day = local_day(sessions[-1].starts_at, tz)
        first_day = previous_day + timedelta(days=rules.interval_days_min)
        last_day = previous_day + timedelta(days=rules.interval_days_max)
        target = previous_day + timedelta(days=rules.interval_days_preferred)
        day = preferred_day(target, wished_weekday, first_day, last_day)
        preferred = local_datetime(day, wished_time, tz)
        start = search.nearest(preferred, first_day, last_day, wall_time=wished_time)
        if start is None:
            return search.no_fit(sequence, preferred, first_day, last_day)
        sessions.append(ProposedSession(sequence, start, _plus(start, search.duration), preferred))
    return Proposal(
        sessions=tuple(sessions),
        maintenance_due_on=maintenance_due(local_day(sessions[-1].starts_at, tz), rules),
    )


def maintenance_due(last_session_day: date, rules: ProtocolRules) -> date | None:
    if rules.maintenance_months is None:
        return None
    return add_months(last_session_day, rules.maintenance_months)


@dataclass(frozen=True)
class BookedSession:
    """A session of an existing course, as the cascade sees it."""

    sequence: int
    starts_at: datetime
    ends_at: datetime
    movable: bool = True  # completed or missed sessions stay where they were


@dataclass(frozen=True)
class Move:
    sequence: int
    old_start: datetime
    new_start: datetime
    new_end: datetime


@dataclass(frozen=True)
class Cascade:
    moves: tuple[Move, ...] = field(default_factory=tuple)


def reschedule_cascade(
    *,
    rules: ProtocolRules,
    sessions: Sequence[BookedSession],
    sequence: int,
    new_start: datetime,
    search: SlotSearch,
) -> Cascade | NoFit:
    """Move one initial session and, where the protocol window demands it, the later ones.

    ``sessions`` are the course's initial sessions in order; ``search.busy`` must not contain
    them. The moved session takes exactly ``new_start`` or the move is refused. A later session
    stays where it is when it still falls inside its window; otherwise it moves, keeping its
    wall-clock time where it can (:meth:`SlotSearch.nearest`). The move is refused, with the
    reason, when any session cannot keep the protocol.
    """
    tz = search.calendar.tz
    ordered = sorted(sessions, key=lambda s: s.sequence)
    index = next((i for i, s in enumerate(ordered) if s.sequence == sequence), None)
    if index is None:
        raise ValueError(f"Session {sequence} is not one of the course's initial sessions.")
    target = ordered[index]
    if not target.movable:
        raise ValueError(f"Session {sequence} has already taken place and cannot be moved.")

    new_day = local_day(new_start, tz)
    if index:
        previous = ordered[index - 1]
        previous_day = local_day(previous.starts_at, tz)
        first_day = previous_day + timedelta(days=rules.interval_days_min)
        last_day = previous_day + timedelta(days=rules.interval_days_max)
        if not first_day <= new_day <= last_day:
            return search.no_fit(
                sequence,
                new_start,
                first_day,
                last_day,
                cause=Obstacle.WINDOW,
                previous=(previous.sequence, previous_day),
                interval_days=(rules.interval_days_min, rules.interval_days_max),
            )
    obstacle = search.obstacle(new_start)
    if obstacle is not None:
        return search.refusal(sequence, new_start, obstacle)

    moves = [Move(sequence, target.starts_at, new_start, _plus(new_start, search.duration))]
    previous_start = new_start
    for later in ordered[index + 1 :]:
        previous_day = local_day(previous_start, tz)
        first_day = previous_day + timedelta(days=rules.interval_days_min)
        last_day = previous_day + timedelta(days=rules.interval_days_max)
        if search.usable(later.starts_at, first_day, last_day):
            break  # this one keeps its window, so every later one does too
        if not later.movable:
            return search.no_fit(
                later.sequence,
                later.starts_at,
                first_day,
                last_day,
                cause=Obstacle.TAKEN_PLACE,
            )
        local_later = later.starts_at.astimezone(tz)
        day = min(max(local_later.date(), first_day), last_day)
        preferred = local_datetime(day, local_later.time(), tz)
        start = search.nearest(preferred, first_day, last_day, wall_time=local_later.time())
        if start is None:
            return search.no_fit(later.sequence, preferred, first_day, last_day)
        moves.append(Move(later.sequence, later.starts_at, start, _plus(start, search.duration)))
        previous_start = start
    return Cascade(moves=tuple(moves))


def free_starts(search: SlotSearch, first_day: date, last_day: date) -> list[datetime]:
    """Every start time in the date range at which a session fits: inside opening hours and the
    practitioner's hours, clear of closures, leave and other sessions, on the booking grid (every
    step from the opening time of the clinic's period)."""
    return list(iter_free_starts(search, first_day, last_day))


def iter_free_starts(
    search: SlotSearch, first_day: date, last_day: date, *, not_before: datetime | None = None
) -> Iterator[datetime]:
    """``free_starts`` one at a time, in time order, so a caller wanting the first few stops
    there instead of walking every day of the range; with ``not_before``, only those at or after
    it (the grid times before it are skipped, not checked)."""
    tz = search.calendar.tz
    step, duration = search.step, search.duration
    for day in days(first_day, last_day):
        for period in search.calendar.bookable(day):
            # Step in absolute time: wall-clock steps repeat or skip instants across a DST change.
            origin = period.grid_origin
            lowest = period.start if not_before is None else max(period.start, not_before)
            start = origin + -(-(lowest - origin) // step) * step
            while start + duration <= period.end:
                blocker = search.blocking(start, start + duration)
                if blocker is None:
                    yield start.astimezone(tz)
                    start += step
                else:
                    # Jump past the blocking session, staying on the step grid.
                    steps = -(-(_utc(blocker.end) - origin) // step)
                    start = max(start + step, origin + steps * step)
