"""The pages the security rules add, as people see them: the login page once guessing is
locked out, and a patient's access log for a clinic admin. Screenshots in four variants."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from clinic.roles import Role
from tests.browser.screens import capture
from tests.factories import PatientFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalogue")]


def _log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.answers_with(429)
def test_five_wrong_passwords_lock_the_login(live_server: LiveServer, page: Page) -> None:
    UserFactory(username="reception")
    for _ in range(5):
        _log_in(page, live_server.url, "reception", "wrong-guess")

    _log_in(page, live_server.url, "reception", "correct-horse-battery")

    expect(page.get_by_role("alert")).to_contain_text("30 minutes")
    capture(page, live_server.url, "login-locked-out")


def test_a_clinic_admin_reads_who_saw_a_record(live_server: LiveServer, page: Page) -> None:
    admin = UserFactory(username="clinicadmin", first_name="Mina", last_name="Park")
    admin.groups.add(Group.objects.get(name=Role.CLINIC_ADMIN.value))
    patient = PatientFactory(family_name="Kim", given_name="Jiwoo")
    _log_in(page, live_server.url, "clinicadmin", "correct-horse-battery")

    page.goto(f"{live_server.url}/staff/patients/{patient.pk}/")  # this look is logged
    page.goto(f"{live_server.url}/staff/patients/{patient.pk}/access/")

    expect(page.locator("table tbody tr")).to_have_count(1)
    capture(page, live_server.url, "patient-access-log")
