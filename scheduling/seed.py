"""Clinic set-up defaults: reminder timing and opening hours. Safe to run any number of times;
rows an admin has edited are left as they are."""

from __future__ import annotations

from datetime import time

from django.db import transaction

from scheduling.models import OpeningHours, ReminderKind, ReminderRule, Weekday

REMINDER_RULES: dict[str, dict[str, object]] = {
    ReminderKind.SESSION_EARLY: {"lead_minutes": 48 * 60},
    ReminderKind.SESSION_LATE: {"lead_minutes": 2 * 60},
    # The evening of the session day, when the patient is home with the after-effects.
    ReminderKind.AFTERCARE: {"lead_minutes": 0, "local_time": time(20, 0)},
    ReminderKind.MAINTENANCE_EARLY: {"lead_minutes": 14 * 24 * 60, "local_time": time(10, 0)},
    ReminderKind.MAINTENANCE_DUE: {"lead_minutes": 0, "local_time": time(10, 0)},
}

# A typical Seoul clinic week; only used when no opening hours exist yet.
DEFAULT_OPENING_HOURS: list[tuple[int, time, time]] = [
    *[(day, time(10, 0), time(19, 0)) for day in range(Weekday.MONDAY, Weekday.FRIDAY + 1)],
    (Weekday.SATURDAY, time(10, 0), time(15, 0)),
]


@transaction.atomic
def clinic_defaults_seed() -> list[str]:
    created: list[str] = []
    for kind, values in REMINDER_RULES.items():
        _, was_created = ReminderRule.objects.get_or_create(kind=kind, defaults=values)
        if was_created:
            created.append(f"reminder rule {kind}")
    if not OpeningHours.objects.exists():
        OpeningHours.objects.bulk_create(
            OpeningHours(weekday=day, opens_at=opens, closes_at=closes)
            for day, opens, closes in DEFAULT_OPENING_HOURS
        )
        created.append(f"{len(DEFAULT_OPENING_HOURS)} opening periods")
    return created
