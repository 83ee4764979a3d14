"""The patient's own pages: My schedule, their calendar, asking to move or cancel a session.

Mounted under /my/ by clinic/urls.py, which wraps them in ``patient_required``: the logged-in
patient's record is ``request.patient`` and the page is in their language. Every lookup goes
through a selector scoped to that patient, so another patient's session answers 404. The
calendar feed is the one page here without a login (phones fetch it): its secret token decides.

Thin: each parses a form, calls one service, selector or presenter, renders.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from clinic.access import PatientHttpRequest
from clinic.formatting import format_when
from clinic.page_cache import cached_page
from scheduling.forms import SessionChangeForm
from scheduling.ics import patient_calendar
from scheduling.models import RequestKind
from scheduling.presenters import patient_course, portal_schedule
from scheduling.requests import session_move_options, session_request_create
from scheduling.selectors import (
    calendar_feed_of,
    calendar_feed_patient,
    patient_calendar_sessions,
    patient_plan,
    patient_plans,
    patient_requests,
    patient_sessions,
)
from scheduling.services import calendar_feed_renew


@cached_page
def my_schedule(request: PatientHttpRequest) -> HttpResponse:
    now = timezone.now()
    patient = request.patient
    schedule = portal_schedule(
        patient=patient,
        plans=patient_plans(patient=patient),
        requests=patient_requests(patient=patient, now=now),
        now=now,
    )
    feed = calendar_feed_of(patient=patient)
    feed_url = (
        request.build_absolute_uri(reverse("calendar-feed", args=[feed.token])) if feed else ""
    )
    return render(
        request,
        "scheduling/my_schedule.html",
        {
            "section": "schedule",
            "schedule": schedule,
            "feed_url": feed_url,
            "webcal_url": feed_url.replace("https://", "webcal://", 1).replace(
                "http://", "webcal://", 1
            ),
        },
    )


def _ics(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Robots-Tag"] = "noindex"
    add_never_cache_headers(response)
    return response


@require_GET
def calendar_download(request: PatientHttpRequest) -> HttpResponse:
    now = timezone.now()
    sessions = patient_calendar_sessions(patient=request.patient, now=now)
    response = _ics(patient_calendar(sessions=sessions, now=now), "my-sessions.ics")
    response["Content-Disposition"] = 'attachment; filename="my-sessions.ics"'
    return response


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The subscribed calendar, by its secret token; any other token is not found."""
    patient = calendar_feed_patient(token=token)
    if patient is None:
        raise Http404
    now = timezone.now()
    with translation.override(patient.preferred_language):
        body = patient_calendar(
            sessions=patient_calendar_sessions(patient=patient, now=now), now=now
        )
    return _ics(body, "my-sessions.ics")


@require_POST
def calendar_renew(request: PatientHttpRequest) -> HttpResponse:
    calendar_feed_renew(patient=request.patient)
    messages.success(
        request,
        gettext(
            "Your calendar has a new address. Subscribe to it on your phone; "
            "the old address no longer works."
        ),
    )
    return redirect(reverse("portal:schedule") + "#calendar")


def session_change(request: PatientHttpRequest, session_id: int) -> HttpResponse:
    """Ask to move the session to an offered time, or to cancel it."""
    patient = request.patient
    session = get_object_or_404(patient_sessions(patient=patient), pk=session_id)
    plan = session.plan
    forms = {
        kind: SessionChangeForm(
            request.POST if request.POST.get("action") == kind else None,
            initial={"kind": kind},
            prefix=kind,
        )
        for kind in RequestKind.values
    }
    if request.method == "POST":
        form = forms.get(str(request.POST.get("action", "")))
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                asked = session_request_create(
                    patient=patient,
                    session=session,
                    kind=form.cleaned_data["kind"],
                    wanted_start=form.cleaned_data["wanted_start"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                if asked.kind == RequestKind.MOVE and asked.wanted_start:
                    text = gettext(
                        "We have asked the clinic to move your session to %(when)s. You will "
                        "get their answer here and by message."
                    ) % {"when": format_when(asked.wanted_start)}
                else:
                    text = gettext(
                        "We have asked the clinic to cancel your session. You will get their "
                        "answer here and by message."
                    )
                messages.success(request, text)
                return redirect(reverse("portal:schedule") + "#requests")
    options = session_move_options(session=session, plan=plan)
    course = patient_course(
        patient_plan(patient=patient, plan_id=plan.pk), language=patient.preferred_language
    )
    return render(
        request,
        "scheduling/session_change.html",
        {
            "section": "schedule",
            "session": session,
            "plan": plan,
            "number": course.numbers.get(session.pk),
            "total": course.progress.total,
            "options": options,
            "move_form": forms[RequestKind.MOVE],
            "cancel_form": forms[RequestKind.CANCEL],
            "chosen": request.POST.get("move-wanted_start", ""),
        },
    )
