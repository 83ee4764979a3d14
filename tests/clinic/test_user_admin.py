"""A clinic admin manages users and their roles, but cannot make anyone more than a clinic admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from clinic.roles import Role
from tests.clinic.test_accounts import admin_change, form_data


@pytest.fixture
def admin_client(clinic_admin: User) -> Client:
    client = Client()
    client.force_login(clinic_admin)
    return client


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("owner", "owner@example.com", "correct-horse-battery")


def test_a_clinic_admin_cannot_make_themselves_superuser(admin_client, clinic_admin):
    any_permission = Permission.objects.get(codename="delete_group")
    response = admin_change(
        admin_client,
        clinic_admin,
        is_superuser="on",
        user_permissions=[str(any_permission.pk)],
        first_name="Mina",
    )
    assert response.status_code == 302  # the rest of the change is saved
    clinic_admin.refresh_from_db()
    assert clinic_admin.first_name == "Mina"
    assert not clinic_admin.is_superuser
    assert not clinic_admin.user_permissions.exists()


def test_the_superuser_and_permission_fields_are_not_offered(admin_client, clinic_admin):
    page = admin_client.get(f"/admin/auth/user/{clinic_admin.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="user_permissions"' not in page
    assert 'name="groups"' in page


def test_a_clinic_admin_gives_roles(admin_client, staff_user):
    admin_role = Group.objects.get(name=Role.CLINIC_ADMIN.value)
    groups = [str(admin_role.pk), *form_data_groups(admin_client, staff_user)]
    assert admin_change(admin_client, staff_user, groups=groups).status_code == 302
    assert staff_user.groups.filter(pk=admin_role.pk).exists()


def form_data_groups(client: Client, user: User) -> list[str]:
    form = client.get(f"/admin/auth/user/{user.pk}/change/").context["adminform"].form
    return form_data(form).get("groups", [])


def test_only_the_role_groups_can_be_given(admin_client, staff_user):
    powerful = Group.objects.create(name="Everything")
    powerful.permissions.set(Permission.objects.all())
    response = admin_change(admin_client, staff_user, groups=[str(powerful.pk)])
    assert response.status_code == 200
    assert "not one of the available choices" in response.content.decode()
    assert not staff_user.groups.filter(pk=powerful.pk).exists()


def test_admin_site_access_follows_the_role(admin_client, patient):
    response = admin_change(admin_client, patient.user, is_staff="on")
    assert response.status_code == 200
    assert "Only the Staff and Clinic admin roles use the admin site" in response.content.decode()
    patient.user.refresh_from_db()
    assert not patient.user.is_staff


def test_a_clinic_admin_cannot_edit_a_superuser(admin_client, superuser):
    url = f"/admin/auth/user/{superuser.pk}/change/"
    response = admin_client.post(url, {"username": "owner", "is_active": ""})
    assert response.status_code == 403
    password = admin_client.post(
        f"/admin/auth/user/{superuser.pk}/password/",
        {"password1": "hijacked-passphrase", "password2": "hijacked-passphrase"},
    )
    assert password.status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_active
    assert superuser.check_password("correct-horse-battery")
    assert admin_client.post(f"/admin/auth/user/{superuser.pk}/delete/").status_code == 403


def test_a_clinic_admin_cannot_change_what_a_role_may_do(admin_client):
    staff_role = Group.objects.get(name=Role.STAFF.value)
    before = set(staff_role.permissions.values_list("pk", flat=True))
    response = admin_client.post(
        f"/admin/auth/group/{staff_role.pk}/change/",
        {"name": staff_role.name, "permissions": [str(p.pk) for p in Permission.objects.all()]},
    )
    assert response.status_code == 403
    assert set(staff_role.permissions.values_list("pk", flat=True)) == before
    assert admin_client.post("/admin/auth/group/add/", {"name": "Mine"}).status_code == 403


def test_a_superuser_still_manages_everything(superuser, clinic_admin):
    client = Client()
    client.force_login(superuser)
    response = admin_change(client, clinic_admin, is_superuser="on")
    assert response.status_code == 302
    clinic_admin.refresh_from_db()
    assert clinic_admin.is_superuser


def test_a_clinic_admin_cannot_mint_a_token_for_a_superuser(admin_client, superuser):
    response = admin_client.post(
        "/admin/clinic/apitoken/add/", {"user": str(superuser.pk), "name": "backdoor"}
    )

    assert response.status_code == 200  # the form again, with the error
    assert "user" in response.context["adminform"].form.errors
    assert not superuser.api_tokens.exists()


def test_a_clinic_admin_mints_a_token_for_staff(admin_client, staff_user):
    response = admin_client.post(
        "/admin/clinic/apitoken/add/", {"user": str(staff_user.pk), "name": "lab system"}
    )

    assert response.status_code == 302
    assert staff_user.api_tokens.filter(name="lab system").exists()
