"""In a real browser, on a 390 px phone: a patient the clinic has just given a login chooses a
password from the link in their email, finds their schedule and the course's timeline, asks to
move their next session, makes a calendar address, and switches to Korean; then a receptionist
accepts the move, and the patient's schedule and calendar feed change (the event's SEQUENCE
grows). Screenshots of each page in English and Korean (see tests/browser/screens.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from icalendar import Calendar
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from clinic.roles import Role
from patients.models import ReminderChannel
from scheduling.models import RequestStatus, SessionRequest
from scheduling.outbox import patient_messages_dispatch_due
from scheduling.services import session_complete
from tests.browser.screens import VIEWPORTS, capture_as_shown, set_language
from tests.factories import PatientFactory, PractitionerFactory, UserFactory
from tests.helpers import book_and_schedule
from tests.timeutil import seoul, upcoming
from treatments.models import ProtocolTemplate, Treatment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalogue")]

LINK = re.compile(r"https?://\S+/p/[\w-]+/[\w-]+/")
PASSWORD = "glow-after-two-sessions"


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def fits_the_phone(page: Page) -> bool:
    """Nothing on the page is wider than the 390 px screen (no sideways scrolling)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= 390"))


def sequences(page: Page, url: str) -> dict[str, int]:
    response = page.request.get(url)
    assert response.ok
    calendar = Calendar.from_ical(response.body())
    return {str(e["UID"]): int(e["SEQUENCE"]) for e in calendar.walk("VEVENT")}


def test_a_patient_moves_a_session_from_their_phone_and_the_clinic_accepts(
    live_server: LiveServer, page: Page, mailoutbox: list[Any], settings: Any
) -> None:
    base = live_server.url
    settings.SITE_URL = base
    reception = UserFactory(username="yuna", first_name="Yu-na", last_name="Han")
    reception.groups.add(Group.objects.get(name=Role.STAFF.value))
    kim = PractitionerFactory(display_name="Dr. Kim Seo-yeon")
    kim.treatments.set(Treatment.objects.all())
    patient = PatientFactory(
        user=None,
        family_name="Clarke",
        given_name="Emma",
        email="emma.clarke@example.com",
        preferred_language="en",
        reminder_channel=ReminderChannel.EMAIL,
    )
    rejuran = ProtocolTemplate.objects.get(treatment__slug="rejuran-healer", is_default=True)
    first_day = upcoming(1, weeks_ahead=1)
    plan = book_and_schedule(
        patient,
        rejuran,
        kim,
        seoul(first_day - timedelta(days=28), 10),
        reception,
        now=seoul(first_day - timedelta(days=40), 9),
        session_count=4,
    )
    first = plan.sessions.get(sequence=1)
    session_complete(session=first, completed_by=reception, now=first.ends_at)

    # The receptionist gives Emma a portal login from her patient page.
    page.set_viewport_size(VIEWPORTS["desktop"])
    log_in(page, base, "yuna", "correct-horse-battery")
    page.goto(f"{base}/staff/patients/{patient.pk}/")
    page.get_by_role("button", name="Create a portal login").click()
    expect(page.get_by_text("has a portal login (emma.clarke@example.com)")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    # The worker sends the link; Emma opens it on her phone and chooses a password.
    assert patient_messages_dispatch_due().sent == 1
    [email] = mailoutbox
    link = LINK.search(email.body)
    assert link, email.body
    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    assert fits_the_phone(page)
    capture_as_shown(page, "portal-set-password", "en")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Save my password").click()

    # My schedule: the next session big at the top, the course as its timeline.
    page.wait_for_url(f"{base}/my/")
    top = page.locator(".next-session")
    expect(top).to_contain_text("session 2 of 4")
    expect(top).to_contain_text("How to get ready")
    expect(top).to_contain_text("Dr. Kim Seo-yeon")
    timeline = page.locator("svg.tl-svg")
    expect(timeline).to_have_count(1)
    expect(timeline.locator(".tl-session")).to_have_count(4)
    expect(page.get_by_text("Aftercare after your last session")).to_be_visible()
    box = timeline.bounding_box()
    assert box is not None
    assert box["width"] <= 390
    assert fits_the_phone(page)

    # A calendar address to subscribe to.
    page.get_by_role("button", name="Make my calendar address").click()
    feed_url = page.locator("#feed-url").input_value()
    before = sequences(page, feed_url)
    capture_as_shown(page, "portal-my-schedule", "en")

    # Ask to move session 2: the times offered keep the protocol.
    top.get_by_role("button", name="Move or cancel").click()
    expect(page.get_by_role("heading", name="Move or cancel a session")).to_be_visible()
    assert fits_the_phone(page)
    capture_as_shown(page, "portal-move", "en")
    choice = page.locator(".slot-choice").first
    choice.click()
    page.get_by_label("Note for the clinic (optional)").first.fill("A work trip that week.")
    page.get_by_role("button", name="Ask to move it").click()
    expect(page.get_by_text("We have asked the clinic to move your session")).to_be_visible()
    expect(page.locator(".my-requests")).to_contain_text("Waiting for the clinic")
    asked = SessionRequest.objects.get()
    assert asked.status == RequestStatus.OPEN

    # In Korean: the switch changes her preferred language.
    page.locator("#language-select").select_option("ko")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="내 일정")).to_be_visible()
    patient.refresh_from_db()
    assert patient.preferred_language == "ko"
    assert fits_the_phone(page)
    capture_as_shown(page, "portal-my-schedule", "ko")
    page.goto(f"{base}/my/sessions/{asked.session_id}/change/")
    capture_as_shown(page, "portal-move", "ko")
    page.get_by_role("button", name="로그아웃").click()

    # The receptionist accepts the move on Emma's page (the browser is theirs now: English).
    set_language(page, base, "en")
    page.set_viewport_size(VIEWPORTS["desktop"])
    log_in(page, base, "yuna", "correct-horse-battery")
    page.goto(f"{base}/staff/patients/{patient.pk}/")
    requests = page.locator(".patient-requests")
    expect(requests).to_contain_text("A work trip that week.")
    capture_as_shown(page, "staff-patient-request", "en")
    requests.get_by_role("button", name="Accept and move").click()
    expect(page.get_by_text("they are told")).to_be_visible()
    asked.refresh_from_db()
    second = asked.session
    second.refresh_from_db()
    assert asked.status == RequestStatus.ACCEPTED
    assert second.starts_at == asked.wanted_start
    page.get_by_role("button", name="Log out").click()

    # The phone's calendar sees the same event, changed (SEQUENCE grows).
    after = sequences(page, feed_url)
    uid = next(u for u in after if u.startswith(f"session-{second.pk}@"))
    assert set(after) == set(before)
    assert after[uid] > before[uid]

    # Emma sees the answer and the new time, in Korean, on her phone.
    page.set_viewport_size(VIEWPORTS["phone"])
    log_in(page, base, patient.user.username, PASSWORD)  # type: ignore[union-attr]
    page.wait_for_url(f"{base}/my/")
    expect(page.locator(".my-requests")).to_contain_text("수락됨")
    capture_as_shown(page, "portal-answered", "ko")
    patient_messages_dispatch_due()
    assert "시술 일정이 변경되었어요" in mailoutbox[-1].subject
