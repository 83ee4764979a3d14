"""Free start times for a practitioner (and room): what the booking preview, the Today page and
the API offer. Constant queries whatever the range or the number of bookings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from scheduling.models import Closure, PlanStatus, Practitioner, SessionStatus
from scheduling.selectors import free_slots
from tests.factories import PractitionerFactory, RoomFactory, TreatmentPlanFactory
from tests.helpers import hold
from tests.timeutil import seoul
from treatments.models import Treatment

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejuran_treatment(db: None) -> Treatment:
    return Treatment.objects.get(slug="rejuran-healer")  # 45-minute sessions


def slots_on(
    day: date, practitioner: Practitioner, treatment: Treatment, **kwargs: Any
) -> list[str]:
    return [
        f"{slot.astimezone(seoul(day, 0).tzinfo):%H:%M}"
        for slot in free_slots(
            practitioner=practitioner, treatment=treatment, first_day=day, last_day=day, **kwargs
        )
    ]


def test_an_empty_tuesday_offers_every_quarter_hour_that_fits_before_closing(
    kim: Practitioner, rejuran_treatment: Treatment, tuesday: date
) -> None:
    slots = slots_on(tuesday, kim, rejuran_treatment)

    assert slots[0] == "10:00"
    assert slots[-1] == "18:15"  # 18:15 + 45 min = 19:00, closing time
    assert len(slots) == 34


def test_sundays_and_closures_offer_nothing(
    kim: Practitioner, rejuran_treatment: Treatment, tuesday: date
) -> None:
    Closure.objects.create(starts_on=tuesday, ends_on=tuesday, reason="staff training")

    assert slots_on(tuesday, kim, rejuran_treatment) == []
    assert slots_on(tuesday + timedelta(days=5), kim, rejuran_treatment) == []  # Sunday


def test_back_to_back_is_free_and_any_overlap_is_not(
    kim: Practitioner, rejuran_treatment: Treatment, tuesday: date
) -> None:
    hold(kim, seoul(tuesday, 12))  # 12:00–12:45

    slots = slots_on(tuesday, kim, rejuran_treatment)

    assert "11:15" in slots  # ends 12:00, exactly when the booking starts
    assert "12:45" in slots  # starts exactly when it ends
    assert not {"11:30", "11:45", "12:00", "12:15", "12:30"} & set(slots)


def test_cancelled_sessions_free_their_time(
    kim: Practitioner, rejuran_treatment: Treatment, tuesday: date
) -> None:
    hold(kim, seoul(tuesday, 12), status=SessionStatus.CANCELLED)

    assert "12:00" in slots_on(tuesday, kim, rejuran_treatment)


def test_the_chosen_room_being_taken_blocks_the_slot_too(
    kim: Practitioner, rejuran_treatment: Treatment, tuesday: date
) -> None:
    room = RoomFactory()
    other = TreatmentPlanFactory(status=PlanStatus.ACTIVE).practitioner
    hold(other, seoul(tuesday, 14), room=room)

    assert "14:00" in slots_on(tuesday, kim, rejuran_treatment)
    assert "14:00" not in slots_on(tuesday, kim, rejuran_treatment, room=room)


@pytest.mark.parametrize(
    ("span_days", "message"),
    [(0, "before its start"), (57, "at most 56 days")],
)
def test_ranges_outside_one_day_to_eight_weeks_are_refused(
    kim: Practitioner, rejuran_treatment: Treatment, tuesday: date, span_days: int, message: str
) -> None:
    last_day = tuesday + timedelta(days=span_days - 1)

    with pytest.raises(ValidationError) as error:
        free_slots(
            practitioner=kim, treatment=rejuran_treatment, first_day=tuesday, last_day=last_day
        )

    assert message in error.value.message_dict["to"][0]


@pytest.mark.parametrize("bookings", [0, 10, 200])
@pytest.mark.parametrize("days", [1, 28])
def test_three_queries_whatever_the_range_or_the_bookings(
    kim: Practitioner,
    rejuran_treatment: Treatment,
    tuesday: date,
    bookings: int,
    days: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    for n in range(bookings):
        hold(kim, seoul(tuesday + timedelta(days=n % 28), 10) + timedelta(minutes=45 * (n // 28)))

    # whether Dr. Kim performs it, the calendar (opening hours, closures, the practitioner's
    # working hours and leave in one union), busy time
    with django_assert_num_queries(3):
        slots = free_slots(
            practitioner=kim,
            treatment=rejuran_treatment,
            first_day=tuesday,
            last_day=tuesday + timedelta(days=days - 1),
            room=RoomFactory.build(pk=999),
        )

    assert len(slots) > 0


def test_no_slots_are_offered_with_a_practitioner_who_does_not_perform_the_treatment(
    rejuran_treatment: Treatment, tuesday: date
) -> None:
    laser_only = PractitionerFactory(display_name="Dr. Yoon")

    with pytest.raises(ValidationError) as error:
        slots_on(tuesday, laser_only, rejuran_treatment)

    assert error.value.message_dict == {
        "practitioner": ["Dr. Yoon does not perform Rejuran Healer."]
    }


def test_no_slots_are_offered_in_a_room_that_is_not_in_use(
    kim: Practitioner, rejuran_treatment: Treatment, tuesday: date
) -> None:
    closed = RoomFactory(name="Old laser room", is_active=False)

    with pytest.raises(ValidationError) as error:
        slots_on(tuesday, kim, rejuran_treatment, room=closed)

    assert error.value.message_dict == {"room": ["Old laser room is not in use."]}
