"""The demo clinic `make run` creates: accounts that work, a busy week, courses at every stage,
all booked through the scheduling services so every rule holds, and nothing to re-create or
re-send on the next start."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from clinic.demo import ACCOUNTS, DemoSummary, demo_data_create
from clinic.demo.courses import DEMO_HISTORY
from clinic.formatting import local_day
from clinic.roles import Role, user_roles
from patients.models import MedicalFlag, Patient, PatientConcern
from patients.selectors import patient_contraindications
from scheduling.models import (
    PlanStatus,
    Practitioner,
    Reminder,
    ReminderStatus,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import days
from scheduling.selectors import clinic_calendar, clinic_tz
from tests.timeutil import local_today, seoul

KOREAN_MOBILE = r"^\+8210\d{8}$"  # stored in E.164


# --- Checks shared by the tests -------------------------------------------------------------


def open_days_from(first: date, count: int) -> list[date]:
    calendar = clinic_calendar(first_day=first, last_day=first + timedelta(days=count - 1))
    return [d for d in days(first, first + timedelta(days=count - 1)) if calendar.periods(d)]


def sessions_on(day: date) -> Iterable[Session]:
    return Session.objects.exclude(status=SessionStatus.CANCELLED).filter(
        starts_at__gte=seoul(day, 0), starts_at__lt=seoul(day + timedelta(days=1), 0)
    )


def double_bookings(key: Callable[[Session], Any]) -> list[tuple[Session, Session]]:
    """Pairs of sessions holding the same practitioner, room or patient at once."""
    held: defaultdict[Any, list[Session]] = defaultdict(list)
    for session in Session.objects.exclude(status=SessionStatus.CANCELLED).select_related("plan"):
        held[key(session)].append(session)
    clashes = []
    for sessions in held.values():
        sessions.sort(key=lambda s: s.starts_at)
        latest = sessions[0]
        for session in sessions[1:]:
            if session.starts_at < latest.ends_at:
                clashes.append((latest, session))
            if session.ends_at > latest.ends_at:
                latest = session
    return clashes


def off_the_grid_or_closed() -> list[Session]:
    """Sessions outside opening hours or not on the 15-minute grid from opening time."""
    sessions = list(Session.objects.all())
    tz = clinic_tz()
    first = min(s.starts_at for s in sessions).astimezone(tz).date()
    last = max(s.starts_at for s in sessions).astimezone(tz).date()
    calendar = clinic_calendar(first_day=first, last_day=last)
    wrong = []
    for session in sessions:
        periods = calendar.periods(session.starts_at.astimezone(tz).date())
        inside = [
            opens
            for opens, closes in periods
            if opens <= session.starts_at and session.ends_at <= closes
        ]
        if not inside or (session.starts_at - inside[0]) % timedelta(minutes=15):
            wrong.append(session)
    return wrong


def assert_clinic_keeps_the_rules(now: datetime) -> None:
    assert double_bookings(lambda s: s.practitioner_id) == []
    assert double_bookings(lambda s: s.room_id) == []
    assert double_bookings(lambda s: s.plan.patient_id) == []
    assert off_the_grid_or_closed() == []
    assert not Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=now).exists()
    statuses = set(TreatmentPlan.objects.values_list("status", flat=True))
    assert {
        PlanStatus.ACTIVE,
        PlanStatus.MAINTENANCE,
        PlanStatus.NEEDS_ATTENTION,
        PlanStatus.CANCELLED,
    } <= statuses
    assert PlanStatus.SCHEDULING not in statuses  # the demo schedules every course itself
    first_day = open_days_from(now.astimezone(clinic_tz()).date(), 7)[0]
    for practitioner in Practitioner.objects.all():
        assert sessions_on(first_day).filter(practitioner=practitioner).count() >= 3


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "practitioners": Practitioner.objects.count(),
        "rooms": Room.objects.count(),
        "patients": Patient.objects.count(),
        "concerns": PatientConcern.objects.count(),
        "flags": MedicalFlag.objects.count(),
        "plans": TreatmentPlan.objects.count(),
        "sessions": Session.objects.count(),
        "reminders": Reminder.objects.count(),
        "pending reminders": Reminder.objects.filter(status=ReminderStatus.PENDING).count(),
        "patient history": Patient.history.count(),
        "plan history": TreatmentPlan.history.count(),
        "session history": Session.history.count(),
    }


# --- One demo clinic, looked at from every side ---------------------------------------------


@pytest.fixture(scope="class")
def built_at() -> datetime:
    """The moment the class's demo clinic is built as of. Its tests judge "now" and "today" by
    it: the class takes a while, and one that runs across midnight would otherwise look for
    today's sessions on the next day."""
    return timezone.now()


