"""The staff calendar grid: the presenter (rows, spans, columns, greyed time, lanes, colours),
the page per role, bad query strings, htmx partials, and a constant number of queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from scheduling.calendar import (
    MAX_COLUMNS,
    MAX_LANES,
    MAX_ROWS,
    ColumnSpec,
    Grid,
    build_grid,
    grid_css,
    practitioner_day_columns,
    room_day_columns,
    treatment_colour,
    week_columns,
    week_days,
    with_grid_css,
)
from scheduling.calendar_selectors import calendar_sources
from scheduling.models import (
    Closure,
    Leave,
    OpeningHours,
    Practitioner,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    WorkingHours,
)
from scheduling.planner import Calendar, Interval
from scheduling.planner import Closure as ClosedDays
from scheduling.selectors import clinic_tz
from tests.factories import PractitionerFactory, RoomFactory, SessionFactory
from tests.helpers import hold
from tests.timeutil import local_today, seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db

SLOT = timedelta(minutes=15)
MONDAY, TUESDAY, SATURDAY, SUNDAY = 0, 1, 5, 6
TEN_TO_SEVEN = [(time(10), time(19))]
# The seeded clinic: weekdays 10:00–19:00, Saturday 10:00–15:00, closed on Sunday.
HOURS = {**dict.fromkeys(range(5), TEN_TO_SEVEN), SATURDAY: [(time(10), time(15))]}


def clinic(**extra: Any) -> Calendar:
    return Calendar(tz=clinic_tz(), opening_hours=HOURS, **extra)


def column(day: date, calendar: Calendar | None = None, **fields: Any) -> ColumnSpec:
    return ColumnSpec(
        day=day, title=fields.pop("title", "Column"), calendar=calendar or clinic(), **fields
    )


def grid(columns: Sequence[ColumnSpec], sessions: Sequence[Session] = (), **options: Any) -> Grid:
    return build_grid(columns=columns, sessions=sessions, slot=SLOT, today=local_today(), **options)


def shades(result: Grid, column_index: int) -> list[tuple[str, int, int, str]]:
    return [(s.kind, s.row, s.span, s.label) for s in result.shades if s.column == column_index]


@pytest.fixture
def staff(client: Client, staff_user: User) -> Client:
    client.force_login(staff_user)
    return client


@pytest.fixture
def park(db: None) -> Practitioner:
    return PractitionerFactory(display_name="Dr. Park")


# --- The presenter: rows and blocks -------------------------------------------------------------


def test_a_45_minute_session_at_ten_when_the_clinic_opens_at_ten_is_row_1_spanning_3(
    kim: Practitioner, tuesday: date
) -> None:
    session = hold(kim, seoul(tuesday, 10), minutes=45)

    result = grid([column(tuesday, practitioner_id=kim.pk)], [session])

    (block,) = result.blocks
    assert (block.column, block.row, block.span) == (1, 1, 3)
    assert "col-1 row-start-1 row-span-3" in block.classes
    assert result.rows[0].starts == time(10)
    assert len(result.rows) == 36  # 10:00–19:00 in 15-minute rows


def test_a_block_spans_every_row_it_touches(kim: Practitioner, tuesday: date) -> None:
    session = hold(kim, seoul(tuesday, 11, 10), minutes=30)  # 11:10–11:40

    (block,) = grid([column(tuesday)], [session]).blocks

    assert (block.row, block.span) == (5, 3)  # the 11:00, 11:15 and 11:30 rows


def test_rows_run_from_the_earliest_opening_to_the_latest_closing_of_the_days_shown(
    tuesday: date,
) -> None:
    saturday = tuesday + timedelta(days=4)

    only_saturday = grid([column(saturday)])
    with_a_weekday = grid([column(tuesday), column(saturday)])

    assert (only_saturday.rows[0].starts, only_saturday.rows[-1].starts) == (time(10), time(14, 45))
    assert len(with_a_weekday.rows) == 36
    # Saturday's column is closed after 15:00: rows 21–36.
    assert shades(with_a_weekday, 2) == [("closed", 21, 16, "Closed")]


def test_the_rows_widen_to_a_session_outside_the_opening_hours(
    kim: Practitioner, tuesday: date
) -> None:
    early = hold(kim, seoul(tuesday, 8, 30), minutes=30)

    result = grid([column(tuesday)], [early])

    assert result.rows[0].starts == time(8, 30)
    assert (result.blocks[0].row, result.blocks[0].span) == (1, 2)
    assert shades(result, 1) == [("closed", 1, 6, "Closed")]  # 08:30–10:00


def test_hours_are_labelled_once_each_on_the_hour(tuesday: date) -> None:
    rows = grid([column(tuesday)]).rows

    labelled = [(row.starts, row.label_span) for row in rows if row.label_span]
    assert labelled[0] == (time(10), 4)
    assert [t for t, _ in labelled] == [time(h) for h in range(10, 19)]
    assert sum(span for _, span in labelled) == len(rows)


def test_a_whole_day_of_five_minute_slots_is_drawn_in_coarser_rows(
    kim: Practitioner, tuesday: date
) -> None:
    night = hold(kim, seoul(tuesday, 0, 5), minutes=5)
    late = hold(kim, seoul(tuesday, 23, 50), minutes=5)

    result = build_grid(
        columns=[column(tuesday)],
        sessions=[night, late],
        slot=timedelta(minutes=5),
        today=tuesday,
    )

    assert len(result.rows) <= MAX_ROWS
    assert result.row_minutes == 15
    assert [b.row for b in result.blocks] == [1, 96]


def test_short_sessions_are_compact(kim: Practitioner, tuesday: date) -> None:
    short = hold(kim, seoul(tuesday, 10), minutes=15)
    long = hold(kim, seoul(tuesday, 11), minutes=60)

    blocks = grid([column(tuesday)], [short, long]).blocks

    assert [b.compact for b in blocks] == [True, False]
    assert "is-compact" in blocks[0].classes


def test_a_block_says_who_what_which_session_and_its_status(
    kim: Practitioner, tuesday: date
) -> None:
    room = RoomFactory(name="Room 2")
    session = hold(kim, seoul(tuesday, 10), room=room, status=SessionStatus.COMPLETED)
    session.sequence = 2
    session.save()
    maintenance = hold(kim, seoul(tuesday, 14))
    maintenance.kind = SessionKind.MAINTENANCE
    maintenance.save()

    first, second = grid([column(tuesday, practitioner_id=kim.pk)], [session, maintenance]).blocks

    assert first.patient == session.plan.patient.full_name
    assert first.treatment == "Rejuran Healer"
    assert first.progress == "2/3"
    assert (first.status, first.status_label) == ("completed", "Completed")
    assert first.where == "Room 2"
    assert first.summary == (
        f"{tuesday:%a} {tuesday.day} {tuesday:%b %Y}, 10:00–10:45, "
        f"{first.patient}, Rejuran Healer, 2/3, Dr. Kim, Room 2, Completed"
    )
    assert "is-completed" in first.classes
    assert second.progress == "Maintenance"
    assert "kind-maintenance" in second.classes


# --- Columns --------------------------------------------------------------------------------------


def test_two_practitioners_give_two_columns_each_with_its_own_sessions(
    kim: Practitioner, park: Practitioner, tuesday: date
) -> None:
    kims = hold(kim, seoul(tuesday, 10))
    parks = hold(park, seoul(tuesday, 10))
    sessions = [kims, parks]

    columns = practitioner_day_columns(
        day=tuesday, practitioners=[kim, park], sessions=sessions, calendars={}, clinic=clinic()
    )
    result = grid(columns, sessions)

    assert [(c.index, c.title) for c in result.columns] == [(1, "Dr. Kim"), (2, "Dr. Park")]
    assert {b.session_id: b.column for b in result.blocks} == {kims.pk: 1, parks.pk: 2}


def test_a_practitioner_who_stopped_taking_bookings_keeps_a_column_only_while_booked(
    kim: Practitioner, park: Practitioner, tuesday: date
) -> None:
    park.is_active = False
    park.save()
    booked = [hold(park, seoul(tuesday + timedelta(days=1), 10))]

    def titles(day: date) -> list[str]:
        return [
            c.title
            for c in practitioner_day_columns(
                day=day, practitioners=[kim, park], sessions=booked, calendars={}, clinic=clinic()
            )
        ]

    assert titles(tuesday) == ["Dr. Kim"]
    assert titles(tuesday + timedelta(days=1)) == ["Dr. Kim", "Dr. Park"]


def test_room_columns_end_with_sessions_that_have_no_room(
    kim: Practitioner, park: Practitioner, tuesday: date
) -> None:
    room = RoomFactory(name="Room A")
    RoomFactory(name="Old room", is_active=False)
    in_room = hold(kim, seoul(tuesday, 10), room=room)
    no_room = hold(park, seoul(tuesday, 10))

    columns = room_day_columns(
        day=tuesday, rooms=list(Room.objects.all()), sessions=[in_room, no_room], clinic=clinic()
    )
    result = grid(columns, [in_room, no_room])

    assert [c.title for c in result.columns] == ["Room A", "No room"]
    assert {b.session_id: (b.column, b.where) for b in result.blocks} == {
        in_room.pk: (1, "Dr. Kim"),
        no_room.pk: (2, "Dr. Park"),
    }


def test_a_week_is_seven_day_columns_from_the_first_weekday(
    kim: Practitioner, tuesday: date
) -> None:
    monday = tuesday - timedelta(days=1)
    thursday = tuesday + timedelta(days=2)
    sessions = [hold(kim, seoul(tuesday, 10)), hold(kim, seoul(thursday, 15))]

    days = week_days(thursday, MONDAY)
    result = grid(week_columns(days=days, calendar=clinic(), practitioner_id=kim.pk), sessions)

    assert days == [monday + timedelta(days=n) for n in range(7)]
    assert week_days(thursday, SUNDAY)[0] == monday - timedelta(days=1)
    assert [c.day for c in result.columns] == days
    assert [(b.column, b.row) for b in result.blocks] == [(2, 1), (4, 21)]


def test_a_closed_sunday_is_greyed_all_day(tuesday: date) -> None:
    days = week_days(tuesday, MONDAY)

    result = grid(week_columns(days=days, calendar=clinic()))

    assert shades(result, 7) == [("closed", 1, 36, "Closed")]
    assert result.columns[6].closed == "Closed"
    assert shades(result, 2) == []  # Tuesday is open all the rows shown


def test_a_closure_is_greyed_with_its_reason(tuesday: date) -> None:
    closed = clinic(closures=[ClosedDays(tuesday, tuesday, "Clinic training day")])

    result = grid(week_columns(days=week_days(tuesday, MONDAY), calendar=closed))

    assert shades(result, 2) == [("closed", 1, 36, "Closed: Clinic training day")]
    assert result.columns[1].closed == "Clinic training day"
    assert shades(result, 1) == []


def test_leave_is_greyed_in_that_practitioners_column_only(
    kim: Practitioner, park: Practitioner, tuesday: date
) -> None:
    away = Interval(seoul(tuesday, 14), seoul(tuesday, 16, 30), "Conference")
    calendars = {park.pk: clinic(leave=[away])}

    columns = practitioner_day_columns(
        day=tuesday, practitioners=[kim, park], sessions=[], calendars=calendars, clinic=clinic()
    )
    result = grid(columns)

    assert shades(result, 1) == []
    assert shades(result, 2) == [("leave", 17, 10, "On leave: Conference")]  # 14:00–16:30


def test_a_practitioners_own_hours_grey_the_rest_of_their_day(
    kim: Practitioner, tuesday: date
) -> None:
    afternoons = clinic(working_hours={TUESDAY: [(time(13), time(19))]})
    whole_day_away = clinic(
        working_hours={TUESDAY: [(time(13), time(19))]},
        leave=[Interval(seoul(tuesday, 0), seoul(tuesday + timedelta(days=1), 0))],
    )

    result = grid([column(tuesday, afternoons), column(tuesday, whole_day_away)])

    assert shades(result, 1) == [("off", 1, 12, "Not working")]  # 10:00–13:00
    # Leave says more than "not working": it wins where both apply.
    assert shades(result, 2) == [("leave", 1, 36, "On leave")]


def test_leave_and_hours_come_from_the_database_as_booking_reads_them(
    kim: Practitioner, park: Practitioner, tuesday: date, staff_user: User
) -> None:
    WorkingHours.objects.create(
        practitioner=kim, weekday=TUESDAY, start_time=time(13), end_time=time(19)
    )
    Leave.objects.create(
        practitioner=park,
        starts_on=tuesday,
        ends_on=tuesday,
        start_time=time(10),
        end_time=time(12),
    )
    Closure.objects.create(
        starts_on=tuesday + timedelta(days=1), ends_on=tuesday + timedelta(days=1), reason="Holiday"
    )

    wednesday = tuesday + timedelta(days=1)
    sources = calendar_sources(user=staff_user, first_day=tuesday, last_day=wednesday)
    columns = practitioner_day_columns(
        day=tuesday,
        practitioners=[kim, park],
        sessions=sources.sessions,
        calendars=sources.practitioners,
        clinic=sources.clinic,
    )
    result = grid([*columns, column(wednesday, sources.clinic)])

    assert shades(result, 1) == [("off", 1, 12, "Not working")]
    assert shades(result, 2) == [("leave", 1, 8, "On leave")]
    assert shades(result, 3) == [("closed", 1, 36, "Closed: Holiday")]


# --- Cancelled sessions, lanes -----------------------------------------------------------------


def test_cancelled_sessions_are_left_out_and_counted(kim: Practitioner, tuesday: date) -> None:
    cancelled = hold(kim, seoul(tuesday, 10), status=SessionStatus.CANCELLED)
    kept = hold(kim, seoul(tuesday, 10))

    result = grid([column(tuesday)], [cancelled, kept])

    assert [b.session_id for b in result.blocks] == [kept.pk]
    assert result.cancelled_hidden == 1
    assert (result.blocks[0].lane, result.blocks[0].lanes) == (1, 1)


def test_cancelled_sessions_asked_for_are_struck_beside_the_one_that_took_their_place(
    kim: Practitioner, tuesday: date
) -> None:
    cancelled = hold(kim, seoul(tuesday, 10), status=SessionStatus.CANCELLED)
    kept = hold(kim, seoul(tuesday, 10, 30))
    later = hold(kim, seoul(tuesday, 12))

    result = grid([column(tuesday)], [cancelled, kept, later], show_cancelled=True)

    lanes = {b.session_id: (b.lane, b.lanes) for b in result.blocks}
    assert lanes == {cancelled.pk: (1, 2), kept.pk: (2, 2), later.pk: (1, 1)}
    assert result.cancelled_hidden == 0
    struck = next(b for b in result.blocks if b.session_id == cancelled.pk)
    assert "is-cancelled" in struck.classes
    assert "lane-1 lanes-2" in struck.classes


def test_lanes_never_exceed_what_the_stylesheet_defines(kim: Practitioner, tuesday: date) -> None:
    stack = [
        hold(kim, seoul(tuesday, 10), status=SessionStatus.CANCELLED) for _ in range(MAX_LANES + 2)
    ]

    result = grid([column(tuesday)], stack, show_cancelled=True)

    assert {b.lanes for b in result.blocks} == {MAX_LANES}
    assert max(b.lane for b in result.blocks) == MAX_LANES


# --- Colours ------------------------------------------------------------------------------------


def test_each_treatment_keeps_its_colour_and_the_legend_names_each_once(
    kim: Practitioner, tuesday: date
) -> None:
    skinboosters = ProtocolTemplate.objects.get(treatment__slug="skinboosters", is_default=True)
    rejuran = [hold(kim, seoul(tuesday, 10)), hold(kim, seoul(tuesday, 12))]
    other = hold(kim, seoul(tuesday, 14))
    other.plan.template = skinboosters
    other.plan.save()
    sessions = list(Session.objects.select_related("plan__template__treatment", "plan__patient"))

    today = grid([column(tuesday)], sessions)
    next_week = grid([column(tuesday)], sessions[:1])

    colours = {b.session_id: b.colour for b in today.blocks}
    assert colours[rejuran[0].pk] == colours[rejuran[1].pk] == next_week.blocks[0].colour
    assert colours[rejuran[0].pk] == treatment_colour(rejuran[0].plan.template.treatment_id)
    assert colours[other.pk] == treatment_colour(skinboosters.treatment_id)
    assert colours[other.pk] != colours[rejuran[0].pk]  # consecutive ids
    assert [e.treatment for e in today.legend] == ["Rejuran Healer", "Skinboosters"]


def test_colours_cycle_through_the_palette_by_treatment_id() -> None:
    assert [treatment_colour(n) for n in range(1, 10)] == [2, 3, 4, 5, 6, 7, 8, 1, 2]


# --- The stylesheet -----------------------------------------------------------------------------


def test_the_stylesheet_defines_every_class_the_presenter_can_produce() -> None:
    stylesheet = (Path(settings.BASE_DIR) / "static" / "css" / "calendar.css").read_text()

    assert stylesheet == with_grid_css(stylesheet), "run: manage.py calendar_css"
    css = grid_css()
    for name in (f"row-start-{MAX_ROWS}", f"row-span-{MAX_ROWS}", f"col-{MAX_COLUMNS}"):
        assert f".{name} " in css
    assert f".cal-cols-{MAX_COLUMNS} " in css
    assert f".lanes-{MAX_LANES}.lane-{MAX_LANES} " in css
    assert ".tc-8 " in stylesheet
    assert (
        "style="
        not in (Path(settings.BASE_DIR) / "templates" / "scheduling" / "calendar.html").read_text()
    )


# --- The page: access ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get(reverse("staff:calendar"), {"view": "week"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_patients_cannot_open_the_calendar(client: Client, patient: Any) -> None:
    client.force_login(patient.user)

    assert client.get(reverse("staff:calendar")).status_code == 403
    assert client.get(reverse("staff:calendar"), {"view": "week"}).status_code == 403


@pytest.mark.parametrize("persona", ["staff_user", "clinic_admin"])
@pytest.mark.parametrize("view", ["day", "week"])
def test_staff_and_clinic_admins_open_the_calendar(
    client: Client, request: pytest.FixtureRequest, persona: str, view: str, kim: Practitioner
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("staff:calendar"), {"view": view})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")


# --- The page: what it shows ------------------------------------------------------------------


def test_the_day_view_draws_each_practitioners_sessions_as_blocks_that_open_the_panel(
    staff: Client, kim: Practitioner, park: Practitioner, tuesday: date
) -> None:
    session = hold(kim, seoul(tuesday, 10))
    hold(park, seoul(tuesday, 11), status=SessionStatus.CANCELLED)

    response = staff.get(reverse("staff:calendar"), {"day": tuesday.isoformat()})
    page = response.text

    assert session.plan.patient.full_name in page
    assert "Dr. Kim" in page
    assert "Dr. Park" in page
    assert page.count('class="cal-block ') == 1
    assert "1 cancelled session is not shown." in page
    assert 'id="panel"' in page
    assert "style=" not in page
    url = reverse("staff:session", args=[session.pk])
    assert f'href="{url}" hx-get="{url}" hx-target="#panel"' in page
    assert f"?day={(tuesday + timedelta(days=1)).isoformat()}" in page


def test_the_week_view_shows_one_practitioners_week(
    staff: Client, kim: Practitioner, park: Practitioner, tuesday: date
) -> None:
    kims = [hold(kim, seoul(tuesday + timedelta(days=n), 10)) for n in range(3)]
    parks = hold(park, seoul(tuesday, 12))

    response = staff.get(
        reverse("staff:calendar"),
        {"view": "week", "practitioner": kim.pk, "day": tuesday.isoformat()},
    )

    grid_ = response.context["grid"]
    assert len(grid_.columns) == 7
    assert {b.session_id for b in grid_.blocks} == {s.pk for s in kims}
    assert parks.plan.patient.full_name not in response.text
    assert response.context["query"].practitioner_id == kim.pk
    assert tuesday in response.context["query"].days


def test_the_week_starts_on_sunday_in_korean(
    staff: Client, kim: Practitioner, tuesday: date
) -> None:
    params = {"view": "week", "day": tuesday.isoformat()}

    english = staff.get(reverse("staff:calendar"), params).context["query"].days
    korean = (
        staff.get(reverse("staff:calendar"), params, HTTP_ACCEPT_LANGUAGE="ko")
        .context["query"]
        .days
    )

    assert english[0].weekday() == MONDAY
    assert korean[0].weekday() == SUNDAY


def test_the_week_of_a_room(staff: Client, kim: Practitioner, tuesday: date) -> None:
    room = RoomFactory(name="Room B")
    inside = hold(kim, seoul(tuesday, 10), room=room)
    hold(kim, seoul(tuesday, 12))

    response = staff.get(
        reverse("staff:calendar"), {"view": "week", "room": room.pk, "day": tuesday.isoformat()}
    )

    assert response.context["query"].by == "room"
    assert [b.session_id for b in response.context["grid"].blocks] == [inside.pk]


def test_the_day_by_room(staff: Client, kim: Practitioner, tuesday: date) -> None:
    room = RoomFactory(name="Room B")
    hold(kim, seoul(tuesday, 10), room=room)

    response = staff.get(reverse("staff:calendar"), {"by": "room", "day": tuesday.isoformat()})

    assert [c.title for c in response.context["grid"].columns] == ["Room B"]
    assert response.context["notices"] == []


def test_navigation_moves_by_a_day_or_a_week_and_keeps_the_choices(
    staff: Client, kim: Practitioner, tuesday: date
) -> None:
    week = staff.get(
        reverse("staff:calendar"),
        {"view": "week", "practitioner": kim.pk, "day": tuesday.isoformat(), "cancelled": "1"},
    ).context["urls"]
    day = staff.get(reverse("staff:calendar"), {"day": tuesday.isoformat()}).context["urls"]

    next_week = (tuesday + timedelta(days=7)).isoformat()
    assert week["next"].endswith(
        f"?day={next_week}&view=week&by=practitioner&practitioner={kim.pk}&cancelled=1"
    )
    assert day["previous"].endswith(
        f"?day={(tuesday - timedelta(days=1)).isoformat()}&view=day&by=practitioner"
    )
    assert "view=week" in day["week_view"]
    assert "by=room" in day["by_room"]
    assert "cancelled=1" in day["cancelled"]


def test_htmx_navigation_gets_only_the_grid(
    staff: Client, kim: Practitioner, tuesday: date
) -> None:
    hold(kim, seoul(tuesday, 10))

    response = staff.get(
        reverse("staff:calendar"), {"day": tuesday.isoformat()}, HTTP_HX_REQUEST="true"
    )
    restore = staff.get(
        reverse("staff:calendar"),
        {"day": tuesday.isoformat()},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    assert response.text.lstrip().startswith('<div id="calendar"')
    assert "<html" not in response.text
    title = f"<title>Calendar · {tuesday:%a} {tuesday.day} {tuesday:%b %Y} · "
    assert title in response.text  # htmx updates the tab's title from it
    assert title in restore.text
    assert 'id="panel"' not in response.text  # the open panel stays as it is
    assert "HX-Request" in response["Vary"]
    assert "<html" in restore.text


# --- The page: bad query strings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"day": "someday"}, "“someday” is not a date: showing today."),
        ({"day": "2026-02-30"}, "“2026-02-30” is not a date: showing today."),
        ({"day": "0001-01-01"}, "“0001-01-01” is out of range: showing today."),
        ({"view": "month"}, "There is no “month” view: showing one day."),
        ({"by": "floor"}, "Columns are by practitioner or by room, not “floor”."),
        (
            {"view": "week", "practitioner": "99999"},
            "There is no practitioner “99999”: showing Dr. Kim.",
        ),
        (
            {"view": "week", "practitioner": "abc"},
            "There is no practitioner “abc”: showing Dr. Kim.",
        ),
        ({"view": "week", "practitioner": "9" * 5000}, "showing Dr. Kim."),
        ({"view": "week", "by": "room"}, "No rooms are set up yet: showing practitioners."),
    ],
)
def test_a_value_that_cannot_be_used_falls_back_with_a_notice(
    staff: Client, kim: Practitioner, params: dict[str, str], notice: str
) -> None:
    response = staff.get(reverse("staff:calendar"), params)

    assert response.status_code == 200
    assert any(n.endswith(notice) for n in response.context["notices"])
    assert notice.replace("“", "&ldquo;")[:20] in response.text or notice[:20] in response.text
    if "day" in params:
        assert response.context["day"] == local_today()
    if params.get("view") == "week":
        assert response.context["query"].practitioner_id == kim.pk


def test_an_unknown_room_shows_the_first_room_in_use(staff: Client, kim: Practitioner) -> None:
    RoomFactory(name="Closed room", is_active=False)
    room = RoomFactory(name="Room C")

    response = staff.get(reverse("staff:calendar"), {"view": "week", "room": "404"})

    assert response.context["query"].room_id == room.pk
    assert response.context["notices"] == ["There is no room “404”: showing Room C."]


def test_a_clinic_without_practitioners_says_so(staff: Client) -> None:
    Practitioner.objects.all().delete()

    day = staff.get(reverse("staff:calendar"))
    week = staff.get(reverse("staff:calendar"), {"view": "week", "practitioner": "1"})

    assert "No practitioners are taking bookings." in day.text
    assert week.status_code == 200
    assert "No practitioners are taking bookings." in week.text


def test_the_grid_follows_opening_hours_changed_by_the_clinic(
    staff: Client, kim: Practitioner, tuesday: date
) -> None:
    OpeningHours.objects.filter(weekday=TUESDAY).update(opens_at=time(9), closes_at=time(21))

    rows = staff.get(reverse("staff:calendar"), {"day": tuesday.isoformat()}).context["grid"].rows

    assert (rows[0].starts, rows[-1].starts) == (time(9), time(20, 45))


# --- Queries ------------------------------------------------------------------------------------


def fill(practitioners: list[Practitioner], days: list[date], count: int) -> None:
    """``count`` 15-minute sessions over the days and practitioners, none overlapping."""
    slots = [(p, d, n) for n in range(40) for d in days for p in practitioners]
    for practitioner, day, n in slots[:count]:
        hold(practitioner, seoul(day, 9) + timedelta(minutes=15 * n), minutes=15)


@pytest.mark.parametrize("sessions", [10, 200])
def test_the_day_view_takes_the_same_queries_however_busy_the_day(
    staff: Client, tuesday: date, sessions: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    practitioners = [PractitionerFactory() for _ in range(6)]
    WorkingHours.objects.create(
        practitioner=practitioners[0], weekday=TUESDAY, start_time=time(13), end_time=time(19)
    )
    Leave.objects.create(practitioner=practitioners[1], starts_on=tuesday, ends_on=tuesday)
    fill(practitioners, [tuesday], sessions)

    # session, user with roles; practitioners, rooms; sessions, opening hours,
    # closures, working hours, leave; the catalogue's protocols and milestones (kept in
    # production, where after a booking the day view takes 2 queries)
    with django_assert_num_queries(8):
        response = staff.get(reverse("staff:calendar"), {"day": tuesday.isoformat()})

    assert len(response.context["grid"].blocks) == sessions


@pytest.mark.parametrize("sessions", [10, 200])
def test_the_week_view_takes_the_same_queries_however_busy_the_week(
    staff: Client,
    kim: Practitioner,
    tuesday: date,
    sessions: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    days = week_days(tuesday, MONDAY)
    WorkingHours.objects.create(
        practitioner=kim, weekday=TUESDAY, start_time=time(13), end_time=time(19)
    )
    Leave.objects.create(practitioner=kim, starts_on=days[3], ends_on=days[3])
    fill([kim], days, sessions)

    with django_assert_num_queries(8):  # as the day view
        response = staff.get(
            reverse("staff:calendar"),
            {"view": "week", "practitioner": kim.pk, "day": tuesday.isoformat()},
        )

    assert len(response.context["grid"].blocks) == sessions


def test_the_room_views_take_no_more_queries(
    staff: Client, kim: Practitioner, tuesday: date, django_assert_num_queries: Callable[..., Any]
) -> None:
    rooms = [RoomFactory() for _ in range(3)]
    for n, room in enumerate(rooms):
        SessionFactory(
            plan=hold(kim, seoul(tuesday, 10 + n)).plan,
            sequence=2,
            starts_at=seoul(tuesday + timedelta(days=1), 10 + n),
            ends_at=seoul(tuesday + timedelta(days=1), 10 + n, 45),
            room=room,
        )

    for params in ({"by": "room"}, {"view": "week", "room": rooms[0].pk}):
        with django_assert_num_queries(8):  # as the day view
            staff.get(reverse("staff:calendar"), {**params, "day": tuesday.isoformat()})
