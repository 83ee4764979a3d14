"""Times in the clinic's zone (Asia/Seoul by default), as the tests write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from scheduling.planner import local_datetime
from scheduling.selectors import clinic_tz

WEDNESDAY = 2  # date.weekday(): an ordinary open day in the seeded clinic's hours


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware datetime at a wall-clock time in the clinic's zone (Asia/Seoul by default)."""
    return local_datetime(day, time(hour, minute), clinic_tz())


def local_today() -> date:
    """Today on the clinic's calendar."""
    return timezone.now().astimezone(clinic_tz()).date()


def upcoming(weekday: int, *, weeks_ahead: int = 2) -> date:
    """A date on the given weekday (Monday = 0) at least ``weeks_ahead`` weeks from today."""
    today = local_today() + timedelta(weeks=weeks_ahead)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)
