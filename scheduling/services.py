"""Every change to treatment plans and sessions goes through these services.

Each one is a transaction: it applies completely, or raises and changes nothing. Bad input raises
Django's ValidationError with field messages; a clash with other bookings raises
BookingConflictError; a request that would break the protocol raises ProtocolViolationError.

Locks are always taken in the same order (plan, then patient, then practitioner, then room) so
concurrent bookings queue up instead of deadlocking; the patient and practitioner locks make
overlapping bookings wait for each other and fail with a clear message, and the database's
exclusion constraints are the guarantee underneath.

Messages are translatable (``gettext`` with named placeholders), dates in the clinic's zone in the
reader's language; the planner's refusals are put into words by ``scheduling.explain``.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from simple_history.utils import bulk_create_with_history

from clinic.combined_writes import Insert, Update, write_as_one
from clinic.formatting import format_day, format_time, format_when
from clinic.history import history_rows, worker_change_reason
from clinic.i18n import localized_fields, set_localized
from patients.models import Patient
from patients.selectors import patient_contraindications
from scheduling.calendar_rules import leave_interval
from scheduling.errors import BookingConflictError, ProtocolViolationError, SessionNotFound
from scheduling.explain import explain_no_fit
from scheduling.models import (
    CalendarFeed,
    Leave,
    PlanStatus,
    Practitioner,
    Reaction,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import (
    BookedSession,
    Interval,
    Move,
    NoFit,
    Obstacle,
    Proposal,
    ProtocolRules,
    SlotSearch,
    add_months,
    local_day,
    propose_course,
    reschedule_cascade,
)
from scheduling.reminders import (
    MAINTENANCE_KINDS,
    reminders_cancel_pending,
    reminders_create_for_maintenance,
    reminders_create_for_sessions,
    reminders_rearm_maintenance,
    reminders_replaced_for_moved,
)
from scheduling.selectors import (
    check_bookable,
    clinic_tz,
    session_slot_search,
    slot_search,
    with_protocols,
)
from treatments.models import Contraindication, ProtocolTemplate, Treatment

# How far ahead a session may be booked: beyond this, clinic hours and staff are guesswork.
BOOKING_HORIZON = timedelta(days=730)
OPEN_PLAN_STATUSES = (
    PlanStatus.SCHEDULING,
    PlanStatus.ACTIVE,
    PlanStatus.NEEDS_ATTENTION,
    PlanStatus.MAINTENANCE,
)


# --- Validation helpers ---------------------------------------------------------------------


def _error(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _invalid(field: str, message: str, code: str) -> ValidationError:
    """A field error with a code for API clients and a message for people."""
    return ValidationError({field: _error(message, code)})


def _status(obj: TreatmentPlan | Session) -> str:
    """The status as it reads inside a sentence ("a completed session")."""
    return str(obj.get_status_display()).lower()


def course_rules(
    *, template: ProtocolTemplate, session_count: int | None, interval_days: int | None
) -> ProtocolRules:
    """The protocol rules for a course, or field errors when the choice is outside the template."""
    errors: dict[str, ValidationError] = {}
    count = template.initial_sessions_default if session_count is None else session_count
    interval = template.interval_days_default if interval_days is None else interval_days
    if not template.treatment.is_active:
        errors["template"] = _error(
            gettext("%(treatment)s is no longer offered.")
            % {"treatment": template.treatment.display_name},
            "treatment_inactive",
        )
    low, high = template.initial_sessions_min, template.initial_sessions_max
    if not low <= count <= high:
        errors["session_count"] = _error(
            gettext("This protocol takes %(low)s–%(high)s sessions, not %(count)s.")
            % {"low": low, "high": high, "count": count},
            "out_of_range",
        )
    low, high = template.interval_days_min, template.interval_days_max
    if not low <= interval <= high:
        errors["interval_days"] = _error(
            gettext("Sessions of this protocol must be %(low)s–%(high)s days apart, not %(days)s.")
            % {"low": low, "high": high, "days": interval},
            "out_of_range",
        )
    if errors:
        raise ValidationError(errors)
    return ProtocolRules(
        session_count=count,
        interval_days_min=template.interval_days_min,
        interval_days_max=template.interval_days_max,
        interval_days_preferred=interval,
        maintenance_months=template.maintenance_interval_months,
    )


def _check_future(moment: datetime, *, field: str, now: datetime) -> None:
    if timezone.is_naive(moment):
        raise _invalid(field, gettext("Give the time with its time zone."), "naive_time")
    if moment <= now:
        raise _invalid(field, gettext("The time must be in the future."), "in_the_past")
    if moment > now + BOOKING_HORIZON:
        raise _invalid(
            field,
            gettext("Bookings can be made at most %(days)s days ahead.")
            % {"days": BOOKING_HORIZON.days},
            "too_far_ahead",
        )


def _lock_plan(plan_id: int) -> TreatmentPlan:
    """Lock the course, with the rows a course's services read from it."""
    return (
        TreatmentPlan.objects.select_for_update(of=("self",))
        .select_related("template__treatment", "patient", "practitioner", "room")
        .get(pk=plan_id)
    )


