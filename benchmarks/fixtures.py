"""Fast creation of the rows the benchmarks need (not timed): people, patients, bare plans.

bulk_create skips the history signals on purpose: these rows are scenery, not what is measured.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from patients.models import Patient, ReminderChannel
from scheduling.models import PlanStatus, Practitioner, TreatmentPlan
from scheduling.planner import Calendar, local_datetime
from scheduling.selectors import clinic_tz
from treatments.models import ProtocolTemplate

BATCH = 2000


def seeded_random(seed: int) -> random.Random:
    """The same data on every run, so runs compare; nothing here needs to be unpredictable."""
    return random.Random(seed)  # noqa: S311


def rejuran() -> ProtocolTemplate:
    """The seeded default Rejuran Healer protocol (3–4 sessions, 21–28 days apart, 45 min)."""
    return ProtocolTemplate.objects.select_related("treatment").get(
        treatment__slug="rejuran-healer", is_default=True
    )


def staff_user(username: str = "bench-staff") -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    return user


def practitioners(number: int, *, prefix: str, template: ProtocolTemplate) -> list[Practitioner]:
    """Active practitioners who perform the template's treatment."""
    users = [User(username=f"{prefix}-{i}", is_staff=True) for i in range(number)]
    for user in users:
        user.set_unusable_password()
    users = User.objects.bulk_create(users, batch_size=BATCH)
    created = Practitioner.objects.bulk_create(
        [Practitioner(user=user, display_name=f"Dr. {prefix} {i}") for i, user in enumerate(users)],
        batch_size=BATCH,
    )
    through = Practitioner.treatments.through
    through.objects.bulk_create(
        [through(practitioner_id=p.pk, treatment_id=template.treatment_id) for p in created]
    )
    return created


def patients(number: int, *, prefix: str) -> list[Patient]:
    """Patients with an email address (so booking creates reminders) and no medical flags."""
    return Patient.objects.bulk_create(
        [
            Patient(
                family_name="Bench",
                given_name=f"{prefix}{i}",
                date_of_birth=date(1990, 1, 1),
                email=f"{prefix}{i}@example.com",
                reminder_channel=ReminderChannel.EMAIL,
            )
            for i in range(number)
        ],
        batch_size=BATCH,
    )


def bare_plans(
    number: int,
    *,
    patient: Patient,
    practitioner: Practitioner,
    template: ProtocolTemplate,
    booked_by: User,
    status: str = PlanStatus.ACTIVE,
) -> list[TreatmentPlan]:
    """Plans to hang sessions or reminders on; their own fields do not matter to the scan."""
    first = timezone.now()
    return TreatmentPlan.objects.bulk_create(
        [
            TreatmentPlan(
                patient=patient,
                template=template,
                practitioner=practitioner,
                status=status,
                session_count=4,
                interval_days=template.interval_days_default,
                first_session_at=first,
                booked_by=booked_by,
            )
            for _ in range(number)
        ],
        batch_size=BATCH,
    )


def next_monday(*, after_days: int) -> date:
    today = timezone.now().astimezone(clinic_tz()).date() + timedelta(days=after_days)
    return today + timedelta(days=-today.weekday() % 7)


def random_start(rng: random.Random, calendar: Calendar, day: date, length: timedelta) -> datetime:
    """A start on the 15-minute grid inside one of the day's opening periods, with room for
    a session of ``length`` before it closes."""
    opens, closes = rng.choice(sorted(calendar.opening_hours[day.weekday()]))
    first = opens.hour * 60 + opens.minute  # minutes after midnight, wall clock
    last = closes.hour * 60 + closes.minute - length // timedelta(minutes=1)
    start = first + 15 * rng.randint(0, (last - first) // 15)
    return local_datetime(day, time(start // 60, start % 60), calendar.tz)
