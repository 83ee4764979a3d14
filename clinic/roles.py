"""The three roles as auth groups, with exactly the permissions each needs.

Clinic admins edit everything in the admin; staff work with patients and see schedules; patients
have no model permissions at all (the portal scopes their queries to their own rows).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q, QuerySet, StringAgg, Value


class Role(StrEnum):
    CLINIC_ADMIN = "Clinic admin"
    STAFF = "Staff"
    PATIENT = "Patient"


_DOMAIN_APPS = ("treatments", "patients", "scheduling")

_STAFF_PERMISSIONS = [
    *(
        f"patients.{action}_{model}"
        for model in ("patient", "patientconcern", "medicalflag", "consent")
        for action in ("add", "change", "view")
    ),
    *(
        f"scheduling.view_{model}"
        for model in (
            "practitioner",
            "workinghours",
            "leave",
            "room",
            "openinghours",
            "closure",
            "treatmentplan",
            "session",
            "reminder",
        )
    ),
]


def _permissions(codes: list[str]) -> list[Permission]:
    query = Q()
    for code in codes:
        app_label, codename = code.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query))
    if len(found) != len(codes):
        missing = set(codes) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
        raise LookupError(f"Permissions not found (run migrate first): {sorted(missing)}")
    return found


def _clinic_admin_permissions() -> list[Permission]:
    domain = Permission.objects.filter(content_type__app_label__in=_DOMAIN_APPS).exclude(
        content_type__model__startswith="historical"
    )
    accounts = _permissions(
        [
            "auth.add_user",
            "auth.change_user",
            "auth.view_user",
            "auth.delete_user",
            "auth.view_group",
            "clinic.add_apitoken",
            "clinic.change_apitoken",
            "clinic.view_apitoken",
            # Unlocking a login locked after failed passwords (clinic/lockout.py).
            "axes.view_accessattempt",
            "axes.delete_accessattempt",
        ]
    )
    return [*domain, *accounts]


@transaction.atomic
def roles_sync() -> list[str]:
    """Create the role groups and give each exactly its permissions. Idempotent."""
    wanted = {
        Role.CLINIC_ADMIN: _clinic_admin_permissions(),
        Role.STAFF: _permissions(_STAFF_PERMISSIONS),
        Role.PATIENT: [],
    }
    created = []
    for role, permissions in wanted.items():
        group, was_created = Group.objects.get_or_create(name=role.value)
        if was_created:
            created.append(f"role {role.value}")
        group.permissions.set(permissions)
    return created


ROLE_NAMES = "clinic_role_names"  # the annotation :func:`with_role_names` adds
_SEPARATOR = "\x1f"  # group names are free text: a comma may be in one


def with_role_names(users: QuerySet[Any], *, path: str = "") -> QuerySet[Any]:
    """Add the user's group names to each row (``path`` leads from the rows to the user, e.g.
    ``"user__"``), so the roles come with the user in one query, as every request loads it."""
    return users.annotate(
        **{ROLE_NAMES: StringAgg(f"{path}groups__name", Value(_SEPARATOR), default=Value(""))}
    )


def remember_roles(user: object, names: str) -> None:
    """Keep the roles read by :func:`with_role_names` on the user for the request."""
    user._clinic_roles = _roles_of(user, set(filter(None, names.split(_SEPARATOR))))  # type: ignore[attr-defined]


def _roles_of(user: object, names: set[str]) -> frozenset[Role]:
    roles = {role for role in Role if role.value in names}
    if user.is_superuser:  # type: ignore[attr-defined]
        roles.add(Role.CLINIC_ADMIN)
    return frozenset(roles)


def user_roles(user: object) -> frozenset[Role]:
    """The user's roles: read with the user when it was loaded for the request, else one query
    (then kept on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached: frozenset[Role] | None = getattr(user, "_clinic_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        cached = _roles_of(user, names)
        user._clinic_roles = cached  # type: ignore[attr-defined]
    return cached


def is_staff_member(user: object) -> bool:
    return bool(user_roles(user) & {Role.CLINIC_ADMIN, Role.STAFF})


def is_clinic_admin(user: object) -> bool:
    return Role.CLINIC_ADMIN in user_roles(user)


def is_patient(user: object) -> bool:
    """A patient of the clinic with a portal login (and not also staff, who never use it)."""
    return Role.PATIENT in user_roles(user) and not is_staff_member(user)
