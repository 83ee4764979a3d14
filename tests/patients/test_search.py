"""Finding patients: the search selector, and the list page's rows built on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.utils import translation

from patients.models import Patient
from patients.selectors import age_on, patient_list_page, patient_search
from scheduling.models import PlanStatus
from tests.factories import PatientFactory, TreatmentPlanFactory
from tests.helpers import flag
from tests.timeutil import seoul

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Read in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


@pytest.fixture
def people(db: None) -> dict[str, Patient]:
    return {
        "이지우": PatientFactory(
            family_name="이", given_name="지우", phone="010-3333-4444", email=""
        ),
        "Lee Ji-woo": PatientFactory(
            family_name="Lee",
            given_name="Ji-woo",
            phone="+82 10-1234-5678",
            email="Jiwoo.Lee@Example.com",
        ),
        "Lee Min-ho": PatientFactory(
            family_name="Lee", given_name="Min-ho", phone="+82 10-7777-8888", email="mh@lee.kr"
        ),
        "Choi Yuna": PatientFactory(
            family_name="Choi", given_name="Yuna", phone="+82 10-2222-3333", email="yuna@ex.com"
        ),
    }


def found(query: str) -> list[str]:
    return [p.full_name for p in patient_search(query=query)]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("이지우", ["이 지우"]),  # a Korean name typed together
        ("이 지우", ["이 지우"]),
        ("지우", ["이 지우"]),
        ("ji-woo lee", ["Lee Ji-woo"]),  # the English order
        ("Lee Ji-woo", ["Lee Ji-woo"]),
        ("JI-WOO", ["Lee Ji-woo"]),
        ("lee", ["Lee Ji-woo", "Lee Min-ho"]),
        ("lee min", ["Lee Min-ho"]),
    ],
)
def test_names_are_found_either_way_round_with_or_without_a_space(
    people: dict[str, Patient], query: str, names: list[str]
) -> None:
    assert found(query) == names


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("010-1234-5678", "Lee Ji-woo"),  # stored as +82 10-1234-5678
        ("01012345678", "Lee Ji-woo"),
        ("+82 10 1234 5678", "Lee Ji-woo"),
        ("1234-5678", "Lee Ji-woo"),
        ("010-3333-4444", "이 지우"),
        ("3333 4444", "이 지우"),
    ],
)
def test_phone_numbers_are_found_however_they_are_written(
    people: dict[str, Patient], query: str, name: str
) -> None:
    assert found(query) == [name]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("jiwoo.lee@example.com", "Lee Ji-woo"),
        ("JIWOO.LEE@EXAMPLE.COM", "Lee Ji-woo"),
        ("yuna@", "Choi Yuna"),
        ("lee.kr", "Lee Min-ho"),
    ],
)
def test_email_addresses_are_found_whole_or_in_part(
    people: dict[str, Patient], query: str, name: str
) -> None:
    assert found(query) == [name]


def test_every_word_must_match(people: dict[str, Patient]) -> None:
    assert found("lee choi") == []
    assert found("nobody") == []


def test_an_empty_query_lists_everyone_in_name_order(people: dict[str, Patient]) -> None:
    assert found("  ") == ["Choi Yuna", "Lee Ji-woo", "Lee Min-ho", "이 지우"]


# --- The list page's rows ----------------------------------------------------------------------


def test_a_row_says_whether_the_patient_has_open_flags(people: dict[str, Patient]) -> None:
    flag(people["Lee Ji-woo"], "fish-allergy")
    flag(people["Choi Yuna"], "pregnancy", resolved_at=seoul(date(2025, 1, 1), 9))

    listing = patient_list_page(query="", page=1, today=date(2026, 12, 1))

    flagged = {row.patient.full_name: row.has_open_flags for row in listing.rows}
    assert flagged == {
        "Choi Yuna": False,  # resolved: no longer applies
        "Lee Ji-woo": True,
        "Lee Min-ho": False,
        "이 지우": False,
    }


def test_a_row_shows_the_status_of_the_latest_course(people: dict[str, Patient]) -> None:
    TreatmentPlanFactory(patient=people["Lee Ji-woo"], status=PlanStatus.COMPLETED)
    TreatmentPlanFactory(patient=people["Lee Ji-woo"], status=PlanStatus.ACTIVE)

    listing = patient_list_page(query="lee", page=1, today=date(2026, 12, 1))

    rows = {row.patient.full_name: row for row in listing.rows}
    assert rows["Lee Ji-woo"].course_status == "active"
    assert rows["Lee Ji-woo"].course_status_label == "Active"
    assert rows["Lee Min-ho"].course_status is None
    assert rows["Lee Min-ho"].course_status_label == ""


def test_pages_hold_25_patients_and_a_bad_page_number_shows_the_last(db: None) -> None:
    PatientFactory.create_batch(27, family_name="Kang")

    first = patient_list_page(query="kang", page=1, today=date(2026, 12, 1))
    beyond = patient_list_page(query="kang", page="99", today=date(2026, 12, 1))
    junk = patient_list_page(query="kang", page="x", today=date(2026, 12, 1))

    assert len(first.rows) == 25
    assert (beyond.page.number, len(beyond.rows)) == (2, 2)
    assert junk.page.number == 1


@pytest.mark.parametrize("count", [10, 200])
def test_a_page_of_rows_takes_two_queries_whatever_the_number_of_patients(
    django_assert_num_queries: Callable[..., Any], count: int
) -> None:
    for patient in PatientFactory.create_batch(count):
        flag(patient, "pregnancy")
        TreatmentPlanFactory(patient=patient)

    with django_assert_num_queries(2):  # the count, then the page
        listing = patient_list_page(query="", page=1, today=date(2026, 12, 1))
        assert all(row.has_open_flags and row.course_status for row in listing.rows)


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(1990, 3, 14), date(2026, 3, 13), 35),
        (date(1990, 3, 14), date(2026, 3, 14), 36),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
    ],
)
def test_age_counts_whole_years(born: date, today: date, age: int) -> None:
    assert age_on(born, today) == age
