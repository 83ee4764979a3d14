"""Reminders as the patient and the clinic see them: when they fall due, by which channel, in
which language, that each goes out exactly once, that reminders nobody needs any more stay
quiet, and that a channel that is down is retried and then given up on.

Times are pinned with ``now=`` so the tests read like the clinic's calendar: courses are booked
on Friday 20 November 2026 at 09:00 in Seoul for Tuesday 1 December 2026 at 10:00.
"""

from __future__ import annotations

import threading
import time as wall_clock
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from patients.models import Language, Patient, ReminderChannel
from scheduling.models import (
    PlanStatus,
    Practitioner,
    Reminder,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.reminders import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    reminder_channel,
    reminder_due_at,
    reminder_retry,
    reminders_create_for_maintenance,
    reminders_create_for_sessions,
    reminders_dispatch_due,
)
from scheduling.selectors import clinic_tz
from scheduling.services import (
    plan_book,
    plan_cancel,
    session_cancel,
    session_complete,
    session_reschedule,
)
from scheduling.sms import SmsError
from tests.factories import (
    PatientFactory,
    PractitionerFactory,
    SessionFactory,
    TreatmentPlanFactory,
)
from tests.helpers import book_and_schedule
from tests.timeutil import seoul
from treatments.models import ProtocolTemplate

pytestmark = pytest.mark.django_db

TUESDAY = date(2026, 12, 1)  # the clinic (seeded hours) is open 10:00–19:00
SUNDAY_BEFORE = date(2026, 11, 29)
BOOKED = seoul(date(2026, 11, 20), 9)  # when the courses in these tests are booked


# --- Test SMS gateways ------------------------------------------------------------------------


class FailingSmsBackend:
    """A gateway that is down: every hand-off is refused."""

    def send(self, *, to: str, body: str, key: str) -> None:
        raise SmsError("SMS gateway unreachable (HTTP 503)")


