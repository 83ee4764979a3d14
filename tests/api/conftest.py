"""API clients for each persona, by fixture and by role, plus an API-token client."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from clinic.tokens import api_token_create
from tests.api.helpers import bearer_client, client_for


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
    return bearer_client(raw)


@pytest.fixture
def clients(
    patient_api: APIClient, staff_api: APIClient, admin_api: APIClient
) -> dict[str, APIClient]:
    """The logged-in roles' clients, by role."""
    return {"patient": patient_api, "staff": staff_api, "clinic admin": admin_api}
