"""Reads about patients: search, the record with what it needs prefetched, screening, and what
the staff pages show (the list, the form, the patient page)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from clinic.data_version import Area
from clinic.page_cache import kept_value
from patients.history import HISTORY_LIMIT, HistoryEntry, patient_history
from patients.models import Consent, MedicalFlag, Patient, PatientConcern
from scheduling.models import (
    PlanStatus,
    Reaction,
    RequestStatus,
    Session,
    SessionKind,
    SessionRequest,
    TreatmentPlan,
)
from scheduling.selectors import patient_requests, with_protocols
from scheduling.timeline import CourseTimeline, course_timeline
from treatments.models import Contraindication, SkinConcern, Treatment

PHONE_LIKE = re.compile(r"^[\d\s()+.\-]+$")


def phone_search_digits(text: str) -> str:
    """The digits to look for when someone types a phone number: "010-1234-5678" is found in
    "+82 10-1234-5678", so a leading trunk zero is dropped."""
    digits = re.sub(r"\D", "", text)
    return digits[1:] if digits.startswith("0") else digits


def national_phone_digits(phone: str) -> str:
    """The number without country code or trunk zero, for telling two writings of one Korean
    number apart from two numbers: "+82 10-1234-5678" and "010-1234-5678" → "1012345678"."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+82") or (digits.startswith("82") and len(digits) > 10):
        digits = digits[2:]
    return digits.lstrip("0")


def patient_search(*, query: str) -> QuerySet[Patient]:
    """Patients whose name (either order, with or without a space), phone or email contains
    every word of the query, in name order. An empty query finds everyone. On PostgreSQL a
    trigram index answers the "contains" lookups."""
    patients = Patient.objects.all()
    query = query.strip().lower()
    # A phone number typed with spaces ("+82 10 1234 5678") is one number, not four words.
    words = [query] if PHONE_LIKE.match(query) else query.split()
    for word in words:
        if PHONE_LIKE.match(word) and sum(c.isdigit() for c in word) >= 3:
            patients = patients.filter(
                Q(phone_digits__contains=phone_search_digits(word)) | Q(search_text__contains=word)
            )
        else:
            patients = patients.filter(search_text__contains=word)
    return patients.order_by("family_name", "given_name", "pk")


def patients_with_record() -> QuerySet[Patient]:
    """Patients with their concerns and open medical flags (3 queries for any number)."""
    return Patient.objects.prefetch_related(
        Prefetch("concerns", queryset=PatientConcern.objects.select_related("concern")),
        Prefetch(
            "medical_flags",
            queryset=MedicalFlag.objects.filter(resolved_at__isnull=True).select_related(
                "condition"
            ),
            to_attr="open_flags",
        ),
    )


def patient_duplicates(
    *, phone: str, email: str, exclude_id: int | None = None
) -> dict[str, Patient]:
    """Other patients already recorded with this phone number or email, by field (1 query)."""
    national = national_phone_digits(phone) if phone.strip() else ""
    email = email.strip().lower()
    query = Q()
    if len(national) >= 7:  # shorter is not a phone number anyone could share by accident
        query |= Q(phone_digits__endswith=national)
    if email:
        query |= Q(email__iexact=email)
    if not query:
        return {}
    others = Patient.objects.filter(query)
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    found: dict[str, Patient] = {}
    for other in others.order_by("pk")[:10]:
        if national and national_phone_digits(other.phone) == national:
            found.setdefault("phone", other)
        if email and other.email.lower() == email:
            found.setdefault("email", other)
    return found


def patients_with_login_matching(*, identifier: str) -> list[Patient]:
    """Patients with an active portal login whose username, email or phone number this is (at
    most a few; 1 query). Nothing for a blank or too short identifier."""
    text = identifier.strip()
    if len(text) < 3:
        return []
    query = Q(user__username__iexact=text) | Q(email__iexact=text)
    national = national_phone_digits(text) if PHONE_LIKE.match(text) else ""
    if len(national) >= 7:
        query |= Q(phone_digits__endswith=national)
    found = Patient.objects.filter(query, user__isnull=False, user__is_active=True).select_related(
        "user"
    )[:5]
    return [
        p
        for p in found
        if not national
        or p.user.username.lower() == text.lower()  # type: ignore[union-attr]
        or p.email.lower() == text.lower()
        or national_phone_digits(p.phone) == national
    ]


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


