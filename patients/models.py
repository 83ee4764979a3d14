"""Patients, what they come in for, and what must be screened before treating them."""

from __future__ import annotations

from contextlib import suppress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Concat, Lower, Replace
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clinic.formatting import format_day, local_day
from patients.validators import (
    notes_length,
    phone_e164,
    phone_shown,
    validate_birth_date,
    validate_phone,
    validate_visible_text,
)
from treatments.models import Contraindication, SkinConcern, Treatment


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    KOREAN = "ko", "한국어"


class ReminderChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


def _digits(phone: F) -> Func:
    """The digits of a phone number as written: "+82 10-1234-5678" → "821012345678"."""
    expression: Func | F = phone
    for character in ("+", "-", " ", "(", ")", "."):
        expression = Replace(expression, Value(character), Value(""))
    return expression  # type: ignore[return-value]


class Patient(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient",
        verbose_name=_("portal login"),
    )
    family_name = models.CharField(
        _("family name"), max_length=80, validators=[validate_visible_text]
    )
    given_name = models.CharField(
        _("given name"), max_length=80, validators=[validate_visible_text]
    )
    date_of_birth = models.DateField(_("date of birth"), validators=[validate_birth_date])
    # Kept in E.164 ("+821012345678"): clean() rewrites what staff type.
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[validate_phone])
    email = models.EmailField(_("email"), blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.KOREAN
    )
    reminder_channel = models.CharField(
        _("reminders by"),
        max_length=8,
        choices=ReminderChannel.choices,
        default=ReminderChannel.SMS,
    )
    notes = models.TextField(_("notes"), blank=True, validators=[notes_length])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept by the database, for search and duplicate checks: the phone number's digits, and one
    # lower-case text with the name written both ways round (이지우, "ji-woo lee"), the digits
    # and the email. A trigram index serves "contains" searches on PostgreSQL.
    phone_digits = models.GeneratedField(
        expression=_digits(F("phone")),
        output_field=models.CharField(max_length=32),
        db_persist=True,
    )
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                F("family_name"),
                F("given_name"),
                Value(" "),
                F("given_name"),
                Value(" "),
                F("family_name"),
                Value(" "),
                _digits(F("phone")),
                Value(" "),
                F("email"),
                output_field=models.CharField(),
            )
        ),
        output_field=models.CharField(max_length=400),
        db_persist=True,
    )

    history = HistoricalRecords(excluded_fields=["phone_digits", "search_text"])

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        indexes = [models.Index(fields=["family_name", "given_name"], name="patient_name_idx")]

    def __str__(self) -> str:
        return self.full_name

    def clean(self) -> None:
        if self.phone:
            # A number that cannot be read stays as typed: the field's validator names it.
            with suppress(ValidationError):
                self.phone = phone_e164(self.phone)

    @property
    def phone_shown(self) -> str:
        return phone_shown(self.phone) if self.phone else ""

    @property
    def full_name(self) -> str:
        # Korean convention (family name first) reads naturally in English clinics too.
        return f"{self.family_name} {self.given_name}"


class Severity(models.IntegerChoices):
    MILD = 1, _("Mild")
    MODERATE = 2, _("Moderate")
    SEVERE = 3, _("Severe")


class FaceArea(models.TextChoices):
    FULL_FACE = "full_face", _("Full face")
    FOREHEAD = "forehead", _("Forehead")
    UNDER_EYES = "under_eyes", _("Under the eyes")
    CHEEKS = "cheeks", _("Cheeks")
    NOSE = "nose", _("Nose")
    JAWLINE = "jawline", _("Jawline")
    NECK = "neck", _("Neck")
    DECOLLETAGE = "decolletage", _("Décolletage")
    HANDS = "hands", _("Hands")


class PatientConcern(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="concerns")
    concern = models.ForeignKey(
        SkinConcern, on_delete=models.PROTECT, related_name="patient_concerns"
    )
    severity = models.PositiveSmallIntegerField(
        _("severity"),
        choices=Severity.choices,
        default=Severity.MODERATE,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
    )
    area = models.CharField(
        _("area"), max_length=16, choices=FaceArea.choices, default=FaceArea.FULL_FACE
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    noted_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-severity", "concern__name"]
        verbose_name = _("skin concern")
        verbose_name_plural = _("skin concerns")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "concern", "area"],
                name="patient_concern_unique_area",
                violation_error_message=_("This concern is already recorded for that area."),
            ),
            models.CheckConstraint(
                condition=Q(severity__gte=1, severity__lte=3),
                name="patient_concern_severity_1_to_3",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.concern} ({self.get_area_display()}, {self.get_severity_display()})"


class MedicalFlag(models.Model):
    """A condition recorded for a patient, screened against treatments' contraindications."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="medical_flags")
    condition = models.ForeignKey(
        Contraindication,
        on_delete=models.PROTECT,
        related_name="patient_flags",
        verbose_name=_("condition"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(
        _("no longer applies since"),
        null=True,
        blank=True,
        help_text=_("Set when the condition has passed, e.g. after a pregnancy."),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["condition__name"]
        verbose_name = _("medical flag")
        verbose_name_plural = _("medical flags")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "condition"],
                condition=Q(resolved_at__isnull=True),
                name="medical_flag_one_open_per_condition",
                violation_error_message=_("This condition is already flagged for the patient."),
            ),
        ]

    def __str__(self) -> str:
        return str(self.condition)


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", _("Treatment (informed consent)")
    DATA_PROCESSING = "data_processing", _("Processing of health data")
    PHOTOGRAPHY = "photography", _("Before/after photographs")
    REMINDERS = "reminders", _("Appointment reminders by email or text")


class Consent(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("consent to"), max_length=24, choices=ConsentKind.choices)
    treatment = models.ForeignKey(
        Treatment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consents",
        help_text=_("For treatment consent: which treatment the form covered."),
    )
    form_version = models.CharField(_("form version"), max_length=40, blank=True)
    given_at = models.DateTimeField(_("given at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-given_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=models.F("given_at")),
                name="consent_withdrawn_after_given",
                violation_error_message=_("Consent cannot be withdrawn before it was given."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="treatment") | Q(treatment__isnull=False),
                name="consent_treatment_names_treatment",
                violation_error_message=_("Treatment consent must say which treatment it covers."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({format_day(local_day(self.given_at))})"


class AccessKind(models.TextChoices):
    PAGE = "page", _("patient page")
    API = "api", _("API")
    ADMIN = "admin", _("admin")
    SEARCH = "search", _("search result")


class PatientAccess(models.Model):
    """Someone saw this patient's record: who, when, from which address, through what.

    Written only by ``patients.access_log.patient_access_record`` and never changed. The row
    outlives the patient record (no database constraint, nothing cascades), since who looked at
    a record matters most after it has gone."""

    patient = models.ForeignKey(
        Patient,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("patient"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    at = models.DateTimeField(_("when"))
    address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    kind = models.CharField(_("through"), max_length=10, choices=AccessKind.choices)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("patient record access")
        verbose_name_plural = _("patient record accesses")
        # The access log page reads one patient's newest rows first.
        indexes = [models.Index(fields=["patient", "-at"], name="patient_access_latest_idx")]

    def __str__(self) -> str:
        return f"{self.patient_id} · {self.at:%Y-%m-%d %H:%M}"
