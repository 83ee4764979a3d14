"""In a real browser, with a real Celery worker: a receptionist on their first day records a new
patient, asks for a suggestion, books a 4-session Rejuran Healer course, waits for the worker,
finds the four sessions 21–28 days apart on the patient's timeline, then reads the same page
in Korean. Every page visited is also saved as screenshots (see tests/browser/screens.py)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from clinic.roles import Role
from patients.models import Patient
from scheduling.models import PlanStatus, SessionStatus, TreatmentPlan
from scheduling.selectors import clinic_tz
from tests.browser.screens import capture, capture_as_shown
from tests.factories import PractitionerFactory, UserFactory
from tests.worker import WorkerProcess, running_worker, worker_database_url
from treatments.models import Treatment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalogue")]


@pytest.fixture
def worker(live_server: LiveServer) -> Iterator[WorkerProcess]:
    """The scheduling worker, on the test database and the test run's broker folder."""
    with running_worker(env={"DATABASE_URL": worker_database_url()}) as process:
        yield process


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()


def test_a_new_receptionist_books_a_rejuran_course_from_a_new_patient(
    live_server: LiveServer, page: Page, worker: WorkerProcess
) -> None:
    base = live_server.url
    reception = UserFactory(username="yuna", first_name="Yu-na", last_name="Han")
    reception.groups.add(Group.objects.get(name=Role.STAFF.value))
    kim = PractitionerFactory(display_name="Dr. Kim Seo-yeon")
    kim.treatments.set(Treatment.objects.all())
    page.set_viewport_size({"width": 1280, "height": 900})

    # Logging in lands on Today.
    log_in(page, base, "yuna")
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    capture(page, base, "today")

    # A new patient with two concerns.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    capture(page, base, "patients")
    page.get_by_role("button", name="New patient").click()
    capture(page, base, "patient-form")
    page.get_by_label("Family name").fill("Lee")
    page.get_by_label("Given name").fill("Ji-woo")
    page.get_by_label("Date of birth").fill("1991-05-14")
    page.get_by_label("Phone", exact=True).fill("010-2345-6789")
    page.get_by_label("Email", exact=True).fill("jiwoo.lee@example.com")
    page.locator("#id_concerns-0-concern").select_option(label="Acne scars")
    page.locator("#id_concerns-0-area").select_option(label="Cheeks")
    page.locator("#id_concerns-1-concern").select_option(label="Redness and sensitivity")
    page.locator("#id_concerns-1-area").select_option(label="Cheeks")
    page.locator("#id_concerns-1-severity").select_option(label="Severe")
    page.get_by_role("button", name="Add patient").click()

    expect(page.get_by_text("Added Lee Ji-woo.")).to_be_visible()
    patient = Patient.objects.get(family_name="Lee", given_name="Ji-woo")
    assert patient.concerns.count() == 2
    patient_url = f"{base}/staff/patients/{patient.pk}/"
    assert page.url == patient_url

    # The suggestion puts Rejuran Healer first, with the reason in words.
    page.get_by_role("button", name="Suggest a treatment").click()
    first = page.locator("article.suggestion, .suggestion").first
    expect(first).to_contain_text("Rejuran Healer")
    expect(first).to_contain_text("Acne scars")
    capture(page, base, "suggest")

    # Book this: the form comes filled in; four sessions instead of the usual three.
    first.get_by_role("button", name=re.compile("^Book this")).click()
    expect(page.get_by_role("heading", name="Book a course for Lee Ji-woo")).to_be_visible()
    expect(page.locator(".proposal li")).to_have_count(3)
    capture(page, base, "book")
    page.get_by_label("Number of sessions").fill("4")
    page.get_by_label("Number of sessions").press("Tab")
    expect(page.locator(".proposal li")).to_have_count(4)
    page.get_by_role("button", name="Book the course").click()

    # The worker places the sessions; the page follows it and lands on the patient.
    page.wait_for_url(patient_url, timeout=60_000)
    expect(page.get_by_text(re.compile(r"Booked 4 sessions for Lee Ji-woo"))).to_be_visible()
    plan = TreatmentPlan.objects.get(patient=patient)
    assert plan.status == PlanStatus.ACTIVE, worker.log
    days = [
        s.starts_at.astimezone(clinic_tz()).date()
        for s in plan.sessions.filter(status=SessionStatus.PLANNED).order_by("sequence")
    ]
    assert len(days) == 4
    assert all(21 <= (b - a).days <= 28 for a, b in itertools.pairwise(days))

    # The timeline shows the four planned sessions and the window before each later one.
    timeline = page.locator("svg.tl-svg").first
    expect(timeline.locator(".tl-session")).to_have_count(4)
    expect(timeline.locator(".tl-windows rect")).to_have_count(3)
    capture(page, base, "patient")

    # The history of changes is loaded when opened: who added the patient and booked.
    history = page.locator("details.history-panel")
    expect(history.locator(".history-entry")).to_have_count(0)
    history.get_by_text("Show the latest changes").click()
    expect(history.locator(".history-entry").first).to_be_visible()
    expect(history.locator(".history-entry").filter(has_text="Patient record")).to_contain_text(
        "Yu-na Han"
    )
    expect(history.locator(".history-body")).to_contain_text("Rejuran Healer")
    capture_as_shown(page, "patient-history-open", "en")
    page.goto(f"{patient_url}history/")
    expect(page.get_by_role("heading", name="History of Lee Ji-woo's record")).to_be_visible()
    capture(page, base, "patient-history")
    page.goto(patient_url)
    first_day = days[0].isoformat()
    page.goto(f"{base}/staff/calendar/?day={first_day}")
    expect(page.get_by_text("Lee Ji-woo")).to_be_visible()
    capture(page, base, "calendar")
    page.goto(f"{base}/staff/maintenance/")
    capture(page, base, "maintenance")

    # The patient's page in Korean.
    page.goto(patient_url)
    page.locator("#language-select").select_option("ko")
    page.wait_for_url(patient_url)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("button", name="코스 예약")).to_be_visible()
    expect(page.get_by_role("heading", name="시술 코스")).to_be_visible()
    expect(timeline.locator(".tl-session")).to_have_count(4)
