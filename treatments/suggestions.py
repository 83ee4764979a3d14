"""Which treatments suit a patient's concerns, best first, with the reasons, warnings and notes.

``rank_treatments`` is pure: concerns, flags, the patient's age and the catalogue in, ranked
suggestions out. A treatment scores the sum of indication strength (1–5) × concern severity (1–3)
over the patient's concerns it treats. Treatments the patient has a contraindication for stay in
the list, with the warning, after every treatment without one. Soft notes (the usual age band,
recovery after a recent procedure) inform staff and never change the order.

A suggestion holds facts (catalogue rows and numbers), not text: its sentences are written when
they are read, with gettext, so the page and the API answer in the request's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext, ngettext

from clinic.formatting import local_day
from clinic.i18n import localized
from patients.models import FaceArea, MedicalFlag, Patient, PatientConcern, Severity
from treatments.models import (
    BenefitLevel,
    Contraindication,
    ProtocolTemplate,
    SkinConcern,
    Treatment,
)

BENEFIT_RANK = {BenefitLevel.HIGH: 3, BenefitLevel.MEDIUM: 2, BenefitLevel.MILD: 1}

# The concern staff record for a patient who just had a laser or microneedling session.
RECOVERY_CONCERN = "post-procedure-recovery"

_AREAS = dict(FaceArea.choices)
_SEVERITIES = dict(Severity.choices)


# --- Facts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConcernMatch:
    """One of the patient's recorded concerns that the treatment addresses."""

    concern: SkinConcern
    area: str
    severity: int
    strength: int

    @property
    def points(self) -> int:
        return self.strength * self.severity

    @property
    def name(self) -> str:
        return self.concern.display_name

    @property
    def area_display(self) -> str:
        return str(_AREAS.get(self.area, self.area))

    @property
    def severity_display(self) -> str:
        return str(_SEVERITIES.get(self.severity, self.severity))

    @property
    def text(self) -> str:
        # Lower-cased to read as part of the sentence in English; Korean has no case.
        return gettext(
            "%(concern)s (%(area)s, %(severity)s): indication strength %(strength)s/5"
        ) % {
            "concern": self.name,
            "area": self.area_display.lower(),
            "severity": self.severity_display.lower(),
            "strength": self.strength,
        }


@dataclass(frozen=True)
class AgeNote:
    """The patient is outside the treatment's usual age band (a note, never a refusal)."""

    age: int
    low: int | None
    high: int | None

    @property
    def text(self) -> str:
        values = {"low": self.low, "high": self.high, "age": self.age}
        if self.low is not None and self.high is not None:
            return gettext("Usually for ages %(low)s–%(high)s; this patient is %(age)s.") % values
        if self.low is not None:
            return gettext("Usually for ages %(low)s and over; this patient is %(age)s.") % values
        return gettext("Usually for ages up to %(high)s; this patient is %(age)s.") % values


@dataclass(frozen=True)
class RecoveryNote:
    """The patient is recovering from a recent laser or microneedling session: does the
    treatment list that recovery as an indication?"""

    indicated: bool

    @property
    def text(self) -> str:
        if self.indicated:
            return gettext("Suits recovery after a recent laser or microneedling.")
        return gettext("Not aimed at recovery after a recent laser or microneedling.")


SoftNote = AgeNote | RecoveryNote


@dataclass(frozen=True)
class Suggestion:
    treatment: Treatment
    score: int
    matches: tuple[ConcernMatch, ...] = ()
    # The patient's open medical flags that rule this treatment out.
    contraindications: tuple[Contraindication, ...] = ()
    notes: tuple[SoftNote, ...] = ()

    @property
    def is_contraindicated(self) -> bool:
        return bool(self.contraindications)

    # --- In words, in the active language --------------------------------------------------

    @property
    def reason(self) -> str:
        """ "Acne scars, Redness and sensitivity → Rejuran Healer: Cell regeneration and …"."""
        # A concern recorded for two areas is named once.
        names = list(dict.fromkeys(match.name for match in self.matches))
        return gettext("%(concerns)s → %(treatment)s: %(effect)s") % {
            "concerns": gettext(", ").join(names),
            "treatment": self.treatment.display_name,
            "effect": self.primary_effect,
        }

    @property
    def reasons(self) -> list[str]:
        """One line per matched concern, with what it counted for."""
        return [match.text for match in self.matches]

    @property
    def warnings(self) -> list[str]:
        return [
            gettext("Contraindicated: %(condition)s (recorded for this patient)")
            % {"condition": condition.display_name}
            for condition in self.contraindications
        ]

    @property
    def note_texts(self) -> list[str]:
        return [note.text for note in self.notes]

    @property
    def primary_effect(self) -> str:
        return localized(self.treatment, "primary_effect")

    @property
    def core_ingredient(self) -> str:
        return localized(self.treatment, "core_ingredient")

    @property
    def typical_candidates(self) -> str:
        return localized(self.treatment, "typical_candidates")

    @property
    def combines_with(self) -> str:
        return localized(self.treatment, "combines_with")

    # --- The course it would book ------------------------------------------------------------

    @property
    def default_protocol(self) -> ProtocolTemplate | None:
        protocols = [p for p in self.treatment.protocols.all() if p.is_default]
        return protocols[0] if protocols else None

    @property
    def protocol_text(self) -> str:
        protocol = self.default_protocol
        return protocol_in_words(protocol) if protocol else ""


