"""The pages every user meets first: log in, home, health check, language switch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_asks_anonymous_visitors_to_log_in(client: Client) -> None:
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_logging_in_with_a_wrong_password_says_so(client: Client, clinic_admin: User) -> None:
    response = client.post(reverse("login"), {"username": "admin", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text


def test_a_clinic_admin_lands_on_today_with_a_link_to_the_admin(
    client: Client, clinic_admin: User
) -> None:
    client.post(reverse("login"), {"username": "admin", "password": "correct-horse-battery"})

    response = client.get(reverse("home"), follow=True)

    assert response.redirect_chain == [(reverse("staff:today"), 302)]
    assert reverse("admin:index") in response.text


def test_staff_who_are_not_clinic_admins_get_no_admin_link(
    client: Client, staff_user: User
) -> None:
    client.force_login(staff_user)

    response = client.get(reverse("staff:today"))

    assert reverse("admin:index") not in response.text


def test_a_patient_lands_on_their_schedule_with_no_admin_links(
    client: Client, patient: Any
) -> None:
    client.force_login(patient.user)

    response = client.get(reverse("home"), follow=True)

    assert response.redirect_chain == [(reverse("portal:schedule"), 302)]
    assert reverse("admin:index") not in response.text
    assert reverse("staff:today") not in response.text


def test_health_check_reports_ok(client: Client) -> None:
    response = client.get(reverse("healthz"))

    assert response.json() == {"status": "ok"}


def test_ping_answers_ok_without_touching_the_database(
    client: Client, django_assert_num_queries: Callable[..., Any]
) -> None:
    with django_assert_num_queries(0):
        response = client.get(reverse("ping"))

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"]


def test_ping_answers_only_get(client: Client) -> None:
    assert client.post(reverse("ping")).status_code == 405


def test_the_language_can_be_switched_to_korean(client: Client, staff_user: User) -> None:
    client.force_login(staff_user)

    client.post(reverse("set_language"), {"language": "ko", "next": "/"})
    response = client.get(reverse("staff:today"))

    assert response.headers["Content-Language"] == "ko"
    assert '<html lang="ko"' in response.text
