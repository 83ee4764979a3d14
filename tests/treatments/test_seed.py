"""The starting catalogue: section-3 facts are there after setup, and re-seeding changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from scheduling.models import OpeningHours, ReminderRule
from treatments.models import (
    BenefitLevel,
    Contraindication,
    Indication,
    ProtocolTemplate,
    SkinConcern,
    TextureChange,
    Treatment,
)
from treatments.seed import catalogue_seed

pytestmark = pytest.mark.django_db


def catalogue_snapshot() -> dict[str, list[tuple[object, ...]]]:
    return {
        model.__name__: sorted(model.objects.values_list(), key=repr)
        for model in (
            Treatment,
            SkinConcern,
            Contraindication,
            Indication,
            ProtocolTemplate,
            ReminderRule,
            OpeningHours,
        )
    }


def test_the_three_treatments_carry_the_clinic_facts() -> None:
    facts = {
        t.slug: (t.core_ingredient, t.primary_effect, t.texture_change, t.long_term_benefit)
        for t in Treatment.objects.all()
    }

    assert facts == {
        "rejuran-healer": (
            "Polynucleotides (PN, salmon DNA)",
            "Cell regeneration and anti-inflammation",
            TextureChange.MODERATE,
            BenefitLevel.HIGH,
        ),
        "skinboosters": (
            "Hyaluronic acid",
            "Deep hydration and slight plumping",
            TextureChange.IMMEDIATE,
            BenefitLevel.MILD,
        ),
        "prp": (
            "The patient's own plasma growth factors",
            "Regeneration from growth factors",
            TextureChange.VARIABLE,
            BenefitLevel.MEDIUM,
        ),
    }


def test_rejuran_protocol_is_three_to_four_sessions_three_to_four_weeks_apart() -> None:
    protocol = ProtocolTemplate.objects.get(treatment__slug="rejuran-healer", is_default=True)

    assert (protocol.initial_sessions_min, protocol.initial_sessions_max) == (3, 4)
    assert (protocol.interval_days_min, protocol.interval_days_max) == (21, 28)
    assert protocol.maintenance_interval_months == 6
    assert protocol.needs_review is False
    assert [
        (m.after_session, m.months_from_start_min, m.months_from_start_max)
        for m in protocol.milestones.all()
    ] == [(2, None, None), (None, 2, 3)]


def test_rejuran_indications_are_the_eight_concerns_of_the_clinic_material() -> None:
    rejuran = Treatment.objects.get(slug="rejuran-healer")

    assert set(rejuran.concerns.values_list("slug", flat=True)) == {
        "fine-lines",
        "enlarged-pores",
        "redness-sensitivity",
        "acne-scars",
        "thinning-skin",
        "post-acne-pigmentation",
        "loss-of-elasticity",
        "post-procedure-recovery",
    }
    assert "fish-allergy" in rejuran.contraindications.values_list("slug", flat=True)
    assert "Mild swelling or redness for 1–2 days" in rejuran.aftercare
    assert rejuran.aftercare_ko


@pytest.mark.parametrize("slug", ["skinboosters", "prp"])
def test_protocols_not_in_the_material_are_marked_as_clinic_defaults(slug: str) -> None:
    protocol = ProtocolTemplate.objects.get(treatment__slug=slug, is_default=True)

    assert protocol.needs_review is True
    assert "Clinic default to review" in protocol.notes


def test_prp_screens_anticoagulants() -> None:
    prp = Treatment.objects.get(slug="prp")

    assert "anticoagulants" in prp.contraindications.values_list("slug", flat=True)


def test_running_the_seed_again_changes_nothing() -> None:
    before = catalogue_snapshot()

    call_command("seed")
    call_command("seed")

    assert catalogue_snapshot() == before


def test_reseeding_keeps_an_admins_edits() -> None:
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    rejuran.session_minutes = 60
    rejuran.save(update_fields=["session_minutes"])
    rejuran.contraindications.remove(Contraindication.objects.get(slug="pregnancy"))

    catalogue_seed()

    rejuran.refresh_from_db()
    assert rejuran.session_minutes == 60
    assert not rejuran.contraindications.filter(slug="pregnancy").exists()


def test_seed_rebuilds_a_deleted_treatment_with_its_protocol() -> None:
    Treatment.objects.filter(slug="prp").delete()

    report = catalogue_seed()

    assert report.created == ["treatment prp"]
    prp = Treatment.objects.get(slug="prp")
    assert prp.protocols.get().initial_sessions_default == 3
    assert prp.indications.count() == 5
