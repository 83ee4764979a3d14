"""Messages to patients that are not reminders (set-password links, answers to requests): rows
with a due time, sent by the worker exactly once, the way reminders are (see ``reminders``).

Queuing a message never sends it: the row is written in the caller's transaction and, once that
commits, the worker is asked to dispatch at once (beat sweeps every minute as well, so a lost
kick only delays). Each row is handed off like a reminder (``handoff``): claimed with ``SELECT ...
FOR UPDATE SKIP LOCKED``, the start of its hand-off committed first, and sent again, marked
possibly repeated, if a worker died mid-hand-off; always with the same idempotency key.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from scheduling.handoff import DispatchReport, Queue, dispatch_due, send_next_due
from scheduling.messages import patient_message_text
from scheduling.models import MessageKind, PatientMessage, SessionRequest
from scheduling.reminders import reminder_channel

LINK_KINDS = (MessageKind.PORTAL_INVITE, MessageKind.PASSWORD_RESET)


def _kick_dispatch() -> None:
    from scheduling.tasks import dispatch_patient_messages  # the task module imports this one

    dispatch_patient_messages.delay()


def patient_message_queue(
    *,
    patient: Patient,
    kind: str,
    request: SessionRequest | None = None,
    now: datetime | None = None,
) -> PatientMessage | None:
    """Queue a message, due now, by the patient's channel; None when the patient has neither an
    email nor a phone on file. The answer to a request is queued once, however often asked."""
    now = now or timezone.now()
    channel = reminder_channel(patient)
    if channel is None:
        return None
    if kind == MessageKind.REQUEST_ANSWERED:
        message, _ = PatientMessage.objects.get_or_create(
            kind=kind,
            request=request,
            defaults={"patient": patient, "channel": channel, "due_at": now},
        )
    else:
        message = PatientMessage.objects.create(
            patient=patient, kind=kind, request=request, channel=channel, due_at=now
        )
    transaction.on_commit(_kick_dispatch)
    return message


def patient_messages_dispatch_due(
    *, now: datetime | None = None, time_budget: float = 45.0, limit: int = 1000
) -> DispatchReport:
    """Send every message due at ``now``, one row per claim (like reminders, see ``handoff``)."""
    return dispatch_due(
        PATIENT_MESSAGES, now=now or timezone.now(), time_budget=time_budget, limit=limit
    )


def patient_message_send_next_due(*, now: datetime) -> str | None:
    """Claim the earliest due message nobody else holds, deliver it, record the outcome."""
    handled = send_next_due(PATIENT_MESSAGES, now=now)
    return None if handled is None else handled.outcome


def _why_not_needed(message: PatientMessage, now: datetime) -> str:
    if message.kind in LINK_KINDS:
        user = message.patient.user
        if user is None or not user.is_active:
            return "the patient no longer has an active portal login"
    return ""


def _message_channel(message: PatientMessage) -> str | None:
    return reminder_channel(message.patient)


PATIENT_MESSAGES = Queue(
    model=PatientMessage,
    name="Message",
    related=(
        "patient__user",
        "request__session__practitioner",
        "request__session__plan__template__treatment",
    ),
    why_not_needed=_why_not_needed,
    channel=_message_channel,
    render=patient_message_text,
)
