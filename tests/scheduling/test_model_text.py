"""How plans, sessions and reminders name themselves in the admin, history pages and logs:
clinic-local times, in the reader's language, without a query per row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import translation

from scheduling.models import Reminder, ReminderKind, Session, TreatmentPlan
from tests.helpers import hold
from tests.timeutil import seoul

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(kim: Any) -> Session:
    held = hold(kim, seoul(date(2027, 3, 2), 10))  # 10:00 in Seoul is 01:00 UTC
    return Session.objects.get(pk=held.pk)  # nothing related loaded


def test_a_session_names_its_number_course_and_local_time_without_a_query(
    session: Session, django_assert_num_queries: Callable[..., Any]
) -> None:
    with django_assert_num_queries(0):
        text = str(session)

    assert text == f"Session 1 of course {session.plan_id}, Tue 2 Mar 2027, 10:00"


def test_a_session_names_itself_in_korean_for_a_korean_reader(session: Session) -> None:
    with translation.override("ko"):
        assert str(session).endswith("2027년 3월 2일 (화) 오전 10:00")


def test_a_plan_names_itself_without_a_query(
    session: Session, django_assert_num_queries: Callable[..., Any]
) -> None:
    plan = TreatmentPlan.objects.get(pk=session.plan_id)

    with django_assert_num_queries(0):
        text = str(plan)

    assert text.startswith(f"Course {plan.pk}, booked ")


def test_a_reminder_names_its_kind_and_local_due_time_without_a_query(
    session: Session, django_assert_num_queries: Callable[..., Any]
) -> None:
    created = Reminder.objects.create(
        plan_id=session.plan_id,
        session=session,
        kind=ReminderKind.SESSION_LATE,
        channel="sms",
        due_at=seoul(date(2027, 3, 2), 8),
    )
    reminder = Reminder.objects.get(pk=created.pk)

    with django_assert_num_queries(0):
        text = str(reminder)

    assert text == (
        f"Session reminder (same day) for course {session.plan_id}, due Tue 2 Mar 2027, 08:00"
    )


def test_a_plans_attention_reason_is_kept_in_each_language_for_whoever_reads_it(
    kim: Any, rejuran: Any, staff_user: Any, tuesday: date
) -> None:
    from scheduling.services import session_mark_no_show
    from tests.factories import PatientFactory
    from tests.helpers import book_and_schedule, sessions_of

    past = tuesday - timedelta(days=70)
    plan = book_and_schedule(
        PatientFactory(), rejuran, kim, seoul(past, 10), staff_user, now=seoul(past, 9)
    )
    first = sessions_of(plan)[1]

    session_mark_no_show(session=first, marked_by=staff_user, now=seoul(past, 12))

    plan.refresh_from_db()
    assert plan.attention_reason.startswith("Session 1 was missed on ")
    assert plan.display_attention_reason == plan.attention_reason
    with translation.override("ko"):
        assert plan.display_attention_reason.startswith("1회차")
        assert "오전 10:00" in plan.display_attention_reason