@pytest.fixture(scope="class")
def clinic(
    built_at: datetime, django_db_setup: None, django_db_blocker: Any
) -> Iterator[DemoSummary]:
    """Built once for the class (building takes a few seconds) as of ``built_at``, and rolled
    back after it; the password hasher is the tests' fast one, which each test's settings also
    name."""
    with (
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield demo_data_create(now=built_at)
        transaction.set_rollback(True)


@pytest.mark.usefixtures("db")
class TestTheDemoClinic:
    def test_every_account_logs_in_with_its_role(self, clinic: DemoSummary) -> None:
        roles = {
            "admin": Role.CLINIC_ADMIN,
            "drkim": Role.STAFF,
            "drchoi": Role.STAFF,
            "drjung": Role.STAFF,
            "reception": Role.STAFF,
            "jiwoo": Role.PATIENT,
            "emma": Role.PATIENT,
        }
        assert {a.username for a in clinic.accounts} == set(roles)
        for account in clinic.accounts:
            user = authenticate(username=account.username, password=account.password)
            assert user is not None, account.username
            assert Role(roles[account.username]) in user_roles(user)
        reception = User.objects.get(username="reception")
        assert reception.is_staff
        assert not Practitioner.objects.filter(user=reception).exists()

    def test_three_practitioners_in_their_rooms_one_performing_only_some_treatments(
        self, clinic: DemoSummary
    ) -> None:
        practitioners = Practitioner.objects.prefetch_related("treatments")
        assert practitioners.count() >= 3
        assert {"Room 1", "Room 2"} <= set(Room.objects.values_list("name", flat=True))
        performed = {p.user.username: {t.slug for t in p.treatments.all()} for p in practitioners}
        assert performed["drjung"] == {"skinboosters", "prp"}
        assert "rejuran-healer" in performed["drkim"]
        assert all(user_roles(p.user) == {Role.STAFF} for p in practitioners)

    def test_a_few_dozen_patients_with_contacts_concerns_and_some_medical_flags(
        self, clinic: DemoSummary
    ) -> None:
        patients = list(Patient.objects.prefetch_related("concerns"))
        assert len(patients) >= 25
        assert len({p.phone for p in patients}) == len({p.email for p in patients}) == len(patients)
        assert all(p.email for p in patients)
        for patient in patients:
            assert patient.phone
            assert re.match(KOREAN_MOBILE, patient.phone), patient.phone
            assert 1 <= len(patient.concerns.all()) <= 3, patient
        korean = [p for p in patients if p.preferred_language == "ko"]
        assert len(korean) > len(patients) / 2
        open_flags = MedicalFlag.objects.filter(resolved_at__isnull=True)
        assert {"fish-allergy", "pregnancy", "anticoagulants"} <= set(
            open_flags.values_list("condition__slug", flat=True)
        )
        assert Patient.history.count() >= len(patients)  # saved through the patient service

    def test_courses_at_every_stage(self, clinic: DemoSummary, built_at: datetime) -> None:
        now = built_at
        today = local_day(built_at)
        plans = list(TreatmentPlan.objects.prefetch_related("sessions"))

        def initial(plan: TreatmentPlan) -> list[Session]:
            return [s for s in plan.sessions.all() if s.kind == SessionKind.INITIAL]

        just_booked = [
            p
            for p in plans
            if p.status == PlanStatus.ACTIVE
            and all(s.status == SessionStatus.PLANNED and s.starts_at > now for s in initial(p))
        ]
        mid_course = [
            p
            for p in plans
            if p.status == PlanStatus.ACTIVE
            and {s.status for s in initial(p)} == {SessionStatus.COMPLETED, SessionStatus.PLANNED}
        ]
        maintenance = [p for p in plans if p.status == PlanStatus.MAINTENANCE]
        due_soon = [
            p
            for p in maintenance
            if p.maintenance_due_on and today < p.maintenance_due_on <= today + timedelta(28)
        ]
        overdue = [
            p
            for p in maintenance
            if p.maintenance_due_on
            and p.maintenance_due_on < today
            and not any(s.status == SessionStatus.PLANNED for s in p.sessions.all())
        ]
        attention = [p for p in plans if p.status == PlanStatus.NEEDS_ATTENTION]
        assert just_booked
        assert len(mid_course) >= 5
        assert any(s.reactions for p in mid_course for s in p.sessions.all())
        assert len(due_soon) >= 2
        assert overdue
        assert attention
        assert all(p.attention_reason for p in attention)
        assert any(p.status == PlanStatus.CANCELLED and p.cancellation_reason for p in plans)
        assert Session.objects.filter(status=SessionStatus.NO_SHOW).exists()
        assert (
            Session.objects.filter(status=SessionStatus.CANCELLED)
            .exclude(cancellation_reason="course cancelled")
            .exclude(cancellation_reason="")
            .exists()
        )
        assert Session.objects.filter(revision__gt=0).exists()  # a session was moved
        assert TreatmentPlan.objects.exclude(override_reason="").exists()

    def test_a_busy_week_for_every_practitioner(
        self, clinic: DemoSummary, built_at: datetime
    ) -> None:
        week = open_days_from(local_day(built_at), 7)
        for practitioner in Practitioner.objects.all():
            per_day = [sessions_on(day).filter(practitioner=practitioner).count() for day in week]
            assert per_day[0] >= 3, practitioner
            assert all(per_day), (practitioner, per_day)
        assert clinic.sessions_today == sessions_on(local_day(built_at)).count()

    def test_jiwoo_is_mid_course_with_aftercare_to_read(
        self, clinic: DemoSummary, built_at: datetime
    ) -> None:
        jiwoo = Patient.objects.get(user__username="jiwoo")
        plan = jiwoo.plans.get()
        sessions = list(plan.sessions.order_by("sequence"))
        assert plan.status == PlanStatus.ACTIVE
        assert sessions[0].status == SessionStatus.COMPLETED
        assert sessions[0].reactions
        assert sessions[1].status == SessionStatus.PLANNED
        assert sessions[1].starts_at > built_at

    def test_jiwoo_asked_to_move_her_next_session_and_staff_see_it(
        self, clinic: DemoSummary
    ) -> None:
        from scheduling.selectors import open_session_requests

        [asked] = open_session_requests()
        jiwoo = Patient.objects.get(user__username="jiwoo")
        assert asked.patient == jiwoo
        assert asked.kind == "move"
        assert asked.session.status == SessionStatus.PLANNED
        assert asked.wanted_start is not None
        assert asked.wanted_start != asked.session.starts_at

    def test_emma_is_in_maintenance_on_a_treatment_her_fish_allergy_allows(
        self, clinic: DemoSummary, built_at: datetime
    ) -> None:
        emma = Patient.objects.get(user__username="emma")
        assert emma.medical_flags.filter(
            condition__slug="fish-allergy", resolved_at__isnull=True
        ).exists()
        plans = list(emma.plans.select_related("template__treatment"))
        assert [p.status for p in plans] == [PlanStatus.MAINTENANCE]
        for plan in plans:
            assert patient_contraindications(patient=emma, treatment=plan.template.treatment) == []
            assert plan.override_reason == ""
        assert plans[0].maintenance_due_on > local_day(built_at)

    def test_no_one_is_double_booked_and_every_session_is_on_the_grid_in_opening_hours(
        self, clinic: DemoSummary, built_at: datetime
    ) -> None:
        assert_clinic_keeps_the_rules(built_at)

    def test_reminders_of_the_back_dated_history_will_not_go_out(
        self, clinic: DemoSummary, built_at: datetime
    ) -> None:
        now = built_at
        assert not Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=now).exists()
        retired = Reminder.objects.filter(last_error=DEMO_HISTORY)
        assert retired.exists()
        assert set(retired.values_list("status", flat=True)) == {ReminderStatus.CANCELLED}
        assert Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__gt=now).exists()

    def test_a_second_run_changes_nothing_but_the_passwords(self, clinic: DemoSummary) -> None:
        before = counts()

        again = demo_data_create()

        assert not again.created
        assert counts() == before
        for account in ACCOUNTS:
            assert authenticate(username=account.username, password=account.password)


