"""A patient's sessions as an iCalendar (RFC 5545) file, for download or a phone's subscription.

Each session is one event with a UID that never changes and a SEQUENCE that grows whenever staff
move it (the session's revision) and once more when it is cancelled, so a phone calendar updates
the event it has instead of adding another; a cancelled session stays in the feed as
``STATUS:CANCELLED`` so phones remove it. Times carry the clinic's zone (with its VTIMEZONE).
Texts are in the active language (the caller activates the patient's). No queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext, pgettext
from icalendar import Calendar, Event

from clinic.formatting import clinic_zone
from clinic.i18n import localized
from scheduling.models import Session, SessionKind, SessionStatus

PRODUCT_ID = "-//Clinic Planner//Patient schedule//EN"
# How often a subscribed calendar should look again (a hint most phone calendars follow).
REFRESH = timedelta(hours=6)


def session_uid(session: Session) -> str:
    """Stable for the session's whole life: the same event however often it moves."""
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"session-{session.pk}@{host or 'clinic-planner'}"


def session_sequence(session: Session) -> int:
    """Grows with every move (staff rescheduling) and once more when cancelled; a cancelled
    session is never moved again, so it never goes back."""
    return session.revision + (1 if session.status == SessionStatus.CANCELLED else 0)


def _summary(session: Session, numbers: dict[int, int], total: int) -> str:
    treatment = session.plan.template.treatment.display_name
    if session.kind == SessionKind.MAINTENANCE:
        what = pgettext("calendar", "maintenance session")
        return f"{treatment} · {what}"
    number = numbers.get(session.pk)
    if number is None:
        return treatment
    return gettext("%(treatment)s · session %(number)s of %(total)s") % {
        "treatment": treatment,
        "number": number,
        "total": total,
    }


def _course_numbers(sessions: Sequence[Session]) -> tuple[dict[int, int], dict[int, int]]:
    """ "Session 2 of 4" as the schedule page counts it: the course's initial sessions still on,
    in time order. Returns the number by session id and the total by course id."""
    numbers: dict[int, int] = {}
    totals: dict[int, int] = {}
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.pk)):
        if session.kind == SessionKind.INITIAL and session.status != SessionStatus.CANCELLED:
            totals[session.plan_id] = totals.get(session.plan_id, 0) + 1
            numbers[session.pk] = totals[session.plan_id]
    return numbers, totals


def patient_calendar(*, sessions: Sequence[Session], now: datetime) -> bytes:
    """The sessions (with course, treatment and practitioner loaded) as an .ics file."""
    tz = clinic_zone()
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    name = gettext("%(clinic)s: my sessions") % {"clinic": settings.CLINIC_NAME}
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")
    numbers, totals = _course_numbers(sessions)
    for session in sessions:
        treatment = session.plan.template.treatment
        event = Event()
        event.add("uid", session_uid(session))
        event.add("sequence", session_sequence(session))
        event.add("dtstamp", now)
        event.add("last-modified", session.updated_at)
        event.add("dtstart", session.starts_at.astimezone(tz))
        event.add("dtend", session.ends_at.astimezone(tz))
        event.add("summary", _summary(session, numbers, totals.get(session.plan_id, 0)))
        event.add("location", settings.CLINIC_NAME)
        lines = [
            gettext("With %(practitioner)s.") % {"practitioner": session.practitioner.display_name}
        ]
        preparation = localized(treatment, "preparation")
        if preparation and session.status == SessionStatus.PLANNED:
            lines.append(gettext("How to get ready: %(text)s") % {"text": preparation})
        event.add("description", "\n\n".join(lines))
        cancelled = session.status == SessionStatus.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
