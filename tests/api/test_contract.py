"""The OpenAPI schema is the contract: the committed file must match what the code generates,
and generated requests against every operation find no server error and no response that
breaks the schema (schemathesis, bounded in examples)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic.api.throttling import WriteRateThrottle
from clinic.roles import Role
from clinic.tokens import api_token_create
from tests.factories import UserFactory

COMMITTED = Path(__file__).resolve().parents[2] / "clinic" / "api" / "openapi.yaml"


def test_the_committed_schema_is_what_the_code_generates() -> None:
    with translation.override("en"):  # as `manage.py spectacular` does
        schema = SchemaGenerator().get_schema(request=None, public=True)
        generated = OpenApiYamlRenderer().render(schema, renderer_context={}).decode()
    committed = COMMITTED.read_text()

    if generated != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                "committed",
                "generated",
                n=2,
            )
        )
        pytest.fail(f"The API changed without its contract. Run `make schema`.\n{diff[:4000]}")


# /api/schema/ needs a login; the committed file is the same contract (the test above).
api = schemathesis.openapi.from_path(COMMITTED)
api.app = get_wsgi_application()


@pytest.fixture
def bearer(db: None) -> dict[str, str]:
    """A clinic admin's token: the role that may call every operation."""
    from django.contrib.auth.models import Group

    admin = UserFactory(username="contract-admin", is_staff=True)
    admin.groups.add(Group.objects.get(name=Role.CLINIC_ADMIN.value))
    _, raw = api_token_create(user=admin, name="contract", created_by=None)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Requests through the real WSGI handler close the database connection when they finish
    (as in production); the test's transaction needs it open, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"writes": "100000/minute"})
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
@pytest.mark.usefixtures("unthrottled", "keep_test_connection")
@api.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: Any, bearer: dict[str, str]) -> None:
    case.call_and_validate(
        headers=bearer,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


@pytest.mark.django_db
def test_swagger_ui_is_served_from_our_own_static_files(client: Any, staff_user: Any) -> None:
    client.force_login(staff_user)

    page = client.get("/api/docs/")
    schema = client.get("/api/schema/")

    assert page.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    assert schema.status_code == 200
    assert b"/api/v1/plans/preview/" in schema.content
