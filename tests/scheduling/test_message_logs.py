"""No log line carries a patient's name, phone, email or the text of a message: a dispatch run
that sends, retries and fails reminders and messages logs reminder and message ids only."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from patients.models import Language, Patient, ReminderChannel
from scheduling.models import MessageKind, Reminder, ReminderStatus
from scheduling.outbox import patient_message_queue, patient_messages_dispatch_due
from scheduling.reminders import reminders_dispatch_due
from scheduling.sms import WebhookSmsBackend
from tests.factories import (
    PatientFactory,
)
from tests.helpers import due_session_reminder
from tests.scheduling.fake_gateways import Answer, FakeGateway, fake_gateway

pytestmark = pytest.mark.django_db

SECRET = "webhook-test-secret-0123456789abcdef"
BROKEN_FOR = "+82 10-3333-9753"


class CrashingOnOneNumberBackend(WebhookSmsBackend):
    """The webhook, but a broken gateway library for one number: its exception quotes the
    number and the text, as careless libraries do."""

    def send(self, *, to: str, body: str, key: str) -> None:
        if to == BROKEN_FOR:
            raise RuntimeError(f"cannot encode message to {to}: {body!r}")
        super().send(to=to, body=body, key=key)


@pytest.fixture
def webhook(settings: Any) -> Iterator[FakeGateway]:
    with fake_gateway("webhook", SECRET) as gateway:
        settings.SMS_BACKEND = "tests.scheduling.test_message_logs.CrashingOnOneNumberBackend"
        settings.SMS_WEBHOOK_URL = f"{gateway.url}/sms"
        settings.SMS_WEBHOOK_SECRET = SECRET
        settings.SMS_TIMEOUT_SECONDS = 1
        yield gateway


def reminder_for(patient: Patient, channel: str) -> Reminder:
    return due_session_reminder(patient, channel=channel)


def personal_details(*patients: Patient) -> list[str]:
    details = []
    for patient in patients:
        details += [patient.family_name, patient.given_name, patient.full_name, patient.phone]
        details += [patient.phone.replace(" ", "").replace("-", ""), patient.email]
    return [detail for detail in details if detail]


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the run logged, as a log file would hold it (messages and tracebacks)."""
    handler_text = caplog.text
    records = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.stack_info or ''}"
        for record in caplog.records
    )
    return handler_text + "\n" + records


def test_a_dispatch_run_that_sends_retries_and_fails_logs_no_patient_details(
    webhook: FakeGateway, mailoutbox: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    sent_by_text = PatientFactory(
        family_name="Seo",
        given_name="Yeonhee",
        phone="+82 10-7777-1234",
        email="yeonhee.seo@example.com",
        preferred_language=Language.ENGLISH,
        reminder_channel=ReminderChannel.SMS,
    )
    refused_by_gateway = PatientFactory(
        family_name="박",
        given_name="서준",
        phone="+82 10-8888-4321",
        email="seojun.park@example.com",
        preferred_language=Language.KOREAN,
        reminder_channel=ReminderChannel.SMS,
    )
    gateway_down = PatientFactory(
        family_name="Okafor",
        given_name="Chidinma",
        phone="+82 10-6666-2468",
        email="chidinma@example.com",
        reminder_channel=ReminderChannel.SMS,
    )
    sent_by_email = PatientFactory(
        family_name="Lindqvist",
        given_name="Astrid",
        phone="",
        email="astrid.lindqvist@example.com",
        reminder_channel=ReminderChannel.EMAIL,
    )
    library_crash = PatientFactory(
        family_name="Nakamura",
        given_name="Haruto",
        phone=BROKEN_FOR,
        email="haruto@example.com",
        reminder_channel=ReminderChannel.SMS,
    )
    # An address the mail library cannot parse.
    malformed = PatientFactory(
        family_name="Moreau",
        given_name="Camille",
        phone="",
        email="camille.moreau@",
        reminder_channel=ReminderChannel.EMAIL,
    )
    reminders = [
        reminder_for(patient, patient.reminder_channel)
        for patient in (
            sent_by_text,
            refused_by_gateway,
            gateway_down,
            library_crash,
            sent_by_email,
            malformed,
        )
    ]
    # In claim order (due time, then id): sent, refused for good, down, then the email ones.
    webhook.answer(Answer(200), Answer(422, {"code": "invalid_number"}), Answer(503))
    patient_message_queue(patient=sent_by_email, kind=MessageKind.PORTAL_INVITE)
    patient_message_queue(patient=malformed, kind=MessageKind.PASSWORD_RESET)
    caplog.set_level(logging.DEBUG)

    reminder_report = reminders_dispatch_due()
    message_report = patient_messages_dispatch_due()

    statuses = [Reminder.objects.get(pk=r.pk).status for r in reminders]
    assert statuses == [
        ReminderStatus.SENT,
        ReminderStatus.FAILED,
        ReminderStatus.PENDING,
        ReminderStatus.PENDING,
        ReminderStatus.SENT,
        ReminderStatus.PENDING,
    ]
    assert (reminder_report.sent, reminder_report.failed, reminder_report.retried) == (2, 1, 3)
    assert (message_report.sent, message_report.retried) == (1, 1)
    # The run did log: the unexpected failures, with their ids and stacks.
    text = logged_text(caplog)
    assert f"Reminder {reminders[3].pk} could not be sent: RuntimeError" in text
    assert f"Reminder {reminders[5].pk} could not be sent" in text
    assert "Message " in text
    sent_texts = [request.json["body"] for request in webhook.requests]
    sent_texts += [email.body for email in mailoutbox] + [email.subject for email in mailoutbox]
    lines_sent = [
        line.strip() for body in sent_texts for line in body.splitlines() if len(line) > 12
    ]
    assert lines_sent, "nothing was sent: the test would prove nothing"
    for detail in personal_details(
        sent_by_text, refused_by_gateway, gateway_down, library_crash, sent_by_email, malformed
    ):
        assert detail not in text, f"{detail!r} was logged"
    for line in lines_sent:
        assert line not in text, f"message text {line!r} was logged"
