"""Benchmark A: plan and book many 4-session Rejuran courses for 50 practitioners.

Two paths are measured on the same database:

* bulk — every course planned in memory with the pure planner (one SlotSearch per practitioner,
  loaded once, each placed session added to its busy set), then plans and sessions written with
  bulk_create in one transaction; the exclusion constraints check every row;
* service — ``plan_book`` then ``plan_schedule`` per course, as the web request and the worker do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction

from benchmarks import fixtures
from benchmarks.report import Stopwatch, Table, count, met, progress, secs
from patients.models import Patient
from scheduling import services
from scheduling.errors import ProtocolViolationError
from scheduling.messages import format_when
from scheduling.models import (
    PlanStatus,
    Practitioner,
    Session,
    SessionKind,
    TreatmentPlan,
)
from scheduling.planner import Interval, NoFit, Proposal, SlotSearch, local_day, propose_course
from scheduling.selectors import clinic_calendar, clinic_tz, slot_search
from treatments.models import ProtocolTemplate

PRACTITIONERS = 50
SESSIONS_PER_COURSE = 4
TARGET_SECONDS = 5.0
TARGET_COURSES = 10_000  # the target is for this many, whatever size this run uses
YEAR_OF_WEEKS = 52


@dataclass(frozen=True)
class CourseRequest:
    patient_id: int
    practitioner_id: int
    first_start: datetime


def course_requests(
    number: int,
    *,
    practitioner_ids: Sequence[int],
    patient_ids: Sequence[int],
    first_day: date,
    seed: int,
) -> list[CourseRequest]:
    """First sessions spread over opening hours on the weekdays of a year, in booking order
    (random, not chronological), so practitioners' days fill up and some sessions must move."""
    rng = fixtures.seeded_random(seed)
    calendar = clinic_calendar(first_day=first_day, last_day=first_day)
    weekdays = [
        day
        for offset in range(YEAR_OF_WEEKS * 7)
        if (day := first_day + timedelta(days=offset)).weekday() < 5
    ]
    length = timedelta(minutes=45)
    return [
        CourseRequest(
            patient_id=patient_ids[i],
            practitioner_id=rng.choice(practitioner_ids),
            first_start=fixtures.random_start(rng, calendar, rng.choice(weekdays), length),
        )
        for i in range(number)
    ]


# --- Bulk path ------------------------------------------------------------------------------


@dataclass
class BulkResult:
    courses: int
    load_seconds: float
    propose_seconds: float
    busy_add_seconds: float
    insert_plans_seconds: float
    insert_sessions_seconds: float
    sessions: int
    moved: int
    no_fit: int

    @property
    def plan_seconds(self) -> float:
        return self.load_seconds + self.propose_seconds + self.busy_add_seconds

    @property
    def insert_seconds(self) -> float:
        return self.insert_plans_seconds + self.insert_sessions_seconds

    @property
    def total_seconds(self) -> float:
        return self.plan_seconds + self.insert_seconds


def _moved_notes(proposal: Proposal) -> str:
    # The same note plan_schedule writes, so a bulk-booked plan reads like a service-booked one.
    return "\n".join(
        f"Session {s.sequence} moved from {format_when(s.preferred_at, 'en')} to "
        f"{format_when(s.starts_at, 'en')}: the preferred slot was taken."
        for s in proposal.moved
    )


