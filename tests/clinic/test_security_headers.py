"""Every page and API answer carries the headers that keep patients' data in the clinic: a
strict Content-Security-Policy (the Django admin and the API docs included), a
Permissions-Policy that turns off the camera, microphone, location and payments, and
``Cache-Control: no-store`` on anything a logged-in user sees and on every API answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from treatments.models import Treatment

pytestmark = pytest.mark.django_db


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.fixture
def admin_pages() -> list[str]:
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    return [
        "/admin/",
        "/admin/treatments/treatment/",
        f"/admin/treatments/treatment/{rejuran.pk}/change/",
        f"/admin/treatments/treatment/{rejuran.pk}/history/",
        "/admin/patients/patient/add/",
    ]


def test_admin_and_api_docs_run_under_the_strict_policy(
    clinic_admin: User, admin_pages: list[str]
) -> None:
    client = _logged_in(clinic_admin)

    for path in [*admin_pages, "/api/docs/", "/staff/", "/"]:
        response = client.get(path, follow=True)

        assert response.status_code == 200, path
        policy = _directives(response.headers["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert "<style" not in response.text, path
        assert "<script>" not in response.text, path
        assert " style=" not in response.text, path


def test_the_api_docs_page_takes_its_styles_from_a_file(staff_user: User) -> None:
    response = _logged_in(staff_user).get("/api/docs/")

    assert "/static/css/swagger.css" in response.text
    assert "?script=" in response.text  # its start-up script is a file too


@pytest.mark.parametrize(
    "path", ["/login/", "/healthz", "/api/v1/treatments/", "/no-such-page/", "/staff/"]
)
def test_every_answer_switches_off_camera_microphone_location_and_payment(path: str) -> None:
    response = Client().get(path)

    features = dict(
        item.strip().split("=", 1) for item in response.headers["Permissions-Policy"].split(",")
    )
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert features[feature] == "()", (path, feature)


def _never_stored(response: Any) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_pages_a_logged_in_user_sees_are_never_stored(
    staff_user: User, patient: Any, clinic_admin: User
) -> None:
    staff, portal, admin = (
        _logged_in(staff_user),
        _logged_in(patient.user),
        _logged_in(clinic_admin),
    )

    assert _never_stored(staff.get("/staff/patients/"))
    assert _never_stored(staff.get(f"/staff/patients/{patient.pk}/"))
    assert _never_stored(portal.get("/my/"))
    assert _never_stored(admin.get("/admin/patients/patient/"))
    assert _never_stored(staff.get("/api/docs/"))


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_every_api_answer_is_never_stored(who: str, staff_user: User) -> None:
    client = Client() if who == "anonymous" else _logged_in(staff_user)

    assert _never_stored(client.get("/api/v1/patients/"))
    assert _never_stored(client.get("/api/v1/no-such-thing/"))


def test_static_files_keep_their_cache_lifetime(staff_user: User, settings: Any) -> None:
    settings.WHITENOISE_USE_FINDERS = True  # serve from the source folders, as in development
    settings.WHITENOISE_AUTOREFRESH = True
    response = _logged_in(staff_user).get("/static/css/app.css")

    assert response.status_code == 200
    assert not _never_stored(response)
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_api_docs_and_schema_are_for_logged_in_users_only(patient: Any) -> None:
    anonymous = Client()

    docs = anonymous.get("/api/docs/")
    schema = anonymous.get("/api/schema/")

    assert docs.status_code == 302
    assert docs.headers["Location"].startswith("/login/?next=/api/docs/")
    assert schema.status_code == 401
    assert "not_authenticated" in schema.text  # the API's error shape, in the schema's format
    assert _logged_in(patient.user).get("/api/schema/").status_code == 200
