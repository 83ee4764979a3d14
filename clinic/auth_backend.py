"""Loading the logged-in user for a request, with their roles in the same query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User

from clinic.roles import ROLE_NAMES, remember_roles, with_role_names


class ModelBackendWithRoles(ModelBackend):
    """Django's model backend, except that every request's user arrives with its roles: each
    page and API call checks them, and this saves that query on every one."""

    def get_user(self, user_id: Any) -> User | None:
        user = with_role_names(User._default_manager.filter(pk=user_id)).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_roles(user, getattr(user, ROLE_NAMES))
        return user
