"""Password guessing is stopped by django-axes on every login form (staff, patients, the admin).

Axes counts failed logins per account and, separately, per client address: enough failures on
either locks it, so an attacker can neither spread guesses at one account over many addresses
nor try many accounts from one address. The address is the one ``clinic.clients`` vouches for,
so a forged ``X-Forwarded-For`` cannot dodge the lock. This module is what axes calls back.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from clinic.clients import client_address


def lockout_client_address(request: HttpRequest) -> str | None:
    """The address axes counts failures for (``AXES_CLIENT_IP_CALLABLE``)."""
    return client_address(request)


def lockout_message() -> str:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return ngettext(
        "Too many failed logins. Logging in to this account, and from this device, is locked "
        "for %(minutes)d minute. Try again later, or ask the clinic to unlock it.",
        "Too many failed logins. Logging in to this account, and from this device, is locked "
        "for %(minutes)d minutes. Try again later, or ask the clinic to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """The answer to a login while locked out (``AXES_LOCKOUT_CALLABLE``): 429, as a page, or in
    the API's error shape for API and JSON clients."""
    message = lockout_message()
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {"errors": [{"field": None, "code": "locked_out", "message": message}]}, status=429
        )
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler, except that a successful login clears only that account's
    failures: clearing the address's too would let someone with a login of their own reset
    the count between rounds of guessing at other accounts."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check before any password is looked at. Every login form passes the request; a
    check without one (a shell, a script) has no client to count and is left to the next
    backend instead of failing."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, **kwargs)
