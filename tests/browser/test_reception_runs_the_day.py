"""In a real browser: a receptionist runs the day — moves session 2 of a 4-session course from
the calendar and sees sessions 3 and 4 follow inside their windows, tries a move that breaks a
window and is told why with nothing changed, completes a session with reactions and finds them
on the patient's page, and books a maintenance session from the due list."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from clinic.roles import Role
from scheduling.models import PlanStatus, Practitioner, SessionKind, SessionStatus, TreatmentPlan
from scheduling.selectors import clinic_tz
from tests.browser.screens import capture
from tests.factories import PatientFactory, UserFactory
from tests.helpers import book_and_schedule, hold, sessions_of
from tests.timeutil import WEDNESDAY, local_today, seoul, upcoming
from treatments.models import ProtocolTemplate, Treatment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalogue")]


@pytest.fixture
def reception(live_server: LiveServer, page: Page) -> str:
    user = UserFactory(username="yuna", first_name="Yu-na", last_name="Han")
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("yuna")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    return live_server.url


@pytest.fixture
def kim(db: None) -> Practitioner:
    from tests.factories import PractitionerFactory

    practitioner = PractitionerFactory(display_name="Dr. Kim Seo-yeon")
    practitioner.treatments.set(Treatment.objects.all())
    return practitioner


@pytest.fixture
def course(kim: Practitioner) -> TreatmentPlan:
    rejuran = ProtocolTemplate.objects.get(treatment__slug="rejuran-healer", is_default=True)
    patient = PatientFactory(user=None, family_name="Lee", given_name="Ji-woo")
    booked_by = UserFactory(username="booker")
    tuesday = local_today() + timedelta(days=14 + (1 - local_today().weekday()) % 7)
    return book_and_schedule(patient, rejuran, kim, seoul(tuesday, 10), booked_by, session_count=4)


def days_of(plan: TreatmentPlan) -> list[date]:
    return [
        s.starts_at.astimezone(clinic_tz()).date()
        for s in sessions_of(plan).values()
        if s.status != SessionStatus.CANCELLED
    ]


def settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has swapped and settled the answer."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def panel_click(page: Page, name: str) -> None:
    """Press a button in the session panel and wait for the panel that answers."""
    with page.expect_response(lambda r: "/staff/sessions/" in r.url):
        page.locator("#panel").get_by_role("button", name=name).click()
    settled(page)


def open_panel(page: Page, base: str, plan: TreatmentPlan, sequence: int) -> None:
    session = sessions_of(plan)[sequence]
    day = session.starts_at.astimezone(clinic_tz()).date()
    page.goto(f"{base}/staff/calendar/?view=week&practitioner={session.practitioner_id}&day={day}")
    page.locator(f'a.cal-block[href="/staff/sessions/{session.pk}/"]').click()
    expect(page.locator("#panel .session-panel")).to_be_visible()
    settled(page)


def test_moving_session_two_from_the_calendar_moves_three_and_four_inside_their_windows(
    reception: str, page: Page, course: TreatmentPlan
) -> None:
    base = reception
    before = days_of(course)
    new_day = before[0] + timedelta(days=21)  # a week earlier than planned

    open_panel(page, base, course, 2)
    capture_panel = page.locator("#panel")
    expect(capture_panel).to_contain_text("2 of 4")
    page.locator("#panel summary", has_text="Move").click()
    page.locator("#panel input[name=move-day]").fill(new_day.isoformat())
    panel_click(page, "Show free times")
    page.locator("#panel select[name=move-time]").select_option("10:00")
    panel_click(page, "Preview the move")
    expect(page.locator("#panel")).to_contain_text("What would move")
    capture(page, base, "calendar-week-move-preview")
    # capture() reloads the page: open the panel again for the real move.
    open_panel(page, base, course, 2)
    page.locator("#panel summary", has_text="Move").click()
    page.locator("#panel input[name=move-day]").fill(new_day.isoformat())
    panel_click(page, "Show free times")
    page.locator("#panel select[name=move-time]").select_option("10:00")
    panel_click(page, "Preview the move")
    panel_click(page, "Confirm the move")

    expect(page.locator("#panel")).to_contain_text("Moved to")
    after = days_of(course)
    assert after[1] == new_day
    assert after[2] != before[2]  # 35 days after the new session 2 would break its window
    assert all(21 <= (b - a).days <= 28 for a, b in itertools.pairwise(after))


def test_a_move_that_breaks_a_window_is_refused_with_the_reason_and_nothing_changes(
    reception: str, page: Page, course: TreatmentPlan
) -> None:
    base = reception
    before = days_of(course)
    too_late = before[1] + timedelta(days=35)

    open_panel(page, base, course, 3)
    page.locator("#panel summary", has_text="Move").click()
    page.locator("#panel input[name=move-day]").fill(too_late.isoformat())
    panel_click(page, "Show free times")
    page.locator("#panel select[name=move-time]").select_option("10:00")
    panel_click(page, "Preview the move")

    expect(page.locator("#panel [role=alert]")).to_contain_text(
        "it must be 21–28 days after session 2"
    )
    expect(page.locator("#panel")).to_contain_text("Nothing was changed.")
    capture(page, base, "session-panel-refusal")
    assert days_of(course) == before


def test_completing_a_session_with_reactions_shows_them_on_the_patients_page(
    reception: str, page: Page, kim: Practitioner
) -> None:
    base = reception
    # Started a little while ago, yet still today on the clinic's calendar (Today lists today's
    # sessions only, and just after midnight "50 minutes ago" is yesterday).
    session = hold(kim, max(timezone.now() - timedelta(minutes=50), seoul(local_today(), 0)))
    patient = session.plan.patient

    page.goto(f"{base}/staff/")
    page.get_by_role("link", name=patient.full_name).click()
    expect(page.locator("#panel .session-panel")).to_be_visible()
    settled(page)
    panel = page.locator("#panel")
    expect(panel.locator(".session-panel")).to_be_visible()
    panel.locator("summary", has_text="Complete").click()
    panel.get_by_label("Swelling").check()
    panel.get_by_label("Redness").check()
    panel.get_by_label("Notes").fill("Mild, settled before leaving.")
    panel_click(page, "Session completed")
    expect(panel).to_contain_text("Session completed.")
    capture(page, base, "today")

    page.goto(f"{base}/staff/patients/{patient.pk}/")
    expect(
        page.locator(".reaction-notes", has_text="Mild, settled before leaving.")
    ).to_be_visible()
    expect(page.locator("body")).to_contain_text("Swelling")
    session.refresh_from_db()
    assert session.reactions == ["swelling", "redness"]


def test_todays_side_panels_load_beside_the_day_and_follow_a_change_made_there(
    reception: str, page: Page, kim: Practitioner
) -> None:
    base = reception
    # Under way (arrival can be marked until it ends), yet today on the clinic's calendar.
    session = hold(kim, max(timezone.now() - timedelta(minutes=20), seoul(local_today(), 0)))

    page.goto(f"{base}/staff/")
    side = page.locator(".today-side-panels")
    expect(side.get_by_role("heading", name="Next free times")).to_be_visible()
    expect(side).to_contain_text("Dr. Kim Seo-yeon")
    expect(side.locator("section", has_text="Maintenance due")).to_contain_text("Nobody.")

    # Meanwhile a course comes due; the receptionist marks an arrival on Today.
    due = hold(
        kim, seoul(local_today() - timedelta(days=180), 11), status=SessionStatus.COMPLETED
    ).plan
    due.status = PlanStatus.MAINTENANCE
    due.maintenance_due_on = local_today() + timedelta(days=5)
    due.save()
    settled(page)
    with page.expect_response(lambda r: "/staff/today/side/" in r.url):
        page.get_by_role(
            "button", name=re.compile(f"^Arrived.*{re.escape(session.plan.patient.full_name)}")
        ).click()

    expect(side.locator("section", has_text="Maintenance due")).to_contain_text(
        due.patient.full_name
    )
    expect(page.locator(".agenda-item.arrived")).to_have_count(1)

    # Without JavaScript the placeholder's link opens them as a page of their own.
    page.goto(f"{base}/staff/today/side/")
    expect(page.get_by_role("heading", name="Free times and follow-ups")).to_be_visible()
    expect(page.locator("main")).to_contain_text(due.patient.full_name)
    capture(page, base, "today-side")


def test_booking_a_maintenance_session_from_the_due_list(
    reception: str, page: Page, kim: Practitioner
) -> None:
    base = reception
    plan = hold(
        kim, seoul(local_today() - timedelta(days=180), 11), status=SessionStatus.COMPLETED
    ).plan
    plan.status = PlanStatus.MAINTENANCE
    plan.maintenance_due_on = upcoming(WEDNESDAY, weeks_ahead=1)  # an open day within 30 days
    plan.save()

    page.goto(f"{base}/staff/maintenance/")
    capture(page, base, "maintenance-due")
    page.get_by_role(
        "button", name=re.compile(f"^Book .*{re.escape(plan.patient.full_name)}")
    ).click()

    expect(page.get_by_text(re.compile("Booked the maintenance session"))).to_be_visible()
    booked = plan.sessions.get(kind=SessionKind.MAINTENANCE)
    assert booked.status == SessionStatus.PLANNED
    assert (
        abs((booked.starts_at.astimezone(clinic_tz()).date() - plan.maintenance_due_on).days) <= 3
    )
