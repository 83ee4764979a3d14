"""Helpers for the API tests: the URL prefix, the roles and their clients, how the API writes a
local time, and the error shape.

Every error, whatever the endpoint, comes as ``{"errors": [{"field", "code", "message"}]}``; a
protocol that cannot be kept (code ``protocol_violation``) carries the planner's structured
``reason`` as well, and no other error does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

API = "/api/v1"

# Each role and the fixture of its API client (see conftest.py).
CLIENTS = {
    "anonymous": "anonymous_api",
    "patient": "patient_api",
    "staff": "staff_api",
    "clinic admin": "admin_api",
}
ROLES = ["patient", "staff", "clinic admin"]  # the logged-in ones
NOT_LOGGED_IN = "not logged in"
ERROR_CODES = {401: "not_authenticated", 403: "permission_denied", 405: "method_not_allowed"}


def at(day: date, hour: int, minute: int = 0) -> str:
    """How the API writes a local wall-clock time: ISO 8601 with Seoul's offset."""
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00+09:00"


def client_for(user: User | None) -> APIClient:
    """A client logged in as ``user`` (anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def bearer_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def access_cases(
    table: Iterable[tuple[str, str, Any, Mapping[str, int]]],
) -> list[Any]:
    """Parameters (role, method, path, body, status) for every role and every row of an access
    table ``(method, path, body, {role: status})``; a role the row leaves out is refused as not
    logged in."""
    return [
        pytest.param(
            role,
            method,
            path,
            body,
            expected.get(role, NOT_LOGGED_IN),
            id=f"{role}-{method}-{path}",
        )
        for method, path, body, expected in table
        for role in CLIENTS
    ]


# --- The error shape -------------------------------------------------------------------------


def error_items(response: Any) -> list[dict[str, Any]]:
    """The response's errors, after checking the body is exactly the documented shape."""
    body = response.json()
    assert isinstance(body, dict), body
    assert list(body) == ["errors"], body
    assert isinstance(body["errors"], list), body
    assert body["errors"], body
    for item in body["errors"]:
        extra = ["reason"] if item.get("code") == "protocol_violation" else []
        assert sorted(item) == sorted(["code", "field", "message", *extra]), item
        assert item["field"] is None or isinstance(item["field"], str), item
        assert isinstance(item["code"], str), item
        assert item["code"], item
        assert isinstance(item["message"], str), item
        assert item["message"], item
    return body["errors"]


def the_errors(response: Any, status: int) -> list[dict[str, Any]]:
    """The errors of a refused request with this status, in the documented shape."""
    assert response.status_code == status, response.content
    return error_items(response)


def the_error(response: Any, status: int) -> dict[str, Any]:
    """The single error of a refused request with this status, in the documented shape."""
    errors = the_errors(response, status)
    assert len(errors) == 1, errors
    return errors[0]


def assert_errors(
    response: Any, status: int, *expected: tuple[str | None, str]
) -> list[dict[str, Any]]:
    """The response has this status and exactly these (field, code) errors, in any order."""
    items = the_errors(response, status)

    def key(pair: tuple[str | None, str]) -> tuple[str, str]:
        return (pair[0] or "", pair[1])

    got = sorted(((item["field"], item["code"]) for item in items), key=key)
    assert got == sorted(expected, key=key), items
    return items


def assert_not_logged_in(response: Any) -> None:
    """Refused for lack of a login: 401, as the contract says (see
    test_an_anonymous_request_is_answered_401_with_a_bearer_challenge)."""
    assert response.status_code == 401, response.content
    assert_errors(response, response.status_code, (None, "not_authenticated"))
