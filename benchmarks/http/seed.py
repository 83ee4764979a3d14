"""A large clinic, seeded deterministically for the HTTP benchmark, and the accounts it logs in
with.

Courses are planned and written by the bulk path of benchmark A (``booking.plan_courses`` then
``booking.insert_copy``), reminders by benchmark B's generator (``reminders.insert_reminders``),
people by ``fixtures``; what is added here is what a clinic two years into its life looks like:
past sessions completed, finished courses in maintenance, a few courses needing attention,
sessions in rooms, and patients with names to search for.
"""

from __future__ import annotations

import heapq
import random
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as clock

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.utils import timezone

from benchmarks import booking, fixtures, reminders
from benchmarks.http.sizes import WRITER_PREFIX, Sizes
from benchmarks.report import progress
from clinic.roles import Role
from clinic.tokens import api_token_create
from patients.models import Language, Patient, ReminderChannel
from scheduling.models import (
    PlanStatus,
    Practitioner,
    Reminder,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import local_datetime, local_day
from scheduling.selectors import clinic_calendar, clinic_tz
from treatments.models import ProtocolTemplate

SEED = 20261201
PREFIX = "bench-http"  # practitioners' usernames: bench-http-0 … bench-http-48
STAFF_USERNAME = "bench-http-staff"
PATIENT_USERNAME = "bench-http-patient"
PORTAL_EMAIL = "bench-http-portal@example.com"  # finds the portal patient again on --reuse
HISTORY_DAYS = 365  # first sessions from a year ago …
FUTURE_DAYS = 365 - 90  # … to a year ahead, less a course's length
WRITE_PATH_FIRST_DAY = 3  # the write path's sessions start this many days ahead
NEEDS_ATTENTION_EVERY = 100  # one course under way in this many has a missed session


@contextmanager
def step(label: str, timings: dict[str, float]) -> Iterator[None]:
    progress(label)
    started = time.perf_counter()
    yield
    timings[label] = time.perf_counter() - started


# --- People ---------------------------------------------------------------------------------

# Korean family names roughly as common as they are in Korea (Kim about one in five), so a
# search for "kim" finds what it would find in a Seoul clinic.
FAMILY_NAMES = [
    ("Kim", 21),
    ("Lee", 15),
    ("Park", 8),
    ("Choi", 5),
    ("Jung", 4),
    ("Kang", 2),
    ("Cho", 2),
    ("Yoon", 2),
    ("Jang", 2),
    ("Lim", 2),
    ("Han", 1),
    ("Oh", 1),
    ("Seo", 1),
    ("Shin", 1),
    ("Kwon", 1),
    ("Hwang", 1),
    ("Ahn", 1),
    ("Song", 1),
    ("Smith", 1),
    ("Garcia", 1),
]
GIVEN_NAMES = [
    "Ji-woo", "Seo-yeon", "Min-jun", "Ha-eun", "Do-yun", "Seo-ah", "Ji-ho", "Ha-rin", "Ye-jin",
    "Su-bin", "Hye-jin", "Eun-ji", "Yu-na", "Da-eun", "Min-seo", "So-yeon", "Ji-min", "Hyun-woo",
    "Jae-won", "Na-rae", "Emma", "Olivia", "Mia", "Sophie", "Grace",
]  # fmt: skip


def make_patients(number: int, rng: random.Random) -> list[Patient]:
    """Patients with names, phone numbers and email addresses; the first is the portal patient."""
    families = [name for name, _ in FAMILY_NAMES]
    weights = [weight for _, weight in FAMILY_NAMES]
    patients = []
    for i in range(number):
        family, given = rng.choices(families, weights)[0], rng.choice(GIVEN_NAMES)
        if i == 0:
            family, given = "Kim", "Seo-yeon"
        patients.append(
            Patient(
                family_name=family,
                given_name=given,
                date_of_birth=date(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365)),
                phone=f"010-{rng.randrange(2000, 10000)}-{i % 10000:04d}",
                email=(
                    PORTAL_EMAIL
                    if i == 0
                    else f"{given.lower().replace('-', '')}.{family.lower()}{i}@example.com"
                ),
                preferred_language=Language.ENGLISH if i == 0 or i % 4 == 0 else Language.KOREAN,
                reminder_channel=ReminderChannel.EMAIL if i % 3 == 0 else ReminderChannel.SMS,
            )
        )
    return Patient.objects.bulk_create(patients, batch_size=fixtures.BATCH)


