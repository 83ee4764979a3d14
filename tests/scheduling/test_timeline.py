"""The course timeline picture tells the truth: each session's mark matches its status, windows
span exactly the protocol's days after the previous session, milestones sit where they happen,
today and the next maintenance are where they should be, in either language, with no queries.

Courses are built directly (factories and Session rows on fixed dates) on the seeded Rejuran
protocol: 21–28 days apart, maintenance every 6 months, "first visible change" after session 2
and "full strengthening effect" 2–3 months after the start.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format

from scheduling.models import (
    PlanStatus,
    Practitioner,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import add_months
from scheduling.timeline import TEXT_SIZE, CourseTimeline, Label, course_timeline
from tests.factories import TreatmentPlanFactory
from tests.helpers import SESSION
from tests.timeutil import seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db

D0 = date(2027, 1, 5)  # a Tuesday
PARTIAL = "scheduling/partials/course_timeline.html"
CSS = Path(settings.BASE_DIR) / "static" / "css" / "timeline.css"
SVG = "{http://www.w3.org/2000/svg}"

C, P, X, N = (
    SessionStatus.COMPLETED,
    SessionStatus.PLANNED,
    SessionStatus.CANCELLED,
    SessionStatus.NO_SHOW,
)


# --- Helpers ---------------------------------------------------------------------------------


def make_course(
    template: ProtocolTemplate,
    practitioner: Practitioner,
    patient: Any,
    days: list[date],
    *,
    statuses: list[str] | None = None,
    revisions: dict[int, int] | None = None,
    kinds: dict[int, str] | None = None,
    status: str = PlanStatus.ACTIVE,
    maintenance_due_on: date | None = None,
) -> TreatmentPlan:
    """A course with sessions on ``days`` (10:00 in the clinic's zone), loaded the way pages
    load it: sessions, treatment and milestones prefetched."""
    plan = TreatmentPlanFactory(
        patient=patient,
        template=template,
        practitioner=practitioner,
        status=status,
        session_count=max(1, sum(1 for n in range(1, len(days) + 1) if n not in (kinds or {}))),
        first_session_at=seoul(days[0], 10) if days else seoul(D0, 10),
        maintenance_due_on=maintenance_due_on,
    )
    for number, day in enumerate(days, 1):
        Session.objects.create(
            plan=plan,
            patient=plan.patient,
            sequence=number,
            kind=(kinds or {}).get(number, SessionKind.INITIAL),
            starts_at=seoul(day, 10),
            ends_at=seoul(day, 10) + SESSION,
            practitioner=practitioner,
            status=(statuses or [P] * len(days))[number - 1],
            revision=(revisions or {}).get(number, 0),
        )
    return loaded(plan)


def loaded(plan: TreatmentPlan) -> TreatmentPlan:
    return (
        TreatmentPlan.objects.select_related("template__treatment")
        .prefetch_related("sessions", "template__milestones")
        .get(pk=plan.pk)
    )


def after(*gaps: int, start: date = D0) -> list[date]:
    """The start, then each session ``gap`` days after the one before."""
    found = [start]
    for gap in gaps:
        found.append(found[-1] + timedelta(days=gap))
    return found


def render(timeline: CourseTimeline) -> str:
    return render_to_string(PARTIAL, {"timeline": timeline})


def svg_of(html: str) -> ET.Element:
    match = re.search(r"<svg class=\"tl-svg\".*?</svg>", html, re.S)
    assert match, "the partial draws no picture"
    return ET.fromstring(match.group(0))  # noqa: S314 - our own template's output


def css_rule(selector: str) -> str:
    """The declarations of the rule whose selector list is exactly ``selector``."""
    match = re.search(rf"(?:^|\}})\s*{re.escape(selector)}\s*\{{([^}}]*)\}}", CSS.read_text(), re.M)
    assert match, f"{selector} is not styled in {CSS.name}"
    return match.group(1)


def overlaps(a: Label, b: Label) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom


@pytest.fixture
def course(rejuran: ProtocolTemplate, kim: Practitioner, patient: Any) -> Any:
    def build(days: list[date], **extra: Any) -> TreatmentPlan:
        return make_course(rejuran, kim, patient, days, **extra)

    return build


# --- Session marks ---------------------------------------------------------------------------


def test_each_status_has_its_own_mark(course: Any) -> None:
    plan = course(after(28, 28, 28), statuses=[C, N, X, P])

    marks = course_timeline(plan=plan, today=D0).sessions

    assert [(m.sequence, m.status, m.look) for m in marks] == [
        (1, C, "filled"),
        (2, N, "hollow"),
        (3, X, "struck"),
        (4, P, "ring"),
    ]
    assert [m.css for m in marks] == [
        "tl-mark tl-completed",
        "tl-mark tl-no-show",
        "tl-mark tl-cancelled",
        "tl-mark tl-planned",
    ]
    # Only the cancelled one is struck through, by a line across its mark.
    assert [m.strike is not None for m in marks] == [False, False, True, False]
    strike = marks[2].strike
    assert strike is not None
    assert strike.x1 < marks[2].x < strike.x2
    assert strike.y2 < marks[2].y < strike.y1


def test_the_stylesheet_draws_each_status_as_described() -> None:
    # Filled = completed, ring = planned (white inside), hollow grey (dashed) = no-show.
    assert "fill: var(--tl-accent)" in css_rule(".tl-completed")
    assert "fill: #fff" in css_rule(".tl-planned")
    assert "stroke: var(--tl-accent)" in css_rule(".tl-planned")
    no_show = css_rule(".tl-no-show")
    assert "fill: #fff" in no_show
    assert "stroke: var(--tl-grey)" in no_show
    assert "stroke-dasharray" in no_show
    assert "stroke" in css_rule(".tl-strike")


def test_marks_sit_on_their_sessions_days(course: Any) -> None:
    days = after(28, 25)
    timeline = course_timeline(plan=course(days), today=D0)

    assert timeline.axis is not None
    assert [m.day for m in timeline.sessions] == days
    assert [m.x for m in timeline.sessions] == [timeline.axis.x(d) for d in days]
    assert timeline.axis.start == D0


def test_only_a_moved_session_has_the_arrow(course: Any) -> None:
    plan = course(after(28, 28), revisions={2: 1})

    timeline = course_timeline(plan=plan, today=D0)

    assert [m.moved for m in timeline.sessions] == [False, True, False]
    assert [m.arrow is not None for m in timeline.sessions] == [False, True, False]
    moved = timeline.sessions[1]
    assert moved.arrow is not None
    assert moved.arrow.shaft.x1 < moved.x < float(moved.arrow.head.split(",")[0])
    assert render(timeline).count('class="tl-moved"') == 1


def test_maintenance_sessions_are_drawn_apart_from_the_course(course: Any) -> None:
    days = [*after(28, 28), date(2027, 8, 10)]
    plan = course(
        days,
        statuses=[C, C, C, P],
        kinds={4: SessionKind.MAINTENANCE},
        status=PlanStatus.MAINTENANCE,
        maintenance_due_on=date(2027, 8, 30),
    )

    timeline = course_timeline(plan=plan, today=D0)

    shapes = [(m.shape, "tl-maintenance" in m.css) for m in timeline.sessions]
    assert shapes == [("circle", False)] * 3 + [("square", True)]
    # A maintenance session opens no window of the course.
    assert [w.sequence for w in timeline.windows] == [2, 3]


# --- Windows ---------------------------------------------------------------------------------


def test_each_window_spans_21_to_28_days_after_the_previous_session(course: Any) -> None:
    days = after(28, 24)
    timeline = course_timeline(plan=course(days), today=D0)
    axis = timeline.axis
    assert axis is not None
    first, second, _third = timeline.sessions

    assert [(w.sequence, w.after, w.first_day, w.last_day) for w in timeline.windows] == [
        (2, 1, days[0] + timedelta(days=21), days[0] + timedelta(days=28)),
        (3, 2, days[1] + timedelta(days=21), days[1] + timedelta(days=28)),
    ]
    # On the picture: from 21 to 28 days' worth of axis to the right of the previous mark.
    for window, previous in zip(timeline.windows, (first, second), strict=True):
        per_day = axis.scale(window.first_day)
        assert window.x == pytest.approx(previous.x + 21 * per_day, abs=0.05)
        assert window.x + window.width == pytest.approx(previous.x + 28 * per_day, abs=0.05)
        assert window.width == pytest.approx(7 * per_day, abs=0.05)


def test_session_3_sits_inside_its_window(course: Any) -> None:
    timeline = course_timeline(plan=course(after(28, 24)), today=D0)
    third = timeline.sessions[2]
    window = next(w for w in timeline.windows if w.sequence == 3)

    assert window.x < third.x < window.x + window.width
    assert third.in_window is True
    assert window.css == "tl-window"
    fact = next(f for f in timeline.facts if f.kind == "session" and f.when == third.day)
    assert fact.text.startswith("Session 3: Planned. Inside its window, 21–28 days after session 2")


def test_a_session_outside_its_window_is_shown_outside_a_red_band(course: Any) -> None:
    timeline = course_timeline(
        plan=course(after(28, 35), status=PlanStatus.NEEDS_ATTENTION), today=D0
    )
    third = timeline.sessions[2]
    window = next(w for w in timeline.windows if w.sequence == 3)

    assert third.x > window.x + window.width
    assert third.in_window is False
    assert window.css == "tl-window tl-window-missed"
    fact = next(f for f in timeline.facts if f.kind == "session" and f.when == third.day)
    assert "Outside its window of 21–28 days after session 2" in fact.text


def test_windows_are_counted_from_the_session_before_not_a_cancelled_one(course: Any) -> None:
    days = after(28, 10, 18)  # session 3 cancelled; session 4 is 28 days after session 2
    timeline = course_timeline(plan=course(days, statuses=[C, C, X, P]), today=D0)

    assert [(w.sequence, w.after) for w in timeline.windows] == [(2, 1), (4, 2)]
    assert timeline.sessions[3].in_window is True


# --- Milestones ------------------------------------------------------------------------------


def test_the_milestone_after_session_2_sits_at_session_2(course: Any) -> None:
    days = after(25, 28)  # session 2 on its own day, not "28 days after the start"
    timeline = course_timeline(plan=course(days), today=D0)
    second = timeline.sessions[1]

    milestone = next(m for m in timeline.milestones if m.after_session == 2)

    assert milestone.text == "First visible change: hydration and glow"
    assert not milestone.is_band
    assert (milestone.first_day, milestone.x) == (days[1], second.x)
    # Its guide runs down to the mark.
    (guide,) = milestone.guides
    assert guide.x1 == guide.x2 == second.x
    assert guide.y2 < second.y
    fact = next(f for f in timeline.facts if f.text == milestone.text)
    assert fact.when == days[1]


def test_full_effect_is_a_band_from_2_to_3_calendar_months_after_the_start(course: Any) -> None:
    start = date(2026, 12, 31)  # calendar months: 28 Feb, then 31 Mar
    timeline = course_timeline(plan=course(after(28, 28, start=start)), today=start)
    axis = timeline.axis
    assert axis is not None

    band = next(m for m in timeline.milestones if m.is_band)

    assert band.text == "Full strengthening effect"
    assert (band.first_day, band.last_day) == (date(2027, 2, 28), date(2027, 3, 31))
    assert band.first_day == add_months(start, 2)
    assert band.x == axis.x(date(2027, 2, 28))
    assert band.x + band.width == pytest.approx(axis.x(date(2027, 3, 31)), abs=0.05)


def test_a_milestone_after_a_session_not_booked_is_listed_without_a_date(course: Any) -> None:
    timeline = course_timeline(plan=course([D0]), today=D0)

    assert all(m.after_session != 2 for m in timeline.milestones)
    fact = next(f for f in timeline.facts if f.kind == "milestone" and f.when is None)
    assert fact.text == "First visible change: hydration and glow"
    assert fact.when_label == "After session 2"


# --- Today and the next maintenance ------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "drawn"),
    [
        (D0 - timedelta(days=1), False),
        (D0, True),
        (D0 + timedelta(days=40), True),
        (date(2027, 9, 14), True),  # the due date itself: the axis's last day
        (date(2027, 9, 15), False),
    ],
)
def test_the_today_line_is_drawn_only_inside_the_axis(
    course: Any, today: date, drawn: bool
) -> None:
    plan = course(
        after(28, 28),
        statuses=[C, C, C],
        status=PlanStatus.MAINTENANCE,
        maintenance_due_on=date(2027, 9, 14),
    )

    timeline = course_timeline(plan=plan, today=today)

    assert timeline.axis is not None
    assert (timeline.today is not None) is drawn
    assert ('class="tl-today-line"' in render(timeline)) is drawn
    if timeline.today:
        assert timeline.today.x == timeline.axis.x(today)
        assert timeline.today.y1 < timeline.axis.y < timeline.today.y2
        assert any(f.kind == "today" and f.when == today for f in timeline.facts)


def test_the_diamond_marks_the_maintenance_due_date(course: Any) -> None:
    due = date(2027, 9, 14)
    plan = course(
        after(28, 28), statuses=[C, C, C], status=PlanStatus.MAINTENANCE, maintenance_due_on=due
    )

    timeline = course_timeline(plan=plan, today=D0)
    diamond = timeline.maintenance
    axis = timeline.axis

    assert diamond is not None
    assert axis is not None
    assert (diamond.day, diamond.expected, diamond.css) == (due, False, "tl-diamond")
    assert axis.end == due
    assert diamond.x == axis.x(due) == axis.right
    corners = [tuple(map(float, p.split(","))) for p in diamond.points.split()]
    assert {x for x, _ in corners} == {diamond.x - 19, diamond.x, diamond.x + 19}
    assert [line.text for line in diamond.label.lines] == [
        "Maintenance",
        f"due {date_format(due, 'SHORT_DATE_FORMAT')}",
    ]
    assert timeline.facts[-1].text == f"Next maintenance due {date_format(due, 'DATE_FORMAT')}."


def test_an_active_course_shows_its_maintenance_as_expected(course: Any) -> None:
    days = after(28, 28)
    timeline = course_timeline(plan=course(days, statuses=[C, P, P]), today=D0)
    diamond = timeline.maintenance

    assert diamond is not None
    assert diamond.day == add_months(days[-1], 6)
    assert diamond.expected
    assert diamond.css == "tl-diamond tl-expected"
    assert [line.text for line in diamond.label.lines] == [
        "Maintenance",
        f"expected {date_format(diamond.day, 'SHORT_DATE_FORMAT')}",
    ]
    assert timeline.facts[-1].kind == "maintenance_expected"


def test_a_completed_course_without_maintenance_ends_after_its_last_session(
    course: Any,
) -> None:
    days = after(28, 28)
    timeline = course_timeline(plan=course(days, status=PlanStatus.COMPLETED), today=D0)

    assert timeline.maintenance is None
    assert timeline.axis is not None
    assert timeline.axis.end > days[-1]


def test_the_long_wait_for_maintenance_is_drawn_shortened(course: Any) -> None:
    timeline = course_timeline(plan=course(after(28, 28, 28)), today=D0)
    axis = timeline.axis
    assert axis is not None
    assert timeline.maintenance is not None

    assert [s.shortened for s in axis.segments] == [False, True]
    assert len(timeline.breaks) == 1
    course_part, wait = axis.segments
    assert course_part.scale > 2 * wait.scale
    # The course gets most of the width, the months of waiting a short, marked stretch.
    assert timeline.sessions[-1].x - timeline.sessions[0].x > (axis.right - axis.left) / 2
    assert course_part.right < timeline.breaks[0].x < wait.right


# --- An empty course -------------------------------------------------------------------------


def test_a_course_being_scheduled_is_an_empty_timeline(course: Any) -> None:
    timeline = course_timeline(plan=course([], status=PlanStatus.SCHEDULING), today=D0)

    assert timeline.is_empty
    assert timeline.sessions == ()
    assert [(f.kind, f.text) for f in timeline.facts] == [
        ("scheduling", "The sessions are being scheduled.")
    ]
    html = render(timeline)
    assert "<svg" not in html
    assert "The sessions are being scheduled." in html


# --- Queries, language, rendering --------------------------------------------------------------


def test_the_timeline_makes_no_queries(course: Any, django_assert_num_queries: Any) -> None:
    plan = course(
        after(28, 28, 28), statuses=[C, C, N, P], revisions={3: 1}, status=PlanStatus.ACTIVE
    )

    with django_assert_num_queries(0):
        timeline = course_timeline(plan=plan, today=D0 + timedelta(days=30))
        render(timeline)

    assert len(timeline.sessions) == 4


def test_korean_pages_get_korean_dates_and_catalogue_text(course: Any) -> None:
    plan = course(after(28, 28), statuses=[C, P, P])

    with translation.override("ko"):
        timeline = course_timeline(plan=plan, today=D0 + timedelta(days=3))
        html = render(timeline)
        first_day, first_date = date_format(D0, "MONTH_DAY_FORMAT"), date_format(D0, "DATE_FORMAT")
        february = date_format(date(2027, 2, 1), "M")

    texts = [line.text for label in timeline.labels for line in label.lines]
    assert "리쥬란 힐러" in timeline.title
    assert (first_day, february) == ("1월 5일", "2월")
    assert f"1 · {first_day}" in texts
    assert february in texts  # a month tick
    assert "첫 변화: 수분감과 광채" in texts
    assert "오늘" in texts  # today
    assert first_date.startswith("2027년 1월 5일")
    assert timeline.facts[0].when_label == first_date
    assert first_date in html
    assert "Jan" not in html


def test_the_partial_draws_an_accessible_svg_with_no_inline_style(course: Any) -> None:
    plan = course(after(28, 28), statuses=[C, P, P], revisions={2: 1})
    timeline = course_timeline(plan=plan, today=D0 + timedelta(days=10))

    html = render(timeline)
    svg = svg_of(html)

    assert svg.get("role") == "img"
    assert svg.get("viewBox") == timeline.view_box
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None
    assert desc is not None
    assert title.text == "Course timeline: Rejuran Healer"
    assert (svg.get("aria-labelledby"), svg.get("aria-describedby")) == (
        title.get("id"),
        desc.get("id"),
    )
    assert desc.text == timeline.description
    assert "3 sessions" in timeline.description
    # A strict Content-Security-Policy: no inline style, no script, no event handlers.
    assert "style=" not in html
    assert "<style" not in html
    assert "<script" not in html
    assert not re.search(r"\son[a-z]+=", html)
    # The same facts in the list beside the picture.
    facts = re.search(r'<ol class="tl-facts">(.*?)</ol>', html, re.S)
    assert facts
    for fact in timeline.facts:
        assert fact.text.replace("'", "&#x27;") in facts.group(1)


def test_every_class_in_the_picture_is_styled(course: Any) -> None:
    plan = course(
        [*after(28, 28, 28), date(2027, 10, 5)],
        statuses=[C, N, X, C, P],
        revisions={4: 1},
        kinds={5: SessionKind.MAINTENANCE},
        status=PlanStatus.MAINTENANCE,
        maintenance_due_on=date(2028, 4, 5),
    )
    svg = svg_of(render(course_timeline(plan=plan, today=date(2027, 6, 1))))
    shapes = {f"{SVG}{tag}" for tag in ("circle", "rect", "line", "polygon", "text")}
    drawn = {c for e in svg.iter() if e.tag in shapes for c in (e.get("class") or "").split()}
    defined = set(re.findall(r"\.(tl-[a-z-]+)", CSS.read_text()))

    assert {"tl-completed", "tl-no-show", "tl-cancelled", "tl-planned", "tl-diamond"} <= drawn
    assert drawn - defined == set()


def test_the_stylesheet_sets_the_font_size_the_layout_assumes() -> None:
    assert f"font-size: {TEXT_SIZE}px" in css_rule(".tl-text")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_labels_never_overlap_and_stay_in_the_picture(course: Any, language: str) -> None:
    crowded = [
        # Sessions 21 days apart with a moved and a cancelled one.
        {"days": after(21, 21, 21), "statuses": [C, C, X, P], "revisions": {4: 2}},
        # Years of maintenance on one axis.
        {
            "days": [
                *after(28, 28, 28, start=date(2025, 1, 7)),
                date(2025, 10, 7),
                date(2026, 4, 7),
                date(2026, 4, 14),
            ],
            "statuses": [C, C, C, C, C, X, C],
            "kinds": dict.fromkeys((5, 6, 7), SessionKind.MAINTENANCE),
            "status": PlanStatus.MAINTENANCE,
            "maintenance_due_on": date(2026, 10, 14),
        },
    ]
    for extra in crowded:
        plan = course(**extra)
        with translation.override(language):
            timeline = course_timeline(plan=plan, today=date(2026, 5, 1))
        labels = timeline.labels
        assert labels
        for a, b in itertools.combinations(labels, 2):
            assert not overlaps(a, b), (a.lines, b.lines)
        for label in labels:
            assert 0 <= label.left <= label.right <= timeline.width
            assert 0 <= label.top <= label.bottom <= timeline.height
