"""Suggestions: which treatments suit a patient's concerns, in what order, and how they explain
themselves (reasons, contraindication warnings, soft notes) in the reader's language."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import override

from patients.models import Patient, PatientConcern
from tests.factories import PatientFactory
from tests.helpers import add_treatments, flag
from treatments.models import ProtocolTemplate, SkinConcern, Treatment
from treatments.suggestions import (
    AgeNote,
    RecoveryNote,
    Suggestion,
    age_on,
    patient_suggestions,
    protocol_in_words,
    treatment_suggestions,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 15)


def patient_with(
    *concerns: tuple[str, int] | tuple[str, int, str], born: date = date(1990, 3, 14)
) -> Patient:
    """A patient with concerns given as (slug, severity) or (slug, severity, area)."""
    patient = PatientFactory(user=None, date_of_birth=born)
    for slug, severity, *area in concerns:
        PatientConcern.objects.create(
            patient=patient,
            concern=SkinConcern.objects.get(slug=slug),
            severity=severity,
            area=area[0] if area else "full_face",
        )
    return patient


def born_years_before(age: int) -> date:
    """A date of birth that makes the patient ``age`` on TODAY, their birthday."""
    return date(TODAY.year - age, TODAY.month, TODAY.day)


def turning_tomorrow(age: int) -> date:
    """A date of birth that makes the patient ``age`` tomorrow (``age - 1`` on TODAY)."""
    return date(TODAY.year - age, TODAY.month, TODAY.day + 1)


def suggested(patient: Patient) -> dict[str, Suggestion]:
    return {s.treatment.slug: s for s in treatment_suggestions(patient=patient, today=TODAY)}


def order(patient: Patient) -> list[str]:
    return [s.treatment.slug for s in treatment_suggestions(patient=patient, today=TODAY)]


# --- Ranking ---------------------------------------------------------------------------------


def test_the_score_is_strength_times_severity_summed_over_matched_concerns() -> None:
    patient = patient_with(("acne-scars", 3), ("redness-sensitivity", 2))

    found = suggested(patient)

    assert order(patient) == ["rejuran-healer", "prp"]
    assert found["rejuran-healer"].score == 3 * 3 + 5 * 2
    assert found["prp"].score == 4 * 3
    assert [(m.concern.slug, m.strength, m.severity) for m in found["rejuran-healer"].matches] == [
        ("acne-scars", 3, 3),
        ("redness-sensitivity", 5, 2),
    ]


def test_a_treatment_addressing_none_of_the_concerns_is_not_suggested() -> None:
    assert order(patient_with(("dehydration", 2))) == ["skinboosters"]


def test_equal_scores_go_to_the_higher_long_term_benefit_then_the_name() -> None:
    # Fine lines: Rejuran 4, PRP 3 (medium benefit), Skinboosters 3 (mild benefit).
    assert order(patient_with(("fine-lines", 2))) == ["rejuran-healer", "prp", "skinboosters"]


def test_a_treatment_no_longer_offered_is_not_suggested() -> None:
    Treatment.objects.filter(slug="prp").update(is_active=False)

    assert order(patient_with(("acne-scars", 3))) == ["rejuran-healer"]


def test_a_patient_without_concerns_gets_no_suggestions() -> None:
    assert patient_suggestions(patient=patient_with(), today=TODAY).suggestions == []


# --- The reason, in words ----------------------------------------------------------------------


def test_the_reason_names_the_concerns_the_treatment_and_its_primary_effect() -> None:
    rejuran = suggested(patient_with(("acne-scars", 3), ("redness-sensitivity", 2)))[
        "rejuran-healer"
    ]

    assert rejuran.reason == (
        "Acne scars, Redness and sensitivity → Rejuran Healer: "
        "Cell regeneration and anti-inflammation"
    )
    assert rejuran.reasons == [
        "Acne scars (full face, severe): indication strength 3/5",
        "Redness and sensitivity (full face, moderate): indication strength 5/5",
    ]


def test_the_reason_is_written_in_korean_for_a_korean_reader() -> None:
    rejuran = suggested(patient_with(("acne-scars", 3), ("redness-sensitivity", 2)))[
        "rejuran-healer"
    ]

    with override("ko"):
        assert rejuran.reason == "여드름 흉터, 붉은기와 민감성 → 리쥬란 힐러: 세포 재생과 항염 효과"
        assert rejuran.primary_effect == "세포 재생과 항염 효과"
        assert rejuran.core_ingredient == "폴리뉴클레오티드(PN, 연어 DNA)"
        assert [(m.name, m.area_display, m.severity_display) for m in rejuran.matches] == [
            ("여드름 흉터", "얼굴 전체", "심함"),
            ("붉은기와 민감성", "얼굴 전체", "보통"),
        ]


def test_sentences_are_written_when_read_so_one_ranking_serves_both_languages() -> None:
    with override("en"):
        prp = suggested(patient_with(("acne-scars", 2)))["prp"]

    with override("ko"):
        assert prp.reason == "여드름 흉터 → PRP (자가혈 주사): 성장인자를 통한 재생"
    with override("en"):
        assert prp.reason == "Acne scars → PRP: Regeneration from growth factors"


def test_a_concern_recorded_for_two_areas_is_named_once_and_counted_twice() -> None:
    patient = patient_with(("thinning-skin", 3, "under_eyes"), ("thinning-skin", 2, "neck"))

    rejuran = suggested(patient)["rejuran-healer"]

    assert rejuran.score == 5 * 3 + 5 * 2
    assert rejuran.reason.startswith("Thinning skin (under the eyes, neck) → Rejuran Healer")
    assert rejuran.reasons == [
        "Thinning skin (under the eyes, neck) (under the eyes, severe): indication strength 5/5",
        "Thinning skin (under the eyes, neck) (neck, moderate): indication strength 5/5",
    ]


def test_an_untranslated_primary_effect_falls_back_to_english() -> None:
    Treatment.objects.filter(slug="prp").update(primary_effect_ko="")

    with override("ko"):
        assert suggested(patient_with(("acne-scars", 2)))["prp"].reason.endswith(
            ": Regeneration from growth factors"
        )


# --- Contraindications -------------------------------------------------------------------------


def test_a_contraindicated_treatment_comes_after_the_others_with_the_warning() -> None:
    patient = patient_with(("acne-scars", 3), ("redness-sensitivity", 2))
    flag(patient, "fish-allergy")

    found = suggested(patient)

    assert order(patient) == ["prp", "rejuran-healer"]
    assert found["rejuran-healer"].score > found["prp"].score  # last despite the better score
    rejuran = found["rejuran-healer"]
    assert rejuran.is_contraindicated
    assert [c.slug for c in rejuran.contraindications] == ["fish-allergy"]
    assert rejuran.warnings == [
        "Contraindicated: Fish or salmon allergy (recorded for this patient)"
    ]
    assert found["prp"].warnings == []
    with override("ko"):
        [warning] = rejuran.warnings
        assert "생선(연어) 알레르기" in warning


def test_every_recorded_contraindication_is_named() -> None:
    patient = patient_with(("acne-scars", 3))
    flag(patient, "fish-allergy")
    flag(patient, "pregnancy")

    found = suggested(patient)

    assert [c.slug for c in found["rejuran-healer"].contraindications] == [
        "fish-allergy",
        "pregnancy",
    ]
    assert [c.slug for c in found["prp"].contraindications] == ["pregnancy"]


def test_a_resolved_medical_flag_no_longer_warns() -> None:
    patient = patient_with(("acne-scars", 3))
    flag(patient, "fish-allergy", resolved_at=timezone.now())

    found = suggested(patient)

    assert order(patient) == ["prp", "rejuran-healer"]  # PRP: 4 × 3 beats Rejuran: 3 × 3
    assert not any(s.is_contraindicated for s in found.values())


# --- Soft notes: the usual age band ------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "age"),
    [
        (born_years_before(62), 62),
        (born_years_before(60), 60),
        (born_years_before(24), 24),
        (turning_tomorrow(25), 24),
    ],
    ids=["62", "60", "24", "25 tomorrow"],
)
def test_a_patient_outside_the_usual_ages_gets_a_note(born: date, age: int) -> None:
    found = suggested(patient_with(("thinning-skin", 2), born=born))

    assert found["rejuran-healer"].notes == (AgeNote(age=age, low=25, high=59),)
    assert found["rejuran-healer"].note_texts == [f"Usually for ages 25–59; this patient is {age}."]
    assert found["prp"].notes == ()  # no age band in the clinic material


@pytest.mark.parametrize("age", [25, 40, 59])
def test_a_patient_within_the_usual_ages_gets_no_note(age: int) -> None:
    found = suggested(patient_with(("thinning-skin", 2), born=born_years_before(age)))

    assert found["rejuran-healer"].notes == ()


def test_a_patient_whose_60th_birthday_is_tomorrow_is_still_59() -> None:
    found = suggested(patient_with(("thinning-skin", 2), born=turning_tomorrow(60)))

    assert found["rejuran-healer"].notes == ()


def test_an_age_band_open_at_one_end_says_so() -> None:
    Treatment.objects.filter(slug="skinboosters").update(candidate_age_min=30)
    Treatment.objects.filter(slug="prp").update(candidate_age_max=50)
    patient = patient_with(("fine-lines", 2), born=born_years_before(62))
    young = patient_with(("fine-lines", 2), born=born_years_before(20))

    assert suggested(patient)["prp"].note_texts == [
        "Usually for ages up to 50; this patient is 62."
    ]
    assert suggested(patient)["skinboosters"].notes == ()
    assert suggested(young)["skinboosters"].note_texts == [
        "Usually for ages 30 and over; this patient is 20."
    ]


def test_the_age_is_taken_on_the_clinics_today() -> None:
    patient = patient_with(("thinning-skin", 2), born=date(1960, 1, 1))
    expected = age_on(patient.date_of_birth, timezone.localdate())

    assert patient_suggestions(patient=patient).age == expected


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(1990, 3, 14), date(2026, 3, 13), 35),
        (date(1990, 3, 14), date(2026, 3, 14), 36),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2000, 2, 29), date(2028, 2, 29), 28),
    ],
)
def test_age_counts_completed_years(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


# --- Soft notes: recovery after a recent laser or microneedling ------------------------------


def test_recovery_after_a_procedure_is_noted_on_every_suggestion() -> None:
    patient = patient_with(("post-procedure-recovery", 2), ("dehydration", 2))

    found = suggested(patient)

    assert found["rejuran-healer"].notes == (RecoveryNote(indicated=True),)
    assert found["rejuran-healer"].note_texts == [
        "Suits recovery after a recent laser or microneedling."
    ]
    assert found["prp"].notes == (RecoveryNote(indicated=True),)
    assert found["skinboosters"].note_texts == [
        "Not aimed at recovery after a recent laser or microneedling."
    ]


def test_without_a_recent_procedure_there_is_no_recovery_note() -> None:
    found = suggested(patient_with(("dehydration", 2), ("acne-scars", 1)))

    assert all(s.notes == () for s in found.values())


def test_notes_come_age_first_and_never_change_the_order() -> None:
    concerns = (("dehydration", 3), ("fine-lines", 1), ("post-procedure-recovery", 1))
    old = patient_with(*concerns, born=born_years_before(70))
    within = patient_with(*concerns, born=born_years_before(40))

    assert order(old) == order(within) == ["skinboosters", "rejuran-healer", "prp"]
    assert suggested(old)["rejuran-healer"].notes == (
        AgeNote(age=70, low=25, high=59),
        RecoveryNote(indicated=True),
    )


# --- The course, in words ----------------------------------------------------------------------


def test_the_default_course_is_described_in_words() -> None:
    found = suggested(patient_with(("fine-lines", 2)))

    assert found["rejuran-healer"].protocol_text == (
        "3–4 sessions, 21–28 days apart, maintenance every 6 months"
    )
    assert found["prp"].protocol_text == "3 sessions, 28–42 days apart, maintenance every 6 months"
    assert found["prp"].default_protocol is not None
    assert found["prp"].default_protocol.needs_review
    assert found["rejuran-healer"].default_protocol is not None
    assert not found["rejuran-healer"].default_protocol.needs_review


MONTHLY = "maintenance every 1 month"
FORTNIGHTLY = "2–4 sessions, 14 days apart"


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ({}, f"{FORTNIGHTLY}, {MONTHLY}"),
        ({"interval_days_max": 21}, f"2–4 sessions, 14–21 days apart, {MONTHLY}"),
        ({"maintenance_interval_months": 12}, f"{FORTNIGHTLY}, maintenance every 12 months"),
        ({"maintenance_interval_months": None}, f"{FORTNIGHTLY}, no maintenance sessions"),
        ({"initial_sessions_min": 1, "initial_sessions_max": 1}, f"1 session, {MONTHLY}"),
    ],
    ids=["fixed gap", "gap range", "yearly maintenance", "no maintenance", "single session"],
)  # fmt: skip
def test_courses_of_every_shape_read_naturally(shape: dict[str, Any], words: str) -> None:
    protocol = ProtocolTemplate(
        **{
            "initial_sessions_min": 2,
            "initial_sessions_default": 2,
            "initial_sessions_max": 4,
            "interval_days_min": 14,
            "interval_days_default": 14,
            "interval_days_max": 14,
            "maintenance_interval_months": 1,
            **shape,
        }
    )

    assert protocol_in_words(protocol) == words


def test_a_treatment_without_a_default_course_says_nothing_about_one() -> None:
    ProtocolTemplate.objects.filter(treatment__slug="prp").update(is_default=False)

    prp = suggested(patient_with(("acne-scars", 2)))["prp"]

    assert prp.default_protocol is None
    assert prp.protocol_text == ""


# --- Queries -----------------------------------------------------------------------------------

# concerns (with their concern), open flags (with the condition), active treatments, and their
# indications, contraindications, protocols, milestones
SUGGESTION_QUERIES = 7


@pytest.mark.parametrize("extra", [0, 27], ids=["3 treatments", "30 treatments"])
def test_suggestions_take_the_same_queries_whatever_the_catalogues_size(
    extra: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    add_treatments(extra, concerns=("acne-scars",))
    patient = patient_with(("acne-scars", 2), ("redness-sensitivity", 1))
    flag(patient, "fish-allergy")

    with django_assert_num_queries(SUGGESTION_QUERIES):
        found = patient_suggestions(patient=patient, today=TODAY)
        texts = [
            (s.reason, s.reasons, s.warnings, s.note_texts, s.protocol_text)
            for s in found.suggestions
        ]

    assert len(texts) == 2 + extra


# --- The catalogue's age band and Korean texts -----------------------------------------------


def test_the_seeded_catalogue_has_rejurans_age_band_and_korean_texts() -> None:
    rows = {t.slug: t for t in Treatment.objects.all()}

    assert (rows["rejuran-healer"].candidate_age_min, rows["rejuran-healer"].candidate_age_max) == (
        25,
        59,
    )
    assert (rows["prp"].candidate_age_min, rows["prp"].candidate_age_max) == (None, None)
    assert (rows["skinboosters"].candidate_age_min, rows["skinboosters"].candidate_age_max) == (
        None,
        None,
    )
    assert all(t.primary_effect_ko and t.core_ingredient_ko for t in rows.values())
    assert all(t.typical_candidates_ko for t in rows.values())


@pytest.mark.parametrize(
    ("low", "high", "field"),
    [
        (60, 25, "candidate_age_max"),
        (None, 121, "candidate_age_max"),
        (121, None, "candidate_age_min"),
    ],
)
def test_the_admin_form_explains_a_wrong_age_band(
    low: int | None, high: int | None, field: str
) -> None:
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    rejuran.candidate_age_min, rejuran.candidate_age_max = low, high

    with pytest.raises(ValidationError) as error:
        rejuran.full_clean(exclude=["concerns", "contraindications"])

    assert field in error.value.message_dict


@pytest.mark.parametrize(("low", "high"), [(60, 25), (None, 121), (121, None), (121, 130)])
def test_the_database_refuses_a_wrong_age_band(low: int | None, high: int | None) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Treatment.objects.filter(slug="rejuran-healer").update(
            candidate_age_min=low, candidate_age_max=high
        )


@pytest.mark.parametrize(("low", "high"), [(None, None), (0, 120), (30, 30), (18, None)])
def test_open_or_equal_age_bands_are_allowed(low: int | None, high: int | None) -> None:
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    rejuran.candidate_age_min, rejuran.candidate_age_max = low, high

    rejuran.full_clean(exclude=["concerns", "contraindications"])
    rejuran.save()


def test_the_migration_fills_seeded_texts_but_keeps_an_admins_wording() -> None:
    migration = importlib.import_module(
        "treatments.migrations.0003_candidate_ages_and_korean_texts"
    )
    Treatment.objects.update(
        core_ingredient_ko="",
        primary_effect_ko="",
        typical_candidates_ko="",
        combines_with_ko="",
        candidate_age_min=None,
        candidate_age_max=None,
    )
    Treatment.objects.filter(slug="prp").update(primary_effect="Growth-factor regeneration")
    Treatment.objects.filter(slug="skinboosters").update(core_ingredient_ko="HA")

    migration.fill_seeded_texts(apps, None)

    rows = {t.slug: t for t in Treatment.objects.all()}
    assert rows["rejuran-healer"].primary_effect_ko == "세포 재생과 항염 효과"
    assert (rows["rejuran-healer"].candidate_age_min, rows["rejuran-healer"].candidate_age_max) == (
        25,
        59,
    )
    assert rows["prp"].primary_effect_ko == ""  # the English was reworded: not ours to translate
    assert rows["prp"].core_ingredient_ko == "환자 본인 혈장의 성장인자"
    assert rows["skinboosters"].core_ingredient_ko == "HA"  # already written by an admin
    assert rows["skinboosters"].combines_with_ko == ""  # nothing seeded in English either