class RecordingSmsBackend:
    """Records every hand-off, repeats included (unlike LocmemSmsBackend, which drops a repeated
    key silently and so would hide a double send). Thread-safe, and a little slow like a real
    gateway so that concurrent dispatchers overlap."""

    handoffs: ClassVar[list[dict[str, str]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()
    delay: ClassVar[float] = 0.0

    def send(self, *, to: str, body: str, key: str) -> None:
        if self.delay:
            wall_clock.sleep(self.delay)
        with self.lock:
            self.handoffs.append({"to": to, "body": body, "key": key})


@pytest.fixture
def handoffs(settings: Any) -> Iterator[list[dict[str, str]]]:
    settings.SMS_BACKEND = "tests.scheduling.test_reminders.RecordingSmsBackend"
    RecordingSmsBackend.handoffs.clear()
    RecordingSmsBackend.delay = 0.0
    yield RecordingSmsBackend.handoffs
    RecordingSmsBackend.handoffs.clear()
    RecordingSmsBackend.delay = 0.0


@pytest.fixture
def failing_sms(settings: Any) -> None:
    settings.SMS_BACKEND = "tests.scheduling.test_reminders.FailingSmsBackend"


# --- People and courses -----------------------------------------------------------------------


@pytest.fixture
def jiwoo(db: None) -> Patient:
    """Korean-speaking, reminders by text message."""
    return PatientFactory(
        family_name="이",
        given_name="지우",
        phone="+82 10-1234-5678",
        email="jiwoo@example.com",
        preferred_language=Language.KOREAN,
        reminder_channel=ReminderChannel.SMS,
    )


@pytest.fixture
def emma(db: None) -> Patient:
    """English-speaking, reminders by email."""
    return PatientFactory(
        family_name="Clarke",
        given_name="Emma",
        phone="+82 10-8765-4321",
        email="emma@example.com",
        preferred_language=Language.ENGLISH,
        reminder_channel=ReminderChannel.EMAIL,
    )


def course(
    patient: Patient,
    practitioner: Practitioner,
    *,
    starts_at: datetime | None = None,
    minutes: int = 45,
    status: str = PlanStatus.ACTIVE,
) -> tuple[TreatmentPlan, Session]:
    """A three-session Rejuran course with its first session booked (built directly)."""
    starts_at = starts_at or seoul(TUESDAY, 10)
    plan = TreatmentPlanFactory(
        patient=patient,
        practitioner=practitioner,
        status=status,
        session_count=3,
        first_session_at=starts_at,
    )
    session = SessionFactory(
        plan=plan,
        sequence=1,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        practitioner=practitioner,
    )
    return plan, session


def booked_course(
    patient: Patient, kim: Practitioner, rejuran: ProtocolTemplate, booked_by: User
) -> TreatmentPlan:
    """A course booked through the services on BOOKED for TUESDAY 10:00, scheduled by the
    worker's service right away."""
    return book_and_schedule(patient, rejuran, kim, seoul(TUESDAY, 10), booked_by, now=BOOKED)


def in_maintenance(
    patient: Patient, practitioner: Practitioner, *, due_on: date = date(2027, 6, 1)
) -> TreatmentPlan:
    """A course whose initial sessions are done, waiting for maintenance cycle 1 on ``due_on``."""
    plan, _ = course(patient, practitioner, status=PlanStatus.MAINTENANCE)
    plan.maintenance_due_on, plan.maintenance_cycle = due_on, 1
    plan.save(update_fields=["maintenance_due_on", "maintenance_cycle"])
    return plan


def due_times(session: Session) -> dict[str, datetime]:
    return {r.kind: r.due_at for r in Reminder.objects.filter(session=session)}


# --- When reminders fall due ------------------------------------------------------------------


def test_booking_a_course_reminds_every_session_two_days_and_two_hours_before_and_sends_aftercare(
    jiwoo: Patient,
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    staff_user: User,
    tuesday: date,
    eager_celery: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        plan = plan_book(
            patient=jiwoo,
            template=rejuran,
            practitioner=kim,
            first_start=seoul(tuesday, 10),
            booked_by=staff_user,
        )

    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    sessions = list(plan.sessions.order_by("sequence"))
    assert len(sessions) == 3
    for session in sessions:
        day = session.starts_at.astimezone(clinic_tz()).date()
        assert due_times(session) == {
            ReminderKind.SESSION_EARLY: session.starts_at - timedelta(hours=48),
            ReminderKind.SESSION_LATE: session.starts_at - timedelta(hours=2),
            ReminderKind.AFTERCARE: seoul(day, 20),
        }
    assert set(plan.reminders.values_list("channel", "status", "cycle")) == {
        (ReminderChannel.SMS, ReminderStatus.PENDING, 0)
    }


def test_a_10_oclock_session_is_reminded_on_sunday_at_10_at_8_the_same_morning_and_at_8_pm(
    jiwoo: Patient, kim: Practitioner, rejuran: ProtocolTemplate, staff_user: User
) -> None:
    plan = booked_course(jiwoo, kim, rejuran, staff_user)
    first = plan.sessions.get(sequence=1)

    assert first.starts_at == seoul(TUESDAY, 10)
    assert due_times(first) == {
        ReminderKind.SESSION_EARLY: seoul(SUNDAY_BEFORE, 10),
        ReminderKind.SESSION_LATE: seoul(TUESDAY, 8),
        ReminderKind.AFTERCARE: seoul(TUESDAY, 20),
    }
    assert plan.reminders.count() == 9


def test_aftercare_for_a_session_running_past_8_pm_waits_until_the_session_is_over(
    emma: Patient, kim: Practitioner
) -> None:
    plan, late_session = course(emma, kim, starts_at=seoul(TUESDAY, 19, 30), minutes=45)

    reminders_create_for_sessions(plan=plan, sessions=[late_session], now=BOOKED)

    aftercare = Reminder.objects.get(session=late_session, kind=ReminderKind.AFTERCARE)
    assert late_session.ends_at == seoul(TUESDAY, 20, 15)
    assert aftercare.due_at == seoul(TUESDAY, 20, 15)


def test_a_session_booked_three_hours_ahead_gets_only_the_reminders_still_in_the_future(
    emma: Patient, kim: Practitioner
) -> None:
    plan, session = course(emma, kim, starts_at=seoul(TUESDAY, 10))

    created = reminders_create_for_sessions(plan=plan, sessions=[session], now=seoul(TUESDAY, 7))

    assert created == 2
    assert due_times(session) == {
        ReminderKind.SESSION_LATE: seoul(TUESDAY, 8),
        ReminderKind.AFTERCARE: seoul(TUESDAY, 20),
    }


def test_a_disabled_rule_creates_no_reminders_of_its_kind(emma: Patient, kim: Practitioner) -> None:
    ReminderRule.objects.filter(kind=ReminderKind.SESSION_EARLY).update(is_enabled=False)
    plan, session = course(emma, kim)

    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)

    assert set(due_times(session)) == {ReminderKind.SESSION_LATE, ReminderKind.AFTERCARE}


def test_with_every_rule_disabled_no_reminders_are_created(
    emma: Patient, kim: Practitioner
) -> None:
    ReminderRule.objects.update(is_enabled=False)
    plan = in_maintenance(emma, kim)
    session = plan.sessions.get()

    assert reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED) == 0
    assert reminders_create_for_maintenance(plan=plan, now=BOOKED) == 0
    assert not Reminder.objects.filter(plan=plan).exists()


def test_an_admin_changing_the_lead_time_moves_new_reminders_but_not_ones_already_planned(
    emma: Patient, kim: Practitioner
) -> None:
    plan, first = course(emma, kim, starts_at=seoul(TUESDAY, 10))
    reminders_create_for_sessions(plan=plan, sessions=[first], now=BOOKED)

    rule = ReminderRule.objects.get(kind=ReminderKind.SESSION_EARLY)
    rule.lead_minutes = 24 * 60  # the day before instead of two days before
    rule.save()
    second = SessionFactory(
        plan=plan,
        sequence=2,
        starts_at=seoul(date(2026, 12, 29), 11),
        ends_at=seoul(date(2026, 12, 29), 11, 45),
        practitioner=kim,
    )
    reminders_create_for_sessions(plan=plan, sessions=[second], now=BOOKED)

    assert due_times(second)[ReminderKind.SESSION_EARLY] == seoul(date(2026, 12, 28), 11)
    assert due_times(first)[ReminderKind.SESSION_EARLY] == seoul(SUNDAY_BEFORE, 10)


def test_reminder_due_at_without_a_local_time_is_the_anchor_minus_the_lead() -> None:
    assert reminder_due_at(seoul(TUESDAY, 10), lead_minutes=120, local_time=None) == seoul(
        TUESDAY, 8
    )


def test_reminder_due_at_with_a_local_time_uses_that_wall_clock_time_on_the_clinics_day() -> None:
    # 08:00 in Seoul is still Monday in UTC: the reminder belongs to Seoul's Tuesday evening.
    morning = seoul(TUESDAY, 8)
    assert morning.astimezone(UTC).date() == TUESDAY - timedelta(days=1)
    assert reminder_due_at(morning, lead_minutes=0, local_time=time(20)) == seoul(TUESDAY, 20)


def test_reminder_due_at_with_a_lead_of_days_and_a_local_time_is_that_morning_days_earlier() -> (
    None
):
    due = reminder_due_at(seoul(TUESDAY, 0), lead_minutes=14 * 24 * 60, local_time=time(10))
    assert due == seoul(date(2026, 11, 17), 10)


def test_maintenance_reminders_go_out_two_weeks_before_and_on_the_due_date_at_10(
    jiwoo: Patient, kim: Practitioner
) -> None:
    plan = in_maintenance(jiwoo, kim)

    assert reminders_create_for_maintenance(plan=plan, now=BOOKED) == 2

    assert {
        r.kind: (r.due_at, r.cycle, r.channel)
        for r in Reminder.objects.filter(plan=plan, session=None)
    } == {
        ReminderKind.MAINTENANCE_EARLY: (seoul(date(2027, 5, 18), 10), 1, ReminderChannel.SMS),
        ReminderKind.MAINTENANCE_DUE: (seoul(date(2027, 6, 1), 10), 1, ReminderChannel.SMS),
    }


def test_completing_the_course_schedules_maintenance_reminders_six_months_after_the_last_session(
    emma: Patient, kim: Practitioner, rejuran: ProtocolTemplate, staff_user: User
) -> None:
    plan = booked_course(emma, kim, rejuran, staff_user)
    for session in plan.sessions.order_by("sequence"):
        session_complete(
            session=session, completed_by=staff_user, now=session.ends_at + timedelta(minutes=5)
        )

    plan.refresh_from_db()
    assert plan.status == PlanStatus.MAINTENANCE
    assert plan.maintenance_due_on == date(2027, 7, 26)  # last session 26 Jan 2027 + 6 months
    assert {
        r.kind: r.due_at for r in plan.reminders.filter(status=ReminderStatus.PENDING, session=None)
    } == {
        ReminderKind.MAINTENANCE_EARLY: seoul(date(2027, 7, 12), 10),
        ReminderKind.MAINTENANCE_DUE: seoul(date(2027, 7, 26), 10),
    }


# --- Creating is idempotent -------------------------------------------------------------------


def test_creating_reminders_twice_for_the_same_sessions_adds_no_duplicates(
    emma: Patient, kim: Practitioner
) -> None:
    plan, session = course(emma, kim)
    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)
    first = set(Reminder.objects.filter(plan=plan).values_list("pk", "kind", "due_at"))

    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)

    assert set(Reminder.objects.filter(plan=plan).values_list("pk", "kind", "due_at")) == first
    assert len(first) == 3


