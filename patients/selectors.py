"""Reads about patients: search, the record with what it needs prefetched, and screening."""

from __future__ import annotations

import re

from django.db.models import Prefetch, Q, QuerySet

from patients.models import MedicalFlag, Patient, PatientConcern
from treatments.models import Contraindication, Treatment

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
    for word in query.lower().split():
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
