"""Staff record patients, their concerns and medical flags in the admin, with history."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from patients.models import MedicalFlag, Patient
from treatments.models import Contraindication, SkinConcern

pytestmark = pytest.mark.django_db


def inline(prefix: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def patient_form(**overrides: Any) -> dict[str, Any]:
    return {
        "family_name": "Choi",
        "given_name": "Yuna",
        "date_of_birth": "1994-07-21",
        "phone": "+82 10-2222-3333",
        "email": "yuna@example.com",
        "preferred_language": "ko",
        "reminder_channel": "sms",
        "notes": "",
        **inline(
            "concerns",
            [
                {
                    "concern": SkinConcern.objects.get(slug="thinning-skin").pk,
                    "severity": "3",
                    "area": "under_eyes",
                }
            ],
        ),
        **inline(
            "medical_flags",
            [{"condition": Contraindication.objects.get(slug="fish-allergy").pk, "note": "hives"}],
        ),
        **inline("consents", []),
        **overrides,
    }


def test_staff_record_a_patient_with_a_concern_and_a_flag(staff_user: User) -> None:
    client = Client()
    client.force_login(staff_user)

    response = client.post(reverse("admin:patients_patient_add"), patient_form())

    assert response.status_code == 302
    patient = Patient.objects.get(family_name="Choi")
    assert patient.concerns.get().get_area_display() == "Under the eyes"
    flag = MedicalFlag.objects.get(patient=patient)
    assert flag.condition.slug == "fish-allergy"
    assert flag.recorded_by == staff_user
    assert patient.history.get().history_user == staff_user


def test_a_missing_date_of_birth_is_refused_and_nothing_is_saved(staff_user: User) -> None:
    client = Client()
    client.force_login(staff_user)

    response = client.post(reverse("admin:patients_patient_add"), patient_form(date_of_birth=""))

    assert response.status_code == 200
    assert "This field is required." in response.text
    assert not Patient.objects.filter(family_name="Choi").exists()
    assert not MedicalFlag.objects.exists()


def test_staff_cannot_delete_patients(staff_user: User, patient: Any) -> None:
    client = Client()
    client.force_login(staff_user)

    response = client.post(
        reverse("admin:patients_patient_delete", args=[patient.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Patient.objects.filter(pk=patient.pk).exists()