def test_creating_maintenance_reminders_twice_adds_no_duplicates(
    emma: Patient, kim: Practitioner
) -> None:
    plan = in_maintenance(emma, kim)

    reminders_create_for_maintenance(plan=plan, now=BOOKED)
    reminders_create_for_maintenance(plan=plan, now=BOOKED)

    assert Reminder.objects.filter(plan=plan).count() == 2


def test_the_database_refuses_a_second_reminder_of_the_same_kind_for_the_same_session_revision(
    emma: Patient, kim: Practitioner
) -> None:
    plan, session = course(emma, kim)
    row = {"plan": plan, "session": session, "kind": ReminderKind.SESSION_LATE, "cycle": 0}
    Reminder.objects.create(**row, channel="email", due_at=seoul(TUESDAY, 8))

    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(**row, channel="sms", due_at=seoul(TUESDAY, 9))

    # A new revision of the session (it was moved) takes a new reminder.
    Reminder.objects.create(**{**row, "cycle": 1}, channel="email", due_at=seoul(TUESDAY, 8))
    assert Reminder.objects.filter(session=session).count() == 2


def test_the_database_refuses_a_second_maintenance_reminder_of_the_same_kind_for_a_cycle(
    emma: Patient, kim: Practitioner
) -> None:
    plan, _ = course(emma, kim)
    row = {"plan": plan, "session": None, "kind": ReminderKind.MAINTENANCE_DUE, "cycle": 1}
    Reminder.objects.create(**row, channel="email", due_at=seoul(date(2027, 6, 1), 10))

    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(**row, channel="email", due_at=seoul(date(2027, 6, 1), 10))

    Reminder.objects.create(**{**row, "cycle": 2}, channel="email", due_at=seoul(TUESDAY, 10))
    assert Reminder.objects.filter(plan=plan).count() == 2


# --- Channel choice ---------------------------------------------------------------------------


def test_a_patient_who_prefers_text_messages_and_has_a_phone_is_reminded_by_sms(
    jiwoo: Patient, kim: Practitioner
) -> None:
    plan, session = course(jiwoo, kim)

    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)

    assert reminder_channel(jiwoo) == ReminderChannel.SMS
    assert set(Reminder.objects.filter(plan=plan).values_list("channel", flat=True)) == {"sms"}


def test_a_patient_who_prefers_email_but_has_none_on_file_is_reminded_by_sms(
    kim: Practitioner,
) -> None:
    patient = PatientFactory(email="", phone="+82 10-2222-3333", reminder_channel="email")
    plan, session = course(patient, kim)

    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)

    assert reminder_channel(patient) == ReminderChannel.SMS
    assert set(Reminder.objects.filter(plan=plan).values_list("channel", flat=True)) == {"sms"}