def _lock_resources(
    *,
    practitioner_ids: Iterable[int],
    room_ids: Iterable[int | None],
    patient_ids: Iterable[int] = (),
) -> None:
    """Serialize bookings per patient, practitioner and room, always in the same order."""
    patients = sorted(set(patient_ids))
    if patients:
        list(
            Patient.objects.select_for_update()
            .filter(pk__in=patients)
            .order_by("pk")
            .values_list("pk")
        )
    practitioners = sorted(set(practitioner_ids))
    if practitioners:
        list(
            Practitioner.objects.select_for_update()
            .filter(pk__in=practitioners)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    rooms = sorted({pk for pk in room_ids if pk is not None})
    if rooms:
        list(Room.objects.select_for_update().filter(pk__in=rooms).order_by("pk").values_list("pk"))


def _duration(plan_or_treatment: TreatmentPlan | Treatment) -> timedelta:
    treatment = (
        plan_or_treatment.template.treatment
        if isinstance(plan_or_treatment, TreatmentPlan)
        else plan_or_treatment
    )
    return timedelta(minutes=treatment.session_minutes)


@contextmanager
def _conflicts_named(session: Session) -> Iterator[None]:
    """Turn the database's no-overlap guarantee, broken by writing ``session``, into a clear
    conflict.

    No savepoint: a conflict ends the service's transaction, which is rolled back whole (a
    savepoint would cost two statements on every booking). The names the message needs are
    read before writing, as a failed transaction can run no further query."""
    patient, practitioner = session.patient, session.practitioner
    try:
        yield
    except IntegrityError as error:
        if "session_no_patient_overlap" in str(error):
            raise BookingConflictError(
                gettext("%(patient)s already has another session at %(when)s.")
                % {"patient": patient, "when": format_when(session.starts_at)}
            ) from error
        if "overlap" in str(error):
            raise BookingConflictError(
                gettext("%(practitioner)s or the room is already booked at %(when)s.")
                % {"practitioner": practitioner, "when": format_when(session.starts_at)}
            ) from error
        raise


def _save_session(session: Session) -> None:
    with _conflicts_named(session):
        session.save()


def _course_search(
    *,
    rules: ProtocolRules,
    duration: timedelta,
    practitioner_id: int,
    room_id: int | None,
    patient_id: int,
    first_day: date,
    exclude_plan_id: int | None = None,
) -> SlotSearch:
    last_day = first_day + timedelta(days=rules.interval_days_max * (rules.session_count - 1))
    return slot_search(
        practitioner_id=practitioner_id,
        room_id=room_id,
        patient_id=patient_id,
        duration=duration,
        first_day=first_day,
        last_day=last_day,
        exclude_plan_id=exclude_plan_id,
    )


# --- Preview and booking --------------------------------------------------------------------


@dataclass(frozen=True)
class PlanPreview:
    rules: ProtocolRules
    proposal: Proposal | None
    no_fit: NoFit | None
    contraindications: list[Contraindication]

    @property
    def fits(self) -> bool:
        return self.proposal is not None


def plan_preview(
    *,
    patient: Patient,
    template: ProtocolTemplate,
    practitioner: Practitioner,
    first_start: datetime,
    room: Room | None = None,
    session_count: int | None = None,
    interval_days: int | None = None,
    now: datetime | None = None,
) -> PlanPreview:
    """The sessions a booking would get right now, and any contraindication. Writes nothing.

    A first start off the booking grid is a field error; one that is taken, closed, outside the
    practitioner's hours or during their leave gives a ``no_fit`` for session 1."""
    now = now or timezone.now()
    _check_future(first_start, field="first_start", now=now)
    rules = course_rules(
        template=template, session_count=session_count, interval_days=interval_days
    )
    treatment = template.treatment
    check_bookable(treatment=treatment, practitioner=practitioner, room=room)
    search = _course_search(
        rules=rules,
        duration=_duration(treatment),
        practitioner_id=practitioner.pk,
        room_id=room.pk if room else None,
        patient_id=patient.pk,
        first_day=local_day(first_start, clinic_tz()),
    )
    if search.obstacle(first_start) == Obstacle.OFF_GRID:
        raise ValidationError({"first_start": _off_grid(search, first_start)})
    # The first session takes exactly this time or the course is refused (see propose_course).
    result = propose_course(rules=rules, first_start=first_start, search=search)
    return PlanPreview(
        rules=rules,
        proposal=result if isinstance(result, Proposal) else None,
        no_fit=result if isinstance(result, NoFit) else None,
        contraindications=patient_contraindications(patient=patient, treatment=treatment),
    )


def _enqueue_scheduling(plan_id: int) -> None:
    from scheduling.tasks import schedule_plan  # the task module imports this one

    schedule_plan.delay(plan_id)


@transaction.atomic
def plan_book(
    *,
    patient: Patient,
    template: ProtocolTemplate,
    practitioner: Practitioner,
    first_start: datetime,
    booked_by: User,
    room: Room | None = None,
    session_count: int | None = None,
    interval_days: int | None = None,
    override_reason: str = "",
    now: datetime | None = None,
) -> TreatmentPlan:
    """Book a course. The plan is created in the *scheduling* state and, once the transaction
    commits, handed to the worker, which places its sessions (``plan_schedule``).

    A recorded contraindication blocks the booking unless ``override_reason`` explains why it is
    safe; the overridden conditions and the reason are stored on the plan.
    """
    preview = plan_preview(
        patient=patient,
        template=template,
        practitioner=practitioner,
        first_start=first_start,
        room=room,
        session_count=session_count,
        interval_days=interval_days,
        now=now,
    )
    override_reason = override_reason.strip()
    conditions = ", ".join(c.name for c in preview.contraindications)
    if conditions and not override_reason:
        raise _invalid(
            "override_reason",
            gettext(
                "%(patient)s has a recorded contraindication for %(treatment)s: %(conditions)s. "
                "Give a reason to book anyway."
            )
            % {
                "patient": patient,
                "treatment": template.treatment.display_name,
                "conditions": gettext(", ").join(c.display_name for c in preview.contraindications),
            },
            "contraindicated",
        )
    if preview.no_fit is not None:
        raise ProtocolViolationError(preview.no_fit)
    plan = TreatmentPlan(
        patient=patient,
        template=template,
        practitioner=practitioner,
        room=room,
        status=PlanStatus.SCHEDULING,
        session_count=preview.rules.session_count,
        interval_days=preview.rules.interval_days_preferred,
        first_session_at=first_start,
        booked_by=booked_by,
        overridden_conditions=conditions,
        override_reason=override_reason if conditions else "",
    )
    plan._history_user = booked_by  # type: ignore[attr-defined]
    plan.save()
    transaction.on_commit(partial(_enqueue_scheduling, plan.pk))
    return plan


def plan_rules(plan: TreatmentPlan) -> ProtocolRules:
    template = plan.template
    return ProtocolRules(
        session_count=plan.session_count,
        interval_days_min=template.interval_days_min,
        interval_days_max=template.interval_days_max,
        interval_days_preferred=plan.interval_days,
        maintenance_months=template.maintenance_interval_months,
    )


def _needs_attention(plan: TreatmentPlan, reason: Callable[[], str]) -> TreatmentPlan:
    """Flag the plan with the reason, written in every language for whoever reads it later."""
    plan.status = PlanStatus.NEEDS_ATTENTION
    fields = set_localized(plan, "attention_reason", reason)
    plan.save(update_fields=["status", *fields, "updated_at"])
    return plan


def _clear_attention(plan: TreatmentPlan) -> list[str]:
    for name in localized_fields("attention_reason"):
        setattr(plan, name, "")
    return localized_fields("attention_reason")


def plan_schedule(*, plan_id: int, now: datetime | None = None) -> TreatmentPlan:
    """Turn a booked plan into sessions (the worker's job). Safe to run twice or concurrently:
    the plan row is locked and only a plan still *scheduling* is touched.

    The first session is placed exactly where staff chose it: if that time was taken since the
    booking, the plan needs staff attention with the reason. A later session whose slot was
    taken moves inside its protocol window (noted on the plan); when none is left the plan needs
    staff attention, with the reason.
    """
    now = now or timezone.now()
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if plan.status != PlanStatus.SCHEDULING:
            return plan
        _lock_resources(
            patient_ids=[plan.patient_id],
            practitioner_ids=[plan.practitioner_id],
            room_ids=[plan.room_id],
        )
        if plan.first_session_at <= now:
            return _needs_attention(
                plan,
                lambda: gettext(
                    "The wished first session time passed before the course was scheduled."
                ),
            )
        rules = plan_rules(plan)
        search = _course_search(
            rules=rules,
            duration=_duration(plan),
            practitioner_id=plan.practitioner_id,
            room_id=plan.room_id,
            patient_id=plan.patient_id,
            first_day=local_day(plan.first_session_at, clinic_tz()),
            exclude_plan_id=plan.pk,
        )
        result = propose_course(rules=rules, first_start=plan.first_session_at, search=search)
        if isinstance(result, NoFit):
            no_fit = result
            return _needs_attention(plan, lambda: explain_no_fit(no_fit))
        sessions = bulk_create_with_history(
            [
                Session(
                    plan=plan,
                    sequence=proposed.sequence,
                    kind=SessionKind.INITIAL,
                    starts_at=proposed.starts_at,
                    ends_at=proposed.ends_at,
                    practitioner_id=plan.practitioner_id,
                    room_id=plan.room_id,
                    patient_id=plan.patient_id,
                )
                for proposed in result.sessions
            ],
            Session,
            # The worker placed them (maybe not where staff wished): no person to name.
            default_user=None,
            default_change_reason=worker_change_reason() or "scheduled",
        )
        plan.status = PlanStatus.ACTIVE
        moved = result.moved
        notes = set_localized(
            plan,
            "schedule_notes",
            lambda: "\n".join(
                gettext(
                    "Session %(number)s moved from %(wished)s to %(when)s: the preferred slot "
                    "was taken."
                )
                % {
                    "number": s.sequence,
                    "wished": format_when(s.preferred_at),
                    "when": format_when(s.starts_at),
                }
                for s in moved
            ),
        )
        plan.save(update_fields=["status", *notes, "updated_at"])
        reminders_create_for_sessions(plan=plan, sessions=sessions, now=now)
    return plan


@transaction.atomic
def plan_cancel(
    *, plan: TreatmentPlan, reason: str, cancelled_by: User, now: datetime | None = None
) -> TreatmentPlan:
    """Cancel the whole course: its planned sessions and every pending reminder."""
    now = now or timezone.now()
    plan = _lock_plan(plan.pk)
    if plan.status not in OPEN_PLAN_STATUSES:
        raise _invalid(
            "plan",
            gettext("The course is already %(status)s.") % {"status": _status(plan)},
            "not_open",
        )
    if not reason.strip():
        raise _invalid("reason", gettext("Say why the course is cancelled."), "required")
    for session in plan.sessions.filter(status=SessionStatus.PLANNED):
        session.status = SessionStatus.CANCELLED
        session.cancelled_at = now
        session.cancellation_reason = "course cancelled"
        session._history_user = cancelled_by  # type: ignore[attr-defined]
        session.save(update_fields=["status", "cancelled_at", "cancellation_reason", "updated_at"])
    reminders_cancel_pending(plan=plan, reason="course cancelled")
    plan.status = PlanStatus.CANCELLED
    plan.cancelled_at = now
    plan.cancellation_reason = reason.strip()
    plan._history_user = cancelled_by  # type: ignore[attr-defined]
    plan.save(update_fields=["status", "cancelled_at", "cancellation_reason", "updated_at"])
    return plan


# --- Sessions -------------------------------------------------------------------------------


def _lock_session(session: Session, *, practitioner: bool = False) -> tuple[TreatmentPlan, Session]:
    """Lock the session's course, the session and the patient (the order every service locks
    in), and with ``practitioner`` the session's practitioner after them; return the course and
    the session as they are now. One statement: PostgreSQL locks the rows of ``FOR UPDATE OF``
    in the order named, and reads a row changed while it waited again as committed."""
    locked_rows = ("plan", "self", "plan__patient")
    if practitioner:
        try:
            return _locked(session, (*locked_rows, "practitioner"))
        except SessionNotFound:
            # Also when the session was given another practitioner while this waited: the
            # joined row locked no longer matches, so the answer drops the session. Rare: lock
            # the session alone, then whichever practitioner it has now.
            pass
    plan, locked = _locked(session, locked_rows)
    if practitioner:
        _lock_resources(practitioner_ids=[locked.practitioner_id], room_ids=[])
    return plan, locked


def _locked(session: Session, rows: tuple[str, ...]) -> tuple[TreatmentPlan, Session]:
    try:
        locked = (
            Session.objects.select_for_update(of=rows)
            # Neither the room (the services need only its id) nor the course's protocol: each
            # join costs the statement more planning in PostgreSQL, and Django more compiling,
            # than reading the row itself.
            .select_related("plan__patient", "practitioner")
            .get(pk=session.pk)
        )
    except Session.DoesNotExist:
        raise SessionNotFound(f"No session {session.pk}.") from None
    # The protocol from the kept catalogue, read after the locks as every kept value in a
    # transaction is: no query once the transaction has read the versions (it does for the
    # calendar anyway).
    (plan,) = with_protocols([locked.plan])
    return plan, locked


BOOKABLE_ONE_BY_ONE = (SessionKind.MAINTENANCE, SessionKind.INITIAL)


@transaction.atomic
def session_book(
    *,
    plan: TreatmentPlan,
    starts_at: datetime,
    booked_by: User,
    kind: str = SessionKind.MAINTENANCE,
    practitioner: Practitioner | None = None,
    room: Room | None = None,
    now: datetime | None = None,
) -> Session:
    """Book one session of a course at exactly ``starts_at``, or refuse with the reason.

    ``maintenance``: the maintenance session of a course in maintenance (one at a time).
    ``initial``: an extra session at the end of an active course, up to the protocol's most
    sessions and inside its interval window after the course's last session (to replace a
    cancelled one, for instance).
    """
    now = now or timezone.now()
    plan = _lock_plan(plan.pk)
    if kind not in BOOKABLE_ONE_BY_ONE:
        raise ValidationError(
            {
                "kind": gettext(
                    "A maintenance session or an extra course session (initial) can be booked "
                    "on its own, not %(kind)s."
                )
                % {"kind": kind}
            }
        )
    practitioner = practitioner or plan.practitioner
    room = room if room is not None else plan.room
    treatment = plan.template.treatment
    course: list[Session] = []  # the course's sessions still on, for an extra one
    if kind == SessionKind.MAINTENANCE:
        _check_maintenance_bookable(plan)
    else:
        course = _check_course_session_addable(plan)
    _check_future(starts_at, field="starts_at", now=now)
    check_bookable(treatment=treatment, practitioner=practitioner, room=room)
    _lock_resources(
        patient_ids=[plan.patient_id],
        practitioner_ids=[practitioner.pk],
        room_ids=[room.pk if room else None],
    )
    session = Session(
        plan=plan,
        patient=plan.patient,
        sequence=(plan.sessions.aggregate(last=Max("sequence"))["last"] or 0) + 1,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + _duration(treatment),
        practitioner=practitioner,
        room=room,
    )
    if kind == SessionKind.INITIAL and course:
        _check_after_course(plan, session, course[-1])
    _check_slot(session)
    session._history_user = booked_by  # type: ignore[attr-defined]
    _save_session(session)
    reminders_create_for_sessions(plan=plan, sessions=[session], now=now)
    if kind == SessionKind.MAINTENANCE:
        _maintenance_session_booked(plan)
    else:
        if len(course) + 1 > plan.session_count:
            plan.session_count = len(course) + 1
            plan.save(update_fields=["session_count", "updated_at"])
        _course_progress(plan, now=now)
    return session


def _check_maintenance_bookable(plan: TreatmentPlan) -> None:
    if plan.status != PlanStatus.MAINTENANCE:
        raise _invalid(
            "plan",
            gettext(
                "Only a course in maintenance takes a maintenance session; this one is %(status)s."
            )
            % {"status": _status(plan)},
            "not_in_maintenance",
        )
    upcoming = plan.sessions.filter(kind=SessionKind.MAINTENANCE, status=SessionStatus.PLANNED)
    if booked := upcoming.first():
        raise _invalid(
            "plan",
            gettext("A maintenance session is already booked for %(when)s.")
            % {"when": format_when(booked.starts_at)},
            "already_booked",
        )


def _check_course_session_addable(plan: TreatmentPlan) -> list[Session]:
    """The course's sessions still on (not cancelled), when one more may be added."""
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.NEEDS_ATTENTION):
        raise ValidationError(
            {
                "kind": gettext(
                    "Course sessions can be added only while the course is under way; this one "
                    "is %(status)s."
                )
                % {"status": plan.get_status_display().lower()}
            }
        )
    course = list(
        plan.sessions.filter(kind=SessionKind.INITIAL)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("sequence")
    )
    most = plan.template.initial_sessions_max
    if len(course) >= most:
        raise ValidationError(
            {
                "kind": gettext(
                    "The course already has %(count)s sessions, the most %(protocol)s allows."
                )
                % {"count": len(course), "protocol": plan.template}
            }
        )
    return course


