"""Values kept between requests by area: the logged-in user, the clinic calendar and the
reminder rules outlive bookings (which change everything else), and are read afresh on the
first request after their own tables change, whichever way they were written. These tests
commit for real (transactional database), as production does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from time import sleep
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.data_version import (
    Area,
    data_version,
    request_began,
    request_ended,
    statement_areas,
)
from clinic.formatting import local_day
from clinic.tokens import api_token_create
from patients.models import Consent, ConsentKind, MedicalFlag, Patient, PatientConcern
from scheduling.calendar_rules import calendar_rules
from scheduling.models import (
    Closure,
    Leave,
    PlanStatus,
    Practitioner,
    ReminderKind,
    ReminderRule,
    Room,
    Session,
    SessionKind,
    TreatmentPlan,
)
from scheduling.selectors import practitioner_roster
from scheduling.services import leave_save
from tests.factories import PractitionerFactory, SessionFactory, TreatmentPlanFactory
from tests.helpers import SESSION, hold
from tests.timeutil import seoul, upcoming
from treatments.models import Contraindication, ProtocolTemplate, SkinConcern

pytestmark = [pytest.mark.page_cache, pytest.mark.usefixtures("catalogue")]

Count = Callable[..., Any]


# --- Which versions a statement raises -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "areas"),
    [
        ('SELECT "x" FROM "auth_user"', set()),
        ("(SELECT 1) UNION ALL (SELECT 2)", set()),
        ('SAVEPOINT "s1"', set()),
        ("BEGIN IMMEDIATE", set()),
        ('UPDATE "django_session" SET "session_data" = %s', set()),
        (
            'INSERT INTO "patients_patient" ("family_name") VALUES (%s)',
            {Area.ALL, Area.ACCOUNTS, Area.PATIENT_RECORDS},
        ),
        ('UPDATE "patients_medicalflag" SET x = 1', {Area.ALL, Area.PATIENT_RECORDS}),
        ('DELETE FROM "patients_patientconcern"', {Area.ALL, Area.PATIENT_RECORDS}),
        ('INSERT INTO "patients_consent" ("kind") VALUES (%s)', {Area.ALL, Area.PATIENT_RECORDS}),
        ('WITH moved AS (UPDATE "scheduling_session" SET x = 1) SELECT 1', {Area.ALL}),
        (
            'WITH changed AS (UPDATE "scheduling_reminder" SET x = 1) '
            'INSERT INTO "scheduling_reminder" ("kind") VALUES (%s) ON CONFLICT DO NOTHING',
            {Area.ALL},
        ),
        (
            'WITH gone AS (DELETE FROM "scheduling_leave" RETURNING 1) '
            'INSERT INTO "patients_patientaccess" ("kind") VALUES (%s)',
            {Area.ALL, Area.CALENDAR},
        ),
        ('WITH a AS (INSERT INTO "patients_patientaccess" ("kind") VALUES (1)) SELECT 1', set()),
        ("WITH found AS (SELECT 1) SELECT * FROM found FOR UPDATE", set(Area)),
        ('UPDATE "scheduling_session" SET "status" = %s', {Area.ALL}),
        ('UPDATE "auth_user" SET "is_active" = false', {Area.ALL, Area.ACCOUNTS}),
        ('DELETE FROM "auth_user_groups" WHERE "user_id" = %s', {Area.ALL, Area.ACCOUNTS}),
        ('UPDATE "clinic_apitoken" SET "revoked_at" = %s', {Area.ALL, Area.ACCOUNTS}),
        ('INSERT INTO "scheduling_closure" ("reason") VALUES (%s)', {Area.ALL, Area.CALENDAR}),
        ('DELETE FROM "scheduling_leave" WHERE "id" = %s', {Area.ALL, Area.CALENDAR}),
        ('UPDATE "scheduling_reminderrule" SET x = 1', {Area.ALL, Area.REMINDER_RULES}),
        ('INSERT INTO "patients_patientaccess" ("patient_id") VALUES (%s)', set()),
        ('INSERT OR IGNORE INTO "scheduling_reminder" ("kind") VALUES (%s)', {Area.ALL}),
        ('TRUNCATE "scheduling_closure"', set(Area)),
        ('UPDATE "scheduling_practitioner" SET "is_active" = %s', {Area.ALL, Area.RESOURCES}),
        (
            'INSERT INTO "scheduling_practitioner_treatments" ("practitioner_id") VALUES (%s)',
            {Area.ALL, Area.RESOURCES},
        ),
        (
            'UPDATE "treatments_treatment" SET "is_active" = %s',
            {Area.ALL, Area.RESOURCES, Area.CATALOGUE, Area.PATIENT_RECORDS},
        ),
        ('UPDATE "treatments_protocoltemplate" SET x = 1', {Area.ALL, Area.CATALOGUE}),
        ('DELETE FROM "treatments_protocolmilestone"', {Area.ALL, Area.CATALOGUE}),
        (
            'UPDATE "treatments_skinconcern" SET x = 1',
            {Area.ALL, Area.CATALOGUE, Area.PATIENT_RECORDS},
        ),
        ('DELETE FROM "scheduling_room" WHERE "id" = %s', {Area.ALL, Area.RESOURCES}),
        ("VACUUM ANALYZE scheduling_session", set()),
        ("ANALYZE", set()),
    ],
)
def test_a_write_raises_the_version_of_everything_and_of_its_tables_area(
    sql: str, areas: set[Area]
) -> None:
    assert statement_areas(sql) == areas


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_maintenance_runs_outside_a_transaction_and_raises_nothing() -> None:
    before = {area: data_version(area) for area in Area}

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scheduling_closure")  # refused inside a transaction

    assert {area: data_version(area) for area in Area} == before


@pytest.fixture
def course(kim: Practitioner, patient: Any) -> TreatmentPlan:
    """A course of Dr. Kim's, made before anything is measured (its patient is an account)."""
    return TreatmentPlanFactory(practitioner=kim, patient=patient, status=PlanStatus.ACTIVE)


