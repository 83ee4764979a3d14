"""Reads about patients, scoped and screened."""

from __future__ import annotations

from patients.models import MedicalFlag, Patient
from treatments.models import Contraindication, Treatment


def patient_contraindications(*, patient: Patient, treatment: Treatment) -> list[Contraindication]:
    """The patient's open medical flags that rule the treatment out (1 query)."""
    flags = (
        MedicalFlag.objects.filter(
            patient=patient,
            resolved_at__isnull=True,
            condition__treatments=treatment,
        )
        .select_related("condition")
        .order_by("condition__name")
    )
    return [flag.condition for flag in flags]
