"""Treatment plans over HTTP: who may see and book them, previewing and booking a course, the
worker placing its sessions, refusals with their reasons, listing and cancelling.

Errors always come as ``{"errors": [{"field", "code", "message"}]}``; a protocol that cannot be
kept answers 409 with the planner's structured ``reason`` as well.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from rest_framework.test import APIClient

from clinic.formatting import format_day
from patients.models import Patient
from scheduling.models import Closure, PlanStatus, Practitioner, SessionStatus, TreatmentPlan
from tests.api.helpers import API, ERROR_CODES, ROLES, at, client_for, the_error, the_errors
from tests.factories import (
    PatientFactory,
    PractitionerFactory,
    RoomFactory,
    SessionFactory,
    TreatmentPlanFactory,
    UserFactory,
)
from tests.helpers import book_and_schedule, db_state, flag
from tests.timeutil import seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(
    patient: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> dict[str, Any]:
    """A booking request: the usual Rejuran course with Dr. Kim, Tuesdays at 10:00."""
    return {
        "patient": patient.pk,
        "protocol": rejuran.pk,
        "practitioner": kim.pk,
        "first_start": at(tuesday, 10),
    }


@pytest.fixture
def course(
    patient: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> TreatmentPlan:
    """The patient's course, booked and scheduled: three Tuesdays at 14:00, 28 days apart."""
    return book_and_schedule(
        patient, rejuran, kim, seoul(tuesday, 14), UserFactory(username="front-desk")
    )


@pytest.fixture
def other_course(
    other_patient: Patient, rejuran: ProtocolTemplate, kim: Practitioner, tuesday: date
) -> TreatmentPlan:
    return book_and_schedule(
        other_patient, rejuran, kim, seoul(tuesday, 16), UserFactory(username="front-desk")
    )


# --- Permissions -----------------------------------------------------------------------------


# (method, endpoint) -> the status each logged-in role gets. {course} is the patient's own.
PERMISSIONS = {
    ("get", "plans/"): [200, 200, 200],
    ("post", "plans/"): [403, 202, 202],
    ("get", "plans/{course}/"): [200, 200, 200],
    ("put", "plans/{course}/"): [403, 405, 405],
    ("patch", "plans/{course}/"): [403, 405, 405],
    ("delete", "plans/{course}/"): [403, 405, 405],
    ("post", "plans/preview/"): [403, 200, 200],
    ("get", "plans/preview/"): [405, 405, 405],
    ("post", "plans/{course}/cancel/"): [403, 200, 200],
    ("get", "plans/{course}/cancel/"): [405, 405, 405],
}
BODIES = {
    "plans/": "booking",
    "plans/preview/": "booking",
    "plans/{course}/cancel/": {"reason": "Patient moved to Busan."},
    "plans/{course}/": {"status": "cancelled"},
}


def send(
    client: APIClient,
    method: str,
    endpoint: str,
    course: TreatmentPlan,
    booking: dict[str, Any],
) -> Any:
    url = f"{API}/" + endpoint.format(course=course.pk)
    body = BODIES.get(endpoint) if method != "get" else None
    if body == "booking":
        # 12:00: the patient's own course holds Dr. Kim at 14:00 on the same Tuesdays.
        body = {**booking, "first_start": booking["first_start"].replace("T10:", "T12:")}
    return getattr(client, method)(url, body)


@pytest.mark.parametrize(
    ("method", "endpoint", "role", "expected"),
    [
        pytest.param(method, endpoint, role, status, id=f"{role} {method.upper()} {endpoint}")
        for (method, endpoint), statuses in PERMISSIONS.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_patients_read_their_plans_and_staff_book_preview_and_cancel(
    clients: dict[str, APIClient],
    course: TreatmentPlan,
    booking: dict[str, Any],
    method: str,
    endpoint: str,
    role: str,
    expected: int,
) -> None:
    before = db_state()

    response = send(clients[role], method, endpoint, course, booking)

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
    course: TreatmentPlan,
    booking: dict[str, Any],
    method: str,
    endpoint: str,
) -> None:
    before = db_state()

    response = send(anonymous_api, method, endpoint, course, booking)

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
    course: TreatmentPlan,
    booking: dict[str, Any],
    method: str,
    endpoint: str,
) -> None:
    response = send(anonymous_api, method, endpoint, course, booking)

    assert the_error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_patient_sees_their_own_plan(
    patient_api: APIClient, course: TreatmentPlan, patient: Patient
) -> None:
    response = patient_api.get(f"{API}/plans/{course.pk}/")

    assert response.status_code == 200
    assert response.json()["patient"] == {"id": patient.pk, "name": patient.full_name}


