"""The course timeline picture: one plan's sessions, windows, milestones and maintenance on a
date axis, as SVG geometry in a fixed viewBox, plus the same facts as a plain list.

Pure: built from a plan whose ``sessions``, ``template__treatment`` and ``template__milestones``
are already loaded, with no queries of its own. The partial
``templates/scheduling/partials/course_timeline.html`` only copies these numbers into SVG
attributes, so every position a person sees is decided (and tested) here.

Layout rules:

* The viewBox is ``VIEW_WIDTH`` wide and as tall as the content needs. It is sized for a phone
  first: drawn 310–360 px wide, a ``TEXT_SIZE`` label is 11.5–13.5 px. The font size itself is
  set in ``static/css/timeline.css`` and must equal ``TEXT_SIZE`` (a test compares them).
* A day is a point: a session sits at ``axis.x(day)``; the window "21–28 days after session 2"
  spans ``axis.x(day2 + 21)`` … ``axis.x(day2 + 28)``, both ends included.
* The axis is linear wherever something happens. A stretch with nothing in it for more than
  ``GAP_DAYS`` (typically the months of waiting for maintenance) is drawn shortened and marked
  with a break on the axis, so the course itself gets most of the width.
* Labels never overlap: each row of labels is laid out in lanes (a label that would touch its
  neighbour moves to the next lane), long texts wrap or are shortened, and the full text is in
  the list and in each element's tooltip.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext, pgettext

from clinic.i18n import localized
from scheduling.models import PlanStatus, SessionKind, SessionStatus, TreatmentPlan
from scheduling.planner import add_months, local_day
from scheduling.selectors import clinic_tz, plan_progress
from treatments.models import ProtocolMilestone

VIEW_WIDTH = 800
TEXT_SIZE = 30  # = font-size of .tl-text in static/css/timeline.css
LINE = 38  # baseline to baseline
ASCENT = 26  # how far text reaches above its baseline, Hangul included
DESCENT = 8
EDGE = 4  # labels keep this far from the viewBox's sides
PAD_X = 30  # the axis starts and ends this far in, so the end marks fit
LABEL_GAP = 20  # the least space between two labels in one lane
WIDTH_SAFETY = 1.06  # so text_width() errs wide: DejaVu and Noto CJK text measured narrower
BOLD = 1.1
MAX_LINE_WIDTH = 440  # a milestone label wraps beyond this (about half the picture)
MAX_TOP_LANES = 3  # beyond this, session labels fall back to their number alone
MARK_R = 16
DIAMOND_R = 19
MILESTONE_BAR = 14
TRACK_HEIGHT = 84
AXIS_MARGIN_DAYS = 30  # drawn after the last session when there is no maintenance to end on
GAP_DAYS = 90  # an empty stretch longer than this is drawn shortened…
SHORTENED_DAYS = 40  # …as wide as this many days
TICK_STEPS = (1, 2, 3, 4, 6, 12)  # months between labelled ticks: the finest that fits

Look = Literal["filled", "ring", "struck", "hollow"]
Shape = Literal["circle", "square"]

_LOOKS: dict[str, Look] = {
    SessionStatus.COMPLETED: "filled",
    SessionStatus.PLANNED: "ring",
    SessionStatus.CANCELLED: "struck",
    SessionStatus.NO_SHOW: "hollow",
}
_STATUS_CLASSES = {
    SessionStatus.COMPLETED: "tl-completed",
    SessionStatus.PLANNED: "tl-planned",
    SessionStatus.CANCELLED: "tl-cancelled",
    SessionStatus.NO_SHOW: "tl-no-show",
}


# --- What the partial draws -----------------------------------------------------------------


@dataclass(frozen=True)
class TextLine:
    text: str
    x: float  # centre (.tl-text centres it)
    y: float  # baseline


@dataclass(frozen=True)
class Label:
    """One or more centred lines, and the box they were laid out in (viewBox units)."""

    lines: tuple[TextLine, ...]
    css: str
    left: float
    right: float
    top: float
    bottom: float


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class AxisSegment:
    """A stretch of the axis with one scale; ``shortened`` where nothing happens for long."""

    first: date
    last: date
    left: float
    right: float
    shortened: bool

    @property
    def scale(self) -> float:
        """Units per day."""
        return (self.right - self.left) / max((self.last - self.first).days, 1)

    def x(self, day: date) -> float:
        return self.left + (day - self.first).days * self.scale


@dataclass(frozen=True)
class Axis:
    start: date
    end: date
    y: float
    segments: tuple[AxisSegment, ...]

    @property
    def left(self) -> float:
        return self.segments[0].left

    @property
    def right(self) -> float:
        return self.segments[-1].right

    def segment(self, day: date) -> AxisSegment:
        return next((s for s in self.segments if day <= s.last), self.segments[-1])

    def x(self, day: date) -> float:
        return round(self.segment(day).x(day), 2)

    def scale(self, day: date) -> float:
        """Units per day where ``day`` is."""
        return self.segment(day).scale

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class AxisBreak:
    """Where a shortened stretch is: a gap in the axis line crossed by two slanted strokes."""

    x: float
    gap_x: float
    gap_y: float
    gap_width: float
    gap_height: float
    strokes: tuple[Segment, Segment]


@dataclass(frozen=True)
class Tick:
    day: date  # the first of a month
    x: float
    y1: float
    y2: float
    labelled: bool


@dataclass(frozen=True)
class MovedArrow:
    shaft: Segment
    head: str  # polygon points


@dataclass(frozen=True)
class SessionMark:
    sequence: int
    kind: str
    status: str
    day: date
    look: Look
    shape: Shape
    css: str
    x: float
    y: float
    r: float
    moved: bool
    arrow: MovedArrow | None
    strike: Segment | None
    in_window: bool | None  # None where there is no window (the first session, cancelled ones)
    label: Label | None
    title: str

    @property
    def box_x(self) -> float:
        return round(self.x - self.r, 2)

    @property
    def box_y(self) -> float:
        return round(self.y - self.r, 2)

    @property
    def size(self) -> float:
        return self.r * 2


@dataclass(frozen=True)
class WindowBand:
    """Where session ``sequence`` may fall: min…max days after session ``after``."""

    sequence: int
    after: int
    first_day: date
    last_day: date
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class MilestoneMark:
    text: str
    first_day: date
    last_day: date | None  # set for a band ("2–3 months after the start")
    after_session: int | None
    x: float
    width: float  # 0 for a marker on one day
    bar_y: float
    bar_height: float
    guides: tuple[Segment, ...]
    label: Label
    title: str

    @property
    def is_band(self) -> bool:
        return self.last_day is not None

    @property
    def marker_y(self) -> float:
        return round(self.bar_y + self.bar_height / 2, 2)


@dataclass(frozen=True)
class MaintenanceMark:
    day: date
    expected: bool  # an active course's estimate, not a due date yet
    x: float
    y: float
    points: str
    css: str
    label: Label
    title: str


@dataclass(frozen=True)
class TodayLine:
    day: date
    x: float
    y1: float
    y2: float
    label: Label


@dataclass(frozen=True)
class TimelineFact:
    kind: str  # session, maintenance, milestone, today, maintenance_due, maintenance_expected…
    when: date | None
    when_label: str
    text: str


@dataclass(frozen=True)
class CourseTimeline:
    dom_id: str
    title: str
    description: str
    width: int
    height: float
    axis: Axis | None  # None while the plan has no sessions
    breaks: tuple[AxisBreak, ...]
    ticks: tuple[Tick, ...]
    windows: tuple[WindowBand, ...]
    sessions: tuple[SessionMark, ...]
    milestones: tuple[MilestoneMark, ...]
    maintenance: MaintenanceMark | None
    today: TodayLine | None
    labels: tuple[Label, ...]  # every text in the picture, drawn last so lines pass behind
    facts: tuple[TimelineFact, ...]
    legend: frozenset[str]

    @property
    def is_empty(self) -> bool:
        return self.axis is None

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {_num(self.height)}"

    @property
    def title_id(self) -> str:
        return f"{self.dom_id}-title"

    @property
    def desc_id(self) -> str:
        return f"{self.dom_id}-desc"


# --- Text measuring and label layout ---------------------------------------------------------


def text_width(text: str, *, bold: bool = False) -> float:
    """A line's width in viewBox units at TEXT_SIZE, erring wide: the wide fonts of a Linux
    desktop set the scale, so a phone's narrower fonts only leave more room."""
    ems = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            ems += 1.0
        elif char.isspace():
            ems += 0.34
        elif char in ".,:;·'’()[]-–—/|!":
            ems += 0.42
        elif char.isdigit():
            ems += 0.66
        elif char.isupper():
            ems += 0.76
        else:
            ems += 0.64
    return ems * TEXT_SIZE * WIDTH_SAFETY * (BOLD if bold else 1.0)


