"""Sessions over HTTP: who may see and change them, the list's filters (dates are local days),
moving a session and the later ones the protocol drags along, cancelling, completing with the
reactions seen, and marking a no-show.

Errors always come as ``{"errors": [{"field", "code", "message"}]}``; a protocol that cannot be
kept answers 409 with the planner's structured ``reason`` as well.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.formatting import format_day
from patients.models import Patient
from scheduling.models import (
    Closure,
    Leave,
    PlanStatus,
    Practitioner,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
    WorkingHours,
)
from scheduling.services import session_book, session_complete, session_mark_no_show
from tests.api.helpers import API, ERROR_CODES, ROLES, at, the_error
from tests.factories import (
    PatientFactory,
    PractitionerFactory,
    RoomFactory,
    SessionFactory,
    TreatmentPlanFactory,
    UserFactory,
)
from tests.helpers import SESSION, book_and_schedule, db_state, sessions_of
from tests.timeutil import local_today, seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(
    patient: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> TreatmentPlan:
    """The patient's course, booked and placed by the worker: three Tuesdays at 10:00, 28 days
    apart (``tuesday``, +28, +56)."""
    plan = book_and_schedule(
        patient, rejuran, kim, seoul(tuesday, 10), UserFactory(username="front-desk")
    )
    assert plan.status == PlanStatus.ACTIVE
    return plan


@pytest.fixture
def first(course: TreatmentPlan) -> Session:
    return course.sessions.get(sequence=1)


@pytest.fixture
def second(course: TreatmentPlan) -> Session:
    return course.sessions.get(sequence=2)


@pytest.fixture
def started_course(patient: Patient, kim: Practitioner) -> TreatmentPlan:
    """An active course of the patient whose first session was two days ago at 11:00; the
    booking API cannot make one, so it is built directly."""
    first_start = seoul(local_today() - timedelta(days=2), 11)
    plan = TreatmentPlanFactory(
        patient=patient, practitioner=kim, status=PlanStatus.ACTIVE, first_session_at=first_start
    )
    for sequence in (1, 2, 3):
        start = first_start + timedelta(days=28 * (sequence - 1))
        SessionFactory(plan=plan, sequence=sequence, starts_at=start, ends_at=start + SESSION)
    return plan


@pytest.fixture
def past(started_course: TreatmentPlan) -> Session:
    """The session that took place (or was missed) two days ago."""
    return started_course.sessions.get(sequence=1)


def plan_as_seen(client: APIClient, plan: TreatmentPlan) -> dict[str, Any]:
    response = client.get(f"{API}/plans/{plan.pk}/")
    assert response.status_code == 200
    return response.json()


# --- Permissions -----------------------------------------------------------------------------

# (method, endpoint) -> the status each logged-in role gets. {mine} is a planned session of the
# patient's own course; {past} one of theirs that started two days ago.
PERMISSIONS = {
    ("get", "sessions/"): [200, 200, 200],
    ("post", "sessions/"): [403, 201, 201],
    ("get", "sessions/{mine}/"): [200, 200, 200],
    ("put", "sessions/{mine}/"): [403, 405, 405],
    ("patch", "sessions/{mine}/"): [403, 405, 405],
    ("delete", "sessions/{mine}/"): [403, 405, 405],
    ("post", "sessions/{mine}/reschedule/"): [403, 200, 200],
    ("get", "sessions/{mine}/reschedule/"): [405, 405, 405],
    ("post", "sessions/{mine}/cancel/"): [403, 200, 200],
    ("get", "sessions/{mine}/cancel/"): [405, 405, 405],
    ("post", "sessions/{past}/complete/"): [403, 200, 200],
    ("get", "sessions/{past}/complete/"): [405, 405, 405],
    ("post", "sessions/{past}/no-show/"): [403, 200, 200],
    ("get", "sessions/{past}/no-show/"): [405, 405, 405],
}


def send(
    client: APIClient, method: str, endpoint: str, first: Session, past: Session, day: date
) -> Any:
    url = f"{API}/" + endpoint.format(mine=first.pk, past=past.pk)
    bodies = {
        "reschedule/": {"new_start": at(day + timedelta(days=1), 10)},
        "cancel/": {"reason": "Patient is unwell."},
        "complete/": {"reactions": ["redness"]},
    }
    body = next((b for suffix, b in bodies.items() if endpoint.endswith(suffix)), {})
    if endpoint == "sessions/":  # an extra session at the end of the course
        body = {"plan": first.plan_id, "kind": "initial", "starts_at": at(day + timedelta(80), 10)}
    return getattr(client, method)(url, body if method != "get" else None)


@pytest.mark.parametrize(
    ("method", "endpoint", "role", "expected"),
    [
        pytest.param(method, endpoint, role, status, id=f"{role} {method.upper()} {endpoint}")
        for (method, endpoint), statuses in PERMISSIONS.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_patients_read_their_sessions_and_only_staff_change_them(
    clients: dict[str, APIClient],
    first: Session,
    past: Session,
    tuesday: date,
    method: str,
    endpoint: str,
    role: str,
    expected: int,
) -> None:
    before = db_state()

    response = send(clients[role], method, endpoint, first, past, tuesday)

    if expected < 400:
        assert response.status_code == expected, response.content
    else:
        error = the_error(response, expected)
        assert error["field"] is None
        assert error["code"] == ERROR_CODES[expected]
        if expected == 403:
            assert error["message"] == "Only clinic staff can change bookings."
        assert db_state() == before


@pytest.mark.parametrize(("method", "endpoint"), list(PERMISSIONS))
def test_anonymous_callers_are_refused_as_not_authenticated_and_nothing_changes(
    anonymous_api: APIClient,
    first: Session,
    past: Session,
    tuesday: date,
    method: str,
    endpoint: str,
) -> None:
    before = db_state()

    response = send(anonymous_api, method, endpoint, first, past, tuesday)

    assert response.status_code == 401  # 401 once the bug below is fixed
    assert the_error(response, response.status_code) == {
        "field": None,
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
    }
    assert db_state() == before


@pytest.mark.parametrize(("method", "endpoint"), list(PERMISSIONS))
def test_anonymous_callers_get_401_with_a_bearer_challenge(
    anonymous_api: APIClient,
    first: Session,
    past: Session,
    tuesday: date,
    method: str,
    endpoint: str,
) -> None:
    response = send(anonymous_api, method, endpoint, first, past, tuesday)

    assert the_error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_patient_sees_their_own_session_in_full(
    patient_api: APIClient,
    first: Session,
    course: TreatmentPlan,
    patient: Patient,
    kim: Practitioner,
    tuesday: date,
) -> None:
    response = patient_api.get(f"{API}/sessions/{first.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": first.pk,
        "plan": course.pk,
        "patient": {"id": patient.pk, "name": patient.full_name},
        "treatment": "rejuran-healer",
        "sequence": 1,
        "kind": "initial",
        "starts_at": at(tuesday, 10),
        "ends_at": at(tuesday, 10, 45),
        "time_zone": "Asia/Seoul",
        "practitioner": {"id": kim.pk, "name": "Dr. Kim"},
        "room": None,
        "status": "planned",
        "reactions": [],
        "reaction_notes": "",
        "revision": 0,
        "completed_at": None,
        "cancelled_at": None,
        "cancellation_reason": "",
    }


def test_another_patients_session_is_not_found_rather_than_forbidden(
    other_patient_api: APIClient, first: Session
) -> None:
    response = other_patient_api.get(f"{API}/sessions/{first.pk}/")

    error = the_error(response, 404)
    assert (error["field"], error["code"]) == (None, "not_found")


def test_a_patient_lists_only_their_own_sessions_whatever_the_filter(
    other_patient_api: APIClient,
    other_patient: Patient,
    patient: Patient,
    course: TreatmentPlan,
    other_booking: Callable[[datetime], Session],
    tuesday: date,
) -> None:
    theirs = other_booking(seoul(tuesday, 15))

    own = other_patient_api.get(f"{API}/sessions/").json()
    snooping = other_patient_api.get(f"{API}/sessions/?patient={patient.pk}").json()

    assert [s["id"] for s in own["results"]] == [theirs.pk]
    assert snooping["results"] == []
    assert snooping["count"] == 0


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999"])
def test_an_unknown_session_is_not_found_whatever_is_asked_of_it(
    staff_api: APIClient, pk: str
) -> None:
    later = (timezone.now() + timedelta(days=7)).isoformat()
    for response in (
        staff_api.get(f"{API}/sessions/{pk}/"),
        staff_api.post(f"{API}/sessions/{pk}/cancel/", {"reason": "x"}),
        staff_api.post(f"{API}/sessions/{pk}/reschedule/", {"new_start": later}),
        staff_api.post(f"{API}/sessions/{pk}/complete/", {}),
        staff_api.post(f"{API}/sessions/{pk}/no-show/"),
    ):
        error = the_error(response, 404)
        assert (error["field"], error["code"]) == (None, "not_found")


# --- Listing and filtering -------------------------------------------------------------------


@pytest.fixture
def diary(
    course: TreatmentPlan,
    patient: Patient,
    other_patient: Patient,
    tuesday: date,
) -> dict[str, Any]:
    """Sessions by name, and the people and places they belong to.

    c1–c3: the patient's course with Dr. Kim, Tuesdays at 10:00 (T, T+28, T+56).
    o1: other patient with Dr. Lee in Room R, 08:30 on T+1 — 23:30 on T in UTC.
    o2: the same course, cancelled, 18:00 on T+1, Room R.  o3: completed, 12:00 on T+3.
    m1: the patient's maintenance session with Dr. Lee, 15:00 on T+2.
    """
    lee, room = PractitionerFactory(display_name="Dr. Lee"), RoomFactory(name="Room R")
    other = TreatmentPlanFactory(patient=other_patient, practitioner=lee, status="active")

    def session(plan: TreatmentPlan, sequence: int, start: datetime, **extra: Any) -> Session:
        return SessionFactory(
            plan=plan, sequence=sequence, starts_at=start, ends_at=start + SESSION, **extra
        )

    maintained = TreatmentPlanFactory(patient=patient, practitioner=lee, status="maintenance")
    names = {s.pk: f"c{s.sequence}" for s in course.sessions.all()}
    names |= {
        session(other, 1, seoul(tuesday + timedelta(days=1), 8, 30), room=room).pk: "o1",
        session(
            other, 2, seoul(tuesday + timedelta(days=1), 18), room=room, status="cancelled"
        ).pk: "o2",
        session(other, 3, seoul(tuesday + timedelta(days=3), 12), status="completed").pk: "o3",
        session(
            maintained, 4, seoul(tuesday + timedelta(days=2), 15), kind=SessionKind.MAINTENANCE
        ).pk: "m1",
    }
    return {
        "names": names,
        "kim": course.practitioner_id,
        "lee": lee.pk,
        "room": room.pk,
        "patient": patient.pk,
        "other_patient": other_patient.pk,
        "course": course.pk,
        "T": tuesday,
        "T+1": tuesday + timedelta(days=1),
        "T+2": tuesday + timedelta(days=2),
        "T+3": tuesday + timedelta(days=3),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", "c1 o1 o2 m1 o3 c2 c3", id="everything, by start"),
        pytest.param("practitioner={kim}", "c1 c2 c3", id="practitioner Kim"),
        pytest.param("practitioner={lee}", "o1 o2 m1 o3", id="practitioner Lee"),
        pytest.param("room={room}", "o1 o2", id="room"),
        pytest.param("patient={patient}", "c1 m1 c2 c3", id="patient"),
        pytest.param("patient={other_patient}", "o1 o2 o3", id="other patient"),
        pytest.param("plan={course}", "c1 c2 c3", id="plan"),
        pytest.param("status=planned", "c1 o1 m1 c2 c3", id="planned"),
        pytest.param("status=cancelled", "o2", id="cancelled"),
        pytest.param("status=completed", "o3", id="completed"),
        pytest.param("status=no_show", "", id="no-show"),
        pytest.param("kind=maintenance", "m1", id="maintenance"),
        pytest.param("kind=initial", "c1 o1 o2 o3 c2 c3", id="initial"),
        pytest.param("date_from={T+1}", "o1 o2 m1 o3 c2 c3", id="from a local day"),
        pytest.param("date_to={T}", "c1", id="to a local day"),
        pytest.param("date_from={T+1}&date_to={T+1}", "o1 o2", id="one local day"),
        pytest.param("date_from={T+2}&date_to={T+3}", "m1 o3", id="two local days"),
        pytest.param("practitioner={lee}&status=planned", "o1 m1", id="Lee's planned"),
        pytest.param("patient={patient}&kind=initial&date_to={T}", "c1", id="three filters"),
    ],
)
def test_staff_narrow_the_session_list_with_filters(
    staff_api: APIClient, diary: dict[str, Any], query: str, expected: str
) -> None:
    response = staff_api.get(f"{API}/sessions/?" + query.format(**diary))

    assert response.status_code == 200, response.content
    body = response.json()
    assert " ".join(diary["names"][s["id"]] for s in body["results"]) == expected
    assert body["count"] == len(expected.split())
    assert body["time_zone"] == "Asia/Seoul"


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        pytest.param("date_from=next-week", "date_from", "invalid", id="date_from"),
        pytest.param("date_to=2026-02-30", "date_to", "invalid", id="date_to"),
        pytest.param("status=late", "status", "invalid_choice", id="status"),
        pytest.param("kind=touch-up", "kind", "invalid_choice", id="kind"),
        pytest.param("practitioner=kim", "practitioner", "invalid", id="practitioner"),
    ],
)
def test_a_bad_session_filter_names_the_parameter(
    staff_api: APIClient, query: str, field: str, code: str
) -> None:
    error = the_error(staff_api.get(f"{API}/sessions/?{query}"), 400)

    assert (error["field"], error["code"]) == (field, code)


def test_session_lists_are_paginated(staff_api: APIClient, course: TreatmentPlan) -> None:
    first = staff_api.get(f"{API}/sessions/?page_size=2").json()
    second = staff_api.get(first["next"]).json()

    assert (first["count"], len(first["results"]), first["previous"]) == (3, 2, None)
    assert (len(second["results"]), second["next"]) == (1, None)
    assert [s["sequence"] for s in first["results"] + second["results"]] == [1, 2, 3]


# --- Rescheduling ----------------------------------------------------------------------------


def test_a_dry_run_shows_the_cascade_and_changes_nothing(
    staff_api: APIClient, first: Session, tuesday: date
) -> None:
    before = db_state()

    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/",
        {"new_start": at(tuesday + timedelta(days=10), 10), "dry_run": True},
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "applied": False,
        "time_zone": "Asia/Seoul",
        "moves": [
            {
                "sequence": 1,
                "old_start": at(tuesday, 10),
                "new_start": at(tuesday + timedelta(days=10), 10),
                "new_end": at(tuesday + timedelta(days=10), 10, 45),
            },
            {  # 18 days after the new first session is too soon: into days 21–28 after it
                "sequence": 2,
                "old_start": at(tuesday + timedelta(days=28), 10),
                "new_start": at(tuesday + timedelta(days=31), 10),
                "new_end": at(tuesday + timedelta(days=31), 10, 45),
            },
        ],
    }
    assert db_state() == before


def test_moving_a_session_later_moves_the_next_one_when_its_window_requires(
    staff_api: APIClient, course: TreatmentPlan, first: Session, tuesday: date
) -> None:
    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/",
        {"new_start": at(tuesday + timedelta(days=10), 10)},
    )

    assert response.status_code == 200, response.content
    assert response.json()["applied"] is True
    assert [m["sequence"] for m in response.json()["moves"]] == [1, 2]
    listed = staff_api.get(f"{API}/sessions/?plan={course.pk}").json()["results"]
    assert [(s["sequence"], s["starts_at"], s["revision"]) for s in listed] == [
        (1, at(tuesday + timedelta(days=10), 10), 1),
        (2, at(tuesday + timedelta(days=31), 10), 1),
        (3, at(tuesday + timedelta(days=56), 10), 0),  # 25 days after session 2: still fine
    ]
    assert plan_as_seen(staff_api, course)["status"] == "active"


def test_moving_a_session_earlier_pulls_every_later_one_into_its_window(
    staff_api: APIClient, course: TreatmentPlan, first: Session, tuesday: date
) -> None:
    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/", {"new_start": at(tuesday - timedelta(days=7), 10)}
    )

    assert response.status_code == 200, response.content
    assert {n: s.starts_at for n, s in sessions_of(course).items()} == {
        1: seoul(tuesday - timedelta(days=7), 10),
        2: seoul(tuesday + timedelta(days=21), 10),
        3: seoul(tuesday + timedelta(days=49), 10),
    }


def test_a_small_move_leaves_the_later_sessions_where_they_are(
    staff_api: APIClient, course: TreatmentPlan, first: Session, tuesday: date
) -> None:
    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/",
        {"new_start": at(tuesday + timedelta(days=1), 11, 30)},
    )

    assert response.status_code == 200, response.content
    assert response.json()["moves"] == [
        {
            "sequence": 1,
            "old_start": at(tuesday, 10),
            "new_start": at(tuesday + timedelta(days=1), 11, 30),
            "new_end": at(tuesday + timedelta(days=1), 12, 15),
        }
    ]
    sessions = sessions_of(course)
    assert sessions[1].starts_at == seoul(tuesday + timedelta(days=1), 11, 30)
    assert sessions[2].starts_at == seoul(tuesday + timedelta(days=28), 10)
    assert sessions[2].revision == 0


def test_a_time_without_offset_is_taken_as_clinic_time(
    staff_api: APIClient, course: TreatmentPlan, first: Session, tuesday: date
) -> None:
    day = tuesday + timedelta(days=1)

    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/", {"new_start": f"{day.isoformat()}T11:00:00"}
    )

    assert response.status_code == 200, response.content
    assert sessions_of(course)[1].starts_at == seoul(day, 11)


def test_moving_a_session_outside_its_protocol_window_is_refused_with_the_reason(
    staff_api: APIClient, second: Session, tuesday: date
) -> None:
    before = db_state()

    response = staff_api.post(
        f"{API}/sessions/{second.pk}/reschedule/",
        {"new_start": at(tuesday + timedelta(days=35), 10)},
    )

    error = the_error(response, 409)
    assert error["field"] is None
    assert error["code"] == "protocol_violation"
    assert error["message"] == (
        f"Session 2 cannot be placed between {format_day(tuesday + timedelta(days=21))} and "
        f"{format_day(tuesday + timedelta(days=28))}; it must be 21–28 days after session 1 "
        f"({format_day(tuesday)})."
    )
    assert error["reason"] == {
        "sequence": 2,
        "window_first_day": (tuesday + timedelta(days=21)).isoformat(),
        "window_last_day": (tuesday + timedelta(days=28)).isoformat(),
        "preferred_at": at(tuesday + timedelta(days=35), 10),
        "closed_days": [],
        "busy": [],
        "days_without_hours": [(tuesday + timedelta(days=26)).isoformat()],  # a Sunday
        "detail": f"it must be 21–28 days after session 1 ({format_day(tuesday)})",
        "cause": "window",
        "days_not_working": [],
        "leave": [],
        "patient_busy": [],
        "previous_sequence": 1,
    }
    assert db_state() == before


def test_a_move_whose_cascade_cannot_keep_the_protocol_is_refused_and_changes_nothing(
    staff_api: APIClient, first: Session, tuesday: date
) -> None:
    window = [tuesday + timedelta(days=day) for day in range(31, 39)]  # session 2's new window
    Closure.objects.create(starts_on=window[0], ends_on=window[-1], reason="clinic renovation")
    before = db_state()

    for dry_run in (True, False):
        response = staff_api.post(
            f"{API}/sessions/{first.pk}/reschedule/",
            {"new_start": at(tuesday + timedelta(days=10), 10), "dry_run": dry_run},
        )

        error = the_error(response, 409)
        assert error["code"] == "protocol_violation"
        assert error["reason"]["sequence"] == 2
        assert error["reason"]["window_first_day"] == window[0].isoformat()
        assert error["reason"]["window_last_day"] == window[-1].isoformat()
        assert error["reason"]["closed_days"] == [
            {"day": day.isoformat(), "reason": "clinic renovation"} for day in window
        ]
    assert db_state() == before


def test_moving_onto_another_booking_of_the_practitioner_is_a_conflict(
    staff_api: APIClient,
    first: Session,
    tuesday: date,
    other_booking: Callable[[datetime], Session],
) -> None:
    day = tuesday + timedelta(days=1)
    other_booking(seoul(day, 10))  # 10:00–10:45
    before = db_state()

    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/", {"new_start": at(day, 10, 15)}
    )

    error = the_error(response, 409)
    assert error["field"] is None
    assert error["code"] == "booking_conflict"
    assert error["message"].startswith("Dr. Kim or the room is already booked from ")
    assert error["message"].endswith(", 10:00 to 10:45.")
    assert "reason" not in error
    assert db_state() == before


def test_moving_back_to_back_with_another_booking_is_fine(
    staff_api: APIClient,
    first: Session,
    tuesday: date,
    other_booking: Callable[[datetime], Session],
) -> None:
    day = tuesday + timedelta(days=1)
    other_booking(seoul(day, 10))  # 10:00–10:45

    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/", {"new_start": at(day, 10, 45)}
    )

    assert response.status_code == 200, response.content


def test_moving_onto_a_time_the_room_is_taken_is_a_conflict(
    staff_api: APIClient, patient: Patient, kim: Practitioner, tuesday: date
) -> None:
    room, day = RoomFactory(name="Room R"), tuesday + timedelta(days=1)
    lee_plan = TreatmentPlanFactory(practitioner=PractitionerFactory(), room=room)
    SessionFactory(
        plan=lee_plan, sequence=1, starts_at=seoul(day, 10), ends_at=seoul(day, 10, 45), room=room
    )
    mine = TreatmentPlanFactory(patient=patient, practitioner=kim, room=room, status="active")
    session = SessionFactory(
        plan=mine,
        sequence=1,
        starts_at=seoul(tuesday, 12),
        ends_at=seoul(tuesday, 12, 45),
        room=room,
    )

    response = staff_api.post(
        f"{API}/sessions/{session.pk}/reschedule/", {"new_start": at(day, 10, 30)}
    )

    error = the_error(response, 409)
    assert (error["field"], error["code"]) == (None, "booking_conflict")
    session.refresh_from_db()
    assert session.starts_at == seoul(tuesday, 12)


@pytest.mark.parametrize(
    ("new_start", "code", "message"),
    [
        pytest.param(
            "{sunday}T10:00:00+09:00",
            "clinic_closed",
            "The clinic is closed then, or the session would run past closing.",
            id="a Sunday",
        ),
        pytest.param(
            "{monday}T18:30:00+09:00",
            "clinic_closed",
            "The clinic is closed then, or the session would run past closing.",
            id="running past closing",
        ),
        pytest.param(
            "2020-01-07T10:00:00+09:00", "in_the_past", "The time must be in the future.", id="past"
        ),
        pytest.param("whenever", "invalid", "Datetime has wrong format", id="not a datetime"),
        pytest.param(None, "required", "This field is required.", id="missing"),
    ],
)
def test_a_new_time_the_clinic_cannot_take_is_a_field_error(
    staff_api: APIClient,
    first: Session,
    tuesday: date,
    new_start: str | None,
    code: str,
    message: str,
) -> None:
    sunday, monday = tuesday + timedelta(days=5), tuesday + timedelta(days=6)
    body = (
        {} if new_start is None else {"new_start": new_start.format(sunday=sunday, monday=monday)}
    )
    before = db_state()

    error = the_error(staff_api.post(f"{API}/sessions/{first.pk}/reschedule/", body), 400)

    assert error["field"] == "new_start"
    assert error["code"] == code
    assert error["message"].startswith(message)
    assert db_state() == before


def test_a_cancelled_session_cannot_be_moved(
    staff_api: APIClient, first: Session, tuesday: date
) -> None:
    staff_api.post(f"{API}/sessions/{first.pk}/cancel/", {"reason": "Patient is unwell."})

    response = staff_api.post(
        f"{API}/sessions/{first.pk}/reschedule/",
        {"new_start": at(tuesday + timedelta(days=1), 10)},
    )

    assert the_error(response, 400) == {
        "field": "session",
        "code": "wrong_status",
        "message": "A cancelled session cannot be moved.",
    }


# --- Cancelling ------------------------------------------------------------------------------


def test_cancelling_a_session_records_why_and_flags_a_course_left_with_too_few_sessions(
    staff_api: APIClient, course: TreatmentPlan, second: Session
) -> None:
    response = staff_api.post(
        f"{API}/sessions/{second.pk}/cancel/", {"reason": "Patient is travelling."}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancellation_reason"] == "Patient is travelling."
    assert body["cancelled_at"].endswith("+09:00")
    plan = plan_as_seen(staff_api, course)
    assert plan["status"] == "needs_attention"
    assert plan["attention_reason"].startswith(
        "Only 2 sessions of the course are left after cancellations"
    )
    assert plan["progress"] == {"completed": 0, "total": 2}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({}, "required", id="missing"),
        pytest.param({"reason": ""}, "blank", id="empty"),
        pytest.param({"reason": "   "}, "blank", id="only spaces"),
        pytest.param({"reason": "x" * 201}, "max_length", id="too long"),
    ],
)
def test_cancelling_a_session_needs_a_reason(
    staff_api: APIClient, first: Session, body: dict[str, str], code: str
) -> None:
    before = db_state()

    error = the_error(staff_api.post(f"{API}/sessions/{first.pk}/cancel/", body), 400)

    assert (error["field"], error["code"]) == ("reason", code)
    assert db_state() == before


def test_a_session_cannot_be_cancelled_twice(staff_api: APIClient, first: Session) -> None:
    staff_api.post(f"{API}/sessions/{first.pk}/cancel/", {"reason": "Patient is unwell."})
    before = db_state()

    response = staff_api.post(f"{API}/sessions/{first.pk}/cancel/", {"reason": "Again."})

    assert the_error(response, 400) == {
        "field": "session",
        "code": "wrong_status",
        "message": "A cancelled session cannot be cancelled.",
    }
    assert db_state() == before


# --- Completing ------------------------------------------------------------------------------


def test_completing_a_session_stores_the_reactions_seen(
    staff_api: APIClient, past: Session, started_course: TreatmentPlan
) -> None:
    response = staff_api.post(
        f"{API}/sessions/{past.pk}/complete/",
        {"reactions": ["redness", "bumps"], "reaction_notes": " Mild, gone by evening. "},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert body["reactions"] == ["redness", "bumps"]
    assert body["reaction_notes"] == "Mild, gone by evening."
    assert body["completed_at"].endswith("+09:00")
    past.refresh_from_db()
    assert past.status == SessionStatus.COMPLETED
    assert past.reactions == ["redness", "bumps"]
    assert plan_as_seen(staff_api, started_course)["progress"] == {"completed": 1, "total": 3}


def test_completing_without_reactions_records_none(staff_api: APIClient, past: Session) -> None:
    response = staff_api.post(f"{API}/sessions/{past.pk}/complete/")

    assert response.status_code == 200, response.content
    assert (response.json()["reactions"], response.json()["reaction_notes"]) == ([], "")


def test_a_reaction_named_twice_is_stored_once(staff_api: APIClient, past: Session) -> None:
    response = staff_api.post(
        f"{API}/sessions/{past.pk}/complete/", {"reactions": ["redness", "redness"]}
    )

    assert response.json()["reactions"] == ["redness"]


def test_an_unknown_reaction_is_refused_and_nothing_is_completed(
    staff_api: APIClient, past: Session
) -> None:
    before = db_state()

    response = staff_api.post(
        f"{API}/sessions/{past.pk}/complete/", {"reactions": ["redness", "itching"]}
    )

    error = the_error(response, 400)
    assert error["field"] in ("reactions[1]", "reactions.1", "reactions")
    assert error["code"] == "invalid_choice"
    assert "itching" in error["message"]
    assert db_state() == before


def test_an_unknown_reaction_names_the_list_item_in_brackets(
    staff_api: APIClient, past: Session
) -> None:
    response = staff_api.post(
        f"{API}/sessions/{past.pk}/complete/", {"reactions": ["redness", "itching"]}
    )

    assert the_error(response, 400)["field"] == "reactions[1]"


def test_an_other_reaction_needs_a_description(staff_api: APIClient, past: Session) -> None:
    before = db_state()

    response = staff_api.post(f"{API}/sessions/{past.pk}/complete/", {"reactions": ["other"]})

    assert the_error(response, 400) == {
        "field": "reaction_notes",
        "code": "required",
        "message": "Describe the other reaction.",
    }
    assert db_state() == before


def test_reactions_must_be_a_list(staff_api: APIClient, past: Session) -> None:
    error = the_error(
        staff_api.post(f"{API}/sessions/{past.pk}/complete/", {"reactions": "redness"}), 400
    )

    assert (error["field"], error["code"]) == ("reactions", "not_a_list")


def test_a_session_that_has_not_started_cannot_be_completed(
    staff_api: APIClient, first: Session
) -> None:
    before = db_state()

    response = staff_api.post(f"{API}/sessions/{first.pk}/complete/", {"reactions": ["redness"]})

    error = the_error(response, 400)
    assert (error["field"], error["code"]) == ("session", "not_started")
    assert error["message"].startswith("Session 1 starts ")
    assert error["message"].endswith("; it can be completed once it has started.")
    assert db_state() == before


def test_a_completed_session_cannot_be_completed_again(staff_api: APIClient, past: Session) -> None:
    staff_api.post(f"{API}/sessions/{past.pk}/complete/")

    response = staff_api.post(f"{API}/sessions/{past.pk}/complete/")

    assert the_error(response, 400) == {
        "field": "session",
        "code": "wrong_status",
        "message": "A completed session cannot be completed.",
    }


# --- No-shows --------------------------------------------------------------------------------


def test_a_missed_session_is_a_no_show_and_the_course_needs_attention(
    staff_api: APIClient, past: Session, started_course: TreatmentPlan
) -> None:
    response = staff_api.post(f"{API}/sessions/{past.pk}/no-show/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "no_show"
    plan = plan_as_seen(staff_api, started_course)
    assert plan["status"] == "needs_attention"
    assert plan["attention_reason"].startswith("Session 1 was missed on ")
    assert plan["attention_reason"].endswith(": move it to a new time or cancel it.")


def test_moving_a_missed_session_to_a_new_time_puts_the_course_back_on_track(
    staff_api: APIClient, past: Session, started_course: TreatmentPlan
) -> None:
    staff_api.post(f"{API}/sessions/{past.pk}/no-show/")
    day = local_today() + timedelta(days=1)
    day += timedelta(days=1) if day.weekday() == 6 else timedelta(0)  # closed on Sundays

    response = staff_api.post(f"{API}/sessions/{past.pk}/reschedule/", {"new_start": at(day, 11)})

    assert response.status_code == 200, response.content
    moved = staff_api.get(f"{API}/sessions/{past.pk}/").json()
    assert (moved["status"], moved["starts_at"], moved["revision"]) == ("planned", at(day, 11), 1)
    plan = plan_as_seen(staff_api, started_course)
    assert (plan["status"], plan["attention_reason"]) == ("active", "")


def test_a_session_that_has_not_started_cannot_be_a_no_show(
    staff_api: APIClient, first: Session
) -> None:
    before = db_state()

    response = staff_api.post(f"{API}/sessions/{first.pk}/no-show/")

    assert the_error(response, 400) == {
        "field": "session",
        "code": "not_started",
        "message": "A session that has not started cannot be a no-show.",
    }
    assert db_state() == before


def test_a_completed_session_cannot_be_a_no_show(staff_api: APIClient, past: Session) -> None:
    staff_api.post(f"{API}/sessions/{past.pk}/complete/")

    response = staff_api.post(f"{API}/sessions/{past.pk}/no-show/")

    assert the_error(response, 400)["field"] == "session"


# --- The whole course, and maintenance ------------------------------------------------------


@pytest.fixture
def finished_course(patient: Patient, kim: Practitioner) -> TreatmentPlan:
    """An active course whose three sessions took place 58, 30 and 2 days ago, at 11:00."""
    today = local_today()
    starts = [seoul(today - timedelta(days=days), 11) for days in (58, 30, 2)]
    plan = TreatmentPlanFactory(
        patient=patient, practitioner=kim, status=PlanStatus.ACTIVE, first_session_at=starts[0]
    )
    for sequence, start in enumerate(starts, start=1):
        SessionFactory(plan=plan, sequence=sequence, starts_at=start, ends_at=start + SESSION)
    return plan


def test_completing_the_last_session_starts_maintenance_six_months_on(
    staff_api: APIClient, finished_course: TreatmentPlan
) -> None:
    for session in finished_course.sessions.order_by("sequence"):
        response = staff_api.post(f"{API}/sessions/{session.pk}/complete/")
        assert response.status_code == 200, response.content

    plan = plan_as_seen(staff_api, finished_course)
    last_day = local_today() - timedelta(days=2)
    assert plan["status"] == "maintenance"
    assert plan["progress"] == {"completed": 3, "total": 3}
    assert plan["maintenance_due_on"] == (last_day + relativedelta(months=6)).isoformat()


@pytest.fixture
def missed_maintenance(finished_course: TreatmentPlan, staff_user: Any) -> Session:
    """The course is in maintenance; its maintenance session, booked for yesterday at 13:00
    (Saturday when yesterday was a Sunday), was missed."""
    for session in finished_course.sessions.all():
        session_complete(session=session, completed_by=staff_user)
    plan = TreatmentPlan.objects.get(pk=finished_course.pk)
    assert plan.status == PlanStatus.MAINTENANCE
    day = local_today() - timedelta(days=1)
    day -= timedelta(days=1) if day.weekday() == 6 else timedelta(0)
    starts_at = seoul(day, 13)
    session = session_book(
        plan=plan, starts_at=starts_at, booked_by=staff_user, now=starts_at - timedelta(days=7)
    )
    session_mark_no_show(session=session, marked_by=staff_user)
    return session


def pending_maintenance_reminders(plan: TreatmentPlan) -> list[str]:
    return sorted(
        Reminder.objects.filter(
            plan=plan, session__isnull=True, status=ReminderStatus.PENDING
        ).values_list("kind", flat=True)
    )


def test_a_missed_maintenance_session_is_flagged_and_the_patient_reminded_again(
    staff_api: APIClient, missed_maintenance: Session, finished_course: TreatmentPlan
) -> None:
    plan = plan_as_seen(staff_api, finished_course)

    assert plan["status"] == "maintenance"
    assert plan["attention_reason"].startswith("The maintenance session on ")
    assert plan["attention_reason"].endswith(" was missed: book a new one.")
    assert pending_maintenance_reminders(finished_course) == [
        ReminderKind.MAINTENANCE_DUE,
        ReminderKind.MAINTENANCE_EARLY,
    ]


def test_a_missed_maintenance_session_can_be_moved_to_a_new_time(
    staff_api: APIClient, missed_maintenance: Session, tuesday: date
) -> None:
    response = staff_api.post(
        f"{API}/sessions/{missed_maintenance.pk}/reschedule/", {"new_start": at(tuesday, 15)}
    )

    assert response.status_code == 200, response.content
    assert [m["sequence"] for m in response.json()["moves"]] == [4]
    moved = staff_api.get(f"{API}/sessions/{missed_maintenance.pk}/").json()
    assert (moved["kind"], moved["status"], moved["starts_at"]) == (
        "maintenance",
        "planned",
        at(tuesday, 15),
    )


def test_moving_a_missed_maintenance_session_clears_the_flag_and_the_booking_reminders(
    staff_api: APIClient,
    missed_maintenance: Session,
    finished_course: TreatmentPlan,
    tuesday: date,
) -> None:
    staff_api.post(
        f"{API}/sessions/{missed_maintenance.pk}/reschedule/", {"new_start": at(tuesday, 15)}
    )

    assert plan_as_seen(staff_api, finished_course)["attention_reason"] == ""
    assert pending_maintenance_reminders(finished_course) == []


# --- Booking one session ------------------------------------------------------------------------


@pytest.fixture
def in_maintenance(finished_course: TreatmentPlan, staff_user: Any) -> TreatmentPlan:
    for session in finished_course.sessions.all():
        session_complete(session=session, completed_by=staff_user)
    plan = TreatmentPlan.objects.get(pk=finished_course.pk)
    assert plan.status == PlanStatus.MAINTENANCE
    return plan


@pytest.fixture
def maintenance_day(in_maintenance: TreatmentPlan) -> date:
    """The Tuesday of the week maintenance is due."""
    assert in_maintenance.maintenance_due_on is not None
    due = in_maintenance.maintenance_due_on
    return due + timedelta(days=(1 - due.weekday()) % 7)


def test_staff_book_a_maintenance_session_at_the_chosen_time(
    staff_api: APIClient, in_maintenance: TreatmentPlan, maintenance_day: date, kim: Practitioner
) -> None:
    response = staff_api.post(
        f"{API}/sessions/", {"plan": in_maintenance.pk, "starts_at": at(maintenance_day, 11)}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(f"/api/v1/sessions/{body['id']}/")
    assert (body["plan"], body["kind"], body["sequence"], body["status"]) == (
        in_maintenance.pk,
        "maintenance",
        4,
        "planned",
    )
    assert (body["starts_at"], body["ends_at"]) == (
        at(maintenance_day, 11),
        at(maintenance_day, 11, 45),
    )
    assert body["practitioner"] == {"id": kim.pk, "name": "Dr. Kim"}
    assert body["patient"]["id"] == in_maintenance.patient_id


def test_staff_book_an_extra_course_session(
    staff_api: APIClient, course: TreatmentPlan, tuesday: date
) -> None:
    response = staff_api.post(
        f"{API}/sessions/",
        {"plan": course.pk, "kind": "initial", "starts_at": at(tuesday + timedelta(days=84), 15)},
    )

    assert response.status_code == 201, response.content
    assert (response.json()["sequence"], response.json()["kind"]) == (4, "initial")
    plan = plan_as_seen(staff_api, course)
    assert plan["session_count"] == 4
    assert plan["progress"] == {"completed": 0, "total": 4}


def test_a_taken_time_answers_409_at_once_and_books_nothing(
    staff_api: APIClient, in_maintenance: TreatmentPlan, maintenance_day: date, kim: Practitioner
) -> None:
    holder = TreatmentPlanFactory(practitioner=kim, status=PlanStatus.ACTIVE)
    SessionFactory(
        plan=holder,
        sequence=1,
        starts_at=seoul(maintenance_day, 10, 30),
        ends_at=seoul(maintenance_day, 11, 15),
    )
    before = db_state()

    response = staff_api.post(
        f"{API}/sessions/", {"plan": in_maintenance.pk, "starts_at": at(maintenance_day, 11)}
    )

    error = the_error(response, 409)
    assert (error["field"], error["code"]) == (None, "booking_conflict")
    assert error["message"].startswith("Dr. Kim or the room is already booked from ")
    assert error["message"].endswith(", 10:30 to 11:15.")
    assert db_state() == before


def test_a_time_when_the_patient_is_with_another_practitioner_answers_409(
    staff_api: APIClient, in_maintenance: TreatmentPlan, maintenance_day: date
) -> None:
    lee = PractitionerFactory(display_name="Dr. Lee")
    elsewhere = TreatmentPlanFactory(
        patient=in_maintenance.patient, practitioner=lee, status=PlanStatus.ACTIVE
    )
    SessionFactory(
        plan=elsewhere,
        sequence=1,
        starts_at=seoul(maintenance_day, 11, 30),
        ends_at=seoul(maintenance_day, 12, 15),
    )
    before = db_state()

    response = staff_api.post(
        f"{API}/sessions/", {"plan": in_maintenance.pk, "starts_at": at(maintenance_day, 11)}
    )

    error = the_error(response, 409)
    assert error["code"] == "booking_conflict"
    assert error["message"] == (
        f"{in_maintenance.patient} already has a session from "
        f"{format_day(maintenance_day)}, 11:30 to 12:15 (Rejuran Healer with Dr. Lee)."
    )
    assert db_state() == before


def test_an_extra_session_outside_the_protocol_window_answers_409_with_the_reason(
    staff_api: APIClient, course: TreatmentPlan, tuesday: date
) -> None:
    before = db_state()

    response = staff_api.post(
        f"{API}/sessions/",
        {"plan": course.pk, "kind": "initial", "starts_at": at(tuesday + timedelta(days=90), 10)},
    )

    error = the_error(response, 409)
    assert error["code"] == "protocol_violation"
    assert error["reason"]["cause"] == "window"
    assert error["reason"]["previous_sequence"] == 3
    assert error["reason"]["window_first_day"] == (tuesday + timedelta(days=77)).isoformat()
    assert db_state() == before


@pytest.mark.parametrize(
    ("body", "field", "code", "message"),
    [
        pytest.param(
            {"starts_at": (11, 10)},
            "starts_at",
            "off_grid",
            "Sessions start every 15 minutes from opening time, and 11:10 is not one of those "
            "times: choose 11:00 or 11:15.",
            id="off the grid",
        ),
        pytest.param(
            {"starts_at": (19, 0)},
            "starts_at",
            "clinic_closed",
            "The clinic is closed then, or the session would run past closing.",
            id="after closing",
        ),
        pytest.param({"starts_at": None}, "starts_at", "required", None, id="no time"),
        pytest.param({"kind": "touch-up"}, "kind", "invalid_choice", None, id="unknown kind"),
        pytest.param({"plan": 0}, "plan", "does_not_exist", None, id="unknown plan"),
    ],
)
def test_bad_input_is_a_field_error_and_books_nothing(
    staff_api: APIClient,
    in_maintenance: TreatmentPlan,
    maintenance_day: date,
    body: dict[str, Any],
    field: str,
    code: str,
    message: str | None,
) -> None:
    request: dict[str, Any] = {"plan": in_maintenance.pk, "starts_at": at(maintenance_day, 11)}
    request.update(body)
    if isinstance(request["starts_at"], tuple):
        request["starts_at"] = at(maintenance_day, *request["starts_at"])
    if request["starts_at"] is None:
        del request["starts_at"]
    before = db_state()

    error = the_error(staff_api.post(f"{API}/sessions/", request), 400)

    assert (error["field"], error["code"]) == (field, code)
    if message is not None:
        assert error["message"] == message
    assert db_state() == before


def test_a_session_when_the_practitioner_does_not_work_or_is_on_leave_is_a_field_error(
    staff_api: APIClient, in_maintenance: TreatmentPlan, maintenance_day: date, kim: Practitioner
) -> None:
    WorkingHours.objects.create(practitioner=kim, weekday=1, start_time=time(14), end_time=time(18))
    Leave.objects.create(
        practitioner=kim,
        starts_on=maintenance_day,
        ends_on=maintenance_day,
        start_time=time(16),
        reason="training",
    )
    url = f"{API}/sessions/"

    morning = the_error(
        staff_api.post(url, {"plan": in_maintenance.pk, "starts_at": at(maintenance_day, 11)}),
        400,
    )
    late = the_error(
        staff_api.post(url, {"plan": in_maintenance.pk, "starts_at": at(maintenance_day, 16)}),
        400,
    )

    assert (morning["field"], morning["code"]) == ("starts_at", "not_working")
    assert morning["message"].startswith("Dr. Kim works 14:00–18:00 on Tue")
    assert (late["field"], late["code"]) == ("starts_at", "on_leave")
    assert late["message"].endswith("(training).")


def test_booking_one_session_costs_a_fixed_number_of_queries(
    staff_api: APIClient,
    in_maintenance: TreatmentPlan,
    maintenance_day: date,
    kim: Practitioner,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    for hour in (13, 14, 15):
        holder = TreatmentPlanFactory(practitioner=kim, status=PlanStatus.ACTIVE)
        start = seoul(maintenance_day, hour)
        SessionFactory(plan=holder, sequence=1, starts_at=start, ends_at=start + SESSION)

    # the caller's roles, the plan in the body, then session_book (15) and the answer (1, and
    # the catalogue's protocols and milestones: kept in production)
    with django_assert_num_queries(20):
        response = staff_api.post(
            f"{API}/sessions/", {"plan": in_maintenance.pk, "starts_at": at(maintenance_day, 11)}
        )

    assert response.status_code == 201


# --- Query counts ----------------------------------------------------------------------------


def many_sessions(count: int) -> None:
    """``count`` sessions, ten per course, each course with its own patient, practitioner and
    room; a practitioner's sessions are a day apart."""
    first_day = date(2030, 1, 7)
    booked_by = UserFactory()
    for first in range(0, count, 10):
        room: Room = RoomFactory()
        plan = TreatmentPlanFactory(
            patient=PatientFactory(),
            practitioner=PractitionerFactory(),
            room=room,
            booked_by=booked_by,
            status=PlanStatus.ACTIVE,
        )
        for index in range(min(10, count - first)):
            start = seoul(first_day + timedelta(days=index), 10)
            SessionFactory(
                plan=plan, sequence=index + 1, starts_at=start, ends_at=start + SESSION, room=room
            )


@pytest.mark.parametrize("rows", [10, 200])
def test_listing_sessions_costs_the_same_queries_for_10_or_200_rows(
    staff_api: APIClient, django_assert_num_queries: Callable[..., Any], rows: int
) -> None:
    many_sessions(rows)

    # the caller's roles, count, page (people joined in); the catalogue's protocols and
    # milestones (kept in production)
    with django_assert_num_queries(5):
        response = staff_api.get(f"{API}/sessions/?page_size=200")

    assert len(response.json()["results"]) == rows
