"""A patient's own schedule: their courses, how far along they are, what comes next, what to
expect and how to look after their skin, in their language and the clinic's time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from patients.models import Patient
from scheduling.models import PlanStatus, Practitioner, Session, TreatmentPlan
from scheduling.planner import add_months
from scheduling.services import plan_book, session_cancel, session_complete
from tests.api.helpers import API, CLIENTS, assert_errors, assert_not_logged_in, client_for
from tests.helpers import book_and_schedule
from tests.timeutil import seoul
from treatments.catalogue_data import TREATMENTS
from treatments.models import ProtocolTemplate, Treatment

pytestmark = pytest.mark.django_db


MY_SCHEDULE = f"{API}/me/schedule/"
REJURAN_DATA = next(t for t in TREATMENTS if t["slug"] == "rejuran-healer")


@pytest.fixture
def book(
    rejuran: ProtocolTemplate, kim: Practitioner, staff_user: User
) -> Callable[..., TreatmentPlan]:
    """Book a Rejuran course (3 sessions, 28 days apart) and let the worker place it."""

    def book(patient: Patient, start: datetime) -> TreatmentPlan:
        plan = book_and_schedule(patient, rejuran, kim, start, staff_user)
        assert plan.status == PlanStatus.ACTIVE
        return plan

    return book


def sessions_in_order(plan: TreatmentPlan) -> list[Session]:
    return list(plan.sessions.order_by("sequence"))


def complete(session: Session, by: User) -> None:
    session_complete(session=session, completed_by=by, now=session.ends_at)


def my_plans(client: APIClient) -> list[dict[str, Any]]:
    response = client.get(MY_SCHEDULE)
    assert response.status_code == 200, response.content
    return response.json()["plans"]


# --- Who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "status"),
    [
        ("anonymous", "get", "not logged in"),
        ("patient", "get", 200),
        ("staff", "get", 404),
        ("clinic admin", "get", 404),
        *[
            (role, method, 405 if role != "anonymous" else "not logged in")
            for role in ("anonymous", "patient")
            for method in ("post", "put", "patch", "delete")
        ],
    ],
)
def test_only_a_patient_has_a_schedule_of_their_own(
    request: pytest.FixtureRequest, role: str, method: str, status: int | str
) -> None:
    client: APIClient = request.getfixturevalue(CLIENTS[role])

    response = getattr(client, method)(MY_SCHEDULE, {})

    if status == "not logged in":
        assert_not_logged_in(response)
    elif status == 200:
        assert response.status_code == 200
    else:
        code = {404: "not_found", 405: "method_not_allowed"}[status]
        assert_errors(response, status, (None, code))


def test_a_staff_member_without_a_patient_record_is_told_there_is_nothing_to_see(
    staff_api: APIClient,
) -> None:
    response = staff_api.get(MY_SCHEDULE)

    [error] = assert_errors(response, 404, (None, "not_found"))
    assert error["message"] == "Not found."


def test_a_practitioner_has_no_schedule_here_either(practitioner: Practitioner) -> None:
    client = client_for(practitioner.user)

    assert_errors(client.get(MY_SCHEDULE), 404, (None, "not_found"))


# --- What the patient sees --------------------------------------------------------------------


def test_a_patient_without_courses_sees_an_empty_schedule(
    patient_api: APIClient, patient: Patient
) -> None:
    body = patient_api.get(MY_SCHEDULE).json()

    assert body == {
        "time_zone": "Asia/Seoul",
        "patient": {"id": patient.pk, "name": patient.full_name},
        "plans": [],
    }


def test_a_patient_sees_only_their_own_courses(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    other_patient: Patient,
    patient_api: APIClient,
    other_patient_api: APIClient,
    tuesday: date,
) -> None:
    mine = book(patient, seoul(tuesday, 10))
    theirs = book(other_patient, seoul(tuesday, 11))

    seen_by_me = patient_api.get(MY_SCHEDULE).json()
    seen_by_them = other_patient_api.get(MY_SCHEDULE).json()

    assert seen_by_me["patient"] == {"id": patient.pk, "name": patient.full_name}
    assert [p["id"] for p in seen_by_me["plans"]] == [mine.pk]
    assert {s["id"] for s in seen_by_me["plans"][0]["sessions"]} == {
        s.pk for s in mine.sessions.all()
    }
    assert [p["id"] for p in seen_by_them["plans"]] == [theirs.pk]


def test_courses_are_listed_newest_first(
    book: Callable[..., TreatmentPlan], patient: Patient, patient_api: APIClient, tuesday: date
) -> None:
    older = book(patient, seoul(tuesday, 10))
    newer = book(patient, seoul(tuesday, 14))

    assert [p["id"] for p in my_plans(patient_api)] == [newer.pk, older.pk]


def test_a_new_course_shows_every_session_and_the_first_as_next(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
    kim: Practitioner,
) -> None:
    plan = book(patient, seoul(tuesday, 10))
    first, second, third = sessions_in_order(plan)

    [shown] = my_plans(patient_api)

    assert shown["treatment"] == "rejuran-healer"
    assert shown["treatment_name"] == "Rejuran Healer"
    assert shown["status"] == "active"
    assert shown["progress"] == {"completed": 0, "total": 3}
    assert shown["next_maintenance_on"] is None
    assert shown["aftercare"] is None
    assert shown["sessions"] == [
        {
            "id": session.pk,
            "sequence": n + 1,
            "kind": "initial",
            "starts_at": f"{(tuesday + timedelta(days=28 * n)).isoformat()}T10:00:00+09:00",
            "ends_at": f"{(tuesday + timedelta(days=28 * n)).isoformat()}T10:45:00+09:00",
            "status": "planned",
            "practitioner": {"id": kim.pk, "name": "Dr. Kim"},
        }
        for n, session in enumerate([first, second, third])
    ]
    assert shown["next_session"] == shown["sessions"][0]


def test_milestones_are_dated_from_the_course(
    book: Callable[..., TreatmentPlan], patient: Patient, patient_api: APIClient, tuesday: date
) -> None:
    book(patient, seoul(tuesday, 10))

    [shown] = my_plans(patient_api)

    assert shown["milestones"] == [
        {
            "description": "First visible change: hydration and glow",
            "expected_on": (tuesday + timedelta(days=28)).isoformat(),  # the day of session 2
            "expected_until": None,
        },
        {
            "description": "Full strengthening effect",
            "expected_on": add_months(tuesday, 2).isoformat(),
            "expected_until": add_months(tuesday, 3).isoformat(),
        },
    ]


def test_a_milestone_follows_its_session_when_that_session_moves(
    book: Callable[..., TreatmentPlan], patient: Patient, patient_api: APIClient, tuesday: date
) -> None:
    plan = book(patient, seoul(tuesday, 10))
    second = sessions_in_order(plan)[1]
    later = second.starts_at - timedelta(days=3)
    Session.objects.filter(pk=second.pk).update(
        starts_at=later, ends_at=later + timedelta(minutes=45)
    )

    [shown] = my_plans(patient_api)

    assert shown["milestones"][0]["expected_on"] == (tuesday + timedelta(days=25)).isoformat()


def test_after_a_session_the_patient_sees_progress_the_next_session_and_its_aftercare(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
    staff_user: User,
) -> None:
    plan = book(patient, seoul(tuesday, 10))
    first, second, _ = sessions_in_order(plan)
    complete(first, staff_user)

    [shown] = my_plans(patient_api)

    assert shown["progress"] == {"completed": 1, "total": 3}
    assert shown["next_session"]["id"] == second.pk
    assert [s["status"] for s in shown["sessions"]] == ["completed", "planned", "planned"]
    assert shown["aftercare"] == {
        "session": first.pk,
        "treatment": "Rejuran Healer",
        "text": REJURAN_DATA["aftercare"],
    }


def test_once_the_course_is_done_the_patient_sees_when_maintenance_is_due(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
    staff_user: User,
) -> None:
    plan = book(patient, seoul(tuesday, 10))
    for session in sessions_in_order(plan):
        complete(session, staff_user)
    last = sessions_in_order(plan)[-1]

    [shown] = my_plans(patient_api)

    assert shown["status"] == "maintenance"
    assert shown["progress"] == {"completed": 3, "total": 3}
    assert shown["next_session"] is None
    assert shown["next_maintenance_on"] == add_months(tuesday + timedelta(days=56), 6).isoformat()
    assert shown["aftercare"]["session"] == last.pk


def test_a_cancelled_session_drops_out_of_the_course(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
    staff_user: User,
) -> None:
    plan = book(patient, seoul(tuesday, 10))
    third = sessions_in_order(plan)[2]
    session_cancel(session=third, reason="Travelling", cancelled_by=staff_user)

    [shown] = my_plans(patient_api)

    assert shown["progress"] == {"completed": 0, "total": 2}
    assert third.pk not in [s["id"] for s in shown["sessions"]]


def test_a_course_still_being_scheduled_shows_no_sessions_yet(
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    staff_user: User,
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
) -> None:
    plan_book(
        patient=patient,
        template=rejuran,
        practitioner=kim,
        first_start=seoul(tuesday, 10),
        booked_by=staff_user,
    )

    [shown] = my_plans(patient_api)

    assert shown["status"] == "scheduling"
    assert shown["sessions"] == []
    assert shown["next_session"] is None
    assert shown["progress"] == {"completed": 0, "total": 0}
    assert [(m["expected_on"], m["expected_until"]) for m in shown["milestones"]] == [
        (None, None),
        (None, None),
    ]


def test_a_korean_speaking_patient_reads_their_schedule_in_korean(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
    staff_user: User,
) -> None:
    patient.preferred_language = "ko"
    patient.save()
    plan = book(patient, seoul(tuesday, 10))
    complete(sessions_in_order(plan)[0], staff_user)

    [shown] = my_plans(patient_api)

    assert shown["treatment_name"] == "리쥬란 힐러"
    assert shown["aftercare"]["treatment"] == "리쥬란 힐러"
    assert shown["aftercare"]["text"] == REJURAN_DATA["aftercare_ko"]
    assert [m["description"] for m in shown["milestones"]] == [
        "첫 변화: 수분감과 광채",
        "피부 강화 효과 완성",
    ]
    assert shown["treatment"] == "rejuran-healer"  # slugs stay as they are


def test_a_missing_korean_text_falls_back_to_english(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
    staff_user: User,
) -> None:
    patient.preferred_language = "ko"
    patient.save()
    Treatment.objects.filter(slug="rejuran-healer").update(aftercare_ko="")
    plan = book(patient, seoul(tuesday, 10))
    complete(sessions_in_order(plan)[0], staff_user)

    [shown] = my_plans(patient_api)

    assert shown["aftercare"]["text"] == REJURAN_DATA["aftercare"]


def test_every_time_is_given_in_the_clinics_zone_with_its_offset(
    book: Callable[..., TreatmentPlan], patient: Patient, patient_api: APIClient, tuesday: date
) -> None:
    book(patient, seoul(tuesday, 10))

    body = patient_api.get(MY_SCHEDULE).json()

    assert body["time_zone"] == "Asia/Seoul"
    [shown] = body["plans"]
    stamps = [s[key] for s in shown["sessions"] for key in ("starts_at", "ends_at")]
    stamps += [shown["next_session"]["starts_at"], shown["next_session"]["ends_at"]]
    assert stamps
    assert all(s.endswith("+09:00") for s in stamps)
    assert shown["sessions"][0]["starts_at"] == seoul(tuesday, 10).isoformat()


# --- Queries ----------------------------------------------------------------------------------

# patient, plans (with practitioner), sessions (with practitioner); the catalogue's protocol
# templates (with treatment) and milestones, which a request keeps while the catalogue is unchanged
MY_SCHEDULE_QUERIES = 5


@pytest.mark.parametrize("courses", [1, 5])
def test_the_schedule_takes_the_same_queries_for_one_course_or_five(
    book: Callable[..., TreatmentPlan],
    patient: Patient,
    patient_api: APIClient,
    tuesday: date,
    staff_user: User,
    courses: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    for n in range(courses):
        plan = book(patient, seoul(tuesday, 10 + n))
        complete(sessions_in_order(plan)[0], staff_user)

    with django_assert_num_queries(MY_SCHEDULE_QUERIES):
        response = patient_api.get(MY_SCHEDULE)

    plans = response.json()["plans"]
    assert len(plans) == courses
    assert all(p["aftercare"] and len(p["milestones"]) == 2 for p in plans)
