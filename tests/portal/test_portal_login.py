"""Getting in: the clinic creates a patient's login, the patient chooses a password from a link
sent by their channel (single use, expiring), and can ask for a new link when they forget it,
without the page telling anyone who has a login. No self-registration."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from clinic.roles import Role, user_roles
from patients.models import Patient, ReminderChannel
from patients.services import patient_login_create, portal_password_forgotten
from patients.tokens import portal_link_tokens
from scheduling.models import MessageKind, PatientMessage, ReminderStatus
from scheduling.outbox import patient_messages_dispatch_due
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/p/[\w-]+/[\w-]+/")


@pytest.fixture
def newcomer() -> Patient:
    """A patient of the clinic without a portal login, who prefers Korean and text messages."""
    return PatientFactory(
        user=None,
        family_name="이",
        given_name="지우",
        phone="+82 10-2345-6789",
        email="jiwoo@example.com",
        preferred_language="ko",
        reminder_channel=ReminderChannel.SMS,
    )


def sent_link(outbox: list[Any]) -> str:
    [message] = outbox
    body = message["body"] if isinstance(message, dict) else message.body
    found = LINK.search(body)
    assert found, body
    return found.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


# --- Staff create the login ------------------------------------------------------------------


def test_staff_create_a_login_and_the_patient_gets_a_link_by_text_in_korean(
    client: Client, staff_user: User, newcomer: Patient, sms_outbox: list[dict[str, str]]
) -> None:
    client.force_login(staff_user)

    response = client.post(reverse("staff:patient-login", args=[newcomer.pk]), follow=True)

    newcomer.refresh_from_db()
    user = newcomer.user
    assert user is not None
    assert user.username == "jiwoo@example.com"
    assert not user.has_usable_password()
    assert user_roles(user) == {Role.PATIENT}
    assert "has a portal login (jiwoo@example.com)" in response.text
    # Nothing is sent inside the request: a message row waits for the worker.
    assert sms_outbox == []
    [message] = PatientMessage.objects.filter(patient=newcomer)
    assert (message.kind, message.channel, message.status) == (
        MessageKind.PORTAL_INVITE,
        ReminderChannel.SMS,
        ReminderStatus.PENDING,
    )

    assert patient_messages_dispatch_due().sent == 1
    [sms] = sms_outbox
    assert sms["to"] == "+82 10-2345-6789"
    assert sms["key"] == f"message-{message.pk}"
    assert "jiwoo@example.com" in sms["body"]
    assert "비밀번호" in sms["body"]
    assert len(sms["body"]) < 200  # a text message with a short link
    assert patient_messages_dispatch_due().handled == 0  # sent once


def test_a_second_login_is_refused_and_changes_nothing(staff_user: User, patient: Patient) -> None:
    with pytest.raises(ValidationError) as refused:
        patient_login_create(patient=patient, created_by=staff_user)

    assert "already has a portal login" in str(refused.value)
    assert User.objects.filter(patient=patient).count() == 1
    assert not PatientMessage.objects.exists()


def test_the_staff_page_says_why_when_a_login_cannot_be_created(
    client: Client, staff_user: User, patient: Patient
) -> None:
    client.force_login(staff_user)
    users = User.objects.count()

    response = client.post(reverse("staff:patient-login", args=[patient.pk]), follow=True)

    assert "already has a portal login" in response.text
    assert User.objects.count() == users


def test_a_patient_without_email_or_phone_cannot_get_a_login(staff_user: User) -> None:
    lonely = PatientFactory(user=None, phone="", email="")

    with pytest.raises(ValidationError, match="email address or a phone number"):
        patient_login_create(patient=lonely, created_by=staff_user)

    assert lonely.user_id is None
    assert not User.objects.filter(patient=lonely).exists()


def test_patients_cannot_create_logins(client: Client, patient: Patient, newcomer: Patient) -> None:
    client.force_login(patient.user)

    response = client.post(reverse("staff:patient-login", args=[newcomer.pk]))

    assert response.status_code == 403
    newcomer.refresh_from_db()
    assert newcomer.user_id is None


def test_there_is_no_self_registration(client: Client) -> None:
    assert client.get("/register/").status_code == 404
    assert client.get("/signup/").status_code == 404


# --- Choosing a password from the link -------------------------------------------------------


def test_the_link_sets_the_password_logs_in_and_lands_on_my_schedule_then_stops_working(
    client: Client, staff_user: User, newcomer: Patient, sms_outbox: list[dict[str, str]]
) -> None:
    patient_login_create(patient=newcomer, created_by=staff_user)
    patient_messages_dispatch_due()
    link = path_of(sent_link(sms_outbox))

    page = client.get(link, follow=True)
    assert page.status_code == 200
    assert 'lang="ko"' in page.text  # the patient's language, before they log in
    assert "jiwoo@example.com" in page.text
    form_url = page.redirect_chain[-1][0]
    response = client.post(
        form_url,
        {"new_password1": "salmon-free-2026", "new_password2": "salmon-free-2026"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("portal:schedule")
    assert response.status_code == 200
    newcomer.refresh_from_db()
    assert newcomer.user is not None
    assert newcomer.user.check_password("salmon-free-2026")

    client.logout()
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.text or "링크" in again.text
    assert 'name="new_password1"' not in again.text


def test_a_weak_password_gets_a_field_error_and_changes_nothing(
    client: Client, patient: Patient
) -> None:
    assert patient.user is not None
    uid = urlsafe_base64_encode(force_bytes(patient.user.pk))
    page = client.get(
        reverse("password-set", args=[uid, portal_link_tokens.make_token(patient.user)]),
        follow=True,
    )
    form_url = page.redirect_chain[-1][0]

    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})

    assert response.status_code == 200
    assert "This password is too common." in response.text
    patient.user.refresh_from_db()
    assert patient.user.check_password("correct-horse-battery")


def test_an_expired_link_does_not_work(client: Client, patient: Patient, settings: Any) -> None:
    assert patient.user is not None
    uid = urlsafe_base64_encode(force_bytes(patient.user.pk))
    made_long_ago = portal_link_tokens._make_token_with_timestamp(
        patient.user,
        portal_link_tokens._num_seconds(timezone.now().replace(tzinfo=None))
        - settings.PASSWORD_RESET_TIMEOUT
        - 60,
        portal_link_tokens.secret,
    )

    response = client.get(reverse("password-set", args=[uid, made_long_ago]), follow=True)

    assert "This link no longer works" in response.text
    assert 'name="new_password1"' not in response.text


def test_a_link_made_for_staff_or_by_django_password_reset_does_not_work_here(
    client: Client, staff_user: User, patient: Patient
) -> None:
    from django.contrib.auth.tokens import default_token_generator

    staff_uid = urlsafe_base64_encode(force_bytes(staff_user.pk))
    staff_link = reverse(
        "password-set", args=[staff_uid, portal_link_tokens.make_token(staff_user)]
    )
    assert patient.user is not None
    uid = urlsafe_base64_encode(force_bytes(patient.user.pk))
    other_kind = reverse(
        "password-set", args=[uid, default_token_generator.make_token(patient.user)]
    )

    for link in (staff_link, other_kind):
        assert "This link no longer works" in client.get(link, follow=True).text


# --- Forgot your password? -------------------------------------------------------------------


@pytest.mark.parametrize("given", ["jiwoo@example.com", "010-2345-6789", "JIWOO@example.com"])
def test_a_forgotten_password_sends_a_link_by_the_patients_channel(
    client: Client,
    staff_user: User,
    newcomer: Patient,
    sms_outbox: list[dict[str, str]],
    given: str,
) -> None:
    patient_login_create(patient=newcomer, created_by=staff_user)
    PatientMessage.objects.update(created_at=timezone.now() - timedelta(hours=1))

    response = client.post(reverse("password-forgotten"), {"identifier": given}, follow=True)

    assert response.redirect_chain == [(reverse("password-forgotten-sent"), 302)]
    assert PatientMessage.objects.filter(kind=MessageKind.PASSWORD_RESET).count() == 1
    patient_messages_dispatch_due()
    assert len(sms_outbox) == 2


def test_the_answer_is_the_same_whether_or_not_anyone_has_that_login(
    client: Client, patient: Patient, newcomer: Patient
) -> None:
    assert patient.user is not None
    known = client.post(reverse("password-forgotten"), {"identifier": patient.user.username})
    unknown = client.post(reverse("password-forgotten"), {"identifier": "nobody@example.com"})
    # A patient of the clinic without a login is not told apart either.
    no_login = client.post(reverse("password-forgotten"), {"identifier": newcomer.email})

    assert known.status_code == unknown.status_code == no_login.status_code == 302
    assert known["Location"] == unknown["Location"] == no_login["Location"]
    assert PatientMessage.objects.filter(patient=patient).count() == 1
    assert not PatientMessage.objects.exclude(patient=patient).exists()


def test_asking_again_and_again_sends_one_link_every_few_minutes(patient: Patient) -> None:
    assert patient.user is not None
    for _ in range(5):
        portal_password_forgotten(identifier=patient.user.username)

    assert PatientMessage.objects.filter(patient=patient).count() == 1


def test_a_blank_identifier_is_a_field_error(client: Client) -> None:
    response = client.post(reverse("password-forgotten"), {"identifier": "  "})

    assert response.status_code == 200
    assert "This field is required." in response.text
    assert not PatientMessage.objects.exists()


def test_staff_can_send_a_new_link(
    client: Client, staff_user: User, patient: Patient, mailoutbox: list[Any]
) -> None:
    client.force_login(staff_user)

    client.post(reverse("staff:patient-login-link", args=[patient.pk]))
    patient_messages_dispatch_due()

    [email] = mailoutbox
    assert email.to == [patient.email]
    assert "new password" in email.subject
    assert LINK.search(email.body)


def test_the_login_page_offers_a_new_password(client: Client) -> None:
    page = client.get(reverse("login"))

    assert reverse("password-forgotten") in page.text
    assert "Forgot your password?" in page.text
