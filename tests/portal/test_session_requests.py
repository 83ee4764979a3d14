"""A patient asks to move a session (to a time offered: free with the same practitioner and
allowed by the protocol) or to cancel it; staff accept through the reschedule and cancel
services, or decline with a message; the patient sees the answer on My schedule and gets a
message in their language, sent once by the worker."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from clinic.roles import user_roles
from patients.models import Patient
from scheduling.models import (
    MessageKind,
    PatientMessage,
    RequestStatus,
    Session,
    SessionRequest,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.outbox import patient_messages_dispatch_due
from scheduling.requests import (
    session_move_options,
    session_request_accept,
    session_request_create,
    session_request_decline,
)
from scheduling.selectors import clinic_tz, open_session_requests
from scheduling.services import session_complete
from tests.helpers import db_state, hold, snapshot
from tests.timeutil import seoul

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def second_session(course: TreatmentPlan) -> Session:
    return course.sessions.get(sequence=2)


def options(session: Session, patient: Patient) -> list[datetime]:
    return list(session_move_options(session=session, plan=session.plan).starts)


def local(moment: datetime) -> str:
    return moment.astimezone(clinic_tz()).strftime("%Y-%m-%dT%H:%M")


def state() -> dict[str, Any]:
    return {**db_state(), **snapshot(requests=SessionRequest, messages=PatientMessage)}


@pytest.fixture
def asked(patient: Patient, course: TreatmentPlan) -> SessionRequest:
    """The patient asked to move session 2 to the first time offered."""
    session = second_session(course)
    return session_request_create(
        patient=patient,
        session=session,
        kind="move",
        wanted_start=options(session, patient)[0],
        note="A work trip that week.",
    )


# --- What is offered -------------------------------------------------------------------------


def test_the_times_offered_keep_the_protocol_and_are_free(
    patient: Patient, course: TreatmentPlan, kim: Any, tuesday: date
) -> None:
    first, second = course.sessions.order_by("sequence")[:2]
    day_1 = first.starts_at.astimezone(clinic_tz()).date()
    taken = seoul(day_1 + timedelta(days=22), 12)
    hold(kim, taken)

    offered = options(second, patient)

    assert offered
    for start in offered:
        gap = (start.astimezone(clinic_tz()).date() - day_1).days
        assert 21 <= gap <= 28
    assert taken not in offered
    assert second.starts_at not in offered
    per_day: dict[date, int] = {}
    for start in offered:
        per_day[start.astimezone(clinic_tz()).date()] = per_day.get(start.date(), 0) + 1
    assert max(per_day.values()) <= 4


def test_times_that_would_break_the_course_are_not_offered(
    patient: Patient, course: TreatmentPlan, kim: Any
) -> None:
    """Session 3 is 28 days after session 2. Moving session 2 earlier would pull session 3
    into days when Dr. Kim is fully booked, so only session 2's own day is offered."""
    first, second, third = course.sessions.order_by("sequence")
    tz = clinic_tz()
    day_1 = first.starts_at.astimezone(tz).date()
    day_3 = third.starts_at.astimezone(tz).date()
    for offset in range(42, (day_3 - day_1).days):
        for hour in range(9, 21):
            hold(kim, seoul(day_1 + timedelta(days=offset), hour), minutes=60)

    offered = {start.astimezone(tz).date() for start in options(second, patient)}

    assert offered == {second.starts_at.astimezone(tz).date()}


def test_a_past_or_completed_session_offers_nothing(
    patient: Patient, course: TreatmentPlan, staff_user: User
) -> None:
    first = course.sessions.get(sequence=1)
    session_complete(session=first, completed_by=staff_user, now=first.ends_at)
    first.refresh_from_db()

    assert options(first, patient) == []


# --- Asking ----------------------------------------------------------------------------------


def test_a_patient_asks_to_move_a_session_from_the_page(
    patient_client: Client, patient: Patient, course: TreatmentPlan
) -> None:
    session = second_session(course)
    url = reverse("portal:session-change", args=[session.pk])
    page = text(patient_client.get(url))
    wanted = options(session, patient)[1]
    assert f'value="{local(wanted)}"' in page

    response = patient_client.post(
        url,
        {
            "action": "move",
            "move-kind": "move",
            "move-wanted_start": local(wanted),
            "move-note": "Evenings suit me better.",
        },
        follow=True,
    )

    [request] = SessionRequest.objects.all()
    assert (request.kind, request.status, request.wanted_start) == ("move", "open", wanted)
    assert request.note == "Evenings suit me better."
    assert request.booked_start == session.starts_at
    assert request.history.first().history_user == patient.user  # type: ignore[union-attr]
    page = text(response)
    assert "We have asked the clinic to move your session" in page
    assert "Waiting for the clinic" in page
    assert "waiting for the clinic" in page  # beside the session, instead of "Move or cancel"
    session.refresh_from_db()
    assert session.starts_at == request.booked_start  # nothing moves until staff accept


