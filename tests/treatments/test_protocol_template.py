"""Protocol templates cannot hold impossible rules: form errors in words, and database checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from treatments.models import ProtocolTemplate, Treatment

pytestmark = pytest.mark.django_db


def template(**overrides: object) -> ProtocolTemplate:
    values: dict[str, object] = {
        "treatment": Treatment.objects.get(slug="skinboosters"),
        "name": "Intensive",
        "initial_sessions_min": 3,
        "initial_sessions_default": 3,
        "initial_sessions_max": 4,
        "interval_days_min": 14,
        "interval_days_default": 14,
        "interval_days_max": 21,
        "maintenance_interval_months": 6,
    }
    return ProtocolTemplate(**{**values, **overrides})


def test_min_above_max_sessions_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as error:
        template(initial_sessions_min=5, initial_sessions_max=4).full_clean()

    assert error.value.message_dict["initial_sessions_max"] == [
        "The most sessions (4) cannot be fewer than the fewest (5)."
    ]


def test_shortest_gap_above_longest_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as error:
        template(interval_days_min=30, interval_days_max=21).full_clean()

    assert "interval_days_max" in error.value.message_dict


def test_usual_outside_the_range_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as error:
        template(initial_sessions_default=6).full_clean()

    assert error.value.message_dict["initial_sessions_default"] == [
        "The usual number of sessions must be between 3 and 4."
    ]


def test_zero_months_maintenance_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as error:
        template(maintenance_interval_months=0).full_clean()

    assert "maintenance_interval_months" in error.value.message_dict


def test_valid_template_passes() -> None:
    template().full_clean()


@pytest.mark.parametrize(
    "overrides",
    [
        {"initial_sessions_min": 5, "initial_sessions_max": 4},
        {"initial_sessions_default": 9},
        {"initial_sessions_min": 0, "initial_sessions_default": 0},
        {"interval_days_min": 30},
        {"maintenance_interval_months": 0},
    ],
)
def test_the_database_refuses_impossible_rules(overrides: dict[str, int]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        template(**overrides).save()

    assert not ProtocolTemplate.objects.filter(name="Intensive").exists()


def test_a_treatment_has_one_default_protocol() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        template(is_default=True).save()
