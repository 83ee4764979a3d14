"""In a real browser, under the enforced Content-Security-Policy: the Django admin's pages (with
their scripts: the change form, inlines, history) and the API docs (Swagger UI) work, and the
browser refuses nothing (the autouse fixture fails the test on any refused script or style)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from clinic.roles import Role
from tests.factories import UserFactory
from treatments.models import Treatment

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalogue")]


def _log_in_as_clinic_admin(page: Page, base: str) -> None:
    admin = UserFactory(username="clinicadmin", is_staff=True)
    admin.groups.add(Group.objects.get(name=Role.CLINIC_ADMIN.value))
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("clinicadmin")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(f"{base}/login/")


def test_admin_pages_work_under_the_policy(live_server: LiveServer, page: Page) -> None:
    _log_in_as_clinic_admin(page, live_server.url)
    rejuran = Treatment.objects.get(slug="rejuran-healer")

    page.goto(f"{live_server.url}/admin/treatments/treatment/{rejuran.pk}/change/")
    expect(page.locator("#id_core_ingredient")).to_be_visible()
    page.goto(f"{live_server.url}/admin/treatments/treatment/{rejuran.pk}/history/")
    expect(page.locator("#change-history")).to_be_visible()
    page.goto(f"{live_server.url}/admin/patients/patient/add/")
    expect(page.locator("#id_family_name")).to_be_visible()


def test_api_docs_render_the_operations_under_the_policy(
    live_server: LiveServer, page: Page
) -> None:
    _log_in_as_clinic_admin(page, live_server.url)

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.get_by_text("/api/v1/plans/preview/").first).to_be_visible(timeout=15_000)