def book(course: TreatmentPlan, start: datetime) -> Session:
    """A session of the course, in one transaction (the session and its history)."""
    with transaction.atomic():
        return SessionFactory(plan=course, starts_at=start, ends_at=start + SESSION)


def test_a_booking_raises_the_overall_version_only(course: TreatmentPlan) -> None:
    before = {area: data_version(area) for area in Area}

    book(course, seoul(upcoming(2), 11))

    after = {area: data_version(area) for area in Area}
    assert after[Area.ALL] == before[Area.ALL] + 1
    assert {a: v for a, v in after.items() if a != Area.ALL} == {
        a: v for a, v in before.items() if a != Area.ALL
    }


def test_one_transaction_raises_each_area_it_wrote_once(course: TreatmentPlan) -> None:
    before = {area: data_version(area) for area in Area}

    with transaction.atomic():
        Closure.objects.create(starts_on=upcoming(3), ends_on=upcoming(3), reason="Training")
        Closure.objects.create(starts_on=upcoming(4), ends_on=upcoming(4), reason="Training")
        book(course, seoul(upcoming(2), 11))

    after = {area: data_version(area) for area in Area}
    assert after[Area.ALL] == before[Area.ALL] + 1
    assert after[Area.CALENDAR] == before[Area.CALENDAR] + 1
    assert after[Area.ACCOUNTS] == before[Area.ACCOUNTS]