def test_a_patient_who_prefers_sms_but_has_no_phone_is_reminded_by_email(
    kim: Practitioner,
) -> None:
    patient = PatientFactory(email="minho@example.com", phone="", reminder_channel="sms")

    assert reminder_channel(patient) == ReminderChannel.EMAIL


def test_a_patient_without_phone_or_email_gets_no_reminders(kim: Practitioner) -> None:
    patient = PatientFactory(email="", phone="", reminder_channel="sms")
    plan = in_maintenance(patient, kim)
    session = plan.sessions.get()

    assert reminder_channel(patient) is None
    assert reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED) == 0
    assert reminders_create_for_maintenance(plan=plan, now=BOOKED) == 0
    assert not Reminder.objects.filter(plan=plan).exists()


# --- Dispatch ---------------------------------------------------------------------------------


@pytest.fixture
def jiwoo_course(jiwoo: Patient, kim: Practitioner) -> tuple[TreatmentPlan, Session]:
    plan, session = course(jiwoo, kim)
    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)
    return plan, session


@pytest.fixture
def emma_course(emma: Patient, kim: Practitioner) -> tuple[TreatmentPlan, Session]:
    plan, session = course(emma, kim, starts_at=seoul(TUESDAY, 11))
    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)
    return plan, session


def test_dispatch_sends_only_the_reminders_that_are_due_and_marks_them_sent(
    jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]]
) -> None:
    _, session = jiwoo_course
    early, late, aftercare = (
        Reminder.objects.get(session=session, kind=kind)
        for kind in (ReminderKind.SESSION_EARLY, ReminderKind.SESSION_LATE, ReminderKind.AFTERCARE)
    )

    report = reminders_dispatch_due(now=seoul(TUESDAY, 9))

    assert report.sent == 2
    assert report.handled == 2
    assert sorted(h["key"] for h in handoffs) == sorted(
        [f"reminder-{early.pk}", f"reminder-{late.pk}"]
    )
    for reminder in (early, late):
        reminder.refresh_from_db()
        assert reminder.status == ReminderStatus.SENT
        assert reminder.sent_at is not None
        assert reminder.attempts == 1
        assert reminder.last_error == ""
    aftercare.refresh_from_db()
    assert aftercare.status == ReminderStatus.PENDING
    assert aftercare.attempts == 0
    assert aftercare.sent_at is None


def test_dispatch_sends_a_reminder_exactly_once_however_often_it_runs(
    jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]]
) -> None:
    first = reminders_dispatch_due(now=seoul(TUESDAY, 9))
    second = reminders_dispatch_due(now=seoul(TUESDAY, 9))
    third = reminders_dispatch_due(now=seoul(TUESDAY, 9, 30))

    assert (first.sent, second.sent, third.sent) == (2, 0, 0)
    assert second.handled == third.handled == 0
    assert len(handoffs) == 2


def test_dispatch_with_nothing_due_sends_nothing(
    jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]]
) -> None:
    report = reminders_dispatch_due(now=seoul(SUNDAY_BEFORE, 9, 59))

    assert report.handled == 0
    assert handoffs == []
    assert not Reminder.objects.exclude(status=ReminderStatus.PENDING).exists()


def test_a_korean_patient_gets_the_session_reminder_by_sms_in_korean(
    jiwoo: Patient,
    jiwoo_course: tuple[TreatmentPlan, Session],
    sms_outbox: list[dict[str, str]],
    mailoutbox: list[Any],
) -> None:
    reminders_dispatch_due(now=seoul(SUNDAY_BEFORE, 10))

    assert mailoutbox == []
    [sms] = sms_outbox
    early = Reminder.objects.get(kind=ReminderKind.SESSION_EARLY, plan=jiwoo_course[0])
    assert sms["to"] == "+82 10-1234-5678"
    assert sms["key"] == f"reminder-{early.pk}"
    body = sms["body"]
    assert body.startswith("이지우님, 안녕하세요.")
    assert "2026년 12월 1일 (화) 오전 10:00" in body
    assert "리쥬란 힐러" in body
    assert "3회 중 1회차" in body
    assert "Dr. Kim 선생님" in body
    assert "Rejuran" not in body


def test_an_english_patient_gets_the_session_reminder_by_email_in_english(
    emma: Patient,
    emma_course: tuple[TreatmentPlan, Session],
    mailoutbox: list[Any],
    sms_outbox: list[dict[str, str]],
) -> None:
    reminders_dispatch_due(now=seoul(SUNDAY_BEFORE, 11))

    assert sms_outbox == []
    [email] = mailoutbox
    early = Reminder.objects.get(kind=ReminderKind.SESSION_EARLY, plan=emma_course[0])
    assert email.to == ["emma@example.com"]
    assert email.from_email == django_settings.DEFAULT_FROM_EMAIL
    assert email.subject == "[Clinic Planner] Reminder: Rejuran Healer on Tue 1 Dec 2026, 11:00"
    assert email.body.startswith("Hello Emma,")
    assert "your Rejuran Healer session 1 of 3 on Tue 1 Dec 2026, 11:00 with Dr. Kim" in (
        email.body
    )
    assert "리쥬란" not in email.body
    domain = django_settings.DEFAULT_FROM_EMAIL.rpartition("@")[2]
    assert email.message()["Message-ID"] == f"<reminder-{early.pk}@{domain}>"


