"""Patients' requests to move or cancel a session, and the clinic's answers.

A patient chooses a new time among those offered (:func:`session_move_options`): the free starts
of the session's allowed window with the same practitioner, each checked with
``session_reschedule(dry_run=True)``, so only moves the protocol allows are offered, and the
request is checked the same way when it is made. Staff accept a request through the same
reschedule and cancel services as any change, or decline it with a message. A request the
protocol no longer allows when it is answered is marked *refused* with the service's reason.
Either way the patient is told, in their language, by a message the worker sends
(``scheduling.outbox``); nothing is sent inside the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from patients.models import Patient
from scheduling.errors import SchedulingConflictError
from scheduling.models import (
    MessageKind,
    RequestKind,
    RequestStatus,
    Session,
    SessionKind,
    SessionRequest,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.outbox import patient_message_queue
from scheduling.planner import local_day
from scheduling.selectors import clinic_tz, free_slots, patient_may_change
from scheduling.services import session_cancel, session_moves_kept, session_reschedule

NOTE_MAX = 500
ANSWER_MAX = 1000
# The first session of a course and a maintenance session have no window after an earlier
# session: patients may ask for a day this far either side of the booked one.
FIRST_SESSION_REACH = 7
MAINTENANCE_REACH = 14
# Times offered per day (those nearest the booked time of day), and how many candidates a day
# may cost in checks before the day is left with fewer.
OPTIONS_PER_DAY = 4
CHECKS_PER_DAY = 6
OPTION_SPACING = 120  # minutes between the times offered on one day


@dataclass(frozen=True)
class MoveWindow:
    """The days a session may move to: ``low``–``high`` days after session ``after`` (None for
    a first or maintenance session), from tomorrow on."""

    first_day: date
    last_day: date
    after: int | None
    low: int | None
    high: int | None


@dataclass(frozen=True)
class MoveDay:
    day: date
    starts: tuple[datetime, ...]


@dataclass(frozen=True)
class MoveOptions:
    window: MoveWindow | None
    days: tuple[MoveDay, ...]

    @property
    def starts(self) -> tuple[datetime, ...]:
        return tuple(start for day in self.days for start in day.starts)


def session_move_window(*, session: Session, plan: TreatmentPlan, today: date) -> MoveWindow | None:
    """Where a patient may ask to move a session: inside its protocol window after the previous
    session of the course (21–28 days for Rejuran Healer); a week either side for the first
    session (later ones follow as the protocol needs), two weeks for a maintenance session.
    From tomorrow on; None when no day is left (1 query)."""
    tz = clinic_tz()
    day = local_day(session.starts_at, tz)
    tomorrow = today + timedelta(days=1)
    template = plan.template
    previous = None
    if session.kind == SessionKind.INITIAL:
        previous = (
            plan.sessions.filter(kind=SessionKind.INITIAL, starts_at__lt=session.starts_at)
            .exclude(status=SessionStatus.CANCELLED)
            .exclude(pk=session.pk)
            .order_by("-starts_at")
            .first()
        )
    if previous is not None:
        previous_day = local_day(previous.starts_at, tz)
        window = MoveWindow(
            first_day=max(previous_day + timedelta(days=template.interval_days_min), tomorrow),
            last_day=previous_day + timedelta(days=template.interval_days_max),
            after=previous.sequence,
            low=template.interval_days_min,
            high=template.interval_days_max,
        )
    else:
        reach = (
            MAINTENANCE_REACH if session.kind == SessionKind.MAINTENANCE else FIRST_SESSION_REACH
        )
        window = MoveWindow(
            first_day=max(day - timedelta(days=reach), tomorrow),
            last_day=day + timedelta(days=reach),
            after=None,
            low=None,
            high=None,
        )
    return window if window.first_day <= window.last_day else None


def _spread(
    starts: list[datetime], booked_minute: int, tz: ZoneInfo
) -> tuple[list[datetime], list[datetime]]:
    """A day's free starts in the order they are offered: the one nearest the booked time of
    day first, then others at least ``OPTION_SPACING`` from those already taken (the nearest
    first), so a patient sees a morning and an afternoon rather than four times in a row; and
    the rest, tried only when none of those can be had."""

    def minute(start: datetime) -> int:
        local = start.astimezone(tz)
        return local.hour * 60 + local.minute

    ordered = sorted(starts, key=lambda s: (abs(minute(s) - booked_minute), s))
    picked: list[datetime] = []
    for start in ordered:
        if all(abs(minute(start) - minute(p)) >= OPTION_SPACING for p in picked):
            picked.append(start)
    return picked, [s for s in ordered if s not in picked]


def session_move_options(
    *, session: Session, plan: TreatmentPlan, now: datetime | None = None
) -> MoveOptions:
    """The times a patient may ask to move the session to: the free starts of its window with
    the same practitioner (and room), those nearest the booked time of day first, each one a
    move ``session_reschedule`` accepts (``session_moves_kept``: one read of the calendar for
    all of them). At most ``OPTIONS_PER_DAY`` a day."""
    now = now or timezone.now()
    tz = clinic_tz()
    window = session_move_window(session=session, plan=plan, today=local_day(now, tz))
    if window is None or not patient_may_change(session, plan_status=plan.status, now=now):
        return MoveOptions(window=None, days=())
    try:
        slots = free_slots(
            practitioner=session.practitioner,
            treatment=plan.template.treatment,
            first_day=window.first_day,
            last_day=window.last_day,
            room=session.room,
        )
    except ValidationError:  # the practitioner no longer takes bookings, for instance
        return MoveOptions(window=window, days=())
    booked = session.starts_at.astimezone(tz)
    booked_minute = booked.hour * 60 + booked.minute
    by_day: dict[date, list[datetime]] = {}
    for slot in slots:
        by_day.setdefault(local_day(slot, tz), []).append(slot)
    # Each day's candidates: the spaced times first, then the next nearest as a fallback.
    candidates: dict[date, tuple[list[datetime], list[datetime]]] = {}
    for day, starts in by_day.items():
        spaced, rest = _spread(starts, booked_minute, tz)
        fallback = rest[: CHECKS_PER_DAY - min(len(spaced), OPTIONS_PER_DAY)]
        candidates[day] = (spaced[:OPTIONS_PER_DAY], fallback)
    kept = set(
        session_moves_kept(
            session=session,
            plan=plan,
            starts=[s for first, rest in candidates.values() for s in (*first, *rest)],
        )
    )
    days = []
    for day, (spaced, fallback) in sorted(candidates.items()):
        chosen = [start for start in spaced if start in kept]
        if not chosen:  # none of the spaced times keeps the course: the next nearest that does
            chosen = [start for start in fallback if start in kept][:1]
        if chosen:
            days.append(MoveDay(day, tuple(sorted(chosen))))
    return MoveOptions(window=window, days=tuple(days))


def _invalid(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _error_text(error: ValidationError | SchedulingConflictError) -> str:
    if isinstance(error, SchedulingConflictError):
        return error.message
    return " ".join(error.messages)


@transaction.atomic
def session_request_create(
    *,
    patient: Patient,
    session: Session,
    kind: str,
    wanted_start: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> SessionRequest:
    """Record a patient's request to move (to ``wanted_start``) or cancel one of their sessions.

    Refused with a field error, changing nothing, when the session is not one the patient may
    change, already has a request waiting, or the new time is outside the session's window or
    a move ``session_reschedule`` would not make. Another patient's session is not found."""
    now = now or timezone.now()
    if session.patient_id != patient.pk:
        raise Session.DoesNotExist
    note = note.strip()
    if kind not in RequestKind.values:
        raise _invalid("kind", gettext("Choose to move or to cancel the session."), "invalid")
    if len(note) > NOTE_MAX:
        raise _invalid(
            "note",
            gettext("Keep the note to %(max)s characters.") % {"max": NOTE_MAX},
            "too_long",
        )
    # The course first, as every booking service locks it: requests and changes to one course
    # queue up instead of crossing.
    plan = (
        TreatmentPlan.objects.select_for_update(of=("self",))
        .select_related("template__treatment")
        .get(pk=session.plan_id)
    )
    session = Session.objects.select_related("practitioner", "room").get(pk=session.pk)
    if not patient_may_change(session, plan_status=plan.status, now=now):
        raise _invalid(
            "session",
            gettext("This session can no longer be changed here; please call the clinic."),
            "not_changeable",
        )
    if session.requests.filter(status=RequestStatus.OPEN).exists():
        raise _invalid(
            "session",
            gettext("You have already asked to change this session; the clinic will answer soon."),
            "already_asked",
        )
    if kind == RequestKind.MOVE:
        _check_move(session, plan, patient, wanted_start, now)
    else:
        wanted_start = None
    request = SessionRequest(
        session=session,
        patient=patient,
        kind=kind,
        booked_start=session.starts_at,
        wanted_start=wanted_start,
        note=note,
    )
    request._history_user = patient.user  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as error:  # a request for the session made at the same moment
        raise _invalid(
            "session",
            gettext("You have already asked to change this session; the clinic will answer soon."),
            "already_asked",
        ) from error
    return request


