"""What reminders say, in the patient's language: the texts live in the gettext catalogue
(``locale/``), rendered with the patient's language active."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, pgettext

from clinic.formatting import format_day, format_when
from patients.models import Language, Patient, ReminderChannel
from patients.tokens import link_hours, password_link
from scheduling.models import (
    MessageKind,
    PatientMessage,
    Reminder,
    ReminderKind,
    RequestKind,
    RequestStatus,
    SessionKind,
    SessionRequest,
)

__all__ = [
    "OutgoingMessage",
    "format_day",
    "format_when",
    "patient_message_text",
    "reminder_message",
]


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    to: str
    subject: str
    body: str
    key: str


def _texts(kind: str) -> tuple[str, str]:
    """Subject and body templates for a kind of reminder, in the active language."""
    if kind in (ReminderKind.SESSION_EARLY, ReminderKind.SESSION_LATE):
        return (
            gettext("Reminder: %(treatment)s on %(when)s"),
            gettext(
                "Hello %(name)s,\n\nThis is a reminder of your %(treatment)s %(which)s on "
                "%(when)s with %(practitioner)s.\nIf you need to change it, please call us."
                "\n\n%(clinic)s"
            ),
        )
    if kind == ReminderKind.AFTERCARE:
        return (
            gettext("Aftercare after your %(treatment)s today"),
            gettext(
                "Hello %(name)s,\n\nThank you for visiting us today. Some advice for the next "
                "days:\n\n%(aftercare)s\n\nIf anything worries you, please call us.\n\n%(clinic)s"
            ),
        )
    if kind == ReminderKind.MAINTENANCE_EARLY:
        return (
            gettext("Time to book your %(treatment)s maintenance"),
            gettext(
                "Hello %(name)s,\n\nYour next %(treatment)s maintenance session is due on "
                "%(due)s. Book a time that suits you so your results last.\n\n%(clinic)s"
            ),
        )
    return (
        gettext("Your %(treatment)s maintenance is due today"),
        gettext(
            "Hello %(name)s,\n\nYour %(treatment)s maintenance session is due today (%(due)s). "
            "Call us to book a time.\n\n%(clinic)s"
        ),
    )


def _is_hangul(text: str) -> bool:
    return all("\uac00" <= char <= "\ud7a3" for char in text)


def patient_name(patient: Patient, language: str) -> str:
    """How a message greets the patient: 이지우님 in Korean, the given name in English."""
    if language == Language.KOREAN:
        family, given = patient.family_name, patient.given_name
        # 이지우님, but "Clarke Emma님" for a name not written in Hangul.
        return f"{family}{given}" if _is_hangul(family + given) else f"{family} {given}"
    return patient.given_name


def which_session(reminder: Reminder) -> str:
    """ "session 2 of 4" / "4회 중 2회차", in the active language."""
    session = reminder.session
    if session is None:
        raise ValueError("only session reminders name a session")
    if session.kind == SessionKind.MAINTENANCE:
        return pgettext("reminder", "maintenance session")
    return gettext("session %(number)s of %(total)s") % {
        "number": session.sequence,
        "total": reminder.plan.session_count,
    }


def reminder_message(reminder: Reminder) -> OutgoingMessage:
    """Render a reminder for its patient and channel. Needs plan, patient, treatment, practitioner
    and session loaded (see ``reminders.reminder_send_next_due``)."""
    plan = reminder.plan
    patient = plan.patient
    language = patient.preferred_language
    treatment = plan.template.treatment
    with translation.override(language):
        subject, body = _texts(reminder.kind)
        # Patients get messages from many senders: the clinic's name leads the subject.
        subject_line = gettext("[%(clinic)s] %(subject)s")
        values = {
            "clinic": settings.CLINIC_NAME,
            "name": patient_name(patient, language),
            "treatment": treatment.display_name,
            "practitioner": plan.practitioner.display_name,
            "aftercare": treatment.display_aftercare,
            "due": format_day(plan.maintenance_due_on) if plan.maintenance_due_on else "",
            "when": "",
            "which": "",
        }
        if reminder.session is not None:
            values["when"] = format_when(reminder.session.starts_at)
            values["which"] = which_session(reminder)
            values["practitioner"] = reminder.session.practitioner.display_name
    to = patient.email if reminder.channel == "email" else patient.phone
    return OutgoingMessage(
        channel=reminder.channel,
        to=to,
        subject=subject_line % {"clinic": values["clinic"], "subject": subject % values},
        body=body % values,
        key=f"reminder-{reminder.pk}",
    )


# --- Messages that are not reminders ---------------------------------------------------------


def _link_texts(kind: str, channel: str) -> tuple[str, str]:
    """Subject and body for a set-password link; a text message is short and has no subject."""
    sms = channel == ReminderChannel.SMS
    if kind == MessageKind.PORTAL_INVITE:
        if sms:
            return "", gettext(
                "[%(clinic)s] Your patient portal login is %(username)s. Choose your password "
                "(the link works once, for %(hours)s hours): %(link)s"
            )
        return (
            gettext("Your login for the patient portal"),
            gettext(
                "Hello %(name)s,\n\nWe have made you a login for our patient portal, where you "
                "can see your sessions, ask to move one and add them to your phone's calendar."
                "\n\nYour username: %(username)s\nChoose your password here (the link works "
                "once, for %(hours)s hours):\n%(link)s\n\n%(clinic)s"
            ),
        )
    if sms:
        return "", gettext(
            "[%(clinic)s] A new password for %(username)s: %(link)s (works once, for %(hours)s "
            "hours). Not you? Ignore this message."
        )
    return (
        gettext("A new password for the patient portal"),
        gettext(
            "Hello %(name)s,\n\nSomeone, we hope you, asked for a new password for your "
            "patient portal login (%(username)s). Choose it here (the link works once, for "
            "%(hours)s hours):\n%(link)s\n\nIf it was not you, ignore this message: your "
            "password stays as it is.\n\n%(clinic)s"
        ),
    )


def _answer_texts(request: SessionRequest) -> tuple[str, str]:
    """Subject and body for the clinic's answer to a request, in the active language."""
    moving = request.kind == RequestKind.MOVE
    if request.status == RequestStatus.ACCEPTED and moving:
        return (
            gettext("Your session has been moved"),
            gettext(
                "Hello %(name)s,\n\nAs you asked, your %(treatment)s session is now on "
                "%(when)s with %(practitioner)s.%(answer)s\n\n%(clinic)s"
            ),
        )
    if request.status == RequestStatus.ACCEPTED:
        return (
            gettext("Your session has been cancelled"),
            gettext(
                "Hello %(name)s,\n\nAs you asked, your %(treatment)s session on %(when)s is "
                "cancelled.%(answer)s\n\n%(clinic)s"
            ),
        )
    if moving:
        return (
            gettext("We could not move your session"),
            gettext(
                "Hello %(name)s,\n\nWe could not move your %(treatment)s session to "
                "%(wanted)s.%(answer)s\nIt stays on %(when)s. To choose another time, open your "
                "schedule or call us.\n\n%(clinic)s"
            ),
        )
    return (
        gettext("We could not cancel your session"),
        gettext(
            "Hello %(name)s,\n\nWe could not cancel your %(treatment)s session on "
            "%(when)s.%(answer)s\nPlease call us about it.\n\n%(clinic)s"
        ),
    )


