"""Changes to patient records, with their concerns and medical flags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from patients.models import MedicalFlag, Patient, PatientConcern
from treatments.models import Contraindication, SkinConcern


@transaction.atomic
def patient_save(
    *,
    fields: Mapping[str, Any],
    changed_by: User,
    patient: Patient | None = None,
    concerns: Iterable[Mapping[str, Any]] | None = None,
    flags: Iterable[tuple[Contraindication, str]] | None = None,
) -> Patient:
    """Create or update a patient.

    Given ``concerns`` (dicts with concern, area, severity, note) replace the recorded ones.
    Given ``flags`` are the conditions that apply now: new ones are recorded (with who recorded
    them), and open ones no longer listed are marked resolved, never deleted, so the record
    keeps what was known when earlier courses were booked.
    """
    patient = patient or Patient()
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.full_clean(exclude=["user"])
    patient._history_user = changed_by  # type: ignore[attr-defined]
    patient.save()
    if concerns is not None:
        _replace_concerns(patient, list(concerns))
    if flags is not None:
        _apply_flags(
            patient,
            {condition.pk: (condition, note) for condition, note in flags},
            changed_by,
        )
    return patient


def _replace_concerns(patient: Patient, concerns: list[Mapping[str, Any]]) -> None:
    existing = {(c.concern_id, c.area): c for c in patient.concerns.all()}
    keep = set()
    for item in concerns:
        concern: SkinConcern = item["concern"]
        key = (concern.pk, item["area"])
        keep.add(key)
        record = existing.get(key) or PatientConcern(
            patient=patient, concern=concern, area=item["area"]
        )
        record.severity = item["severity"]
        record.note = item.get("note", "")
        record.save()
    for key, record in existing.items():
        if key not in keep:
            record.delete()


def _apply_flags(
    patient: Patient, wanted: dict[int, tuple[Contraindication, str]], changed_by: User
) -> None:
    open_flags = {f.condition_id: f for f in patient.medical_flags.filter(resolved_at__isnull=True)}
    now = timezone.now()
    for condition_id, flag in open_flags.items():
        if condition_id not in wanted:
            flag.resolved_at = now
            flag._history_user = changed_by  # type: ignore[attr-defined]
            flag.save(update_fields=["resolved_at"])
        elif flag.note != wanted[condition_id][1]:
            flag.note = wanted[condition_id][1]
            flag._history_user = changed_by  # type: ignore[attr-defined]
            flag.save(update_fields=["note"])
    for condition_id, (condition, note) in wanted.items():
        if condition_id not in open_flags:
            MedicalFlag.objects.create(
                patient=patient, condition=condition, note=note, recorded_by=changed_by
            )