def _check_after_course(plan: TreatmentPlan, session: Session, last: Session) -> None:
    """An added course session keeps the protocol's interval after the course's last one."""
    tz = clinic_tz()
    rules = plan_rules(plan)
    last_day = local_day(last.starts_at, tz)
    first_day = last_day + timedelta(days=rules.interval_days_min)
    final_day = last_day + timedelta(days=rules.interval_days_max)
    if first_day <= local_day(session.starts_at, tz) <= final_day:
        return
    search = session_slot_search(
        session, first_day=first_day, last_day=final_day, exclude_plan_id=plan.pk
    )
    raise ProtocolViolationError(
        search.no_fit(
            session.sequence,
            session.starts_at,
            first_day,
            final_day,
            cause=Obstacle.WINDOW,
            previous=(last.sequence, last_day),
            interval_days=(rules.interval_days_min, rules.interval_days_max),
        )
    )


def _maintenance_session_booked(plan: TreatmentPlan, *, reminders_cancelled: bool = False) -> None:
    """A maintenance session is on the books: "time to book" reminders and a "missed" flag no
    longer apply (``reminders_cancelled``: the caller has cancelled the reminders already)."""
    if not reminders_cancelled:
        reminders_cancel_pending(plan=plan, kinds=MAINTENANCE_KINDS, reason="maintenance booked")
    if plan.attention_reason:
        plan.save(update_fields=[*_clear_attention(plan), "updated_at"])


