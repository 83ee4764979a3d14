"""Staff pages about the catalogue. Thin: the rules are in ``treatments.suggestions``; access is
decided where the URLs are mounted (clinic/urls.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from patients.models import Patient
from treatments.suggestions import patient_suggestions


def suggest(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The treatments that suit a patient's recorded concerns, best first, each in words."""
    patient = get_object_or_404(Patient, pk=patient_id)
    return render(
        request,
        "treatments/suggest.html",
        {"section": "patients", "patient": patient, "found": patient_suggestions(patient=patient)},
    )
