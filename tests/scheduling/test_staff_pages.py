"""The staff's day pages (Today, the day calendar, maintenance due), booking a course in the
browser and following the worker placing it: access per role, what each shows, bad input, and
a constant number of queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from scheduling.models import PlanStatus, Practitioner, Session, SessionStatus, TreatmentPlan
from scheduling.services import plan_schedule
from tests.factories import PatientFactory, PractitionerFactory, SessionFactory
from tests.helpers import book_and_schedule, db_state, failed_reminder, flag, hold
from tests.timeutil import WEDNESDAY, local_today, seoul, upcoming
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, staff_user: User) -> Client:
    client.force_login(staff_user)
    return client


@pytest.fixture
def jiwoo(db: None) -> Patient:
    return PatientFactory(user=None, family_name="Lee", given_name="Ji-woo")


def booking(
    template: ProtocolTemplate,
    practitioner: Practitioner,
    day: date,
    at: str = "10:00",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "protocol": template.pk,
        "session_count": 4,
        "interval_days": 28,
        "practitioner": practitioner.pk,
        "room": "",
        "day": day.isoformat(),
        "time": at,
        "action": "preview",
        **extra,
    }


# --- Access -----------------------------------------------------------------------------------


PAGES = ["staff:today", "staff:calendar", "staff:maintenance"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client: Client, name: str) -> None:
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_patients_cannot_open_staff_pages(client: Client, patient: Any, name: str) -> None:
    client.force_login(patient.user)

    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ["staff_user", "clinic_admin"])
def test_staff_and_clinic_admins_open_staff_pages(
    client: Client, request: pytest.FixtureRequest, persona: str, name: str
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse(name))

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_django_admin_flag_alone_does_not_open_staff_pages(client: Client) -> None:
    """Access comes from the clinic's roles, not from ``is_staff``."""
    user = User.objects.create_user("intern", password="x-long-password-1", is_staff=True)
    client.force_login(user)

    assert client.get(reverse("staff:today")).status_code == 403


def test_staff_land_on_today(staff: Client) -> None:
    assert staff.get(reverse("home"))["Location"] == reverse("staff:today")


# --- Today and the day calendar ----------------------------------------------------------------


def test_today_lists_each_practitioners_sessions_in_time_order(
    staff: Client, kim: Practitioner, rejuran: ProtocolTemplate
) -> None:
    today = local_today()
    late = hold(kim, seoul(today, 16))
    early = hold(kim, seoul(today, 9, 15))
    hold(kim, seoul(today, 12), status=SessionStatus.CANCELLED)

    page = staff.get(reverse("staff:today")).text

    assert page.index(early.plan.patient.full_name) < page.index(late.plan.patient.full_name)
    assert "1 of 3" in page
    assert page.count('class="agenda-item"') == 2  # the cancelled one is not there


def test_today_lists_courses_that_need_attention_with_the_reason(
    staff: Client, kim: Practitioner
) -> None:
    plan = hold(kim, seoul(local_today() + timedelta(days=3), 10)).plan
    plan.status = PlanStatus.NEEDS_ATTENTION
    plan.attention_reason = "Session 2 was missed: move it to a new time or cancel it."
    plan.save()

    page = staff.get(reverse("staff:today")).text

    assert "Session 2 was missed: move it to a new time or cancel it." in page
    assert plan.patient.full_name in page
    assert reverse("staff:patient", args=[plan.patient_id]) in page  # nothing missed to move


def test_a_course_broken_by_a_missed_session_offers_to_move_the_earliest_one_missed(
    staff: Client, kim: Practitioner
) -> None:
    first = hold(kim, seoul(local_today() - timedelta(days=30), 10))
    plan = first.plan
    later = SessionFactory(plan=plan, starts_at=seoul(local_today() - timedelta(days=9), 10))
    Session.objects.filter(pk__in=[first.pk, later.pk]).update(status=SessionStatus.NO_SHOW)
    plan.status = PlanStatus.NEEDS_ATTENTION
    plan.attention_reason = "Session 1 was missed: move it to a new time or cancel it."
    plan.save()

    page = staff.get(reverse("staff:today")).text

    assert f'hx-get="{reverse("staff:session", args=[first.pk])}"' in page
    assert reverse("staff:session", args=[later.pk]) not in page


