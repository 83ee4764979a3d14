"""Benchmark A: plan and book many 4-session Rejuran courses for 50 practitioners.

Two paths are measured on the same database:

* bulk — every course planned in memory with the pure planner (one SlotSearch per practitioner,
  loaded once, each placed session added to its busy set), then plans and sessions written in one
  transaction; the exclusion constraints check every row. Run twice on the same empty calendars,
  with two ways of writing: bulk_create (the ORM's multi-row INSERT) and COPY ... FROM STDIN in
  CSV (what a bulk import would use), each run checked in SQL afterwards;
* service — ``plan_book`` then ``plan_schedule`` per course, as the web request and the worker do.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from psycopg2.sql import SQL, Identifier

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
from scheduling.planner import (
    Interval,
    NoFit,
    Proposal,
    ProtocolRules,
    SlotSearch,
    local_day,
    propose_course,
)
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
class Planned:
    """The courses placed by the pure planner, ready to be written."""

    rules: ProtocolRules
    placed: list[tuple[CourseRequest, Proposal]]
    load_seconds: float
    propose_seconds: float
    busy_add_seconds: float
    no_fit: int


@dataclass
class Inserted:
    plans_seconds: float
    sessions_seconds: float
    plan_ids: list[int]
    sessions: int
    csv_seconds: float = 0.0  # COPY only: building the CSV text in Python (included above)


@dataclass
class BulkResult:
    variant: str
    courses: int
    load_seconds: float
    propose_seconds: float
    busy_add_seconds: float
    insert_plans_seconds: float
    insert_sessions_seconds: float
    csv_seconds: float
    plan_ids: list[int]
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


def plan_courses(requests: Sequence[CourseRequest], *, template: ProtocolTemplate) -> Planned:
    """Every course placed in memory: one SlotSearch per practitioner, loaded once, and each
    placed session added to its busy set."""
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
    return Planned(rules, placed, load_seconds, propose.seconds, busy_add.seconds, no_fit)


def _plan_fields(
    planned: Planned, *, template: ProtocolTemplate, booked_by: User
) -> dict[str, Any]:
    """The plan fields every bulk-booked course shares."""
    return {
        "template": template,
        "booked_by": booked_by,
        "status": PlanStatus.ACTIVE,
        "session_count": planned.rules.session_count,
        "interval_days": planned.rules.interval_days_preferred,
    }


SESSION_FIELDS = {"kind": SessionKind.INITIAL, "room": None}  # shared by every bulk session


def _plan_objects(
    planned: Planned, *, template: ProtocolTemplate, booked_by: User
) -> list[TreatmentPlan]:
    shared = _plan_fields(planned, template=template, booked_by=booked_by)
    return [
        TreatmentPlan(
            patient_id=request.patient_id,
            practitioner_id=request.practitioner_id,
            first_session_at=request.first_start,
            schedule_notes=_moved_notes(proposal),
            **shared,
        )
        for request, proposal in planned.placed
    ]


def _session_objects(plans: Sequence[TreatmentPlan], planned: Planned) -> list[Session]:
    return [
        Session(
            plan=plan,
            sequence=proposed.sequence,
            starts_at=proposed.starts_at,
            ends_at=proposed.ends_at,
            practitioner_id=plan.practitioner_id,
            patient_id=plan.patient_id,
            **SESSION_FIELDS,
        )
        for plan, (_, proposal) in zip(plans, planned.placed, strict=True)
        for proposed in proposal.sessions
    ]


def insert_bulk_create(
    planned: Planned, *, template: ProtocolTemplate, booked_by: User
) -> Inserted:
    """Plans then sessions with bulk_create (multi-row INSERT ... RETURNING id), one transaction."""
    with transaction.atomic():
        started = time.perf_counter()
        plans = TreatmentPlan.objects.bulk_create(
            _plan_objects(planned, template=template, booked_by=booked_by),
            batch_size=fixtures.BATCH,
        )
        plans_done = time.perf_counter()
        sessions = Session.objects.bulk_create(
            _session_objects(plans, planned), batch_size=fixtures.BATCH
        )
    # Measured after the commit: deferred work at commit time (the foreign keys are
    # DEFERRABLE INITIALLY DEFERRED) belongs to the insert too.
    finished = time.perf_counter()
    return Inserted(
        plans_seconds=plans_done - started,
        sessions_seconds=finished - plans_done,
        plan_ids=[plan.pk for plan in plans],
        sessions=len(sessions),
    )


def _db_value(field: models.Field, obj: models.Model) -> object:
    """The value bulk_create would write for this field of this object."""
    value = field.pre_save(obj, add=True)  # defaults are set; auto_now(_add) takes the time
    if isinstance(field, models.JSONField):
        return None if value is None else json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection)


def _copy(
    cursor: Any,
    prototype: models.Model,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> tuple[int, float]:
    """COPY rows into the prototype's table in CSV. ``columns`` (attnames) vary per row and come
    in database form (ints, text, aware datetimes); every other concrete column gets, once for
    all rows, the value bulk_create would write for ``prototype`` (field defaults, auto_now and
    auto_now_add as one timestamp, like ``DEFAULT now()`` in one transaction). The primary key
    is left to the database unless given. None is written unquoted (NULL in PostgreSQL's CSV)
    and everything else quoted, so an empty string stays ''. Returns the rows copied and the
    seconds spent building the CSV text in Python (the rows included)."""
    model = type(prototype)
    fields = {field.attname: field for field in model._meta.concrete_fields}
    if unknown := set(columns) - fields.keys():
        raise ValueError(f"not columns of {model.__name__}: {sorted(unknown)}")
    shared = [
        field for name, field in fields.items() if name not in columns and not field.primary_key
    ]
    names = [*columns, *(field.attname for field in shared)]
    statement = SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        Identifier(model._meta.db_table),
        SQL(", ").join(Identifier(fields[name].column) for name in names),
    )
    started = time.perf_counter()
    values = tuple(_db_value(field, prototype) for field in shared)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")
    writer.writerows((*row, *values) for row in rows)
    buffer.seek(0)
    built = time.perf_counter() - started
    cursor.copy_expert(statement, buffer)
    return cursor.rowcount, built


def insert_copy(planned: Planned, *, template: ProtocolTemplate, booked_by: User) -> Inserted:
    """Plans then sessions with COPY ... FROM STDIN (CSV), one transaction, rows written straight
    from the planner's output (no model instances). The sessions need their plans' ids, so the
    ids are reserved first from the plan id sequence in one query (nextval: unique even with
    concurrent writers) and written with the plans. Same tables, so same constraints: both
    exclusion constraints, the checks and the unique (plan, sequence) per row, the deferred
    foreign keys at commit."""
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [TreatmentPlan._meta.db_table, len(planned.placed)],
        )
        plan_ids = [plan_id for (plan_id,) in cursor.fetchall()]
        copied_plans, plans_csv = _copy(
            cursor,
            TreatmentPlan(**_plan_fields(planned, template=template, booked_by=booked_by)),
            ["id", "patient_id", "practitioner_id", "first_session_at", "schedule_notes"],
            (
                (
                    plan_id,
                    request.patient_id,
                    request.practitioner_id,
                    request.first_start,
                    _moved_notes(proposal),
                )
                for plan_id, (request, proposal) in zip(plan_ids, planned.placed, strict=True)
            ),
        )
        plans_done = time.perf_counter()
        copied_sessions, sessions_csv = _copy(
            cursor,
            Session(**SESSION_FIELDS),
            ["plan_id", "sequence", "starts_at", "ends_at", "practitioner_id", "patient_id"],
            (
                (
                    plan_id,
                    s.sequence,
                    s.starts_at,
                    s.ends_at,
                    request.practitioner_id,
                    request.patient_id,
                )
                for plan_id, (request, proposal) in zip(plan_ids, planned.placed, strict=True)
                for s in proposal.sessions
            ),
        )
    finished = time.perf_counter()  # after the commit, as for bulk_create
    sessions = sum(len(proposal.sessions) for _, proposal in planned.placed)
    if (copied_plans, copied_sessions) != (len(plan_ids), sessions):
        raise AssertionError(
            f"COPY wrote {copied_plans:,} plans and {copied_sessions:,} sessions, "
            f"expected {len(plan_ids):,} and {sessions:,}"
        )
    return Inserted(
        plans_seconds=plans_done - started,
        sessions_seconds=finished - plans_done,
        plan_ids=plan_ids,
        sessions=copied_sessions,
        csv_seconds=plans_csv + sessions_csv,
    )


INSERTS: dict[str, Callable[..., Inserted]] = {
    "bulk_create": insert_bulk_create,
    "COPY": insert_copy,
}


def bulk_path(
    requests: Sequence[CourseRequest], *, variant: str, template: ProtocolTemplate, booked_by: User
) -> BulkResult:
    """Plan every course in memory, then write them with one of the insert variants."""
    planned = plan_courses(requests, template=template)
    inserted = INSERTS[variant](planned, template=template, booked_by=booked_by)
    return BulkResult(
        variant=variant,
        courses=len(requests),
        load_seconds=planned.load_seconds,
        propose_seconds=planned.propose_seconds,
        busy_add_seconds=planned.busy_add_seconds,
        insert_plans_seconds=inserted.plans_seconds,
        insert_sessions_seconds=inserted.sessions_seconds,
        csv_seconds=inserted.csv_seconds,
        plan_ids=inserted.plan_ids,
        sessions=inserted.sessions,
        moved=sum(len(proposal.moved) for _, proposal in planned.placed),
        no_fit=planned.no_fit,
    )


def delete_courses(plan_ids: Sequence[int]) -> None:
    """Remove a bulk run's plans and sessions (raw SQL: no history rows; the bulk path writes no
    reminders), then VACUUM so the next variant does not meet their dead index entries."""
    ids = list(plan_ids)
    with connection.cursor() as cursor:
        with transaction.atomic():
            cursor.execute("DELETE FROM scheduling_session WHERE plan_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM scheduling_treatmentplan WHERE id = ANY(%s)", [ids])
        # Outside any transaction (Django autocommit), as VACUUM requires.
        cursor.execute("VACUUM ANALYZE scheduling_session, scheduling_treatmentplan")


def content_digest(plan_ids: Sequence[int]) -> str:
    """A digest of what was written for these plans, ids and write timestamps left out, so two
    variants that wrote the same courses give the same digest."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT md5(coalesce(string_agg(ROW(
                    p.patient_id, p.template_id, p.practitioner_id, p.room_id, p.status,
                    p.session_count, p.interval_days, p.first_session_at, p.booked_by_id,
                    p.override_reason, p.overridden_conditions, p.attention_reason,
                    p.schedule_notes, p.maintenance_due_on, p.maintenance_cycle, p.cancelled_at,
                    p.cancellation_reason, s.sequence, s.kind, s.starts_at, s.ends_at,
                    s.practitioner_id, s.room_id, s.status, s.reactions::text, s.reaction_notes,
                    s.revision, s.completed_at, s.cancelled_at, s.cancellation_reason
                )::text, E'\n' ORDER BY p.patient_id, p.first_session_at, s.sequence), ''))
            FROM scheduling_treatmentplan p JOIN scheduling_session s ON s.plan_id = p.id
            WHERE p.id = ANY(%s)
            """,
            [list(plan_ids)],
        )
        (digest,) = cursor.fetchone()
    return digest


# --- Checks in SQL --------------------------------------------------------------------------


@dataclass
class Verification:
    exclusion_constraints: list[str]
    overlapping_sessions: int
    gaps_checked: int
    gaps_outside_window: int
    plans_with_wrong_count: int
    plans: int
    sessions: int


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
        cursor.execute(
            """
            SELECT count(DISTINCT p.id), count(s.id) FROM scheduling_treatmentplan p
            LEFT JOIN scheduling_session s ON s.plan_id = p.id
            WHERE p.practitioner_id = ANY(%s)
            """,
            [ids],
        )
        plans, sessions = cursor.fetchone()
    return Verification(
        constraints, overlapping, gaps_checked, outside, wrong_count, plans, sessions
    )


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

    low, high = template.interval_days_min, template.interval_days_max
    # Both variants plan and write the same courses on the same empty calendars: bulk_create
    # first, checked, then its rows deleted (and vacuumed) and the whole path run again with
    # COPY, which is checked too and left in place for the service path.
    runs: dict[str, tuple[BulkResult, Verification]] = {}
    digests: dict[str, str] = {}
    for number, variant in enumerate(INSERTS, start=1):
        progress(f"A: bulk path with {variant}, {courses:,} courses")
        result = bulk_path(bulk_requests, variant=variant, template=template, booked_by=booked_by)
        runs[variant] = (result, verify(practitioner_ids, low=low, high=high))
        digests[variant] = content_digest(result.plan_ids)
        if number < len(INSERTS):
            delete_courses(result.plan_ids)
    progress(f"A: service path, {service_courses:,} courses")
    service = service_path(service_requests, template=template, booked_by=booked_by)
    after_both = verify(practitioner_ids, low=low, high=high)

    table = Table(
        f"A. Plan and book {courses:,} Rejuran courses ({SESSIONS_PER_COURSE} sessions each, "
        f"{PRACTITIONERS} practitioners, first sessions on weekdays from {first_day} for a year)",
        ["measure", "figure", "target", "met"],
    )
    full_size = courses == TARGET_COURSES
    target = "< 5 s" if full_size else f"(< 5 s at {TARGET_COURSES:,})"
    same_rows = len(set(digests.values())) == 1
    for letter, (variant, (bulk, checks)) in zip("ab", runs.items(), strict=True):
        how = "one transaction" + (", plan ids from nextval" if variant == "COPY" else "")
        table.add(
            f"({letter}) bulk path with {variant}: total wall time",
            secs(bulk.total_seconds),
            target,
            met(bulk.total_seconds < TARGET_SECONDS) if full_size else "",
        )
        table.add("    planning (pure planner, in memory)", secs(bulk.plan_seconds))
        table.add(
            "      load calendars + busy sets (3 queries/practitioner)", secs(bulk.load_seconds)
        )
        table.add("      propose_course", secs(bulk.propose_seconds))
        table.add("      BusySet.add of placed sessions", secs(bulk.busy_add_seconds))
        table.add(f"    inserting ({variant}, {how})", secs(bulk.insert_seconds))
        table.add("      plans", secs(bulk.insert_plans_seconds))
        table.add(
            "      sessions (exclusion constraints checked) + commit",
            secs(bulk.insert_sessions_seconds),
        )
        if variant == "COPY":
            table.add("      of which building the CSV in Python", secs(bulk.csv_seconds))
        table.add("    plans / sessions written", f"{len(bulk.plan_ids):,} / {bulk.sessions:,}")
        table.add("    sessions/second, end to end", count(bulk.sessions / bulk.total_seconds))
        table.add("    sessions/second, insert only", count(bulk.sessions / bulk.insert_seconds))
        table.add("    sessions moved off their preferred slot", count(bulk.moved))
        table.add("    courses that did not fit", count(bulk.no_fit))
        table.add(
            "    plans / sessions found in the database",
            f"{checks.plans:,} / {checks.sessions:,}",
            f"{len(bulk.plan_ids):,} / {bulk.sessions:,}",
            met(checks.plans == len(bulk.plan_ids) and checks.sessions == bulk.sessions),
        )
        if variant == "COPY":
            table.add(
                "    same rows as the bulk_create run (digest)",
                "same" if same_rows else "DIFFERENT",
                "same",
                met(same_rows),
            )
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
            f"    gaps outside {low}–{high} days (of {checks.gaps_checked:,})",
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
    table.add(f"(c) service path: {service.courses:,} courses", secs(service.seconds))
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
    constraints = runs["COPY"][1].exclusion_constraints
    table.note(verdict(runs, full_size=full_size))
    table.note(
        "Exclusion constraints found in pg_constraint: " + (", ".join(constraints) or "none")
    )
    table.note(
        "Both bulk variants run the whole path (planning included) on the same empty calendars "
        "and write the same courses into the same tables, so the same constraints check every "
        "row, the deferred foreign keys at commit; times are taken after the commit. bulk_create "
        "runs first; its rows are then deleted and the tables vacuumed before the COPY run, whose "
        "rows stay for the service path. The SQL checks run after each variant."
    )
    table.note(
        "The bulk path writes plans and sessions only: no history rows and no reminders, which "
        "plan_schedule also writes (about 4 history rows and 12 reminders per course)."
    )
    table.note(
        "Service path: scheduling.services._enqueue_scheduling is patched to a no-op in this "
        "process (nothing is sent to a broker); plan_schedule is called directly after plan_book. "
        "It runs after the bulk path, on the same practitioners' calendars filled by the COPY run."
    )
    table.print()


def verdict(runs: dict[str, tuple[BulkResult, Verification]], *, full_size: bool) -> str:
    """Which insert variant met the target, in a sentence; COPY is the bulk-import choice."""
    totals = {variant: bulk.total_seconds for variant, (bulk, _) in runs.items()}
    figures = ", ".join(f"{variant} {secs(total)}" for variant, total in totals.items())
    if not full_size:
        return (
            f"Target < 5 s applies to {TARGET_COURSES:,} courses and is not judged at this size "
            f"(end to end here: {figures}). A bulk import would use COPY."
        )
    passed = [variant for variant, total in totals.items() if total < TARGET_SECONDS]
    failed = [variant for variant in totals if variant not in passed]
    if not passed:
        said = f"Target < 5 s NOT met by either variant ({figures})."
    elif not failed:
        said = f"Target < 5 s met by both variants ({figures})."
    else:
        said = (
            f"Target < 5 s met with {' and '.join(passed)}, not with {' and '.join(failed)} "
            f"({figures})."
        )
    return said + " A bulk import would use COPY; bulk_create stays as the ORM baseline."
