"""An UPDATE and an INSERT as one statement: on PostgreSQL both happen in one round trip, on
SQLite in two; either way the rows end up the same, and a filter that needs a join is refused
before anything is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.combined_writes import update_then_insert
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
        update_then_insert(
            Reminder.objects.filter(session=session, status=ReminderStatus.PENDING),
            {"status": ReminderStatus.CANCELLED, "last_error": "session moved"},
            [reminder(session, ReminderKind.SESSION_EARLY, 2)],
        )

    assert len(seen.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert rows(session) == [
        (ReminderKind.SESSION_EARLY, 1, ReminderStatus.CANCELLED, "session moved"),
        (ReminderKind.SESSION_EARLY, 2, ReminderStatus.PENDING, ""),
    ]


def test_the_update_does_not_touch_the_rows_inserted_with_it() -> None:
    session = SessionFactory()

    update_then_insert(
        Reminder.objects.filter(session=session),
        {"status": ReminderStatus.CANCELLED},
        [reminder(session, ReminderKind.SESSION_LATE, 1)],
    )

    assert rows(session) == [(ReminderKind.SESSION_LATE, 1, ReminderStatus.PENDING, "")]


def test_conflicting_rows_are_skipped_when_asked() -> None:
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.AFTERCARE, 1)])

    update_then_insert(
        Reminder.objects.filter(session=session, kind=ReminderKind.SESSION_EARLY),
        {"status": ReminderStatus.CANCELLED},
        [
            reminder(session, ReminderKind.AFTERCARE, 1),
            reminder(session, ReminderKind.AFTERCARE, 2),
        ],
        ignore_conflicts=True,
    )

    assert rows(session) == [
        (ReminderKind.AFTERCARE, 1, ReminderStatus.PENDING, ""),
        (ReminderKind.AFTERCARE, 2, ReminderStatus.PENDING, ""),
    ]


def test_with_nothing_to_insert_the_update_still_runs() -> None:
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.SESSION_EARLY, 1)])

    update_then_insert(
        Reminder.objects.filter(session=session), {"status": ReminderStatus.CANCELLED}, []
    )

    assert rows(session) == [(ReminderKind.SESSION_EARLY, 1, ReminderStatus.CANCELLED, "")]


@pytest.mark.postgres
def test_an_update_whose_filter_needs_a_join_is_refused_and_nothing_is_written() -> None:
    session = SessionFactory()
    Reminder.objects.bulk_create([reminder(session, ReminderKind.SESSION_EARLY, 1)])

    with pytest.raises(ValueError, match="needs a join"):
        update_then_insert(
            Reminder.objects.filter(session__practitioner=session.practitioner),
            {"status": ReminderStatus.CANCELLED},
            [reminder(session, ReminderKind.SESSION_EARLY, 2)],
        )

    assert rows(session) == [(ReminderKind.SESSION_EARLY, 1, ReminderStatus.PENDING, "")]
