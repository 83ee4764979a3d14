"""Bad input never answers 500: each request below once did, and now gets a clear error in the
shape its caller reads (the API's ``{"errors": [...]}``, a page for the admin) and changes
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from patients.models import MedicalFlag, Patient, PatientConcern
from tests.api.helpers import API, assert_errors
from tests.factories import PatientFactory
from tests.helpers import snapshot

pytestmark = pytest.mark.django_db


def records() -> dict[str, list[dict[str, Any]]]:
    return snapshot(patients=Patient, concerns=PatientConcern, flags=MedicalFlag)


@pytest.fixture
def jiwoo(db: None) -> Patient:
    return PatientFactory(user=None, family_name="Park", given_name="Jiwoo")


# --- Nested items in a partial update -----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"concerns": [{"area": "cheeks", "severity": 2}]}, "concerns[0].concern"),
        (
            {"concerns": [{"concern": "dullness"}, {"severity": 1}]},
            "concerns[1].concern",
        ),
        ({"medical_flags": [{"note": "hives from salmon"}]}, "medical_flags[0].condition"),
    ],
    ids=["concern-without-concern", "second-concern-without-concern", "flag-without-condition"],
)
def test_a_patch_with_an_incomplete_item_names_the_missing_field(
    staff_api: APIClient, jiwoo: Patient, changes: dict[str, Any], field: str
) -> None:
    before = records()

    response = staff_api.patch(f"{API}/patients/{jiwoo.pk}/", {"notes": "not saved", **changes})

    [error] = assert_errors(response, 400, (field, "required"))
    assert error["message"] == "This field is required."
    assert records() == before


def test_a_patch_with_a_concern_without_an_area_records_the_full_face(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    response = staff_api.patch(
        f"{API}/patients/{jiwoo.pk}/", {"concerns": [{"concern": "dullness"}]}
    )

    assert response.status_code == 200, response.content
    assert [(c["concern"], c["area"]) for c in response.json()["concerns"]] == [
        ("dullness", "full_face")
    ]


# --- JSON the parser cannot or will not read ----------------------------------------------------


def test_json_nested_thousands_deep_is_refused_as_unreadable(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    before = records()
    body = '{"notes": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = staff_api.generic(
        "PATCH", f"{API}/patients/{jiwoo.pk}/", body, content_type="application/json"
    )

    [error] = assert_errors(response, 400, (None, "too_deep"))
    assert error["message"] == "The JSON is nested too deeply."
    assert records() == before


def test_a_body_over_the_size_limit_is_refused_as_too_large(
    staff_api: APIClient, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"family_name": "Park", "notes": "' + "x" * 20_000 + '"}'

    response = staff_api.generic("POST", f"{API}/patients/", body, content_type="application/json")

    [error] = assert_errors(response, 413, (None, "too_large"))
    assert error["message"] == "The request is too large."
    assert not Patient.objects.exists()


def test_a_request_django_refuses_before_any_view_answers_in_the_apis_shape(
    staff_api: APIClient,
) -> None:
    response = staff_api.get(f"{API}/patients/", HTTP_HOST="evil.example")

    [error] = assert_errors(response, 400, (None, "bad_request"))
    assert error["message"] == "The request could not be read."


def test_a_body_just_under_the_limit_is_read(staff_api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"family_name": "Park", "given_name": "Jiwoo", "date_of_birth": "1991-07-21"}'

    response = staff_api.generic("POST", f"{API}/patients/", body, content_type="application/json")

    assert response.status_code == 201, response.content
