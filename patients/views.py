"""Staff pages about patients: find one, add or edit a record, see everything about them.

Thin: each parses a form or a query, calls one service or selector, renders. Access is decided
where the URLs are mounted (clinic/urls.py).
"""

from __future__ import annotations

from datetime import date
from typing import cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from clinic.formatting import local_day
from clinic.htmx import HtmxHttpRequest, render_page_or_partial
from clinic.page_cache import cached_page
from patients.access_log import patient_access_page, patient_access_record
from patients.forms import PatientRecordForm
from patients.models import AccessKind, Patient
from patients.selectors import (
    contraindication_catalogue,
    patient_changes,
    patient_for_edit,
    patient_list_page,
    patient_record,
    skin_concern_catalogue,
)
from patients.services import patient_login_create, patient_password_link_send, patient_save


def _today() -> date:
    return local_day(timezone.now())


@cached_page
def patient_list(request: HtmxHttpRequest) -> HttpResponse:
    """Search as you type: HTMX asks for the results alone; without JavaScript the form is a
    plain GET and the whole page comes back."""
    listing = patient_list_page(
        query=request.GET.get("q", "").strip(), page=request.GET.get("page"), today=_today()
    )
    patient_access_record(
        request=request,
        patient_ids=[row.patient.pk for row in listing.rows],
        kind=AccessKind.SEARCH,
    )
    return render_page_or_partial(
        request,
        "patients/patient_list.html",
        "results",
        {"section": "patients", "listing": listing},
    )


@cached_page
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        record = patient_record(patient_id=patient_id, today=_today())
    except Patient.DoesNotExist:
        raise Http404 from None
    patient_access_record(request=request, patient_ids=[patient_id], kind=AccessKind.PAGE)
    try:
        # The suggestion page is built separately; offer it once its URL exists.
        suggest_url: str | None = reverse("staff:suggest", args=[patient_id])
    except NoReverseMatch:
        suggest_url = None
    return render(
        request,
        "patients/patient_detail.html",
        {"section": "patients", "record": record, "suggest_url": suggest_url},
    )


@cached_page
def patient_history(request: HtmxHttpRequest, patient_id: int) -> HttpResponse:
    """The latest changes to the record: the patient page asks for the list alone when its
    history is opened; without JavaScript the link there opens this as a page."""
    try:
        changes = patient_changes(patient_id=patient_id)
    except Patient.DoesNotExist:
        raise Http404 from None
    patient_access_record(request=request, patient_ids=[patient_id], kind=AccessKind.PAGE)
    return render_page_or_partial(
        request,
        "patients/patient_history.html",
        "history",
        {"section": "patients", "changes": changes},
    )


def patient_access_log(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Who looked at the patient's record, newest first (clinic admins: see patients/urls.py)."""
    try:
        log = patient_access_page(patient_id=patient_id, page=request.GET.get("page"))
    except Patient.DoesNotExist:
        raise Http404 from None
    return render(request, "patients/patient_access.html", {"section": "patients", "log": log})


def patient_new(request: HttpRequest) -> HttpResponse:
    return _record_form(request, patient=None)


def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        patient = patient_for_edit(patient_id=patient_id)
    except Patient.DoesNotExist:
        raise Http404 from None
    return _record_form(request, patient=patient)


def _record_form(request: HttpRequest, *, patient: Patient | None) -> HttpResponse:
    # The form writes what was typed onto the instance; the page keeps the saved name.
    saved_name = patient.full_name if patient else ""
    form = PatientRecordForm(
        request.POST if request.method == "POST" else None,
        patient=patient,
        today=_today(),
        concerns=skin_concern_catalogue(),
        conditions=contraindication_catalogue(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = patient_save(
                **form.service_arguments(),
                changed_by=cast(User, request.user),  # staff_required lets only staff in
                patient=patient,
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if patient is None:
                message = gettext("Added %(name)s.") % {"name": saved.full_name}
            else:
                message = gettext("Saved %(name)s's record.") % {"name": saved.full_name}
            messages.success(request, message)
            return redirect("staff:patient", saved.pk)
    return render(
        request,
        "patients/patient_form.html",
        {"section": "patients", "form": form, "patient": patient, "saved_name": saved_name},
    )


@require_POST
def patient_login(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Create the patient's portal login; they get a link to choose a password by their usual
    channel."""
    try:
        patient = patient_for_edit(patient_id=patient_id)
    except Patient.DoesNotExist:
        raise Http404 from None
    try:
        user = patient_login_create(patient=patient, created_by=cast(User, request.user))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            gettext(
                "%(name)s has a portal login (%(username)s). A link to choose a password is on "
                "its way by %(channel)s."
            )
            % {
                "name": patient.full_name,
                "username": user.get_username(),
                "channel": patient.get_reminder_channel_display().lower(),
            },
        )
    return redirect("staff:patient", patient_id)


@require_POST
def patient_login_link(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Send the patient a new link to choose a password (they lost the first, or forgot it)."""
    try:
        patient = patient_for_edit(patient_id=patient_id)
    except Patient.DoesNotExist:
        raise Http404 from None
    if patient_password_link_send(patient=patient):
        messages.success(
            request,
            gettext("A new link to choose a password is on its way to %(name)s.")
            % {"name": patient.full_name},
        )
    else:
        messages.warning(
            request,
            gettext(
                "No link was sent: %(name)s has no portal login, no email or phone on file, or "
                "was sent one in the last few minutes."
            )
            % {"name": patient.full_name},
        )
    return redirect("staff:patient", patient_id)