def _off_grid(search: SlotSearch, start: datetime) -> ValidationError:
    """Say which grid times lie either side of an off-grid start."""
    step = search.step
    start_utc = start.astimezone(UTC)
    origin = next(
        opens.astimezone(UTC)
        for opens, closes in search.calendar.periods(local_day(start, clinic_tz()))
        if opens.astimezone(UTC) <= start_utc < closes.astimezone(UTC)
    )
    before = origin + (start_utc - origin) // step * step
    return ValidationError(
        gettext(
            "Sessions start every %(minutes)s minutes from opening time, and %(time)s is not "
            "one of those times: choose %(before)s or %(after)s."
        )
        % {
            "minutes": step // timedelta(minutes=1),
            "time": format_time(start),
            "before": format_time(before),
            "after": format_time(before + step),
        },
        code="off_grid",
    )


def _not_working(search: SlotSearch, session: Session) -> ValidationError:
    day = local_day(session.starts_at, clinic_tz())
    hours = ", ".join(
        f"{format_time(start)}–{format_time(end)}"
        for start, end in search.calendar.working(day) or ()
    )
    values = {
        "practitioner": session.practitioner,
        "day": format_day(day),
        "hours": hours,
    }
    if not hours:
        message = gettext("%(practitioner)s does not work on %(day)s.") % values
    else:
        message = (
            gettext(
                "%(practitioner)s works %(hours)s on %(day)s; the session must fit inside "
                "those hours."
            )
            % values
        )
    return ValidationError(message, code="not_working")