@pytest.mark.postgres
def test_a_writer_waiting_for_a_row_does_not_hold_the_versions(patient: Patient) -> None:
    """One transaction changes the calendar, then waits for a patient another holds; that one
    changes the calendar too and commits. Were the versions raised at each write rather than
    just before COMMIT, the first would hold the calendar's version row while it waits, the
    second would wait for that row: a deadlock, and one of the two changes lost."""
    holds_the_patient, first_has_written = threading.Event(), threading.Event()
    failures: list[str] = []

    def close(day: int, reason: str) -> None:
        Closure.objects.create(starts_on=upcoming(day), ends_on=upcoming(day), reason=reason)

    def first() -> None:
        try:
            holds_the_patient.wait(5)
            with transaction.atomic():
                close(3, "First")
                first_has_written.set()
                Patient.objects.select_for_update().get(pk=patient.pk)  # waits for second
        except Exception as error:  # reported by the assertion below
            failures.append(repr(error))
        finally:
            first_has_written.set()
            connections.close_all()

    def second() -> None:
        try:
            with transaction.atomic():
                Patient.objects.select_for_update().get(pk=patient.pk)
                holds_the_patient.set()
                first_has_written.wait(5)
                close(4, "Second")
        except Exception as error:  # reported by the assertion below
            failures.append(repr(error))
        finally:
            holds_the_patient.set()
            connections.close_all()

    before = data_version(Area.CALENDAR)
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(Closure.objects.values_list("reason", flat=True)) == ["First", "Second"]
    assert data_version(Area.CALENDAR) == before + 2


def test_a_write_made_by_an_on_commit_callback_leaves_the_transactions_own_areas(
    staff_user: User,
) -> None:
    before = {area: data_version(area) for area in Area}

    with transaction.atomic():
        # Registered before the transaction's first write, run before its version raise.
        transaction.on_commit(
            lambda: Closure.objects.create(starts_on=upcoming(3), ends_on=upcoming(3), reason="x")
        )
        User.objects.filter(pk=staff_user.pk).update(first_name="Min")

    after = {area: data_version(area) for area in Area}
    assert after[Area.ACCOUNTS] == before[Area.ACCOUNTS] + 1
    assert after[Area.CALENDAR] == before[Area.CALENDAR] + 1


def test_inside_a_transaction_the_calendar_is_as_the_transaction_first_reads_it(
    kim: Practitioner,
) -> None:
    # A booking locks the practitioner, then checks the calendar: a closure saved by another
    # process after the request began must be seen, not the rules kept for its version.
    day = upcoming(2)

    def closure_elsewhere() -> None:
        Closure.objects.create(starts_on=day, ends_on=day, reason="Inspection")
        connections.close_all()

    def rules() -> list[date]:
        found = calendar_rules(first_day=day, last_day=day, practitioner_ids=[kim.pk])
        return [closure.first_day for closure in found.closures]

    request_began()
    try:
        assert rules() == []  # kept for the version the request began with
        elsewhere = threading.Thread(target=closure_elsewhere)
        elsewhere.start()
        elsewhere.join()
        with transaction.atomic():
            in_transaction = rules()
        outside = rules()
    finally:
        request_ended()

    assert in_transaction == [day]
    assert outside == []  # a read-only page may be a request's moment behind


def test_inside_a_transaction_the_practitioners_are_as_the_transaction_first_reads_them(
    kim: Practitioner,
) -> None:
    # Any area may be kept inside a transaction, not only the calendar: every version goes up
    # in the same commit as its change, so the version read after the locks covers it.
    def taken_off_elsewhere() -> None:
        Practitioner.objects.filter(pk=kim.pk).update(is_active=False)
        connections.close_all()

    def active() -> list[str]:
        return [p.display_name for p in practitioner_roster() if p.is_active]

    request_began()
    try:
        assert active() == [kim.display_name]  # kept for the version the request began with
        elsewhere = threading.Thread(target=taken_off_elsewhere)
        elsewhere.start()
        elsewhere.join()
        with transaction.atomic(), CaptureQueriesContext(connection) as seen:
            in_transaction = active()
            again = active()
    finally:
        request_ended()

    assert in_transaction == again == []
    versions, roster = (query["sql"] for query in seen.captured_queries)  # the roster once
    assert "clinic_dataversion" in versions
    assert '"scheduling_practitioner"' in roster


