"""The treatment catalogue: treatments, the concerns they treat, what rules them out, and the
protocols a course follows. Clinic admins edit all of it; the seed only provides a start."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clinic.i18n import localized

# Explicit limits: meaningful to a clinic admin, and the same on every database (otherwise the
# API contract would inherit each backend's integer range).
SESSION_COUNT_RANGE = [MinValueValidator(1), MaxValueValidator(20)]
INTERVAL_DAYS_RANGE = [MinValueValidator(1), MaxValueValidator(365)]
MONTHS_RANGE = [MinValueValidator(1), MaxValueValidator(60)]
MONTHS_FROM_START = [MinValueValidator(0), MaxValueValidator(60)]
AGE_RANGE = [MinValueValidator(0), MaxValueValidator(120)]


class TextureChange(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediate")
    MODERATE = "moderate", _("Moderate")
    GRADUAL = "gradual", _("Gradual")
    VARIABLE = "variable", _("Variable")


class BenefitLevel(models.TextChoices):
    MILD = "mild", _("Mild")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class SkinConcern(models.Model):
    """A skin concern a patient comes in with, e.g. enlarged pores or thinning under-eye skin."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name (English)"), max_length=120, unique=True)
    name_ko = models.CharField(_("name (Korean)"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("skin concern")
        verbose_name_plural = _("skin concerns")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return localized(self, "name")


class Contraindication(models.Model):
    """A condition that rules a treatment out, e.g. a salmon allergy for salmon-derived PN.

    Patients' medical flags point at these rows, so screening at booking is a set intersection.
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name (English)"), max_length=120, unique=True)
    name_ko = models.CharField(_("name (Korean)"), max_length=120, blank=True)
    description = models.TextField(_("why it matters"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("contraindication")
        verbose_name_plural = _("contraindications")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return localized(self, "name")


class Treatment(models.Model):
    name = models.CharField(_("name (English)"), max_length=120, unique=True)
    name_ko = models.CharField(_("name (Korean)"), max_length=120, blank=True)
    slug = models.SlugField(unique=True)
    core_ingredient = models.CharField(_("core ingredient"), max_length=200)
    core_ingredient_ko = models.CharField(_("core ingredient (Korean)"), max_length=200, blank=True)
    primary_effect = models.CharField(_("primary effect"), max_length=200)
    primary_effect_ko = models.CharField(_("primary effect (Korean)"), max_length=200, blank=True)
    texture_change = models.CharField(
        _("texture change"), max_length=16, choices=TextureChange.choices
    )
    long_term_benefit = models.CharField(
        _("long-term benefit"), max_length=16, choices=BenefitLevel.choices
    )
    description = models.TextField(_("description (English)"), blank=True)
    description_ko = models.TextField(_("description (Korean)"), blank=True)
    typical_candidates = models.TextField(_("typical candidates"), blank=True)
    typical_candidates_ko = models.TextField(_("typical candidates (Korean)"), blank=True)
    # The usual age band: outside it a suggestion carries a soft note, it is never ruled out.
    candidate_age_min = models.PositiveSmallIntegerField(
        _("usual candidates from age"),
        validators=AGE_RANGE,
        null=True,
        blank=True,
        help_text=_("Leave empty when there is no usual lower age."),
    )
    candidate_age_max = models.PositiveSmallIntegerField(
        _("usual candidates up to age"),
        validators=AGE_RANGE,
        null=True,
        blank=True,
        help_text=_("Inclusive: 59 means up to and including 59. Leave empty for no upper age."),
    )
    combines_with = models.TextField(_("combines well with"), blank=True)
    combines_with_ko = models.TextField(_("combines well with (Korean)"), blank=True)
    session_minutes = models.PositiveSmallIntegerField(
        _("session length (minutes)"),
        validators=[MinValueValidator(5), MaxValueValidator(480)],
        help_text=_("How long the practitioner and room are booked for one session."),
    )
    aftercare = models.TextField(
        _("aftercare advice (English)"),
        blank=True,
        help_text=_("Sent to the patient the evening after each session."),
    )
    aftercare_ko = models.TextField(_("aftercare advice (Korean)"), blank=True)
    preparation = models.TextField(
        _("how to get ready (English)"),
        blank=True,
        help_text=_("Shown to the patient with their next session: what to do before coming."),
    )
    preparation_ko = models.TextField(_("how to get ready (Korean)"), blank=True)
    is_active = models.BooleanField(
        _("offered"), default=True, help_text=_("Untick to stop offering it for new courses.")
    )
    concerns = models.ManyToManyField(
        SkinConcern, through="Indication", related_name="treatments", verbose_name=_("concerns")
    )
    contraindications = models.ManyToManyField(
        Contraindication,
        blank=True,
        related_name="treatments",
        verbose_name=_("contraindications"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[contraindications])

    class Meta:
        ordering = ["name"]
        verbose_name = _("treatment")
        verbose_name_plural = _("treatments")
        constraints = [
            models.CheckConstraint(
                condition=Q(session_minutes__gte=5, session_minutes__lte=480),
                name="treatment_session_minutes_range",
                violation_error_message=_("A session must last between 5 and 480 minutes."),
            ),
            models.CheckConstraint(
                condition=(Q(candidate_age_min__isnull=True) | Q(candidate_age_min__lte=120))
                & (Q(candidate_age_max__isnull=True) | Q(candidate_age_max__lte=120))
                & (
                    Q(candidate_age_min__isnull=True)
                    | Q(candidate_age_max__isnull=True)
                    | Q(candidate_age_min__lte=F("candidate_age_max"))
                ),
                name="treatment_candidate_age_range",
                violation_error_message=_(
                    "Candidate ages must be between 0 and 120, the lower one first."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return localized(self, "name")

    @property
    def display_aftercare(self) -> str:
        return localized(self, "aftercare")

    @property
    def display_preparation(self) -> str:
        return localized(self, "preparation")

    def clean(self) -> None:
        # A field-level message for the admin form; the check constraint is the guarantee.
        low, high = self.candidate_age_min, self.candidate_age_max
        if low is not None and high is not None and low > high:
            raise ValidationError(
                {
                    "candidate_age_max": gettext(
                        "The upper age (%(high)s) cannot be below the lower age (%(low)s)."
                    )
                    % {"high": high, "low": low}
                }
            )


class Indication(models.Model):
    """A concern a treatment addresses; strength orders suggestions (5 = first choice)."""

    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="indications")
    concern = models.ForeignKey(SkinConcern, on_delete=models.PROTECT, related_name="indications")
    strength = models.PositiveSmallIntegerField(
        _("strength"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 = can help, 5 = first choice for this concern."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-strength", "concern__name"]
        verbose_name = _("indication")
        verbose_name_plural = _("indications")
        constraints = [
            models.UniqueConstraint(
                fields=["treatment", "concern"],
                name="indication_unique_treatment_concern",
                violation_error_message=_("This concern is already listed for the treatment."),
            ),
            models.CheckConstraint(
                condition=Q(strength__gte=1, strength__lte=5),
                name="indication_strength_1_to_5",
                violation_error_message=_("Strength must be between 1 and 5."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.treatment} → {self.concern} ({self.strength})"


class ProtocolTemplate(models.Model):
    """How a course of a treatment runs: how many sessions, how far apart, when maintenance."""

    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="protocols")
    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(
        _("default for the treatment"),
        default=False,
        help_text=_("Offered first when booking; one per treatment."),
    )
    initial_sessions_min = models.PositiveSmallIntegerField(
        _("fewest sessions"), validators=SESSION_COUNT_RANGE
    )
    initial_sessions_max = models.PositiveSmallIntegerField(
        _("most sessions"), validators=SESSION_COUNT_RANGE
    )
    initial_sessions_default = models.PositiveSmallIntegerField(
        _("usual number of sessions"), validators=SESSION_COUNT_RANGE
    )
    interval_days_min = models.PositiveSmallIntegerField(
        _("shortest gap (days)"), validators=INTERVAL_DAYS_RANGE
    )
    interval_days_max = models.PositiveSmallIntegerField(
        _("longest gap (days)"), validators=INTERVAL_DAYS_RANGE
    )
    interval_days_default = models.PositiveSmallIntegerField(
        _("usual gap (days)"), validators=INTERVAL_DAYS_RANGE
    )
    maintenance_interval_months = models.PositiveSmallIntegerField(
        _("maintenance every (months)"),
        validators=MONTHS_RANGE,
        null=True,
        blank=True,
        help_text=_("Leave empty when the course has no maintenance sessions."),
    )
    needs_review = models.BooleanField(
        _("clinic default to review"),
        default=False,
        help_text=_("Set on shipped defaults that are not from the manufacturer's material."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["treatment__name", "-is_default", "name"]
        verbose_name = _("protocol template")
        verbose_name_plural = _("protocol templates")
        constraints = [
            models.UniqueConstraint(
                fields=["treatment", "name"],
                name="protocol_unique_name_per_treatment",
                violation_error_message=_("The treatment already has a protocol with this name."),
            ),
            models.UniqueConstraint(
                fields=["treatment"],
                condition=Q(is_default=True),
                name="protocol_one_default_per_treatment",
                violation_error_message=_("Only one protocol can be the treatment's default."),
            ),
            models.CheckConstraint(
                condition=Q(initial_sessions_min__gte=1)
                & Q(initial_sessions_min__lte=F("initial_sessions_default"))
                & Q(initial_sessions_default__lte=F("initial_sessions_max")),
                name="protocol_sessions_min_default_max",
                violation_error_message=_("Sessions must satisfy 1 ≤ fewest ≤ usual ≤ most."),
            ),
            models.CheckConstraint(
                condition=Q(interval_days_min__gte=1)
                & Q(interval_days_min__lte=F("interval_days_default"))
                & Q(interval_days_default__lte=F("interval_days_max")),
                name="protocol_interval_min_default_max",
                violation_error_message=_("Gaps must satisfy 1 ≤ shortest ≤ usual ≤ longest."),
            ),
            models.CheckConstraint(
                condition=Q(maintenance_interval_months__isnull=True)
                | Q(maintenance_interval_months__gte=1),
                name="protocol_maintenance_months_positive",
                violation_error_message=_("Maintenance must be at least one month apart."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.treatment}: {self.name}"

    def clean(self) -> None:
        # Field-level messages for the admin form; the check constraints above are the guarantee.
        errors: dict[str, str] = {}
        sessions = (
            self.initial_sessions_min,
            self.initial_sessions_default,
            self.initial_sessions_max,
        )
        if None not in sessions:
            low, usual, high = sessions
            if low < 1:
                errors["initial_sessions_min"] = gettext("A course needs at least one session.")
            elif low > high:
                errors["initial_sessions_max"] = gettext(
                    "The most sessions (%(high)s) cannot be fewer than the fewest (%(low)s)."
                ) % {"high": high, "low": low}
            elif not low <= usual <= high:
                errors["initial_sessions_default"] = gettext(
                    "The usual number of sessions must be between %(low)s and %(high)s."
                ) % {"low": low, "high": high}
        gaps = (self.interval_days_min, self.interval_days_default, self.interval_days_max)
        if None not in gaps:
            low, usual, high = gaps
            if low < 1:
                errors["interval_days_min"] = gettext("Sessions must be at least one day apart.")
            elif low > high:
                errors["interval_days_max"] = gettext(
                    "The longest gap (%(high)s days) cannot be shorter than the shortest "
                    "(%(low)s days)."
                ) % {"high": high, "low": low}
            elif not low <= usual <= high:
                errors["interval_days_default"] = gettext(
                    "The usual gap must be between %(low)s and %(high)s days."
                ) % {"low": low, "high": high}
        if self.maintenance_interval_months == 0:
            errors["maintenance_interval_months"] = gettext(
                "Leave it empty for no maintenance, or give at least one month."
            )
        if errors:
            raise ValidationError(errors)


class ProtocolMilestone(models.Model):
    """What the patient can expect and when: after a session number, or months from the start."""

    template = models.ForeignKey(
        ProtocolTemplate, on_delete=models.CASCADE, related_name="milestones"
    )
    description = models.CharField(_("description (English)"), max_length=200)
    description_ko = models.CharField(_("description (Korean)"), max_length=200, blank=True)
    after_session = models.PositiveSmallIntegerField(
        _("after session"),
        validators=SESSION_COUNT_RANGE,
        null=True,
        blank=True,
        help_text=_("e.g. 2 for 'after session 2'."),
    )
    months_from_start_min = models.PositiveSmallIntegerField(
        _("from (months after start)"), validators=MONTHS_FROM_START, null=True, blank=True
    )
    months_from_start_max = models.PositiveSmallIntegerField(
        _("to (months after start)"), validators=MONTHS_FROM_START, null=True, blank=True
    )

    class Meta:
        ordering = [
            "template",
            F("after_session").asc(nulls_last=True),
            F("months_from_start_min").asc(nulls_last=True),
            "pk",
        ]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        constraints = [
            models.CheckConstraint(
                condition=Q(after_session__isnull=False) | Q(months_from_start_min__isnull=False),
                name="milestone_has_a_time",
                violation_error_message=_(
                    "Say when: after a session number, or months after the start."
                ),
            ),
            models.CheckConstraint(
                condition=Q(months_from_start_max__isnull=True)
                | Q(
                    months_from_start_min__isnull=False,
                    months_from_start_max__gte=F("months_from_start_min"),
                ),
                name="milestone_months_ordered",
                violation_error_message=_("The 'to' month cannot come before the 'from' month."),
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def display_description(self) -> str:
        return localized(self, "description")