def _on_leave(leave: Interval, session: Session) -> ValidationError:
    values = {
        "practitioner": session.practitioner,
        "start": format_when(leave.start),
        "end": format_when(leave.end),
        "reason": leave.label,
    }
    if leave.label:
        message = (
            gettext("%(practitioner)s is on leave from %(start)s to %(end)s (%(reason)s).") % values
        )
    else:
        message = gettext("%(practitioner)s is on leave from %(start)s to %(end)s.") % values
    return ValidationError(message, code="on_leave")


def _patient_busy(session: Session, *, exclude_plan_id: int | None) -> BookingConflictError:
    """Name the patient's session in the way (one query, only when there is one)."""
    others = (
        Session.objects.filter(
            patient_id=session.patient_id,
            starts_at__lt=session.ends_at,
            ends_at__gt=session.starts_at,
        )
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient", "practitioner", "plan__template__treatment")
        .order_by("starts_at")
    )
    if exclude_plan_id is not None:
        others = others.exclude(plan_id=exclude_plan_id)
    other = others.first()
    if other is None:  # gone since the search read it
        return BookingConflictError(
            gettext("%(patient)s already has another session then.")
            % {"patient": session.plan.patient}
        )
    return BookingConflictError(
        gettext(
            "%(patient)s already has a session from %(start)s to %(end)s (%(treatment)s with "
            "%(practitioner)s)."
        )
        % {
            "patient": other.patient,
            "start": format_when(other.starts_at),
            "end": format_time(other.ends_at),
            "treatment": other.plan.template.treatment,
            "practitioner": other.practitioner,
        }
    )


def _check_slot(
    session: Session,
    *,
    field: str = "starts_at",
    exclude_session_ids: Sequence[int] = (),
    exclude_plan_id: int | None = None,
    search: SlotSearch | None = None,
) -> None:
    """One session at exactly its time: opening hours, the booking grid, the practitioner's
    hours and leave (field errors), and the practitioner's, room's and patient's other sessions
    (booking conflicts). ``search``: one already read for the session's practitioner, room,
    patient, length and exclusions over a range holding its day (2 queries fewer)."""
    if search is None:
        day = local_day(session.starts_at, clinic_tz())
        search = session_slot_search(
            session,
            first_day=day,
            last_day=day,
            exclude_plan_id=exclude_plan_id,
            exclude_session_ids=exclude_session_ids,
        )
    obstacle = search.obstacle(session.starts_at)
    if obstacle is None:
        return
    if obstacle == Obstacle.CLOSED:
        raise _invalid(
            field,
            gettext("The clinic is closed then, or the session would run past closing."),
            "clinic_closed",
        )
    if obstacle == Obstacle.OFF_GRID:
        raise ValidationError({field: _off_grid(search, session.starts_at)})
    if obstacle == Obstacle.NOT_WORKING:
        raise ValidationError({field: _not_working(search, session)})
    leave = search.calendar.leave_during(session.starts_at, session.ends_at)
    if obstacle == Obstacle.ON_LEAVE and leave is not None:
        raise ValidationError({field: _on_leave(leave, session)})
    if obstacle == Obstacle.PATIENT_BUSY:
        raise _patient_busy(session, exclude_plan_id=exclude_plan_id)
    blocker = search.busy.blocking(session.starts_at, session.ends_at) or Interval(
        session.starts_at, session.ends_at
    )
    raise BookingConflictError(
        gettext("%(practitioner)s or the room is already booked from %(start)s to %(end)s.")
        % {
            "practitioner": session.practitioner,
            "start": format_when(blocker.start),
            "end": format_time(blocker.end),
        }
    )


@dataclass(frozen=True)
class RescheduleResult:
    moves: tuple[Move, ...]
    applied: bool


