"""Refusals to a logged-in user are security events: someone may be probing for other
patients' rows (another patient's session answers 404 in the portal and the API, a page of
another audience 403).

Each one is a ``clinic.security`` log line with the user's id, the method, the path and the
status, and nothing else: no query string (a search can hold a name or a phone number), no
patient data, no body. Anonymous refusals are left to the login and lockout machinery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("clinic.security")

# Lookups scoped to the user answer 404 for rows that are not theirs; elsewhere a 404 is a typo.
_SCOPED_PREFIXES = ("/my/", "/api/")


def _is_denied(request: HttpRequest, status: int) -> bool:
    if status == 403:
        return True
    return status == 404 and request.path.startswith(_SCOPED_PREFIXES)


class DeniedAccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)  # DRF sets it here once it has authenticated
        if user is not None and user.is_authenticated and _is_denied(request, response.status_code):
            logger.warning(
                "access denied: user=%s status=%s method=%s path=%s",
                user.pk,
                response.status_code,
                request.method,
                request.path,
            )
        return response
