"""Which treatments suit a patient's concerns, best first, with the reasons and any warnings.

``rank_treatments`` is pure: concerns, flags and the catalogue in, ranked suggestions out.
A treatment scores the sum of indication strength (1–5) × concern severity (1–3) over the
patient's concerns it treats. Treatments the patient has a contraindication for stay in the list,
with the warning, after every treatment without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Prefetch

from patients.models import MedicalFlag, Patient, PatientConcern
from treatments.models import BenefitLevel, Indication, ProtocolTemplate, Treatment

BENEFIT_RANK = {BenefitLevel.HIGH: 3, BenefitLevel.MEDIUM: 2, BenefitLevel.MILD: 1}


@dataclass(frozen=True)
class Suggestion:
    treatment: Treatment
    score: int
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def default_protocol(self) -> ProtocolTemplate | None:
        protocols = [p for p in self.treatment.protocols.all() if p.is_default]
        return protocols[0] if protocols else None


def rank_treatments(
    *,
    concerns: Sequence[PatientConcern],
    flagged_condition_ids: set[int],
    treatments: Sequence[Treatment],
) -> list[Suggestion]:
    suggestions = []
    for treatment in treatments:
        strengths = {i.concern_id: i for i in treatment.indications.all()}
        score, reasons = 0, []
        for concern in concerns:
            indication = strengths.get(concern.concern_id)
            if indication is None:
                continue
            score += indication.strength * concern.severity
            reasons.append(
                f"{concern.concern.name} ({concern.get_area_display().lower()}, "
                f"{concern.get_severity_display().lower()}): indication strength "
                f"{indication.strength}/5"
            )
        if not score:
            continue
        warnings = [
            f"Contraindicated: {condition.name}"
            for condition in treatment.contraindications.all()
            if condition.pk in flagged_condition_ids
        ]
        suggestions.append(Suggestion(treatment, score, reasons, warnings))
    return sorted(
        suggestions,
        key=lambda s: (
            bool(s.warnings),
            -s.score,
            -BENEFIT_RANK.get(BenefitLevel(s.treatment.long_term_benefit), 0),
            s.treatment.name,
        ),
    )


def treatment_suggestions(*, patient: Patient) -> list[Suggestion]:
    """Ranked suggestions for a patient (5 queries whatever the catalogue's size)."""
    concerns = list(patient.concerns.select_related("concern"))
    flagged = set(
        MedicalFlag.objects.filter(patient=patient, resolved_at__isnull=True).values_list(
            "condition_id", flat=True
        )
    )
    treatments = Treatment.objects.filter(is_active=True).prefetch_related(
        Prefetch("indications", queryset=Indication.objects.select_related("concern")),
        "contraindications",
        "protocols__milestones",
    )
    return rank_treatments(
        concerns=concerns, flagged_condition_ids=flagged, treatments=list(treatments)
    )