def test_the_calendar_shows_the_chosen_day(staff: Client, kim: Practitioner) -> None:
    day = local_today() + timedelta(days=9)
    session = hold(kim, seoul(day, 11))

    page = staff.get(reverse("staff:calendar"), {"day": day.isoformat()}).text

    assert session.plan.patient.full_name in page
    assert f"?day={(day + timedelta(days=1)).isoformat()}" in page


def test_a_calendar_day_that_is_not_a_date_shows_today(staff: Client) -> None:
    response = staff.get(reverse("staff:calendar"), {"day": "someday"})

    assert response.status_code == 200
    assert response.context["day"] == local_today()


def busy_day(sessions: int) -> None:
    """``sessions`` sessions today across four practitioners, and a tenth as many courses that
    need attention and as many coming due for maintenance."""
    today = local_today()
    practitioners = [PractitionerFactory() for _ in range(4)]
    for n in range(sessions):
        hold(practitioners[n % 4], seoul(today, 0) + timedelta(minutes=5 * n), minutes=5)
    for n in range(sessions // 10):
        missed = hold(practitioners[0], seoul(today - timedelta(days=20 + n), 10))
        missed.status = SessionStatus.NO_SHOW
        missed.save()
        TreatmentPlan.objects.filter(pk=missed.plan_id).update(
            status=PlanStatus.NEEDS_ATTENTION, attention_reason="Session 1 was missed."
        )
        due = hold(practitioners[1], seoul(today - timedelta(days=180 + n), 10)).plan
        TreatmentPlan.objects.filter(pk=due.pk).update(
            status=PlanStatus.MAINTENANCE, maintenance_due_on=today + timedelta(days=5)
        )


@pytest.mark.parametrize("sessions", [10, 200])
def test_today_takes_the_same_queries_however_busy_the_day(
    staff: Client, sessions: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    busy_day(sessions)

    # session, user with roles; attention (with its missed sessions); the day's sessions,
    # practitioners (with their shortest treatment); patients' open requests; and, as nothing
    # is kept here, the catalogue's protocols and milestones for attention, the day's sessions
    # and the open requests (2 each: none once kept, see tests/clinic/test_kept_values.py)
    with django_assert_num_queries(12):
        response = staff.get(reverse("staff:today"))

    assert response.text.count('class="agenda-item"') == sessions
    assert response.text.count("Session 1 was missed.") == sessions // 10


@pytest.mark.parametrize("sessions", [10, 200])
def test_todays_side_panels_take_the_same_queries_however_busy_the_day(
    staff: Client, sessions: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    busy_day(sessions)

    # session, user with roles; next free times (practitioners with their shortest treatment,
    # the calendar's rules in one, bookings); failed reminders; messages possibly sent twice;
    # maintenance due, and, as nothing is kept here, the catalogue's protocols and milestones
    # for it (none once kept)
    with django_assert_num_queries(10):
        response = staff.get(reverse("staff:today-side"), headers={"HX-Request": "true"})

    assert response.text.count("Due ") == sessions // 10


def test_maintenance_lists_overdue_and_due_courses_without_a_booked_session(
    staff: Client, kim: Practitioner
) -> None:
    today = local_today()
    overdue = hold(kim, seoul(today - timedelta(days=200), 10)).plan
    soon = hold(kim, seoul(today - timedelta(days=170), 10)).plan
    for plan, due in ((overdue, today - timedelta(days=9)), (soon, today + timedelta(days=5))):
        plan.status = PlanStatus.MAINTENANCE
        plan.maintenance_due_on = due
        plan.save()

    response = staff.get(reverse("staff:maintenance"))

    overdue_group, this_month, next_month = response.context["groups"]
    assert [offer.plan for offer in overdue_group[1]] == [overdue]
    assert soon in [offer.plan for offer in this_month[1] + next_month[1]]


# --- Booking a course --------------------------------------------------------------------------


def test_the_booking_form_starts_from_the_treatments_usual_protocol_and_a_free_slot(
    staff: Client, jiwoo: Patient, kim: Practitioner, rejuran: ProtocolTemplate
) -> None:
    response = staff.get(reverse("staff:book", args=[jiwoo.pk]), {"treatment": "rejuran-healer"})

    form = response.context["form"]
    assert form["protocol"].value() == rejuran.pk
    assert form["session_count"].value() == rejuran.initial_sessions_default
    assert form["practitioner"].value() == kim.pk
    preview = response.context["preview"]
    assert preview.fits
    assert len(preview.proposal.sessions) == rejuran.initial_sessions_default
    assert preview.proposal.sessions[0].starts_at > timezone.now()


def test_changing_a_field_answers_with_the_form_and_the_new_proposal_only(
    staff: Client, jiwoo: Patient, kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    response = staff.post(
        reverse("staff:book", args=[jiwoo.pk]),
        booking(rejuran, kim, tuesday),
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<form id="booking"')
    assert "<html" not in response.text
    sessions = response.context["preview"].proposal.sessions
    assert [s.starts_at for s in sessions][:2] == [
        seoul(tuesday, 10),
        seoul(tuesday + timedelta(days=28), 10),
    ]


def test_picking_another_protocol_brings_its_usual_sessions_and_interval(
    staff: Client, jiwoo: Patient, kim: Practitioner, tuesday: date
) -> None:
    prp = ProtocolTemplate.objects.get(treatment__slug="prp", is_default=True)

    response = staff.post(
        reverse("staff:book", args=[jiwoo.pk]),
        booking(prp, kim, tuesday, changed="protocol", session_count=4, interval_days=21),
    )

    form = response.context["form"]
    assert form["session_count"].value() == str(prp.initial_sessions_default)
    assert form["interval_days"].value() == str(prp.interval_days_default)


def test_booking_creates_the_plan_and_follows_the_worker_to_the_patients_page(
    staff: Client,
    jiwoo: Patient,
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    tuesday: date,
    staff_user: User,
) -> None:
    response = staff.post(
        reverse("staff:book", args=[jiwoo.pk]), booking(rejuran, kim, tuesday, action="book")
    )

    plan = TreatmentPlan.objects.get(patient=jiwoo)
    assert response["Location"] == reverse("staff:plan", args=[plan.pk])
    assert (plan.status, plan.session_count, plan.booked_by) == (
        PlanStatus.SCHEDULING,
        4,
        staff_user,
    )
    waiting = staff.get(reverse("staff:plan", args=[plan.pk]), headers={"HX-Request": "true"})
    assert "Placing the sessions" in waiting.text
    assert 'hx-trigger="load delay:1s"' in waiting.text

    plan_schedule(plan_id=plan.pk)  # what the worker does
    done = staff.get(reverse("staff:plan", args=[plan.pk]), headers={"HX-Request": "true"})

    assert done["HX-Redirect"] == reverse("staff:patient", args=[jiwoo.pk])
    message = staff.get(reverse("staff:today")).context["messages"]
    assert [str(m) for m in message] == [
        f"Booked 4 sessions for {jiwoo.full_name}, "
        f"{tuesday:%a} {tuesday.day} {tuesday:%b %Y} – "
        f"{(tuesday + timedelta(days=84)):%a} {(tuesday + timedelta(days=84)).day} "
        f"{(tuesday + timedelta(days=84)):%b %Y}."
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param({"session_count": 5}, "session_count", "takes 3–4 sessions, not 5", id="5"),
        pytest.param(
            {"interval_days": 14}, "interval_days", "21–28 days apart, not 14", id="14 days"
        ),
        pytest.param({"time": "10:10"}, "time", "Select a valid choice.", id="off the grid"),
        pytest.param({"day": "2020-01-07"}, "day", "no free time that day", id="in the past"),
        pytest.param({"day": ""}, "day", "This field is required.", id="no day"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_books_nothing(
    staff: Client,
    jiwoo: Patient,
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    tuesday: date,
    change: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = db_state()

    response = staff.post(
        reverse("staff:book", args=[jiwoo.pk]),
        {**booking(rejuran, kim, tuesday, action="book"), **change},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert 'role="alert"' in response.text
    assert db_state() == before


def test_a_practitioner_who_does_not_perform_the_treatment_is_refused(
    staff: Client, jiwoo: Patient, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    laser_only = PractitionerFactory(display_name="Dr. Yoon")
    before = db_state()

    response = staff.post(
        reverse("staff:book", args=[jiwoo.pk]),
        booking(rejuran, laser_only, tuesday, action="book"),
    )

    assert "Dr. Yoon does not perform Rejuran Healer." in response.text
    assert db_state() == before


def test_a_contraindication_needs_a_reason_which_is_kept_with_the_course(
    staff: Client, jiwoo: Patient, kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    flag(jiwoo, "fish-allergy")
    before = db_state()
    url = reverse("staff:book", args=[jiwoo.pk])

    refused = staff.post(url, booking(rejuran, kim, tuesday, action="book"))

    assert "Recorded contraindication:" in refused.text
    assert "Give a reason to book anyway." in refused.text
    assert db_state() == before

    reason = "Allergist cleared PN injections (letter on file)."
    staff.post(url, booking(rejuran, kim, tuesday, action="book", override_reason=reason))

    plan = TreatmentPlan.objects.get(patient=jiwoo)
    assert (plan.override_reason, plan.overridden_conditions) == (
        reason,
        "Fish or salmon allergy",
    )


def test_a_course_that_cannot_fit_says_which_session_and_why_and_cannot_be_booked(
    staff: Client, jiwoo: Patient, kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    from scheduling.models import Closure

    Closure.objects.create(
        starts_on=tuesday + timedelta(days=20),
        ends_on=tuesday + timedelta(days=29),
        reason="clinic renovation",
    )

    response = staff.post(reverse("staff:book", args=[jiwoo.pk]), booking(rejuran, kim, tuesday))

    assert "Session 2 cannot be placed between" in response.text
    assert "clinic renovation" in response.text
    assert 'value="book" disabled' in response.text


def test_a_full_day_offers_the_next_free_time(
    staff: Client, jiwoo: Patient, kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date
) -> None:
    hold(kim, seoul(tuesday, 10), minutes=9 * 60)  # 10:00–19:00

    response = staff.post(reverse("staff:book", args=[jiwoo.pk]), booking(rejuran, kim, tuesday))

    assert response.context["form"].next_free == seoul(tuesday + timedelta(days=1), 10)
    jumped = staff.post(
        reverse("staff:book", args=[jiwoo.pk]),
        booking(rejuran, kim, tuesday, jump=f"{tuesday + timedelta(days=1)}T10:00"),
    )
    assert jumped.context["preview"].proposal.sessions[0].starts_at == seoul(
        tuesday + timedelta(days=1), 10
    )


def test_booking_for_an_unknown_patient_is_not_found(staff: Client) -> None:
    assert staff.get(reverse("staff:book", args=[999999])).status_code == 404


def test_a_course_the_worker_could_not_place_says_why_on_arrival(
    staff: Client,
    jiwoo: Patient,
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    tuesday: date,
    staff_user: User,
) -> None:
    plan = book_and_schedule(jiwoo, rejuran, kim, seoul(tuesday, 10), staff_user)
    plan.status = PlanStatus.NEEDS_ATTENTION
    plan.attention_reason = "Session 3 cannot be placed."
    plan.save()

    response = staff.get(reverse("staff:plan", args=[plan.pk]))

    assert response["Location"] == reverse("staff:patient", args=[jiwoo.pk])
    [message] = staff.get(reverse("staff:today")).context["messages"]
    assert "needs attention: Session 3 cannot be placed." in str(message)


def test_an_unknown_plan_is_not_found(staff: Client) -> None:
    assert staff.get(reverse("staff:plan", args=[999999])).status_code == 404


@pytest.mark.parametrize("other_sessions", [10, 200])
def test_the_booking_preview_takes_the_same_queries_however_full_the_calendar(
    staff: Client,
    jiwoo: Patient,
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    tuesday: date,
    other_sessions: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    for n in range(other_sessions):
        start = seoul(tuesday + timedelta(days=1 + n % 90), 11) + timedelta(minutes=45 * (n // 90))
        hold(kim, start)
    url = reverse("staff:book", args=[jiwoo.pk])

    with django_assert_num_queries(17):
        response = staff.post(url, booking(rejuran, kim, tuesday), headers={"HX-Request": "true"})

    assert response.context["preview"].fits


# --- Today: free times, failed reminders, arrivals ---------------------------------------------


def test_today_offers_each_practitioners_next_free_times(staff: Client, kim: Practitioner) -> None:
    response = staff.get(reverse("staff:today-side"), headers={"HX-Request": "true"})

    [offer] = [o for o in response.context["next_free"] if o.practitioner == kim]
    assert len(offer.starts) == 3
    assert all(start > timezone.now() for start in offer.starts)
    assert offer.starts == sorted(offer.starts)


def test_today_loads_its_side_panels_once_shown_and_again_when_a_session_changes(
    staff: Client, kim: Practitioner
) -> None:
    side = reverse("staff:today-side")

    today = staff.get(reverse("staff:today")).text
    panels = staff.get(side, headers={"HX-Request": "true"}).text

    assert f'hx-get="{side}" hx-trigger="load"' in today
    assert f'<a href="{side}">' in today  # without JavaScript, a link to them
    assert kim.display_name not in today.split('<aside class="today-side">')[1]  # not yet
    assert panels.startswith('<div class="today-side-panels"')  # the panels alone, swapped in
    assert f'hx-get="{side}" hx-trigger="sessions-changed from:body"' in panels
    assert "Next free times" in panels
    assert kim.display_name in panels
    assert "<html" not in panels


def test_todays_side_panels_are_a_page_of_their_own_without_javascript(
    staff: Client, kim: Practitioner
) -> None:
    response = staff.get(reverse("staff:today-side"))

    assert "<html" in response.text
    assert "<h1>Free times and follow-ups</h1>" in response.text
    assert f'href="{reverse("staff:today")}"' in response.text
    assert "Next free times" in response.text
    assert kim.display_name in response.text
    assert "HX-Request" in response["Vary"]


def test_a_failed_reminder_is_listed_and_can_be_tried_again(
    staff: Client, kim: Practitioner
) -> None:
    from scheduling.models import ReminderStatus

    reminder = failed_reminder(kim)

    page = staff.get(reverse("staff:today-side"), headers={"HX-Request": "true"}).text
    assert "gateway refused the number" in page
    assert f'name="next" value="{reverse("staff:today")}"' in page  # shown on Today

    retried = staff.post(
        reverse("staff:reminder-retry", args=[reminder.pk]), {"next": reverse("staff:today")}
    )
    assert retried["Location"] == reverse("staff:today")
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING
    again = staff.post(reverse("staff:reminder-retry", args=[reminder.pk]), follow=True)
    assert "not failed: nothing was changed" in again.text


def test_trying_a_reminder_again_from_the_side_panels_page_comes_back_to_it(
    staff: Client, kim: Practitioner
) -> None:
    from scheduling.models import Reminder, ReminderStatus

    reminder = failed_reminder(kim)
    side = reverse("staff:today-side")
    assert f'name="next" value="{side}"' in staff.get(side).text  # without JavaScript
    retry = reverse("staff:reminder-retry", args=[reminder.pk])

    assert staff.post(retry, {"next": side})["Location"] == side
    # Somewhere off the site is not followed: back to Today.
    Reminder.objects.filter(pk=reminder.pk).update(status=ReminderStatus.FAILED)
    assert staff.post(retry, {"next": "https://evil.example/"})["Location"] == reverse(
        "staff:today"
    )


def test_retrying_with_get_is_not_allowed(staff: Client) -> None:
    assert staff.get(reverse("staff:reminder-retry", args=[1])).status_code == 405


# --- Maintenance: one-click booking ---------------------------------------------------------------


@pytest.fixture
def due_plan(kim: Practitioner) -> TreatmentPlan:
    plan = hold(
        kim, seoul(local_today() - timedelta(days=180), 10), status=SessionStatus.COMPLETED
    ).plan
    plan.status = PlanStatus.MAINTENANCE
    # An open day (a due date on a Sunday would be refused for the closure, not the booking).
    plan.maintenance_due_on = upcoming(WEDNESDAY, weeks_ahead=1)
    plan.save()
    return plan


def test_maintenance_offers_a_free_time_near_the_due_date_at_the_usual_hour(
    staff: Client, due_plan: TreatmentPlan
) -> None:
    response = staff.get(reverse("staff:maintenance"))

    [offer] = [o for _, offers in response.context["groups"] for o in offers]
    assert offer.start is not None
    assert (
        abs(
            (
                offer.start.astimezone(seoul(local_today(), 0).tzinfo).date()
                - due_plan.maintenance_due_on
            ).days
        )
        <= 3
    )
    assert offer.start.astimezone(seoul(local_today(), 0).tzinfo).hour == 10


def test_one_click_books_the_offered_maintenance_session(
    staff: Client, due_plan: TreatmentPlan
) -> None:
    offer = next(
        o for _, offers in staff.get(reverse("staff:maintenance")).context["groups"] for o in offers
    )

    response = staff.post(
        reverse("staff:maintenance-book", args=[due_plan.pk]),
        {"starts_at": offer.start.isoformat()},
        follow=True,
    )

    session = due_plan.sessions.get(kind="maintenance")
    assert session.starts_at == offer.start
    assert "Booked the maintenance session" in response.text
    assert all(o.plan != due_plan for _, offers in response.context["groups"] for o in offers)


@pytest.mark.parametrize("starts_at", ["", "tomorrow", "2026-12-15T10:00:00"])
def test_a_maintenance_time_that_is_not_an_offered_one_books_nothing(
    staff: Client, due_plan: TreatmentPlan, starts_at: str
) -> None:
    before = db_state()

    response = staff.post(
        reverse("staff:maintenance-book", args=[due_plan.pk]), {"starts_at": starts_at}, follow=True
    )

    assert "Choose a time offered on the page." in response.text
    assert db_state() == before


def test_a_taken_maintenance_time_is_refused_with_the_reason(
    staff: Client, due_plan: TreatmentPlan, kim: Practitioner
) -> None:
    start = seoul(due_plan.maintenance_due_on, 10)
    hold(kim, start)
    before = db_state()

    response = staff.post(
        reverse("staff:maintenance-book", args=[due_plan.pk]),
        {"starts_at": start.isoformat()},
        follow=True,
    )

    assert "already booked" in response.text
    assert db_state() == before


def test_maintenance_can_be_shown_for_one_practitioner(
    staff: Client, due_plan: TreatmentPlan
) -> None:
    other = PractitionerFactory(display_name="Dr. Yoon")

    response = staff.get(reverse("staff:maintenance"), {"practitioner": other.pk})

    assert all(offers == [] for _, offers in response.context["groups"])


@pytest.mark.parametrize("plans", [10, 200])
def test_maintenance_takes_the_same_queries_however_many_are_due(
    staff: Client, kim: Practitioner, plans: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    for n in range(plans):
        plan = hold(
            kim, seoul(local_today() - timedelta(days=200 - n), 10), status=SessionStatus.COMPLETED
        ).plan
        plan.status = PlanStatus.MAINTENANCE
        # Due within four weeks: the page always lists that far (this month and the next), even
        # on the 31st of a month before a short one.
        plan.maintenance_due_on = local_today() + timedelta(days=n % 28)
        plan.save()

    # session, user with roles; practitioners; due plans (+ sessions); availability (5); the
    # catalogue's protocols and milestones, which a request keeps while it is unchanged (2)
    with django_assert_num_queries(9):
        response = staff.get(reverse("staff:maintenance"))

    assert sum(len(offers) for _, offers in response.context["groups"]) == plans


def test_today_shows_patients_open_requests_to_answer(staff: Client, kim: Practitioner) -> None:
    from scheduling.models import RequestKind, SessionRequest

    session = hold(kim, seoul(local_today() + timedelta(days=9), 10))
    SessionRequest.objects.create(
        session=session,
        patient=session.plan.patient,
        kind=RequestKind.CANCEL,
        booked_start=session.starts_at,
        note="Travelling that week.",
    )

    page = staff.get(reverse("staff:today")).text

    assert "Travelling that week." in page
    assert "Accept and cancel" in page