def test_a_korean_patient_gets_aftercare_advice_in_korean_on_the_evening_of_the_session(
    jiwoo_course: tuple[TreatmentPlan, Session],
    rejuran: ProtocolTemplate,
    sms_outbox: list[dict[str, str]],
) -> None:
    _, session = jiwoo_course
    reminders_dispatch_due(now=seoul(TUESDAY, 9))  # the session reminders
    sms_outbox.clear()

    reminders_dispatch_due(now=seoul(TUESDAY, 20))

    [sms] = sms_outbox
    aftercare = Reminder.objects.get(session=session, kind=ReminderKind.AFTERCARE)
    assert sms["key"] == f"reminder-{aftercare.pk}"
    assert rejuran.treatment.aftercare_ko
    assert rejuran.treatment.aftercare_ko in sms["body"]
    assert "오늘 방문해 주셔서 감사합니다" in sms["body"]


def test_an_english_patient_gets_aftercare_advice_in_english_by_email(
    emma_course: tuple[TreatmentPlan, Session],
    rejuran: ProtocolTemplate,
    mailoutbox: list[Any],
) -> None:
    reminders_dispatch_due(now=seoul(TUESDAY, 10))  # the session reminders
    mailoutbox.clear()

    reminders_dispatch_due(now=seoul(TUESDAY, 20))

    [email] = mailoutbox
    assert email.subject == "[Clinic Planner] Aftercare after your Rejuran Healer today"
    assert rejuran.treatment.aftercare in email.body
    assert rejuran.treatment.aftercare_ko not in email.body


def test_maintenance_due_reminder_names_the_due_date_in_the_patients_language(
    jiwoo: Patient, kim: Practitioner, sms_outbox: list[dict[str, str]]
) -> None:
    plan = in_maintenance(jiwoo, kim)
    reminders_create_for_maintenance(plan=plan, now=BOOKED)

    report = reminders_dispatch_due(now=seoul(date(2027, 6, 1), 10))

    assert report.sent == 2
    bodies = [m["body"] for m in sms_outbox]
    assert any("다음 리쥬란 힐러 유지 관리 시술 권장일은 2027년 6월 1일 (화)" in b for b in bodies)
    assert any("오늘(2027년 6월 1일 (화))은 리쥬란 힐러 유지 관리" in b for b in bodies)


# --- Reminders nobody needs any more ----------------------------------------------------------


def test_a_reminder_for_a_session_cancelled_behind_the_dispatchers_back_is_dropped_not_sent(
    jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]]
) -> None:
    _, session = jiwoo_course
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.CANCELLED)

    report = reminders_dispatch_due(now=seoul(TUESDAY, 9))

    assert report.not_needed == 2
    assert report.sent == 0
    assert handoffs == []
    for reminder in Reminder.objects.filter(session=session).exclude(kind=ReminderKind.AFTERCARE):
        assert reminder.status == ReminderStatus.CANCELLED
        assert reminder.last_error == "the session is cancelled"
        assert reminder.attempts == 0
        assert reminder.sent_at is None


def test_cancelling_a_session_cancels_its_pending_reminders_and_none_is_sent(
    jiwoo_course: tuple[TreatmentPlan, Session],
    staff_user: User,
    handoffs: list[dict[str, str]],
) -> None:
    _, session = jiwoo_course
    session_cancel(
        session=session, reason="patient has a cold", cancelled_by=staff_user, now=BOOKED
    )

    report = reminders_dispatch_due(now=seoul(TUESDAY, 21))

    assert report.handled == 0
    assert handoffs == []
    assert set(Reminder.objects.filter(session=session).values_list("status", "last_error")) == {
        (ReminderStatus.CANCELLED, "session cancelled")
    }


def test_a_reminder_for_the_old_time_of_a_moved_session_is_not_sent(
    jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]]
) -> None:
    _, session = jiwoo_course
    Session.objects.filter(pk=session.pk).update(revision=1)

    report = reminders_dispatch_due(now=seoul(TUESDAY, 9))

    assert report.not_needed == 2
    assert handoffs == []
    early = Reminder.objects.get(session=session, kind=ReminderKind.SESSION_EARLY)
    assert early.status == ReminderStatus.CANCELLED
    assert "moved" in early.last_error


def test_moving_a_session_reminds_the_patient_of_the_new_time_only(
    jiwoo: Patient,
    kim: Practitioner,
    rejuran: ProtocolTemplate,
    staff_user: User,
    sms_outbox: list[dict[str, str]],
) -> None:
    plan = booked_course(jiwoo, kim, rejuran, staff_user)
    first = plan.sessions.get(sequence=1)

    session_reschedule(
        session=first, new_start=seoul(TUESDAY, 14), changed_by=staff_user, now=BOOKED
    )
    report = reminders_dispatch_due(now=seoul(TUESDAY, 13))

    assert report.sent == 2
    assert all("2026년 12월 1일 (화) 오후 2:00" in m["body"] for m in sms_outbox)
    assert set(
        Reminder.objects.filter(session=first, cycle=0).values_list("status", flat=True)
    ) == {ReminderStatus.CANCELLED}
    new = {r.kind: r for r in Reminder.objects.filter(session=first, cycle=1)}
    assert new[ReminderKind.SESSION_LATE].due_at == seoul(TUESDAY, 12)
    assert new[ReminderKind.SESSION_LATE].status == ReminderStatus.SENT
    assert new[ReminderKind.AFTERCARE].status == ReminderStatus.PENDING