def _wrap(text: str, max_width: float, max_lines: int = 2) -> list[str]:
    """Words into at most ``max_lines`` lines of ``max_width``; the rest cut with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
    return [_shorten(line, max_width) for line in lines] or [""]


def _shorten(line: str, max_width: float) -> str:
    if text_width(line) <= max_width:
        return line
    while line and text_width(line + "…") > max_width:
        line = line[:-1]
    return line.rstrip(" ,:;·–-") + "…"


@dataclass(frozen=True)
class _Pending:
    """A label placed across but not yet up and down."""

    lines: tuple[str, ...]
    css: str
    anchor: float  # the x it belongs to
    width: float

    @property
    def centre(self) -> float:
        half = self.width / 2
        return min(max(self.anchor, EDGE + half), VIEW_WIDTH - EDGE - half)

    @property
    def left(self) -> float:
        return self.centre - self.width / 2

    @property
    def right(self) -> float:
        return self.centre + self.width / 2


def _pending(lines: Sequence[str], anchor: float, css: str, *, bold: bool = False) -> _Pending:
    width = max((text_width(line, bold=bold) for line in lines), default=0.0)
    return _Pending(tuple(lines), css, anchor, width)


def _lanes(items: Sequence[_Pending]) -> list[int]:
    """Greedy interval partitioning: each label goes to the lowest lane where it clears the
    lane's last label by LABEL_GAP."""
    lanes = [0] * len(items)
    ends: list[float] = []
    for index in sorted(range(len(items)), key=lambda i: (items[i].left, i)):
        item = items[index]
        lane = next((n for n, end in enumerate(ends) if end + LABEL_GAP <= item.left), len(ends))
        if lane == len(ends):
            ends.append(0.0)
        ends[lane] = item.right
        lanes[index] = lane
    return lanes