def test_a_transaction_that_changes_the_calendar_reads_its_own_change(
    kim: Practitioner,
) -> None:
    day = upcoming(2)

    def closed_days() -> list[date]:
        found = calendar_rules(first_day=day, last_day=day, practitioner_ids=[kim.pk])
        return [closure.first_day for closure in found.closures]

    request_began()
    try:
        with transaction.atomic():
            assert closed_days() == []  # kept for the version this transaction read
            Closure.objects.create(starts_on=day, ends_on=day, reason="Inspection")
            assert closed_days() == [day]
            transaction.set_rollback(True)
        after_rollback = closed_days()
    finally:
        request_ended()

    assert after_rollback == []  # what the rolled-back transaction read was not kept
    assert not Closure.objects.exists()


def while_a_writer_holds_its_locks(write: Callable[[], object], request: Callable[[], Any]) -> Any:
    """``request``'s answer, sent while ``write`` runs in a transaction of another connection
    that commits only once some statement waits for a lock it holds (the request's). What
    runs after that commit waits for the answer: only what committed with the write can tell
    the request about it."""
    locked, go, answered = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                transaction.on_commit(lambda: answered.wait(30))
                write()
                locked.set()
                go.wait(30)
        finally:
            connections.close_all()

    def commit_once_a_lock_is_awaited() -> None:
        try:
            with connection.cursor() as cursor:
                for _ in range(600):
                    cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    if cursor.fetchone()[0]:
                        break
                    sleep(0.05)
        finally:
            go.set()
            connections.close_all()

    writing = threading.Thread(target=writer)
    writing.start()
    assert locked.wait(30)
    releaser = threading.Thread(target=commit_once_a_lock_is_awaited)
    releaser.start()
    try:
        return request()
    finally:
        answered.set()
        go.set()
        writing.join()
        releaser.join()


def test_a_booking_waiting_for_the_practitioner_sees_leave_saved_meanwhile(
    api: Client, kim: Practitioner, patient: Any, staff_user: User
) -> None:
    """The race kept values must not lose: leave is saved (holding the practitioner's booking
    lock) while a move into it waits for that lock; the move then checks against the leave."""
    day = upcoming(2)
    session = hold(kim, seoul(day, 11), patient=patient)
    assert move(api, session, seoul(day, 12)).status_code == 200  # the calendar is kept now
    leave = Leave(
        practitioner=kim,
        starts_on=day,
        ends_on=day,
        start_time=time(14),
        end_time=time(18),
        reason="Conference",
    )

    answer = while_a_writer_holds_its_locks(
        lambda: leave_save(leave=leave, saved_by=staff_user),
        lambda: move(api, session, seoul(day, 15)),
    )

    assert answer.status_code == 400, answer.content
    assert "leave" in answer.content.decode().lower()
    session.refresh_from_db()
    assert session.starts_at == seoul(day, 12)


def test_a_move_waiting_while_its_session_changes_practitioner_moves_it_with_the_new_one(
    api: Client, kim: Practitioner, patient: Any
) -> None:
    """The move locks the session with its practitioner in one statement. When the session is
    given another practitioner while the move waits, that answer comes back empty: the move
    then locks the session alone and the practitioner it has now, rather than answer 404."""
    day = upcoming(2)
    session = hold(kim, seoul(day, 11), patient=patient)
    lee = PractitionerFactory(display_name="Dr. Lee")

    answer = while_a_writer_holds_its_locks(
        lambda: Session.objects.filter(pk=session.pk).update(practitioner=lee),
        lambda: move(api, session, seoul(day, 15)),
    )

    assert answer.status_code == 200, answer.content
    session.refresh_from_db()
    assert (session.practitioner_id, session.starts_at) == (lee.pk, seoul(day, 15))


# --- Kept across bookings, fresh after their own change -----------------------------------------


@pytest.fixture
def api(staff_user: User) -> Client:
    _, raw = api_token_create(user=staff_user, name="CRM sync", created_by=None)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def free_slots(api: Client, practitioner: Practitioner, day: date) -> list[str]:
    answer = api.get(
        f"/api/v1/practitioners/{practitioner.pk}/free-slots/",
        {"treatment": "rejuran-healer", "from": day.isoformat(), "to": day.isoformat()},
    )
    assert answer.status_code == 200, answer.content
    slots: list[str] = answer.json()["slots"]
    return slots


