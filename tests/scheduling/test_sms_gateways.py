"""The real SMS gateways (Solapi, and a signed webhook) against local fakes of their HTTP APIs:
the request is signed as the provider checks it, a refusal for good fails the reminder at once
for staff to see, a gateway that is down or silent is retried, and every attempt carries the
same idempotency key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from patients.models import Language, ReminderChannel
from scheduling.models import Reminder, ReminderStatus
from scheduling.reminders import RETRY_DELAYS, reminders_dispatch_due
from scheduling.sms import SmsError, SmsRejectedError, SolapiSmsBackend, WebhookSmsBackend
from tests.factories import (
    PatientFactory,
)
from tests.helpers import due_session_reminder
from tests.scheduling.fake_gateways import Answer, FakeGateway, fake_gateway

pytestmark = pytest.mark.django_db

SOLAPI_SECRET = "solapi-test-secret-0123456789abcdef"
WEBHOOK_SECRET = "webhook-test-secret-0123456789abcdef"


@pytest.fixture
def solapi(settings: Any) -> Iterator[FakeGateway]:
    with fake_gateway("solapi", SOLAPI_SECRET) as gateway:
        settings.SMS_BACKEND = "scheduling.sms.SolapiSmsBackend"
        settings.SOLAPI_API_URL = gateway.url
        settings.SOLAPI_API_KEY = "NCSTESTAPIKEY"
        settings.SOLAPI_API_SECRET = SOLAPI_SECRET
        settings.SOLAPI_SENDER = "02-930-2266"
        settings.SOLAPI_KAKAO_PF_ID = ""
        settings.SMS_TIMEOUT_SECONDS = 1
        yield gateway


@pytest.fixture
def webhook(settings: Any) -> Iterator[FakeGateway]:
    with fake_gateway("webhook", WEBHOOK_SECRET) as gateway:
        settings.SMS_BACKEND = "scheduling.sms.WebhookSmsBackend"
        settings.SMS_WEBHOOK_URL = f"{gateway.url}/sms"
        settings.SMS_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.SMS_TIMEOUT_SECONDS = 1
        yield gateway


def due_text_reminder() -> Reminder:
    """A session reminder by text message to a Korean patient, due a minute ago."""
    patient = PatientFactory(
        family_name="이",
        given_name="지우",
        phone="+82 10-1234-5678",
        preferred_language=Language.KOREAN,
        reminder_channel=ReminderChannel.SMS,
    )
    return due_session_reminder(patient, channel=ReminderChannel.SMS, hours_ahead=2)


# --- Solapi ------------------------------------------------------------------------------------


def test_solapi_sends_a_signed_request_with_the_reminder_and_its_key(solapi: FakeGateway) -> None:
    reminder = due_text_reminder()

    report = reminders_dispatch_due()

    assert report.sent == 1
    (request,) = solapi.requests
    assert request.path == "/messages/v4/send-many/detail"
    assert request.signature_ok
    assert request.headers["authorization"].startswith("HMAC-SHA256 apiKey=NCSTESTAPIKEY, date=")
    assert request.headers["idempotency-key"] == f"reminder-{reminder.pk}"
    (message,) = request.json["messages"]
    assert message["to"] == "01012345678"
    assert message["from"] == "029302266"
    assert "이지우" in message["text"]
    assert message["customFields"] == {"idempotencyKey": f"reminder-{reminder.pk}"}
    assert "kakaoOptions" not in message
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT


def test_solapi_sends_kakaotalk_with_a_text_fallback_when_the_channel_is_linked(
    solapi: FakeGateway, settings: Any
) -> None:
    settings.SOLAPI_KAKAO_PF_ID = "KA01PF2003231823"
    settings.SOLAPI_KAKAO_TEMPLATE_ID = "KA01TP2003231823"
    due_text_reminder()

    reminders_dispatch_due()

    (message,) = solapi.requests[0].json["messages"]
    assert message["kakaoOptions"] == {
        "pfId": "KA01PF2003231823",
        "templateId": "KA01TP2003231823",
        "disableSms": False,
    }


def test_a_number_solapi_refuses_fails_the_reminder_at_once_without_retrying(
    solapi: FakeGateway,
) -> None:
    reminder = due_text_reminder()
    solapi.answer(
        Answer(
            200,
            {
                "failedMessageList": [{"to": "01012345678", "statusCode": "1062"}],
                "groupInfo": {"count": {"total": 1, "registeredFailed": 1}},
            },
        )
    )

    report = reminders_dispatch_due()

    assert report.failed == 1
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.attempts == 1
    assert reminder.last_error == "Solapi refused the message (status 1062)"
    assert "01012345678" not in reminder.last_error


def test_a_request_solapi_answers_4xx_fails_the_reminder_at_once(solapi: FakeGateway) -> None:
    reminder = due_text_reminder()
    solapi.answer(Answer(400, {"errorCode": "ValidationError", "errorMessage": "to: 0101234"}))

    report = reminders_dispatch_due()

    assert report.failed == 1
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.last_error == "Solapi answered HTTP 400 (ValidationError)"
    assert len(solapi.requests) == 1


def test_solapi_down_is_retried_later_with_the_same_key(solapi: FakeGateway) -> None:
    reminder = due_text_reminder()
    solapi.answer(Answer(503, {"errorCode": "ServiceUnavailable"}))
    now = timezone.now()

    first = reminders_dispatch_due(now=now)
    reminder.refresh_from_db()

    assert first.retried == 1
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.last_error == "Solapi answered HTTP 503 (ServiceUnavailable)"
    assert reminder.due_at == now + RETRY_DELAYS[0]

    second = reminders_dispatch_due(now=reminder.due_at)

    assert second.sent == 1
    keys = [r.json["messages"][0]["customFields"]["idempotencyKey"] for r in solapi.requests]
    headers = [r.headers["idempotency-key"] for r in solapi.requests]
    assert keys == headers == [f"reminder-{reminder.pk}"] * 2
    # A fresh signature each time (new date and salt), the same message.
    assert (
        solapi.requests[0].headers["authorization"] != solapi.requests[1].headers["authorization"]
    )
    assert solapi.requests[0].json == solapi.requests[1].json


def test_solapi_silent_past_the_timeout_is_retried_not_lost(solapi: FakeGateway) -> None:
    reminder = due_text_reminder()
    solapi.answer(Answer(200, {}, delay=2.5))  # SMS_TIMEOUT_SECONDS is 1

    report = reminders_dispatch_due()

    assert report.retried == 1
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.last_error == "Solapi did not answer in time (ReadTimeout)"


def test_a_wrong_api_secret_is_refused_by_solapi_and_retried_once_fixed(
    solapi: FakeGateway, settings: Any
) -> None:
    reminder = due_text_reminder()
    settings.SOLAPI_API_SECRET = "not-the-secret"

    first = reminders_dispatch_due()
    settings.SOLAPI_API_SECRET = SOLAPI_SECRET
    reminder.refresh_from_db()
    second = reminders_dispatch_due(now=reminder.due_at)

    assert not solapi.requests[0].signature_ok
    assert (first.retried, second.sent) == (1, 1)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT


def test_solapi_backend_classifies_answers(solapi: FakeGateway) -> None:
    backend = SolapiSmsBackend()
    solapi.answer(Answer(404, {}), Answer(500, {}), Answer(429, {}))

    with pytest.raises(SmsRejectedError):
        backend.send(to="010-1234-5678", body="hi", key="k1")
    with pytest.raises(SmsError) as server_error:
        backend.send(to="010-1234-5678", body="hi", key="k1")
    with pytest.raises(SmsError) as throttled:
        backend.send(to="010-1234-5678", body="hi", key="k1")

    assert not server_error.value.permanent
    assert not throttled.value.permanent


# --- Signed webhook ----------------------------------------------------------------------------


def test_the_webhook_gets_signed_json_with_an_idempotency_key(webhook: FakeGateway) -> None:
    reminder = due_text_reminder()

    report = reminders_dispatch_due()

    assert report.sent == 1
    (request,) = webhook.requests
    assert request.path == "/sms"
    assert request.signature_ok
    assert request.headers["idempotency-key"] == f"reminder-{reminder.pk}"
    assert request.headers["x-clinic-signature"].startswith("sha256=")
    assert request.json["to"] == "+82 10-1234-5678"
    assert request.json["key"] == f"reminder-{reminder.pk}"
    assert "지우" in request.json["body"]


def test_a_webhook_signature_made_with_another_secret_does_not_verify(
    webhook: FakeGateway, settings: Any
) -> None:
    settings.SMS_WEBHOOK_SECRET = "someone-else"

    with pytest.raises(SmsError) as error:
        WebhookSmsBackend().send(to="+82 10-1234-5678", body="hi", key="k1")

    assert not webhook.requests[0].signature_ok
    assert str(error.value) == "The SMS webhook answered HTTP 401 (Unauthorized)"
    assert not error.value.permanent


def test_a_webhook_4xx_fails_the_reminder_at_once(webhook: FakeGateway) -> None:
    reminder = due_text_reminder()
    webhook.answer(Answer(422, {"code": "invalid_number"}))

    report = reminders_dispatch_due()

    assert report.failed == 1
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.last_error == "The SMS webhook answered HTTP 422 (invalid_number)"


def test_a_webhook_5xx_or_timeout_is_retried_with_the_same_key(webhook: FakeGateway) -> None:
    reminder = due_text_reminder()
    webhook.answer(Answer(502, {}), Answer(200, {}, delay=2.5))
    now = timezone.now()

    reports = []
    for _ in range(3):
        reports.append(reminders_dispatch_due(now=now))
        reminder.refresh_from_db()
        now = reminder.due_at

    assert [(r.retried, r.sent) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    assert reminder.status == ReminderStatus.SENT
    assert reminder.attempts == 3
    assert [r.headers["idempotency-key"] for r in webhook.requests] == [
        f"reminder-{reminder.pk}"
    ] * 3
    assert len({r.body for r in webhook.requests}) == 1
