"""The history of a patient's record, as staff read it: who changed what, when.

Built from the simple-history tables of the patient, their skin concerns, medical flags,
consents, courses and sessions: each table is read once (filtered by patient, with the users and
the related rows the entries name loaded alongside), and what changed is worked out here by
comparing consecutive records of the same object. So the number of queries does not grow with
the number of changes (simple-history's ``prev_record`` would query once per record).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy

from clinic.formatting import format_day, format_when, local_day
from patients.models import Consent, MedicalFlag, Patient, PatientConcern
from patients.validators import phone_shown
from scheduling.models import Practitioner, Reaction, Room, Session, SessionKind, TreatmentPlan
from treatments.models import Contraindication, ProtocolTemplate, SkinConcern, Treatment

HISTORY_LIMIT = 50

Action = Literal["created", "changed", "deleted"]

_ACTIONS: dict[str, Action] = {"+": "created", "~": "changed", "-": "deleted"}

# Kept by the system or shown elsewhere in the entry: listing them would only add noise.
_NOT_SHOWN = frozenset(
    {
        "id",
        "patient",
        "plan",
        "created_at",
        "updated_at",
        "noted_at",
        "recorded_at",
        "recorded_by",
        "booked_at",
        "booked_by",
        "phone_digits",
        "search_text",
    }
)

# Fields whose models give them no readable name.
_LABELS = {
    "completed_at": gettext_lazy("completed at"),
    "cancelled_at": gettext_lazy("cancelled at"),
    "cancellation_reason": gettext_lazy("reason for cancelling"),
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str
    record: str  # what the change is about, e.g. "Medical flag: Fish or salmon allergy"
    action: Action
    changes: tuple[FieldChange, ...]

    @property
    def is_created(self) -> bool:
        return self.action == "created"

    @property
    def is_deleted(self) -> bool:
        return self.action == "deleted"


def person_name(user: User | None) -> str:
    if user is None:
        # Changes with no user come from the worker (placing sessions, reminders) or scripts.
        return gettext("System")
    return user.get_full_name() or user.get_username()


def _related_name(value: models.Model | None) -> str:
    match value:
        case None:
            return "—"
        case Practitioner():
            return value.display_name
        case SkinConcern() | Contraindication() | Treatment():
            return value.display_name
        case ProtocolTemplate():
            return value.name
        case Room():
            return value.name
        case User():
            return person_name(value)
    return str(value)


def _value(field: models.Field[Any, Any], record: Any) -> str:
    if field.is_relation:
        return _related_name(getattr(record, field.name))
    value = getattr(record, field.attname)
    if value is None or value == "" or value == []:
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.name == "phone":
        return phone_shown(value)
    if field.name == "reactions":
        labels = dict(Reaction.choices)
        return ", ".join(str(labels.get(code, code)) for code in value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, datetime):
        return format_when(value)
    if isinstance(value, date):
        return format_day(value)
    return str(value)


@dataclass(frozen=True)
class _Table:
    """One history table: which records belong to the patient, what they load with them, and
    how an entry names the object."""

    model: type[models.Model]
    related: tuple[str, ...]  # foreign keys shown (and so loaded) with each record
    records: Callable[[int], models.QuerySet[Any]]
    name: Callable[[Any, dict[int, str]], str]

    def fields(self) -> list[models.Field[Any, Any]]:
        shown = []
        for field in self.model._meta.concrete_fields:
            if field.name in _NOT_SHOWN:
                continue
            if field.is_relation and field.name not in self.related:
                continue  # not loaded: showing it would cost a query per record
            shown.append(field)
        return shown


def _course_name(record: Any) -> str:
    template = record.template
    treatment = template.treatment.display_name if template else gettext("a treatment")
    return gettext("%(treatment)s course booked %(day)s") % {
        "treatment": treatment,
        "day": format_day(local_day(record.booked_at)) if record.booked_at else "—",
    }


def _patient_name(record: Any, courses: dict[int, str]) -> str:
    return gettext("Patient record")


def _concern_name(record: Any, courses: dict[int, str]) -> str:
    return gettext("Skin concern: %(concern)s · %(area)s") % {
        "concern": _related_name(record.concern),
        "area": record.get_area_display(),
    }


def _flag_name(record: Any, courses: dict[int, str]) -> str:
    return gettext("Medical flag: %(condition)s") % {"condition": _related_name(record.condition)}


def _consent_name(record: Any, courses: dict[int, str]) -> str:
    return gettext("Consent: %(kind)s") % {"kind": record.get_kind_display()}


def _plan_name(record: Any, courses: dict[int, str]) -> str:
    return capfirst(_course_name(record))


def _session_name(record: Any, courses: dict[int, str]) -> str:
    course = courses.get(record.plan_id, gettext("a course"))
    if record.kind == SessionKind.MAINTENANCE:
        return gettext("Maintenance session, %(course)s") % {"course": course}
    return gettext("Session %(number)s, %(course)s") % {
        "number": record.sequence,
        "course": course,
    }


def _tables() -> list[_Table]:
    return [
        _Table(Patient, ("user",), lambda pk: Patient.history.filter(id=pk), _patient_name),
        _Table(
            PatientConcern,
            ("concern",),
            lambda pk: PatientConcern.history.filter(patient_id=pk),
            _concern_name,
        ),
        _Table(
            MedicalFlag,
            ("condition",),
            lambda pk: MedicalFlag.history.filter(patient_id=pk),
            _flag_name,
        ),
        _Table(
            Consent,
            ("treatment",),
            lambda pk: Consent.history.filter(patient_id=pk),
            _consent_name,
        ),
        _Table(
            TreatmentPlan,
            ("template", "practitioner", "room"),
            lambda pk: TreatmentPlan.history.filter(patient_id=pk).select_related(
                "template__treatment"
            ),
            _plan_name,
        ),
        _Table(
            Session,
            ("practitioner", "room"),
            # Through the plans' history, so sessions of a course since deleted still count.
            lambda pk: Session.history.filter(
                plan_id__in=TreatmentPlan.history.filter(patient_id=pk).values("id")
            ),
            _session_name,
        ),
    ]


def _diff(fields: Iterable[models.Field[Any, Any]], old: Any, new: Any) -> list[FieldChange]:
    changes = []
    for field in fields:
        if getattr(old, field.attname) == getattr(new, field.attname):
            continue
        label = _LABELS.get(field.name, field.verbose_name)
        changes.append(FieldChange(str(capfirst(label)), _value(field, old), _value(field, new)))
    return changes


def _entries(table: _Table, records: list[Any], courses: dict[int, str]) -> list[HistoryEntry]:
    fields = table.fields()
    by_object: defaultdict[int, list[Any]] = defaultdict(list)
    for record in records:
        by_object[record.id].append(record)
    entries = []
    for versions in by_object.values():
        versions.sort(key=lambda r: (r.history_date, r.history_id))
        previous = None
        for record in versions:
            action = _ACTIONS[record.history_type]
            changes: list[FieldChange] = []
            if action == "changed":
                if previous is None:
                    previous = record
                    continue  # the first record we have: nothing to compare it with
                changes = _diff(fields, previous, record)
                if not changes:
                    previous = record
                    continue  # saved with nothing a person would see changed
            entries.append(
                HistoryEntry(
                    when=record.history_date,
                    who=person_name(record.history_user),
                    record=table.name(record, courses),
                    action=action,
                    changes=tuple(changes),
                )
            )
            previous = record
    return entries


def patient_history(*, patient_id: int, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """The latest changes to the patient's record and everything hanging from it, newest
    first (one query per history table: 6)."""
    tables = _tables()
    loaded: list[tuple[_Table, list[Any]]] = []
    for table in tables:
        query = table.records(patient_id).select_related("history_user", *table.related)
        loaded.append((table, list(query)))
    # Sessions are named after their course, whose name is in the plans' history.
    courses = {
        record.id: _course_name(record)
        for table, records in loaded
        if table.model is TreatmentPlan
        for record in records
    }
    entries: list[HistoryEntry] = []
    for table, records in loaded:
        entries.extend(_entries(table, records, courses))
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]
