"""Practitioners, rooms and free slots over HTTP: who may read them, what a slot search answers,
and that every read costs a fixed number of queries however many rows there are.

Errors always come as ``{"errors": [{"field", "code", "message"}]}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from scheduling.models import Leave, PlanStatus, Practitioner, Room, WorkingHours
from tests.api.helpers import API, ERROR_CODES, ROLES, at, the_error
from tests.factories import (
    PatientFactory,
    PractitionerFactory,
    RoomFactory,
    SessionFactory,
    TreatmentPlanFactory,
    UserFactory,
)
from tests.helpers import SESSION, hold, snapshot
from tests.timeutil import seoul
from treatments.models import Treatment

pytestmark = pytest.mark.django_db


def free_slots_url(practitioner: Practitioner | int, **params: Any) -> str:
    pk = practitioner if isinstance(practitioner, int) else practitioner.pk
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{API}/practitioners/{pk}/free-slots/?{query}"


def local_times(slots: list[str]) -> list[str]:
    """'2026-06-02T10:15:00+09:00' -> '10:15'."""
    return [slot[11:16] for slot in slots]


@pytest.fixture
def room(db: None) -> Room:
    return RoomFactory(name="Room A")


# --- Permissions -----------------------------------------------------------------------------


# endpoint -> the status each logged-in role gets for a GET
READ_PERMISSIONS = {
    "practitioners/": [200, 200, 200],
    "practitioners/{kim}/": [200, 200, 200],
    "practitioners/{kim}/free-slots/?treatment=rejuran-healer&from={tuesday}": [403, 200, 200],
    "practitioners/{kim}/working-pattern/": [403, 200, 200],
    "rooms/": [403, 200, 200],
    "rooms/{room}/": [403, 200, 200],
}
# Practitioners and rooms are read-only: every other method is refused and changes nothing.
WRITE_METHODS = ["post", "put", "patch", "delete"]
# endpoint -> the status each logged-in role gets for any write
WRITE_PERMISSIONS = {
    "practitioners/": [405, 405, 405],
    "practitioners/{kim}/": [405, 405, 405],
    "practitioners/{kim}/free-slots/": [403, 405, 405],
    "practitioners/{kim}/working-pattern/": [403, 405, 405],
    "rooms/": [403, 405, 405],
    "rooms/{room}/": [403, 405, 405],
}
EVERY_REQUEST = [
    *(("get", endpoint) for endpoint in READ_PERMISSIONS),
    *((method, endpoint) for endpoint in WRITE_PERMISSIONS for method in WRITE_METHODS),
]


def request_as(
    client: APIClient, method: str, endpoint: str, kim: Practitioner, room: Room, day: date
) -> Any:
    url = f"{API}/" + endpoint.format(kim=kim.pk, room=room.pk, tuesday=day)
    body = {"display_name": "Dr. Who", "name": "Hall"} if method != "get" else None
    return getattr(client, method)(url, body)


def everything() -> dict[str, list[dict[str, Any]]]:
    return snapshot(practitioners=Practitioner, rooms=Room)


@pytest.mark.parametrize(
    ("endpoint", "role", "expected"),
    [
        pytest.param(endpoint, role, status, id=f"{role} GET {endpoint.split('?')[0]}")
        for endpoint, statuses in READ_PERMISSIONS.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_who_may_read_practitioners_rooms_and_free_slots(
    clients: dict[str, APIClient],
    kim: Practitioner,
    room: Room,
    tuesday: date,
    endpoint: str,
    role: str,
    expected: int,
) -> None:
    response = request_as(clients[role], "get", endpoint, kim, room, tuesday)

    if expected == 200:
        assert response.status_code == 200, response.content
    else:
        assert the_error(response, expected) == {
            "field": None,
            "code": ERROR_CODES[expected],
            "message": "Only clinic staff can do this.",
        }


@pytest.mark.parametrize(
    ("endpoint", "method", "role", "expected"),
    [
        pytest.param(endpoint, method, role, status, id=f"{role} {method.upper()} {endpoint}")
        for endpoint, statuses in WRITE_PERMISSIONS.items()
        for method in WRITE_METHODS
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_practitioners_and_rooms_cannot_be_changed_over_the_api(
    clients: dict[str, APIClient],
    kim: Practitioner,
    room: Room,
    tuesday: date,
    endpoint: str,
    method: str,
    role: str,
    expected: int,
) -> None:
    before = everything()

    response = request_as(clients[role], method, endpoint, kim, room, tuesday)

    assert the_error(response, expected)["code"] == ERROR_CODES[expected]
    assert everything() == before


@pytest.mark.parametrize(
    ("method", "endpoint"),
    [pytest.param(m, e, id=f"{m.upper()} {e.split('?')[0]}") for m, e in EVERY_REQUEST],
)
def test_anonymous_callers_are_refused_as_not_authenticated_and_nothing_changes(
    anonymous_api: APIClient,
    kim: Practitioner,
    room: Room,
    tuesday: date,
    method: str,
    endpoint: str,
) -> None:
    before = everything()

    response = request_as(anonymous_api, method, endpoint, kim, room, tuesday)

    assert response.status_code == 401  # 401 once the bug below is fixed
    assert the_error(response, response.status_code) == {
        "field": None,
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
    }
    assert everything() == before


@pytest.mark.parametrize(
    ("method", "endpoint"),
    [pytest.param(m, e, id=f"{m.upper()} {e.split('?')[0]}") for m, e in EVERY_REQUEST],
)
def test_anonymous_callers_get_401_with_a_bearer_challenge(
    anonymous_api: APIClient,
    kim: Practitioner,
    room: Room,
    tuesday: date,
    method: str,
    endpoint: str,
) -> None:
    response = request_as(anonymous_api, method, endpoint, kim, room, tuesday)

    assert the_error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_unknown_or_revoked_token_is_refused_with_401(anonymous_api: APIClient) -> None:
    anonymous_api.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")

    response = anonymous_api.get(f"{API}/practitioners/")

    assert the_error(response, 401) == {
        "field": None,
        "code": "authentication_failed",
        "message": "The token is unknown or has been revoked.",
    }
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_api_token_for_a_staff_account_reads_free_slots(
    token_api: APIClient, kim: Practitioner, tuesday: date
) -> None:
    response = token_api.get(free_slots_url(kim, treatment="rejuran-healer", **{"from": tuesday}))

    assert response.status_code == 200


# --- Practitioners and rooms -----------------------------------------------------------------


def test_the_practitioner_list_names_what_each_one_performs(
    patient_api: APIClient, kim: Practitioner
) -> None:
    lee = PractitionerFactory(display_name="Dr. Lee", title="Nurse", is_active=False)
    lee.treatments.set(Treatment.objects.filter(slug="rejuran-healer"))

    response = patient_api.get(f"{API}/practitioners/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["time_zone"] == "Asia/Seoul"
    assert body["next"] is None
    assert body["previous"] is None
    assert body["results"] == [
        {
            "id": kim.pk,
            "display_name": "Dr. Kim",
            "title": "Dermatologist",
            "is_active": True,
            "treatments": list(Treatment.objects.order_by("name").values_list("slug", flat=True)),
        },
        {
            "id": lee.pk,
            "display_name": "Dr. Lee",
            "title": "Nurse",
            "is_active": False,
            "treatments": ["rejuran-healer"],
        },
    ]


def test_the_practitioner_list_filters_on_taking_bookings(
    staff_api: APIClient, kim: Practitioner
) -> None:
    PractitionerFactory(display_name="Dr. Lee", is_active=False)

    active = staff_api.get(f"{API}/practitioners/?is_active=true").json()
    inactive = staff_api.get(f"{API}/practitioners/?is_active=false").json()

    assert [p["display_name"] for p in active["results"]] == ["Dr. Kim"]
    assert [p["display_name"] for p in inactive["results"]] == ["Dr. Lee"]


def test_a_practitioner_detail_lists_the_treatment_slugs(
    staff_api: APIClient, kim: Practitioner
) -> None:
    kim.treatments.set(Treatment.objects.filter(slug__in=["rejuran-healer"]))

    response = staff_api.get(f"{API}/practitioners/{kim.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": kim.pk,
        "display_name": "Dr. Kim",
        "title": "Dermatologist",
        "is_active": True,
        "treatments": ["rejuran-healer"],
    }


def test_an_unknown_practitioner_is_not_found(staff_api: APIClient) -> None:
    error = the_error(staff_api.get(f"{API}/practitioners/999999/"), 404)

    assert error["field"] is None
    assert error["code"] == "not_found"


def test_rooms_are_listed_by_name_for_staff(staff_api: APIClient) -> None:
    b = RoomFactory(name="Room B", is_active=False)
    a = RoomFactory(name="Room A")

    body = staff_api.get(f"{API}/rooms/").json()
    detail = staff_api.get(f"{API}/rooms/{b.pk}/").json()

    assert body["results"] == [
        {"id": a.pk, "name": "Room A", "is_active": True},
        {"id": b.pk, "name": "Room B", "is_active": False},
    ]
    assert body["time_zone"] == "Asia/Seoul"
    assert detail == {"id": b.pk, "name": "Room B", "is_active": False}


def test_an_unknown_room_is_not_found(staff_api: APIClient) -> None:
    error = the_error(staff_api.get(f"{API}/rooms/999999/"), 404)

    assert error == {"field": None, "code": "not_found", "message": "Not found."}


# --- Free slots ------------------------------------------------------------------------------


def test_an_empty_tuesday_offers_every_quarter_hour_from_opening_to_the_last_start_that_ends_by_closing(  # noqa: E501
    staff_api: APIClient, kim: Practitioner, tuesday: date
) -> None:
    response = staff_api.get(free_slots_url(kim, treatment="rejuran-healer", **{"from": tuesday}))

    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "Asia/Seoul"
    assert body["practitioner"] == {"id": kim.pk, "name": "Dr. Kim"}
    assert body["treatment"] == "rejuran-healer"
    assert body["slots"][0] == f"{tuesday.isoformat()}T10:00:00+09:00"
    assert body["slots"][-1] == f"{tuesday.isoformat()}T18:15:00+09:00"  # + 45 min = 19:00
    assert len(body["slots"]) == 34
    assert all(slot.endswith("+09:00") for slot in body["slots"])
    assert all(slot.startswith(tuesday.isoformat()) for slot in body["slots"])


def test_back_to_back_with_a_booking_is_free_and_any_overlap_is_not(
    staff_api: APIClient, kim: Practitioner, tuesday: date
) -> None:
    hold(kim, seoul(tuesday, 12))  # 12:00–12:45

    body = staff_api.get(
        free_slots_url(kim, treatment="rejuran-healer", **{"from": tuesday})
    ).json()

    times = local_times(body["slots"])
    assert "11:15" in times  # ends 12:00, as the booking starts
    assert "12:45" in times  # starts as the booking ends
    for overlapping in ["11:30", "11:45", "12:00", "12:15", "12:30"]:
        assert overlapping not in times


def test_a_cancelled_booking_frees_its_time(
    staff_api: APIClient, kim: Practitioner, tuesday: date
) -> None:
    plan = TreatmentPlanFactory(practitioner=kim, status=PlanStatus.ACTIVE)
    SessionFactory(
        plan=plan, sequence=1, starts_at=seoul(tuesday, 12), ends_at=seoul(tuesday, 12, 45)
    )
    plan.sessions.update(status="cancelled")

    body = staff_api.get(
        free_slots_url(kim, treatment="rejuran-healer", **{"from": tuesday})
    ).json()

    assert "12:00" in local_times(body["slots"])


def test_a_room_asked_for_must_be_free_too(
    staff_api: APIClient, kim: Practitioner, room: Room, tuesday: date
) -> None:
    hold(PractitionerFactory(), seoul(tuesday, 10), room=room)  # someone else in Room A

    with_room = staff_api.get(
        free_slots_url(kim, treatment="rejuran-healer", room=room.pk, **{"from": tuesday})
    ).json()
    without_room = staff_api.get(
        free_slots_url(kim, treatment="rejuran-healer", **{"from": tuesday})
    ).json()

    assert local_times(with_room["slots"])[0] == "10:45"
    assert local_times(without_room["slots"])[0] == "10:00"


def test_a_range_of_days_skips_sunday_and_ends_saturdays_at_three(
    staff_api: APIClient, kim: Practitioner, tuesday: date
) -> None:
    saturday, sunday = tuesday + timedelta(days=4), tuesday + timedelta(days=5)

    body = staff_api.get(
        free_slots_url(
            kim, treatment="rejuran-healer", **{"from": saturday, "to": sunday + timedelta(1)}
        )
    ).json()

    days = {slot[:10] for slot in body["slots"]}
    assert sunday.isoformat() not in days
    saturday_times = [s[11:16] for s in body["slots"] if s.startswith(saturday.isoformat())]
    assert saturday_times[-1] == "14:15"  # + 45 min = 15:00


def test_eight_weeks_is_the_longest_search(
    staff_api: APIClient, kim: Practitioner, tuesday: date
) -> None:
    longest = staff_api.get(
        free_slots_url(
            kim,
            treatment="rejuran-healer",
            **{"from": tuesday, "to": tuesday + timedelta(days=55)},
        )
    )
    too_long = staff_api.get(
        free_slots_url(
            kim,
            treatment="rejuran-healer",
            **{"from": tuesday, "to": tuesday + timedelta(days=56)},
        )
    )

    assert longest.status_code == 200
    error = the_error(too_long, 400)
    assert error["field"] == "to"
    assert error["code"] == "too_long"
    assert "56 days" in error["message"]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        pytest.param({"treatment": "rejuran-healer"}, "from", "required", id="from missing"),
        pytest.param(
            {"treatment": "rejuran-healer", "from": "next-tuesday", "to": "{tuesday}"},
            "from",
            "invalid",
            id="from not a date",
        ),
        pytest.param(
            {"treatment": "rejuran-healer", "from": "{tuesday}", "to": "tuesday-week"},
            "to",
            "invalid",
            id="to not a date",
        ),
        pytest.param({"from": "{tuesday}"}, "treatment", "required", id="treatment missing"),
        pytest.param(
            {"treatment": "botox-by-the-litre", "from": "{tuesday}"},
            "treatment",
            "does_not_exist",
            id="unknown treatment",
        ),
        pytest.param(
            {"treatment": "rejuran-healer", "from": "{tuesday}", "to": "{monday_before}"},
            "to",
            "invalid",
            id="to before from",
        ),
        pytest.param(
            {"treatment": "rejuran-healer", "from": "{tuesday}", "room": "999999"},
            "room",
            "does_not_exist",
            id="unknown room",
        ),
    ],
)
def test_a_bad_free_slot_query_names_the_parameter(
    staff_api: APIClient,
    kim: Practitioner,
    tuesday: date,
    params: dict[str, str],
    field: str,
    code: str,
) -> None:
    values = {"tuesday": tuesday, "monday_before": tuesday - timedelta(days=1)}
    query = {key: value.format(**values) for key, value in params.items()}

    error = the_error(staff_api.get(free_slots_url(kim, **query)), 400)

    assert error["field"] == field
    assert error["code"] == code


def test_a_malformed_from_is_reported_once_against_from(
    staff_api: APIClient, kim: Practitioner
) -> None:
    response = staff_api.get(free_slots_url(kim, treatment="rejuran-healer", **{"from": "soon"}))

    error = the_error(response, 400)  # exactly one error
    assert (error["field"], error["code"]) == ("from", "invalid")


def test_free_slots_of_an_unknown_practitioner_are_not_found(
    staff_api: APIClient, tuesday: date
) -> None:
    response = staff_api.get(
        free_slots_url(999999, treatment="rejuran-healer", **{"from": tuesday})
    )

    error = the_error(response, 404)
    assert error["field"] is None
    assert error["code"] == "not_found"


# --- Query counts ----------------------------------------------------------------------------


def many_practitioners(count: int) -> None:
    rejuran = Treatment.objects.filter(slug="rejuran-healer")
    for _ in range(count):
        PractitionerFactory().treatments.set(rejuran)


@pytest.mark.parametrize("rows", [10, 200])
def test_listing_practitioners_costs_the_same_queries_for_10_or_200_rows(
    staff_api: APIClient, django_assert_num_queries: Callable[..., Any], rows: int
) -> None:
    many_practitioners(rows)

    with django_assert_num_queries(3):  # count, page, treatments (prefetched)
        response = staff_api.get(f"{API}/practitioners/?page_size=200")

    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [10, 200])
def test_listing_rooms_costs_the_same_queries_for_10_or_200_rows(
    staff_api: APIClient, django_assert_num_queries: Callable[..., Any], rows: int
) -> None:
    RoomFactory.create_batch(rows)

    with django_assert_num_queries(3):  # the caller's roles, count, page
        response = staff_api.get(f"{API}/rooms/?page_size=200")

    assert len(response.json()["results"]) == rows


def fill_diary(practitioner: Practitioner, first_day: date, count: int) -> None:
    """``count`` back-to-back 45-minute sessions, eight a day from 10:00, from ``first_day``."""
    patient, booked_by = PatientFactory(), UserFactory()
    per_plan = 10
    for first in range(0, count, per_plan):
        plan = TreatmentPlanFactory(
            patient=patient,
            practitioner=practitioner,
            booked_by=booked_by,
            status=PlanStatus.ACTIVE,
        )
        for index in range(first, min(first + per_plan, count)):
            day = first_day + timedelta(days=index // 8)
            start = seoul(day, 10) + SESSION * (index % 8)
            SessionFactory(
                plan=plan, sequence=index - first + 1, starts_at=start, ends_at=start + SESSION
            )


@pytest.mark.parametrize("days", [1, 28])
@pytest.mark.parametrize("sessions", [10, 200])
def test_free_slots_cost_the_same_queries_whatever_the_range_or_the_bookings(
    staff_api: APIClient,
    kim: Practitioner,
    tuesday: date,
    django_assert_num_queries: Callable[..., Any],
    days: int,
    sessions: int,
) -> None:
    fill_diary(kim, tuesday, sessions)
    url = free_slots_url(
        kim,
        treatment="rejuran-healer",
        **{"from": tuesday, "to": tuesday + timedelta(days=days - 1)},
    )

    # the caller's roles, practitioner, treatment, does the practitioner perform it, then the
    # search itself: opening hours, closures, working hours, leave, busy time
    with django_assert_num_queries(6):
        response = staff_api.get(url)

    assert response.status_code == 200


# --- Working pattern -------------------------------------------------------------------------


def test_a_practitioner_without_a_pattern_works_the_clinics_hours(
    staff_api: APIClient, kim: Practitioner
) -> None:
    response = staff_api.get(f"{API}/practitioners/{kim.pk}/working-pattern/")

    assert response.json() == {
        "practitioner": {"id": kim.pk, "name": "Dr. Kim"},
        "time_zone": "Asia/Seoul",
        "works_clinic_hours": True,
        "working_hours": [],
        "leave": [],
    }


def test_staff_read_a_practitioners_hours_and_the_leave_that_has_not_ended(
    staff_api: APIClient, kim: Practitioner, tuesday: date
) -> None:
    WorkingHours.objects.create(practitioner=kim, weekday=3, start_time=time(14), end_time=time(18))
    WorkingHours.objects.create(practitioner=kim, weekday=1, start_time=time(9), end_time=time(12))
    WorkingHours.objects.create(practitioner=kim, weekday=1, start_time=time(15), end_time=time(19))
    Leave.objects.create(  # over: not shown
        practitioner=kim, starts_on=date(2020, 1, 6), ends_on=date(2020, 1, 10), reason="old"
    )
    afternoon = Leave.objects.create(
        practitioner=kim,
        starts_on=tuesday,
        ends_on=tuesday,
        start_time=time(14),
        end_time=time(17),
        reason="dentist",
    )
    week = Leave.objects.create(
        practitioner=kim,
        starts_on=tuesday + timedelta(days=6),
        ends_on=tuesday + timedelta(days=10),
        reason="",
    )

    body = staff_api.get(f"{API}/practitioners/{kim.pk}/working-pattern/").json()

    assert body["works_clinic_hours"] is False
    assert body["working_hours"] == [
        {"weekday": 1, "start_time": "09:00:00", "end_time": "12:00:00"},
        {"weekday": 1, "start_time": "15:00:00", "end_time": "19:00:00"},
        {"weekday": 3, "start_time": "14:00:00", "end_time": "18:00:00"},
    ]
    assert body["leave"] == [
        {
            "id": afternoon.pk,
            "starts_on": tuesday.isoformat(),
            "ends_on": tuesday.isoformat(),
            "start_time": "14:00:00",
            "end_time": "17:00:00",
            "starts_at": at(tuesday, 14),
            "ends_at": at(tuesday, 17),
            "reason": "dentist",
        },
        {
            "id": week.pk,
            "starts_on": (tuesday + timedelta(days=6)).isoformat(),
            "ends_on": (tuesday + timedelta(days=10)).isoformat(),
            "start_time": None,
            "end_time": None,
            "starts_at": at(tuesday + timedelta(days=6), 0),
            "ends_at": at(tuesday + timedelta(days=11), 0),
            "reason": "",
        },
    ]


def test_an_unknown_practitioners_pattern_is_not_found(staff_api: APIClient) -> None:
    error = the_error(staff_api.get(f"{API}/practitioners/999999/working-pattern/"), 404)

    assert error["code"] == "not_found"


@pytest.mark.parametrize("leave", [0, 30])
def test_the_working_pattern_costs_the_same_queries_whatever_it_holds(
    staff_api: APIClient,
    kim: Practitioner,
    tuesday: date,
    django_assert_num_queries: Callable[..., Any],
    leave: int,
) -> None:
    for weekday in range(6):
        WorkingHours.objects.create(
            practitioner=kim, weekday=weekday, start_time=time(10), end_time=time(14)
        )
    for n in range(leave):
        day = tuesday + timedelta(weeks=n)
        Leave.objects.create(practitioner=kim, starts_on=day, ends_on=day)

    with django_assert_num_queries(4):  # the caller's roles, practitioner, hours, leave
        response = staff_api.get(f"{API}/practitioners/{kim.pk}/working-pattern/")

    assert len(response.json()["leave"]) == leave
