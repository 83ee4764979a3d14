"""The Suggest page: a patient's recorded concerns, then the treatments that suit them, best
first, each explaining itself, with its warnings, notes, course and a way to book it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.formatting import local_day
from patients.models import Patient, PatientConcern
from tests.factories import PatientFactory
from tests.helpers import add_treatments, flag
from treatments.models import SkinConcern
from treatments.suggestions import age_on

pytestmark = pytest.mark.django_db


def patient_with(*concerns: tuple[str, int], born: date = date(1990, 3, 14)) -> Patient:
    patient = PatientFactory(user=None, family_name="Park", given_name="Jiwoo", date_of_birth=born)
    for slug, severity in concerns:
        PatientConcern.objects.create(
            patient=patient, concern=SkinConcern.objects.get(slug=slug), severity=severity
        )
    return patient


@pytest.fixture
def jiwoo() -> Patient:
    """Acne scars (severe) and redness (moderate): Rejuran Healer first, then PRP."""
    return patient_with(("acne-scars", 3), ("redness-sensitivity", 2))


@pytest.fixture
def staff(client: Client, staff_user: User) -> Client:
    client.force_login(staff_user)
    return client


def suggest_url(patient: Patient | int) -> str:
    return reverse("staff:suggest", args=[patient if isinstance(patient, int) else patient.pk])


def text(html: str) -> str:
    """The page's words with tags dropped and white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def cards(html: str) -> list[str]:
    """The suggestion cards' HTML, in page order."""
    return re.findall(r'<li class="card suggestion.*?</li>\s*(?=<li class="card|</ol>)', html, re.S)


def card_for(html: str, treatment: str) -> str:
    [card] = [
        c
        for c in cards(html)
        if re.search(rf"<h3[^>]*>[^<]*<span[^>]*>[^<]*</span> {treatment}</h3>", c)
    ]
    return card


# --- Who may open it ---------------------------------------------------------------------------


def test_anonymous_visitors_are_asked_to_log_in(client: Client, jiwoo: Patient) -> None:
    response = client.get(suggest_url(jiwoo))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_patient_may_not_open_it(client: Client, patient: Any, jiwoo: Patient) -> None:
    client.force_login(patient.user)

    assert client.get(suggest_url(jiwoo)).status_code == 403


def test_a_patient_may_not_open_it_for_themselves(client: Client, patient: Any) -> None:
    client.force_login(patient.user)

    assert client.get(suggest_url(patient)).status_code == 403


@pytest.mark.parametrize("persona", ["staff_user", "clinic_admin"])
def test_staff_and_clinic_admins_open_it(
    request: pytest.FixtureRequest, client: Client, persona: str, jiwoo: Patient
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.get(suggest_url(jiwoo))

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]  # it shows a patient's record


def test_an_unknown_patient_is_not_found(staff: Client) -> None:
    assert staff.get(suggest_url(999_999)).status_code == 404


# --- What it shows -----------------------------------------------------------------------------


def test_it_shows_the_patient_and_their_concerns_with_a_way_back(
    staff: Client, jiwoo: Patient
) -> None:
    html = staff.get(suggest_url(jiwoo)).text

    assert "Suggested treatments for Park Jiwoo" in text(html)
    assert f'href="{reverse("staff:patient", args=[jiwoo.pk])}"' in html
    assert "Acne scars Full face · Severe" in text(html)
    assert "Redness and sensitivity Full face · Moderate" in text(html)
    assert f"Age {age_on(jiwoo.date_of_birth, local_day(timezone.now()))}" in text(html)


def test_the_treatments_are_cards_best_first_each_with_its_reason_and_course(
    staff: Client, jiwoo: Patient
) -> None:
    html = staff.get(suggest_url(jiwoo)).text

    rejuran, prp = cards(html)
    assert "Rejuran Healer" in rejuran
    assert (
        "Acne scars, Redness and sensitivity → Rejuran Healer: "
        "Cell regeneration and anti-inflammation" in text(rejuran)
    )
    assert "3–4 sessions, 21–28 days apart, maintenance every 6 months" in text(rejuran)
    assert "clinic default to review" not in rejuran
    assert "Late 20s to 50s" in rejuran
    assert "fractional laser resurfacing" in rejuran
    assert "Acne scars → PRP: Regeneration from growth factors" in text(prp)
    assert "3 sessions, 28–42 days apart, maintenance every 6 months" in text(prp)
    assert "clinic default to review" in prp
    assert "alert-error" not in html