def test_aftercare_is_sent_for_a_completed_session(
    jiwoo_course: tuple[TreatmentPlan, Session],
    staff_user: User,
    sms_outbox: list[dict[str, str]],
) -> None:
    _, session = jiwoo_course
    reminders_dispatch_due(now=seoul(TUESDAY, 9))
    session_complete(session=session, completed_by=staff_user, now=seoul(TUESDAY, 10, 50))
    sms_outbox.clear()

    report = reminders_dispatch_due(now=seoul(TUESDAY, 20))

    assert report.sent == 1
    aftercare = Reminder.objects.get(session=session, kind=ReminderKind.AFTERCARE)
    assert aftercare.status == ReminderStatus.SENT
    assert [m["key"] for m in sms_outbox] == [f"reminder-{aftercare.pk}"]


def test_maintenance_reminders_for_a_plan_no_longer_in_maintenance_are_not_sent(
    jiwoo: Patient, kim: Practitioner, handoffs: list[dict[str, str]]
) -> None:
    plan = in_maintenance(jiwoo, kim)
    reminders_create_for_maintenance(plan=plan, now=BOOKED)
    TreatmentPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.COMPLETED)

    report = reminders_dispatch_due(now=seoul(date(2027, 6, 1), 10))

    assert report.not_needed == 2
    assert handoffs == []
    assert set(Reminder.objects.filter(plan=plan).values_list("status", "last_error")) == {
        (ReminderStatus.CANCELLED, "the plan is no longer waiting for this maintenance session")
    }


def test_a_maintenance_reminder_from_an_earlier_cycle_is_not_sent(
    jiwoo: Patient, kim: Practitioner, handoffs: list[dict[str, str]]
) -> None:
    plan = in_maintenance(jiwoo, kim)
    reminders_create_for_maintenance(plan=plan, now=BOOKED)
    TreatmentPlan.objects.filter(pk=plan.pk).update(maintenance_cycle=2)

    report = reminders_dispatch_due(now=seoul(date(2027, 6, 1), 10))

    assert report.not_needed == 2
    assert handoffs == []


def test_a_session_reminder_dispatched_only_after_the_session_started_is_dropped_not_sent(
    jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]]
) -> None:
    _, session = jiwoo_course

    # The worker was down from Sunday morning until Tuesday 11:00, after the 10:00 session.
    report = reminders_dispatch_due(now=seoul(TUESDAY, 11))

    assert handoffs == []
    assert report.not_needed == 2
    assert set(
        Reminder.objects.filter(session=session)
        .exclude(kind=ReminderKind.AFTERCARE)
        .values_list("status", flat=True)
    ) == {ReminderStatus.CANCELLED}


def test_stopping_the_course_after_todays_session_still_sends_aftercare_for_that_session(
    jiwoo_course: tuple[TreatmentPlan, Session],
    staff_user: User,
    sms_outbox: list[dict[str, str]],
) -> None:
    plan, session = jiwoo_course
    reminders_dispatch_due(now=seoul(TUESDAY, 9))
    session_complete(session=session, completed_by=staff_user, now=seoul(TUESDAY, 10, 50))
    plan_cancel(
        plan=plan,
        reason="patient does not want the other two sessions",
        cancelled_by=staff_user,
        now=seoul(TUESDAY, 11),
    )
    sms_outbox.clear()

    reminders_dispatch_due(now=seoul(TUESDAY, 20))

    aftercare = Reminder.objects.get(session=session, kind=ReminderKind.AFTERCARE)
    assert aftercare.status == ReminderStatus.SENT, aftercare.last_error
    assert [m["key"] for m in sms_outbox] == [f"reminder-{aftercare.pk}"]


# --- Failures and retries ---------------------------------------------------------------------


def test_a_failed_hand_off_is_kept_for_a_retry_a_minute_later_with_the_error(
    jiwoo_course: tuple[TreatmentPlan, Session], failing_sms: None
) -> None:
    _, session = jiwoo_course
    late = Reminder.objects.get(session=session, kind=ReminderKind.SESSION_LATE)
    now = seoul(TUESDAY, 8)

    report = reminders_dispatch_due(now=now)

    late.refresh_from_db()
    assert late.status == ReminderStatus.PENDING
    assert late.attempts == 1
    assert late.last_error == "SMS gateway unreachable (HTTP 503)"
    assert late.due_at == now + RETRY_DELAYS[0] == seoul(TUESDAY, 8, 1)
    assert late.sent_at is None
    # The early reminder (due Sunday) failed the same way in the same run, once.
    assert report.retried == 2
    assert report.handled == 2


def test_a_retried_reminder_is_not_retried_again_in_the_same_run(
    jiwoo_course: tuple[TreatmentPlan, Session], failing_sms: None
) -> None:
    report = reminders_dispatch_due(now=seoul(TUESDAY, 9))

    assert report.retried == 2
    assert set(Reminder.objects.filter(attempts__gt=0).values_list("attempts", flat=True)) == {1}


