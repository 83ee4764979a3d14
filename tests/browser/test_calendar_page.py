"""In a real browser: a receptionist opens the calendar on a busy Tuesday (three practitioners,
one on leave in the afternoon, one working afternoons only), opens a session's panel from its
block, switches to the week (a closure on Thursday, Sunday closed) and to rooms, and moves a
week on, with and without htmx doing the swaps. Each view is saved as screenshots (desktop and
phone, English and Korean; see tests/browser/screens.py)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from clinic.roles import Role
from scheduling.models import (
    Closure,
    Leave,
    PlanStatus,
    Practitioner,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    WorkingHours,
)
from tests.browser.screens import FOLDER, capture
from tests.factories import (
    PatientFactory,
    PractitionerFactory,
    SessionFactory,
    TreatmentPlanFactory,
    UserFactory,
)
from tests.timeutil import seoul, upcoming
from treatments.models import ProtocolTemplate, Treatment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalogue")]

BLOCK = "a.cal-block, div.cal-block"


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()


def book(
    practitioner: Practitioner,
    patient: str,
    day: date,
    at: str,
    *,
    treatment: str = "rejuran-healer",
    number: int = 1,
    of: int = 4,
    status: str = SessionStatus.PLANNED,
    kind: str = SessionKind.INITIAL,
    room: Room | None = None,
) -> Session:
    family, given = patient.split(" ", 1)
    template = ProtocolTemplate.objects.select_related("treatment").get(
        treatment__slug=treatment, is_default=True
    )
    hour, minute = (int(part) for part in at.split(":"))
    start = seoul(day, hour, minute)
    plan = TreatmentPlanFactory(
        patient=PatientFactory(user=None, family_name=family, given_name=given),
        practitioner=practitioner,
        template=template,
        session_count=of,
        status=PlanStatus.ACTIVE,
        first_session_at=start,
    )
    return SessionFactory(
        plan=plan,
        sequence=number,
        kind=kind,
        starts_at=start,
        ends_at=start + timedelta(minutes=template.treatment.session_minutes),
        status=status,
        room=room,
    )


def test_a_receptionist_reads_the_day_and_the_week_on_the_calendar(
    live_server: LiveServer, page: Page
) -> None:
    base = live_server.url
    reception = UserFactory(username="yuna", first_name="Yu-na", last_name="Han")
    reception.groups.add(Group.objects.get(name=Role.STAFF.value))
    kim = PractitionerFactory(display_name="Dr. Kim Seo-yeon")
    park = PractitionerFactory(display_name="Dr. Park Ji-hoon")
    choi = PractitionerFactory(display_name="Dr. Choi Min-ji", title="Nurse practitioner")
    for practitioner in (kim, park, choi):
        practitioner.treatments.set(Treatment.objects.all())
    one, two = Room.objects.create(name="Room 1"), Room.objects.create(name="Room 2")
    tuesday = upcoming(1)
    Leave.objects.create(
        practitioner=park,
        starts_on=tuesday,
        ends_on=tuesday,
        start_time=time(14),
        end_time=time(17),
        reason="Conference",
    )
    WorkingHours.objects.create(
        practitioner=choi, weekday=1, start_time=time(13), end_time=time(19)
    )
    Closure.objects.create(
        starts_on=tuesday + timedelta(days=2),
        ends_on=tuesday + timedelta(days=2),
        reason="Staff training",
    )
    book(kim, "Lee Ji-woo", tuesday, "10:00", number=2, room=one)
    book(
        kim,
        "Jung Ha-eun",
        tuesday,
        "11:00",
        treatment="skinboosters",
        number=1,
        of=3,
        status=SessionStatus.COMPLETED,
        room=one,
    )
    book(
        kim,
        "Kang Min-seo",
        tuesday,
        "13:00",
        treatment="prp",
        number=3,
        of=3,
        status=SessionStatus.NO_SHOW,
        room=two,
    )
    book(kim, "Yoon Seo-ah", tuesday, "15:00", number=5, kind=SessionKind.MAINTENANCE, room=one)
    book(kim, "Han Da-eun", tuesday, "10:00", number=1, status=SessionStatus.CANCELLED)
    book(park, "Oh Ji-min", tuesday, "10:30", number=3, room=two)
    book(park, "Seo Yu-jin", tuesday, "12:00", treatment="skinboosters", number=2, of=3)
    book(choi, "Lim Soo-ah", tuesday, "13:30", treatment="prp", number=1, of=3, room=one)
    book(choi, "Shin Ye-rin", tuesday, "15:00", number=4, room=two)
    for offset, at in ((1, "10:00"), (1, "14:00"), (3, "11:00"), (4, "11:30"), (7, "10:00")):
        book(kim, "Baek Na-ra", tuesday + timedelta(days=offset), at, number=2)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base, "yuna")

    # The day: a column per practitioner, the blocks in them, greyed leave and off hours.
    page.goto(f"{base}/staff/calendar/?day={tuesday.isoformat()}")
    expect(page.locator(".cal-head")).to_have_count(3)
    expect(page.locator(BLOCK)).to_have_count(8)  # the cancelled one is left out
    expect(page.get_by_text("1 cancelled session is not shown.")).to_be_visible()
    expect(page.locator(".cal-shade.cal-leave")).to_contain_text("On leave: Conference")
    expect(page.locator(".cal-shade.cal-off")).to_contain_text("Not working")
    first = page.locator(BLOCK).filter(has_text="Lee Ji-woo")
    expect(first).to_contain_text("2/4")
    expect(first).to_contain_text("Rejuran Healer")
    expect(page.locator(BLOCK).filter(has_text="Yoon Seo-ah")).to_contain_text("Maintenance")
    expect(page.locator(BLOCK).filter(has_text="Kang Min-seo")).to_contain_text("No-show")
    assert_blocks_do_not_overlap(page)
    capture(page, base, "calendar-day")

    # A block opens the session's panel beside the grid; on a phone the panel sits below the
    # grid and is scrolled into view. (Screenshots here keep the caret: hiding it leaves a style
    # attribute on each input, which htmx copies on the next swap and the CSP then refuses.)
    page.evaluate("window.scrollTo(0, 300)")
    before = page.evaluate("window.scrollY")
    first.click()
    expect(page.locator("#panel")).to_contain_text("Lee Ji-woo")
    assert abs(page.evaluate("window.scrollY") - before) < 50  # the grid stays where it was
    assert 0 <= panel_top(page) < 900
    page.screenshot(
        path=str(FOLDER / "calendar-day-panel-desktop-en.png"), full_page=True, caret="initial"
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator(BLOCK).filter(has_text="Lee Ji-woo").click()
    expect(page.locator("#panel")).to_contain_text("Lee Ji-woo")
    page.wait_for_timeout(300)  # the scroll follows the swap
    assert 0 <= panel_top(page) < 844
    page.screenshot(
        path=str(FOLDER / "calendar-day-panel-phone-en.png"), full_page=True, caret="initial"
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()

    # Cancelled sessions on request: struck through, beside the session that took their place.
    page.get_by_role("link", name="Show cancelled sessions").click()
    expect(page.locator(BLOCK)).to_have_count(9)
    expect(page.locator(".cal-block.is-cancelled")).to_contain_text("Han Da-eun")
    assert_blocks_do_not_overlap(page)
    page.screenshot(
        path=str(FOLDER / "calendar-day-cancelled-desktop-en.png"), full_page=True, caret="initial"
    )
    page.get_by_role("link", name="Hide cancelled sessions").click()
    expect(page.locator(BLOCK)).to_have_count(8)

    # When the session panel changes a session, the grid redraws itself.
    Session.objects.filter(plan__patient__given_name="Ha-eun").update(
        status=SessionStatus.CANCELLED
    )
    # The swapped-in grid listens once htmx has settled it.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.evaluate("document.body.dispatchEvent(new Event('sessions-changed'))")
    expect(page.locator(BLOCK)).to_have_count(7)

    # The week, with htmx: only the grid is swapped and the address follows.
    page.locator(".cal-head a").filter(has_text="Dr. Kim Seo-yeon").click()
    expect(page).to_have_url(re.compile(r"view=week"))
    expect(page.locator(".cal-head")).to_have_count(7)
    expect(
        page.locator(".cal-shade.cal-closed").filter(has_text="Closed: Staff training")
    ).to_have_count(1)
    expect(page.locator(BLOCK)).to_have_count(7)  # Kim's week: 3 left on Tuesday, 4 other days
    assert_blocks_do_not_overlap(page)
    capture(page, base, "calendar-week")

    # Another practitioner's week from the picker, then the next week.
    page.get_by_label("Practitioner").select_option(label="Dr. Park Ji-hoon")
    expect(page).to_have_url(re.compile(rf"practitioner={park.pk}"))
    expect(page.locator(BLOCK)).to_have_count(2)
    page.get_by_role("button", name="Next week").click()
    expect(page).to_have_url(re.compile((tuesday + timedelta(days=7)).isoformat()))
    expect(page.locator(BLOCK)).to_have_count(0)
    page.go_back()
    expect(page.locator(BLOCK)).to_have_count(2)

    # The day by room: sessions without a room get a column of their own.
    page.goto(f"{base}/staff/calendar/?day={tuesday.isoformat()}&by=room")
    expect(page.locator(".cal-head")).to_have_count(3)
    expect(page.locator(".cal-head").last).to_contain_text("No room")
    assert_blocks_do_not_overlap(page)
    capture(page, base, "calendar-rooms")

    # A phone: the grid scrolls sideways inside its box and the times stay in view.
    page.set_viewport_size({"width": 390, "height": 844})
    scroller = page.locator(".cal-scroll")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    scroller.evaluate("box => box.scrollLeft = 400")
    time_label = page.locator(".cal-time").first.bounding_box()
    assert time_label is not None
    assert 0 <= time_label["x"] < 30


def panel_top(page: Page) -> float:
    box = page.locator("#panel").bounding_box()
    assert box is not None
    return box["y"]


def assert_blocks_do_not_overlap(page: Page) -> None:
    boxes = [box for box in (b.bounding_box() for b in page.locator(BLOCK).all()) if box]
    for n, a in enumerate(boxes):
        assert a["height"] >= 20
        for b in boxes[n + 1 :]:
            apart = (
                a["x"] + a["width"] <= b["x"] + 0.5
                or b["x"] + b["width"] <= a["x"] + 0.5
                or a["y"] + a["height"] <= b["y"] + 0.5
                or b["y"] + b["height"] <= a["y"] + 0.5
            )
            assert apart, (a, b)