def make_rooms(number: int) -> list[Room]:
    return Room.objects.bulk_create([Room(name=f"Room {i + 1}") for i in range(number)])


# --- Courses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """Who the special rows belong to."""

    portal_patient: Patient
    portal_practitioner: Practitioner
    writer: Practitioner
    write_patients: list[Patient]
    course_patients: list[Patient]
    regulars: list[Practitioner]


def _open_day(day: date, *, weekdays: Sequence[int]) -> date:
    while day.weekday() not in weekdays:
        day += timedelta(days=1)
    return day


def course_requests(
    sizes: Sizes, cast: Cast, *, today: date, length: timedelta, rng: random.Random
) -> list[booking.CourseRequest]:
    """First sessions for every course, spread over two years around today, in booking order.

    The portal patient's three courses come first, on empty calendars, so they land exactly:
    one long finished (completed), one finished half a year ago (maintenance), one under way.
    A patient's courses are all with the same practitioner, whose busy set then keeps them from
    overlapping (the planner does not look at the patient's other sessions)."""
    tz = clinic_tz()
    calendar = clinic_calendar(first_day=today, last_day=today)
    open_days = sorted(calendar.opening_hours)

    def at(day: date) -> datetime:
        return fixtures.random_start(rng, calendar, day, length)

    def random_day(first: int, last: int) -> date:
        return _open_day(today + timedelta(days=rng.randint(first, last)), weekdays=open_days)

    weekdays = [d for d in open_days if d < 5]
    portal = [
        booking.CourseRequest(
            cast.portal_patient.pk,
            cast.portal_practitioner.pk,
            local_datetime(
                _open_day(today - timedelta(days=ago), weekdays=weekdays), clock(11), tz
            ),
        )
        for ago in (350, 196, 30)
    ]
    writes = [  # finished months ago; their maintenance sessions are the writer's
        booking.CourseRequest(
            patient.pk, rng.choice(cast.regulars).pk, at(random_day(-HISTORY_DAYS, -150))
        )
        for patient in cast.write_patients
    ]
    practitioner_of = {p.pk: rng.choice(cast.regulars).pk for p in cast.course_patients}
    regular = [
        booking.CourseRequest(
            patient.pk,
            practitioner_of[patient.pk],
            at(random_day(-HISTORY_DAYS, FUTURE_DAYS)),
        )
        for i in range(sizes.courses - len(portal) - len(writes))
        for patient in [cast.course_patients[i % len(cast.course_patients)]]
    ]
    rng.shuffle(regular)
    return [*portal, *writes, *regular]


@dataclass(frozen=True)
class Booked:
    plans: list[tuple[booking.CourseRequest, int]]  # in booking order, with the plan's id
    moved: int  # later sessions moved off their preferred slot
    not_booked: list[booking.CourseRequest]


def book_courses(
    requests: Sequence[booking.CourseRequest],
    *,
    template: ProtocolTemplate,
    booked_by: User,
    rng: random.Random,
    today: date,
    rounds: int = 10,
) -> Booked:
    """Plan every course with the pure planner and write it with COPY, in rounds: a first
    session is never moved, so a request whose first time another course took is asked again
    at another time within a few days, on calendars that now hold the earlier rounds."""
    calendar = clinic_calendar(first_day=today, last_day=today)  # the weekly opening hours
    length = timedelta(minutes=template.treatment.session_minutes)
    tz = clinic_tz()
    plans: list[tuple[booking.CourseRequest, int]] = []
    moved = 0
    pending = list(requests)
    for _ in range(rounds):
        planned = booking.plan_courses(pending, template=template)
        inserted = booking.insert_copy(planned, template=template, booked_by=booked_by)
        placed = {id(request) for request, _ in planned.placed}
        plans += [
            (request, plan_id)
            for (request, _), plan_id in zip(planned.placed, inserted.plan_ids, strict=True)
        ]
        moved += sum(len(proposal.moved) for _, proposal in planned.placed)
        pending = [
            replace(request, first_start=fixtures.random_start(rng, calendar, day, length))
            for request in pending
            if id(request) not in placed
            for day in [
                _open_day(
                    local_day(request.first_start, tz) + timedelta(days=rng.randint(-3, 3)),
                    weekdays=sorted(calendar.opening_hours),
                )
            ]
        ]
        if not pending:
            break
    return Booked(plans, moved, pending)


