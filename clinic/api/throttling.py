from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import UserRateThrottle

if TYPE_CHECKING:  # DRF imports these modules while loading rest_framework.views
    from rest_framework.request import Request
    from rest_framework.views import APIView


class WriteRateThrottle(UserRateThrottle):
    """Per-user limit on changes (bookings, edits); reads are not limited."""

    scope = "writes"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