def test_each_card_books_its_treatment_for_the_patient(staff: Client, jiwoo: Patient) -> None:
    rejuran, prp = cards(staff.get(suggest_url(jiwoo)).text)

    book = reverse("staff:book", args=[jiwoo.pk])
    assert f'href="{book}?treatment=rejuran-healer"' in rejuran
    assert f'href="{book}?treatment=prp"' in prp
    assert "Book this" in rejuran


def test_a_contraindicated_treatment_is_listed_last_with_a_prominent_warning(
    staff: Client, jiwoo: Patient
) -> None:
    flag(jiwoo, "fish-allergy")

    html = staff.get(suggest_url(jiwoo)).text

    prp, rejuran = cards(html)
    assert "PRP" in prp
    assert "alert-error" not in prp
    assert "Rejuran Healer" in rejuran
    assert 'class="card suggestion contraindicated"' in rejuran
    warning = re.search(r'<div class="alert alert-error">(.*?)</div>', rejuran, re.S)
    assert warning is not None
    assert text(warning.group(1)) == (
        "Contraindicated: Fish or salmon allergy (recorded for this patient)"
    )
    assert "Fish or salmon allergy" in text(html.split('class="suggestion-list"')[0])  # the flags


def test_soft_notes_are_shown_on_the_cards_they_concern(staff: Client) -> None:
    patient = patient_with(
        ("post-procedure-recovery", 2), ("dehydration", 2), born=date(1950, 1, 1)
    )

    html = staff.get(suggest_url(patient)).text

    notes = re.search(
        r'<div class="alert alert-info">(.*?)</div>', card_for(html, "Rejuran Healer"), re.S
    )
    assert notes is not None
    assert "Usually for ages 25–59; this patient is" in text(notes.group(1))
    assert "Suits recovery after a recent laser or microneedling." in text(notes.group(1))
    assert "Not aimed at recovery after a recent laser or microneedling." in text(
        card_for(html, "Skinboosters")
    )


def test_a_patient_without_concerns_is_asked_to_have_them_recorded(staff: Client) -> None:
    patient = patient_with()

    html = staff.get(suggest_url(patient)).text

    assert "No skin concerns are recorded for Park Jiwoo yet" in text(html)
    assert f'href="{reverse("staff:patient-edit", args=[patient.pk])}"' in html
    assert cards(html) == []


def test_concerns_no_treatment_addresses_say_so(staff: Client) -> None:
    patient = patient_with(("dehydration", 2))
    SkinConcern.objects.get(slug="dehydration").indications.all().delete()

    html = staff.get(suggest_url(patient)).text

    assert "No treatment in the catalogue addresses these concerns." in text(html)


def test_the_page_speaks_korean_to_a_korean_reader(staff: Client, jiwoo: Patient) -> None:
    flag(jiwoo, "fish-allergy")
    staff.cookies["django_language"] = "ko"

    response = staff.get(suggest_url(jiwoo))

    assert response.headers["Content-Language"] == "ko"
    page = text(response.text)
    assert "여드름 흉터, 붉은기와 민감성 → 리쥬란 힐러: 세포 재생과 항염 효과" in page
    assert "여드름 흉터 → PRP (자가혈 주사): 성장인자를 통한 재생" in page
    assert "생선(연어) 알레르기" in page
    assert "폴리뉴클레오티드(PN, 연어 DNA)" in page
    assert "20대 후반~50대" in page
    assert "Late 20s to 50s" not in page


def test_the_page_runs_under_a_strict_content_security_policy(
    staff: Client, jiwoo: Patient
) -> None:
    flag(jiwoo, "fish-allergy")

    html = staff.get(suggest_url(jiwoo)).text

    assert not re.search(r"\sstyle=|\son[a-z]+=|hx-on|<script(?![^>]*\ssrc=)", html)


# --- Queries -----------------------------------------------------------------------------------

# session, user with roles; the patient; the suggestions' own 7 (concerns, open flags,
# treatments and their indications, contraindications, protocols, milestones)
PAGE_QUERIES = 2 + 1 + 7


@pytest.mark.parametrize("extra", [0, 27], ids=["3 treatments", "30 treatments"])
def test_the_page_takes_the_same_queries_whatever_the_catalogues_size(
    staff: Client, jiwoo: Patient, extra: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    add_treatments(extra, concerns=("acne-scars",))
    flag(jiwoo, "fish-allergy")

    with django_assert_num_queries(PAGE_QUERIES):
        response = staff.get(suggest_url(jiwoo))

    assert len(cards(response.text)) == 2 + extra
