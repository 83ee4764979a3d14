"""Loading the logged-in user for a request, with their roles in the same query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User

from clinic.data_version import Area
from clinic.page_cache import kept_value
from clinic.roles import ROLE_NAMES, remember_roles, with_role_names


class ModelBackendWithRoles(ModelBackend):
    """Django's model backend, except that every request's user arrives with its roles: each
    page and API call checks them, and this saves that query on every one.

    The user is kept between requests while the accounts' data version stays the same:
    deactivating someone, changing a password or a role is a committed write to those tables,
    which raises it, so the next request reads the user afresh."""

    def get_user(self, user_id: Any) -> User | None:
        user = kept_value(f"user:{user_id}", lambda: _user_with_roles(user_id), area=Area.ACCOUNTS)
        if user is None or not self.user_can_authenticate(user):
            return None
        return user


def _user_with_roles(user_id: Any) -> User | None:
    user = with_role_names(User._default_manager.filter(pk=user_id)).first()
    if user is not None:
        remember_roles(user, getattr(user, ROLE_NAMES))
    return user