def move(api: Client, session: Session, start: datetime) -> Any:
    return api.post(
        f"/api/v1/sessions/{session.pk}/reschedule/",
        {"new_start": start.isoformat()},
        content_type="application/json",
    )


@pytest.mark.postgres  # elsewhere the move's writes go one by one (clinic/combined_writes.py)
def test_a_second_move_of_a_maintenance_session_takes_8_statements(
    api: Client, kim: Practitioner, patient: Any
) -> None:
    day, start = upcoming(2), seoul(upcoming(2), 11)
    plan = TreatmentPlanFactory(patient=patient, practitioner=kim, status=PlanStatus.MAINTENANCE)
    session = SessionFactory(
        plan=plan,
        sequence=plan.session_count + 1,
        kind=SessionKind.MAINTENANCE,
        starts_at=start,
        ends_at=start + SESSION,
    )
    assert move(api, session, seoul(day, 12)).status_code == 200

    with CaptureQueriesContext(connection) as seen:
        answer = move(api, session, seoul(day, 14))

    assert answer.status_code == 200, answer.content
    sql = [query["sql"] for query in seen.captured_queries]
    assert not any("UNION ALL" in statement for statement in sql)
    assert not any('FROM "scheduling_reminderrule"' in statement for statement in sql)
    assert not any("treatments_protocoltemplate" in statement for statement in sql)
    # The calendar, the reminder rules and the course's protocol are kept: the versions;
    # BEGIN, lock the course, the session, the patient and the practitioner (one statement);
    # the versions again, now the locks are held; busy times; the session, its history row,
    # the reminders cancelled and written anew (one statement); the version raise; COMMIT.
    assert len(sql) == 8, "\n".join(sql)
    assert sql[5].startswith('WITH w0 AS (UPDATE "scheduling_session"'), sql[5]
    assert sql[6].startswith("INSERT INTO clinic_dataversion"), sql[6]
    assert sql[7] == "COMMIT"
    assert 'INSERT INTO "scheduling_historicalsession"' in sql[5]
    assert 'INSERT INTO "scheduling_reminder"' in sql[5]
    session.refresh_from_db()
    assert session.starts_at == seoul(day, 14)
    assert session.reminders.filter(status="pending", cycle=session.revision).exists()


def test_after_a_booking_the_calendar_and_the_token_are_not_read_again(
    api: Client, kim: Practitioner, course: TreatmentPlan
) -> None:
    day = upcoming(2)
    free_slots(api, kim, day)

    book(course, seoul(day, 11))  # a committed booking: every kept page and answer is stale
    with CaptureQueriesContext(connection) as seen:
        slots = free_slots(api, kim, day)

    sql = [query["sql"] for query in seen.captured_queries]
    assert seoul(day, 11).isoformat() not in slots  # the booking is seen
    assert not any("UNION ALL" in statement for statement in sql)  # the calendar is kept
    assert not any("clinic_apitoken" in statement for statement in sql)  # so is the token


@pytest.fixture
def desk(client: Client, staff_user: User) -> Client:
    client.force_login(staff_user)
    return client


ROSTER_READ = 'MIN("treatments_treatment"."session_minutes")'


@pytest.mark.parametrize("part", ["staff:today", "staff:today-side"])
def test_after_a_booking_today_is_built_without_reading_the_practitioners_again(
    desk: Client, kim: Practitioner, course: TreatmentPlan, part: str
) -> None:
    assert "Dr. Kim" in desk.get(reverse(part)).text

    book(course, seoul(upcoming(2), 11))
    with CaptureQueriesContext(connection) as seen:
        page = desk.get(reverse(part)).text

    assert "Dr. Kim" in page
    assert not any(ROSTER_READ in query["sql"] for query in seen.captured_queries)
    assert not any('FROM "treatments_protocol' in query["sql"] for query in seen.captured_queries)


