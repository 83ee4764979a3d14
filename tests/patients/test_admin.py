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


def test_deleting_a_flag_in_the_admin_marks_it_resolved_and_keeps_it(staff_user: User) -> None:
    client = Client()
    client.force_login(staff_user)
    client.post(reverse("admin:patients_patient_add"), patient_form())
    patient = Patient.objects.get(family_name="Choi")
    flag = MedicalFlag.objects.get(patient=patient)
    concern = patient.concerns.get()
    form = patient_form(
        **{
            "concerns-TOTAL_FORMS": "1",
            "concerns-INITIAL_FORMS": "1",
            "concerns-0-id": str(concern.pk),
            "concerns-0-patient": str(patient.pk),
            "medical_flags-TOTAL_FORMS": "1",
            "medical_flags-INITIAL_FORMS": "1",
            "medical_flags-0-id": str(flag.pk),
            "medical_flags-0-patient": str(patient.pk),
            "medical_flags-0-DELETE": "on",
        }
    )

    response = client.post(reverse("admin:patients_patient_change", args=[patient.pk]), form)

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    flag.refresh_from_db()
    assert flag.resolved_at is not None
    assert flag.history.first().history_user == staff_user


def test_the_admin_refuses_a_phone_number_another_patient_has(staff_user: User) -> None:
    client = Client()
    client.force_login(staff_user)
    client.post(reverse("admin:patients_patient_add"), patient_form())

    response = client.post(
        reverse("admin:patients_patient_add"),
        patient_form(
            family_name="Han", given_name="Sora", email="sora@example.com", phone="010-2222-3333"
        ),
    )

    assert response.status_code == 200
    assert "Choi Yuna already has this phone number." in response.text
    assert Patient.objects.count() == 1
