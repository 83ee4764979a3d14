"""Query-parameter types that reject nonsense with a 400 instead of failing in the database."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
MAX_ID = 2**63 - 1


def validate_calendar_day(value: date) -> None:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValidationError(
            f"Give a date between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}.",
            code="out_of_range",
        )


class IdField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdFilter(django_filters.NumberFilter):
    """A database id: a positive whole number (not 60.0, not 1e201)."""

    field_class = IdField


class CalendarDayField(forms.DateField):
    default_validators = [validate_calendar_day]


class CalendarDayFilter(django_filters.DateFilter):
    field_class = CalendarDayField
