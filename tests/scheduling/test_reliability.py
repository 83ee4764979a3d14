"""Reliability on the real services: concurrent bookings on PostgreSQL, and real Celery worker
processes on Redis that are killed mid-work. Nothing here uses eager mode or mocks."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from kombu import Connection

from scheduling.errors import BookingConflictError
from scheduling.models import (
    PlanStatus,
    Practitioner,
    Reminder,
    ReminderStatus,
    Session,
    SessionKind,
    TreatmentPlan,
)
from scheduling.reminders import reminders_create_for_sessions
from scheduling.services import plan_book, session_book
from scheduling.tasks import dispatch_due_reminders, schedule_plan
from tests.factories import (
    PatientFactory,
    PractitionerFactory,
    SessionFactory,
    TreatmentPlanFactory,
    UserFactory,
)
from tests.timeutil import seoul
from tests.worker import running_worker, wait_for, worker_database_url
from treatments.models import ProtocolTemplate

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def practitioner_for_rejuran() -> tuple[Practitioner, ProtocolTemplate]:
    template = ProtocolTemplate.objects.select_related("treatment").get(
        treatment__slug="rejuran-healer", is_default=True
    )
    practitioner = PractitionerFactory()
    practitioner.treatments.add(template.treatment)
    return practitioner, template


# --- Concurrent bookings --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", range(10))
def test_fifty_concurrent_bookings_of_overlapping_times_one_wins(
    catalogue: None, tuesday: date, run: int
) -> None:
    practitioner, template = practitioner_for_rejuran()
    plans = [
        TreatmentPlanFactory(
            practitioner=practitioner, template=template, status=PlanStatus.MAINTENANCE
        )
        for _ in range(50)
    ]
    receptionist = UserFactory()
    start = seoul(tuesday, 10)
    barrier = threading.Barrier(len(plans))
    outcomes: list[str] = [""] * len(plans)

    def attempt(index: int) -> None:
        try:
            barrier.wait()
            session_book(
                plan=plans[index],
                # every attempt overlaps every other: 10:00–10:45, 10:15–11:00, 10:30–11:15
                starts_at=start + timedelta(minutes=15 * (index % 3)),
                booked_by=receptionist,
            )
            outcomes[index] = "booked"
        except BookingConflictError as error:
            outcomes[index] = error.message
        except Exception as error:  # reported, not swallowed: the test fails on it
            outcomes[index] = f"unexpected: {error!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert outcomes.count("booked") == 1, outcomes
    conflicts = [o for o in outcomes if o != "booked"]
    assert len(conflicts) == 49
    assert all("is already booked from" in message for message in conflicts), conflicts
    assert Session.objects.filter(practitioner=practitioner).count() == 1


def run_at_once(count: int, attempt: Callable[[int], str]) -> list[str]:
    """Run ``attempt(i)`` in ``count`` threads released together; each returns its outcome."""
    barrier = threading.Barrier(count)
    outcomes = [""] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = attempt(index)
        except Exception as error:  # reported, not swallowed: the test fails on it
            outcomes[index] = f"unexpected: {error!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", range(5))
def test_the_database_lets_one_of_twenty_overlapping_sessions_of_a_patient_in(
    catalogue: None, tuesday: date, run: int
) -> None:
    # Twenty practitioners, one patient, twenty inserts straight into the table (no service
    # and no lock): only the exclusion constraint stands between them.
    patient = PatientFactory()
    plans = [
        TreatmentPlanFactory(patient=patient, practitioner=PractitionerFactory()) for _ in range(20)
    ]
    start = seoul(tuesday, 10)

    def insert(index: int) -> str:
        try:
            with transaction.atomic():
                SessionFactory(
                    plan=plans[index],
                    sequence=1,
                    starts_at=start + timedelta(minutes=15 * (index % 3)),
                    ends_at=start + timedelta(minutes=15 * (index % 3) + 45),
                )
        except IntegrityError as error:
            return "refused" if "session_no_patient_overlap" in str(error) else repr(error)
        return "inserted"

    outcomes = run_at_once(len(plans), insert)

    assert outcomes.count("inserted") == 1, outcomes
    assert outcomes.count("refused") == 19, outcomes
    assert Session.objects.filter(patient=patient).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", range(3))
def test_twenty_concurrent_bookings_of_one_patient_with_twenty_practitioners_one_wins(
    catalogue: None, tuesday: date, run: int
) -> None:
    patient = PatientFactory()
    plans = []
    for _ in range(20):
        practitioner, template = practitioner_for_rejuran()
        plans.append(
            TreatmentPlanFactory(
                patient=patient,
                practitioner=practitioner,
                template=template,
                status=PlanStatus.MAINTENANCE,
            )
        )
    receptionist = UserFactory()
    start = seoul(tuesday, 10)

    def book(index: int) -> str:
        try:
            session_book(
                plan=plans[index],
                starts_at=start + timedelta(minutes=15 * (index % 3)),
                booked_by=receptionist,
            )
        except BookingConflictError as error:
            return error.message
        return "booked"

    outcomes = run_at_once(len(plans), book)

    assert outcomes.count("booked") == 1, outcomes
    conflicts = [o for o in outcomes if o != "booked"]
    assert all(f"{patient} already has a session from" in o for o in conflicts), conflicts
    assert Session.objects.filter(patient=patient).count() == 1


# --- Worker processes on Redis --------------------------------------------------------------


def publish(task: object, *args: object) -> None:
    """Send a task to the Redis broker the worker under test listens to."""
    with Connection(REDIS_URL) as redis:
        task.apply_async(args=args, connection=redis)  # type: ignore[attr-defined]


def worker_env(var_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "VAR_DIR": str(var_dir),
        "SMS_GATEWAY": "tests.scheduling.journal_sms.JournalSmsBackend",
    }


@pytest.fixture
def clean_redis_queue() -> None:
    with Connection(REDIS_URL) as redis:
        redis.default_channel.queue_purge("celery")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_on_redis_schedules_a_booked_plan(
    catalogue: None, clean_redis_queue: None, tuesday: date, tmp_path: Path
) -> None:
    practitioner, template = practitioner_for_rejuran()
    plan = plan_book(
        patient=PatientFactory(),
        template=template,
        practitioner=practitioner,
        first_start=seoul(tuesday, 10),
        booked_by=UserFactory(),
    )

    with running_worker(env=worker_env(tmp_path)) as worker:
        publish(schedule_plan, plan.pk)
        publish(schedule_plan, plan.pk)  # delivered twice: still one set of sessions

        def scheduled() -> bool:
            return TreatmentPlan.objects.get(pk=plan.pk).status == PlanStatus.ACTIVE

        assert wait_for(scheduled, timeout=30), worker.log
        assert wait_for(lambda: worker.log.count("schedule_plan") >= 4, timeout=15), worker.log

    assert list(plan.sessions.values_list("sequence", flat=True).order_by("sequence")) == [1, 2, 3]
    assert Reminder.objects.filter(plan=plan).count() == 9


def due_reminders(count_sessions: int) -> list[int]:
    """Sessions far ahead whose reminders are all made due now: 3 reminders a session."""
    practitioner, template = practitioner_for_rejuran()
    start = timezone.now() + timedelta(days=30)
    for index in range(count_sessions):
        patient = PatientFactory(reminder_channel="sms")
        plan = TreatmentPlanFactory(
            patient=patient, practitioner=practitioner, template=template, status=PlanStatus.ACTIVE
        )
        session = SessionFactory(
            plan=plan,
            sequence=1,
            kind=SessionKind.INITIAL,
            starts_at=start + timedelta(hours=index),
            ends_at=start + timedelta(hours=index, minutes=45),
        )
        reminders_create_for_sessions(plan=plan, sessions=[session])
    Reminder.objects.update(due_at=timezone.now() - timedelta(minutes=1))
    return list(Reminder.objects.values_list("pk", flat=True))


def outbox(var_dir: Path) -> tuple[set[str], list[str]]:
    folder = var_dir / "outbox" / "sms"
    delivered = {path.stem for path in folder.glob("reminder-*.txt")}
    journal = folder / "handoffs.log"
    handoffs = journal.read_text().split() if journal.exists() else []
    return delivered, handoffs


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_mid_dispatch_still_delivers_each_reminder_once(
    catalogue: None, clean_redis_queue: None, tmp_path: Path
) -> None:
    reminder_ids = due_reminders(count_sessions=100)
    expected = {f"reminder-{pk}" for pk in reminder_ids}

    with running_worker(env=worker_env(tmp_path)) as first:
        publish(dispatch_due_reminders)
        assert wait_for(lambda: len(outbox(tmp_path)[0]) >= 40, timeout=60, interval=0.01), (
            first.log
        )
        first.stop(signal.SIGKILL)
    delivered_before_restart = len(outbox(tmp_path)[0])
    assert delivered_before_restart < len(expected), "the kill came too late to test anything"

    # The hand-off the kill cut short is sent again once its lease has passed: shortened here
    # so the test need not wait two minutes.
    with running_worker(
        env={**worker_env(tmp_path), "MESSAGE_HANDOFF_LEASE_SECONDS": "3"}
    ) as second:
        time.sleep(3)
        publish(dispatch_due_reminders)

        def all_sent() -> bool:
            return not Reminder.objects.exclude(status=ReminderStatus.SENT).exists()

        assert wait_for(all_sent, timeout=90), second.log

    delivered, handoffs = outbox(tmp_path)
    assert delivered == expected
    repeated = len(handoffs) - len(set(handoffs))
    # One row per transaction: only the row in flight at the kill can be handed off again, and
    # its idempotency key makes the channel drop the repeat.
    assert repeated <= 1, f"{repeated} hand-offs repeated"
    print(
        f"\nkilled after {delivered_before_restart}/{len(expected)} deliveries; "
        f"{repeated} hand-off repeated and dropped by key"
    )


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_dispatching_at_once_send_each_reminder_once(
    catalogue: None, clean_redis_queue: None, tmp_path: Path
) -> None:
    reminder_ids = due_reminders(count_sessions=60)

    with (
        running_worker(env=worker_env(tmp_path)) as one,
        running_worker(env=worker_env(tmp_path)) as two,
    ):
        for _ in range(4):
            publish(dispatch_due_reminders)

        def all_sent() -> bool:
            return not Reminder.objects.exclude(status=ReminderStatus.SENT).exists()

        assert wait_for(all_sent, timeout=90), one.log + two.log

    delivered, handoffs = outbox(tmp_path)
    assert delivered == {f"reminder-{pk}" for pk in reminder_ids}
    assert sorted(handoffs) == sorted(set(handoffs)), "a reminder was handed off twice"


def test_no_task_is_ever_scheduled_more_than_an_hour_ahead() -> None:
    """Reminders wait in the database; the only delays Celery sees are capped retries."""
    assert schedule_plan.retry_backoff_max <= 3600
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert "eta" not in entry.get("options", {})
        assert "countdown" not in entry.get("options", {})
