"""Messages to patients that are not reminders (set-password links, answers to requests): rows
with a due time, sent by the worker exactly once, the way reminders are (see ``reminders``).

Queuing a message never sends it: the row is written in the caller's transaction and, once that
commits, the worker is asked to dispatch at once (beat sweeps every minute as well, so a lost
kick only delays). Each row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and marked sent
in the same transaction as the hand-off, with an idempotency key the channel uses to drop a
repeated hand-off.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from scheduling.channels import ChannelError, channel_send, log_unexpected_failure
from scheduling.messages import patient_message_text
from scheduling.models import MessageKind, PatientMessage, ReminderStatus, SessionRequest
from scheduling.reminders import MAX_ATTEMPTS, RETRY_DELAYS, DispatchReport, reminder_channel

logger = logging.getLogger(__name__)

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
    """Send every message due at ``now``, one row per transaction (like reminders)."""
    now = now or timezone.now()
    deadline = monotonic_time.monotonic() + time_budget
    report = DispatchReport()
    while report.handled < limit and monotonic_time.monotonic() < deadline:
        outcome = patient_message_send_next_due(now=now)
        if outcome is None:
            break
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def patient_message_send_next_due(*, now: datetime) -> str | None:
    """Claim the earliest due message nobody else holds, deliver it, record the outcome."""
    with transaction.atomic():
        claimed = (
            PatientMessage.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if claimed is None:
            return None
        message = PatientMessage.objects.select_related(
            "patient__user",
            "request__session__practitioner",
            "request__session__plan__template__treatment",
        ).get(pk=claimed)
        return _deliver(message, now)


def _why_not_needed(message: PatientMessage) -> str:
    if message.kind in LINK_KINDS:
        user = message.patient.user
        if user is None or not user.is_active:
            return "the patient no longer has an active portal login"
    return ""


def _deliver(message: PatientMessage, now: datetime) -> str:
    reason = _why_not_needed(message)
    if reason:
        message.status = ReminderStatus.CANCELLED
        message.last_error = reason
        message.save(update_fields=["status", "last_error"])
        return "not_needed"
    message.attempts += 1
    message.channel = reminder_channel(message.patient) or message.channel
    try:
        channel_send(patient_message_text(message))
    except ChannelError as error:
        return _failed_attempt(message, str(error), now, permanent=error.permanent)
    except Exception as error:
        log_unexpected_failure(logger, "Message", message.pk, error)
        return _failed_attempt(message, f"unexpected error: {error!r}", now)
    message.status = ReminderStatus.SENT
    message.sent_at = timezone.now()
    message.last_error = ""
    message.save(update_fields=["attempts", "channel", "status", "sent_at", "last_error"])
    return "sent"


def _failed_attempt(
    message: PatientMessage, error: str, now: datetime, *, permanent: bool = False
) -> str:
    message.last_error = error[:2000]
    if permanent or message.attempts >= MAX_ATTEMPTS:
        message.status = ReminderStatus.FAILED
        outcome = "failed"
    else:
        message.due_at = now + RETRY_DELAYS[message.attempts - 1]
        outcome = "retried"
    message.save(update_fields=["attempts", "channel", "last_error", "status", "due_at"])
    return outcome