@dataclass(frozen=True)
class _Stack:
    """Labels of one row of the picture in lanes (None where an element has no label)."""

    items: tuple[_Pending | None, ...]
    lanes: tuple[int, ...]  # -1 where there is no label
    lines: tuple[int, ...]  # lines of text per lane

    @property
    def height(self) -> int:
        return sum(self.lines) * LINE


def _stack(items: Sequence[_Pending | None]) -> _Stack:
    present = [item for item in items if item is not None]
    lanes = iter(_lanes(present))
    all_lanes = tuple(-1 if item is None else next(lanes) for item in items)
    lines = [0] * (max(all_lanes, default=-1) + 1)
    for item, lane in zip(items, all_lanes, strict=True):
        if item is not None:
            lines[lane] = max(lines[lane], len(item.lines))
    return _Stack(tuple(items), all_lanes, tuple(lines))


def _label(item: _Pending, first_baseline: float) -> Label:
    centre = round(item.centre, 2)
    lines = tuple(
        TextLine(text, centre, round(first_baseline + i * LINE, 2))
        for i, text in enumerate(item.lines)
    )
    return Label(
        lines=lines,
        css=item.css,
        left=round(item.left, 2),
        right=round(item.right, 2),
        top=round(first_baseline - ASCENT, 2),
        bottom=round(first_baseline + (len(item.lines) - 1) * LINE + DESCENT, 2),
    )


def _num(value: float) -> str:
    return f"{value:g}"


def _points(*corners: tuple[float, float]) -> str:
    return " ".join(f"{_num(round(x, 2))},{_num(round(y, 2))}" for x, y in corners)


# --- Dates -----------------------------------------------------------------------------------


def _long(day: date) -> str:
    return date_format(day, "DATE_FORMAT")


def _short(day: date) -> str:
    return date_format(day, "MONTH_DAY_FORMAT")


def _span(first: date, last: date, *, short: bool = False) -> str:
    shown = _short if short else _long
    return gettext("%(first)s – %(last)s") % {"first": shown(first), "last": shown(last)}


def _month_starts(first: date, last: date) -> list[date]:
    month = date(first.year, first.month, 1)
    if month < first:
        month = add_months(month, 1)
    found = []
    while month <= last:
        found.append(month)
        month = add_months(month, 1)
    return found


def _segments(events: Iterable[date], left: float, right: float) -> tuple[AxisSegment, ...]:
    """Linear stretches through every event; a gap longer than GAP_DAYS between two events is
    a stretch of its own, as wide as SHORTENED_DAYS."""
    days = sorted(set(events))
    runs: list[tuple[date, date, bool]] = []
    run_start = days[0]
    for before, after in itertools.pairwise(days):
        if (after - before).days > GAP_DAYS:
            if before > run_start:
                runs.append((run_start, before, False))
            runs.append((before, after, True))
            run_start = after
    if days[-1] > run_start:
        runs.append((run_start, days[-1], False))
    weights = [SHORTENED_DAYS if short else (last - first).days for first, last, short in runs]
    per_weight = (right - left) / sum(weights)
    segments: list[AxisSegment] = []
    x = left
    for (first, last, short), weight in zip(runs, weights, strict=True):
        end_x = right if len(segments) == len(runs) - 1 else x + weight * per_weight
        segments.append(AxisSegment(first, last, round(x, 2), round(end_x, 2), short))
        x = end_x
    return tuple(segments)


