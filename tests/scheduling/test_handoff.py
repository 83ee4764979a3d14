"""Reminders are never lost and a repeat is visible: the start of each hand-off is committed
before the channel is called, so a worker killed mid-hand-off leaves the reminder detectably
uncertain; the dispatcher sends it again with the same Message-ID and marks it possibly
repeated, and staff see how many were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient, ReminderChannel
from scheduling.models import (
    MessageKind,
    PatientMessage,
    Reminder,
    ReminderStatus,
    Session,
    SessionStatus,
)
from scheduling.outbox import patient_message_queue, patient_messages_dispatch_due
from scheduling.reminders import RETRY_DELAYS, reminders_dispatch_due
from tests.factories import (
    PatientFactory,
)
from tests.helpers import due_session_reminder
from tests.scheduling.smtp_sink import SmtpSink, smtp_sink
from tests.worker import ROOT, wait_for, worker_database_url

pytestmark = pytest.mark.django_db

FROM = "clinic@clinic.example.com"
LEASE = timedelta(seconds=120)  # MESSAGE_HANDOFF_LEASE_SECONDS' default


@pytest.fixture
def mail_via(settings: Any) -> Any:
    """Send email through a real SMTP server (the sink) instead of the test outbox."""
    settings.DEFAULT_FROM_EMAIL = FROM
    settings.MESSAGE_HANDOFF_LEASE_SECONDS = int(LEASE.total_seconds())

    def use(sink: SmtpSink, *, timeout: int = 5) -> None:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": sink.mailer_options(timeout=timeout),
            }
        }

    return use


def emailed_patient() -> Patient:
    return PatientFactory(
        family_name="Clarke",
        given_name="Emma",
        email="emma.clarke@example.com",
        reminder_channel=ReminderChannel.EMAIL,
    )


def due_reminder(patient: Patient | None = None) -> Reminder:
    """A session reminder by email, due a minute ago, for a session three hours ahead."""
    return due_session_reminder(patient or emailed_patient(), channel=ReminderChannel.EMAIL)


# --- A worker killed mid-hand-off (a real process, a real SMTP server) --------------------------

DISPATCH = (
    "import django; django.setup()\n"
    "from scheduling.reminders import reminders_dispatch_due\n"
    "reminders_dispatch_due()\n"
)


@pytest.fixture
def dispatcher_process(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[str]] = []

    def start(smtp_port: int) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "DATABASE_URL": worker_database_url(),
            "VAR_DIR": str(tmp_path),
            "MAILER": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_TLS": "false",
            "SMTP_TIMEOUT_SECONDS": "600",
            "DEFAULT_FROM_EMAIL": FROM,
        }
        process = subprocess.Popen(
            [sys.executable, "-c", DISPATCH],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_hand_off_leaves_it_uncertain_and_the_next_run_resends_it(
    catalogue: None, mail_via: Any, dispatcher_process: Any
) -> None:
    reminder = due_reminder()

    # The mail server takes the whole message and never answers: the hand-off is under way
    # when the worker is killed, and nobody can know whether the patient will get it.
    with smtp_sink(delay=3600) as silent:
        worker = dispatcher_process(silent.port)
        assert wait_for(lambda: silent.received, timeout=60), worker.stdout
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)

    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.handoff_started_at is not None  # committed before the channel was called
    assert reminder.attempts == 1
    assert reminder.sent_at is None
    assert not reminder.possibly_repeated

    with smtp_sink() as working:
        mail_via(working)
        # Within the lease the hand-off might still be under way elsewhere: it is left alone.
        assert reminders_dispatch_due().handled == 0
        report = reminders_dispatch_due(now=timezone.now() + LEASE)

    assert (report.sent, report.repeated) == (1, 1)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT
    assert reminder.possibly_repeated
    assert reminder.handoff_started_at is None
    assert reminder.attempts == 2
    assert (
        working.message_ids
        == silent.message_ids
        == [f"<reminder-{reminder.pk}@clinic.example.com>"]
    )


# --- A slow mail server ------------------------------------------------------------------------


def test_a_mail_server_slower_than_the_timeout_is_retried_with_the_same_message_id(
    mail_via: Any,
) -> None:
    reminder = due_reminder()
    now = timezone.now()

    with smtp_sink(delay=3) as slow:
        mail_via(slow, timeout=1)
        first = reminders_dispatch_due(now=now)
    reminder.refresh_from_db()

    assert first.retried == 1
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.due_at == now + RETRY_DELAYS[0]
    assert reminder.handoff_started_at is None  # the outcome is known: it failed
    assert "TimeoutError" in reminder.last_error or "timed out" in reminder.last_error

    with smtp_sink() as fast:
        mail_via(fast)
        second = reminders_dispatch_due(now=reminder.due_at)

    assert (second.sent, second.repeated) == (1, 0)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT
    assert not reminder.possibly_repeated  # a failure the server reported is no repeat
    expected = [f"<reminder-{reminder.pk}@clinic.example.com>"]
    assert slow.message_ids == fast.message_ids == expected


# --- Uncertain hand-offs, in-process -------------------------------------------------------------


def cut_short(row: Reminder | PatientMessage, *, ago: timedelta) -> None:
    """What a worker killed mid-hand-off leaves behind: the start, and no outcome."""
    type(row).objects.filter(pk=row.pk).update(handoff_started_at=timezone.now() - ago, attempts=1)


def test_a_hand_off_still_within_its_lease_is_left_to_the_worker_doing_it(
    mail_via: Any, mailoutbox: list[Any]
) -> None:
    reminder = due_reminder()
    cut_short(reminder, ago=LEASE - timedelta(seconds=10))

    report = reminders_dispatch_due()

    assert report.handled == 0
    assert mailoutbox == []


def test_a_patient_message_cut_short_is_sent_again_and_marked(
    mail_via: Any, mailoutbox: list[Any]
) -> None:
    patient = emailed_patient()
    message = patient_message_queue(patient=patient, kind=MessageKind.PORTAL_INVITE)
    assert message is not None
    cut_short(message, ago=LEASE + timedelta(seconds=1))

    report = patient_messages_dispatch_due()

    assert (report.sent, report.repeated) == (1, 1)
    message.refresh_from_db()
    assert message.status == ReminderStatus.SENT
    assert message.possibly_repeated
    assert mailoutbox[0].extra_headers["Message-ID"] == (
        f"<message-{message.pk}@clinic.example.com>"
    )


def test_an_uncertain_reminder_nobody_needs_any_more_is_not_sent_again(
    mail_via: Any, mailoutbox: list[Any]
) -> None:
    reminder = due_reminder()
    cut_short(reminder, ago=LEASE + timedelta(seconds=1))
    assert reminder.session is not None
    Session.objects.filter(pk=reminder.session.pk).update(status=SessionStatus.CANCELLED)

    report = reminders_dispatch_due()

    assert (report.not_needed, report.repeated) == (1, 0)
    assert mailoutbox == []


def test_staff_see_how_many_messages_may_have_reached_patients_twice(
    mail_via: Any, mailoutbox: list[Any], client: Client, staff_user: Any
) -> None:
    for _ in range(2):
        cut_short(due_reminder(), ago=LEASE + timedelta(seconds=1))
    patient = emailed_patient()
    message = patient_message_queue(patient=patient, kind=MessageKind.PORTAL_INVITE)
    assert message is not None
    cut_short(message, ago=LEASE + timedelta(seconds=1))
    reminders_dispatch_due()
    patient_messages_dispatch_due()
    client.force_login(staff_user)

    response = client.get(reverse("staff:today-side"))

    assert response.status_code == 200
    assert (
        "3 messages in the last 7 days were sent again after the worker stopped while handing "
        "them over: patients may have them twice."
    ) in response.text


def test_today_says_nothing_about_repeats_when_there_were_none(
    client: Client, staff_user: Any
) -> None:
    client.force_login(staff_user)

    response = client.get(reverse("staff:today-side"))

    assert "may have received twice" not in response.text
