"""Staff pages about the clinic's day, booking a course and following it being placed.

Thin: each parses a form or a query, calls one service or selector, renders. Access is decided
where the URLs are mounted (clinic/urls.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from clinic.formatting import format_day, format_when, local_day
from clinic.htmx import HtmxHttpRequest
from clinic.redirects import safe_next
from patients.models import Patient
from scheduling.errors import SchedulingConflictError
from scheduling.explain import explain_no_fit
from scheduling.forms import BookingForm, RequestAnswerForm
from scheduling.models import (
    PlanStatus,
    RequestKind,
    RequestStatus,
    SessionRequest,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.requests import session_request_accept, session_request_decline
from scheduling.selectors import (
    booking_defaults,
    plans_visible_to,
    session_request_for_staff,
)
from scheduling.services import plan_book, plan_preview
from treatments.models import Treatment


def _today() -> date:
    return local_day(timezone.now())


# --- Booking a course ----------------------------------------------------------------------


def _initial(patient: Patient, treatment_slug: str) -> dict[str, Any]:
    """The form's starting values: the treatment's usual protocol with the practitioner and
    first free time most likely wanted."""
    treatment = Treatment.objects.filter(slug=treatment_slug, is_active=True).first()
    if treatment is None:
        return {}
    defaults = booking_defaults(patient=patient, treatment=treatment, today=_today())
    initial: dict[str, Any] = {}
    if defaults.template:
        initial.update(
            protocol=defaults.template.pk,
            session_count=defaults.template.initial_sessions_default,
            interval_days=defaults.template.interval_days_default,
        )
    if defaults.practitioner:
        initial["practitioner"] = defaults.practitioner.pk
    if defaults.room:
        initial["room"] = defaults.room.pk
    if defaults.first_start:
        local = timezone.localtime(defaults.first_start)
        initial.update(day=local.date().isoformat(), time=f"{local:%H:%M}")
    return initial


def book(request: HtmxHttpRequest, patient_id: int) -> HttpResponse:
    """Book a course: the form with a live preview of every session (HTMX re-renders it as
    staff change a field), then the booking, handed to the worker."""
    patient = get_object_or_404(Patient, pk=patient_id)
    if request.method == "POST":
        form = BookingForm(BookingForm.follow_changes(request.POST))
    else:
        initial = _initial(patient, request.GET.get("treatment", ""))
        # Bound to the defaults, so the first view already shows the proposed sessions.
        form = BookingForm(initial) if initial else BookingForm()
    preview = None
    if form.is_bound and form.is_valid():
        try:
            preview = plan_preview(patient=patient, **form.service_arguments())
            if request.method == "POST" and request.POST.get("action") == "book":
                plan = plan_book(
                    patient=patient,
                    booked_by=cast(User, request.user),
                    override_reason=form.cleaned_data["override_reason"],
                    **form.service_arguments(),
                )
                return redirect("staff:plan", plan_id=plan.pk)
        except ValidationError as error:
            form.add_service_error(error)
        except SchedulingConflictError as error:
            form.add_error(None, error.message)
    context = {
        "section": "patients",
        "patient": patient,
        "form": form,
        "preview": preview,
        "no_fit_reason": explain_no_fit(preview.no_fit) if preview and preview.no_fit else "",
    }
    if request.htmx:
        return render(request, "scheduling/book.html#booking", context)
    return render(request, "scheduling/book.html", context)


def plan_status(request: HtmxHttpRequest, plan_id: int) -> HttpResponse:
    """While the worker places a booked course's sessions, a page that follows it; then the
    patient's page, with what happened."""
    plan = get_object_or_404(plans_visible_to(request.user), pk=plan_id)
    if plan.status == PlanStatus.SCHEDULING:
        template = "scheduling/plan_status.html"
        if request.htmx:
            template += "#progress"
        return render(request, template, {"section": "patients", "plan": plan})
    _say_what_happened(request, plan)
    destination = reverse("staff:patient", args=[plan.patient_id])
    if request.htmx:
        return HttpResponseClientRedirect(destination)
    return redirect(destination)


def _say_what_happened(request: HttpRequest, plan: TreatmentPlan) -> None:
    sessions = [s for s in plan.sessions.all() if s.status != SessionStatus.CANCELLED]
    if plan.status == PlanStatus.NEEDS_ATTENTION:
        messages.warning(
            request,
            gettext("The course for %(patient)s needs attention: %(reason)s")
            % {"patient": plan.patient, "reason": plan.display_attention_reason},
        )
    elif sessions:
        messages.success(
            request,
            ngettext(
                "Booked %(count)d session for %(patient)s, %(first)s – %(last)s.",
                "Booked %(count)d sessions for %(patient)s, %(first)s – %(last)s.",
                len(sessions),
            )
            % {
                "count": len(sessions),
                "patient": plan.patient,
                "first": format_day(local_day(sessions[0].starts_at)),
                "last": format_day(local_day(sessions[-1].starts_at)),
            },
        )


# --- Patients' requests ----------------------------------------------------------------------


@require_POST
def request_accept(request: HttpRequest, request_id: int) -> HttpResponse:
    """Do what the patient asked (move or cancel, through the scheduling services)."""
    return _answer(request, request_id, accept=True)


@require_POST
def request_decline(request: HttpRequest, request_id: int) -> HttpResponse:
    """Say no, with a message the patient receives."""
    return _answer(request, request_id, accept=False)


def _answer(request: HttpRequest, request_id: int, *, accept: bool) -> HttpResponse:
    try:
        asked = session_request_for_staff(request_id=request_id)
    except SessionRequest.DoesNotExist:
        raise Http404 from None
    form = RequestAnswerForm(request.POST)
    if form.is_valid():
        staff = cast(User, request.user)
        try:
            if accept:
                answered = session_request_accept(
                    session_request=asked, answered_by=staff, message=form.cleaned_data["message"]
                )
            else:
                answered = session_request_decline(
                    session_request=asked, answered_by=staff, message=form.cleaned_data["message"]
                )
        except ValidationError as error:
            form.add_service_error(error)
            asked.refresh_from_db()
        else:
            _say_how_it_was_answered(request, answered)
            return redirect(safe_next(request, reverse("staff:patient", args=[asked.patient_id])))
    return render(
        request,
        "scheduling/request_answer.html",
        {"section": "patients", "asked": asked, "form": form, "next": request.POST.get("next")},
        status=400,
    )


def _say_how_it_was_answered(request: HttpRequest, answered: SessionRequest) -> None:
    values = {"patient": answered.patient}
    if answered.status == RequestStatus.REFUSED:
        messages.warning(
            request,
            gettext("Not done: %(reason)s %(patient)s is told.")
            % {**values, "reason": answered.answer},
        )
    elif answered.status == RequestStatus.DECLINED:
        messages.success(request, gettext("Declined; %(patient)s is told why.") % values)
    elif answered.kind == RequestKind.MOVE:
        messages.success(
            request,
            gettext("Moved %(patient)s's session to %(when)s; they are told.")
            % {**values, "when": format_when(answered.session.starts_at)},
        )
    else:
        messages.success(
            request, gettext("Cancelled %(patient)s's session; they are told.") % values
        )
