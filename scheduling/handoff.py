"""Handing reminders and messages to the channel: never lost, repeats visible.

Both queues (``Reminder`` and ``PatientMessage``) are rows with a due time, sent one per claim:

1. In a short transaction the earliest due row nobody else holds is claimed (``SELECT ... FOR
   UPDATE SKIP LOCKED``) and ``handoff_started_at`` is written and committed *before* the channel
   is called. Another dispatcher skips a row whose hand-off is under way.
2. The channel is called outside any transaction (a slow mail server holds no row lock).
3. The outcome (sent, retry later, failed) is recorded with a conditional update on that
   hand-off's start time, clearing it.

A worker killed between 1 and 3 leaves ``handoff_started_at`` set on a pending row: the hand-off
is *uncertain* (the patient may or may not have the message). Once the lease has passed (longer
than any hand-off can take), the dispatcher sends it again, with the same idempotency key, and
marks it ``possibly_repeated``: a late reminder is worse than a repeated one, and staff see
how many went out possibly twice.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scheduling.channels import ChannelError, channel_send, log_unexpected_failure
from scheduling.messages import OutgoingMessage
from scheduling.models import PatientMessage, Reminder, ReminderStatus

logger = logging.getLogger(__name__)

RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    not_needed: int = 0
    # Of the above, hand-offs sent again after an earlier one was cut short.
    repeated: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.not_needed


@dataclass(frozen=True)
class Handled:
    outcome: str  # sent, retried, failed, not_needed
    repeated: bool


@dataclass(frozen=True)
class Queue[Row: (Reminder, PatientMessage)]:
    """What differs between reminders and other messages: the rest is the same hand-off."""

    model: type[Row]
    name: str  # for logs: "Reminder", "Message"
    related: tuple[str, ...]  # what rendering needs, read with the claimed row
    why_not_needed: Callable[[Row, datetime], str]  # empty when it should still go out
    channel: Callable[[Row], str | None]  # the patient's current channel
    render: Callable[[Row], OutgoingMessage]


def handoff_lease() -> timedelta:
    return timedelta(seconds=settings.MESSAGE_HANDOFF_LEASE_SECONDS)


def dispatch_due[Row: (Reminder, PatientMessage)](
    queue: Queue[Row], *, now: datetime, time_budget: float, limit: int
) -> DispatchReport:
    """Send every row due at ``now``, one per claim, until none are left, the time budget is
    spent (the next beat run continues), or ``limit`` rows were handled."""
    deadline = monotonic_time.monotonic() + time_budget
    report = DispatchReport()
    while report.handled < limit and monotonic_time.monotonic() < deadline:
        handled = send_next_due(queue, now=now)
        if handled is None:
            break
        setattr(report, handled.outcome, getattr(report, handled.outcome) + 1)
        report.repeated += handled.repeated
    return report


def send_next_due[Row: (Reminder, PatientMessage)](
    queue: Queue[Row], *, now: datetime
) -> Handled | None:
    """Claim the earliest due row nobody else holds, hand it off, record the outcome. None when
    nothing is due."""
    claimed = _claim(queue, now)
    if claimed is None or isinstance(claimed, Handled):
        return claimed
    row, repeated = claimed
    try:
        channel_send(queue.render(row))
    except ChannelError as error:
        outcome = _record_failure(queue, row, str(error), now, permanent=error.permanent)
    except Exception as error:
        # Anything else (a malformed address, a broken gateway library) must not stop the rows
        # queued behind this one: record it and move on.
        log_unexpected_failure(logger, queue.name, row.pk, error)
        outcome = _record_failure(queue, row, f"unexpected error: {error!r}", now)
    else:
        outcome = _record_sent(queue, row)
    return Handled(outcome, repeated)


def _claim[Row: (Reminder, PatientMessage)](
    queue: Queue[Row], now: datetime
) -> tuple[Row, bool] | Handled | None:
    """Claim a due row and commit the start of its hand-off. Returns the row and whether an
    earlier hand-off of it was cut short, or the outcome when it is no longer needed."""
    with transaction.atomic():
        # The bare row first: a lock query without joins stays fast with a million rows. A row
        # whose hand-off started within the lease is still being handed off by someone else.
        claimed = (
            queue.model.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, due_at__lte=now)
            .filter(
                Q(handoff_started_at__isnull=True)
                | Q(handoff_started_at__lte=now - handoff_lease())
            )
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if claimed is None:
            return None
        row = queue.model.objects.select_related(*queue.related).get(pk=claimed)
        repeated = row.handoff_started_at is not None
        reason = queue.why_not_needed(row, now)
        if reason:
            row.status = ReminderStatus.CANCELLED
            row.last_error = reason
            row.handoff_started_at = None
            row.save(update_fields=["status", "last_error", "handoff_started_at"])
            return Handled("not_needed", repeated=False)
        if repeated:
            logger.warning(
                "%s %s: an earlier hand-off was cut short; sending it again", queue.name, row.pk
            )
        row.attempts += 1
        # The patient's current choice of channel, in case it changed since the row was made.
        row.channel = queue.channel(row) or row.channel
        # The run's clock, like the claim's lease test, so concurrent runs agree.
        row.handoff_started_at = now
        row.possibly_repeated = row.possibly_repeated or repeated
        row.save(update_fields=["attempts", "channel", "handoff_started_at", "possibly_repeated"])
    return row, repeated


def _this_handoff[Row: (Reminder, PatientMessage)](queue: Queue[Row], row: Row) -> Q:
    """Only the hand-off we started: if it outlived its lease and another dispatcher took the
    row over, that dispatcher records the outcome."""
    return Q(pk=row.pk, handoff_started_at=row.handoff_started_at)


def _record_sent[Row: (Reminder, PatientMessage)](queue: Queue[Row], row: Row) -> str:
    changed = queue.model.objects.filter(_this_handoff(queue, row)).update(
        status=ReminderStatus.SENT, sent_at=timezone.now(), last_error="", handoff_started_at=None
    )
    if not changed:
        logger.warning("%s %s: hand-off outlived its lease", queue.name, row.pk)
    return "sent"


def _record_failure[Row: (Reminder, PatientMessage)](
    queue: Queue[Row], row: Row, error: str, now: datetime, *, permanent: bool = False
) -> str:
    fields: dict[str, object] = {"last_error": error[:2000], "handoff_started_at": None}
    if permanent or row.attempts >= MAX_ATTEMPTS:
        fields["status"] = ReminderStatus.FAILED
        outcome = "failed"
    else:
        # Retry later by moving the due time: the retry is data, not a far-future task. Counted
        # from the run's clock, so a retried row is never picked again in the same run.
        fields["due_at"] = now + RETRY_DELAYS[row.attempts - 1]
        outcome = "retried"
    changed = (
        queue.model.objects.filter(_this_handoff(queue, row))
        .filter(status=ReminderStatus.PENDING)
        .update(**fields)
    )
    if not changed:
        logger.warning("%s %s: hand-off outlived its lease", queue.name, row.pk)
    return outcome
