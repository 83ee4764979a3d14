"""Details a clinic can mean: a birth date from 1900 to today, a phone number that exists
(stored in E.164), names without control or invisible characters, notes of at most 2000
characters. The API, the staff form and the admin refuse the same input with the same message
and change nothing."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.formatting import local_day
from patients.models import Patient
from tests.api.helpers import API, assert_errors, client_for
from tests.factories import PatientFactory
from tests.patients.test_pages import form_data, logged_in, record_tables, text

pytestmark = pytest.mark.django_db


def tomorrow() -> str:
    return (local_day(timezone.now()) + timedelta(days=1)).isoformat()


def when_run(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes with each callable value worked out now: "tomorrow" is the day after the day
    the test runs, not the day the suite was collected (a run may cross midnight)."""
    return {name: value() if callable(value) else value for name, value in changes.items()}


BIRTH = "Enter a date of birth between 1 January 1900 and today."
PHONE = "Enter a phone number that exists, e.g. 010-1234-5678 or +82 10-1234-5678."
HIDDEN = "Remove the control or invisible characters (a tab, a line break, a zero-width space)."
LONG = "Keep this to 2000 characters (it has 2001)."

# (changes, field, code, message)
REFUSED = {
    "born before 1900": ({"date_of_birth": "1899-12-31"}, "date_of_birth", "out_of_range", BIRTH),
    "born tomorrow": ({"date_of_birth": tomorrow}, "date_of_birth", "out_of_range", BIRTH),
    "phone too short": ({"phone": "010-12"}, "phone", "invalid_phone", PHONE),
    "phone of letters": ({"phone": "call me"}, "phone", "invalid_phone", PHONE),
    "zero-width space in a name": ({"given_name": "Ji\u200bwoo"}, "given_name", None, HIDDEN),
    "right-to-left override": ({"family_name": "Lee\u202e"}, "family_name", None, HIDDEN),
    "tab in a name": ({"family_name": "Lee\tKim"}, "family_name", None, HIDDEN),
    "notes too long": ({"notes": "x" * 2001}, "notes", "max_length", LONG),
}


@pytest.fixture
def staff_api(staff_user: User) -> APIClient:
    return client_for(staff_user)


@pytest.fixture
def jiwoo(db: None) -> Patient:
    return PatientFactory(
        user=None, family_name="Lee", given_name="Ji-woo", phone="+821012345678", email=""
    )


@pytest.mark.parametrize("case", REFUSED)
def test_the_api_refuses_it_naming_the_field_and_nothing_changes(
    staff_api: APIClient, jiwoo: Patient, case: str
) -> None:
    changes, field, code, message = REFUSED[case]
    changes = when_run(changes)
    before = record_tables()

    response = staff_api.patch(f"{API}/patients/{jiwoo.pk}/", {"notes": "not saved", **changes})

    [error] = assert_errors(response, 400, (field, code or "invisible_character"))
    assert error["message"] == message
    assert record_tables() == before


@pytest.mark.parametrize("case", REFUSED)
def test_the_staff_form_refuses_it_beside_the_field_and_nothing_changes(
    client: Client, staff_user: User, jiwoo: Patient, case: str
) -> None:
    changes, field, _, message = REFUSED[case]
    changes = when_run(changes)
    before = record_tables()

    response = logged_in(client, staff_user).post(
        reverse("staff:patient-edit", args=[jiwoo.pk]),
        form_data(**{"phone": "+821012345678", "email": "", **changes}),
    )

    assert response.status_code == 200
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>' in text(response)
    assert record_tables() == before


def test_the_admin_refuses_it_too(client: Client, clinic_admin: User, jiwoo: Patient) -> None:
    before = record_tables()

    response = logged_in(client, clinic_admin).post(
        f"/admin/patients/patient/{jiwoo.pk}/change/",
        {
            "family_name": "Lee",
            "given_name": "Ji\u200bwoo",
            "date_of_birth": "1899-12-31",
            "phone": "010-12",
            "email": "",
            "preferred_language": "ko",
            "reminder_channel": "sms",
            "notes": "",
        },
    )

    assert response.status_code == 200
    page = text(response)
    assert BIRTH in page
    assert PHONE in page
    assert HIDDEN in page
    assert record_tables() == before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("010-2222-3333", "+821022223333"),
        ("+82 10 2222 3333", "+821022223333"),
        ("(02) 555-1234", "+8225551234"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_stored_in_e164_however_typed(
    staff_api: APIClient, jiwoo: Patient, typed: str, stored: str
) -> None:
    response = staff_api.patch(f"{API}/patients/{jiwoo.pk}/", {"phone": typed})

    assert response.status_code == 200, response.content
    assert response.json()["phone"] == stored
    jiwoo.refresh_from_db()
    assert jiwoo.phone == stored


def test_the_edges_are_accepted(staff_api: APIClient, jiwoo: Patient) -> None:
    today = local_day(timezone.now()).isoformat()
    for changes in (
        {"date_of_birth": "1900-01-01", "notes": "x" * 2000},
        {"date_of_birth": today, "given_name": "지우 Ji-woo", "notes": "line one\nline two"},
    ):
        response = staff_api.patch(f"{API}/patients/{jiwoo.pk}/", changes)

        assert response.status_code == 200, response.content


def test_the_staff_form_stores_the_phone_in_e164(
    client: Client, staff_user: User, jiwoo: Patient
) -> None:
    response = logged_in(client, staff_user).post(
        reverse("staff:patient-edit", args=[jiwoo.pk]),
        form_data(phone="010 2222 3333", email=""),
    )

    assert response.status_code == 302
    jiwoo.refresh_from_db()
    assert jiwoo.phone == "+821022223333"


def test_phones_stored_before_the_rule_are_converted_where_they_can_be_read() -> None:
    migration = import_module("patients.migrations.0004_patient_input_rules")
    old = [
        PatientFactory(user=None, phone="010-3333-4444"),
        PatientFactory(user=None, phone="+82 2 555 1234"),
        PatientFactory(user=None, phone="ask reception"),
        PatientFactory(user=None, phone=""),
    ]

    migration.phones_to_e164(apps, None)

    assert [Patient.objects.get(pk=p.pk).phone for p in old] == [
        "+821033334444",
        "+8225551234",
        "ask reception",
        "",
    ]