def test_retries_back_off_and_give_up_as_failed_after_the_last_attempt(
    jiwoo_course: tuple[TreatmentPlan, Session], failing_sms: None
) -> None:
    _, session = jiwoo_course
    # The two-day reminder: all its retries fall well before the session starts.
    late = Reminder.objects.get(session=session, kind=ReminderKind.SESSION_EARLY)
    Reminder.objects.filter(session=session).exclude(pk=late.pk).delete()
    now = late.due_at
    waits = []

    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome = reminders_dispatch_due(now=now)
        late.refresh_from_db()
        assert late.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert outcome.retried == 1
            assert late.status == ReminderStatus.PENDING
            waits.append(late.due_at - now)
            assert reminders_dispatch_due(now=late.due_at - timedelta(seconds=1)).handled == 0
            now = late.due_at

    assert waits == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
    ]
    assert outcome.failed == 1
    assert late.status == ReminderStatus.FAILED
    assert late.last_error == "SMS gateway unreachable (HTTP 503)"
    assert late.sent_at is None
    assert reminders_dispatch_due(now=now + timedelta(days=1)).handled == 0


def test_a_channel_that_is_down_does_not_hold_up_reminders_on_the_other_channel(
    jiwoo_course: tuple[TreatmentPlan, Session],
    emma_course: tuple[TreatmentPlan, Session],
    failing_sms: None,
    mailoutbox: list[Any],
) -> None:
    report = reminders_dispatch_due(now=seoul(TUESDAY, 9, 30))

    assert report.retried == 2  # Jiwoo's text messages
    assert report.sent == 2  # Emma's emails
    assert len(mailoutbox) == 2


def test_a_malformed_email_address_on_one_patient_does_not_stop_everyone_elses_reminders(
    kim: Practitioner, jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]]
) -> None:
    typo = PatientFactory(email="kim@", phone="", reminder_channel="email")
    plan, session = course(typo, kim, starts_at=seoul(TUESDAY, 9))  # due before Jiwoo's
    reminders_create_for_sessions(plan=plan, sessions=[session], now=BOOKED)

    report = reminders_dispatch_due(now=seoul(TUESDAY, 8, 30))

    assert report.sent == 2  # Jiwoo's two text messages
    assert len(handoffs) == 2
    bad = Reminder.objects.get(session=session, kind=ReminderKind.SESSION_LATE)
    assert bad.status == ReminderStatus.PENDING
    assert bad.attempts == 1
    assert bad.last_error


# --- Staff retrying a failed reminder --------------------------------------------------------


def given_up(reminder: Reminder) -> Reminder:
    """Run the dispatcher until the channel that is down has had every attempt."""
    now = reminder.due_at
    for _ in range(MAX_ATTEMPTS):
        reminders_dispatch_due(now=now)
        reminder.refresh_from_db()
        now = reminder.due_at
    assert reminder.status == ReminderStatus.FAILED
    return reminder


@pytest.fixture
def failed_early(jiwoo_course: tuple[TreatmentPlan, Session], settings: Any) -> Iterator[Reminder]:
    """The two-day reminder of Jiwoo's first session, given up on while the gateway was down;
    the gateway works again afterwards."""
    _, session = jiwoo_course
    early = Reminder.objects.get(session=session, kind=ReminderKind.SESSION_EARLY)
    Reminder.objects.filter(session=session).exclude(pk=early.pk).delete()
    settings.SMS_BACKEND = "tests.scheduling.test_reminders.FailingSmsBackend"
    given_up(early)
    settings.SMS_BACKEND = "tests.scheduling.test_reminders.RecordingSmsBackend"
    RecordingSmsBackend.handoffs.clear()
    yield early
    RecordingSmsBackend.handoffs.clear()


def test_staff_retry_a_failed_reminder_and_the_next_dispatch_sends_it(
    failed_early: Reminder, staff_user: User
) -> None:
    now = seoul(SUNDAY_BEFORE, 15)

    outcome = reminder_retry(reminder=failed_early, retried_by=staff_user, now=now)
    report = reminders_dispatch_due(now=now)

    assert outcome.retried
    assert outcome.message == "The reminder is queued again and goes out within a minute."
    assert report.sent == 1
    failed_early.refresh_from_db()
    assert failed_early.status == ReminderStatus.SENT
    assert failed_early.attempts == MAX_ATTEMPTS + 1
    assert (failed_early.retried_by, failed_early.retried_at) == (staff_user, now)
    assert [h["key"] for h in RecordingSmsBackend.handoffs] == [f"reminder-{failed_early.pk}"]


def test_retrying_twice_queues_the_reminder_once_and_says_so(
    failed_early: Reminder, staff_user: User, clinic_admin: User
) -> None:
    now = seoul(SUNDAY_BEFORE, 15)
    reminder_retry(reminder=failed_early, retried_by=staff_user, now=now)
    before = list(Reminder.objects.values())

    again = reminder_retry(reminder=failed_early, retried_by=clinic_admin, now=now + timedelta(1))

    assert not again.retried
    assert again.message == "This reminder is waiting, not failed: nothing was changed."
    assert list(Reminder.objects.values()) == before
    assert reminders_dispatch_due(now=now).sent == 1


def test_retrying_a_sent_reminder_changes_nothing_and_says_so(
    jiwoo_course: tuple[TreatmentPlan, Session], handoffs: list[dict[str, str]], staff_user: User
) -> None:
    _, session = jiwoo_course
    reminders_dispatch_due(now=seoul(SUNDAY_BEFORE, 15))
    sent = Reminder.objects.get(session=session, kind=ReminderKind.SESSION_EARLY)
    before = list(Reminder.objects.values())

    outcome = reminder_retry(reminder=sent, retried_by=staff_user, now=seoul(SUNDAY_BEFORE, 16))

    assert not outcome.retried
    assert outcome.message == "This reminder is sent, not failed: nothing was changed."
    assert list(Reminder.objects.values()) == before


