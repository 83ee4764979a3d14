"""Every API error in one shape: ``{"errors": [{"field", "code", "message"}]}``.

400 invalid input (one item per field message), 401/403 authentication and permission, 404 for
what the caller may not see, 409 for a booking conflict or a protocol that cannot be kept (with
the planner's structured reason under ``reason``), 413 for a body over the size limit
(``DATA_UPLOAD_MAX_MEMORY_SIZE``), 429 when throttled.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from scheduling.errors import ProtocolViolationError, SchedulingConflictError, SessionNotFound
from scheduling.explain import explain_obstacle
from scheduling.planner import NoFit
from scheduling.selectors import clinic_tz


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request is too large.")
    default_code = "too_large"


def local(moment: datetime) -> datetime:
    return moment.astimezone(clinic_tz())


def no_fit_reason(no_fit: NoFit) -> dict[str, Any]:
    return {
        "sequence": no_fit.sequence,
        "window_first_day": no_fit.window_first_day.isoformat(),
        "window_last_day": no_fit.window_last_day.isoformat(),
        "preferred_at": local(no_fit.preferred_at).isoformat(),
        "closed_days": [
            {"day": day.isoformat(), "reason": reason} for day, reason in no_fit.closed_days
        ],
        "busy": [
            {"starts_at": local(b.start).isoformat(), "ends_at": local(b.end).isoformat()}
            for b in no_fit.busy
        ],
        "days_without_hours": [day.isoformat() for day in no_fit.days_without_hours],
        "detail": explain_obstacle(no_fit),
        "cause": None if no_fit.cause is None else str(no_fit.cause),
        "days_not_working": [day.isoformat() for day in no_fit.days_not_working],
        "leave": [
            {
                "starts_at": local(i.start).isoformat(),
                "ends_at": local(i.end).isoformat(),
                "reason": i.label,
            }
            for i in no_fit.leave
        ],
        "patient_busy": [
            {"starts_at": local(b.start).isoformat(), "ends_at": local(b.end).isoformat()}
            for b in no_fit.patient_busy
        ],
        "previous_sequence": no_fit.previous_sequence,
    }


def _flatten(details: Any, field: str | None = None) -> list[dict[str, Any]]:
    if isinstance(details, dict) and "message" in details and "code" in details:
        return [{"field": field, "code": details["code"], "message": str(details["message"])}]
    if isinstance(details, dict):
        items = []
        for key, value in details.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdecimal()):
                items += _flatten(value, f"{field}[{key}]")  # a position in a list
                continue
            name = None if key in (api_settings.NON_FIELD_ERRORS_KEY, "detail") else str(key)
            items += _flatten(value, f"{field}.{name}" if field and name else (name or field))
        return items
    if isinstance(details, list):
        nested = any(isinstance(item, dict) and "message" not in item for item in details)
        items = []
        for index, item in enumerate(details):
            path = f"{field}[{index}]" if nested and field else field
            items += _flatten(item, path)
        return items
    return [{"field": field, "code": "invalid", "message": str(details)}]


@contextmanager
def request_field_names(**names: str) -> Iterator[None]:
    """Report a service's field errors under the names the request used (``template`` is
    ``protocol`` in the API, for instance)."""
    try:
        yield
    except DjangoValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        raise DjangoValidationError(
            {names.get(field, field): errors for field, errors in error.error_dict.items()}
        ) from None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SchedulingConflictError):
        error: dict[str, Any] = {"field": None, "code": exc.code, "message": exc.message}
        if isinstance(exc, ProtocolViolationError):
            error["reason"] = no_fit_reason(exc.no_fit)
        return Response({"errors": [error]}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, Http404 | SessionNotFound):
        # Only the object the caller asked for is "not found"; any other failed lookup is a bug
        # and goes on to be a logged 500.
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = {"errors": _flatten(exc.get_full_details())}
    return response
