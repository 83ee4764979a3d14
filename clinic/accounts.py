"""Ending a user's access: when a login is switched off or its password changes, every browser
session it has ends and every API token it holds is revoked, at once.

Django already refuses a session whose password hash no longer matches, but only when that
session is next used; deleting the sessions and revoking the tokens leaves nothing behind that a
stolen cookie or token could still use.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import ApiToken
from clinic.roles import Role

SESSION_USER_KEY = "_auth_user_id"


def user_sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """Delete the user's live sessions (except ``keep_session_key``, the session of the person
    making the change when they change their own password). Returns how many ended.

    Sessions are stored encoded, so the live ones are read and decoded: fine for a clinic's few
    hundred logins."""
    live = Session.objects.filter(expire_date__gt=timezone.now())
    if keep_session_key:
        live = live.exclude(session_key=keep_session_key)
    theirs = [
        session.session_key
        for session in live.iterator()
        if session.get_decoded().get(SESSION_USER_KEY) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=theirs).delete()
    return len(theirs)


def user_tokens_revoke(*, user: User) -> int:
    """Revoke the user's API tokens that are still active. Returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def user_access_end(*, user: User, keep_session_key: str | None = None) -> None:
    """Every session (but the one kept) and every API token of the user stop working."""
    user_tokens_revoke(user=user)
    user_sessions_end(user=user, keep_session_key=keep_session_key)


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])
    user_access_end(user=user)
    return user


@transaction.atomic
def user_password_set(*, user: User, password: str, keep_session_key: str | None = None) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    user_access_end(user=user, keep_session_key=keep_session_key)
    return user


# The roles whose work is in the Django admin; nobody else gets to open it.
ADMIN_SITE_ROLES = frozenset({Role.STAFF.value, Role.CLINIC_ADMIN.value})


def user_admin_site_check(*, is_staff: bool, groups: Iterable[Group]) -> None:
    """Access to the admin site ("staff status") follows the role: a clinic admin cannot give it
    to a patient or to a login without a role."""
    if is_staff and not {group.name for group in groups} & ADMIN_SITE_ROLES:
        raise ValidationError(
            {
                "is_staff": _(
                    "Only the Staff and Clinic admin roles use the admin site: give the user "
                    "one of those roles, or untick staff status."
                )
            }
        )
