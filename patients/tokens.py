"""Set-password links for the patient portal: single-use and short-lived.

Django's password-reset tokens: a token hashes the user's password and last login, so it stops
working once the password is set (or the patient logs in), and it expires after
``PASSWORD_RESET_TIMEOUT`` (``PASSWORD_LINK_HOURS``). Links are made when the message is sent,
so none is ever stored.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


class PortalLinkTokenGenerator(PasswordResetTokenGenerator):
    # Its own salt: a token made for the portal is good for nothing else, and the reverse.
    key_salt = "patients.tokens.PortalLinkTokenGenerator"


portal_link_tokens = PortalLinkTokenGenerator()


def link_hours() -> int:
    return settings.PASSWORD_RESET_TIMEOUT // 3600


def password_link(user: User) -> str:
    """An absolute, short link (it goes into text messages) to choose a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("password-set", args=[uid, portal_link_tokens.make_token(user)])
    return f"{settings.SITE_URL}{path}"