def bulk_path(
    requests: Sequence[CourseRequest], *, template: ProtocolTemplate, booked_by: User
) -> BulkResult:
    rules = services.course_rules(
        template=template, session_count=SESSIONS_PER_COURSE, interval_days=None
    )
    duration = timedelta(minutes=template.treatment.session_minutes)
    tz = clinic_tz()
    first_day = min(local_day(r.first_start, tz) for r in requests)
    last_day = max(local_day(r.first_start, tz) for r in requests) + timedelta(
        days=rules.interval_days_max * (rules.session_count - 1)
    )

    started = time.perf_counter()
    # One search per practitioner over the whole horizon: 3 queries each, whatever the volume.
    searches: dict[int, SlotSearch] = {
        practitioner_id: slot_search(
            practitioner_id=practitioner_id,
            room_id=None,
            duration=duration,
            first_day=first_day,
            last_day=last_day,
        )
        for practitioner_id in sorted({r.practitioner_id for r in requests})
    }
    load_seconds = time.perf_counter() - started

    propose, busy_add = Stopwatch(), Stopwatch()
    placed: list[tuple[CourseRequest, Proposal]] = []
    no_fit = 0
    for request in requests:
        search = searches[request.practitioner_id]
        with propose.running():
            result = propose_course(rules=rules, first_start=request.first_start, search=search)
        if isinstance(result, NoFit):
            no_fit += 1
            continue
        with busy_add.running():
            for session in result.sessions:
                search.busy.add(Interval(session.starts_at, session.ends_at))
        placed.append((request, result))

    with transaction.atomic():
        started = time.perf_counter()
        plans = TreatmentPlan.objects.bulk_create(
            [
                TreatmentPlan(
                    patient_id=request.patient_id,
                    template=template,
                    practitioner_id=request.practitioner_id,
                    status=PlanStatus.ACTIVE,
                    session_count=rules.session_count,
                    interval_days=rules.interval_days_preferred,
                    first_session_at=request.first_start,
                    booked_by=booked_by,
                    schedule_notes=_moved_notes(proposal),
                )
                for request, proposal in placed
            ],
            batch_size=fixtures.BATCH,
        )
        plans_done = time.perf_counter()
        sessions = Session.objects.bulk_create(
            [
                Session(
                    plan=plan,
                    sequence=proposed.sequence,
                    kind=SessionKind.INITIAL,
                    starts_at=proposed.starts_at,
                    ends_at=proposed.ends_at,
                    practitioner_id=plan.practitioner_id,
                    room=None,
                )
                for plan, (_, proposal) in zip(plans, placed, strict=True)
                for proposed in proposal.sessions
            ],
            batch_size=fixtures.BATCH,
        )
    # Measured after the commit: deferred work at commit time belongs to the insert too.
    finished = time.perf_counter()
    return BulkResult(
        courses=len(requests),
        load_seconds=load_seconds,
        propose_seconds=propose.seconds,
        busy_add_seconds=busy_add.seconds,
        insert_plans_seconds=plans_done - started,
        insert_sessions_seconds=finished - plans_done,
        sessions=len(sessions),
        moved=sum(len(proposal.moved) for _, proposal in placed),
        no_fit=no_fit,
    )


# --- Checks in SQL --------------------------------------------------------------------------


@dataclass
class Verification:
    exclusion_constraints: list[str]
    overlapping_sessions: int
    gaps_checked: int
    gaps_outside_window: int
    plans_with_wrong_count: int


def verify(practitioner_ids: Sequence[int], *, low: int, high: int) -> Verification:
    """Recheck the guarantees independently of the application code."""
    ids = list(practitioner_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'scheduling_session'::regclass AND contype = 'x' ORDER BY conname"
        )
        constraints = [name for (name,) in cursor.fetchall()]
        # Sorted by start, a session overlaps an earlier one iff it starts before the latest
        # end seen so far for that practitioner.
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT starts_at, max(ends_at) OVER (
                    PARTITION BY practitioner_id ORDER BY starts_at, id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                ) AS latest_end
                FROM scheduling_session
                WHERE status <> 'cancelled' AND practitioner_id = ANY(%s)
            ) ordered
            WHERE latest_end > starts_at
            """,
            [ids],
        )
        (overlapping,) = cursor.fetchone()
        # Gaps in local calendar days, as the planner counts them.
        cursor.execute(
            """
            SELECT count(gap), count(*) FILTER (WHERE gap NOT BETWEEN %s AND %s) FROM (
                SELECT (s.starts_at AT TIME ZONE %s)::date
                    - lag((s.starts_at AT TIME ZONE %s)::date)
                      OVER (PARTITION BY s.plan_id ORDER BY s.sequence) AS gap
                FROM scheduling_session s
                JOIN scheduling_treatmentplan p ON p.id = s.plan_id
                WHERE p.practitioner_id = ANY(%s) AND s.kind = 'initial' AND s.status <> 'cancelled'
            ) gaps
            WHERE gap IS NOT NULL
            """,
            [low, high, str(clinic_tz()), str(clinic_tz()), ids],
        )
        gaps_checked, outside = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FROM scheduling_treatmentplan p
            WHERE p.practitioner_id = ANY(%s) AND p.status = 'active'
              AND p.session_count <> (SELECT count(*) FROM scheduling_session s
                                      WHERE s.plan_id = p.id AND s.kind = 'initial')
            """,
            [ids],
        )
        (wrong_count,) = cursor.fetchone()
    return Verification(constraints, overlapping, gaps_checked, outside, wrong_count)


