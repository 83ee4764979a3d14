"""Who the API lets in, how it says no, and how it slows down a client that writes too much.

Every error, whatever the endpoint, comes as ``{"errors": [{"field", "code", "message"}]}``; the
helpers in tests/api/helpers.py check that shape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.api.throttling import WriteRateThrottle
from clinic.auth_backend import ModelBackendWithRoles
from clinic.models import ApiToken
from clinic.roles import Role, user_roles
from clinic.tokens import api_token_create, api_token_revoke, api_token_user
from patients.models import Patient
from tests import factories
from tests.api.helpers import API, assert_errors, assert_not_logged_in, bearer_client

pytestmark = pytest.mark.django_db


# --- Bearer tokens ----------------------------------------------------------------------------


def test_a_bearer_token_for_a_staff_member_reads_and_writes_as_that_staff_member(
    token_api: APIClient, staff_user: User
) -> None:
    listed = token_api.get(f"{API}/patients/")
    created = token_api.post(
        f"{API}/patients/",
        {"family_name": "Token", "given_name": "Made", "date_of_birth": "1988-02-03"},
    )

    assert listed.status_code == 200
    assert created.status_code == 201, created.content
    patient = Patient.objects.get(pk=created.json()["id"])
    assert patient.history.get().history_user == staff_user


def test_a_bearer_token_carries_its_users_role(patient: Any) -> None:
    _, raw = api_token_create(user=patient.user, name="Portal app", created_by=None)

    response = bearer_client(raw).get(f"{API}/patients/")

    assert_errors(response, 403, (None, "permission_denied"))


def test_a_bearer_token_brings_its_user_and_roles_in_one_query(
    staff_user: User, django_assert_num_queries: Any
) -> None:
    _, raw = api_token_create(user=staff_user, name="CRM sync", created_by=None)
    api_token_user(raw)  # the token's last use is recorded once a minute

    with django_assert_num_queries(1):
        user = api_token_user(raw)
        roles = user_roles(user)

    assert roles == {Role.STAFF}


def test_a_session_login_brings_the_user_and_roles_in_one_query(
    staff_user: User, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        user = ModelBackendWithRoles().get_user(staff_user.pk)
        roles = user_roles(user)

    assert roles == {Role.STAFF}


@pytest.fixture
def staff_token(staff_user: User) -> tuple[ApiToken, str]:
    return api_token_create(user=staff_user, name="CRM sync", created_by=None)


def _unknown(token: ApiToken, raw: str) -> str:
    return raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")


def _revoked(token: ApiToken, raw: str) -> str:
    api_token_revoke(token=token)
    return raw


def _inactive_user(token: ApiToken, raw: str) -> str:
    User.objects.filter(pk=token.user_id).update(is_active=False)
    return raw


BAD_TOKENS = [
    pytest.param(_unknown, id="unknown"),
    pytest.param(_revoked, id="revoked"),
    pytest.param(_inactive_user, id="user-deactivated"),
]


@pytest.mark.parametrize("spoil", BAD_TOKENS)
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/patients/"), ("post", "/patients/"), ("get", "/treatments/")],
)
def test_a_bad_bearer_token_is_refused_and_changes_nothing(
    staff_token: tuple[ApiToken, str], spoil: Any, method: str, path: str
) -> None:
    raw = spoil(*staff_token)
    body = {"family_name": "Never", "given_name": "Saved", "date_of_birth": "1990-01-01"}

    response = getattr(bearer_client(raw), method)(f"{API}{path}", body)

    assert response.status_code == 401
    items = assert_errors(response, response.status_code, (None, "authentication_failed"))
    assert items[0]["message"] == "The token is unknown or has been revoked."
    assert not Patient.objects.exists()


def test_a_bad_bearer_token_is_answered_401_with_a_bearer_challenge(staff_user: User) -> None:
    answers = {}
    for spoil in (_unknown, _revoked, _inactive_user):
        token, raw = api_token_create(user=staff_user, name=spoil.__name__, created_by=None)
        response = bearer_client(spoil(token, raw)).get(f"{API}/patients/")
        answers[spoil.__name__] = (response.status_code, response.headers.get("WWW-Authenticate"))

    assert answers == dict.fromkeys(answers, (401, "Bearer"))


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer two parts", "Bearer  "],
    ids=["no-token", "spaces-in-token", "blank-token"],
)
def test_a_malformed_bearer_header_is_refused_with_a_message_saying_how_to_send_it(
    header: str,
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(f"{API}/treatments/")

    assert response.status_code == 401
    items = assert_errors(response, response.status_code, (None, "authentication_failed"))
    assert "after 'Bearer'" in items[0]["message"]


def test_another_authorization_scheme_is_ignored_and_the_caller_is_anonymous() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    assert_not_logged_in(client.get(f"{API}/treatments/"))


def test_the_token_is_stored_hashed_and_its_raw_value_is_in_no_database_column(
    staff_token: tuple[ApiToken, str],
) -> None:
    token, raw = staff_token
    bearer_client(raw).get(f"{API}/treatments/")  # using it writes last_used_at

    token.refresh_from_db()
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:8]
    leaks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            leaks += [table for row in cursor.fetchall() if any(raw in str(v) for v in row)]
    assert leaks == []


def test_using_a_token_records_when_it_was_last_used_at_most_once_a_minute(
    staff_token: tuple[ApiToken, str],
) -> None:
    token, raw = staff_token
    client = bearer_client(raw)
    assert token.last_used_at is None

    client.get(f"{API}/treatments/")
    token.refresh_from_db()
    first_use = token.last_used_at
    client.get(f"{API}/treatments/")
    token.refresh_from_db()

    assert first_use is not None
    assert timezone.now() - first_use < timedelta(minutes=1)
    assert token.last_used_at == first_use  # no write on every request

    with time_machine.travel(first_use + timedelta(minutes=2), tick=False):
        client.get(f"{API}/treatments/")
    token.refresh_from_db()
    assert token.last_used_at == first_use + timedelta(minutes=2)


def test_a_session_login_and_a_token_reach_the_api_alike(
    staff_user: User, staff_token: tuple[ApiToken, str]
) -> None:
    session = APIClient()
    session.force_login(staff_user)

    by_session = session.get(f"{API}/patients/")
    by_token = bearer_client(staff_token[1]).get(f"{API}/patients/")

    assert by_session.status_code == by_token.status_code == 200
    assert by_session.json() == by_token.json()


def test_a_session_login_must_send_the_csrf_token_to_write(staff_user: User) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(staff_user)

    response = browser.post(
        f"{API}/patients/",
        {"family_name": "Csrf", "given_name": "Less", "date_of_birth": "1990-01-01"},
    )

    assert_errors(response, 403, (None, "permission_denied"))
    assert "CSRF" in response.json()["errors"][0]["message"]
    assert not Patient.objects.exists()


# --- Anonymous callers ------------------------------------------------------------------------

MY_ENDPOINTS = [
    "/treatments/",
    "/treatments/rejuran-healer/",
    "/concerns/",
    "/concerns/acne-scars/",
    "/patients/",
    "/patients/1/",
    "/me/schedule/",
    "/suggestions/?patient=1",
]


@pytest.mark.parametrize("path", MY_ENDPOINTS)
def test_an_anonymous_request_is_refused_as_not_logged_in(
    anonymous_api: APIClient, path: str
) -> None:
    assert_not_logged_in(anonymous_api.get(f"{API}{path}"))


def test_an_anonymous_request_is_answered_401_with_a_bearer_challenge(
    anonymous_api: APIClient,
) -> None:
    answers = {}
    for path in MY_ENDPOINTS:
        response = anonymous_api.get(f"{API}{path}")
        answers[path] = (response.status_code, response.headers.get("WWW-Authenticate"))

    assert answers == dict.fromkeys(MY_ENDPOINTS, (401, "Bearer"))


# --- Errors everywhere come in one shape --------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/patients/999999/", 404, "not_found"),
        ("get", "/patients/not-a-number/", 404, "not_found"),
        ("get", "/patients/?page=99", 404, "not_found"),
        ("get", "/treatments/no-such-treatment/", 404, "not_found"),
        ("get", "/concerns/no-such-concern/", 404, "not_found"),
        ("delete", "/patients/1/", 405, "method_not_allowed"),
        ("post", "/concerns/", 405, "method_not_allowed"),
        ("post", "/suggestions/", 405, "method_not_allowed"),
    ],
)
def test_errors_come_in_the_documented_shape(
    admin_api: APIClient, method: str, path: str, status: int, code: str
) -> None:
    response = getattr(admin_api, method)(f"{API}{path}")

    assert_errors(response, status, (None, code))


def test_a_body_that_is_not_json_is_a_400_in_the_error_shape(staff_api: APIClient) -> None:
    response = staff_api.generic(
        "POST", f"{API}/patients/", "{not json", content_type="application/json"
    )

    assert_errors(response, 400, (None, "parse_error"))


def test_an_unsupported_media_type_is_a_415_in_the_error_shape(staff_api: APIClient) -> None:
    response = staff_api.generic(
        "POST", f"{API}/patients/", "family_name=Kim", content_type="text/plain"
    )

    assert_errors(response, 415, (None, "unsupported_media_type"))


# --- Throttling -------------------------------------------------------------------------------

WRITES_PER_MINUTE = 3


@pytest.fixture
def low_write_rate(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    """DRF reads the rates once, into the class attribute: patch both, and start from zero."""
    rates = {"writes": f"{WRITES_PER_MINUTE}/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def new_patient(n: int) -> dict[str, str]:
    return {"family_name": f"Throttle{n}", "given_name": "Test", "date_of_birth": "1990-01-01"}


def test_a_user_writing_too_often_is_throttled_with_429_and_nothing_saved(
    low_write_rate: None, staff_api: APIClient
) -> None:
    allowed = [staff_api.post(f"{API}/patients/", new_patient(n)) for n in range(WRITES_PER_MINUTE)]

    refused = staff_api.post(f"{API}/patients/", new_patient(99))

    assert [r.status_code for r in allowed] == [201] * WRITES_PER_MINUTE
    items = assert_errors(refused, 429, (None, "throttled"))
    assert "throttled" in items[0]["message"].lower()
    assert int(refused.headers["Retry-After"]) > 0
    assert Patient.objects.count() == WRITES_PER_MINUTE
    assert not Patient.objects.filter(family_name="Throttle99").exists()


def test_every_kind_of_write_counts_towards_the_limit(
    low_write_rate: None, admin_api: APIClient
) -> None:
    patient = factories.PatientFactory(user=None)
    writes = [
        admin_api.post(f"{API}/patients/", new_patient(1)),
        admin_api.patch(f"{API}/patients/{patient.pk}/", {"notes": "called back"}),
        admin_api.patch(f"{API}/treatments/prp/", {"session_minutes": 55}),
    ]

    refused = admin_api.patch(f"{API}/treatments/prp/", {"session_minutes": 50})

    assert [r.status_code for r in writes] == [201, 200, 200]
    assert_errors(refused, 429, (None, "throttled"))


def test_reads_are_never_throttled(low_write_rate: None, staff_api: APIClient) -> None:
    for n in range(WRITES_PER_MINUTE):
        staff_api.post(f"{API}/patients/", new_patient(n))
    assert_errors(staff_api.post(f"{API}/patients/", new_patient(99)), 429, (None, "throttled"))

    reads = [staff_api.get(f"{API}/patients/") for _ in range(WRITES_PER_MINUTE * 4)]

    assert {r.status_code for r in reads} == {200}


def test_one_users_throttling_does_not_affect_another_user(
    low_write_rate: None, staff_api: APIClient, admin_api: APIClient
) -> None:
    for n in range(WRITES_PER_MINUTE):
        staff_api.post(f"{API}/patients/", new_patient(n))
    assert_errors(staff_api.post(f"{API}/patients/", new_patient(99)), 429, (None, "throttled"))

    other = admin_api.post(f"{API}/patients/", new_patient(100))

    assert other.status_code == 201


def test_the_limit_is_per_user_whether_by_session_or_token(
    low_write_rate: None, staff_api: APIClient, token_api: APIClient
) -> None:
    for n in range(WRITES_PER_MINUTE):
        staff_api.post(f"{API}/patients/", new_patient(n))

    by_token = token_api.post(f"{API}/patients/", new_patient(99))

    assert_errors(by_token, 429, (None, "throttled"))


# --- Tokens in the admin ----------------------------------------------------------------------


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "correct-horse-battery")


def create_token_in_admin(browser: Client, user: User) -> tuple[Any, ApiToken]:
    response = browser.post(
        reverse("admin:clinic_apitoken_add"), {"user": user.pk, "name": "CRM sync"}, follow=True
    )
    return response, ApiToken.objects.get(name="CRM sync")


def raw_token_from(response: Any) -> str:
    messages = [str(m) for m in response.context["messages"]]
    shown = [m for m in messages if m.startswith("Token for CRM sync: ")]
    assert len(shown) == 1, messages
    return shown[0].removeprefix("Token for CRM sync: ").split(" ")[0]


def test_the_admin_shows_a_new_token_once_and_never_again(
    client: Client, superuser: User, staff_user: User
) -> None:
    client.force_login(superuser)

    created, token = create_token_in_admin(client, staff_user)
    raw = raw_token_from(created)
    changelist = client.get(reverse("admin:clinic_apitoken_changelist"))
    change = client.get(reverse("admin:clinic_apitoken_change", args=[token.pk]))

    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.created_by == superuser
    assert "copy it now, it will not be shown again" in created.content.decode()
    assert raw in created.content.decode()
    for page in (changelist, change):
        assert page.status_code == 200
        assert raw not in page.content.decode()
        assert token.prefix in page.content.decode()
    assert bearer_client(raw).get(f"{API}/patients/").status_code == 200


def test_the_admin_offers_no_way_to_delete_a_token(
    client: Client, superuser: User, staff_token: tuple[ApiToken, str]
) -> None:
    token, _ = staff_token
    client.force_login(superuser)

    changelist = client.get(reverse("admin:clinic_apitoken_changelist"))
    delete = client.get(reverse("admin:clinic_apitoken_delete", args=[token.pk]))

    actions = [value for value, _ in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert "revoke" in actions
    assert delete.status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_revoke_action_revokes_the_selected_tokens_and_they_stop_working(
    client: Client, superuser: User, staff_user: User, staff_token: tuple[ApiToken, str]
) -> None:
    token, raw = staff_token
    kept, kept_raw = api_token_create(user=staff_user, name="Kept", created_by=None)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:clinic_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )

    token.refresh_from_db()
    kept.refresh_from_db()
    assert token.revoked_at is not None
    assert kept.revoked_at is None
    assert "Revoked 1 token(s)." in response.content.decode()
    assert bearer_client(raw).get(f"{API}/patients/").status_code == 401
    assert bearer_client(kept_raw).get(f"{API}/patients/").status_code == 200


def test_a_clinic_admin_creates_a_token_in_the_admin(
    client: Client, clinic_admin: User, staff_user: User
) -> None:
    client.force_login(clinic_admin)

    assert client.get(reverse("admin:clinic_apitoken_add")).status_code == 200
    created, token = create_token_in_admin(client, staff_user)

    assert token.created_by == clinic_admin
    assert (
        raw_token_from(created)
        not in client.get(reverse("admin:clinic_apitoken_changelist")).content.decode()
    )


def test_a_clinic_admin_revokes_a_token_in_the_admin(
    client: Client, clinic_admin: User, staff_token: tuple[ApiToken, str]
) -> None:
    token, _ = staff_token
    client.force_login(clinic_admin)

    client.post(
        reverse("admin:clinic_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_staff_cannot_reach_the_token_admin(
    client: Client, staff_user: User, staff_token: tuple[ApiToken, str]
) -> None:
    client.force_login(staff_user)

    assert client.get(reverse("admin:clinic_apitoken_add")).status_code == 403
    assert client.get(reverse("admin:clinic_apitoken_changelist")).status_code == 403
