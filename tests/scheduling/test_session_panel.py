"""A session's panel: staff mark arrivals, move a session (seeing how the course's later
sessions move, or why it cannot), cancel, complete with reactions, and record a no-show; each
through the services, with bad input refused and nothing changed."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from scheduling.models import Practitioner, SessionStatus, TreatmentPlan
from scheduling.selectors import clinic_tz
from tests.factories import PatientFactory
from tests.helpers import book_and_schedule, db_state, hold, sessions_of
from tests.timeutil import local_today, seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, staff_user: User) -> Client:
    client.force_login(staff_user)
    return client


@pytest.fixture
def course(
    kim: Practitioner, rejuran: ProtocolTemplate, tuesday: date, staff_user: User
) -> TreatmentPlan:
    """Four Rejuran sessions on Tuesdays at 10:00, 28 days apart."""
    patient: Patient = PatientFactory(user=None, family_name="Lee", given_name="Ji-woo")
    return book_and_schedule(patient, rejuran, kim, seoul(tuesday, 10), staff_user, session_count=4)


def panel(session_id: int) -> str:
    return reverse("staff:session", args=[session_id])


def test_the_panel_is_for_staff_only(client: Client, patient: Any, course: TreatmentPlan) -> None:
    first = sessions_of(course)[1]
    assert client.get(panel(first.pk))["Location"].startswith(reverse("login"))
    client.force_login(patient.user)
    assert client.get(panel(first.pk)).status_code == 403


def test_the_panel_shows_the_session_and_an_unknown_one_is_not_found(
    staff: Client, course: TreatmentPlan
) -> None:
    second = sessions_of(course)[2]

    response = staff.get(panel(second.pk), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Lee Ji-woo" in response.text
    assert "2 of 4" in response.text
    assert "<html" not in response.text
    assert staff.get(panel(999999)).status_code == 404


def test_previewing_a_move_shows_how_the_later_sessions_move_and_changes_nothing(
    staff: Client, course: TreatmentPlan, tuesday: date
) -> None:
    second = sessions_of(course)[2]
    new_day = tuesday + timedelta(days=27)  # a Monday, 27 days after session 1
    before = db_state()

    response = staff.post(
        panel(second.pk),
        {"action": "preview_move", "move-day": new_day.isoformat(), "move-time": "14:00"},
    )

    moves = response.context["moves"]
    assert moves[0].sequence == 2
    assert moves[0].new_start == seoul(new_day, 14)
    assert "Confirm the move" in response.text
    assert db_state() == before


def test_confirming_a_move_moves_session_two_and_keeps_every_later_window(
    staff: Client, course: TreatmentPlan, tuesday: date
) -> None:
    second = sessions_of(course)[2]
    new_day = tuesday + timedelta(days=21)

    response = staff.post(
        panel(second.pk),
        {"action": "move", "move-day": new_day.isoformat(), "move-time": "11:00"},
        headers={"HX-Request": "true"},
    )

    assert response["HX-Trigger"] == "sessions-changed"
    days = [s.starts_at.astimezone(clinic_tz()).date() for s in sessions_of(course).values()]
    assert days[1] == new_day
    assert all(21 <= (b - a).days <= 28 for a, b in itertools.pairwise(days))


def test_a_move_that_breaks_the_protocol_is_refused_with_the_reason_and_changes_nothing(
    staff: Client, course: TreatmentPlan, tuesday: date
) -> None:
    second = sessions_of(course)[2]
    too_late = tuesday + timedelta(days=35)
    before = db_state()

    response = staff.post(
        panel(second.pk), {"action": "move", "move-day": too_late.isoformat(), "move-time": "10:00"}
    )

    assert "it must be 21–28 days after session 1" in response.context["refusal"]
    assert "Nothing was changed." in response.text
    assert db_state() == before


def test_a_time_that_is_not_free_is_a_field_error(
    staff: Client, course: TreatmentPlan, kim: Practitioner, tuesday: date
) -> None:
    second = sessions_of(course)[2]
    day = tuesday + timedelta(days=22)
    hold(kim, seoul(day, 10))
    before = db_state()

    response = staff.post(
        panel(second.pk), {"action": "move", "move-day": day.isoformat(), "move-time": "10:00"}
    )

    assert "Select a valid choice" in " ".join(response.context["move"].errors["time"])
    assert db_state() == before


def test_cancelling_needs_a_reason(staff: Client, course: TreatmentPlan) -> None:
    third = sessions_of(course)[3]
    before = db_state()

    refused = staff.post(panel(third.pk), {"action": "cancel", "cancel-reason": ""})

    assert refused.context["cancel"].errors["reason"] == ["This field is required."]
    assert db_state() == before
    staff.post(panel(third.pk), {"action": "cancel", "cancel-reason": "patient travelling"})
    third.refresh_from_db()
    assert (third.status, third.cancellation_reason) == (
        SessionStatus.CANCELLED,
        "patient travelling",
    )


def test_a_session_that_took_place_is_completed_with_its_reactions(
    staff: Client, kim: Practitioner
) -> None:
    session = hold(kim, timezone.now() - timedelta(hours=1))

    page = staff.get(panel(session.pk))
    assert "Session completed" in page.text
    staff.post(
        panel(session.pk),
        {
            "action": "complete",
            "complete-reactions": ["swelling", "redness"],
            "complete-reaction_notes": "mild",
        },
    )

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert session.reactions == ["swelling", "redness"]
    assert session.reaction_notes == "mild"


def test_another_reaction_must_be_described(staff: Client, kim: Practitioner) -> None:
    session = hold(kim, timezone.now() - timedelta(hours=1))
    before = db_state()

    response = staff.post(
        panel(session.pk), {"action": "complete", "complete-reactions": ["other"]}
    )

    assert "Describe the other reaction." in response.text
    assert db_state() == before


def test_a_future_session_cannot_be_completed_or_a_no_show(
    staff: Client, course: TreatmentPlan
) -> None:
    first = sessions_of(course)[1]
    before = db_state()

    page = staff.get(panel(first.pk)).text
    refused = staff.post(panel(first.pk), {"action": "no_show"})

    assert "Session completed" not in page
    assert "A session that has not started cannot be a no-show." in refused.text
    assert db_state() == before


def test_reception_marks_a_patient_arrived_on_the_day(staff: Client, kim: Practitioner) -> None:
    session = hold(kim, timezone.now() + timedelta(minutes=30))

    staff.post(panel(session.pk), {"action": "arrived", "next": reverse("staff:today")})

    session.refresh_from_db()
    assert session.arrived_at is not None


def test_arrival_cannot_be_marked_for_another_day(staff: Client, course: TreatmentPlan) -> None:
    first = sessions_of(course)[1]
    before = db_state()

    response = staff.post(panel(first.pk), {"action": "arrived"})

    assert "Arrival can be marked from 3 hours before the session" in response.text
    assert db_state() == before


def test_a_missed_session_can_be_moved_to_a_new_time(staff: Client, kim: Practitioner) -> None:
    session = hold(kim, seoul(local_today() - timedelta(days=1), 10))
    staff.post(panel(session.pk), {"action": "no_show"})
    session.refresh_from_db()
    assert session.status == SessionStatus.NO_SHOW

    page = staff.get(panel(session.pk)).text

    assert "Preview the move" in page


@pytest.mark.parametrize("sessions", [3, 4])
def test_the_panel_takes_the_same_queries_whatever_the_course(
    staff: Client,
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    tuesday: date,
    staff_user: User,
    sessions: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    patient = PatientFactory(user=None)
    plan = book_and_schedule(
        patient, rejuran, kim, seoul(tuesday, 10), staff_user, session_count=sessions
    )
    for n in range(20 * sessions):
        hold(kim, seoul(tuesday, 11) + timedelta(days=n % 5, minutes=45 * (n // 5)))

    # the session looked up here; then the request: session, user with roles; the session
    # with its course, patient, practitioner and room; the catalogue's protocols and
    # milestones (kept in production); the day's bookings and the calendar's rules (one each)
    with django_assert_num_queries(8):
        staff.get(panel(sessions_of(plan)[2].pk), headers={"HX-Request": "true"})
