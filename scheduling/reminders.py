"""Reminders are rows with a due time, created when sessions are booked and sent by the worker.

Exactly once: the unique keys (session, kind, revision) and (plan, kind, maintenance cycle) stop a
reminder being created twice; the dispatcher claims each due row with ``SELECT ... FOR UPDATE
SKIP LOCKED`` and marks it sent in the same transaction as the hand-off, so two dispatchers never
send the same row. If a worker dies between hand-off and commit the row stays pending and is
handed off again with the same idempotency key, which the channel uses to drop the repeat.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from patients.models import Patient, ReminderChannel
from scheduling.channels import ChannelError, channel_send, log_unexpected_failure
from scheduling.messages import reminder_message
from scheduling.models import (
    PlanStatus,
    Reminder,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    Session,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import local_datetime, local_day
from scheduling.selectors import clinic_tz

logger = logging.getLogger(__name__)

SESSION_KINDS = (ReminderKind.SESSION_EARLY, ReminderKind.SESSION_LATE, ReminderKind.AFTERCARE)
MAINTENANCE_KINDS = (ReminderKind.MAINTENANCE_EARLY, ReminderKind.MAINTENANCE_DUE)
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def reminder_due_at(anchor: datetime, *, lead_minutes: int, local_time: time | None) -> datetime:
    """``anchor - lead``, moved to ``local_time`` on that local day when the rule has one."""
    moment = anchor - timedelta(minutes=lead_minutes)
    if local_time is None:
        return moment
    tz = clinic_tz()
    return local_datetime(local_day(moment, tz), local_time, tz)


def reminder_channel(patient: Patient) -> str | None:
    """The patient's chosen channel, or the other one when the chosen contact is missing."""
    contacts = {ReminderChannel.EMAIL: patient.email, ReminderChannel.SMS: patient.phone}
    preferred = ReminderChannel(patient.reminder_channel)
    for channel in (preferred, *(c for c in contacts if c != preferred)):
        if contacts[channel]:
            return channel
    return None


def _enabled_rules(kinds: Iterable[str]) -> list[ReminderRule]:
    return list(ReminderRule.objects.filter(kind__in=list(kinds), is_enabled=True))


def reminders_create_for_sessions(
    *, plan: TreatmentPlan, sessions: Iterable[Session], now: datetime | None = None
) -> int:
    """Session reminders and aftercare for the sessions' current revision. Reminders that would
    already be due (a late booking) are left out. Idempotent."""
    now = now or timezone.now()
    channel = reminder_channel(plan.patient)
    if channel is None:
        return 0
    rules = _enabled_rules(SESSION_KINDS)
    reminders = []
    for session in sessions:
        for rule in rules:
            due = reminder_due_at(
                session.starts_at, lead_minutes=rule.lead_minutes, local_time=rule.local_time
            )
            if rule.kind == ReminderKind.AFTERCARE:
                due = max(due, session.ends_at)  # never before the session is over
            if due <= now:
                continue
            reminders.append(
                Reminder(
                    plan=plan,
                    session=session,
                    kind=rule.kind,
                    cycle=session.revision,
                    channel=channel,
                    due_at=due,
                )
            )
    Reminder.objects.bulk_create(reminders, ignore_conflicts=True)
    return len(reminders)


def reminders_create_for_maintenance(*, plan: TreatmentPlan, now: datetime | None = None) -> int:
    """ "Maintenance coming up" and "maintenance due" for the plan's current cycle. Idempotent."""
    now = now or timezone.now()
    channel = reminder_channel(plan.patient)
    if channel is None or plan.maintenance_due_on is None:
        return 0
    anchor = local_datetime(plan.maintenance_due_on, time(0), clinic_tz())
    reminders = [
        Reminder(
            plan=plan,
            kind=rule.kind,
            cycle=plan.maintenance_cycle,
            channel=channel,
            due_at=reminder_due_at(
                anchor, lead_minutes=rule.lead_minutes, local_time=rule.local_time
            ),
        )
        for rule in _enabled_rules(MAINTENANCE_KINDS)
    ]
    reminders = [r for r in reminders if r.due_at > now]
    Reminder.objects.bulk_create(reminders, ignore_conflicts=True)
    return len(reminders)


def reminders_cancel_pending(
    *,
    reason: str,
    session: Session | None = None,
    plan: TreatmentPlan | None = None,
    kinds: Iterable[str] | None = None,
) -> int:
    # Aftercare for a session that took place always goes out, whatever happens to the course.
    pending = Reminder.objects.filter(status=ReminderStatus.PENDING).exclude(
        kind=ReminderKind.AFTERCARE, session__status=SessionStatus.COMPLETED
    )
    if session is not None:
        pending = pending.filter(session=session)
    if plan is not None:
        pending = pending.filter(plan=plan)
    if kinds is not None:
        pending = pending.filter(kind__in=list(kinds))
    return pending.update(status=ReminderStatus.CANCELLED, last_error=reason)


def reminders_rearm_maintenance(*, plan: TreatmentPlan, now: datetime | None = None) -> int:
    """Bring back the current cycle's maintenance reminders that a booking had made unneeded
    (the booked maintenance session was cancelled or missed); past ones stay cancelled."""
    now = now or timezone.now()
    return Reminder.objects.filter(
        plan=plan,
        session__isnull=True,
        cycle=plan.maintenance_cycle,
        kind__in=MAINTENANCE_KINDS,
        status=ReminderStatus.CANCELLED,
        due_at__gt=now,
    ).update(status=ReminderStatus.PENDING, last_error="")


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    not_needed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.not_needed


