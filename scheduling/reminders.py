"""Reminders are rows with a due time, created when sessions are booked and sent by the worker.

Once: the unique keys (session, kind, revision) and (plan, kind, maintenance cycle) stop a
reminder being created twice; the dispatcher claims each due row with ``SELECT ... FOR UPDATE
SKIP LOCKED`` and commits the start of its hand-off before calling the channel, so two
dispatchers never send the same row. If a worker dies mid-hand-off the reminder is sent again
with the same idempotency key (which channels that honour it use to drop the repeat) and marked
possibly repeated, for staff to see (``handoff``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from clinic.combined_writes import Insert, Update
from clinic.data_version import Area
from clinic.page_cache import kept_value
from patients.models import Patient, ReminderChannel
from scheduling.handoff import (  # the retry policy is the hand-off's, named here too
    MAX_ATTEMPTS as MAX_ATTEMPTS,
)
from scheduling.handoff import (
    RETRY_DELAYS as RETRY_DELAYS,
)
from scheduling.handoff import (
    DispatchReport,
    Queue,
    dispatch_due,
    send_next_due,
)
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

SESSION_KINDS = (ReminderKind.SESSION_EARLY, ReminderKind.SESSION_LATE, ReminderKind.AFTERCARE)
MAINTENANCE_KINDS = (ReminderKind.MAINTENANCE_EARLY, ReminderKind.MAINTENANCE_DUE)


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
    """The enabled rules of these kinds (1 query; none while the rules are unchanged)."""
    wanted = sorted(kinds)
    return kept_value(
        f"reminder-rules:{','.join(wanted)}",
        lambda: list(ReminderRule.objects.filter(kind__in=wanted, is_enabled=True)),
        area=Area.REMINDER_RULES,
    )


def reminders_create_for_sessions(
    *, plan: TreatmentPlan, sessions: Iterable[Session], now: datetime | None = None
) -> int:
    """Session reminders and aftercare for the sessions' current revision. Reminders that would
    already be due (a late booking) are left out. Idempotent."""
    reminders = _session_reminders(plan, sessions, now=now or timezone.now())
    Reminder.objects.bulk_create(reminders, ignore_conflicts=True)
    return len(reminders)


def _session_reminders(
    plan: TreatmentPlan, sessions: Iterable[Session], *, now: datetime
) -> list[Reminder]:
    channel = reminder_channel(plan.patient)
    if channel is None:
        return []
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
    return reminders


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


def reminders_replaced_for_moved(
    *,
    plan: TreatmentPlan,
    sessions: Sequence[Session],
    maintenance_booked: bool,
    now: datetime | None = None,
) -> tuple[Update, Insert]:
    """The writes that cancel the pending reminders of sessions that moved and, when a
    maintenance session is on the books, the course's "time to book" reminders; then write the
    moved sessions' reminders for their new times (as ``reminders_create_for_sessions``). For
    the caller to send with its own change (``write_as_one``): the cancelled rows are of
    earlier revisions, the new ones of the current, so the two never touch the same row."""
    return (
        Update(_moved_pending(plan, sessions, maintenance_booked), _CANCELLED_AS_MOVED),
        Insert(
            _session_reminders(plan, sessions, now=now or timezone.now()), ignore_conflicts=True
        ),
    )


def _moved_pending(
    plan: TreatmentPlan, sessions: Iterable[Session], maintenance_booked: bool
) -> QuerySet[Reminder]:
    which = Q(session_id__in=[s.pk for s in sessions])
    if maintenance_booked:
        which |= Q(plan_id=plan.pk, kind__in=MAINTENANCE_KINDS)
    return Reminder.objects.filter(which, status=ReminderStatus.PENDING)


# A session that moves has not taken place, so none of its aftercare is kept back (as
# reminders_cancel_pending does for completed sessions), and the statement needs no join.
_CANCELLED_AS_MOVED = {
    "status": ReminderStatus.CANCELLED,
    "last_error": Case(
        When(kind__in=MAINTENANCE_KINDS, then=Value("maintenance booked")),
        default=Value("session moved"),
    ),
}


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


def reminders_dispatch_due(
    *, now: datetime | None = None, time_budget: float = 45.0, limit: int = 5000
) -> DispatchReport:
    """Send every reminder due at ``now``, one row per claim, until none are left, the time
    budget is spent (the next beat run continues), or ``limit`` rows were handled. A reminder
    whose hand-off was cut short (a worker killed mid-send) is sent again, see ``handoff``."""
    return dispatch_due(REMINDERS, now=now or timezone.now(), time_budget=time_budget, limit=limit)


def reminder_send_next_due(*, now: datetime) -> str | None:
    """Claim the earliest due reminder nobody else holds, deliver it, record the outcome.

    Returns the outcome (``sent``, ``retried``, ``failed``, ``not_needed``) or None when no
    reminder is due.
    """
    handled = send_next_due(REMINDERS, now=now)
    return None if handled is None else handled.outcome


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


def _reminder_channel(reminder: Reminder) -> str | None:
    return reminder_channel(reminder.plan.patient)


REMINDERS = Queue(
    model=Reminder,
    name="Reminder",
    related=(
        "plan__patient",
        "plan__practitioner",
        "plan__template__treatment",
        "session__practitioner",
    ),
    why_not_needed=_why_not_needed,
    channel=_reminder_channel,
    render=reminder_message,
)


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