# --- What the picture says, before any geometry ------------------------------------------


@dataclass(frozen=True)
class _Placed:
    sequence: int
    kind: str
    status: str
    revision: int
    day: date


@dataclass(frozen=True)
class _Window:
    sequence: int
    after: int
    first: date
    last: date

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class _Milestone:
    text: str
    first_day: date | None  # None: after a session that is not booked
    last_day: date | None
    after_session: int | None


@dataclass(frozen=True)
class _Course:
    treatment: str
    placed: tuple[_Placed, ...]  # every session, in time order
    course: tuple[_Placed, ...]  # the initial sessions that are not cancelled
    low: int
    high: int
    windows: dict[int, _Window]  # by the sequence of the session they are for
    milestones: tuple[_Milestone, ...]
    maintenance_day: date | None
    expected: bool
    months: int | None
    start: date
    end: date


def _status_label(status: str) -> str:
    return str(SessionStatus(status).label)


def _milestones(
    milestones: Iterable[ProtocolMilestone], by_sequence: dict[int, date], start: date
) -> tuple[_Milestone, ...]:
    found = []
    for milestone in milestones:
        text = localized(milestone, "description")
        if milestone.after_session is not None:
            day = by_sequence.get(milestone.after_session)
            found.append(_Milestone(text, day, None, milestone.after_session))
        elif milestone.months_from_start_min is not None:
            low, high = milestone.months_from_start_min, milestone.months_from_start_max
            last = add_months(start, high) if high is not None and high > low else None
            found.append(_Milestone(text, add_months(start, low), last, None))
    return tuple(found)


def _course(plan: TreatmentPlan, placed: Sequence[_Placed]) -> _Course:
    template = plan.template
    # The course as the booking rules count it: initial sessions that are not cancelled; each
    # one's window is counted from the one before it.
    course = tuple(
        p for p in placed if p.kind == SessionKind.INITIAL and p.status != SessionStatus.CANCELLED
    )
    low, high = template.interval_days_min, template.interval_days_max
    windows = {
        current.sequence: _Window(
            current.sequence,
            previous.sequence,
            previous.day + timedelta(days=low),
            previous.day + timedelta(days=high),
        )
        for previous, current in itertools.pairwise(course)
    }

    # The next maintenance: due (in maintenance), or expected (an active course).
    months = template.maintenance_interval_months
    maintenance_day: date | None = None
    expected = False
    if plan.status == PlanStatus.MAINTENANCE and plan.maintenance_due_on:
        maintenance_day = plan.maintenance_due_on
    elif plan.status in (PlanStatus.ACTIVE, PlanStatus.NEEDS_ATTENTION) and months and course:
        maintenance_day = add_months(course[-1].day, months)
        expected = True

    start = placed[0].day
    milestones = _milestones(
        template.milestones.all(),
        {p.sequence: p.day for p in course},
        course[0].day if course else start,
    )
    # The axis ends at the next maintenance, or a margin after the last session, and takes in
    # everything drawn.
    last_days = [p.day for p in placed]
    last_days += [m.last_day or m.first_day for m in milestones if m.first_day]
    last_days.append(maintenance_day or placed[-1].day + timedelta(days=AXIS_MARGIN_DAYS))
    return _Course(
        treatment=template.treatment.display_name,
        placed=tuple(placed),
        course=course,
        low=low,
        high=high,
        windows=windows,
        milestones=milestones,
        maintenance_day=maintenance_day,
        expected=expected,
        months=months,
        start=start,
        end=max(*last_days, start + timedelta(days=7)),
    )


def _axis_segments(c: _Course) -> tuple[AxisSegment, ...]:
    events = [c.start, c.end, *(p.day for p in c.placed)]
    for window in c.windows.values():
        events += [window.first, window.last]
    for m in c.milestones:
        events += [d for d in (m.first_day, m.last_day) if d]
    if c.maintenance_day:
        events.append(c.maintenance_day)
    return _segments(events, PAD_X, VIEW_WIDTH - PAD_X)


