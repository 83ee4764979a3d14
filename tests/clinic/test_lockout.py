"""Password guessing: five failed logins lock the account and the client, on every login form."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

PASSWORD = "correct-horse-battery"  # the factories' password
LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"


def attempt(
    client: Client,
    username: str,
    password: str,
    *,
    ip: str = "203.0.113.5",
    url: str = LOGIN,
    **extra,
):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def fail(client: Client, username: str, times: int = 5, **kwargs) -> None:
    for _ in range(times):
        response = attempt(client, username, "wrong-password", **kwargs)
        assert response.status_code in (200, 429)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def time_passes(minutes: int) -> None:
    """Move the recorded failures back in time, as if the minutes had gone by."""
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=minutes))


@pytest.fixture
def client() -> Client:
    return Client()


def test_four_failures_still_let_the_right_password_in(client, staff_user):
    fail(client, "reception", times=4)
    response = attempt(client, "reception", PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_the_fifth_failure_locks_with_a_clear_message(client, staff_user):
    fail(client, "reception", times=4)
    response = attempt(client, "reception", "wrong-password")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "30 minutes" in response.content.decode()


def test_the_message_is_in_the_visitors_language(client, staff_user):
    fail(client, "reception", times=5)
    response = attempt(client, "reception", PASSWORD, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 429
    assert "Too many failed logins" not in response.content.decode()
    assert "30분" in response.content.decode()


def test_the_right_password_is_refused_while_locked(client, staff_user):
    fail(client, "reception")
    response = attempt(client, "reception", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)


def test_the_account_is_locked_from_any_other_address(client, staff_user):
    fail(client, "reception", ip="203.0.113.5")
    response = attempt(Client(), "reception", PASSWORD, ip="198.51.100.77")
    assert response.status_code == 429


def test_the_client_is_locked_for_every_other_account(client, staff_user, patient):
    for number in range(5):
        attempt(client, f"guess{number}", "wrong-password")
    response = attempt(client, patient.user.username, PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    # The patient, from their own phone, is not locked out.
    phone = Client()
    assert attempt(phone, patient.user.username, PASSWORD, ip="198.51.100.8").status_code == 302


def test_a_patient_account_is_locked_too(client, patient):
    fail(client, patient.user.username)
    assert attempt(Client(), patient.user.username, PASSWORD, ip="192.0.2.1").status_code == 429


def test_five_failures_spread_over_fifteen_minutes_lock(client, staff_user):
    for _ in range(4):
        attempt(client, "reception", "wrong-password")
        AccessAttempt.objects.update(
            attempt_time=F("attempt_time") - timedelta(minutes=3, seconds=30)
        )
    assert attempt(client, "reception", "wrong-password").status_code == 429


def test_after_the_cool_off_the_right_password_works(client, staff_user):
    fail(client, "reception")
    time_passes(31)
    response = attempt(client, "reception", PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_still_locked_just_before_the_cool_off_ends(client, staff_user):
    fail(client, "reception")
    time_passes(29)
    assert attempt(client, "reception", PASSWORD).status_code == 429


def test_a_success_resets_the_accounts_failures(client, staff_user):
    fail(client, "reception", times=4)
    assert attempt(client, "reception", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    fail(client, "reception", times=4, ip="198.51.100.2")
    assert attempt(client, "reception", PASSWORD, ip="198.51.100.2").status_code == 302


def test_a_success_does_not_reset_the_clients_failures_at_other_accounts(client, staff_user):
    for number in range(4):
        attempt(client, f"guess{number}", "wrong-password")
    assert attempt(client, "reception", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    response = attempt(client, "guess9", "wrong-password")
    assert response.status_code == 429


def test_a_forged_forwarded_for_changes_nothing_without_the_proxy(client, staff_user, settings):
    settings.BEHIND_TLS_PROXY = False
    for number in range(5):
        attempt(
            client, f"guess{number}", "wrong-password", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}"
        )
    response = attempt(
        Client(), "reception", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200"
    )  # same socket address: locked
    assert response.status_code == 429


def test_behind_the_proxy_only_its_own_hop_counts(client, staff_user, settings):
    settings.BEHIND_TLS_PROXY = True
    proxy = "10.0.0.2"
    for number in range(5):
        # The attacker forges a different left-hand address each time; the proxy's hop is theirs.
        attempt(
            client,
            f"guess{number}",
            "wrong-password",
            ip=proxy,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}, 203.0.113.66",
        )
    locked = attempt(Client(), "reception", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert locked.status_code == 429
    # Another client behind the same proxy is not locked out.
    other = Client()
    response = attempt(other, "reception", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 302


def test_the_admin_login_is_locked_too(client, clinic_admin):
    fail(client, "admin", url=ADMIN_LOGIN)
    response = attempt(Client(), "admin", PASSWORD, url=ADMIN_LOGIN, ip="198.51.100.3")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_failures_on_the_admin_and_the_site_add_up(client, clinic_admin):
    fail(client, "admin", times=3, url=ADMIN_LOGIN)
    fail(client, "admin", times=2)
    assert attempt(client, "admin", PASSWORD, url=ADMIN_LOGIN).status_code == 429


def test_a_json_client_gets_the_api_error_shape(client, staff_user):
    fail(client, "reception")
    response = attempt(client, "reception", PASSWORD, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    (error,) = response.json()["errors"]
    assert error["code"] == "locked_out"
    assert "Too many failed logins" in error["message"]


def test_the_api_takes_no_password_so_it_cannot_be_guessed_through(client, staff_user):
    """The API's ways in are admin-made tokens (256 random bits) and the browser session made by
    the login page (locked above); a username and password are never accepted."""
    basic = base64.b64encode(f"reception:{PASSWORD}".encode()).decode()
    response = client.get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"
