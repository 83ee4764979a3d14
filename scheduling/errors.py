"""Errors the scheduling services raise besides Django's ValidationError (bad input).

Both mean "nothing was changed". The API answers them with 409; pages show the message.
"""

from __future__ import annotations

from scheduling.planner import NoFit


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
        super().__init__(no_fit.message)
        self.no_fit = no_fit