# --- Rows of the picture, top to bottom ------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """Today's label, milestone lanes, session label lanes (stacked upwards from the track),
    the track (windows and marks), the axis, month labels."""

    today_baseline: float
    milestone_rows: tuple[tuple[float, float], ...]  # (first baseline, bar y) per lane
    top_bottoms: tuple[float, ...]  # the last baseline of each session label lane
    track_top: float
    centre: float  # of the marks
    axis_y: float
    tick_baseline: float


def _rows(*, show_today: bool, milestones: _Stack, top: _Stack) -> _Rows:
    y = 4.0
    today_baseline = y + ASCENT
    if show_today:
        y += LINE + 6
    milestone_rows = []
    for lines in milestones.lines:
        first_baseline = y + ASCENT
        bar_y = first_baseline + (lines - 1) * LINE + DESCENT + 6
        milestone_rows.append((round(first_baseline, 2), round(bar_y, 2)))
        y = bar_y + MILESTONE_BAR + 12
    top_bottoms = []
    baseline = y + top.height - LINE + ASCENT  # lane 0 sits just above the track
    for lines in top.lines:
        top_bottoms.append(round(baseline, 2))
        baseline -= lines * LINE
    track_top = y + top.height + 4
    axis_y = track_top + TRACK_HEIGHT
    return _Rows(
        today_baseline=round(today_baseline, 2),
        milestone_rows=tuple(milestone_rows),
        top_bottoms=tuple(top_bottoms),
        track_top=round(track_top, 2),
        centre=round(track_top + MARK_R + 16, 2),
        axis_y=round(axis_y, 2),
        tick_baseline=round(axis_y + DIAMOND_R + 6 + ASCENT, 2),
    )


def _top_items(c: _Course, axis: Axis, *, short: bool) -> list[_Pending | None]:
    """Over the track: "2 · 12 Jan" per session (the number alone when ``short``), then the
    diamond's two lines."""
    items: list[_Pending | None] = []
    for p in c.placed:
        if p.kind == SessionKind.MAINTENANCE:
            # With the year: months of waiting between them are shortened and carry no ticks.
            if short:
                lines = [date_format(p.day, "M"), date_format(p.day, "Y")]
            else:
                lines = [date_format(p.day, "SHORT_DATE_FORMAT")]
        elif short:
            lines = [str(p.sequence)]
        else:
            lines = [
                gettext("%(number)s · %(date)s") % {"number": p.sequence, "date": _short(p.day)}
            ]
        items.append(_pending(lines, axis.x(p.day), "tl-session-label"))
    if c.maintenance_day:
        # Context: these short words on the picture differ from the same English elsewhere.
        when = (
            pgettext("course timeline", "expected %(date)s")
            if c.expected
            else pgettext("course timeline", "due %(date)s")
        )
        items.append(
            _pending(
                [
                    pgettext("course timeline", "Maintenance"),
                    when % {"date": date_format(c.maintenance_day, "SHORT_DATE_FORMAT")},
                ],
                axis.x(c.maintenance_day),
                "tl-maintenance-label",
                bold=True,
            )
        )
    return items


def _top_label(stack: _Stack, rows: _Rows, index: int) -> Label | None:
    item = stack.items[index]
    if item is None:
        return None
    last_baseline = rows.top_bottoms[stack.lanes[index]]
    return _label(item, last_baseline - (len(item.lines) - 1) * LINE)


# --- Elements ---------------------------------------------------------------------------------


def _session_marks(
    c: _Course, axis: Axis, rows: _Rows, top: _Stack
) -> tuple[list[SessionMark], set[str]]:
    marks = []
    legend: set[str] = set()
    centre = rows.centre
    for index, p in enumerate(c.placed):
        x = axis.x(p.day)
        maintenance = p.kind == SessionKind.MAINTENANCE
        css = ["tl-mark", _STATUS_CLASSES[SessionStatus(p.status)]]
        if maintenance:
            css.append("tl-maintenance")
            legend.add("maintenance_session")
        legend.add(p.status)
        moved = p.revision > 0
        arrow = None
        if moved:
            legend.add("moved")
            shaft_y = round(centre + MARK_R + 14, 2)
            tip = x + 17
            arrow = MovedArrow(
                shaft=Segment(round(x - 17, 2), shaft_y, round(tip - 8, 2), shaft_y),
                head=_points((tip, shaft_y), (tip - 10, shaft_y - 7), (tip - 10, shaft_y + 7)),
            )
        strike = None
        if p.status == SessionStatus.CANCELLED:
            reach = MARK_R + 6
            strike = Segment(
                round(x - reach, 2),
                round(centre + reach, 2),
                round(x + reach, 2),
                round(centre - reach, 2),
            )
        if maintenance:
            tooltip = (
                gettext("Maintenance session, %(date)s: %(status)s, rescheduled")
                if moved
                else gettext("Maintenance session, %(date)s: %(status)s")
            )
        else:
            tooltip = (
                gettext("Session %(number)s, %(date)s: %(status)s, rescheduled")
                if moved
                else gettext("Session %(number)s, %(date)s: %(status)s")
            )
        window = c.windows.get(p.sequence)
        marks.append(
            SessionMark(
                sequence=p.sequence,
                kind=p.kind,
                status=p.status,
                day=p.day,
                look=_LOOKS[SessionStatus(p.status)],
                shape="square" if maintenance else "circle",
                css=" ".join(css),
                x=x,
                y=centre,
                r=MARK_R,
                moved=moved,
                arrow=arrow,
                strike=strike,
                in_window=window.holds(p.day) if window else None,
                label=_top_label(top, rows, index),
                title=tooltip
                % {"number": p.sequence, "date": _long(p.day), "status": _status_label(p.status)},
            )
        )
    return marks, legend


