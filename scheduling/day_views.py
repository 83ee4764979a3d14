"""The pages a receptionist runs the day from: Today (the day's sessions with arrivals, courses
that need attention, patients' requests; beside them the next free times, reminders that
failed and maintenance coming due) and Maintenance due (with one-click booking near each due
date)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from clinic.formatting import format_when, local_day
from clinic.htmx import HtmxHttpRequest, render_page_or_partial
from clinic.page_cache import cached_page
from clinic.redirects import safe_next
from scheduling.availability import maintenance_offers, next_free_slots
from scheduling.errors import SchedulingConflictError
from scheduling.models import Reminder, SessionKind, TreatmentPlan
from scheduling.reminders import reminder_retry
from scheduling.selectors import (
    day_by_practitioner,
    failed_reminders,
    maintenance_due,
    open_session_requests,
    plans_needing_attention,
    possibly_repeated_count,
    practitioner_roster,
)
from scheduling.services import session_book

DUE_SOON_DAYS = 30
REPEATS_SHOWN_DAYS = 7


@cached_page
def today(request: HttpRequest) -> HttpResponse:
    """The day: each practitioner's sessions, then what needs acting on. The side panels come
    from :func:`today_side`, which the page asks for once it is shown."""
    day = local_day(timezone.now())
    return render(
        request,
        "scheduling/today.html",
        {
            "section": "today",
            "day": day,
            "columns": day_by_practitioner(user=request.user, day=day),
            "attention": plans_needing_attention(),
            "open_requests": open_session_requests(limit=50),
        },
    )


@cached_page
def today_side(request: HtmxHttpRequest) -> HttpResponse:
    """Today's side panels: the next free times, reminders that could not be sent, messages
    that may have arrived twice, and maintenance coming due.

    Today asks for them once the day is on screen, and again whenever a session changes there
    (a move or a cancellation frees time), so its agenda never waits for the search for free
    times, the page's costliest part. Without JavaScript, a page of its own."""
    now = timezone.now()
    day = local_day(now)
    return render_page_or_partial(
        request,
        "scheduling/today_side.html",
        "side",
        {
            "section": "today",
            # Where "Try again" comes back to: Today, or this page when it stands alone.
            "back": reverse("staff:today") if request.htmx else request.path,
            "next_free": next_free_slots(now=now),
            "failed": list(failed_reminders()),
            "repeated": possibly_repeated_count(since=now - timedelta(days=REPEATS_SHOWN_DAYS)),
            "repeated_days": REPEATS_SHOWN_DAYS,
            "due_soon": maintenance_due(
                until=day + timedelta(days=DUE_SOON_DAYS), with_sessions=False, limit=20
            ),
        },
    )


@require_POST
def reminder_retry_view(request: HttpRequest, reminder_id: int) -> HttpResponse:
    reminder = get_object_or_404(Reminder, pk=reminder_id)
    try:
        outcome = reminder_retry(reminder=reminder, retried_by=cast(User, request.user))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        (messages.success if outcome.retried else messages.info)(request, outcome.message)
    return redirect(safe_next(request, reverse("staff:today")))


def _month_start(day: date, months_ahead: int) -> date:
    month = day.month - 1 + months_ahead
    return date(day.year + month // 12, month % 12 + 1, 1)


def maintenance(request: HttpRequest) -> HttpResponse:
    """Courses whose maintenance is due (overdue, this month, next month), optionally for one
    practitioner, each with the free time nearest its due date to book in one click."""
    now = timezone.now()
    day = local_day(now)
    next_month, after_next = _month_start(day, 1), _month_start(day, 2)
    practitioners = practitioner_roster()
    chosen = request.GET.get("practitioner", "")
    practitioner = next((p for p in practitioners if str(p.pk) == chosen), None)
    plans = maintenance_due(
        until=after_next - timedelta(days=1),
        practitioner_id=practitioner.pk if practitioner else None,
    )
    offers = maintenance_offers(plans=plans, now=now)
    due = {o.plan.pk: cast(date, o.plan.maintenance_due_on) for o in offers}  # all have one
    groups = [
        (gettext("Overdue"), [o for o in offers if due[o.plan.pk] < day]),
        (gettext("Due this month"), [o for o in offers if day <= due[o.plan.pk] < next_month]),
        (gettext("Due next month"), [o for o in offers if next_month <= due[o.plan.pk]]),
    ]
    return render(
        request,
        "scheduling/maintenance.html",
        {
            "section": "maintenance",
            "today": day,
            "groups": groups,
            "practitioners": practitioners,
            "practitioner": practitioner,
        },
    )


@require_POST
def maintenance_book(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Book the offered maintenance session; the offer is checked again by the service."""
    plan = get_object_or_404(TreatmentPlan, pk=plan_id)
    practitioner = request.POST.get("practitioner", "")
    back = redirect(
        reverse("staff:maintenance")
        + (f"?practitioner={practitioner}" if practitioner.isdecimal() else "")
    )
    try:
        starts_at = datetime.fromisoformat(request.POST.get("starts_at", ""))
        if timezone.is_naive(starts_at):
            raise ValueError
    except ValueError:
        messages.error(request, gettext("Choose a time offered on the page."))
        return back
    try:
        session = session_book(
            plan=plan,
            starts_at=starts_at,
            booked_by=cast(User, request.user),
            kind=SessionKind.MAINTENANCE,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except SchedulingConflictError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            gettext("Booked the maintenance session for %(patient)s on %(when)s.")
            % {"patient": plan.patient, "when": format_when(session.starts_at)},
        )
    return back
