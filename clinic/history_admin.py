"""The admin's History pages show what changed; they never change anything.

simple-history's version page saves a posted form (a "revert") after checking only that the
user may *view* history: on a read-only admin (courses, sessions) that would edit a row the
services alone may change, and on the users' admin it would let a clinic admin edit a
superuser. Every change goes through the change page and its rules instead.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin


class HistoryAdmin(SimpleHistoryAdmin):
    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
