"""API clients for each persona, plus an API-token client."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from clinic.tokens import api_token_create


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def admin_api(clinic_admin: User) -> APIClient:
    return client_for(clinic_admin)


@pytest.fixture
def staff_api(staff_user: User) -> APIClient:
    return client_for(staff_user)


@pytest.fixture
def patient_api(patient: Any) -> APIClient:
    return client_for(patient.user)


@pytest.fixture
def other_patient_api(other_patient: Any) -> APIClient:
    return client_for(other_patient.user)


@pytest.fixture
def token_api(staff_user: User) -> APIClient:
    """A client authenticating like an integration: a bearer token for a staff account."""
    _, raw = api_token_create(user=staff_user, name="CRM sync", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
