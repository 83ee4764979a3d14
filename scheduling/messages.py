"""What reminders say, in the patient's language: the texts live in the gettext catalogue
(``locale/``), rendered with the patient's language active."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, pgettext

from clinic.formatting import format_day, format_when
from patients.models import Language, Patient
from scheduling.models import Reminder, ReminderKind, SessionKind

__all__ = ["OutgoingMessage", "format_day", "format_when", "reminder_message"]


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