def patient_message_text(message: PatientMessage) -> OutgoingMessage:
    """Render a message for its patient and channel, in the patient's language. A set-password
    link is made now. Needs the patient (with their login) loaded, and for an answer the request
    with its session, practitioner and treatment (see ``outbox.patient_message_send_next_due``)."""
    patient = message.patient
    language = patient.preferred_language
    with translation.override(language):
        values: dict[str, object] = {
            "clinic": settings.CLINIC_NAME,
            "name": patient_name(patient, language),
        }
        if message.kind == MessageKind.REQUEST_ANSWERED:
            request = message.request
            if request is None:
                raise ValueError("an answer names its request")
            session = request.session
            subject, body = _answer_texts(request)
            values.update(
                treatment=session.plan.template.treatment.display_name,
                practitioner=session.practitioner.display_name,
                when=format_when(session.starts_at),
                wanted=format_when(request.wanted_start) if request.wanted_start else "",
                answer=f"\n\n{request.answer}" if request.answer else "",
            )
        else:
            user = patient.user
            if user is None:
                raise ValueError("a set-password link needs the patient's login")
            subject, body = _link_texts(message.kind, message.channel)
            values.update(
                username=user.get_username(), link=password_link(user), hours=link_hours()
            )
        subject_line = gettext("[%(clinic)s] %(subject)s") % {
            "clinic": settings.CLINIC_NAME,
            "subject": subject,
        }
    return OutgoingMessage(
        channel=message.channel,
        to=patient.email if message.channel == ReminderChannel.EMAIL else patient.phone,
        subject=subject_line,
        body=body % values,
        key=f"message-{message.pk}",
    )
