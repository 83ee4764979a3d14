"""Free time for many practitioners at once, for pages that offer it on every row (Today's next
free slots, maintenance offers): everything is read in a fixed number of queries, then each
practitioner's search is put together in memory for the pure planner.

A single booking still asks ``selectors.slot_search``; this is the same data, read in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import cast

from django.db.models import Q

from clinic.formatting import local_day
from scheduling.calendar_rules import CalendarRules, calendar_rules
from scheduling.models import (
    MAX_SESSION_LENGTH,
    Practitioner,
    Session,
    SessionStatus,
    TreatmentPlan,
)
from scheduling.planner import (
    BusySet,
    Interval,
    SlotSearch,
    iter_free_starts,
    local_datetime,
)
from scheduling.selectors import clinic_tz, day_bounds, practitioner_roster, slot_step


@dataclass
class Availability:
    """Opening hours, closures, and each practitioner's hours, leave and bookings (and those of
    the rooms and patients asked about) over a date range."""

    rules: CalendarRules
    by_practitioner: dict[int, list[Interval]] = field(default_factory=dict)
    by_room: dict[int, list[Interval]] = field(default_factory=dict)
    by_patient: dict[int, list[Interval]] = field(default_factory=dict)
    by_plan: dict[int, list[tuple[int, Interval]]] = field(default_factory=dict)

    def search(
        self,
        *,
        practitioner_id: int,
        duration: timedelta,
        room_id: int | None = None,
        patient_id: int | None = None,
        exclude_plan_id: int | None = None,
    ) -> SlotSearch:
        """What ``selectors.slot_search`` would give for these, without a query."""
        skipped = {id(interval) for _, interval in self.by_plan.get(exclude_plan_id or 0, [])}

        def kept(intervals: Iterable[Interval]) -> list[Interval]:
            return [i for i in intervals if id(i) not in skipped]

        busy = kept(self.by_practitioner.get(practitioner_id, []))
        if room_id is not None:
            busy += kept(self.by_room.get(room_id, []))
        return SlotSearch(
            calendar=self.rules.for_practitioner(practitioner_id),
            busy=BusySet(busy),
            duration=duration,
            step=slot_step(),
            patient_busy=BusySet(
                kept(self.by_patient.get(patient_id, [])) if patient_id is not None else []
            ),
        )


def availability(
    *,
    first_day: date,
    last_day: date,
    practitioner_ids: Iterable[int],
    room_ids: Iterable[int] = (),
    patient_ids: Iterable[int] = (),
) -> Availability:
    """Everything free-time searches need for these people and rooms (2 queries)."""
    practitioners = sorted(set(practitioner_ids))
    rooms = sorted(set(room_ids))
    patients = sorted(set(patient_ids))
    rules = calendar_rules(first_day=first_day, last_day=last_day, practitioner_ids=practitioners)
    found = Availability(rules=rules)
    start, end = day_bounds(first_day, last_day)
    # A session starting the day before may run into the range; one starting late on the last
    # day may run out of it.
    start, end = start - MAX_SESSION_LENGTH, end + MAX_SESSION_LENGTH
    holders = Q(practitioner_id__in=practitioners) | Q(room_id__in=rooms)
    if patients:
        holders |= Q(patient_id__in=patients)
    sessions = (
        Session.objects.filter(holders, starts_at__lt=end, starts_at__gt=start, ends_at__gt=start)
        .exclude(status=SessionStatus.CANCELLED)
        .values_list("starts_at", "ends_at", "practitioner_id", "room_id", "patient_id", "plan_id")
    )
    for starts_at, ends_at, practitioner, room, patient, plan in sessions:
        interval = Interval(starts_at, ends_at)
        found.by_practitioner.setdefault(practitioner, []).append(interval)
        if room is not None:
            found.by_room.setdefault(room, []).append(interval)
        found.by_patient.setdefault(patient, []).append(interval)
        found.by_plan.setdefault(plan, []).append((plan, interval))
    return found


def free_starts_after(
    search: SlotSearch,
    *,
    after: datetime,
    first_day: date,
    last_day: date,
    limit: int | None = None,
) -> list[datetime]:
    """Free starts in the range later than ``after``, in time order; only the first ``limit``
    when given (the search then stops as soon as it has them)."""
    later = (
        start
        for start in iter_free_starts(search, first_day, last_day, not_before=after)
        if start > after
    )
    return list(islice(later, limit))


@dataclass(frozen=True)
class NextFree:
    practitioner: Practitioner
    starts: list[datetime]


def next_free_slots(*, now: datetime, days: int = 7, count: int = 3) -> list[NextFree]:
    """Each practitioner's next free starts from ``now``, for the shortest treatment they
    perform, within ``days`` days (3 queries whatever the number of practitioners; 1 while the
    roster and the calendar are kept)."""
    practitioners = [p for p in practitioner_roster() if p.is_active]
    first_day = local_day(now)
    last_day = first_day + timedelta(days=days - 1)
    found = availability(
        first_day=first_day, last_day=last_day, practitioner_ids=[p.pk for p in practitioners]
    )
    offers = []
    for practitioner in practitioners:
        shortest: int | None = practitioner.shortest_session  # type: ignore[attr-defined]
        if shortest is None:  # performs no treatment offered now
            continue
        search = found.search(practitioner_id=practitioner.pk, duration=timedelta(minutes=shortest))
        starts = free_starts_after(
            search, after=now, first_day=first_day, last_day=last_day, limit=count
        )
        offers.append(NextFree(practitioner, starts))
    return offers


@dataclass(frozen=True)
class MaintenanceOffer:
    plan: TreatmentPlan
    start: datetime | None  # the free start nearest the due date, at the course's usual time


MAINTENANCE_SEARCH_DAYS = 14  # either side of the due date


def maintenance_offers(*, plans: list[TreatmentPlan], now: datetime) -> list[MaintenanceOffer]:
    """For each course due for maintenance, the free start nearest its due date (at the time of
    day of its last session when free), never in the past (2 queries for any number of plans).
    Plans need their sessions prefetched."""
    if not plans:
        return []
    today = local_day(now)
    due_days = [cast(date, p.maintenance_due_on) for p in plans]
    first_day = max(today, min(due_days) - timedelta(days=MAINTENANCE_SEARCH_DAYS))
    last_day = max(today, max(due_days)) + timedelta(days=MAINTENANCE_SEARCH_DAYS * 2)
    found = availability(
        first_day=first_day,
        last_day=last_day,
        practitioner_ids=[p.practitioner_id for p in plans],
        room_ids=[p.room_id for p in plans if p.room_id],
        patient_ids=[p.patient_id for p in plans],
    )
    tz = clinic_tz()
    offers = []
    for plan in plans:
        due = cast(date, plan.maintenance_due_on)
        done = [s for s in plan.sessions.all() if s.status == SessionStatus.COMPLETED]
        usual = done[-1].starts_at.astimezone(tz).time() if done else time(10, 0)
        window_first = max(today + timedelta(days=1), due - timedelta(days=MAINTENANCE_SEARCH_DAYS))
        window_last = max(window_first, due) + timedelta(days=MAINTENANCE_SEARCH_DAYS)
        search = found.search(
            practitioner_id=plan.practitioner_id,
            room_id=plan.room_id,
            patient_id=plan.patient_id,
            duration=timedelta(minutes=plan.template.treatment.session_minutes),
        )
        wished = local_datetime(min(max(due, window_first), window_last), usual, tz)
        offers.append(MaintenanceOffer(plan, search.nearest(wished, window_first, window_last)))
    return offers