@transaction.atomic
def session_reschedule(
    *,
    session: Session,
    new_start: datetime,
    changed_by: User,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RescheduleResult:
    """Move a planned (or missed) session. Later sessions of the course move as needed to keep
    every protocol window; a move that cannot keep the protocol is refused with the reason.
    With ``dry_run`` the cascade is returned and nothing is changed."""
    now = now or timezone.now()
    plan, session = _lock_session(session, practitioner=True)
    if session.status not in (SessionStatus.PLANNED, SessionStatus.NO_SHOW):
        raise _invalid(
            "session",
            gettext("A %(status)s session cannot be moved.") % {"status": _status(session)},
            "wrong_status",
        )
    if plan.status not in OPEN_PLAN_STATUSES:
        raise _invalid(
            "session",
            gettext("The course is %(status)s.") % {"status": _status(plan)},
            "not_open",
        )
    _check_future(new_start, field="new_start", now=now)
    # The patient and the practitioner are locked with the session.
    _lock_resources(practitioner_ids=[], room_ids=[session.room_id])
    duration = session.ends_at - session.starts_at

    # The session at its new time, for checking the slot: a closed time is a field error, a
    # taken one a booking conflict.
    moved = Session(
        plan=plan,
        patient_id=plan.patient_id,
        starts_at=new_start,
        ends_at=new_start + duration,
        practitioner=session.practitioner,
        room_id=session.room_id,
    )
    if session.kind == SessionKind.MAINTENANCE:
        _check_slot(moved, field="new_start", exclude_plan_id=plan.pk)
        moves: tuple[Move, ...] = (
            Move(session.sequence, session.starts_at, new_start, moved.ends_at),
        )
    else:
        moves = _initial_session_cascade(plan, session, moved)
    if dry_run:
        return RescheduleResult(moves=moves, applied=False)

    # The moved session is locked already; only the later ones it pushes are read here.
    others = [m.sequence for m in moves if m.sequence != session.sequence]
    by_sequence = {session.sequence: session}
    if others:
        by_sequence |= {
            s.sequence: s
            for s in plan.sessions.select_for_update(of=("self",))
            .select_related("practitioner")
            .filter(sequence__in=others)
        }
    # Apply from the far end when moving later, so no session lands on its successor's old slot.
    ordered = sorted(
        moves, key=lambda m: m.old_start, reverse=moves[0].new_start > moves[0].old_start
    )
    changed = []
    for move in ordered:
        target = by_sequence[move.sequence]
        target.starts_at, target.ends_at = move.new_start, move.new_end
        target.revision += 1
        target.status = SessionStatus.PLANNED
        target.updated_at = timezone.now()
        target._history_user = changed_by  # type: ignore[attr-defined]
        target.patient = plan.patient  # loaded with the course: names a conflict
        changed.append(target)
    maintenance = session.kind == SessionKind.MAINTENANCE
    _write_moves(plan, changed, maintenance_booked=maintenance, now=now)
    if maintenance:
        _maintenance_session_booked(plan, reminders_cancelled=True)
    else:
        _course_progress(plan, now=now)
    return RescheduleResult(moves=moves, applied=True)


_MOVED_FIELDS = ("starts_at", "ends_at", "revision", "status", "updated_at")


def _write_moves(
    plan: TreatmentPlan, moved: list[Session], *, maintenance_booked: bool, now: datetime
) -> None:
    """Write the moved sessions in the order given, then their history rows and reminders.

    The last move goes in one statement with the history and the reminders (on PostgreSQL):
    a session, its history and its reminders are different rows. Any earlier ones (a cascade)
    each move in a statement of their own before it, since the database checks that sessions
    do not overlap row by row and runs the parts of one statement in no set order."""
    updates = [
        Update(Session.objects.filter(pk=s.pk), {f: getattr(s, f) for f in _MOVED_FIELDS})
        for s in moved
    ]
    for session, update in zip(moved[:-1], updates[:-1], strict=True):
        with _conflicts_named(session):
            write_as_one(update)
    reminders = reminders_replaced_for_moved(
        plan=plan, sessions=moved, maintenance_booked=maintenance_booked, now=now
    )
    with _conflicts_named(moved[-1]):
        write_as_one(updates[-1], Insert(history_rows(moved)), *reminders)


def _cascade_inputs(
    plan: TreatmentPlan, session: Session, earliest: datetime, latest: datetime
) -> tuple[ProtocolRules, list[BookedSession], SlotSearch]:
    """The course as the cascade sees it and one slot search wide enough for moving ``session``
    anywhere from ``earliest`` to ``latest`` (3 queries)."""
    course = list(
        plan.sessions.filter(kind=SessionKind.INITIAL)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("sequence")
    )
    tz = clinic_tz()
    rules = plan_rules(plan)
    remaining = sum(1 for s in course if s.sequence >= session.sequence)
    first_day = min(local_day(earliest, tz), local_day(course[0].starts_at, tz))
    last_day = max(local_day(latest, tz), local_day(course[-1].starts_at, tz)) + timedelta(
        days=rules.interval_days_max * remaining
    )
    search = session_slot_search(
        session, first_day=first_day, last_day=last_day, exclude_plan_id=plan.pk
    )
    booked = [
        BookedSession(
            s.sequence,
            s.starts_at,
            s.ends_at,
            movable=s.status in (SessionStatus.PLANNED, SessionStatus.NO_SHOW),
        )
        for s in course
    ]
    return rules, booked, search


def _initial_session_cascade(
    plan: TreatmentPlan, session: Session, moved: Session
) -> tuple[Move, ...]:
    """The moves that take ``session`` to ``moved``'s time and keep the course's protocol, or
    the reason there are none. The new slot is checked against the cascade's own read of the
    calendar, which covers its day: the calendar and busy time are read once."""
    new_start = moved.starts_at
    rules, booked, search = _cascade_inputs(plan, session, new_start, new_start)
    _check_slot(moved, field="new_start", exclude_plan_id=plan.pk, search=search)
    result = reschedule_cascade(
        rules=rules, sessions=booked, sequence=session.sequence, new_start=new_start, search=search
    )
    if isinstance(result, NoFit):
        raise ProtocolViolationError(result)
    return result.moves


def session_moves_kept(
    *, session: Session, plan: TreatmentPlan, starts: Sequence[datetime]
) -> list[datetime]:
    """The new starts, among free ones, that keep the course's protocol when the session moves
    there (the later sessions can follow inside their windows): what ``session_reschedule``
    would say for each, from one read of the calendar (3 queries) rather than one dry run each.
    A maintenance session has no windows to keep."""
    if session.kind == SessionKind.MAINTENANCE or not starts:
        return list(starts)
    rules, booked, search = _cascade_inputs(plan, session, min(starts), max(starts))
    return [
        start
        for start in starts
        if not isinstance(
            reschedule_cascade(
                rules=rules,
                sessions=booked,
                sequence=session.sequence,
                new_start=start,
                search=search,
            ),
            NoFit,
        )
    ]


@transaction.atomic
def session_cancel(
    *, session: Session, reason: str, cancelled_by: User, now: datetime | None = None
) -> Session:
    """Cancel one session. The course goes on; if the remaining sessions no longer keep the
    protocol's windows, the plan is flagged for staff attention with the reason."""
    now = now or timezone.now()
    plan, session = _lock_session(session)
    if session.status not in (SessionStatus.PLANNED, SessionStatus.NO_SHOW):
        raise _invalid(
            "session",
            gettext("A %(status)s session cannot be cancelled.") % {"status": _status(session)},
            "wrong_status",
        )
    if not reason.strip():
        raise _invalid("reason", gettext("Say why the session is cancelled."), "required")
    session.status = SessionStatus.CANCELLED
    session.cancelled_at = now
    session.cancellation_reason = reason.strip()
    session._history_user = cancelled_by  # type: ignore[attr-defined]
    session.save(update_fields=["status", "cancelled_at", "cancellation_reason", "updated_at"])
    reminders_cancel_pending(session=session, reason="session cancelled")
    if session.kind == SessionKind.MAINTENANCE:
        _maintenance_session_lost(plan, now=now)
    else:
        _course_progress(plan, now=now)
    return session


def _reactions(codes: Iterable[str], notes: str) -> list[str]:
    chosen = list(dict.fromkeys(codes))
    unknown = [code for code in chosen if code not in Reaction.values]
    if unknown:
        raise _invalid(
            "reactions",
            gettext("Unknown reaction(s): %(unknown)s. Choose from %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(Reaction.values)},
            "invalid_choice",
        )
    if Reaction.OTHER in chosen and not notes.strip():
        raise _invalid("reaction_notes", gettext("Describe the other reaction."), "required")
    return chosen


@transaction.atomic
def session_complete(
    *,
    session: Session,
    completed_by: User,
    reactions: Iterable[str] = (),
    reaction_notes: str = "",
    now: datetime | None = None,
) -> Session:
    """Record that a session took place and what reactions were seen. Completing the course's
    last initial session starts maintenance (due ``maintenance_interval_months`` later)."""
    now = now or timezone.now()
    plan, session = _lock_session(session)
    if session.status != SessionStatus.PLANNED:
        raise _invalid(
            "session",
            gettext("A %(status)s session cannot be completed.") % {"status": _status(session)},
            "wrong_status",
        )
    if session.starts_at > now:
        raise _invalid(
            "session",
            gettext("Session %(number)s starts %(when)s; it can be completed once it has started.")
            % {"number": session.sequence, "when": format_when(session.starts_at)},
            "not_started",
        )
    session.reactions = _reactions(reactions, reaction_notes)
    session.reaction_notes = reaction_notes.strip()
    session.status = SessionStatus.COMPLETED
    session.completed_at = now
    session._history_user = completed_by  # type: ignore[attr-defined]
    session.save(
        update_fields=["reactions", "reaction_notes", "status", "completed_at", "updated_at"]
    )
    if session.kind == SessionKind.MAINTENANCE:
        _next_maintenance(plan, after=local_day(session.starts_at, clinic_tz()), now=now)
    else:
        _course_progress(plan, now=now)
    return session


# How early a patient may be seen in: reception marks arrivals on the day, not ahead of it.
ARRIVAL_EARLIEST = timedelta(hours=3)


@transaction.atomic
def session_mark_arrived(
    *, session: Session, marked_by: User, now: datetime | None = None
) -> Session:
    """Reception saw the patient come in for a planned session today. Marking twice changes
    nothing."""
    now = now or timezone.now()
    _, session = _lock_session(session)
    if session.status != SessionStatus.PLANNED:
        raise _invalid(
            "session",
            gettext("A %(status)s session cannot be marked as arrived.")
            % {"status": _status(session)},
            "wrong_status",
        )
    if session.arrived_at is not None:
        return session
    if not session.starts_at - ARRIVAL_EARLIEST <= now <= session.ends_at:
        raise _invalid(
            "session",
            gettext("Arrival can be marked from 3 hours before the session until it ends."),
            "not_now",
        )
    session.arrived_at = now
    session._history_user = marked_by  # type: ignore[attr-defined]
    session.save(update_fields=["arrived_at", "updated_at"])
    return session


@transaction.atomic
def session_mark_no_show(
    *, session: Session, marked_by: User, now: datetime | None = None
) -> Session:
    """The patient did not come. The course needs staff attention until the missed session is
    moved to a new time or cancelled."""
    now = now or timezone.now()
    plan, session = _lock_session(session)
    if session.status != SessionStatus.PLANNED:
        raise _invalid(
            "session",
            gettext("A %(status)s session cannot be a no-show.") % {"status": _status(session)},
            "wrong_status",
        )
    if session.starts_at > now:
        raise _invalid(
            "session",
            gettext("A session that has not started cannot be a no-show."),
            "not_started",
        )
    session.status = SessionStatus.NO_SHOW
    session._history_user = marked_by  # type: ignore[attr-defined]
    session.save(update_fields=["status", "updated_at"])
    reminders_cancel_pending(session=session, reason="patient did not come")
    if session.kind == SessionKind.MAINTENANCE:
        missed_at = session.starts_at
        _maintenance_session_lost(
            plan,
            now=now,
            reason=lambda: (
                gettext("The maintenance session on %(when)s was missed: book a new one.")
                % {"when": format_when(missed_at)}
            ),
        )
    else:
        _course_progress(plan, now=now)
    return session


# --- Course progress ------------------------------------------------------------------------


def _course_progress(plan: TreatmentPlan, *, now: datetime) -> None:
    """Re-derive the plan's state from its initial sessions after any change to them: a missed
    session, no session left, fewer sessions than the protocol's fewest, or a gap outside the
    protocol's window needs staff attention; the last session completed starts maintenance."""
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.NEEDS_ATTENTION):
        return
    tz = clinic_tz()
    course = list(
        plan.sessions.filter(kind=SessionKind.INITIAL)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("sequence")
    )
    least = plan.template.initial_sessions_min
    if course and len(course) >= least and all(s.status == SessionStatus.COMPLETED for s in course):
        _start_maintenance(plan, last_day=local_day(course[-1].starts_at, tz), now=now)
        return
    if _course_problem(plan, course):
        _needs_attention(plan, lambda: _course_problem(plan, course))
    elif plan.status == PlanStatus.NEEDS_ATTENTION:
        plan.status = PlanStatus.ACTIVE
        plan.save(update_fields=["status", *_clear_attention(plan), "updated_at"])


def _course_problem(plan: TreatmentPlan, course: list[Session]) -> str:
    """Why a running course needs staff, or "" when it keeps its protocol."""
    tz = clinic_tz()
    missed = [s for s in course if s.status == SessionStatus.NO_SHOW]
    if missed:
        return gettext(
            "Session %(number)s was missed on %(when)s: move it to a new time or cancel it."
        ) % {"number": missed[0].sequence, "when": format_when(missed[0].starts_at)}
    if not course:
        return gettext(
            "Every session of the course was cancelled: cancel the course or book a new one."
        )
    least = plan.template.initial_sessions_min
    if len(course) < least:
        # Fewer sessions than the protocol needs: maintenance must not start on its own.
        return ngettext(
            "Only %(left)s session of the course is left after cancellations; the protocol "
            "needs at least %(least)s: add a session or cancel the course.",
            "Only %(left)s sessions of the course are left after cancellations; the protocol "
            "needs at least %(least)s: add a session or cancel the course.",
            len(course),
        ) % {"left": len(course), "least": least}
    rules = plan_rules(plan)
    for previous, current in itertools.pairwise(course):
        gap = (local_day(current.starts_at, tz) - local_day(previous.starts_at, tz)).days
        if not rules.interval_days_min <= gap <= rules.interval_days_max:
            return gettext(
                "Session %(number)s is %(gap)s days after session %(previous)s; the protocol "
                "allows %(low)s–%(high)s: move it or cancel the course."
            ) % {
                "number": current.sequence,
                "gap": gap,
                "previous": previous.sequence,
                "low": rules.interval_days_min,
                "high": rules.interval_days_max,
            }
    return ""


def _start_maintenance(plan: TreatmentPlan, *, last_day: date, now: datetime) -> None:
    months = plan.template.maintenance_interval_months
    if months is None:
        plan.status = PlanStatus.COMPLETED
        plan.save(update_fields=["status", *_clear_attention(plan), "updated_at"])
        return
    plan.status = PlanStatus.MAINTENANCE
    plan.save(update_fields=["status", *_clear_attention(plan), "updated_at"])
    _next_maintenance(plan, after=last_day, now=now)


def _next_maintenance(plan: TreatmentPlan, *, after: date, now: datetime) -> None:
    months = plan.template.maintenance_interval_months
    if months is None:
        return
    plan.maintenance_due_on = add_months(after, months)
    plan.maintenance_cycle += 1
    plan.save(
        update_fields=[
            "maintenance_due_on",
            "maintenance_cycle",
            *_clear_attention(plan),
            "updated_at",
        ]
    )
    reminders_create_for_maintenance(plan=plan, now=now)


def _maintenance_session_lost(
    plan: TreatmentPlan, *, now: datetime, reason: Callable[[], str] | None = None
) -> None:
    """A booked maintenance session will not happen: the patient is reminded again (reminders
    still ahead come back), and a missed one is flagged for staff."""
    if plan.status != PlanStatus.MAINTENANCE:
        return
    reminders_rearm_maintenance(plan=plan, now=now)
    if reason is not None:
        fields = set_localized(plan, "attention_reason", reason)
        plan.save(update_fields=[*fields, "updated_at"])


# --- Practitioners' leave -------------------------------------------------------------------

LEAVE_CONFLICTS_SHOWN = 10


def leave_validate(*, leave: Leave) -> None:
    """Refuse leave over sessions the practitioner still has booked, naming the sessions that
    need moving first (one query). Sessions that took place or were missed do not count."""
    interval = leave_interval(leave)
    booked = list(
        Session.objects.filter(
            practitioner_id=leave.practitioner_id,
            status=SessionStatus.PLANNED,
            starts_at__lt=interval.end,
            ends_at__gt=interval.start,
        )
        .select_related("patient", "plan__template__treatment")
        .order_by("starts_at", "pk")[: LEAVE_CONFLICTS_SHOWN + 1]
    )
    if not booked:
        return
    shown = [
        gettext("%(when)s (%(patient)s, %(treatment)s session %(number)s)")
        % {
            "when": format_when(session.starts_at),
            "patient": session.patient,
            "treatment": session.plan.template.treatment.display_name,
            "number": session.sequence,
        }
        for session in booked[:LEAVE_CONFLICTS_SHOWN]
    ]
    if len(booked) > LEAVE_CONFLICTS_SHOWN:
        shown.append(gettext("and more"))
    message = ngettext(
        "%(practitioner)s has a session booked during this leave; move or cancel it first: "
        "%(sessions)s.",
        "%(practitioner)s has sessions booked during this leave; move or cancel them first: "
        "%(sessions)s.",
        len(booked),
    ) % {"practitioner": leave.practitioner, "sessions": "; ".join(shown)}
    raise ValidationError(message, code="sessions_booked")


@transaction.atomic
def leave_save(*, leave: Leave, saved_by: User) -> Leave:
    """Record (or change) a practitioner's leave. Refused, changing nothing, when it is not well
    formed or a booked session falls in it. Holds the practitioner's booking lock, so no session
    can be booked into the leave while it is checked."""
    leave.full_clean()
    _lock_resources(practitioner_ids=[leave.practitioner_id], room_ids=[])
    leave_validate(leave=leave)
    leave._history_user = saved_by  # type: ignore[attr-defined]
    leave.save()
    return leave


# --- Patients' calendar address ---------------------------------------------------------------


@transaction.atomic
def calendar_feed_renew(*, patient: Patient) -> CalendarFeed:
    """Give the patient a new secret calendar address; the old one stops working at once."""
    feed, created = CalendarFeed.objects.select_for_update().get_or_create(
        patient=patient, defaults={"token": secrets.token_urlsafe(24)}
    )
    if not created:
        feed.token = secrets.token_urlsafe(24)
        feed.save(update_fields=["token", "created_at"])
    return feed
