"""Hand a rendered message to email or SMS; any delivery failure becomes a ChannelError.

Error texts are kept for staff (``last_error``) and never quote the address or the message:
they name the channel, the kind of failure and the server's status code."""

from __future__ import annotations

import logging
import smtplib
import traceback

from django.conf import settings
from django.core.mail import EmailMessage

from patients.models import ReminderChannel
from scheduling.messages import OutgoingMessage
from scheduling.sms import SmsError, sms_backend


class ChannelError(Exception):
    """Delivery failed. ``permanent`` when retrying cannot help (the address or number is
    refused for good); otherwise it is worth retrying later."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def log_unexpected_failure(logger: logging.Logger, what: str, pk: int, error: Exception) -> None:
    """Log a failure nobody expected with its stack, for whoever fixes the code, but not the
    exception's text: it can quote the address or the message (an address the mail library
    cannot parse, a gateway echoing its input), and patients' details stay out of the logs."""
    stack = "".join(traceback.format_tb(error.__traceback__))
    logger.error("%s %s could not be sent: %s\n%s", what, pk, type(error).__name__, stack)


def mail_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"


def message_id(key: str) -> str:
    """The same Message-ID on every attempt, so mail systems can drop a repeated hand-off."""
    return f"<{key}@{mail_domain()}>"


def channel_send(message: OutgoingMessage) -> None:
    if not message.to:
        raise ChannelError(f"the patient has no {message.channel} contact on file", permanent=True)
    if message.channel == ReminderChannel.EMAIL:
        _send_email(message)
    else:
        try:
            sms_backend().send(to=message.to, body=message.body, key=message.key)
        except SmsError as error:
            raise ChannelError(str(error), permanent=error.permanent) from error


def _send_email(message: OutgoingMessage) -> None:
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message_id(message.key)},
    )
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = sorted({code for code, _ in error.recipients.values()})
        raise ChannelError(
            f"email address refused by the mail server (SMTP {', '.join(map(str, codes))})",
            permanent=all(code >= 500 for code in codes),
        ) from error
    except smtplib.SMTPResponseException as error:
        raise ChannelError(
            f"email not accepted (SMTP {error.smtp_code})",
            # 5xx is the server's final word on this message, 4xx means try again later; a
            # refused login (535) is the clinic's to fix, and the message should then go out.
            permanent=error.smtp_code >= 500 and error.smtp_code != 535,
        ) from error
    except (smtplib.SMTPException, OSError) as error:
        raise ChannelError(f"email not accepted: {type(error).__name__}: {error}") from error
