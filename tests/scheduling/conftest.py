"""Fixtures for scheduling tests: SMS sent to an in-memory outbox. The seeded Rejuran protocol,
Dr. Kim, a Tuesday ahead and Celery run inline are shared with the API tests (tests/conftest.py);
times in the clinic's zone are in tests/timeutil.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scheduling.sms import LocmemSmsBackend


@pytest.fixture
def sms_outbox(settings: Any) -> Iterator[list[dict[str, str]]]:
    settings.SMS_BACKEND = "scheduling.sms.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()