def _window_bands(c: _Course, axis: Axis, rows: _Rows) -> list[WindowBand]:
    """Shaded across the track; red where the session falls outside its window."""
    days = {p.sequence: p.day for p in c.course}
    bands = []
    for window in c.windows.values():
        left = axis.x(window.first)
        bands.append(
            WindowBand(
                sequence=window.sequence,
                after=window.after,
                first_day=window.first,
                last_day=window.last,
                x=left,
                y=rows.track_top,
                width=round(axis.x(window.last) - left, 2),
                height=TRACK_HEIGHT,
                css="tl-window"
                if window.holds(days[window.sequence])
                else "tl-window tl-window-missed",
                title=gettext(
                    "Window for session %(number)s: %(low)s–%(high)s days after session "
                    "%(previous)s, %(span)s"
                )
                % {
                    "number": window.sequence,
                    "low": c.low,
                    "high": c.high,
                    "previous": window.after,
                    "span": _span(window.first, window.last),
                },
            )
        )
    return bands


def _milestone_marks(
    c: _Course, axis: Axis, rows: _Rows, stack: _Stack, dated: Sequence[_Milestone]
) -> list[MilestoneMark]:
    """A band from first to last day, or a marker on one day, with dotted guides down to the
    track so the eye can follow them to the sessions."""
    marks = []
    for m, item, lane in zip(dated, stack.items, stack.lanes, strict=True):
        if m.first_day is None or item is None:
            continue
        first_baseline, bar_y = rows.milestone_rows[lane]
        left = axis.x(m.first_day)
        right = axis.x(m.last_day) if m.last_day else left
        bar_bottom = round(bar_y + MILESTONE_BAR, 2)
        if m.last_day:
            guides: tuple[Segment, ...] = (
                Segment(left, bar_bottom, left, axis.y),
                Segment(right, bar_bottom, right, axis.y),
            )
            when = _span(m.first_day, m.last_day)
        else:
            guides = (Segment(left, bar_bottom, left, round(rows.centre - MARK_R - 4, 2)),)
            when = _long(m.first_day)
        marks.append(
            MilestoneMark(
                text=m.text,
                first_day=m.first_day,
                last_day=m.last_day,
                after_session=m.after_session,
                x=left,
                width=round(right - left, 2),
                bar_y=bar_y,
                bar_height=MILESTONE_BAR,
                guides=guides,
                label=_label(item, first_baseline),
                title=f"{m.text}: {when}",
            )
        )
    return marks


def _maintenance_mark(c: _Course, axis: Axis, rows: _Rows, top: _Stack) -> MaintenanceMark | None:
    """A diamond on the axis line, outlined while it is only expected."""
    if c.maintenance_day is None:
        return None
    x = axis.x(c.maintenance_day)
    label = _top_label(top, rows, len(top.items) - 1)
    if label is None:  # pragma: no cover - _top_items always labels the diamond
        raise ValueError("The maintenance diamond has no label.")
    return MaintenanceMark(
        day=c.maintenance_day,
        expected=c.expected,
        x=x,
        y=axis.y,
        points=_points(
            (x, axis.y - DIAMOND_R),
            (x + DIAMOND_R, axis.y),
            (x, axis.y + DIAMOND_R),
            (x - DIAMOND_R, axis.y),
        ),
        css="tl-diamond tl-expected" if c.expected else "tl-diamond",
        label=label,
        title=_maintenance_fact(c.maintenance_day, c.expected, c.months),
    )


def _breaks(axis: Axis) -> list[AxisBreak]:
    """A gap with two slanted strokes in the middle of each shortened stretch."""
    found = []
    y = axis.y
    for segment in axis.segments:
        if segment.shortened:
            mid = round((segment.left + segment.right) / 2, 2)
            found.append(
                AxisBreak(
                    x=mid,
                    gap_x=round(mid - 6, 2),
                    gap_y=round(y - 4, 2),
                    gap_width=12,
                    gap_height=8,
                    strokes=(
                        Segment(round(mid - 10, 2), y + 11, round(mid - 2, 2), y - 11),
                        Segment(round(mid + 2, 2), y + 11, round(mid + 10, 2), y - 11),
                    ),
                )
            )
    return found