# --- Staff pages ------------------------------------------------------------------------------

PATIENTS_PER_PAGE = 25


def age_on(born: date, day: date) -> int:
    """Whole years between a date of birth and ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class PatientRow:
    """One line of the patient list."""

    patient: Patient
    age: int
    has_open_flags: bool
    course_status: str | None  # the latest course's status code, None without a course
    course_status_label: str


@dataclass(frozen=True)
class PatientListPage:
    query: str
    page: Page[Any]
    rows: list[PatientRow]


def _patient_row(patient: Any, today: date) -> PatientRow:
    """``patient`` carries the annotations of :func:`patient_list_page`."""
    status: str | None = patient.latest_course_status
    return PatientRow(
        patient=patient,
        age=age_on(patient.date_of_birth, today),
        has_open_flags=patient.has_open_flags,
        course_status=status,
        course_status_label=str(PlanStatus(status).label) if status else "",
    )


def patient_list_page(*, query: str, page: str | int | None, today: date) -> PatientListPage:
    """One page of ``patient_search``, each patient with whether they have open medical flags
    and their latest course's status (2 queries, whatever the number of patients)."""
    latest_course = TreatmentPlan.objects.filter(patient=OuterRef("pk")).order_by(
        "-booked_at", "-pk"
    )
    patients = patient_search(query=query).annotate(
        has_open_flags=Exists(
            MedicalFlag.objects.filter(patient=OuterRef("pk"), resolved_at__isnull=True)
        ),
        latest_course_status=Subquery(latest_course.values("status")[:1]),
    )
    current = Paginator(patients, PATIENTS_PER_PAGE).get_page(page)
    rows = [_patient_row(patient, today) for patient in current.object_list]
    return PatientListPage(query=query, page=current, rows=rows)


def patient_for_edit(*, patient_id: int) -> Patient:
    """The patient with what the form shows: concerns, open medical flags, general consents
    given (4 queries). Raises ``Patient.DoesNotExist``."""
    return Patient.objects.prefetch_related(
        Prefetch("concerns", queryset=PatientConcern.objects.select_related("concern")),
        Prefetch(
            "medical_flags",
            queryset=MedicalFlag.objects.filter(resolved_at__isnull=True).select_related(
                "condition"
            ),
            to_attr="open_flags",
        ),
        Prefetch(
            "consents",
            queryset=Consent.objects.filter(withdrawn_at__isnull=True).order_by("given_at", "pk"),
            to_attr="current_consents",
        ),
    ).get(pk=patient_id)


def skin_concern_catalogue() -> list[SkinConcern]:
    return list(SkinConcern.objects.order_by("name"))


def contraindication_catalogue() -> list[Contraindication]:
    return list(Contraindication.objects.order_by("name"))


@dataclass(frozen=True)
class FlagView:
    flag: MedicalFlag
    rules_out: tuple[str, ...]  # names of treatments on offer that the condition rules out


@dataclass(frozen=True)
class SessionRow:
    session: Session
    number: str  # "2/4" for an initial session, "" for maintenance
    reactions: tuple[str, ...]  # labels of the reactions recorded after it


@dataclass(frozen=True)
class CourseView:
    plan: TreatmentPlan
    timeline: CourseTimeline
    sessions: tuple[SessionRow, ...]


@dataclass(frozen=True)
class PatientRecord:
    """Everything the staff patient page shows."""

    patient: Patient
    age: int
    concerns: list[PatientConcern]
    flags: list[FlagView]
    consents: list[Consent]
    courses: list[CourseView]
    open_requests: list[SessionRequest]  # waiting for staff, the oldest first
    answered_requests: list[SessionRequest]  # answered in the last 30 days, the newest first


@dataclass(frozen=True)
class PatientChanges:
    """The latest changes to a patient's record, for staff (loaded when asked for: the patient
    page opens it on demand, since six history tables cost more than the rest of the page)."""

    patient: Patient
    entries: list[HistoryEntry]
    earlier_left_out: bool  # there are older changes than those listed