SESSIONS_DONE_SQL = """
UPDATE scheduling_session
SET status = 'completed', completed_at = ends_at, arrived_at = starts_at - interval '5 minutes'
WHERE ends_at <= %(now)s AND status = 'planned'
"""

# Courses with no session left to come are in maintenance, due the protocol's months after the
# local day of their last session (PostgreSQL clamps to the month's end, as add_months does);
# with a protocol that has no maintenance, completed.
MAINTENANCE_SQL = """
UPDATE scheduling_treatmentplan p
SET status = CASE WHEN t.maintenance_interval_months IS NULL THEN 'completed'
                  ELSE 'maintenance' END,
    maintenance_cycle = CASE WHEN t.maintenance_interval_months IS NULL THEN 0 ELSE 1 END,
    maintenance_due_on = (last.day + make_interval(months => t.maintenance_interval_months))::date
FROM (
    SELECT plan_id, (max(starts_at) AT TIME ZONE %(tz)s)::date AS day
    FROM scheduling_session GROUP BY plan_id
    HAVING bool_and(status <> 'planned')
) last, treatments_protocoltemplate t
WHERE p.id = last.plan_id AND t.id = p.template_id
"""

# A missed session on one course under way in a hundred: Today lists them for staff to fix.
NEEDS_ATTENTION_SQL = """
WITH missed AS (
    SELECT DISTINCT ON (s.plan_id) s.id, s.plan_id, s.sequence
    FROM scheduling_session s JOIN scheduling_treatmentplan p ON p.id = s.plan_id
    WHERE p.status = 'active' AND p.id %% %(every)s = 0 AND NOT p.id = ANY(%(keep)s)
      AND s.status = 'completed'
    ORDER BY s.plan_id, s.starts_at DESC
), marked AS (
    UPDATE scheduling_session s SET status = 'no_show', completed_at = NULL, arrived_at = NULL
    FROM missed WHERE s.id = missed.id
    RETURNING s.plan_id, s.sequence
)
UPDATE scheduling_treatmentplan p
SET status = 'needs_attention',
    attention_reason = format('Session %%s was missed: move it or cancel it.', marked.sequence),
    attention_reason_ko = format('%%s회차에 오지 않았습니다: 옮기거나 취소하세요.', marked.sequence)
FROM marked WHERE p.id = marked.plan_id
"""


def settle_courses(*, portal_plan_ids: Sequence[int], now: datetime) -> None:
    """Past sessions completed, finished courses in maintenance, the portal patient's oldest
    course completed, and a few courses with a missed session, in set-based SQL."""
    oldest, *_ = portal_plan_ids
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SESSIONS_DONE_SQL, {"now": now})
        cursor.execute(MAINTENANCE_SQL, {"tz": str(clinic_tz())})
        cursor.execute(
            "UPDATE scheduling_treatmentplan SET status = 'completed', maintenance_due_on = NULL, "
            "maintenance_cycle = 0 WHERE id = %s",
            [oldest],
        )
        cursor.execute(
            NEEDS_ATTENTION_SQL, {"every": NEEDS_ATTENTION_EVERY, "keep": list(portal_plan_ids)}
        )


def assign_rooms(rooms: Sequence[Room]) -> tuple[int, int]:
    """Put every session in a room free at its time (interval partitioning in start order, the
    lowest-numbered free room first); a session finding every room taken keeps none. Returns
    (sessions in a room, sessions without)."""
    sessions = list(
        Session.objects.order_by("starts_at", "pk").values_list("pk", "starts_at", "ends_at")
    )
    free = [room.pk for room in rooms]
    heapq.heapify(free)
    busy: list[tuple[datetime, int]] = []  # (ends at, room) of rooms in use
    ids, room_ids, without = [], [], 0
    for pk, starts_at, ends_at in sessions:
        while busy and busy[0][0] <= starts_at:  # back-to-back is free
            heapq.heappush(free, heapq.heappop(busy)[1])
        if not free:
            without += 1
            continue
        room = heapq.heappop(free)
        heapq.heappush(busy, (ends_at, room))
        ids.append(pk)
        room_ids.append(room)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scheduling_session s SET room_id = v.room_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, room_id) WHERE s.id = v.id",
            [ids, room_ids],
        )
    return len(ids), without


