"""What reminders say, in the patient's language (Korean or English)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from clinic.i18n import localized
from patients.models import Language, Patient
from scheduling.models import Reminder, ReminderKind, SessionKind
from scheduling.selectors import clinic_tz

KOREAN_WEEKDAYS = "월화수목금토일"

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    Language.ENGLISH: {
        "session": (
            "Reminder: {treatment} on {when}",
            "Hello {name},\n\nThis is a reminder of your {treatment} {which} on {when} with "
            "{practitioner}.\nIf you need to change it, please call us.\n\n{clinic}",
        ),
        ReminderKind.AFTERCARE: (
            "Aftercare after your {treatment} today",
            "Hello {name},\n\nThank you for visiting us today. Some advice for the next days:"
            "\n\n{aftercare}\n\nIf anything worries you, please call us.\n\n{clinic}",
        ),
        ReminderKind.MAINTENANCE_EARLY: (
            "Time to book your {treatment} maintenance",
            "Hello {name},\n\nYour next {treatment} maintenance session is due on {due}. Book a "
            "time that suits you so your results last.\n\n{clinic}",
        ),
        ReminderKind.MAINTENANCE_DUE: (
            "Your {treatment} maintenance is due today",
            "Hello {name},\n\nYour {treatment} maintenance session is due today ({due}). "
            "Call us to book a time.\n\n{clinic}",
        ),
    },
    Language.KOREAN: {
        "session": (
            "[{clinic}] {when} {treatment} 예약 안내",
            "{name}님, 안녕하세요.\n\n{when}에 {practitioner} 선생님과 {treatment} {which} "
            "예약이 있습니다.\n일정 변경이 필요하시면 병원으로 연락해 주세요.\n\n{clinic}",
        ),
        ReminderKind.AFTERCARE: (
            "[{clinic}] 오늘 {treatment} 시술 후 관리 안내",
            "{name}님, 오늘 방문해 주셔서 감사합니다. 시술 후 관리 방법을 안내드립니다.\n\n"
            "{aftercare}\n\n걱정되는 점이 있으시면 병원으로 연락해 주세요.\n\n{clinic}",
        ),
        ReminderKind.MAINTENANCE_EARLY: (
            "[{clinic}] {treatment} 유지 관리 시술 예약 안내",
            "{name}님, 다음 {treatment} 유지 관리 시술 권장일은 {due}입니다. 효과 유지를 위해 "
            "편하신 시간으로 예약해 주세요.\n\n{clinic}",
        ),
        ReminderKind.MAINTENANCE_DUE: (
            "[{clinic}] 오늘은 {treatment} 유지 관리 시술 권장일입니다",
            "{name}님, 오늘({due})은 {treatment} 유지 관리 시술 권장일입니다. 병원으로 "
            "연락하셔서 예약해 주세요.\n\n{clinic}",
        ),
    },
}


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    to: str
    subject: str
    body: str
    key: str


def format_when(moment: datetime, language: str) -> str:
    local = moment.astimezone(clinic_tz())
    if language == Language.KOREAN:
        weekday = KOREAN_WEEKDAYS[local.weekday()]
        return f"{local.year}년 {local.month}월 {local.day}일 ({weekday}) {local:%H:%M}"
    return f"{local:%a %d %b %Y} at {local:%H:%M}"


def format_day(day: date, language: str) -> str:
    if language == Language.KOREAN:
        return f"{day.year}년 {day.month}월 {day.day}일 ({KOREAN_WEEKDAYS[day.weekday()]})"
    return f"{day:%a %d %b %Y}"


def _is_hangul(text: str) -> bool:
    return all("\uac00" <= char <= "\ud7a3" for char in text)


def patient_name(patient: Patient, language: str) -> str:
    if language == Language.KOREAN:
        family, given = patient.family_name, patient.given_name
        # 이지우님, but "Clarke Emma님" for a name not written in Hangul.
        return f"{family}{given}" if _is_hangul(family + given) else f"{family} {given}"
    return patient.given_name


def which_session(reminder: Reminder, language: str) -> str:
    session = reminder.session
    if session is None:
        raise ValueError("only session reminders name a session")
    if session.kind == SessionKind.MAINTENANCE:
        return "유지 관리 시술" if language == Language.KOREAN else "maintenance session"
    total = reminder.plan.session_count
    if language == Language.KOREAN:
        return f"{total}회 중 {session.sequence}회차"
    return f"session {session.sequence} of {total}"


def reminder_message(reminder: Reminder) -> OutgoingMessage:
    """Render a reminder for its patient and channel. Needs plan, patient, treatment, practitioner
    and session loaded (see ``reminders.due_reminders``)."""
    plan = reminder.plan
    patient = plan.patient
    language = patient.preferred_language
    treatment = plan.template.treatment
    template_key = (
        "session"
        if reminder.kind in (ReminderKind.SESSION_EARLY, ReminderKind.SESSION_LATE)
        else reminder.kind
    )
    subject, body = TEXTS[language][template_key]
    values = {
        "clinic": settings.CLINIC_NAME,
        "name": patient_name(patient, language),
        "treatment": localized(treatment, "name", language),
        "practitioner": plan.practitioner.display_name,
        "aftercare": localized(treatment, "aftercare", language),
        "due": format_day(plan.maintenance_due_on, language) if plan.maintenance_due_on else "",
        "when": "",
        "which": "",
    }
    if reminder.session is not None:
        values["when"] = format_when(reminder.session.starts_at, language)
        values["which"] = which_session(reminder, language)
        values["practitioner"] = reminder.session.practitioner.display_name
    to = patient.email if reminder.channel == "email" else patient.phone
    return OutgoingMessage(
        channel=reminder.channel,
        to=to,
        subject=subject.format(**values),
        body=body.format(**values),
        key=f"reminder-{reminder.pk}",
    )
