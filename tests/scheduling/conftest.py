"""Fixtures for scheduling tests: the seeded Rejuran protocol, a practitioner, times in the
clinic's zone, and Celery run inline for service tests (worker-process tests start real ones)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from clinic.celery import app
from scheduling.models import Practitioner
from scheduling.planner import local_datetime
from scheduling.selectors import clinic_tz
from scheduling.sms import LocmemSmsBackend
from tests.factories import PractitionerFactory
from treatments.models import ProtocolTemplate, Treatment


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware datetime at a wall-clock time in the clinic's zone (Asia/Seoul by default)."""
    return local_datetime(day, time(hour, minute), clinic_tz())


def upcoming(weekday: int, *, weeks_ahead: int = 2) -> date:
    """A date on the given weekday (Monday = 0) at least ``weeks_ahead`` weeks from today."""
    today = timezone.now().astimezone(clinic_tz()).date() + timedelta(weeks=weeks_ahead)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


@pytest.fixture
def rejuran(db: None) -> ProtocolTemplate:
    """3–4 sessions, 21–28 days apart (usual 28), maintenance every 6 months; 45-minute sessions."""
    return ProtocolTemplate.objects.select_related("treatment").get(
        treatment__slug="rejuran-healer", is_default=True
    )


@pytest.fixture
def kim(db: None) -> Practitioner:
    practitioner = PractitionerFactory(display_name="Dr. Kim")
    practitioner.treatments.set(Treatment.objects.all())
    return practitioner


@pytest.fixture
def tuesday() -> date:
    """A Tuesday two or more weeks ahead: the clinic (seeded hours) is open 10:00–19:00."""
    return upcoming(1)


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run tasks inline when they are sent, so a service test sees the worker's effect."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def sms_outbox(settings: Any) -> Iterator[list[dict[str, str]]]:
    settings.SMS_BACKEND = "scheduling.sms.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()