def test_after_a_booking_the_patient_page_is_built_without_reading_the_catalogue(
    desk: Client, course: TreatmentPlan
) -> None:
    page = reverse("staff:patient", args=[course.patient_id])
    assert course.template.name in desk.get(page).text

    book(course, seoul(upcoming(2), 11))
    with CaptureQueriesContext(connection) as seen:
        text = desk.get(page).text

    assert course.template.treatment.display_name in text
    assert not any('FROM "treatments_protocol' in query["sql"] for query in seen.captured_queries)


@pytest.mark.parametrize("where", ["today", "calendar", "api"])
def test_after_a_booking_the_sessions_are_shown_with_their_treatment_without_the_catalogue(
    desk: Client, api: Client, course: TreatmentPlan, where: str
) -> None:
    """The sessions' treatment comes from the kept catalogue, not joined: a booking (which
    every page must show) leaves it kept."""
    day = local_day(timezone.now())
    path, client = {
        "today": (reverse("staff:today"), desk),
        "calendar": (f"{reverse('staff:calendar')}?day={day}", desk),
        "api": (f"/api/v1/sessions/?date_from={day}&date_to={day}", api),
    }[where]
    assert client.get(path).status_code == 200

    book(course, seoul(day, 11))  # earlier today or later: the day shows it either way
    with CaptureQueriesContext(connection) as seen:
        answer = client.get(path)

    shown = course.template.treatment
    assert (shown.slug if where == "api" else shown.display_name) in answer.text
    assert not any("treatments_" in query["sql"] for query in seen.captured_queries)


def test_after_a_booking_the_patient_page_reads_only_the_courses_and_requests(
    desk: Client, course: TreatmentPlan
) -> None:
    page = reverse("staff:patient", args=[course.patient_id])
    concern = SkinConcern.objects.get(slug="dehydration")
    PatientConcern.objects.create(patient=course.patient, concern=concern, severity=2)
    assert concern.display_name in desk.get(page).text

    book(course, seoul(upcoming(2), 11))
    with CaptureQueriesContext(connection) as seen:
        text = desk.get(page).text

    assert course.patient.full_name in text
    assert concern.display_name in text
    sql = [query["sql"] for query in seen.captured_queries]
    assert not any('FROM "patients_' in statement for statement in sql), sql
    # The login with the versions; the courses; their sessions; the patient's requests.
    assert len(sql) == 4, "\n".join(sql)


def _rename(patient: Any) -> str:
    Patient.objects.filter(pk=patient.pk).update(given_name="Seo-yeon")
    return "Seo-yeon"


def _note_concern(patient: Any) -> str:
    concern = SkinConcern.objects.get(slug="dullness")
    PatientConcern.objects.create(patient=patient, concern=concern, severity=1)
    return concern.display_name


def _flag(patient: Any) -> str:
    condition = Contraindication.objects.get(slug="pregnancy")
    MedicalFlag.objects.create(patient=patient, condition=condition)
    return condition.display_name


def _consent(patient: Any) -> str:
    Consent.objects.create(patient=patient, kind=ConsentKind.PHOTOGRAPHY, given_at=timezone.now())
    return str(ConsentKind.PHOTOGRAPHY.label)


def _rename_concern_in_the_catalogue(patient: Any) -> str:
    concern = SkinConcern.objects.get(slug="acne-scars")
    PatientConcern.objects.create(patient=patient, concern=concern, severity=1)
    SkinConcern.objects.filter(pk=concern.pk).update(name="Old acne marks")
    return "Old acne marks"


@pytest.mark.parametrize(
    "change",
    [_rename, _note_concern, _flag, _consent, _rename_concern_in_the_catalogue],
    ids=["renamed", "concern", "flag", "consent", "catalogue"],
)
def test_a_change_to_the_record_shows_on_the_patient_page_on_the_next_request(
    desk: Client, course: TreatmentPlan, change: Callable[[Any], str]
) -> None:
    page = reverse("staff:patient", args=[course.patient_id])
    desk.get(page)  # the record is kept
    book(course, seoul(upcoming(2), 11))
    desk.get(page)  # and outlives a booking

    shown = change(course.patient)

    assert shown in desk.get(page).text