def test_a_failed_reminder_nobody_needs_any_more_is_not_retried(
    failed_early: Reminder, staff_user: User
) -> None:
    Session.objects.filter(pk=failed_early.session_id).update(status=SessionStatus.CANCELLED)
    before = list(Reminder.objects.values())

    with pytest.raises(ValidationError) as error:
        reminder_retry(reminder=failed_early, retried_by=staff_user, now=seoul(SUNDAY_BEFORE, 15))

    assert error.value.message_dict == {
        "reminder": [
            "This reminder is no longer needed (the session is cancelled): it is not sent again."
        ]
    }
    assert list(Reminder.objects.values()) == before


def test_a_retried_reminder_that_fails_again_is_failed_again_with_the_new_error(
    failed_early: Reminder, staff_user: User, settings: Any
) -> None:
    now = seoul(SUNDAY_BEFORE, 15)
    reminder_retry(reminder=failed_early, retried_by=staff_user, now=now)
    settings.SMS_BACKEND = "tests.scheduling.test_reminders.FailingSmsBackend"

    report = reminders_dispatch_due(now=now)

    failed_early.refresh_from_db()
    assert report.failed == 1
    assert failed_early.status == ReminderStatus.FAILED
    assert failed_early.last_error == "SMS gateway unreachable (HTTP 503)"


# --- Query counts -----------------------------------------------------------------------------


def due_reminders(count: int, now: datetime) -> None:
    """``count`` due reminders for different patients, alternating email and SMS."""
    for i in range(count):
        channel = ReminderChannel.SMS if i % 2 else ReminderChannel.EMAIL
        patient = PatientFactory(reminder_channel=channel)
        plan, session = course(
            patient, PractitionerFactory(), starts_at=now + timedelta(hours=1, minutes=i)
        )
        Reminder.objects.create(
            plan=plan,
            session=session,
            kind=ReminderKind.SESSION_LATE,
            channel=channel,
            due_at=now - timedelta(minutes=i),
        )


def dispatch_queries(now: datetime) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        report = reminders_dispatch_due(now=now)
    return report.sent, len(queries)


def test_dispatching_when_nothing_is_due_costs_three_queries(
    django_assert_num_queries: Any,
) -> None:
    # SAVEPOINT, the SELECT ... FOR UPDATE SKIP LOCKED that finds nothing, RELEASE SAVEPOINT
    # (inside the test's transaction; BEGIN/COMMIT in production).
    with django_assert_num_queries(3):
        report = reminders_dispatch_due(now=seoul(TUESDAY, 9))
    assert report.handled == 0


def test_dispatching_costs_the_same_few_queries_per_reminder(
    sms_outbox: list[dict[str, str]], mailoutbox: list[Any]
) -> None:
    now = seoul(TUESDAY, 9)
    _, empty = dispatch_queries(now)
    due_reminders(3, now)
    sent_3, queries_3 = dispatch_queries(now)
    due_reminders(6, now + timedelta(days=1))
    sent_6, queries_6 = dispatch_queries(now + timedelta(days=1))

    assert (sent_3, sent_6) == (3, 6)
    assert len(sms_outbox) + len(mailoutbox) == 9
    # Per reminder: SAVEPOINT, claim the bare row, read it with plan, patient, treatment,
    # practitioner and session joined in, UPDATE (the hand-off starts), RELEASE; then, after
    # the hand-off, one UPDATE recording it sent. No query for rendering the message.
    assert (queries_3 - empty) / 3 == (queries_6 - empty) / 6 == 6
    assert (empty, queries_3, queries_6) == (3, 21, 39)


# --- Two dispatchers at once (PostgreSQL row locks) -------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_running_at_once_send_each_of_100_reminders_exactly_once(
    catalogue: None, handoffs: list[dict[str, str]]
) -> None:
    now = seoul(TUESDAY, 9)
    patient = PatientFactory(reminder_channel=ReminderChannel.SMS)
    practitioner = PractitionerFactory()
    plan = TreatmentPlanFactory(
        patient=patient, practitioner=practitioner, status=PlanStatus.ACTIVE, session_count=100
    )
    sessions = [
        SessionFactory(
            plan=plan,
            sequence=day + 1,
            kind=SessionKind.INITIAL,
            starts_at=seoul(TUESDAY + timedelta(days=day), 10),
            ends_at=seoul(TUESDAY + timedelta(days=day), 10, 45),
            practitioner=practitioner,
        )
        for day in range(100)
    ]
    Reminder.objects.bulk_create(
        Reminder(
            plan=plan,
            session=session,
            kind=ReminderKind.SESSION_EARLY,
            channel=ReminderChannel.SMS,
            due_at=now - timedelta(minutes=100 - i),
        )
        for i, session in enumerate(sessions)
    )
    RecordingSmsBackend.delay = 0.002
    start = threading.Barrier(2)
    reports: dict[int, Any] = {}
    errors: list[BaseException] = []

    def dispatcher(number: int) -> None:
        try:
            start.wait(timeout=10)
            reports[number] = reminders_dispatch_due(now=now)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    keys = [h["key"] for h in handoffs]
    assert len(keys) == 100
    assert len(set(keys)) == 100, "a reminder was handed off twice"
    assert reports[1].sent + reports[2].sent == 100
    assert min(reports[1].sent, reports[2].sent) > 0, "the dispatchers did not overlap"
    assert set(Reminder.objects.values_list("status", "attempts")) == {(ReminderStatus.SENT, 1)}