def _check_move(
    session: Session,
    plan: TreatmentPlan,
    patient: Patient,
    wanted_start: datetime | None,
    now: datetime,
) -> None:
    if wanted_start is None:
        raise _invalid("wanted_start", gettext("Choose a new time."), "required")
    tz = clinic_tz()
    window = session_move_window(session=session, plan=plan, today=local_day(now, tz))
    if window is None or not window.first_day <= local_day(wanted_start, tz) <= window.last_day:
        raise _invalid(
            "wanted_start",
            gettext("Choose one of the times offered: the new time must keep your course's plan."),
            "outside_window",
        )
    if patient.user is None:  # only a patient with a login asks; history names them
        raise _invalid(
            "session", gettext("Only a patient with a portal login can ask."), "no_login"
        )
    try:
        session_reschedule(
            session=session, new_start=wanted_start, changed_by=patient.user, dry_run=True, now=now
        )
    except (ValidationError, SchedulingConflictError) as error:
        raise _invalid("wanted_start", _error_text(error), "not_possible") from error


def _lock_request(request: SessionRequest) -> SessionRequest:
    """The course, then the request (the order every booking service keeps)."""
    plan_id = Session.objects.values_list("plan_id", flat=True).get(pk=request.session_id)
    list(TreatmentPlan.objects.select_for_update().filter(pk=plan_id).values_list("pk"))
    locked = (
        SessionRequest.objects.select_for_update(of=("self",))
        .select_related("patient", "session")
        .get(pk=request.pk)
    )
    if locked.status != RequestStatus.OPEN:
        raise _invalid(
            "request",
            gettext("This request was already answered (%(status)s).")
            % {"status": locked.get_status_display().lower()},
            "already_answered",
        )
    return locked