# --- Built as of other moments, and through the command -------------------------------------


def upcoming_weekday(weekday: int, at: time) -> datetime:
    day = local_today() + timedelta(days=1)
    return seoul(day + timedelta(days=(weekday - day.weekday()) % 7), at.hour, at.minute)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("weekday", "at"),
    [
        (0, time(8, 30)),  # Monday before opening
        (2, time(13, 5)),  # Wednesday, half the day done
        (5, time(16, 0)),  # Saturday after closing
        (6, time(12, 0)),  # Sunday: closed; the week starts tomorrow
    ],
    ids=["monday-morning", "wednesday-lunch", "saturday-evening", "sunday"],
)
def test_the_demo_keeps_every_rule_whatever_the_day(weekday: int, at: time) -> None:
    now = upcoming_weekday(weekday, at)

    summary = demo_data_create(now=now)

    assert summary.created
    assert_clinic_keeps_the_rules(now)


@pytest.mark.django_db
def test_the_command_prints_the_accounts_and_a_summary(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DEBUG = True

    call_command("demo")
    first = counts()
    call_command("demo")

    out = capsys.readouterr().out
    for account in ACCOUNTS:
        assert f"{account.username} " in out
        assert account.password in out
    assert "Demo clinic created:" in out
    assert "already set up" in out
    assert counts() == first


@pytest.mark.django_db
def test_the_command_refuses_with_debug_off(settings: Any) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo")
    assert not User.objects.filter(username="reception").exists()
