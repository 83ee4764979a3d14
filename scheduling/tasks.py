"""Celery tasks: thin callers of the scheduling services, safe to run twice."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.db import IntegrityError, OperationalError

from scheduling.outbox import patient_messages_dispatch_due
from scheduling.reminders import reminders_dispatch_due
from scheduling.services import plan_schedule


@shared_task(
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=5,
    retry_backoff_max=600,  # never further out than ten minutes: no far-future ETAs
    retry_jitter=True,
    max_retries=8,
)
def schedule_plan(plan_id: int) -> str:
    """Place a booked plan's sessions; a lost race for a slot is retried and re-planned."""
    return plan_schedule(plan_id=plan_id).status


@shared_task
def dispatch_due_reminders() -> dict[str, int]:
    """Send every reminder that is due (run by beat every minute)."""
    return asdict(reminders_dispatch_due())


@shared_task
def dispatch_patient_messages() -> dict[str, int]:
    """Send every message to a patient that is due: set-password links, answers to requests
    (run by beat every minute, and as soon as one is queued)."""
    return asdict(patient_messages_dispatch_due())
