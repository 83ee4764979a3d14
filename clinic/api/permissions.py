from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from clinic.roles import is_clinic_admin, is_staff_member

if TYPE_CHECKING:  # DRF imports these modules while loading rest_framework.views
    from rest_framework.request import Request
    from rest_framework.views import APIView


def acting_user(request: Request) -> User:
    """The user behind a request that passed the view's permission checks."""
    user = request.user
    if not isinstance(user, User):  # permission classes refuse anonymous callers before this
        raise exceptions.NotAuthenticated()
    return user


class IsStaffMember(BasePermission):
    message = "Only clinic staff can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_staff_member(request.user)


class ReadAnyoneWriteClinicAdmin(BasePermission):
    """The catalogue: any logged-in user reads it, only clinic admins change it."""

    message = "Only clinic admins can change the catalogue."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_clinic_admin(request.user)


class ReadOwnWriteStaff(BasePermission):
    """Plans and sessions: patients read their own (the queryset is scoped), staff change them."""

    message = "Only clinic staff can change bookings."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or is_staff_member(request.user)