# --- Service path ---------------------------------------------------------------------------


@dataclass
class ServiceResult:
    courses: int
    seconds: float
    queries: int
    scheduled: int
    moved: int
    no_fit: int
    needs_attention: int


@contextmanager
def no_enqueue() -> Iterator[None]:
    """plan_book hands the plan to Celery on commit; here nothing may reach a broker, and the
    benchmark calls plan_schedule itself. Patched in this process only, and put back after."""
    original = services._enqueue_scheduling
    services._enqueue_scheduling = lambda plan_id: None  # type: ignore[assignment]
    try:
        yield
    finally:
        services._enqueue_scheduling = original  # type: ignore[assignment]


@contextmanager
def query_counter() -> Iterator[list[int]]:
    """Counts statements without the debug cursor's overhead (CaptureQueriesContext)."""
    counted = [0]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        counted[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counted


def service_path(
    requests: Sequence[CourseRequest], *, template: ProtocolTemplate, booked_by: User
) -> ServiceResult:
    practitioners = Practitioner.objects.in_bulk({r.practitioner_id for r in requests})
    patients = Patient.objects.in_bulk([r.patient_id for r in requests])
    scheduled = moved = no_fit = attention = 0
    with no_enqueue(), query_counter() as queries:
        started = time.perf_counter()
        for request in requests:
            try:
                plan = services.plan_book(
                    patient=patients[request.patient_id],
                    template=template,
                    practitioner=practitioners[request.practitioner_id],
                    first_start=request.first_start,
                    booked_by=booked_by,
                    session_count=SESSIONS_PER_COURSE,
                )
            except ProtocolViolationError:
                no_fit += 1
                continue
            plan = services.plan_schedule(plan_id=plan.pk)
            if plan.status == PlanStatus.ACTIVE:
                scheduled += 1
                moved += len(plan.schedule_notes.splitlines())
            else:
                attention += 1
        seconds = time.perf_counter() - started
    return ServiceResult(len(requests), seconds, queries[0], scheduled, moved, no_fit, attention)


# --- Benchmark ------------------------------------------------------------------------------


def run(*, courses: int, service_courses: int) -> None:
    progress(
        f"A: creating {PRACTITIONERS} practitioners and {courses + service_courses:,} patients"
    )
    template = fixtures.rejuran()
    booked_by = fixtures.staff_user()
    people = fixtures.practitioners(PRACTITIONERS, prefix="bench-a", template=template)
    patient_ids = [p.pk for p in fixtures.patients(courses + service_courses, prefix="a")]
    practitioner_ids = [p.pk for p in people]
    first_day = fixtures.next_monday(after_days=7)
    requests = course_requests(
        courses + service_courses,
        practitioner_ids=practitioner_ids,
        patient_ids=patient_ids,
        first_day=first_day,
        seed=20261124,
    )
    bulk_requests, service_requests = requests[:courses], requests[courses:]

    progress(f"A: bulk path, {courses:,} courses")
    bulk = bulk_path(bulk_requests, template=template, booked_by=booked_by)
    checks = verify(
        practitioner_ids, low=template.interval_days_min, high=template.interval_days_max
    )
    progress(f"A: service path, {service_courses:,} courses")
    service = service_path(service_requests, template=template, booked_by=booked_by)
    after_both = verify(
        practitioner_ids, low=template.interval_days_min, high=template.interval_days_max
    )

    table = Table(
        f"A. Plan and book {courses:,} Rejuran courses ({SESSIONS_PER_COURSE} sessions each, "
        f"{PRACTITIONERS} practitioners, first sessions on weekdays from {first_day} for a year)",
        ["measure", "figure", "target", "met"],
    )
    full_size = courses == TARGET_COURSES
    table.add(
        "(a) bulk path: total wall time",
        secs(bulk.total_seconds),
        "< 5 s" if full_size else f"(< 5 s at {TARGET_COURSES:,})",
        met(bulk.total_seconds < TARGET_SECONDS) if full_size else "",
    )
    table.add("    planning (pure planner, in memory)", secs(bulk.plan_seconds))
    table.add("      load calendars + busy sets (3 queries/practitioner)", secs(bulk.load_seconds))
    table.add("      propose_course", secs(bulk.propose_seconds))
    table.add("      BusySet.add of placed sessions", secs(bulk.busy_add_seconds))
    table.add("    inserting (bulk_create, one transaction)", secs(bulk.insert_seconds))
    table.add("      plans", secs(bulk.insert_plans_seconds))
    table.add("      sessions (exclusion constraints checked)", secs(bulk.insert_sessions_seconds))
    table.add("    sessions inserted", count(bulk.sessions))
    table.add("    sessions/second, end to end", count(bulk.sessions / bulk.total_seconds))
    table.add("    sessions/second, insert only", count(bulk.sessions / bulk.insert_seconds))
    table.add("    sessions moved off their preferred slot", count(bulk.moved))
    table.add("    courses that did not fit", count(bulk.no_fit))
    table.add(
        "    exclusion constraints on session",
        len(checks.exclusion_constraints),
        "2",
        met(len(checks.exclusion_constraints) == 2),
    )
    table.add(
        "    overlapping sessions (SQL check)",
        count(checks.overlapping_sessions),
        "0",
        met(checks.overlapping_sessions == 0),
    )
    table.add(
        f"    gaps outside {template.interval_days_min}–{template.interval_days_max} days "
        f"(of {checks.gaps_checked:,})",
        count(checks.gaps_outside_window),
        "0",
        met(checks.gaps_outside_window == 0),
    )
    table.add(
        "    active plans without all their sessions",
        count(checks.plans_with_wrong_count),
        "0",
        met(checks.plans_with_wrong_count == 0),
    )
    per_course = service.seconds / max(service.courses, 1)
    table.add(f"(b) service path: {service.courses:,} courses", secs(service.seconds))
    table.add("    courses/second", f"{service.courses / service.seconds:,.1f}")
    table.add("    per course", f"{per_course * 1000:,.1f} ms")
    table.add(
        "    queries per course (plan_book + plan_schedule)",
        f"{service.queries / max(service.courses, 1):,.1f}",
    )
    table.add(
        f"    extrapolated to {TARGET_COURSES:,} courses",
        secs(per_course * TARGET_COURSES),
        "< 5 s",
        met(per_course * TARGET_COURSES < TARGET_SECONDS),
    )
    table.add("    scheduled / moved sessions", f"{service.scheduled:,} / {service.moved:,}")
    table.add(
        "    did not fit / needs attention", f"{service.no_fit:,} / {service.needs_attention:,}"
    )
    table.add(
        "    overlapping sessions after both paths",
        count(after_both.overlapping_sessions),
        "0",
        met(after_both.overlapping_sessions == 0),
    )
    table.note(
        "Exclusion constraints found in pg_constraint: "
        + (", ".join(checks.exclusion_constraints) or "none")
    )
    table.note(
        "The bulk path writes plans and sessions only: no history rows and no reminders, which "
        "plan_schedule also writes (about 4 history rows and 12 reminders per course)."
    )
    table.note(
        "Service path: scheduling.services._enqueue_scheduling is patched to a no-op in this "
        "process (nothing is sent to a broker); plan_schedule is called directly after plan_book. "
        "It runs after the bulk path, on the same practitioners' filled calendars."
    )
    table.print()
