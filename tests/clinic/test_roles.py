"""Roles are groups with exactly the permissions each needs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from clinic.roles import Role, roles_sync

pytestmark = pytest.mark.django_db


def permission_codes(role: Role) -> set[str]:
    group = Group.objects.get(name=role.value)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_clinic_admins_edit_the_catalogue_and_users() -> None:
    codes = permission_codes(Role.CLINIC_ADMIN)

    assert {
        "treatments.change_treatment",
        "treatments.add_protocoltemplate",
        "treatments.delete_indication",
        "scheduling.change_openinghours",
        "scheduling.change_reminderrule",
        "auth.add_user",
    } <= codes


def test_staff_work_with_patients_but_not_the_catalogue() -> None:
    codes = permission_codes(Role.STAFF)

    assert {
        "patients.add_patient",
        "patients.change_medicalflag",
        "scheduling.view_session",
    } <= codes
    assert not any(code.startswith("treatments.") for code in codes)
    assert "auth.add_user" not in codes


def test_patients_have_no_model_permissions() -> None:
    assert permission_codes(Role.PATIENT) == set()


def test_syncing_restores_permissions_an_admin_removed_by_mistake() -> None:
    staff = Group.objects.get(name=Role.STAFF.value)
    staff.permissions.clear()

    assert roles_sync() == []  # groups exist already
    assert "patients.add_patient" in permission_codes(Role.STAFF)