def write_path_slots(number: int, *, today: date, length: timedelta) -> list[datetime]:
    """Starts on the hour from a few days ahead, each with its time and 15 minutes later free:
    the session and the next one an hour apart leave room for the move (back-to-back)."""
    calendar = clinic_calendar(first_day=today, last_day=today)
    tz, gap = clinic_tz(), timedelta(minutes=15)
    slots: list[datetime] = []
    day = today + timedelta(days=WRITE_PATH_FIRST_DAY)
    while len(slots) < number:
        for opens, closes in sorted(calendar.opening_hours.get(day.weekday(), ())):
            start = local_datetime(day, opens, tz)
            while start + gap + length <= local_datetime(day, closes, tz) and len(slots) < number:
                slots.append(start)
                start += timedelta(hours=1)
        day += timedelta(days=1)
    return slots


def book_write_path(
    plans: Sequence[TreatmentPlan], *, writer: Practitioner, today: date, length: timedelta
) -> int:
    """One planned maintenance session for each of these courses (in maintenance), all with the
    writer, who has nothing else booked: the write path's moves meet only each other."""
    starts = write_path_slots(len(plans), today=today, length=length)
    sessions = Session.objects.bulk_create(
        [
            Session(
                plan=plan,
                patient_id=plan.patient_id,
                practitioner=writer,
                sequence=plan.session_count + 1,
                kind=SessionKind.MAINTENANCE,
                starts_at=start,
                ends_at=start + length,
            )
            for plan, start in zip(plans, starts, strict=True)
        ]
    )
    return len(sessions)


@dataclass(frozen=True)
class SeedReport:
    timings: dict[str, float]
    moved: int
    no_fit: int
    in_rooms: int
    without_room: int


def seed_clinic(sizes: Sizes) -> SeedReport:
    """Everything but the accounts, on a migrated and seeded (``manage.py seed``) database."""
    rng = fixtures.seeded_random(SEED)
    timings: dict[str, float] = {}
    now = timezone.now()
    today = local_day(now, clinic_tz())
    template: ProtocolTemplate = fixtures.rejuran()
    length = timedelta(minutes=template.treatment.session_minutes)
    with step(f"people: {sizes.practitioners} practitioners, {sizes.patients:,} patients", timings):
        staff = fixtures.staff_user(STAFF_USERNAME)
        regulars = fixtures.practitioners(sizes.practitioners - 1, prefix=PREFIX, template=template)
        (writer,) = fixtures.practitioners(1, prefix=WRITER_PREFIX, template=template)
        rooms = make_rooms(sizes.rooms)
        patients = make_patients(sizes.patients, rng)
    cast = Cast(
        portal_patient=patients[0],
        portal_practitioner=regulars[0],
        writer=writer,
        write_patients=patients[-sizes.write_sessions :],
        course_patients=patients[1 : -sizes.write_sessions],
        regulars=regulars,
    )
    with step(f"courses: plan {sizes.courses:,} in memory, write them with COPY", timings):
        requests = course_requests(sizes, cast, today=today, length=length, rng=rng)
        booked = book_courses(requests, template=template, booked_by=staff, rng=rng, today=today)
    portal_plans = [  # oldest first, as they were requested
        plan_id for request, plan_id in booked.plans if request.patient_id == cast.portal_patient.pk
    ]
    with step("courses: complete the past, maintenance, courses needing attention", timings):
        settle_courses(portal_plan_ids=portal_plans, now=now)
    with step(f"rooms: put sessions in {sizes.rooms} rooms", timings):
        in_rooms, without = assign_rooms(rooms)
    with step(f"write path: {sizes.write_sessions} maintenance sessions", timings):
        writer_plans = list(
            TreatmentPlan.objects.filter(
                patient__in=cast.write_patients, status=PlanStatus.MAINTENANCE
            ).order_by("pk")
        )
        book_write_path(writer_plans, writer=writer, today=today, length=length)
    with step(f"reminders: {sizes.reminders:,} rows", timings):
        reminders.insert_reminders([pk for _, pk in booked.plans], rows=sizes.reminders)
    with step("VACUUM ANALYZE", timings), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return SeedReport(timings, booked.moved, len(booked.not_booked), in_rooms, without)


