"""Changes to patient records, with their concerns, medical flags and consents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from patients.models import Consent, ConsentKind, MedicalFlag, Patient, PatientConcern
from patients.selectors import patient_duplicates
from treatments.models import Contraindication, SkinConcern

# Consents recorded on the patient's record; treatment consent names a treatment and is taken
# with each course.
GENERAL_CONSENTS = (ConsentKind.DATA_PROCESSING, ConsentKind.REMINDERS, ConsentKind.PHOTOGRAPHY)


@transaction.atomic
def patient_save(
    *,
    fields: Mapping[str, Any],
    changed_by: User,
    patient: Patient | None = None,
    concerns: Iterable[Mapping[str, Any]] | None = None,
    flags: Iterable[tuple[Contraindication, str]] | None = None,
    consents: Iterable[str] | None = None,
) -> Patient:
    """Create or update a patient.

    Given ``concerns`` (dicts with concern, area, severity, note) replace the recorded ones.
    Given ``flags`` are the conditions that apply now: new ones are recorded (with who recorded
    them), and open ones no longer listed are marked resolved, never deleted, so the record
    keeps what was known when earlier courses were booked. Given ``consents`` are the general
    consent kinds the patient gives now: new ones are recorded, ones left out are withdrawn.
    A phone number or email another patient already has is refused, naming that patient.
    """
    patient = patient or Patient()
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.full_clean(exclude=["user"])
    patient_check_contact(patient)
    patient._history_user = changed_by  # type: ignore[attr-defined]
    patient.save()
    if concerns is not None:
        patient_concerns_set(patient=patient, concerns=concerns, changed_by=changed_by)
    if flags is not None:
        patient_flags_set(patient=patient, flags=flags, changed_by=changed_by)
    if consents is not None:
        _apply_consents(patient, set(consents), changed_by)
    return patient


def patient_flags_set(
    *, patient: Patient, flags: Iterable[tuple[Contraindication, str]], changed_by: User
) -> None:
    """Record the conditions that apply now; open flags left out are resolved, not deleted."""
    flags = list(flags)
    wanted = {condition.pk: (condition, note) for condition, note in flags}
    if len(wanted) != len(flags):
        message = gettext("A condition is listed twice.")
        raise ValidationError({"medical_flags": ValidationError(message, code="duplicate")})
    _apply_flags(patient, wanted, changed_by)


def patient_concerns_set(
    *, patient: Patient, concerns: Iterable[Mapping[str, Any]], changed_by: User
) -> None:
    """Replace the patient's recorded concerns (dicts with concern, area, severity, note)."""
    _replace_concerns(patient, list(concerns), changed_by)


def patient_check_contact(patient: Patient) -> None:
    """Refuse a phone number or email that another patient already has, naming that patient."""
    duplicates = patient_duplicates(phone=patient.phone, email=patient.email, exclude_id=patient.pk)
    errors = {}
    if "phone" in duplicates:
        errors["phone"] = ValidationError(
            gettext("%(patient)s already has this phone number.")
            % {"patient": duplicates["phone"].full_name},
            code="duplicate",
        )
    if "email" in duplicates:
        errors["email"] = ValidationError(
            gettext("%(patient)s already has this email address.")
            % {"patient": duplicates["email"].full_name},
            code="duplicate",
        )
    if errors:
        raise ValidationError(errors)


def _replace_concerns(
    patient: Patient, concerns: list[Mapping[str, Any]], changed_by: User
) -> None:
    keys = [(item["concern"].pk, item["area"]) for item in concerns]
    if len(keys) != len(set(keys)):
        raise ValidationError(
            {
                "concerns": ValidationError(
                    gettext("A concern is listed twice for the same area."), code="duplicate"
                )
            }
        )
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
        record.full_clean(exclude=["patient", "concern"], validate_unique=False)
        record._history_user = changed_by  # type: ignore[attr-defined]
        record.save()
    for key, record in existing.items():
        if key not in keep:
            record._history_user = changed_by  # type: ignore[attr-defined]
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
            flag = MedicalFlag(
                patient=patient, condition=condition, note=note, recorded_by=changed_by
            )
            flag._history_user = changed_by  # type: ignore[attr-defined]
            flag.save()


def _apply_consents(patient: Patient, given: set[str], changed_by: User) -> None:
    unknown = given - set(GENERAL_CONSENTS)
    if unknown:
        raise ValidationError(
            {
                "consents": ValidationError(
                    gettext("Unknown consent: %(kinds)s.") % {"kinds": ", ".join(sorted(unknown))},
                    code="invalid_choice",
                )
            }
        )
    now = timezone.now()
    current = {
        c.kind: c
        for c in patient.consents.filter(kind__in=GENERAL_CONSENTS, withdrawn_at__isnull=True)
    }
    for kind, consent in current.items():
        if kind not in given:
            consent.withdrawn_at = now
            consent._history_user = changed_by  # type: ignore[attr-defined]
            consent.save(update_fields=["withdrawn_at"])
    for kind in given - set(current):
        consent = Consent(patient=patient, kind=kind, given_at=now, recorded_by=changed_by)
        consent._history_user = changed_by  # type: ignore[attr-defined]
        consent.save()
