"""The demo clinic for the embedded default: staff, patients and courses at every stage.

``manage.py demo`` (run by ``make run``) builds it once, with dates relative to today so the
clinic always looks current: a busy coming week for every practitioner, courses just booked,
mid-course and in maintenance, a missed session that needs staff attention, a cancelled course.
Later runs only reset the demo passwords. Passwords are fixed and printed so a first-time user
can log in at once; the command refuses to run with DEBUG off, so they never reach production.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clinic.celery import app
from clinic.demo.courses import clinic_build, reminders_retire_demo_history
from clinic.demo.people import ACCOUNTS, PATIENTS, DemoAccount, accounts_ensure, patients_create
from patients.models import Patient
from scheduling.models import Session, SessionStatus, TreatmentPlan
from scheduling.planner import local_datetime, local_day
from scheduling.selectors import clinic_tz

__all__ = ["ACCOUNTS", "DemoAccount", "DemoSummary", "demo_data_create"]

DEMO_SEED = 2468  # the same patients, concerns and reactions on every machine


@dataclass(frozen=True)
class DemoSummary:
    accounts: list[DemoAccount]
    created: bool  # False when the demo clinic was already there
    patients: int
    courses: int
    sessions: int
    sessions_today: int


def clinic_exists() -> bool:
    """Whether the demo's courses were booked: the patients without a login exist only in it."""
    emails = [p.email for p in PATIENTS if not p.username]
    return TreatmentPlan.objects.filter(patient__email__in=emails).exists()


@contextmanager
def _hand_offs_inline() -> Iterator[None]:
    """``plan_book`` hands each plan to the worker once the transaction commits. The demo has
    already scheduled every plan itself (as of the day it was booked), so the hand-off finds
    nothing to do: run it in-process rather than leave dozens of empty messages in the queue
    for a worker that may not even be running, and keep its log lines off the console."""
    eager = app.conf.task_always_eager
    loggers = [logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection")]
    levels = [logger.level for logger in loggers]
    app.conf.task_always_eager = True
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        app.conf.task_always_eager = eager
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def demo_data_create(*, now: datetime | None = None, seed: int = DEMO_SEED) -> DemoSummary:
    """Create the demo clinic as of ``now`` (default: the present), or, when it exists, make
    sure the demo accounts do and reset their passwords. Needs the seed to have run."""
    now = now or timezone.now()
    today = local_day(now, clinic_tz())
    with _hand_offs_inline(), transaction.atomic():
        staff = accounts_ensure()
        created = not clinic_exists()
        if created:
            rng = random.Random(seed)  # noqa: S311 -- made-up demo data, not secrets
            patients = patients_create(staff=staff, rng=rng, today=today)
            plans = clinic_build(staff=staff, patients=patients, now=now, rng=rng)
            reminders_retire_demo_history(plan_ids=plans, now=now)
    return DemoSummary(
        accounts=ACCOUNTS,
        created=created,
        patients=Patient.objects.count(),
        courses=TreatmentPlan.objects.count(),
        sessions=Session.objects.count(),
        sessions_today=Session.objects.exclude(status=SessionStatus.CANCELLED)
        .filter(
            starts_at__gte=local_datetime(today, time(0), clinic_tz()),
            starts_at__lt=local_datetime(today + timedelta(days=1), time(0), clinic_tz()),
        )
        .count(),
    )
