"""The staff calendar as a grid: columns (practitioners, rooms or the days of a week), rows of
booking slots, session blocks placed on them, and the time nobody can book greyed.

Pure: built from sessions and calendars already loaded (``scheduling.calendar_selectors``), with
no queries and no clock. The template copies the numbers decided here into class names
(``col-N``, ``row-start-N``, ``row-span-N``, ``lane-N``, ``lanes-N``, ``tc-N``) that
``static/css/calendar.css`` defines, so the page needs no inline style under the
Content-Security-Policy and every position a person sees is decided (and tested) here.

Layout rules:

* Rows are booking slots (``CLINIC_SLOT_MINUTES``; coarser when a day would need more than
  ``MAX_ROWS``) on the clinic's wall clock, from the earliest opening to the latest closing of
  the shown days' weekdays. A closed day (a closure, a Sunday) shows its weekday's usual hours,
  greyed; with no opening hours at all, the whole week's. The range widens to every session
  shown, so nothing booked is ever hidden.
* A block starts on the row its session starts in and spans every row it touches (at least
  one). Blocks sharing a row in one column sit side by side in lanes.
* Greyed, per column: *closed* (outside the clinic's opening periods, or a closure), and in a
  practitioner's column *off* (outside their own working hours) and *leave* (which wins where
  both apply: it says more).
* Cancelled sessions free their time, so they are left out unless asked for; then they are
  drawn struck through, in lanes beside the sessions that took their place.
* A treatment's colour is its id modulo the palette: stable from page to page and day to day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from django.utils.translation import gettext

from clinic.formatting import format_time, format_when
from scheduling.models import Practitioner, Room, Session, SessionKind, SessionStatus
from scheduling.planner import Calendar

MAX_ROWS = 96  # a whole day of 15-minute rows
MAX_COLUMNS = 30
MAX_LANES = 4
PALETTE_SIZE = 8
DAY_MINUTES = 24 * 60
DEFAULT_HOURS = (9 * 60, 18 * 60)  # drawn when the clinic has no opening hours at all
COMPACT_SPAN = 1  # blocks this short show one line

ShadeKind = Literal["closed", "off", "leave"]
Span = tuple[int, int]  # [start, end) in minutes after the column day's local midnight


# --- What goes in -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """One column to draw: its day, whose sessions it holds, and the calendar that greys it.

    ``practitioner_id`` and ``room_id`` narrow the sessions (None: any); ``no_room`` keeps only
    sessions without a room. ``calendar`` is the practitioner's (working hours and leave) for a
    practitioner's column, the clinic's for a room's."""

    day: date
    title: str
    calendar: Calendar
    subtitle: str = ""
    link: str = ""
    practitioner_id: int | None = None
    room_id: int | None = None
    no_room: bool = False

    def holds(self, session: Session) -> bool:
        return (
            (self.practitioner_id is None or session.practitioner_id == self.practitioner_id)
            and (self.room_id is None or session.room_id == self.room_id)
            and not (self.no_room and session.room_id is not None)
            and session.starts_at.astimezone(self.calendar.tz).date() == self.day
        )

    @property
    def by_room(self) -> bool:
        return self.room_id is not None or self.no_room


# --- What comes out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    index: int  # 1-based, left to right after the time column
    day: date
    title: str
    subtitle: str
    link: str
    is_today: bool
    closed: str  # why the clinic is closed all day ("" when it opens)


@dataclass(frozen=True)
class Row:
    index: int  # 1-based, top to bottom under the column headers
    starts: time
    hour: bool  # starts a new hour: drawn with a stronger line
    label_span: int  # rows this row's time label covers (0: no label here)


@dataclass(frozen=True)
class Shade:
    column: int
    row: int
    span: int
    kind: ShadeKind
    label: str

    @property
    def classes(self) -> str:
        return f"cal-{self.kind} col-{self.column} row-start-{self.row} row-span-{self.span}"


