"""Several writes as one statement: on PostgreSQL they happen in one round trip, on SQLite one
by one; either way the rows end up the same, and a filter that needs a join is refused before
anything is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.combined_writes import Insert, Update, write_as_one
from scheduling.models import Reminder, ReminderKind, ReminderStatus, Session
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


def reminder(session: Session, kind: str, cycle: int) -> Reminder:
    return Reminder(
        plan=session.plan,
        session=session,
        kind=kind,
        cycle=cycle,
        channel="email",
        due_at=timezone.now() + timedelta(days=3),
    )


def rows(session: Session) -> list[tuple[str, int, str, str]]:
    return list(
        Reminder.objects.filter(session=session)
        .order_by("cycle", "kind")
        .values_list("kind", "cycle", "status", "last_error")
    )


def test_the_update_and_the_insert_are_one_statement_on_postgresql() -> None:
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.SESSION_EARLY, 1)])

    with CaptureQueriesContext(connection) as seen:
        write_as_one(
            Update(
                Reminder.objects.filter(session=session, status=ReminderStatus.PENDING),
                {"status": ReminderStatus.CANCELLED, "last_error": "session moved"},
            ),
            Insert([reminder(session, ReminderKind.SESSION_EARLY, 2)]),
        )

    assert len(seen.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert rows(session) == [
        (ReminderKind.SESSION_EARLY, 1, ReminderStatus.CANCELLED, "session moved"),
        (ReminderKind.SESSION_EARLY, 2, ReminderStatus.PENDING, ""),
    ]


def test_the_update_does_not_touch_the_rows_inserted_with_it() -> None:
    session = SessionFactory()

    write_as_one(
        Update(Reminder.objects.filter(session=session), {"status": ReminderStatus.CANCELLED}),
        Insert([reminder(session, ReminderKind.SESSION_LATE, 1)]),
    )

    assert rows(session) == [(ReminderKind.SESSION_LATE, 1, ReminderStatus.PENDING, "")]


def test_conflicting_rows_are_skipped_when_asked() -> None:
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.AFTERCARE, 1)])

    write_as_one(
        Update(
            Reminder.objects.filter(session=session, kind=ReminderKind.SESSION_EARLY),
            {"status": ReminderStatus.CANCELLED},
        ),
        Insert(
            [
                reminder(session, ReminderKind.AFTERCARE, 1),
                reminder(session, ReminderKind.AFTERCARE, 2),
            ],
            ignore_conflicts=True,
        ),
    )

    assert rows(session) == [
        (ReminderKind.AFTERCARE, 1, ReminderStatus.PENDING, ""),
        (ReminderKind.AFTERCARE, 2, ReminderStatus.PENDING, ""),
    ]


def test_with_nothing_to_insert_the_update_still_runs() -> None:
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.SESSION_EARLY, 1)])

    write_as_one(
        Update(Reminder.objects.filter(session=session), {"status": ReminderStatus.CANCELLED}),
        Insert([]),
    )

    assert rows(session) == [(ReminderKind.SESSION_EARLY, 1, ReminderStatus.CANCELLED, "")]


@pytest.mark.postgres
def test_an_update_whose_filter_needs_a_join_is_refused_and_nothing_is_written_before_it() -> None:
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.SESSION_EARLY, 1)])

    with pytest.raises(ValueError, match="needs a join"):
        write_as_one(
            Insert([reminder(session, ReminderKind.SESSION_EARLY, 2)]),
            Update(
                Reminder.objects.filter(session__practitioner=session.practitioner),
                {"status": ReminderStatus.CANCELLED},
            ),
        )

    assert rows(session) == [(ReminderKind.SESSION_EARLY, 1, ReminderStatus.PENDING, "")]


def test_updates_of_two_tables_and_an_insert_are_one_statement_on_postgresql() -> None:
    """A moved session, its reminders cancelled and written anew: the shape of a reschedule."""
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.SESSION_EARLY, 0)])
    later = session.starts_at + timedelta(hours=2)
    moved = {"starts_at": later, "ends_at": later + (session.ends_at - session.starts_at)}

    with CaptureQueriesContext(connection) as seen:
        write_as_one(
            Update(Session.objects.filter(pk=session.pk), moved | {"revision": 1}),
            Update(Reminder.objects.filter(session=session), {"status": ReminderStatus.CANCELLED}),
            Insert([reminder(session, ReminderKind.SESSION_EARLY, 1)]),
        )

    assert len(seen.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    session.refresh_from_db()
    assert (session.starts_at, session.revision) == (later, 1)
    assert rows(session) == [
        (ReminderKind.SESSION_EARLY, 0, ReminderStatus.CANCELLED, ""),
        (ReminderKind.SESSION_EARLY, 1, ReminderStatus.PENDING, ""),
    ]


def test_nothing_to_write_sends_nothing() -> None:
    with CaptureQueriesContext(connection) as seen:
        write_as_one(Insert([]))

    assert seen.captured_queries == []
