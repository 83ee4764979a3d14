"""The admin's History pages show past versions; posting one back changes nothing.

simple-history's version page would save a posted form after checking only the right to view
history: a clinic admin could then edit a superuser, and anyone allowed to read sessions in
the admin could edit a session outside the services.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from scheduling.models import Session
from tests.factories import SessionFactory


@pytest.fixture
def admin_client(clinic_admin: User) -> Client:
    client = Client()
    client.force_login(clinic_admin)
    return client


def test_a_clinic_admin_cannot_edit_a_superuser_through_a_past_version(admin_client):
    owner = User.objects.create_superuser("owner", "owner@example.com", "correct-horse-battery")
    version = owner.history.latest()  # type: ignore[attr-defined]
    url = f"/admin/auth/user/{owner.pk}/history/{version.history_id}/"

    response = admin_client.post(
        url, {"username": "owner", "email": "taken@example.com", "is_active": ""}
    )

    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.is_active
    assert owner.email == "owner@example.com"


def test_a_past_version_is_shown_without_a_revert_button(admin_client, staff_user):
    version = staff_user.history.latest()  # type: ignore[attr-defined]

    response = admin_client.get(f"/admin/auth/user/{staff_user.pk}/history/{version.history_id}/")

    assert response.status_code == 200
    assert b"Revert" not in response.content


def test_a_session_cannot_be_moved_by_posting_a_past_version(admin_client):
    session = SessionFactory()
    before = session.starts_at
    version = session.history.latest()  # type: ignore[attr-defined]

    response = admin_client.post(
        f"/admin/scheduling/session/{session.pk}/history/{version.history_id}/",
        {"starts_at_0": "2030-01-01", "starts_at_1": "10:00:00"},
    )

    assert response.status_code == 403
    assert Session.objects.get(pk=session.pk).starts_at == before
