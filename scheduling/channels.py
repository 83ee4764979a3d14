"""Hand a rendered message to email or SMS; any delivery failure becomes a ChannelError."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from patients.models import ReminderChannel
from scheduling.messages import OutgoingMessage
from scheduling.sms import SmsError, sms_backend


class ChannelError(Exception):
    """Delivery failed in a way worth retrying later."""


def mail_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"


def channel_send(message: OutgoingMessage) -> None:
    if not message.to:
        raise ChannelError(f"the patient has no {message.channel} contact on file")
    if message.channel == ReminderChannel.EMAIL:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            # A stable Message-ID per reminder lets mail systems drop a repeated hand-off.
            headers={"Message-ID": f"<{message.key}@{mail_domain()}>"},
        )
        try:
            email.send()
        except (smtplib.SMTPException, OSError) as error:
            raise ChannelError(f"email not accepted: {error}") from error
    else:
        try:
            sms_backend().send(to=message.to, body=message.body, key=message.key)
        except SmsError as error:
            raise ChannelError(str(error)) from error