def _ticks(axis: Axis, rows: _Rows) -> tuple[list[Tick], list[Label], bool]:
    """A tick on the first of each month, outside shortened stretches. Labels every month
    where the scale allows, else every 2, 3… months, never touching the one before; the year
    under January and under the first label."""
    months = _month_starts(axis.start, axis.end)
    needed = max(
        (max(text_width(date_format(m, "M")), text_width(date_format(m, "Y"))) for m in months),
        default=0.0,
    )
    ticks, labels = [], []
    last_right = -float(VIEW_WIDTH)
    year_shown = False
    for month in months:
        if axis.segment(month).shortened:
            continue  # not to scale there: the break and the dates on either side say enough
        x = axis.x(month)
        per_month = axis.scale(month) * 30.44
        step = next((n for n in TICK_STEPS if n * per_month >= needed + LABEL_GAP), 12)
        item = _pending([date_format(month, "M")], x, "tl-tick-label")
        labelled = (month.month - 1) % step == 0 and item.left >= last_right + LABEL_GAP
        if labelled:
            lines = [date_format(month, "M")]
            if month.month == 1 or not year_shown:
                lines.append(date_format(month, "Y"))
                year_shown = True
            item = _pending(lines, x, "tl-tick-label")
            last_right = item.right
            labels.append(_label(item, rows.tick_baseline))
        ticks.append(Tick(month, x, axis.y, round(axis.y + 10, 2), labelled))
    return ticks, labels, year_shown


def _description(plan: TreatmentPlan, c: _Course) -> str:
    progress = plan_progress(plan)
    text = ngettext(
        "%(treatment)s: %(total)d session from %(first)s to %(last)s, %(done)d completed.",
        "%(treatment)s: %(total)d sessions from %(first)s to %(last)s, %(done)d completed.",
        progress.total,
    ) % {
        "treatment": c.treatment,
        "total": progress.total,
        "first": _long(c.course[0].day if c.course else c.start),
        "last": _long(c.course[-1].day if c.course else c.placed[-1].day),
        "done": progress.completed,
    }
    if c.maintenance_day:
        text = f"{text} {_maintenance_fact(c.maintenance_day, c.expected, c.months)}"
    return text


# --- The presenter ---------------------------------------------------------------------------


def _empty(plan: TreatmentPlan, dom_id: str, title: str) -> CourseTimeline:
    if plan.status == PlanStatus.SCHEDULING:
        kind, text = "scheduling", gettext("The sessions are being scheduled.")
    else:
        kind, text = "status", gettext("No sessions are booked for this course.")
    return CourseTimeline(
        dom_id=dom_id,
        title=title,
        description=text,
        width=VIEW_WIDTH,
        height=0,
        axis=None,
        breaks=(),
        ticks=(),
        windows=(),
        sessions=(),
        milestones=(),
        maintenance=None,
        today=None,
        labels=(),
        facts=(TimelineFact(kind, None, "", text),),
        legend=frozenset(),
    )


def course_timeline(*, plan: TreatmentPlan, today: date) -> CourseTimeline:
    """The timeline of one course as of ``today`` (the clinic's local date), in the active
    language. Reads only what is prefetched: ``sessions``, ``template__treatment`` and
    ``template__milestones``."""
    tz = clinic_tz()
    dom_id = f"course-timeline-{plan.pk}"
    title = gettext("Course timeline: %(treatment)s") % {
        "treatment": plan.template.treatment.display_name
    }
    placed = [
        _Placed(s.sequence, s.kind, s.status, s.revision, local_day(s.starts_at, tz))
        for s in sorted(plan.sessions.all(), key=lambda s: (s.starts_at, s.sequence))
    ]
    if not placed:
        return _empty(plan, dom_id, title)
    c = _course(plan, placed)
    segments = _axis_segments(c)
    across = Axis(c.start, c.end, 0, segments)  # x is final; y waits for the rows' heights

    top = _stack(_top_items(c, across, short=False))
    if len(top.lines) > MAX_TOP_LANES:
        top = _stack(_top_items(c, across, short=True))
    dated = [m for m in c.milestones if m.first_day]
    milestone_stack = _stack(
        [
            _pending(
                _wrap(m.text, MAX_LINE_WIDTH),
                (across.x(m.first_day) + across.x(m.last_day or m.first_day)) / 2,
                "tl-milestone-label",
            )
            for m in dated
            if m.first_day
        ]
    )
    show_today = c.start <= today <= c.end
    rows = _rows(show_today=show_today, milestones=milestone_stack, top=top)
    axis = Axis(c.start, c.end, rows.axis_y, segments)

    sessions, legend = _session_marks(c, axis, rows, top)
    windows = _window_bands(c, axis, rows)
    milestones = _milestone_marks(c, axis, rows, milestone_stack, dated)
    maintenance = _maintenance_mark(c, axis, rows, top)
    breaks = _breaks(axis)
    ticks, tick_labels, year_shown = _ticks(axis, rows)
    today_line = None
    if show_today:
        x = axis.x(today)
        today_label = _label(
            _pending([gettext("Today")], x, "tl-today-label", bold=True), rows.today_baseline
        )
        today_line = TodayLine(
            day=today,
            x=x,
            y1=round(rows.today_baseline + DESCENT, 2),
            y2=round(axis.y + 10, 2),
            label=today_label,
        )

    legend |= {"window"} if windows else set()
    legend |= {"milestone"} if milestones else set()
    legend |= {"break"} if breaks else set()
    legend |= {"today"} if today_line else set()
    if maintenance:
        legend.add("maintenance_expected" if maintenance.expected else "maintenance_due")
    labels = [
        *tick_labels,
        *(m.label for m in milestones),
        *(s.label for s in sessions if s.label),
        *([maintenance.label] if maintenance else []),
        *([today_line.label] if today_line else []),
    ]
    bottom = rows.tick_baseline + (LINE if year_shown else 0) + DESCENT + 4
    return CourseTimeline(
        dom_id=dom_id,
        title=title,
        description=_description(plan, c),
        width=VIEW_WIDTH,
        height=round(bottom, 2),
        axis=axis,
        breaks=tuple(breaks),
        ticks=tuple(ticks),
        windows=tuple(windows),
        sessions=tuple(sessions),
        milestones=tuple(milestones),
        maintenance=maintenance,
        today=today_line,
        labels=tuple(labels),
        facts=_facts(c, today=today if show_today else None),
        legend=frozenset(legend),
    )


