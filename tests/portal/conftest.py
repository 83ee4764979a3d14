"""Fixtures for the patient portal: a patient's course booked the way the clinic books it, and
a client logged in as that patient (or another one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from patients.models import Patient
from scheduling.models import PlanStatus, Practitioner, TreatmentPlan
from tests.helpers import book_and_schedule
from tests.timeutil import seoul
from treatments.models import ProtocolTemplate


@pytest.fixture
def book(
    rejuran: ProtocolTemplate, kim: Practitioner, staff_user: User
) -> Callable[..., TreatmentPlan]:
    """Book a Rejuran Healer course (3 sessions, 28 days apart) and let the worker place it."""

    def book(patient: Patient, start: datetime, **extra: Any) -> TreatmentPlan:
        plan = book_and_schedule(patient, rejuran, kim, start, staff_user, **extra)
        assert plan.status == PlanStatus.ACTIVE, plan.attention_reason
        return plan

    return book


@pytest.fixture
def course(book: Callable[..., TreatmentPlan], patient: Patient, tuesday: date) -> TreatmentPlan:
    """The patient's course: three sessions from a Tuesday two weeks ahead, 10:00."""
    return book(patient, seoul(tuesday, 10))


@pytest.fixture
def patient_client(client: Client, patient: Patient) -> Client:
    assert patient.user is not None
    client.force_login(patient.user)
    return client


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