# --- Accounts and what the load test asks for -----------------------------------------------


@dataclass(frozen=True)
class Accounts:
    staff_username: str
    staff_password: str
    patient_username: str
    patient_password: str
    token: str  # the staff user's API token


def prepare_accounts() -> Accounts:
    """Fresh passwords and a fresh API token on every run (raw tokens are never stored, so one
    from an earlier run cannot be read back on --reuse)."""
    staff_password, patient_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    staff = User.objects.get(username=STAFF_USERNAME)
    staff.set_password(staff_password)
    staff.save(update_fields=["password"])
    staff.groups.add(Group.objects.get(name=Role.STAFF))
    patient_user, _ = User.objects.get_or_create(username=PATIENT_USERNAME)
    patient_user.set_password(patient_password)
    patient_user.save(update_fields=["password"])
    patient_user.groups.add(Group.objects.get(name=Role.PATIENT))
    # update(), not save(): the history of the patient record is not what is measured.
    Patient.objects.filter(email=PORTAL_EMAIL).update(user=patient_user)
    _, token = api_token_create(
        user=staff, name=f"{PREFIX} {timezone.now():%Y-%m-%d %H:%M}", created_by=None
    )
    return Accounts(STAFF_USERNAME, staff_password, PATIENT_USERNAME, patient_password, token)


@dataclass(frozen=True)
class Targets:
    """The rows and days the endpoints are asked about."""

    patient_id: int  # the portal patient: three courses, one under way and one in maintenance
    practitioner_id: int  # the portal patient's practitioner, an ordinary calendar
    day: date  # the next weekday from today: the calendar day, and the start of free slots
    week_first: date
    week_last: date
    write_sessions: list[int]


def find_targets(sizes: Sizes) -> Targets:
    now = timezone.now()
    patient = Patient.objects.get(email=PORTAL_EMAIL)
    practitioner_id = (
        TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE)
        .values_list("practitioner_id", flat=True)
        .get()
    )
    day = _open_day(local_day(now, clinic_tz()), weekdays=range(5))
    monday = day - timedelta(days=day.weekday())
    write_sessions = list(
        Session.objects.filter(
            practitioner__user__username=f"{WRITER_PREFIX}-0",
            kind=SessionKind.MAINTENANCE,
            status=SessionStatus.PLANNED,
            starts_at__gt=now + timedelta(days=1),  # still movable on a later --reuse
        )
        .order_by("starts_at")
        .values_list("pk", flat=True)[: sizes.write_sessions]
    )
    return Targets(
        patient.pk, practitioner_id, day, monday, monday + timedelta(days=6), write_sessions
    )


def reschedule_moves(session_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """For each session: (id, where to move it next, where after that). Every write-path session
    sits on the hour or a quarter past it (its slot starts on the hour, as the seeded opening
    hours do); it moves to the other one and back."""
    tz = clinic_tz()
    moves = []
    for pk, starts_at in Session.objects.filter(pk__in=session_ids).values_list("pk", "starts_at"):
        here = starts_at.astimezone(tz)
        on_the_hour = here.replace(minute=0, second=0, microsecond=0)
        quarter_past = on_the_hour + timedelta(minutes=15)
        there = quarter_past if here == on_the_hour else on_the_hour
        moves.append((pk, there.isoformat(), here.isoformat()))
    return sorted(moves)


@dataclass(frozen=True)
class Counts:
    practitioners: int
    rooms: int
    patients: int
    courses: int
    sessions: int
    past_sessions: int
    reminders: int


def counts() -> Counts:
    """What the database holds (read back, so a --reuse run reports what it measured on)."""
    now = timezone.now()
    return Counts(
        practitioners=Practitioner.objects.count(),
        rooms=Room.objects.count(),
        patients=Patient.objects.count(),
        courses=TreatmentPlan.objects.count(),
        sessions=Session.objects.count(),
        past_sessions=Session.objects.filter(starts_at__lt=now).count(),
        reminders=Reminder.objects.count(),
    )