def patient_changes(*, patient_id: int) -> PatientChanges:
    """The patient's name and latest changes (at most ``HISTORY_LIMIT``), newest first: seven
    queries whatever the number of changes. Raises ``Patient.DoesNotExist``."""
    patient = Patient.objects.only("pk", "family_name", "given_name").get(pk=patient_id)
    entries = patient_history(patient_id=patient.pk, limit=HISTORY_LIMIT + 1)
    return PatientChanges(
        patient=patient,
        entries=entries[:HISTORY_LIMIT],
        earlier_left_out=len(entries) > HISTORY_LIMIT,
    )


def _session_row(plan: TreatmentPlan, session: Session) -> SessionRow:
    number = ""
    if session.kind == SessionKind.INITIAL:
        number = f"{session.sequence}/{plan.session_count}"
    labels = dict(Reaction.choices)
    return SessionRow(
        session=session,
        number=number,
        reactions=tuple(str(labels.get(code, code)) for code in session.reactions or ()),
    )


def _patient_profile(patient_id: int) -> Patient | None:
    """The patient with their concerns, open medical flags (each with the treatments its
    condition rules out) and current consents, or None. Kept while patients' records and the
    catalogue are unchanged: a booking, which changes the courses, leaves it (3–5 queries, none
    while kept)."""

    def build() -> Patient | None:
        return (
            Patient.objects.prefetch_related(
                Prefetch("concerns", queryset=PatientConcern.objects.select_related("concern")),
                Prefetch(
                    "medical_flags",
                    queryset=MedicalFlag.objects.filter(resolved_at__isnull=True)
                    .select_related("condition")
                    .prefetch_related(
                        Prefetch(
                            "condition__treatments",
                            queryset=Treatment.objects.filter(is_active=True).order_by("name"),
                        )
                    ),
                    to_attr="open_flags",
                ),
                Prefetch(
                    "consents",
                    queryset=Consent.objects.filter(withdrawn_at__isnull=True)
                    .select_related("treatment")
                    .order_by("given_at", "pk"),
                    to_attr="current_consents",
                ),
            )
            .filter(pk=patient_id)
            .first()
        )

    return kept_value(f"patient-profile:{patient_id}", build, area=Area.PATIENT_RECORDS)


def patient_record(*, patient_id: int, today: date) -> PatientRecord:
    """The patient's record and courses (newest first, each with its timeline and sessions),
    for staff. A fixed number of queries whatever the number of courses and sessions (3 after
    a booking, while the record is kept). Raises ``Patient.DoesNotExist``."""
    patient = _patient_profile(patient_id)
    if patient is None:
        raise Patient.DoesNotExist(f"No patient {patient_id}.")
    plans = list(
        TreatmentPlan.objects.filter(patient_id=patient_id)
        .select_related("practitioner", "room")
        .prefetch_related(
            Prefetch(
                "sessions",
                queryset=Session.objects.select_related("practitioner", "room").order_by(
                    "starts_at", "sequence"
                ),
            ),
        )
        .order_by("-booked_at", "-pk")
    )
    for plan in plans:
        plan.patient = patient  # as a prefetch from the patient would have set it
    flags = sorted(
        patient.open_flags,  # type: ignore[attr-defined]  # the prefetch's to_attr
        key=lambda flag: flag.condition.display_name,
    )
    courses = [
        CourseView(
            plan=plan,
            timeline=course_timeline(plan=plan, today=today),
            sessions=tuple(_session_row(plan, s) for s in plan.sessions.all()),
        )
        for plan in with_protocols(plans)
    ]
    requests = patient_requests(patient=patient, now=timezone.now())
    return PatientRecord(
        patient=patient,
        age=age_on(patient.date_of_birth, today),
        concerns=list(patient.concerns.all()),
        flags=[
            FlagView(
                flag=flag,
                rules_out=tuple(t.display_name for t in flag.condition.treatments.all()),
            )
            for flag in flags
        ],
        consents=patient.current_consents,  # type: ignore[attr-defined]  # as open_flags
        courses=courses,
        open_requests=sorted(
            (r for r in requests if r.status == RequestStatus.OPEN),
            key=lambda r: (r.created_at, r.pk),
        ),
        answered_requests=[r for r in requests if r.status != RequestStatus.OPEN],
    )