# --- The plain list --------------------------------------------------------------------------


def _maintenance_fact(day: date, expected: bool, months: int | None) -> str:
    if expected and months:
        return ngettext(
            "Maintenance expected around %(date)s, %(months)d month after the last session.",
            "Maintenance expected around %(date)s, %(months)d months after the last session.",
            months,
        ) % {"date": _long(day), "months": months}
    return gettext("Next maintenance due %(date)s.") % {"date": _long(day)}


def _facts(c: _Course, *, today: date | None) -> tuple[TimelineFact, ...]:
    """Everything the picture shows, in date order (today first on its day, then sessions,
    then what follows from them); milestones whose session is not booked come last."""
    found: list[tuple[date, int, TimelineFact]] = []
    for p in c.placed:
        status = _status_label(p.status)
        if p.kind == SessionKind.MAINTENANCE:
            parts = [gettext("Maintenance session: %(status)s.") % {"status": status}]
        else:
            parts = [
                gettext("Session %(number)s: %(status)s.")
                % {"number": p.sequence, "status": status}
            ]
        if p.revision > 0:
            parts.append(gettext("Rescheduled."))
        window = c.windows.get(p.sequence)
        if window:
            values = {
                "low": c.low,
                "high": c.high,
                "previous": window.after,
                "span": _span(window.first, window.last, short=True),
            }
            if window.holds(p.day):
                text = gettext(
                    "Inside its window, %(low)s–%(high)s days after session %(previous)s "
                    "(%(span)s)."
                )
            else:
                text = gettext(
                    "Outside its window of %(low)s–%(high)s days after session %(previous)s "
                    "(%(span)s)."
                )
            parts.append(text % values)
        kind = "maintenance" if p.kind == SessionKind.MAINTENANCE else "session"
        found.append((p.day, 0, TimelineFact(kind, p.day, _long(p.day), " ".join(parts))))
    undated: list[TimelineFact] = []
    for m in c.milestones:
        if m.first_day is None:
            when_label = gettext("After session %(number)s") % {"number": m.after_session}
            undated.append(TimelineFact("milestone", None, when_label, m.text))
            continue
        if m.last_day:
            when_label = _span(m.first_day, m.last_day)
        elif m.after_session is not None:
            when_label = gettext("After session %(number)s, %(date)s") % {
                "number": m.after_session,
                "date": _long(m.first_day),
            }
        else:
            when_label = gettext("From %(date)s") % {"date": _long(m.first_day)}
        found.append((m.first_day, 1, TimelineFact("milestone", m.first_day, when_label, m.text)))
    if c.maintenance_day:
        day = c.maintenance_day
        kind = "maintenance_expected" if c.expected else "maintenance_due"
        text = _maintenance_fact(day, c.expected, c.months)
        found.append((day, 2, TimelineFact(kind, day, _long(day), text)))
    if today:
        found.append((today, -1, TimelineFact("today", today, _long(today), gettext("Today"))))
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return tuple(fact for _, _, fact in found) + tuple(undated)
