"""Benchmark D: free-slot search for one practitioner whose history grows.

Each size gets its own practitioner with a realistic week (about 39 sessions) repeated back
through the years, ending eight weeks ahead; the searched range is the coming 1 or 28 days, so
the range always holds the same number of sessions and only the history behind it grows.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks import fixtures
from benchmarks.report import Table, count, median, met, p95, progress
from scheduling.models import Practitioner, SessionKind, SessionStatus
from scheduling.planner import free_starts, local_datetime
from scheduling.selectors import clinic_tz, free_slots, slot_search
from treatments.models import Treatment

RUNS = 50
TARGET_MS = 20.0  # 28 days at 10,000 sessions
TARGET_QUERIES = 3
FUTURE_WEEKS = 8
# Wall-clock starts of a practitioner's 45-minute sessions (seeded hours: weekdays 10–19,
# Saturday 10–15); each day shifts them by 0, 15 or 30 minutes so the gaps vary.
DAY_PATTERN = {
    **{
        weekday: ["10:00", "11:00", "12:00", "14:00", "15:00", "16:30", "17:45"]
        for weekday in range(5)
    },
    5: ["10:00", "11:00", "12:30", "13:30"],
}
COLUMNS = (
    "plan_id",
    "sequence",
    "kind",
    "starts_at",
    "ends_at",
    "practitioner_id",
    "patient_id",
    "room_id",
    "status",
    "reactions",
    "reaction_notes",
    "revision",
    "completed_at",
    "cancelled_at",
    "cancellation_reason",
    "updated_at",
)


def _history(last_day: date, number: int, length: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) of ``number`` sessions on the day pattern, newest first from ``last_day``."""
    tz = clinic_tz()
    day, made = last_day, 0
    while made < number:
        for wall in reversed(DAY_PATTERN.get(day.weekday(), [])):
            hour, minute = map(int, wall.split(":"))
            minutes = hour * 60 + minute + 15 * (day.toordinal() % 3)
            start = local_datetime(day, clock(minutes // 60, minutes % 60), tz)
            yield start, (start.astimezone(UTC) + length).astimezone(tz)  # absolute time
            made += 1
            if made == number:
                return
        day -= timedelta(days=1)


def populate(number: int, *, search_from: date, length: timedelta) -> tuple[Practitioner, float]:
    """A practitioner with ``number`` sessions, loaded with COPY; returns it and the years the
    history spans. Every 20th session is cancelled (it frees its time)."""
    template = fixtures.rejuran()
    (practitioner,) = fixtures.practitioners(1, prefix=f"bench-d{number}", template=template)
    (patient,) = fixtures.patients(1, prefix=f"d{number}")
    plans = fixtures.bare_plans(
        -(-number // 4),
        patient=patient,
        practitioner=practitioner,
        template=template,
        booked_by=fixtures.staff_user(),
    )
    now = timezone.now()
    rows = io.StringIO()
    writer = csv.writer(rows)
    oldest = search_from
    for i, (start, end) in enumerate(
        _history(search_from + timedelta(weeks=FUTURE_WEEKS), number, length)
    ):
        status = (
            SessionStatus.CANCELLED
            if i % 20 == 19
            else SessionStatus.COMPLETED
            if end < now
            else SessionStatus.PLANNED
        )
        writer.writerow(
            [
                plans[i // 4].pk,
                i % 4 + 1,
                SessionKind.INITIAL,
                start.isoformat(),
                end.isoformat(),
                practitioner.pk,
                patient.pk,
                "",  # room NULL: CSV's empty unquoted field
                status,
                "[]",
                "",
                0,
                end.isoformat() if status == SessionStatus.COMPLETED else "",
                end.isoformat() if status == SessionStatus.CANCELLED else "",
                "",
                now.isoformat(),
            ]
        )
        oldest = start.date()
    rows.seek(0)
    with connection.cursor() as cursor:
        # Empty strings stay empty for the text columns and become NULL elsewhere.
        cursor.copy_expert(
            f"COPY scheduling_session ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, "
            "FORCE_NOT_NULL (reaction_notes, cancellation_reason))",
            rows,
        )
        cursor.execute("ANALYZE scheduling_session")
    return practitioner, (search_from - oldest).days / 365.25


def _scan_summary(sql: str) -> str:
    """Rows the busy-interval query reads on ``scheduling_session`` versus rows it keeps."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        (result,) = cursor.fetchone()
    plan = (json.loads(result) if isinstance(result, str) else result)[0]["Plan"]
    kept = read = 0
    indexes: list[str] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        stack.extend(node.get("Plans", []))
        if node.get("Relation Name") == "scheduling_session":
            loops = node.get("Actual Loops", 1)
            rows = node.get("Actual Rows", 0) * loops
            kept += rows
            read += rows + node.get("Rows Removed by Filter", 0) * loops
            indexes.append(node.get("Index Name") or node["Node Type"])
    return f"{read:,} read, {kept:,} kept ({', '.join(indexes)})"


def measure(
    practitioner: Practitioner, treatment: Treatment, first_day: date, span_days: int
) -> dict[str, Any]:
    last_day = first_day + timedelta(days=span_days - 1)
    length = timedelta(minutes=treatment.session_minutes)

    def call() -> list[Any]:
        return free_slots(
            practitioner=practitioner, treatment=treatment, first_day=first_day, last_day=last_day
        )

    for _ in range(3):  # warm-up
        call()
    totals, loads, computes = [], [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        slots = call()
        totals.append(time.perf_counter() - started)
    # The same work in its two halves: the 3 queries and BusySet, then the pure slot walk.
    for _ in range(RUNS):
        started = time.perf_counter()
        search = slot_search(
            practitioner_id=practitioner.pk,
            room_id=None,
            duration=length,
            first_day=first_day,
            last_day=last_day,
        )
        loaded = time.perf_counter()
        free_starts(search, first_day, last_day)
        loads.append(loaded - started)
        computes.append(time.perf_counter() - loaded)
    with CaptureQueriesContext(connection) as captured:
        call()
    busy_sql = next(q["sql"] for q in captured.captured_queries if "scheduling_session" in q["sql"])
    return {
        "median": median(totals),
        "p95": p95(totals),
        "load": median(loads),
        "compute": median(computes),
        "queries": len(captured.captured_queries),
        "slots": len(slots),
        "busy": len(search.busy),
        "scan": _scan_summary(busy_sql),
    }


def run(*, sizes: tuple[int, ...]) -> None:
    treatment = fixtures.rejuran().treatment
    length = timedelta(minutes=treatment.session_minutes)
    first_day = fixtures.next_monday(after_days=7)
    table = Table(
        f"D. free_slots for one practitioner, searching from {first_day} ({RUNS} runs each)",
        [
            "sessions (years)",
            "range",
            "median",
            "p95",
            "queries+BusySet",
            "slot walk",
            "queries",
            "busy in range",
            "free starts",
            "busy-interval query rows",
            "target",
            "met",
        ],
    )
    for number in sizes:
        progress(f"D: loading {number:,} sessions")
        practitioner, years = populate(number, search_from=first_day, length=length)
        for span in (1, 28):
            result = measure(practitioner, treatment, first_day, span)
            target, ok = "", None
            if span == 28 and number == 10_000:
                target = f"< {TARGET_MS:g} ms, ≤ {TARGET_QUERIES} q"
                ok = result["median"] * 1000 < TARGET_MS and result["queries"] <= TARGET_QUERIES
            elif result["queries"] > TARGET_QUERIES:
                target, ok = f"≤ {TARGET_QUERIES} q", False
            table.add(
                f"{number:,} ({years:.1f} y)",
                f"{span} d",
                f"{result['median'] * 1000:,.2f} ms",
                f"{result['p95'] * 1000:,.2f} ms",
                f"{result['load'] * 1000:,.2f} ms",
                f"{result['compute'] * 1000:,.2f} ms",
                result["queries"],
                count(result["busy"]),
                count(result["slots"]),
                result["scan"],
                target,
                "" if ok is None else met(ok),
            )
    table.note(
        "median/p95: the whole free_slots call. 'queries+BusySet' and 'slot walk' are the medians "
        "of its two halves (slot_search, then free_starts) timed separately."
    )
    table.note(
        "'busy-interval query rows': from EXPLAIN ANALYZE of the exact SQL free_slots ran — rows "
        "the scan on scheduling_session read versus rows it returned."
    )
    table.print()