def test_a_patient_asks_to_cancel_a_session(patient_client: Client, course: TreatmentPlan) -> None:
    session = second_session(course)

    patient_client.post(
        reverse("portal:session-change", args=[session.pk]),
        {"action": "cancel", "cancel-kind": "cancel", "cancel-note": "Pregnant"},
    )

    [request] = SessionRequest.objects.all()
    assert (request.kind, request.wanted_start, request.note) == ("cancel", None, "Pregnant")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"move-wanted_start": ""}, "wanted_start", "Choose a new time."),
        ({"move-wanted_start": "tomorrow-ish"}, "wanted_start", "Choose one of the times offered."),
        ({"move-wanted_start": "2020-01-07T10:00"}, "wanted_start", "Choose one of the times"),
        ({"move-note": "x" * 501}, "note", "at most 500 characters"),
    ],
)
def test_bad_input_gets_a_field_error_and_changes_nothing(
    patient_client: Client,
    patient: Patient,
    course: TreatmentPlan,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    session = second_session(course)
    posted = {
        "action": "move",
        "move-kind": "move",
        "move-wanted_start": local(options(session, patient)[0]),
        **data,
    }
    before = state()

    response = patient_client.post(reverse("portal:session-change", args=[session.pk]), posted)

    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert 'class="error-summary"' in page
    assert state() == before


def test_a_time_outside_the_window_is_refused_by_the_service(
    patient: Patient, course: TreatmentPlan
) -> None:
    session = second_session(course)
    before = state()

    with pytest.raises(ValidationError) as refused:
        session_request_create(
            patient=patient,
            session=session,
            kind="move",
            wanted_start=session.starts_at + timedelta(days=10),
        )

    assert "wanted_start" in refused.value.error_dict
    assert state() == before


def test_a_free_time_inside_the_window_that_is_taken_is_refused_with_the_reason(
    patient: Patient, course: TreatmentPlan, kim: Any
) -> None:
    session = second_session(course)
    wanted = options(session, patient)[0]
    hold(kim, wanted)

    with pytest.raises(ValidationError) as refused:
        session_request_create(patient=patient, session=session, kind="move", wanted_start=wanted)

    [error] = refused.value.error_dict["wanted_start"]
    assert "already booked" in error.message


def test_one_request_at_a_time_per_session(
    patient: Patient, course: TreatmentPlan, asked: SessionRequest
) -> None:
    with pytest.raises(ValidationError, match="already asked"):
        session_request_create(patient=patient, session=asked.session, kind="cancel")

    assert SessionRequest.objects.count() == 1


def test_another_patients_session_is_not_found_by_the_service(
    other_patient: Patient, course: TreatmentPlan
) -> None:
    with pytest.raises(Session.DoesNotExist):
        session_request_create(patient=other_patient, session=second_session(course), kind="cancel")


# --- Staff see and answer --------------------------------------------------------------------


def test_staff_see_open_requests_on_the_patient_page_and_in_the_selector(
    client: Client, staff_user: User, patient: Patient, asked: SessionRequest
) -> None:
    client.force_login(staff_user)

    page = text(client.get(reverse("staff:patient", args=[patient.pk])))

    assert list(open_session_requests()) == [asked]
    assert "Requests from the patient" in page
    assert "A work trip that week." in page
    assert reverse("staff:request-accept", args=[asked.pk]) in page
    assert reverse("staff:request-decline", args=[asked.pk]) in page


def test_the_open_requests_partial_reads_the_requests_in_one_query(
    staff_user: User,
    patient: Patient,
    other_patient: Patient,
    asked: SessionRequest,
    book: Callable[..., TreatmentPlan],
    tuesday: date,
    rf: Any,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    from django.template.loader import render_to_string

    theirs = book(other_patient, seoul(tuesday, 15)).sessions.get(sequence=3)
    session_request_create(patient=other_patient, session=theirs, kind="cancel")
    request = rf.get("/staff/")
    request.user = staff_user
    user_roles(staff_user)  # read once per request by the page around the partial

    # the requests with all the partial shows; the catalogue's protocols and milestones (kept
    # in production)
    with django_assert_num_queries(3):
        html_ = render_to_string(
            "scheduling/partials/open_requests.html",
            {"open_requests": open_session_requests(), "show_patient": True},
            request=request,
        )

    assert html_.count('class="request-item"') == 2
    assert other_patient.full_name in html_


def test_staff_accept_a_move_through_the_reschedule_service_and_the_patient_is_told(
    client: Client,
    staff_user: User,
    patient: Patient,
    asked: SessionRequest,
    mailoutbox: list[Any],
) -> None:
    client.force_login(staff_user)
    session = asked.session
    revision = session.revision

    response = client.post(
        reverse("staff:request-accept", args=[asked.pk]),
        {"message": "See you then!", "next": reverse("staff:patient", args=[patient.pk])},
        follow=True,
    )

    session.refresh_from_db()
    asked.refresh_from_db()
    assert session.starts_at == asked.wanted_start
    assert session.revision == revision + 1
    assert (asked.status, asked.answer) == ("accepted", "See you then!")
    assert asked.answered_by == staff_user
    assert "they are told" in text(response)
    [_message] = PatientMessage.objects.filter(kind=MessageKind.REQUEST_ANSWERED)
    assert mailoutbox == []  # not inside the request
    patient_messages_dispatch_due()
    [email] = mailoutbox
    assert email.to == [patient.email]
    assert "Your session has been moved" in email.subject
    assert "See you then!" in email.body
    patient_messages_dispatch_due()
    assert len(mailoutbox) == 1  # once

    page = text(client.get(reverse("staff:patient", args=[patient.pk])))
    assert "Answered lately" in page


def test_staff_accept_a_cancellation_through_the_cancel_service(
    staff_user: User, patient: Patient, course: TreatmentPlan
) -> None:
    session = second_session(course)
    request = session_request_create(patient=patient, session=session, kind="cancel", note="Ill")

    session_request_accept(session_request=request, answered_by=staff_user)

    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    assert session.cancellation_reason == "Ill"


def test_a_request_the_protocol_no_longer_allows_is_refused_with_the_reason(
    client: Client,
    staff_user: User,
    patient: Patient,
    asked: SessionRequest,
    kim: Any,
    sms_outbox: list[dict[str, str]],
) -> None:
    hold(kim, asked.wanted_start)  # someone took the time since
    session_before = snapshot(sessions=Session)
    client.force_login(staff_user)

    response = client.post(
        reverse("staff:request-accept", args=[asked.pk]),
        {"next": reverse("staff:patient", args=[patient.pk])},
        follow=True,
    )

    asked.refresh_from_db()
    assert asked.status == RequestStatus.REFUSED
    assert "already booked" in asked.answer
    assert snapshot(sessions=Session) == session_before
    assert "Not done:" in text(response)
    assert PatientMessage.objects.filter(request=asked).count() == 1
    patient_messages_dispatch_due()
    portal = Client()
    portal.force_login(patient.user)
    page = text(portal.get(reverse("portal:schedule")))
    assert "Not possible" in page
    assert "already booked" in page


def test_declining_needs_a_message(client: Client, staff_user: User, asked: SessionRequest) -> None:
    client.force_login(staff_user)
    before = state()

    response = client.post(reverse("staff:request-decline", args=[asked.pk]), {"message": " "})

    assert response.status_code == 400
    assert "Tell the patient why" in text(response)
    assert state() == before


def test_declining_tells_the_patient_in_their_language(
    staff_user: User, patient: Patient, asked: SessionRequest, mailoutbox: list[Any]
) -> None:
    patient.preferred_language = "ko"
    patient.save()

    session_request_decline(
        session_request=asked, answered_by=staff_user, message="그 주는 휴진입니다."
    )
    patient_messages_dispatch_due()

    asked.refresh_from_db()
    assert asked.status == RequestStatus.DECLINED
    [email] = mailoutbox
    assert "그 주는 휴진입니다." in email.body
    assert "예약" in email.body or "세션" in email.body or "시술" in email.body


def test_a_request_is_answered_once(staff_user: User, asked: SessionRequest) -> None:
    session_request_decline(session_request=asked, answered_by=staff_user, message="No.")

    with pytest.raises(ValidationError, match="already answered"):
        session_request_accept(session_request=asked, answered_by=staff_user)

    asked.refresh_from_db()
    assert asked.status == RequestStatus.DECLINED
    assert PatientMessage.objects.filter(request=asked).count() == 1


def test_patients_cannot_answer_requests(patient_client: Client, asked: SessionRequest) -> None:
    response = patient_client.post(reverse("staff:request-accept", args=[asked.pk]))

    assert response.status_code == 403
    asked.refresh_from_db()
    assert asked.status == RequestStatus.OPEN


def test_another_patients_request_never_shows_on_my_schedule(
    client: Client, other_patient: Patient, asked: SessionRequest
) -> None:
    client.force_login(other_patient.user)

    page = text(client.get(reverse("portal:schedule")))

    assert "A work trip that week." not in page
    assert "Your requests" not in page


@pytest.mark.parametrize("other_bookings", [10, 200])
def test_the_move_page_takes_the_same_queries_however_full_the_calendar(
    patient_client: Client,
    course: TreatmentPlan,
    kim: Any,
    other_bookings: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    second = second_session(course)
    window_start = second.starts_at - timedelta(days=7)
    for n in range(other_bookings):
        day = n % 14 or 14
        day = 15 if day == 7 else day  # day 7 is session 2's own: the practitioner is busy
        hold(kim, window_start + timedelta(days=day, minutes=45 * (n // 14)))

    # Was one dry-run reschedule per time offered; the course's protocol comes from the
    # catalogue (2 queries here, kept in production).
    with django_assert_num_queries(15):
        response = patient_client.get(reverse("portal:session-change", args=[second.pk]))

    assert response.status_code == 200
