"""In a real browser: a clinic admin logs in and finds the seeded catalogue in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from clinic.roles import Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalogue")]


def test_clinic_admin_logs_in_and_edits_a_protocol(live_server: LiveServer, page: Page) -> None:
    admin = UserFactory(username="clinicadmin", is_staff=True)
    admin.groups.add(Group.objects.get(name=Role.CLINIC_ADMIN.value))

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("clinicadmin")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Treatments").click()

    expect(page.get_by_role("link", name="Rejuran Healer")).to_be_visible()
    page.get_by_role("link", name="Rejuran Healer").click()
    expect(page.locator("#id_core_ingredient")).to_have_value("Polynucleotides (PN, salmon DNA)")

    page.locator("#id_protocols-0-initial_sessions_max").fill("2")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(
        page.get_by_text("The most sessions (2) cannot be fewer than the fewest (3).")
    ).to_be_visible()