def reminders_dispatch_due(
    *, now: datetime | None = None, time_budget: float = 45.0, limit: int = 5000
) -> DispatchReport:
    """Send every reminder due at ``now``, one row per transaction, until none are left, the
    time budget is spent (the next beat run continues), or ``limit`` rows were handled."""
    now = now or timezone.now()
    deadline = monotonic_time.monotonic() + time_budget
    report = DispatchReport()
    while report.handled < limit and monotonic_time.monotonic() < deadline:
        outcome = reminder_send_next_due(now=now)
        if outcome is None:
            break
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def reminder_send_next_due(*, now: datetime) -> str | None:
    """Claim the earliest due reminder nobody else holds, deliver it, record the outcome.

    Returns the outcome (``sent``, ``retried``, ``failed``, ``not_needed``) or None when no
    reminder is due.
    """
    with transaction.atomic():
        # Claim the bare row first: a lock query without joins plans and runs in well under a
        # millisecond even with a million reminders; the rest is read once it is ours.
        claimed = (
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if claimed is None:
            return None
        reminder = Reminder.objects.select_related(
            "plan__patient",
            "plan__practitioner",
            "plan__template__treatment",
            "session__practitioner",
        ).get(pk=claimed)
        return _deliver(reminder, now)


def _why_not_needed(reminder: Reminder, now: datetime) -> str:
    """Empty when the reminder should still go out; otherwise why it should not."""
    session, plan = reminder.session, reminder.plan
    if session is not None:
        if reminder.kind != ReminderKind.AFTERCARE and session.starts_at <= now:
            return "the session had already started when the reminder could be sent"
        if session.revision != reminder.cycle:
            return "the session was moved; a reminder for the new time replaces this one"
        wanted = (
            {SessionStatus.PLANNED, SessionStatus.COMPLETED}
            if reminder.kind == ReminderKind.AFTERCARE
            else {SessionStatus.PLANNED}
        )
        if session.status not in wanted:
            return f"the session is {session.get_status_display().lower()}"
        return ""
    if plan.status != PlanStatus.MAINTENANCE or plan.maintenance_cycle != reminder.cycle:
        return "the plan is no longer waiting for this maintenance session"
    return ""


def _deliver(reminder: Reminder, now: datetime) -> str:
    reason = _why_not_needed(reminder, now)
    if reason:
        reminder.status = ReminderStatus.CANCELLED
        reminder.last_error = reason
        reminder.save(update_fields=["status", "last_error"])
        return "not_needed"
    reminder.attempts += 1
    # The patient's current choice of channel, in case it changed since the reminder was made.
    reminder.channel = reminder_channel(reminder.plan.patient) or reminder.channel
    try:
        channel_send(reminder_message(reminder))
    except ChannelError as error:
        return _failed_attempt(reminder, str(error), now, permanent=error.permanent)
    except Exception as error:
        # Anything else (a malformed address, a broken gateway library) must not stop the
        # reminders queued behind this one: record it and move on.
        log_unexpected_failure(logger, "Reminder", reminder.pk, error)
        return _failed_attempt(reminder, f"unexpected error: {error!r}", now)
    reminder.status = ReminderStatus.SENT
    reminder.sent_at = timezone.now()
    reminder.last_error = ""
    reminder.save(update_fields=["attempts", "channel", "status", "sent_at", "last_error"])
    return "sent"


def _failed_attempt(
    reminder: Reminder, error: str, now: datetime, *, permanent: bool = False
) -> str:
    reminder.last_error = error[:2000]
    if permanent or reminder.attempts >= MAX_ATTEMPTS:
        reminder.status = ReminderStatus.FAILED
        outcome = "failed"
    else:
        # Retry later by moving the due time: the retry is data, not a far-future task. Counted
        # from the run's clock, so a retried reminder is never picked again in the same run.
        reminder.due_at = now + RETRY_DELAYS[reminder.attempts - 1]
        outcome = "retried"
    reminder.save(update_fields=["attempts", "channel", "last_error", "status", "due_at"])
    return outcome


# --- Staff retrying a failed reminder -----------------------------------------------------


@dataclass(frozen=True)
class RetryOutcome:
    reminder: Reminder
    retried: bool
    message: str


def reminder_retry(
    *, reminder: Reminder, retried_by: User, now: datetime | None = None
) -> RetryOutcome:
    """Put a failed reminder back in the queue, due now: the dispatcher sends it within a
    minute. That is one more attempt; if the channel is still down the reminder is failed again
    with the new error, and staff can retry again.

    Idempotent: a reminder that is not failed (sent, waiting, retried already, not needed) is
    left as it is and the outcome says so. A failed reminder nobody needs any more (its session
    was moved, cancelled or has started) is refused with the reason and left as it is.
    """
    now = now or timezone.now()
    current = Reminder.objects.select_related("plan", "session").get(pk=reminder.pk)
    if current.status != ReminderStatus.FAILED:
        return _not_retried(current)
    reason = _why_not_needed(current, now)
    if reason:
        raise ValidationError(
            {
                "reminder": ValidationError(
                    gettext("This reminder is no longer needed (%(reason)s): it is not sent again.")
                    % {"reason": reason},
                    code="not_needed",
                )
            }
        )
    # The conditional update is the guard: of two staff retrying at once, one changes the row.
    changed = Reminder.objects.filter(pk=current.pk, status=ReminderStatus.FAILED).update(
        status=ReminderStatus.PENDING, due_at=now, retried_at=now, retried_by=retried_by
    )
    current.refresh_from_db()
    if not changed:
        return _not_retried(current)
    return RetryOutcome(
        current, True, gettext("The reminder is queued again and goes out within a minute.")
    )


def _not_retried(reminder: Reminder) -> RetryOutcome:
    return RetryOutcome(
        reminder,
        False,
        gettext("This reminder is %(status)s, not failed: nothing was changed.")
        % {"status": reminder.get_status_display().lower()},
    )
