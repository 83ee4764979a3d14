"""Switching a login off or changing its password ends its sessions and revokes its tokens."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic.accounts import user_access_end, user_deactivate, user_password_set
from clinic.tokens import api_token_create
from patients.tokens import password_link


def logged_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(form: Any) -> dict[str, Any]:
    """What the browser would send back for an admin form, unchanged."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if hasattr(field.widget, "widgets"):  # date and time in two inputs
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        elif value is not None:
            data[name] = value
    return data


def admin_change(admin: Client, user: User, **changes: Any) -> Any:
    url = f"/admin/auth/user/{user.pk}/change/"
    data = form_data(admin.get(url).context["adminform"].form)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return admin.post(url, data)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("owner", "owner@example.com", "correct-horse-battery")


@pytest.fixture
def staff_token(staff_user: User) -> str:
    return api_token_create(user=staff_user, name="CRM sync", created_by=None)[1]


def api_answers(token: str) -> int:
    return Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_deactivating_in_the_admin_ends_sessions_and_tokens(superuser, staff_user, staff_token):
    browser, phone = logged_in_client(staff_user), logged_in_client(staff_user)
    assert api_answers(staff_token) == 200
    response = admin_change(logged_in_client(superuser), staff_user, is_active=None)
    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert not staff_user.is_active
    for client in (browser, phone):
        assert client.get("/staff/").status_code == 302
        assert "_auth_user_id" not in client.session
    assert api_answers(staff_token) == 401


def test_an_unrelated_admin_edit_ends_nothing(superuser, staff_user, staff_token):
    browser = logged_in_client(staff_user)
    admin_change(logged_in_client(superuser), staff_user, first_name="Sora")
    assert browser.get("/staff/").status_code == 200
    assert api_answers(staff_token) == 200


def test_a_password_changed_in_the_admin_ends_sessions_and_tokens(
    superuser, staff_user, staff_token
):
    browser = logged_in_client(staff_user)
    admin = logged_in_client(superuser)
    response = admin.post(
        f"/admin/auth/user/{staff_user.pk}/password/",
        {
            "password1": "a-new-long-passphrase",
            "password2": "a-new-long-passphrase",
            "set_usable_password": "true",
        },
    )
    assert response.status_code == 302
    assert browser.get("/staff/").status_code == 302
    assert api_answers(staff_token) == 401
    # The admin who made the change is still logged in.
    assert admin.get("/admin/").status_code == 200


def test_changing_ones_own_password_in_the_admin_keeps_only_this_session(superuser):
    here, elsewhere = logged_in_client(superuser), logged_in_client(superuser)
    here.post(
        f"/admin/auth/user/{superuser.pk}/password/",
        {
            "password1": "a-new-long-passphrase",
            "password2": "a-new-long-passphrase",
            "set_usable_password": "true",
        },
    )
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302


def test_a_rejected_password_change_ends_nothing(superuser, staff_user, staff_token):
    browser = logged_in_client(staff_user)
    response = logged_in_client(superuser).post(
        f"/admin/auth/user/{staff_user.pk}/password/",
        {
            "password1": "a-new-long-passphrase",
            "password2": "different",
            "set_usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert browser.get("/staff/").status_code == 200
    assert api_answers(staff_token) == 200


def test_a_password_chosen_from_a_link_ends_the_patients_other_sessions(patient):
    token = api_token_create(user=patient.user, name="old phone app", created_by=None)[1]
    old_phone = logged_in_client(patient.user)
    new_phone = Client()
    link = password_link(patient.user).split("/", 3)[3]
    form_page = new_phone.get(f"/{link}", follow=True)
    response = new_phone.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"},
    )
    assert response.status_code == 302
    assert new_phone.get("/my/").status_code == 200  # logged in with the new password
    assert old_phone.get("/my/").status_code == 302
    assert api_answers(token) == 401


def test_the_services_end_only_that_users_access(staff_user, patient, staff_token):
    other = logged_in_client(patient.user)
    theirs = logged_in_client(staff_user)
    user_access_end(user=staff_user)
    assert theirs.get("/staff/").status_code == 302
    assert other.get("/my/").status_code == 200
    assert api_answers(staff_token) == 401


def test_user_deactivate_and_password_set(staff_user, staff_token):
    browser = logged_in_client(staff_user)
    user_password_set(user=staff_user, password="a-new-long-passphrase")
    assert browser.get("/staff/").status_code == 302
    assert api_answers(staff_token) == 401
    browser = logged_in_client(staff_user)
    user_deactivate(user=staff_user)
    assert browser.get("/staff/").status_code == 302
