"""Changes to patient records, with their concerns, medical flags and consents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from clinic.roles import Role
from patients.models import Consent, ConsentKind, Language, MedicalFlag, Patient, PatientConcern
from patients.selectors import patient_duplicates, patients_with_login_matching
from scheduling.models import MessageKind, PatientMessage
from scheduling.outbox import patient_message_queue
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


# --- Portal logins ----------------------------------------------------------------------------

# A forgotten-password link is sent at most this often to one patient, however often asked.
PASSWORD_LINK_EVERY = timedelta(minutes=5)


def _login_username(patient: Patient) -> str:
    """The patient's email when they have one, otherwise their phone number's digits: what they
    would type; a made-up name only when another login already has it."""
    candidates = [patient.email.strip().lower(), patient.phone_digits, f"patient{patient.pk}"]
    taken = set(
        User.objects.filter(username__in=[c for c in candidates if c]).values_list(
            "username", flat=True
        )
    )
    return next(c for c in candidates if c and c not in taken)


@transaction.atomic
def patient_login_create(*, patient: Patient, created_by: User) -> User:
    """Give a patient a portal login (the *Patient* role, no password yet) and queue a message
    with a link to choose their password, by their reminder channel. Refused when they already
    have a login, or have neither an email nor a phone number to receive the link."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.user_id is not None:
        raise ValidationError(
            {
                "user": ValidationError(
                    gettext("%(patient)s already has a portal login.")
                    % {"patient": patient.full_name},
                    code="exists",
                )
            }
        )
    if not (patient.email or patient.phone):
        raise ValidationError(
            {
                "user": ValidationError(
                    gettext(
                        "Add an email address or a phone number first: the link to choose "
                        "a password is sent there."
                    ),
                    code="no_contact",
                )
            }
        )
    user = User(
        username=_login_username(patient),
        first_name=patient.given_name[:150],
        last_name=patient.family_name[:150],
        email=patient.email,
    )
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=Role.PATIENT.value))
    patient.user = user
    patient._history_user = created_by  # type: ignore[attr-defined]
    patient.save(update_fields=["user", "updated_at"])
    patient_message_queue(patient=patient, kind=MessageKind.PORTAL_INVITE)
    return user


def patient_password_link_send(*, patient: Patient, now: datetime | None = None) -> bool:
    """Queue a link to choose a new password, by the patient's channel, unless one was queued
    in the last few minutes. False when nothing was queued."""
    now = now or timezone.now()
    if patient.user_id is None:
        return False
    recent = PatientMessage.objects.filter(
        patient=patient,
        kind__in=[MessageKind.PASSWORD_RESET, MessageKind.PORTAL_INVITE],
        created_at__gte=now - PASSWORD_LINK_EVERY,
    )
    if recent.exists():
        return False
    return (
        patient_message_queue(patient=patient, kind=MessageKind.PASSWORD_RESET, now=now) is not None
    )


@transaction.atomic
def portal_password_forgotten(*, identifier: str, now: datetime | None = None) -> None:
    """Someone forgot their password and gave a username, email or phone number: the patient it
    belongs to (with an active portal login) gets a link by their usual channel. Says nothing
    about whether anyone matched, so the answer cannot reveal who has a login."""
    for patient in patients_with_login_matching(identifier=identifier):
        patient_password_link_send(patient=patient, now=now)


def patient_language_set(*, patient: Patient, language: str, changed_by: User) -> Patient:
    """The language of the patient's pages and of every message they receive."""
    if language not in Language.values:
        raise ValidationError(
            {"language": ValidationError(gettext("Choose English or Korean."), code="invalid")}
        )
    if patient.preferred_language != language:
        patient.preferred_language = language
        patient._history_user = changed_by  # type: ignore[attr-defined]
        patient.save(update_fields=["preferred_language", "updated_at"])
    return patient
