"""How long a login lasts: staff are logged out after ``STAFF_SESSION_IDLE_MINUTES`` without a
request, and everyone after ``SESSION_ABSOLUTE_HOURS`` from logging in, whatever they do.

The facts live in the session itself (already loaded for every request), so checking them costs
no query: when the login happened, whether it is a staff login, and when the last request came.
The last request is written at most once a minute, so busy pages do not save the session each
time; the idle limit is therefore kept to within a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import ngettext

from clinic.roles import is_staff_member

LOGIN_AT = "clinic_login_at"
SEEN_AT = "clinic_seen_at"
IDLE_LIMITED = "clinic_idle_limited"
# The last request is recorded no more often than this (seconds): a session write per request
# would cost a query on every page.
SEEN_RESOLUTION = 60


def now() -> datetime:
    """The clock the limits are measured with (tests move it)."""
    return timezone.now()


def session_login_record(*, request: HttpRequest, user: Any) -> None:
    """Note in the session when the login happened and whether the idle limit applies."""
    moment = int(now().timestamp())
    request.session[LOGIN_AT] = moment
    request.session[SEEN_AT] = moment
    request.session[IDLE_LIMITED] = bool(user.is_staff or is_staff_member(user))


def session_expiry_reason(session: Any, moment: datetime) -> str | None:
    """Why a logged-in session has ended, in words for the person, or None if it goes on."""
    seconds = int(moment.timestamp())
    absolute = settings.SESSION_ABSOLUTE_HOURS * 3600
    if seconds - session.get(LOGIN_AT, seconds) >= absolute:
        hours = settings.SESSION_ABSOLUTE_HOURS
        return ngettext(
            "You have been logged out: a login lasts at most %(hours)d hour. Please log in again.",
            "You have been logged out: a login lasts at most %(hours)d hours. Please log in again.",
            hours,
        ) % {"hours": hours}
    idle = settings.STAFF_SESSION_IDLE_MINUTES * 60
    if session.get(IDLE_LIMITED) and seconds - session.get(SEEN_AT, seconds) >= idle:
        minutes = settings.STAFF_SESSION_IDLE_MINUTES
        return ngettext(
            "You have been logged out after %(minutes)d minute without activity. "
            "Please log in again.",
            "You have been logged out after %(minutes)d minutes without activity. "
            "Please log in again.",
            minutes,
        ) % {"minutes": minutes}
    return None


def _expired_response(request: HttpRequest, reason: str) -> HttpResponse | None:
    """Where a request goes once its login has ended: the API goes on as anonymous (and answers
    401 where a login is needed), pages go to the login page with the reason."""
    if request.path.startswith("/api/"):
        return None
    messages.warning(request, reason)
    response = redirect_to_login(request.get_full_path())
    if request.headers.get("HX-Request") == "true":
        # htmx would swap the login page into a fragment; it loads the whole page instead.
        redirected = HttpResponse(status=204)
        redirected["HX-Redirect"] = response["Location"]
        return redirected
    return response


class SessionExpiryMiddleware:
    """Ends logins past their limits (after AuthenticationMiddleware and MessageMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if "_auth_user_id" in session:
            moment = now()
            if LOGIN_AT not in session:
                # A login from before these limits existed: its limits start now.
                session_login_record(request=request, user=request.user)
            reason = session_expiry_reason(session, moment)
            if reason is not None:
                logout(request)
                response = _expired_response(request, reason)
                if response is not None:
                    return response
            elif int(moment.timestamp()) - session.get(SEEN_AT, 0) >= SEEN_RESOLUTION:
                session[SEEN_AT] = int(moment.timestamp())
        return self.get_response(request)