def protocol_in_words(protocol: ProtocolTemplate) -> str:
    """ "3–4 sessions, 21–28 days apart, maintenance every 6 months"."""
    low, high = protocol.initial_sessions_min, protocol.initial_sessions_max
    if low == high:
        parts = [ngettext("%(count)s session", "%(count)s sessions", low) % {"count": low}]
    else:
        parts = [gettext("%(low)s–%(high)s sessions") % {"low": low, "high": high}]
    if high > 1:  # a single-session course has no gap to speak of
        gap_low, gap_high = protocol.interval_days_min, protocol.interval_days_max
        if gap_low == gap_high:
            parts.append(
                ngettext("%(count)s day apart", "%(count)s days apart", gap_low)
                % {"count": gap_low}
            )
        else:
            parts.append(
                gettext("%(low)s–%(high)s days apart") % {"low": gap_low, "high": gap_high}
            )
    months = protocol.maintenance_interval_months
    if months:
        parts.append(
            ngettext(
                "maintenance every %(count)s month", "maintenance every %(count)s months", months
            )
            % {"count": months}
        )
    else:
        parts.append(gettext("no maintenance sessions"))
    return gettext(", ").join(parts)


# --- Ranking (pure) --------------------------------------------------------------------------


def age_on(born: date, day: date) -> int:
    """Age in completed years on ``day`` (someone born on 29 February turns a year older on
    1 March in common years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _age_note(treatment: Treatment, age: int | None) -> AgeNote | None:
    low, high = treatment.candidate_age_min, treatment.candidate_age_max
    if age is None or (low is None and high is None):
        return None
    if (low is not None and age < low) or (high is not None and age > high):
        return AgeNote(age=age, low=low, high=high)
    return None


def rank_treatments(
    *,
    concerns: Sequence[PatientConcern],
    flagged_condition_ids: set[int],
    treatments: Sequence[Treatment],
    age: int | None = None,
) -> list[Suggestion]:
    """Treatments addressing at least one concern, best first. ``concerns`` come with their
    ``concern`` loaded; treatments with ``indications`` and ``contraindications`` prefetched."""
    recovery_ids = {c.concern_id for c in concerns if c.concern.slug == RECOVERY_CONCERN}
    suggestions = []
    for treatment in treatments:
        indications = {i.concern_id: i for i in treatment.indications.all()}
        matches = tuple(
            ConcernMatch(
                concern=concern.concern,
                area=concern.area,
                severity=concern.severity,
                strength=indications[concern.concern_id].strength,
            )
            for concern in concerns
            if concern.concern_id in indications
        )
        score = sum(match.points for match in matches)
        if not score:
            continue
        contraindications = tuple(
            condition
            for condition in treatment.contraindications.all()
            if condition.pk in flagged_condition_ids
        )
        notes: list[SoftNote] = []
        if age_note := _age_note(treatment, age):
            notes.append(age_note)
        if recovery_ids:
            notes.append(RecoveryNote(indicated=bool(recovery_ids & indications.keys())))
        suggestions.append(Suggestion(treatment, score, matches, contraindications, tuple(notes)))
    return sorted(
        suggestions,
        key=lambda s: (
            s.is_contraindicated,
            -s.score,
            -BENEFIT_RANK.get(BenefitLevel(s.treatment.long_term_benefit), 0),
            s.treatment.name,
        ),
    )


# --- Reading them for a patient --------------------------------------------------------------


@dataclass(frozen=True)
class PatientSuggestions:
    """What the Suggest page shows: the patient's record as screened, and the ranking."""

    patient: Patient
    age: int
    concerns: list[PatientConcern]
    open_flags: list[MedicalFlag]
    suggestions: list[Suggestion]


def patient_suggestions(*, patient: Patient, today: date | None = None) -> PatientSuggestions:
    """Ranked suggestions for a patient, with the concerns and open flags they were drawn from
    (7 queries whatever the catalogue's size). The age is as of the clinic's today."""
    today = today or local_day(timezone.now())
    concerns = list(patient.concerns.select_related("concern"))
    open_flags = list(
        MedicalFlag.objects.filter(patient=patient, resolved_at__isnull=True).select_related(
            "condition"
        )
    )
    treatments = Treatment.objects.filter(is_active=True).prefetch_related(
        "indications", "contraindications", "protocols__milestones"
    )
    age = age_on(patient.date_of_birth, today)
    suggestions = rank_treatments(
        concerns=concerns,
        flagged_condition_ids={flag.condition_id for flag in open_flags},
        treatments=list(treatments),
        age=age,
    )
    return PatientSuggestions(patient, age, concerns, open_flags, suggestions)


def treatment_suggestions(*, patient: Patient, today: date | None = None) -> list[Suggestion]:
    """Just the ranking (what the API answers)."""
    return patient_suggestions(patient=patient, today=today).suggestions