def test_another_patients_plan_is_not_found_rather_than_forbidden(
    patient_api: APIClient, other_course: TreatmentPlan
) -> None:
    response = patient_api.get(f"{API}/plans/{other_course.pk}/")

    assert the_error(response, 404) == {
        "field": None,
        "code": "not_found",
        "message": "Not found.",
    }


def test_a_patient_lists_only_their_own_plans_whatever_the_filter(
    patient_api: APIClient,
    course: TreatmentPlan,
    other_course: TreatmentPlan,
    other_patient: Patient,
) -> None:
    mine = patient_api.get(f"{API}/plans/").json()
    theirs = patient_api.get(f"{API}/plans/?patient={other_patient.pk}").json()

    assert [plan["id"] for plan in mine["results"]] == [course.pk]
    assert mine["count"] == 1
    assert theirs["results"] == []


def test_a_user_with_no_role_sees_no_plans(course: TreatmentPlan) -> None:
    client = client_for(UserFactory(username="nobody"))

    response = client.get(f"{API}/plans/")

    assert response.json()["results"] == []
    the_error(client.get(f"{API}/plans/{course.pk}/"), 404)


# --- Preview ---------------------------------------------------------------------------------


def test_preview_proposes_three_sessions_28_days_apart_at_ten_and_writes_nothing(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    before = db_state()

    response = staff_api.post(f"{API}/plans/preview/", booking)

    assert response.status_code == 200, response.content
    last_day = tuesday + timedelta(days=56)
    assert response.json() == {
        "fits": True,
        "time_zone": "Asia/Seoul",
        "session_count": 3,
        "interval_days": 28,
        "sessions": [
            {
                "sequence": n + 1,
                "starts_at": at(tuesday + timedelta(days=28 * n), 10),
                "ends_at": at(tuesday + timedelta(days=28 * n), 10, 45),
                "preferred_at": at(tuesday + timedelta(days=28 * n), 10),
                "moved": False,
            }
            for n in range(3)
        ],
        "maintenance_due_on": (last_day + relativedelta(months=6)).isoformat(),
        "no_fit": None,
        "contraindications": [],
    }
    assert db_state() == before


def test_preview_keeps_the_time_of_a_taken_slot_on_the_nearest_day_and_says_so(
    staff_api: APIClient, booking: dict[str, Any], kim: Practitioner, tuesday: date
) -> None:
    second = tuesday + timedelta(days=28)
    holder = TreatmentPlanFactory(practitioner=kim, status=PlanStatus.ACTIVE)
    SessionFactory(plan=holder, sequence=1, starts_at=seoul(second, 10), ends_at=seoul(second, 11))

    sessions = staff_api.post(f"{API}/plans/preview/", booking).json()["sessions"]

    monday = second - timedelta(days=1)
    assert sessions[1] == {
        "sequence": 2,
        "starts_at": at(monday, 10),
        "ends_at": at(monday, 10, 45),
        "preferred_at": at(second, 10),
        "moved": True,
    }


def test_preview_names_a_recorded_contraindication(
    staff_api: APIClient, booking: dict[str, Any], patient: Patient
) -> None:
    flag(patient, "fish-allergy")

    response = staff_api.post(f"{API}/plans/preview/", booking)

    assert response.json()["fits"] is True
    assert response.json()["contraindications"] == [
        {"slug": "fish-allergy", "name": "Fish or salmon allergy"}
    ]


def test_preview_takes_a_time_without_offset_as_clinic_time(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    naive = {**booking, "first_start": f"{tuesday.isoformat()}T10:00:00"}

    sessions = staff_api.post(f"{API}/plans/preview/", naive).json()["sessions"]

    assert sessions[0]["starts_at"] == at(tuesday, 10)


def test_preview_converts_a_time_given_in_another_offset_to_clinic_time(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    utc = {**booking, "first_start": f"{tuesday.isoformat()}T01:00:00Z"}  # 10:00 in Seoul

    sessions = staff_api.post(f"{API}/plans/preview/", utc).json()["sessions"]

    assert sessions[0]["starts_at"] == at(tuesday, 10)


def test_preview_of_a_course_that_cannot_fit_says_which_session_and_why(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    Closure.objects.create(
        starts_on=tuesday + timedelta(days=21),
        ends_on=tuesday + timedelta(days=28),
        reason="clinic renovation",
    )

    response = staff_api.post(f"{API}/plans/preview/", booking)

    assert response.status_code == 200
    body = response.json()
    assert body["fits"] is False
    assert body["sessions"] == []
    assert body["maintenance_due_on"] is None
    no_fit = body["no_fit"]
    assert no_fit["sequence"] == 2
    assert no_fit["window_first_day"] == (tuesday + timedelta(days=21)).isoformat()
    assert no_fit["window_last_day"] == (tuesday + timedelta(days=28)).isoformat()
    assert no_fit["preferred_at"] == at(tuesday + timedelta(days=28), 10)
    assert no_fit["message"].startswith("Session 2 cannot be placed between")
    assert "(clinic renovation)" in no_fit["message"]


# --- Booking ---------------------------------------------------------------------------------


def test_booking_answers_202_with_the_plan_being_scheduled_and_where_to_poll_it(
    staff_api: APIClient,
    booking: dict[str, Any],
    patient: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    tuesday: date,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_api.post(f"{API}/plans/", booking)

    assert response.status_code == 202, response.content
    plan = TreatmentPlan.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/plans/{plan.pk}/"
    body = response.json()
    assert body == {
        "id": plan.pk,
        "patient": {"id": patient.pk, "name": patient.full_name},
        "treatment": "rejuran-healer",
        "protocol": {"id": rejuran.pk, "name": rejuran.name},
        "practitioner": {"id": kim.pk, "name": "Dr. Kim"},
        "room": None,
        "status": "scheduling",
        "session_count": 3,
        "interval_days": 28,
        "first_session_at": at(tuesday, 10),
        "time_zone": "Asia/Seoul",
        "booked_at": body["booked_at"],
        "booked_by": "reception",
        "overridden_conditions": "",
        "override_reason": "",
        "attention_reason": "",
        "schedule_notes": "",
        "maintenance_due_on": None,
        "progress": {"completed": 0, "total": 0},
        "sessions": [],
    }
    assert body["booked_at"].endswith("+09:00")
    assert len(callbacks) == 1  # the worker is handed the plan once the booking commits


def test_once_the_worker_has_run_the_plan_is_active_with_its_three_sessions(
    staff_api: APIClient,
    booking: dict[str, Any],
    kim: Practitioner,
    tuesday: date,
    eager_celery: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        booked = staff_api.post(f"{API}/plans/", booking)

    assert booked.status_code == 202
    plan = staff_api.get(booked["Location"]).json()
    assert plan["status"] == "active"
    assert plan["progress"] == {"completed": 0, "total": 3}
    assert [
        (s["sequence"], s["kind"], s["starts_at"], s["ends_at"], s["status"])
        for s in plan["sessions"]
    ] == [
        (
            n + 1,
            "initial",
            at(tuesday + timedelta(days=28 * n), 10),
            at(tuesday + timedelta(days=28 * n), 10, 45),
            "planned",
        )
        for n in range(3)
    ]
    assert {s["practitioner"]["id"] for s in plan["sessions"]} == {kim.pk}
    assert plan["maintenance_due_on"] is None  # set once the course is completed


def test_booking_with_a_room_and_four_sessions_at_21_days(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    room = RoomFactory(name="Laser 1")

    response = staff_api.post(
        f"{API}/plans/", {**booking, "room": room.pk, "session_count": 4, "interval_days": 21}
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["session_count"], body["interval_days"]) == (4, 21)
    assert body["room"] == {"id": room.pk, "name": "Laser 1"}


def test_booking_takes_a_time_without_offset_as_clinic_time(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    naive = {**booking, "first_start": f"{tuesday.isoformat()}T10:00:00"}

    response = staff_api.post(f"{API}/plans/", naive)

    assert response.status_code == 202, response.content
    assert response.json()["first_session_at"] == at(tuesday, 10)
    assert TreatmentPlan.objects.get().first_session_at == seoul(tuesday, 10)


def test_a_contraindication_blocks_the_booking_without_a_reason_and_nothing_is_saved(
    staff_api: APIClient,
    booking: dict[str, Any],
    patient: Patient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    flag(patient, "fish-allergy")
    before = db_state()

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_api.post(f"{API}/plans/", {**booking, "override_reason": "  "})

    error = the_error(response, 400)
    assert error["field"] == "override_reason"
    assert error["code"] == "contraindicated"
    assert "Fish or salmon allergy" in error["message"]
    assert db_state() == before
    assert callbacks == []


def test_a_contraindication_overridden_with_a_reason_books_and_records_it(
    staff_api: APIClient, booking: dict[str, Any], patient: Patient
) -> None:
    flag(patient, "fish-allergy")
    reason = "Allergist cleared PN injections (letter scanned 2026-11-02)."

    response = staff_api.post(f"{API}/plans/", {**booking, "override_reason": reason})

    assert response.status_code == 202, response.content
    assert response.json()["override_reason"] == reason
    assert response.json()["overridden_conditions"] == "Fish or salmon allergy"


def test_an_override_reason_without_a_contraindication_is_not_recorded(
    staff_api: APIClient, booking: dict[str, Any]
) -> None:
    response = staff_api.post(f"{API}/plans/", {**booking, "override_reason": "just in case"})

    assert response.status_code == 202
    assert response.json()["override_reason"] == ""


@pytest.mark.parametrize(
    ("change", "field", "code", "message"),
    [
        pytest.param(
            {"session_count": 5},
            "session_count",
            "out_of_range",
            "takes 3–4 sessions, not 5",
            id="5",
        ),
        pytest.param(
            {"session_count": 2},
            "session_count",
            "out_of_range",
            "takes 3–4 sessions, not 2",
            id="2",
        ),
        pytest.param({"session_count": 0}, "session_count", "min_value", "", id="session_count 0"),
        pytest.param(
            {"interval_days": 14},
            "interval_days",
            "out_of_range",
            "must be 21–28 days apart, not 14",
            id="interval 14",
        ),
        pytest.param({"patient": 999999}, "patient", "does_not_exist", "", id="unknown patient"),
        pytest.param({"protocol": 999999}, "protocol", "does_not_exist", "", id="unknown protocol"),
        pytest.param(
            {"practitioner": 999999},
            "practitioner",
            "does_not_exist",
            "",
            id="unknown practitioner",
        ),
        pytest.param({"room": 999999}, "room", "does_not_exist", "", id="unknown room"),
        pytest.param(
            {"first_start": "next Tuesday"}, "first_start", "invalid", "", id="not a datetime"
        ),
        pytest.param(
            {"first_start": "2020-01-07T10:00:00+09:00"},
            "first_start",
            "in_the_past",
            "The time must be in the future.",
            id="in the past",
        ),
    ],
)
@pytest.mark.parametrize("endpoint", ["plans/", "plans/preview/"])
def test_a_booking_outside_the_rules_is_a_field_error_and_saves_nothing(
    staff_api: APIClient,
    booking: dict[str, Any],
    endpoint: str,
    change: dict[str, Any],
    field: str,
    code: str,
    message: str,
) -> None:
    before = db_state()

    error = the_error(staff_api.post(f"{API}/{endpoint}", {**booking, **change}), 400)

    assert error["field"] == field
    assert error["code"] == code
    assert message in error["message"]
    assert db_state() == before


def test_a_practitioner_who_does_not_perform_the_treatment_is_refused(
    staff_api: APIClient, booking: dict[str, Any]
) -> None:
    lee = PractitionerFactory(display_name="Dr. Lee")

    error = the_error(staff_api.post(f"{API}/plans/", {**booking, "practitioner": lee.pk}), 400)

    assert error == {
        "field": "practitioner",
        "code": "not_performed",
        "message": "Dr. Lee does not perform Rejuran Healer.",
    }


def test_a_practitioner_not_taking_bookings_is_refused(
    staff_api: APIClient, booking: dict[str, Any], kim: Practitioner
) -> None:
    kim.is_active = False
    kim.save()

    error = the_error(staff_api.post(f"{API}/plans/", booking), 400)

    assert error == {
        "field": "practitioner",
        "code": "practitioner_inactive",
        "message": "Dr. Kim is not taking bookings.",
    }


def test_a_room_not_in_use_is_refused(staff_api: APIClient, booking: dict[str, Any]) -> None:
    room = RoomFactory(name="Old laser room", is_active=False)

    error = the_error(staff_api.post(f"{API}/plans/", {**booking, "room": room.pk}), 400)

    assert error == {
        "field": "room",
        "code": "room_inactive",
        "message": "Old laser room is not in use.",
    }


@pytest.fixture
def no_longer_offered(rejuran: ProtocolTemplate) -> None:
    rejuran.treatment.is_active = False
    rejuran.treatment.save()


@pytest.mark.usefixtures("no_longer_offered")
@pytest.mark.parametrize("endpoint", ["plans/", "plans/preview/"])
def test_a_treatment_no_longer_offered_cannot_be_booked(
    staff_api: APIClient, booking: dict[str, Any], endpoint: str
) -> None:
    before = db_state()

    error = the_error(staff_api.post(f"{API}/{endpoint}", booking), 400)

    assert error["code"] == "treatment_inactive"
    assert error["message"] == "Rejuran Healer is no longer offered."
    assert db_state() == before


@pytest.mark.usefixtures("no_longer_offered")
@pytest.mark.parametrize("endpoint", ["plans/", "plans/preview/"])
def test_a_treatment_no_longer_offered_is_reported_against_the_protocol_field(
    staff_api: APIClient, booking: dict[str, Any], endpoint: str
) -> None:
    error = the_error(staff_api.post(f"{API}/{endpoint}", booking), 400)

    assert error["field"] == "protocol"


def test_an_empty_booking_names_every_missing_field(staff_api: APIClient) -> None:
    errors = the_errors(staff_api.post(f"{API}/plans/", {}), 400)

    assert {(e["field"], e["code"]) for e in errors} == {
        ("patient", "required"),
        ("protocol", "required"),
        ("practitioner", "required"),
        ("first_start", "required"),
    }


def test_a_booking_that_cannot_keep_the_protocol_is_refused_with_the_reason(
    staff_api: APIClient,
    booking: dict[str, Any],
    tuesday: date,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    window = [tuesday + timedelta(days=day) for day in range(21, 29)]
    Closure.objects.create(starts_on=window[0], ends_on=window[-1], reason="Seollal")
    before = db_state()

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_api.post(f"{API}/plans/", booking)

    error = the_error(response, 409)
    assert error["field"] is None
    assert error["code"] == "protocol_violation"
    assert error["message"].startswith("Session 2 cannot be placed between")
    assert "(Seollal)" in error["message"]
    assert error["reason"] == {
        "sequence": 2,
        "window_first_day": window[0].isoformat(),
        "window_last_day": window[-1].isoformat(),
        "preferred_at": at(window[-1], 10),
        "closed_days": [{"day": day.isoformat(), "reason": "Seollal"} for day in window],
        "busy": [],
        "days_without_hours": [],
        "detail": "",
        "cause": None,
        "days_not_working": [],
        "leave": [],
        "patient_busy": [],
        "previous_sequence": None,
    }
    assert db_state() == before
    assert callbacks == []


@pytest.fixture
def window_filled(kim: Practitioner, tuesday: date) -> date:
    """Session 2's window (days 21–28) closed but for its last day, which another patient's
    all-day booking with Dr. Kim fills."""
    last = tuesday + timedelta(days=28)
    Closure.objects.create(
        starts_on=tuesday + timedelta(days=21), ends_on=last - timedelta(days=1), reason="Seollal"
    )
    holder = TreatmentPlanFactory(practitioner=kim, status=PlanStatus.ACTIVE)
    SessionFactory(plan=holder, sequence=1, starts_at=seoul(last, 10), ends_at=seoul(last, 19))
    return last


def test_the_reason_names_the_bookings_that_fill_the_open_hours(
    staff_api: APIClient, booking: dict[str, Any], window_filled: date
) -> None:
    error = the_error(staff_api.post(f"{API}/plans/", booking), 409)

    assert error["message"].endswith("; 1 booking takes up the hours it is open.")
    assert len(error["reason"]["closed_days"]) == 7
    [busy] = error["reason"]["busy"]
    assert datetime.fromisoformat(busy["starts_at"]) == seoul(window_filled, 10)
    assert datetime.fromisoformat(busy["ends_at"]) == seoul(window_filled, 19)


def test_the_bookings_in_the_reason_are_in_clinic_time(
    staff_api: APIClient, booking: dict[str, Any], window_filled: date
) -> None:
    error = the_error(staff_api.post(f"{API}/plans/", booking), 409)

    assert error["reason"]["busy"] == [
        {"starts_at": at(window_filled, 10), "ends_at": at(window_filled, 19)}
    ]


def test_a_first_session_on_a_day_without_opening_hours_cannot_be_placed(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    sunday = tuesday + timedelta(days=5)
    before = db_state()

    preview = staff_api.post(f"{API}/plans/preview/", {**booking, "first_start": at(sunday, 10)})
    booked = staff_api.post(f"{API}/plans/", {**booking, "first_start": at(sunday, 10)})

    assert preview.json()["fits"] is False
    assert preview.json()["no_fit"]["sequence"] == 1
    error = the_error(booked, 409)
    assert error["code"] == "protocol_violation"
    assert error["message"] == (
        f"Session 1 cannot be placed at {format_day(sunday)}, 10:00; the clinic does not open on "
        "Sundays."
    )
    assert error["reason"]["cause"] == "closed"
    assert error["reason"]["days_without_hours"] == [sunday.isoformat()]
    assert error["reason"]["window_first_day"] == error["reason"]["window_last_day"]
    assert error["reason"]["window_first_day"] == sunday.isoformat()
    assert db_state() == before


def test_a_first_session_running_past_closing_is_not_moved_but_refused(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    response = staff_api.post(
        f"{API}/plans/preview/", {**booking, "first_start": at(tuesday, 18, 30)}
    )

    assert response.json()["fits"] is False
    assert response.json()["sessions"] == []
    assert response.json()["no_fit"]["cause"] == "closed"
    assert response.json()["no_fit"]["message"] == (
        f"Session 1 cannot be placed at {format_day(tuesday)}, 18:30; that time is outside opening "
        "hours."
    )


# --- The first session: exactly the chosen time, or not at all --------------------------------


def test_a_taken_first_slot_answers_409_at_once_with_the_reason_and_the_preview_says_so(
    staff_api: APIClient,
    booking: dict[str, Any],
    kim: Practitioner,
    tuesday: date,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    holder = TreatmentPlanFactory(practitioner=kim, status=PlanStatus.ACTIVE)
    SessionFactory(
        plan=holder, sequence=1, starts_at=seoul(tuesday, 9, 30), ends_at=seoul(tuesday, 10, 15)
    )
    before = db_state()

    preview = staff_api.post(f"{API}/plans/preview/", booking).json()
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_api.post(f"{API}/plans/", booking)

    message = (
        f"Session 1 cannot be placed at {format_day(tuesday)}, 10:00; the practitioner or room is "
        "already "
        "booked then."
    )
    assert preview["fits"] is False
    assert preview["no_fit"]["message"] == message
    assert preview["no_fit"]["cause"] == "booked"
    error = the_error(response, 409)
    assert (error["code"], error["message"]) == ("protocol_violation", message)
    assert error["reason"]["sequence"] == 1
    assert error["reason"]["cause"] == "booked"
    assert error["reason"]["preferred_at"] == at(tuesday, 10)
    assert [datetime.fromisoformat(b["starts_at"]) for b in error["reason"]["busy"]] == [
        seoul(tuesday, 9, 30)
    ]
    assert db_state() == before
    assert callbacks == []


def test_a_first_start_off_the_booking_grid_is_a_field_error(
    staff_api: APIClient, booking: dict[str, Any], tuesday: date
) -> None:
    before = db_state()

    for url in (f"{API}/plans/preview/", f"{API}/plans/"):
        response = staff_api.post(url, {**booking, "first_start": at(tuesday, 10, 10)})

        assert the_error(response, 400) == {
            "field": "first_start",
            "code": "off_grid",
            "message": "Sessions start every 15 minutes from opening time, and 10:10 is not one "
            "of those times: choose 10:00 or 10:15.",
        }
    assert db_state() == before


def test_a_first_slot_taken_before_the_worker_runs_leaves_the_plan_needing_attention(
    staff_api: APIClient,
    booking: dict[str, Any],
    kim: Practitioner,
    tuesday: date,
    eager_celery: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_api.post(f"{API}/plans/", booking)
    assert response.status_code == 202
    # In the moment between the answer and the worker, someone takes 10:00.
    holder = TreatmentPlanFactory(practitioner=kim, status=PlanStatus.ACTIVE)
    SessionFactory(
        plan=holder, sequence=1, starts_at=seoul(tuesday, 10), ends_at=seoul(tuesday, 11)
    )

    for hand_off in callbacks:  # the worker runs (inline)
        hand_off()

    plan = staff_api.get(f"{API}/plans/{response.json()['id']}/").json()
    assert plan["status"] == "needs_attention"
    assert plan["attention_reason"].startswith(
        f"Session 1 cannot be placed at {format_day(tuesday)}, 10:00"
    )
    assert plan["sessions"] == []


# --- Listing ---------------------------------------------------------------------------------


@pytest.fixture
def three_plans(
    course: TreatmentPlan, other_course: TreatmentPlan, patient: Patient
) -> dict[str, TreatmentPlan]:
    lee = PractitionerFactory(display_name="Dr. Lee")
    cancelled = TreatmentPlanFactory(patient=patient, practitioner=lee, status="cancelled")
    return {"course": course, "other course": other_course, "cancelled": cancelled}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", ["cancelled", "other course", "course"], id="newest first"),
        pytest.param("patient={patient}", ["cancelled", "course"], id="patient"),
        pytest.param("patient={other_patient}", ["other course"], id="other patient"),
        pytest.param("status=active", ["other course", "course"], id="status active"),
        pytest.param("status=cancelled", ["cancelled"], id="status cancelled"),
        pytest.param("status=maintenance", [], id="status maintenance"),
        pytest.param("practitioner={kim}", ["other course", "course"], id="practitioner"),
        pytest.param(
            "patient={patient}&practitioner={kim}", ["course"], id="patient and practitioner"
        ),
    ],
)
def test_staff_filter_the_plan_list(
    staff_api: APIClient,
    three_plans: dict[str, TreatmentPlan],
    patient: Patient,
    other_patient: Patient,
    kim: Practitioner,
    query: str,
    expected: list[str],
) -> None:
    url = f"{API}/plans/?" + query.format(
        patient=patient.pk, other_patient=other_patient.pk, kim=kim.pk
    )

    body = staff_api.get(url).json()

    names = {plan.pk: name for name, plan in three_plans.items()}
    assert [names[plan["id"]] for plan in body["results"]] == expected
    assert body["count"] == len(expected)
    assert body["time_zone"] == "Asia/Seoul"


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        pytest.param("status=paused", "status", "invalid_choice", id="unknown status"),
        pytest.param("patient=emma", "patient", "invalid", id="patient not a number"),
    ],
)
def test_a_bad_plan_filter_names_the_parameter(
    staff_api: APIClient, query: str, field: str, code: str
) -> None:
    error = the_error(staff_api.get(f"{API}/plans/?{query}"), 400)

    assert (error["field"], error["code"]) == (field, code)


def test_plan_lists_are_paginated_with_the_time_zone(staff_api: APIClient) -> None:
    patient, practitioner, booked_by = PatientFactory(), PractitionerFactory(), UserFactory()
    for _ in range(3):
        TreatmentPlanFactory(patient=patient, practitioner=practitioner, booked_by=booked_by)

    first = staff_api.get(f"{API}/plans/?page_size=2").json()
    second = staff_api.get(first["next"]).json()

    assert (first["count"], len(first["results"]), first["previous"]) == (3, 2, None)
    assert first["time_zone"] == "Asia/Seoul"
    assert (len(second["results"]), second["next"]) == (1, None)


# --- Cancelling ------------------------------------------------------------------------------


def test_cancelling_a_course_cancels_its_sessions(
    staff_api: APIClient, course: TreatmentPlan
) -> None:
    response = staff_api.post(
        f"{API}/plans/{course.pk}/cancel/", {"reason": "  Patient moved to Busan. "}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert [s["status"] for s in body["sessions"]] == ["cancelled"] * 3
    assert body["progress"] == {"completed": 0, "total": 0}
    course.refresh_from_db()
    assert course.cancellation_reason == "Patient moved to Busan."
    assert set(course.sessions.values_list("status", flat=True)) == {SessionStatus.CANCELLED}


def test_a_cancelled_course_cannot_be_cancelled_again(
    staff_api: APIClient, course: TreatmentPlan
) -> None:
    staff_api.post(f"{API}/plans/{course.pk}/cancel/", {"reason": "Patient moved."})
    before = db_state()

    response = staff_api.post(f"{API}/plans/{course.pk}/cancel/", {"reason": "Again."})

    assert the_error(response, 400) == {
        "field": "plan",
        "code": "not_open",
        "message": "The course is already cancelled.",
    }
    assert db_state() == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({}, "required", id="missing"),
        pytest.param({"reason": ""}, "blank", id="empty"),
        pytest.param({"reason": "   "}, "blank", id="only spaces"),
        pytest.param({"reason": "x" * 201}, "max_length", id="too long"),
    ],
)
def test_cancelling_a_course_needs_a_reason(
    staff_api: APIClient, course: TreatmentPlan, body: dict[str, str], code: str
) -> None:
    before = db_state()

    error = the_error(staff_api.post(f"{API}/plans/{course.pk}/cancel/", body), 400)

    assert (error["field"], error["code"]) == ("reason", code)
    assert db_state() == before


def test_cancelling_an_unknown_plan_is_not_found(staff_api: APIClient) -> None:
    error = the_error(staff_api.post(f"{API}/plans/999999/cancel/", {"reason": "x"}), 404)

    assert (error["field"], error["code"]) == (None, "not_found")


# --- Query counts ----------------------------------------------------------------------------


def many_plans(count: int) -> None:
    """``count`` plans, each with one session and a room; Dr. Mun's sessions a day apart."""
    patient, booked_by = PatientFactory(), UserFactory()
    practitioner, room = PractitionerFactory(display_name="Dr. Mun"), RoomFactory()
    first_day = date(2030, 1, 7)
    for index in range(count):
        plan = TreatmentPlanFactory(
            patient=patient,
            practitioner=practitioner,
            room=room,
            booked_by=booked_by,
            status=PlanStatus.ACTIVE,
        )
        start = seoul(first_day + timedelta(days=index), 10)
        SessionFactory(
            plan=plan,
            sequence=1,
            starts_at=start,
            ends_at=start + timedelta(minutes=45),
            room=room,
        )


@pytest.mark.parametrize("rows", [10, 200])
def test_listing_plans_costs_the_same_queries_for_10_or_200_rows(
    staff_api: APIClient, django_assert_num_queries: Callable[..., Any], rows: int
) -> None:
    many_plans(rows)

    with django_assert_num_queries(4):  # the caller's roles, count, page, sessions (prefetched)
        response = staff_api.get(f"{API}/plans/?page_size=200")

    assert len(response.json()["results"]) == rows
    assert all(len(plan["sessions"]) == 1 for plan in response.json()["results"])