def _clean_answer(message: str) -> str:
    message = message.strip()
    if len(message) > ANSWER_MAX:
        raise _invalid(
            "message",
            gettext("Keep the message to %(max)s characters.") % {"max": ANSWER_MAX},
            "too_long",
        )
    return message


@transaction.atomic
def session_request_accept(
    *,
    session_request: SessionRequest,
    answered_by: User,
    message: str = "",
    now: datetime | None = None,
) -> SessionRequest:
    """Do what the patient asked, through ``session_reschedule`` or ``session_cancel`` (so the
    protocol holds), and tell them. When that service refuses (the time was taken since, or no
    longer keeps the protocol), nothing about the session changes and the request is marked
    *refused* with the service's reason, written in the patient's language; the patient is told
    that too. A request already answered is refused with a field error."""
    now = now or timezone.now()
    message = _clean_answer(message)
    request = _lock_request(session_request)
    patient = request.patient
    try:
        # The reason for a refusal is for the patient: in their language.
        with transaction.atomic(), translation.override(patient.preferred_language):
            if request.kind == RequestKind.MOVE:
                if request.wanted_start is None:  # pragma: no cover - a check constraint
                    raise ValueError("a move names its time")
                session_reschedule(
                    session=request.session,
                    new_start=request.wanted_start,
                    changed_by=answered_by,
                    now=now,
                )
            else:
                session_cancel(
                    session=request.session,
                    reason=request.note[:200] or "asked by the patient",
                    cancelled_by=answered_by,
                    now=now,
                )
    except (ValidationError, SchedulingConflictError) as error:
        with translation.override(patient.preferred_language):
            request.status = RequestStatus.REFUSED
            request.answer = _error_text(error)[:ANSWER_MAX]
    else:
        request.status = RequestStatus.ACCEPTED
        request.answer = message
    return _answered(request, answered_by, now)


@transaction.atomic
def session_request_decline(
    *,
    session_request: SessionRequest,
    answered_by: User,
    message: str,
    now: datetime | None = None,
) -> SessionRequest:
    """Say no, with a message for the patient (required: they need to know what to do next)."""
    now = now or timezone.now()
    message = _clean_answer(message)
    if not message:
        raise _invalid(
            "message",
            gettext("Tell the patient why, so they know what to do next."),
            "required",
        )
    request = _lock_request(session_request)
    request.status = RequestStatus.DECLINED
    request.answer = message
    return _answered(request, answered_by, now)


def _answered(request: SessionRequest, answered_by: User, now: datetime) -> SessionRequest:
    request.answered_at = now
    request.answered_by = answered_by
    request._history_user = answered_by  # type: ignore[attr-defined]
    request.save(update_fields=["status", "answer", "answered_at", "answered_by"])
    patient_message_queue(
        patient=request.patient, kind=MessageKind.REQUEST_ANSWERED, request=request, now=now
    )
    return request