@dataclass(frozen=True)
class Block:
    session_id: int
    column: int
    row: int
    span: int
    lane: int
    lanes: int
    colour: int  # 1 … PALETTE_SIZE
    starts_at: datetime  # in the clinic's zone
    ends_at: datetime
    patient: str
    treatment: str
    progress: str  # "2/4", or "Maintenance"
    kind: str
    status: str
    status_label: str
    where: str  # the room in a practitioner's column, the practitioner in a room's
    summary: str  # everything above in one line, for screen readers and the tooltip

    @property
    def compact(self) -> bool:
        return self.span <= COMPACT_SPAN

    @property
    def classes(self) -> str:
        classes = [
            f"col-{self.column}",
            f"row-start-{self.row}",
            f"row-span-{self.span}",
            f"tc-{self.colour}",
            f"is-{self.status}",
            f"kind-{self.kind}",
        ]
        if self.lanes > 1:
            classes += [f"lane-{self.lane}", f"lanes-{self.lanes}"]
        if self.compact:
            classes.append("is-compact")
        return " ".join(classes)


@dataclass(frozen=True)
class LegendEntry:
    colour: int
    treatment: str


@dataclass(frozen=True)
class Grid:
    columns: list[Column]
    rows: list[Row]
    shades: list[Shade]
    blocks: list[Block]
    legend: list[LegendEntry]
    row_minutes: int
    cancelled_hidden: int  # cancelled sessions in the shown columns that are not drawn
    columns_hidden: int  # columns beyond MAX_COLUMNS, not drawn

    @property
    def classes(self) -> str:
        return f"cal-cols-{len(self.columns)} cal-rows-{len(self.rows)}"


# --- Choosing the columns ---------------------------------------------------------------------


def week_days(day: date, first_weekday: int) -> list[date]:
    """The seven days of the week holding ``day``; ``first_weekday`` is Monday = 0 … Sunday = 6."""
    start = day - timedelta(days=(day.weekday() - first_weekday) % 7)
    return [start + timedelta(days=n) for n in range(7)]


def practitioner_day_columns(
    *,
    day: date,
    practitioners: Sequence[Practitioner],
    sessions: Iterable[Session],
    calendars: dict[int, Calendar],
    clinic: Calendar,
) -> list[ColumnSpec]:
    """A column per practitioner taking bookings or seeing someone that day, by name."""
    busy = {s.practitioner_id for s in sessions if _local_day(s, clinic) == day}
    return [
        ColumnSpec(
            day=day,
            title=p.display_name,
            subtitle=p.title,
            calendar=calendars.get(p.pk, clinic),
            practitioner_id=p.pk,
        )
        for p in practitioners
        if p.is_active or p.pk in busy
    ]


def room_day_columns(
    *, day: date, rooms: Sequence[Room], sessions: Iterable[Session], clinic: Calendar
) -> list[ColumnSpec]:
    """A column per room in use or booked that day, then one for sessions without a room when
    there are any (so none is ever missing from the picture)."""
    todays = [s for s in sessions if _local_day(s, clinic) == day]
    booked = {s.room_id for s in todays}
    columns = [
        ColumnSpec(day=day, title=room.name, calendar=clinic, room_id=room.pk)
        for room in rooms
        if room.is_active or room.pk in booked
    ]
    if None in booked:
        columns.append(ColumnSpec(day=day, title=gettext("No room"), calendar=clinic, no_room=True))
    return columns


def week_columns(
    *,
    days: Sequence[date],
    calendar: Calendar,
    practitioner_id: int | None = None,
    room_id: int | None = None,
) -> list[ColumnSpec]:
    """A column per day for one practitioner or one room; titles are left to the template,
    which formats the day in the reader's language."""
    return [
        ColumnSpec(
            day=day,
            title="",
            calendar=calendar,
            practitioner_id=practitioner_id,
            room_id=room_id,
        )
        for day in days
    ]


# --- Building the grid ------------------------------------------------------------------------


