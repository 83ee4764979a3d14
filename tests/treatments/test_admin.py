"""Clinic admins edit the catalogue in the Django admin; staff cannot."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from treatments.models import ProtocolTemplate, Treatment

pytestmark = pytest.mark.django_db


def inline_management(prefix: str, total: int = 1) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def treatment_form(**protocol: Any) -> dict[str, Any]:
    protocol_fields = {
        "name": "Standard course",
        "is_default": "on",
        "initial_sessions_min": "2",
        "initial_sessions_default": "3",
        "initial_sessions_max": "4",
        "interval_days_min": "28",
        "interval_days_default": "28",
        "interval_days_max": "42",
        "maintenance_interval_months": "12",
        **protocol,
    }
    return {
        "name": "Exosome therapy",
        "name_ko": "엑소좀",
        "slug": "exosome",
        "is_active": "on",
        "core_ingredient": "Exosomes",
        "primary_effect": "Calming and regeneration",
        "texture_change": "gradual",
        "long_term_benefit": "medium",
        "session_minutes": "40",
        **inline_management("protocols"),
        **{f"protocols-0-{key}": value for key, value in protocol_fields.items()},
        **inline_management("indications", total=0),
    }


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_adds_a_treatment_with_its_protocol_and_sees_it_in_the_list(
    clinic_admin: User,
) -> None:
    client = logged_in(clinic_admin)

    response = client.post(reverse("admin:treatments_treatment_add"), treatment_form())

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    treatment = Treatment.objects.get(slug="exosome")
    assert treatment.protocols.get().maintenance_interval_months == 12
    listing = client.get(reverse("admin:treatments_treatment_changelist"))
    assert "Exosome therapy" in listing.text
    assert "Rejuran Healer" in listing.text
    assert treatment.history.get().history_user == clinic_admin


def test_admin_sees_protocol_mistakes_in_plain_words_and_nothing_is_saved(
    clinic_admin: User,
) -> None:
    client = logged_in(clinic_admin)

    response = client.post(
        reverse("admin:treatments_treatment_add"),
        treatment_form(initial_sessions_min="5", initial_sessions_default="5"),
    )

    assert response.status_code == 200
    assert "The most sessions (4) cannot be fewer than the fewest (5)." in response.text
    assert not Treatment.objects.filter(slug="exosome").exists()
    assert not ProtocolTemplate.objects.filter(treatment__slug="exosome").exists()


def test_treatment_history_shows_who_changed_what(clinic_admin: User) -> None:
    client = logged_in(clinic_admin)
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    form = (
        client.get(reverse("admin:treatments_treatment_change", args=[rejuran.pk]))
        .context["adminform"]
        .form
    )
    data = {
        **{name: value for name, value in form.initial.items() if value is not None},
        "contraindications": [c.pk for c in rejuran.contraindications.all()],
        "session_minutes": "50",
        **inline_management("protocols", total=0),
        **inline_management("indications", total=0),
    }
    data.pop("id", None)

    response = client.post(reverse("admin:treatments_treatment_change", args=[rejuran.pk]), data)
    assert response.status_code == 302

    history = client.get(reverse("admin:treatments_treatment_history", args=[rejuran.pk]))
    assert history.status_code == 200
    latest = rejuran.history.latest()
    assert latest.history_user == clinic_admin
    assert latest.diff_against(latest.prev_record).changed_fields == ["session_minutes"]


@pytest.mark.parametrize("view", ["add", "change"])
def test_staff_cannot_open_treatment_editing(staff_user: User, view: str) -> None:
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    args = [rejuran.pk] if view == "change" else []

    response = logged_in(staff_user).get(reverse(f"admin:treatments_treatment_{view}", args=args))

    assert response.status_code == 403


def test_staff_cannot_change_a_treatment_by_posting(staff_user: User) -> None:
    rejuran = Treatment.objects.get(slug="rejuran-healer")

    response = logged_in(staff_user).post(
        reverse("admin:treatments_treatment_change", args=[rejuran.pk]), {"name": "Hacked"}
    )

    assert response.status_code == 403
    rejuran.refresh_from_db()
    assert rejuran.name == "Rejuran Healer"


def test_patients_are_sent_to_log_in_to_the_admin(patient: Any) -> None:
    response = logged_in(patient.user).get(reverse("admin:treatments_treatment_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    "name",
    [
        "treatments_treatment",
        "treatments_protocoltemplate",
        "treatments_skinconcern",
        "treatments_contraindication",
        "patients_patient",
        "scheduling_practitioner",
        "scheduling_openinghours",
        "scheduling_closure",
        "scheduling_reminderrule",
        "scheduling_treatmentplan",
        "scheduling_session",
        "scheduling_reminder",
    ],
)
def test_every_admin_list_opens_for_the_clinic_admin(clinic_admin: User, name: str) -> None:
    response = logged_in(clinic_admin).get(reverse(f"admin:{name}_changelist"))

    assert response.status_code == 200