def test_a_practitioner_taken_off_the_roster_leaves_today_on_the_next_request(
    desk: Client, kim: Practitioner
) -> None:
    lee = PractitionerFactory(display_name="Dr. Lee")
    lee.treatments.set(kim.treatments.all())
    assert "Dr. Lee" in desk.get(reverse("staff:today")).text

    Practitioner.objects.filter(pk=lee.pk).update(is_active=False)

    assert "Dr. Lee" not in desk.get(reverse("staff:today")).text


def test_a_room_renamed_shows_on_the_calendar_on_the_next_request(desk: Client) -> None:
    room = Room.objects.create(name="Room 1")
    assert "Room 1" in desk.get(reverse("staff:calendar"), {"by": "room"}).text

    Room.objects.filter(pk=room.pk).update(name="Laser suite")

    assert "Laser suite" in desk.get(reverse("staff:calendar"), {"by": "room"}).text


def test_a_closure_shows_on_the_next_request_whichever_way_it_was_written(
    api: Client, kim: Practitioner
) -> None:
    day = upcoming(2)
    assert free_slots(api, kim, day)

    Closure.objects.bulk_create([Closure(starts_on=day, ends_on=day, reason="Staff training")])

    assert free_slots(api, kim, day) == []


def test_a_reminder_rule_turned_off_applies_to_the_next_booking(
    api: Client, kim: Practitioner, patient: Any
) -> None:
    session = hold(kim, seoul(upcoming(2), 11), patient=patient)
    move = seoul(upcoming(2), 14)
    first = api.post(  # the rules are read (and kept) for the first move
        f"/api/v1/sessions/{session.pk}/reschedule/",
        {"new_start": move.isoformat()},
        content_type="application/json",
    )
    assert first.status_code == 200, first.content

    ReminderRule.objects.filter(kind=ReminderKind.SESSION_LATE).update(is_enabled=False)
    answer = api.post(
        f"/api/v1/sessions/{session.pk}/reschedule/",
        {"new_start": seoul(upcoming(2), 16).isoformat()},
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    session.refresh_from_db()
    kinds = set(
        session.reminders.filter(status="pending", cycle=session.revision).values_list(
            "kind", flat=True
        )
    )
    assert ReminderKind.SESSION_LATE not in kinds
    assert ReminderKind.SESSION_EARLY in kinds
    assert Session.objects.filter(pk=session.pk, starts_at=seoul(upcoming(2), 16)).exists()


def test_a_protocol_window_narrowed_in_the_catalogue_applies_to_the_next_move(
    api: Client, course: TreatmentPlan
) -> None:
    """A move reads the course's protocol from the kept catalogue; a protocol changed since
    (the admin saving it) is what the next move keeps to."""
    template = course.template
    assert (template.interval_days_min, template.interval_days_max) == (21, 28)
    day = upcoming(1)
    SessionFactory(
        plan=course, sequence=1, starts_at=seoul(day, 11), ends_at=seoul(day, 11) + SESSION
    )
    second = SessionFactory(
        plan=course,
        sequence=2,
        starts_at=seoul(day + timedelta(days=28), 11),
        ends_at=seoul(day + timedelta(days=28), 11) + SESSION,
    )
    three_weeks_on = day + timedelta(days=22)
    assert move(api, second, seoul(three_weeks_on, 11)).status_code == 200  # 21-28 days

    ProtocolTemplate.objects.filter(pk=template.pk).update(interval_days_min=28)
    answer = move(api, second, seoul(three_weeks_on, 14))

    assert answer.status_code == 409, answer.content
    assert "28" in answer.content.decode()
    second.refresh_from_db()
    assert second.starts_at == seoul(three_weeks_on, 11)