def build_grid(
    *,
    columns: Sequence[ColumnSpec],
    sessions: Iterable[Session],
    slot: timedelta,
    today: date,
    show_cancelled: bool = False,
) -> Grid:
    """The grid for the columns, with each session that belongs to one placed on it. Sessions
    must have ``plan__patient``, ``practitioner`` and ``room`` loaded and the course's protocol
    attached (``selectors.sessions_with_protocols``)."""
    shown = list(columns[:MAX_COLUMNS])
    # Each column only looks at its own day's sessions: a week of a busy clinic stays cheap.
    by_day: defaultdict[date, list[Session]] = defaultdict(list)
    for session in sessions:
        if shown:
            by_day[_local_day(session, shown[0].calendar)].append(session)
    placed: list[tuple[int, Session]] = []
    cancelled_hidden = 0
    for index, spec in enumerate(shown, start=1):
        for session in by_day[spec.day]:
            if not spec.holds(session):
                continue
            if session.status == SessionStatus.CANCELLED and not show_cancelled:
                cancelled_hidden += 1
            else:
                placed.append((index, session))

    first, last = _range(shown, [(shown[i - 1], s) for i, s in placed])
    row_minutes = _row_minutes(slot, last - first)
    first = first // row_minutes * row_minutes  # rows start on the booking grid
    rows = _rows(first, last, row_minutes)

    def to_rows(span: Span) -> tuple[int, int]:
        """(first row, rows spanned) of a span, cut to the grid; at least one row."""
        start = max(span[0], first)
        end = min(span[1], last)
        row = (start - first) // row_minutes
        end_row = max(-(-(end - first) // row_minutes), row + 1)
        return row + 1, min(end_row, len(rows)) - row

    shades = [
        Shade(index, *to_rows(span), kind, label)
        for index, spec in enumerate(shown, start=1)
        for kind, span, label in _greyed(spec, (first, last))
        if span[1] > first and span[0] < last
    ]
    blocks = _blocks(placed, shown, to_rows)
    legend = sorted(
        {LegendEntry(b.colour, b.treatment) for b in blocks}, key=lambda e: e.treatment.casefold()
    )
    return Grid(
        columns=[
            Column(
                index=index,
                day=spec.day,
                title=spec.title,
                subtitle=spec.subtitle,
                link=spec.link,
                is_today=spec.day == today,
                closed=_closed_reason(spec),
            )
            for index, spec in enumerate(shown, start=1)
        ],
        rows=rows,
        shades=shades,
        blocks=blocks,
        legend=legend,
        row_minutes=row_minutes,
        cancelled_hidden=cancelled_hidden,
        columns_hidden=len(columns) - len(shown),
    )


def treatment_colour(treatment_id: int) -> int:
    return treatment_id % PALETTE_SIZE + 1


def _local_day(session: Session, calendar: Calendar) -> date:
    return session.starts_at.astimezone(calendar.tz).date()


def _minutes(instant: datetime, day: date, calendar: Calendar) -> int:
    """Minutes after the local midnight starting ``day`` on the clinic's wall clock, kept
    within that day (a session running past midnight is cut at the grid's end)."""
    local = instant.astimezone(calendar.tz)
    minutes = (local.date() - day).days * DAY_MINUTES + local.hour * 60 + local.minute
    return min(max(minutes, 0), DAY_MINUTES)


def _session_span(spec: ColumnSpec, session: Session) -> Span:
    start = _minutes(session.starts_at, spec.day, spec.calendar)
    return start, max(_minutes(session.ends_at, spec.day, spec.calendar), start + 1)


def _range(columns: Sequence[ColumnSpec], placed: Sequence[tuple[ColumnSpec, Session]]) -> Span:
    """From the earliest opening to the latest closing on the columns' weekdays, widened to the
    sessions drawn."""

    def hours(weekdays: Iterable[int]) -> list[Span]:
        return [
            (opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute)
            for spec in columns
            for weekday in weekdays
            for opens, closes in spec.calendar.opening_hours.get(weekday, ())
        ]

    spans = hours({spec.day.weekday() for spec in columns}) or hours(range(7))
    spans = spans or [DEFAULT_HOURS]
    spans += [_session_span(spec, session) for spec, session in placed]
    return min(s for s, _ in spans), max(e for _, e in spans)


def _row_minutes(slot: timedelta, minutes: int) -> int:
    """The booking slot, or a whole multiple of it when the range would need too many rows."""
    step = max(int(slot.total_seconds() // 60), 1)
    return step * max(math.ceil(minutes / (step * MAX_ROWS)), 1)


def _rows(first: int, last: int, row_minutes: int) -> list[Row]:
    starts = list(range(first, last, row_minutes))
    labelled = [i for i, m in enumerate(starts) if i == 0 or m % 60 == 0]
    rows = []
    for i, minutes in enumerate(starts):
        span = 0
        if i in labelled:
            later = [j for j in labelled if j > i]
            span = (later[0] if later else len(starts)) - i
        rows.append(Row(i + 1, time(minutes // 60, minutes % 60), minutes % 60 == 0, span))
    return rows


def _greyed(spec: ColumnSpec, grid: Span) -> list[tuple[ShadeKind, Span, str]]:
    """The column's time nobody can book, as disjoint spans: closed, then (a practitioner's)
    off hours and leave, using the planner's own reading of the calendar."""
    calendar, day = spec.calendar, spec.day
    opened = [
        (_minutes(start, day, calendar), _minutes(end, day, calendar))
        for start, end in calendar.periods(day)
    ]
    bookable = [
        (_minutes(p.start, day, calendar), _minutes(p.end, day, calendar))
        for p in calendar.bookable(day)
    ]
    unavailable = _subtract(opened, bookable)
    away = [
        (_minutes(i.start, day, calendar), _minutes(i.end, day, calendar), i.label)
        for i in calendar.leave
    ]
    leave = _intersect(unavailable, [(s, e) for s, e, _ in away if s < e])
    reasons = [label for s, e, label in away if s < e and label]
    closure = calendar.closure_on(day)
    closed_label = (
        gettext("Closed: %(reason)s") % {"reason": closure.reason}
        if closure and closure.reason
        else gettext("Closed")
    )
    leave_label = (
        gettext("On leave: %(reason)s") % {"reason": reasons[0]} if reasons else gettext("On leave")
    )
    return [
        *(("closed", span, closed_label) for span in _subtract([grid], opened)),
        *(("off", span, gettext("Not working")) for span in _subtract(unavailable, leave)),
        *(("leave", span, leave_label) for span in leave),
    ]


def _closed_reason(spec: ColumnSpec) -> str:
    if spec.calendar.periods(spec.day):
        return ""
    closure = spec.calendar.closure_on(spec.day)
    return closure.reason if closure and closure.reason else gettext("Closed")


def _blocks(
    placed: Sequence[tuple[int, Session]],
    columns: Sequence[ColumnSpec],
    to_rows: Callable[[Span], tuple[int, int]],
) -> list[Block]:
    laid: list[tuple[int, int, int, Session]] = []
    for index, session in placed:
        row, span = to_rows(_session_span(columns[index - 1], session))
        laid.append((index, row, span, session))
    laid.sort(key=lambda item: (item[0], item[1], -item[2], item[3].starts_at, item[3].pk))
    lanes = _lanes([(index, row, span) for index, row, span, _ in laid])
    return [
        _block(columns[index - 1], session, index, row, span, *lane)
        for (index, row, span, session), lane in zip(laid, lanes, strict=True)
    ]


def _lanes(items: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """(lane, lanes in its cluster) for each (column, row, span), sorted by column and row:
    blocks whose rows overlap share the column's width, each in the first lane free."""
    result: list[tuple[int, int]] = []
    cluster: list[int] = []  # indexes into result of the current cluster
    lane_ends: list[int] = []
    cluster_column, cluster_end = 0, 0

    def close() -> None:
        for i in cluster:
            result[i] = (result[i][0], min(len(lane_ends), MAX_LANES))

    for column, row, span in items:
        if column != cluster_column or row >= cluster_end:
            close()
            cluster, lane_ends = [], []
            cluster_column, cluster_end = column, 0
        lane = next((n for n, end in enumerate(lane_ends) if end <= row), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(row + span)
        else:
            lane_ends[lane] = row + span
        cluster_end = max(cluster_end, row + span)
        cluster.append(len(result))
        result.append((min(lane + 1, MAX_LANES), 1))
    close()
    return result


def _block(
    spec: ColumnSpec, session: Session, column: int, row: int, span: int, lane: int, lanes: int
) -> Block:
    plan = session.plan
    treatment = plan.template.treatment
    tz = spec.calendar.tz
    maintenance = session.kind == SessionKind.MAINTENANCE
    progress = gettext("Maintenance") if maintenance else f"{session.sequence}/{plan.session_count}"
    if spec.by_room:
        where = session.practitioner.display_name
    else:
        where = session.room.name if session.room else ""
    status_label = session.get_status_display()
    # Everything, the column's practitioner or room and day included: a screen reader reads
    # the blocks one by one, away from the headers.
    when = f"{format_when(session.starts_at)}–{format_time(session.ends_at)}"
    parts = [
        when,
        plan.patient.full_name,
        treatment.display_name,
        progress,
        session.practitioner.display_name,
        session.room.name if session.room else "",
        status_label,
    ]
    return Block(
        session_id=session.pk,
        column=column,
        row=row,
        span=span,
        lane=lane,
        lanes=lanes,
        colour=treatment_colour(treatment.pk),
        starts_at=session.starts_at.astimezone(tz),
        ends_at=session.ends_at.astimezone(tz),
        patient=plan.patient.full_name,
        treatment=treatment.display_name,
        progress=progress,
        kind=session.kind,
        status=session.status,
        status_label=str(status_label),
        where=where,
        summary=", ".join(part for part in parts if part),
    )


# --- Interval arithmetic on minute spans ------------------------------------------------------


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(spans: Iterable[Span], holes: Iterable[Span]) -> list[Span]:
    pieces = _merge(spans)
    for hole_start, hole_end in _merge(holes):
        rest: list[Span] = []
        for start, end in pieces:
            if hole_end <= start or end <= hole_start:
                rest.append((start, end))
                continue
            if start < hole_start:
                rest.append((start, hole_start))
            if hole_end < end:
                rest.append((hole_end, end))
        pieces = rest
    return pieces


def _intersect(spans: Iterable[Span], others: Iterable[Span]) -> list[Span]:
    others = _merge(others)
    return _merge(
        (max(a, c), min(b, d)) for a, b in _merge(spans) for c, d in others if max(a, c) < min(b, d)
    )


# --- The stylesheet's placement classes -------------------------------------------------------


def grid_css() -> str:
    """The generated part of static/css/calendar.css: a class for every position this module
    can produce (``manage.py calendar_css`` writes it; a test checks it is up to date)."""
    lines = [
        "/* Generated by `manage.py calendar_css` from scheduling/calendar.py: do not edit. */",
        "/* Grid line 1 is the header row and the time column: rows and columns start at 2. */",
    ]
    for n in range(1, MAX_COLUMNS + 1):
        lines.append(
            f".cal-cols-{n} {{ grid-template-columns: var(--cal-time-w) "
            f"repeat({n}, minmax(var(--cal-col-min), 1fr)); }}"
        )
    for n in range(1, MAX_ROWS + 1):
        lines.append(
            f".cal-rows-{n} {{ grid-template-rows: var(--cal-head-h) "
            f"repeat({n}, var(--cal-row)); }}"
        )
    lines += [f".col-{n} {{ grid-column-start: {n + 1}; }}" for n in range(1, MAX_COLUMNS + 1)]
    lines += [f".row-start-{n} {{ grid-row-start: {n + 1}; }}" for n in range(1, MAX_ROWS + 1)]
    lines += [f".row-span-{n} {{ grid-row-end: span {n}; }}" for n in range(1, MAX_ROWS + 1)]
    for lanes in range(2, MAX_LANES + 1):
        for lane in range(1, lanes + 1):
            lines.append(
                f".lanes-{lanes}.lane-{lane} {{ justify-self: start; "
                f"width: calc(100% / {lanes} - 4px); "
                f"margin-left: calc(100% * {lane - 1} / {lanes} + 2px); margin-right: 0; }}"
            )
    return "\n".join(lines) + "\n"


GENERATED_START, GENERATED_END = "/* BEGIN GENERATED */\n", "/* END GENERATED */\n"


def with_grid_css(stylesheet: str) -> str:
    """The stylesheet with its generated section replaced by :func:`grid_css`."""
    head, _, rest = stylesheet.partition(GENERATED_START)
    _, _, tail = rest.partition(GENERATED_END)
    return f"{head}{GENERATED_START}{grid_css()}{GENERATED_END}{tail}"
