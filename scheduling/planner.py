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
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

DEFAULT_STEP = timedelta(minutes=15)


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


@dataclass(frozen=True)
class Calendar:
    """When the clinic is open: weekly periods in local time (Monday = 0) and closed days."""

    tz: ZoneInfo
    opening_hours: Mapping[int, Sequence[tuple[time, time]]]
    closures: Sequence[Closure] = ()
    # Each day's periods are computed once: a slot search asks for the same day many times.
    _periods: dict[date, list[tuple[datetime, datetime]]] = field(
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

    def fits(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` lies inside one opening period of its day."""
        # Compared in UTC: two datetimes in the same zone compare by wall clock, ignoring fold.
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        return any(
            opens <= start_utc and end_utc <= closes
            for opens, closes in self.periods(local_day(start, self.tz))
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
        """True when the preferred slot could not be used and the nearest free one was taken."""
        return self.starts_at.astimezone(UTC) != self.preferred_at.astimezone(UTC)


class Obstacle:
    """What, besides a full window, stopped a session being placed where it was asked for."""

    OUTSIDE_WINDOW = "outside_window"  # the asked-for day breaks the interval after the previous
    CLOSED_TIME = "closed_time"  # outside opening hours or on a closed day
    TAKEN = "taken"  # the practitioner or room is booked then
    ALREADY_TOOK_PLACE = "already_took_place"  # a later session that must move has taken place


@dataclass(frozen=True)
class NoFit:
    """Why a session could not be placed: which one, in which window, and what was in the way.

    Facts only; :func:`scheduling.explain.explain_no_fit` says it in words.
    """

    sequence: int
    window_first_day: date
    window_last_day: date
    preferred_at: datetime
    closed_days: tuple[tuple[date, str], ...] = ()
    busy: tuple[Interval, ...] = ()
    obstacle: str = ""  # an Obstacle, or "" when the window is simply full or closed
    days_without_hours: tuple[date, ...] = ()
    # For Obstacle.OUTSIDE_WINDOW: the session the interval counts from, and the protocol's range.
    previous_sequence: int | None = None
    previous_day: date | None = None
    interval_days: tuple[int, int] | None = None


@dataclass(frozen=True)
class Proposal:
    sessions: tuple[ProposedSession, ...]
    maintenance_due_on: date | None

    @property
    def moved(self) -> tuple[ProposedSession, ...]:
        return tuple(s for s in self.sessions if s.moved)


@dataclass(frozen=True)
class SlotSearch:
    """Everything a slot search needs besides the window: the calendar, what is taken, and how
    long a session lasts."""

    calendar: Calendar
    busy: BusySet
    duration: timedelta
    step: timedelta = DEFAULT_STEP

    def usable(self, start: datetime, first_day: date, last_day: date) -> bool:
        end = _plus(start, self.duration)
        return (
            first_day <= local_day(start, self.calendar.tz) <= last_day
            and self.calendar.fits(start, end)
            and self.busy.is_free(start, end)
        )

    def nearest(self, preferred: datetime, first_day: date, last_day: date) -> datetime | None:
        """The usable start nearest to ``preferred`` within the window (earlier wins a tie),
        searched outwards in steps so the common case (preferred is free) costs one check."""
        tz = self.calendar.tz
        lower = local_datetime(first_day, time(0), tz)
        upper = local_datetime(last_day + timedelta(days=1), time(0), tz)
        origin = preferred.astimezone(UTC)  # step in absolute time, not on the wall clock
        offset = timedelta(0)
        while True:
            earlier, later = origin - offset, origin + offset
            if earlier < lower and later >= upper:
                return None
            if earlier >= lower and self.usable(earlier, first_day, last_day):
                return earlier.astimezone(tz)
            if offset and later < upper and self.usable(later, first_day, last_day):
                return later.astimezone(tz)
            offset += self.step

    def no_fit(
        self,
        sequence: int,
        preferred: datetime,
        first_day: date,
        last_day: date,
        obstacle: str = "",
        *,
        previous: tuple[int, date] | None = None,
        interval_days: tuple[int, int] | None = None,
    ) -> NoFit:
        calendar = self.calendar
        closed, without_hours = [], []
        for day in days(first_day, last_day):
            closure = calendar.closure_on(day)
            if closure:
                closed.append((day, closure.reason))
            elif not calendar.opening_hours.get(day.weekday()):
                without_hours.append(day)
        window_start = local_datetime(first_day, time(0), calendar.tz)
        window_end = local_datetime(last_day + timedelta(days=1), time(0), calendar.tz)
        return NoFit(
            sequence=sequence,
            window_first_day=first_day,
            window_last_day=last_day,
            preferred_at=preferred,
            closed_days=tuple(closed),
            busy=tuple(self.busy.within(window_start, window_end)),
            obstacle=obstacle,
            days_without_hours=tuple(without_hours),
            previous_sequence=previous[0] if previous else None,
            previous_day=previous[1] if previous else None,
            interval_days=interval_days,
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

    The first session takes the wished time or the nearest free slot on the same day. Each later
    session falls ``interval_days_min``–``interval_days_max`` local days after the previous one,
    preferring the first session's weekday and wall-clock time near the preferred interval, and
    otherwise the nearest free slot inside that window.
    """
    tz = search.calendar.tz
    local_first = first_start.astimezone(tz)
    wished_time, wished_weekday = local_first.time(), local_first.weekday()
    sessions: list[ProposedSession] = []
    preferred, first_day, last_day = local_first, local_first.date(), local_first.date()
    for sequence in range(1, rules.session_count + 1):
        if sessions:
            previous_day = local_day(sessions[-1].starts_at, tz)
            first_day = previous_day + timedelta(days=rules.interval_days_min)
            last_day = previous_day + timedelta(days=rules.interval_days_max)
            target = previous_day + timedelta(days=rules.interval_days_preferred)
            day = preferred_day(target, wished_weekday, first_day, last_day)
            preferred = local_datetime(day, wished_time, tz)
        start = search.nearest(preferred, first_day, last_day)
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
    them. A later session stays where it is when it still falls inside its window; otherwise it
    moves to the free slot nearest to its current wall-clock time in the new window. The move is
    refused, with the reason, when any session cannot keep the protocol.
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
    first_day, last_day = new_day, new_day
    if index:
        previous_day = local_day(ordered[index - 1].starts_at, tz)
        first_day = previous_day + timedelta(days=rules.interval_days_min)
        last_day = previous_day + timedelta(days=rules.interval_days_max)
        if not first_day <= new_day <= last_day:
            return search.no_fit(
                sequence,
                new_start,
                first_day,
                last_day,
                Obstacle.OUTSIDE_WINDOW,
                previous=(ordered[index - 1].sequence, previous_day),
                interval_days=(rules.interval_days_min, rules.interval_days_max),
            )
    if not search.usable(new_start, first_day, last_day):
        end = _plus(new_start, search.duration)
        obstacle = (
            Obstacle.CLOSED_TIME if not search.calendar.fits(new_start, end) else Obstacle.TAKEN
        )
        return search.no_fit(sequence, new_start, new_day, new_day, obstacle)

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
                Obstacle.ALREADY_TOOK_PLACE,
            )
        local_later = later.starts_at.astimezone(tz)
        day = min(max(local_later.date(), first_day), last_day)
        preferred = local_datetime(day, local_later.time(), tz)
        start = search.nearest(preferred, first_day, last_day)
        if start is None:
            return search.no_fit(later.sequence, preferred, first_day, last_day)
        moves.append(Move(later.sequence, later.starts_at, start, _plus(start, search.duration)))
        previous_start = start
    return Cascade(moves=tuple(moves))


def free_starts(search: SlotSearch, first_day: date, last_day: date) -> list[datetime]:
    """Every start time in the date range at which a session fits: inside opening hours, on an
    open day, clear of busy intervals. Starts are on the step grid from each period's opening."""
    tz = search.calendar.tz
    starts = []
    for day in days(first_day, last_day):
        for local_opens, local_closes in search.calendar.periods(day):
            # Step in absolute time: wall-clock steps repeat or skip instants across a DST change.
            opens, closes = local_opens.astimezone(UTC), local_closes.astimezone(UTC)
            start = opens
            while start + search.duration <= closes:
                blocker = search.busy.blocking(start, start + search.duration)
                if blocker is None:
                    starts.append(start.astimezone(tz))
                    start += search.step
                else:
                    # Jump past the blocking booking, staying on the step grid.
                    steps = -(-(blocker.end - opens) // search.step)
                    start = max(start + search.step, opens + steps * search.step)
    return starts
