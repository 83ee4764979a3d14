"""Errors the scheduling services raise besides Django's ValidationError (bad input).

Both mean "nothing was changed". The API answers them with 409; pages show the message. Messages
are written in the active language when the error is raised.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from scheduling.explain import explain_no_fit
from scheduling.planner import NoFit


class SessionNotFound(ObjectDoesNotExist):
    """The session a change was asked for does not exist: the API answers 404 (its views leave
    the lookup to the service, which locks the session by its key anyway)."""


class SchedulingConflictError(Exception):
    code = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BookingConflictError(SchedulingConflictError):
    """The practitioner or room is already booked for (part of) the requested time."""

    code = "booking_conflict"


class ProtocolViolationError(SchedulingConflictError):
    """The request cannot be met without breaking the protocol's interval rules."""

    code = "protocol_violation"

    def __init__(self, no_fit: NoFit) -> None:
        super().__init__(explain_no_fit(no_fit))
        self.no_fit = no_fit
