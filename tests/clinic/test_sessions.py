"""Staff logins end after 15 minutes idle; every login ends 12 hours after it began."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone


class Clock:
    """The clock clinic.sessions measures with, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.moment = timezone.now()

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("clinic.sessions.now", clock)
    return clock


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_staff_stay_logged_in_while_they_work(client, clock, staff_user):
    client.force_login(staff_user)
    for _ in range(6):  # an hour, a request every ten minutes
        clock.advance(minutes=10)
        assert client.get("/staff/").status_code == 200
    assert logged_in(client)


def test_staff_are_logged_out_after_fifteen_idle_minutes(client, clock, staff_user):
    client.force_login(staff_user)
    client.get("/staff/")
    clock.advance(minutes=15, seconds=1)
    response = client.get("/staff/patients/?q=lee")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/staff/patients/%3Fq%3Dlee"
    assert not logged_in(client)
    page = client.get(response["Location"]).content.decode()
    assert "logged out after 15 minutes without activity" in page


def test_fourteen_idle_minutes_are_fine(client, clock, staff_user):
    client.force_login(staff_user)
    clock.advance(minutes=14)
    assert client.get("/staff/").status_code == 200


def test_the_message_is_in_the_staff_members_language(client, clock, staff_user):
    client.force_login(staff_user)
    clock.advance(minutes=16)
    response = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="ko", follow=True)
    page = response.content.decode()
    assert "without activity" not in page
    assert "15분" in page


def test_an_htmx_request_sends_the_whole_page_to_the_login(client, clock, staff_user):
    client.force_login(staff_user)
    clock.advance(minutes=20)
    response = client.get("/staff/patients/?q=lee", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/?next=")
    assert not logged_in(client)


def test_the_api_answers_401_once_the_session_has_ended(client, clock, staff_user):
    client.force_login(staff_user)
    assert client.get("/api/v1/patients/").status_code == 200
    clock.advance(minutes=16)
    response = client.get("/api/v1/patients/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_staff_are_logged_out_twelve_hours_after_logging_in_however_busy(client, clock, staff_user):
    client.force_login(staff_user)
    for _ in range(12 * 6 - 1):
        clock.advance(minutes=10)
        client.get("/api/v1/me/schedule/")  # cheap, and keeps the session active
    assert logged_in(client)
    clock.advance(minutes=10)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert not logged_in(client)
    assert "a login lasts at most 12 hours" in client.get(response["Location"]).content.decode()


def test_patients_have_no_idle_limit(client, clock, patient):
    client.force_login(patient.user)
    clock.advance(hours=3)
    assert client.get("/my/").status_code == 200
    assert logged_in(client)


def test_patients_are_logged_out_after_twelve_hours(client, clock, patient):
    client.force_login(patient.user)
    clock.advance(hours=12)
    assert client.get("/my/").status_code == 302
    assert not logged_in(client)


def test_the_limits_come_from_settings(client, clock, staff_user, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 5
    client.force_login(staff_user)
    clock.advance(minutes=6)
    assert client.get("/staff/").status_code == 302


def test_logging_in_through_the_login_page_starts_the_clock(client, clock, staff_user):
    client.post("/login/", {"username": "reception", "password": "correct-horse-battery"})
    assert logged_in(client)
    clock.advance(minutes=16)
    assert client.get("/staff/").status_code == 302


def test_activity_is_saved_at_most_once_a_minute(client, clock, staff_user):
    client.force_login(staff_user)
    clock.advance(seconds=30)
    with CaptureQueriesContext(connection) as queries:
        client.get("/staff/maintenance/")
    assert not any("UPDATE" in q["sql"] and "django_session" in q["sql"] for q in queries)
    clock.advance(seconds=40)
    with CaptureQueriesContext(connection) as queries:
        client.get("/staff/maintenance/")
    assert any("UPDATE" in q["sql"] and "django_session" in q["sql"] for q in queries)
