"""The results table (printed, and kept in benchmarks/RESULTS.md after a full-size run) and the
line about the machine it was measured on."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.http.load import CONNECTIONS, THREADS
from benchmarks.report import Table

if TYPE_CHECKING:
    from benchmarks.http.endpoints import Endpoint, QueryCount
    from benchmarks.http.load import LoadResult
    from benchmarks.http.seed import Counts

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"
HEADERS = [
    *("endpoint", "req/s", "p50", "p95", "p99", "errors", "SQL/req"),
    *("built: SQL", "built: ms", "vs ping"),
]


@dataclass(frozen=True)
class Row:
    endpoint: Endpoint
    load: LoadResult
    queries: QueryCount | None
    probe_status: int  # the answer to one request before the load, for the notes

    def cells(self, baseline: float) -> list[str]:
        queries = built_queries = built_ms = "—"
        if self.queries is not None:
            queries = str(self.queries.queries)
            if not 200 <= self.queries.status < 300:
                queries += f" (HTTP {self.queries.status})"
            built_queries = str(self.queries.built_queries)
            built_ms = f"{self.queries.built_ms:,.1f}"
        ratio = self.load.per_second / baseline if baseline else 0.0
        return [
            self.endpoint.name,
            f"{self.load.per_second:,.1f}",
            _ms(self.load.p50),
            _ms(self.load.p95),
            _ms(self.load.p99),
            f"{self.load.errors:,}",
            queries,
            built_queries,
            built_ms,
            f"{ratio:.3f}",
        ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def cpu() -> str:
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    name = models[0] if models else platform.processor() or "unknown CPU"
    usable = len(os.sched_getaffinity(0))
    return f"{name}, {len(models) or usable} CPUs ({usable} usable)"


def cpu_check() -> float:
    """Seconds a fixed pure-Python loop takes here and now (the best of three). On shared
    hardware the same write measured 8.6 ms and 13.5 ms in-process an hour apart; printed
    with the results, this shows whether the machine itself had become slower (not every
    slowdown shows in it: seconds of interference from neighbours can slip past)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        sum(i * i for i in range(3_000_000))
        times.append(time.perf_counter() - started)
    return min(times)


def ram() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 2**20:,.1f} GiB RAM"
    return "RAM unknown"


def wrk_version() -> str:
    shown = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
    words = (shown.stdout or shown.stderr).split()
    return words[1] if len(words) > 1 else "?"


def machine(*, workers: int) -> str:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server,) = cursor.fetchone()
    return (
        f"{cpu()}, {ram()}; Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {server.split()[0]}, gunicorn {version('gunicorn')} ({workers} sync "
        f"workers), wrk {wrk_version()} ({THREADS} threads, {CONNECTIONS} connections, loopback)"
    )


def sizes_line(counts: Counts) -> str:
    return (
        f"{counts.practitioners} practitioners, {counts.rooms} rooms, "
        f"{counts.patients:,} patients, {counts.courses:,} courses, {counts.sessions:,} sessions "
        f"({counts.past_sessions:,} in the past), {counts.reminders:,} reminders"
    )


def error_notes(rows: list[Row]) -> list[str]:
    """A line for each endpoint that answered anything but success, under load or before it."""
    return [
        f"{row.endpoint.name}: {row.load.socket_errors:,} socket errors and "
        f"{row.load.status_errors:,} answers 4xx/5xx in {row.load.requests:,} requests under "
        f"load; one request before the load answered {row.probe_status}"
        for row in rows
        if row.load.errors or not 200 <= row.probe_status < 300
    ]


def table(rows: list[Row], memory: dict[str, int], *, title: str) -> Table:
    baseline = rows[0].load.per_second if rows else 0.0
    printed = Table(title, HEADERS)
    for row in rows:
        printed.add(*row.cells(baseline))
    for text in error_notes(rows):
        printed.note(text)
    printed.note(
        "Resident memory after the run: "
        + ", ".join(f"{name} {_mib(size)}" for name, size in memory.items())
    )
    return printed


def markdown(
    rows: list[Row],
    memory: dict[str, int],
    *,
    when: datetime,
    machine_line: str,
    counts: Counts,
    seeding_seconds: float | None,
    seconds: int,
    warmup: int,
    workers: int,
    load_average: tuple[str, str],
    cpu_checks: tuple[float, float],
    note: str,
) -> str:
    baseline = rows[0].load.per_second if rows else 0.0
    seeded = sizes_line(counts)
    if seeding_seconds is not None:
        seeded += f"; seeding took {seeding_seconds:,.0f} s"
    facts = {
        "Date": f"{when:%Y-%m-%d %H:%M %Z}",
        "Machine": machine_line,
        "Load": f"{seconds} s per endpoint after a {warmup} s warm-up; wrk and gunicorn share "
        f"the machine; load average {load_average[0]} at the start, {load_average[1]} at the end",
        "Seeded": seeded,
        "CPU check": f"a fixed Python loop took {cpu_checks[0]:.3f} s at the start and "
        f"{cpu_checks[1]:.3f} s when the in-process figures were measured (lower is faster)",
        **({"Note": note} if note else {}),
    }
    lines = [
        "# HTTP benchmark: last results",
        "",
        _wrap(
            "Written by `make bench-http` after a full-size run (`bash scripts/bench-http "
            "--size small` leaves it alone). Figures from one run, printed and never asserted; "
            "compare endpoints through the last column, measured in the same run, rather than "
            "across machines."
        ),
        "",
        *(_wrap(f"- **{name}**: {text}", indent="  ") for name, text in facts.items()),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + " |",
        *("| " + " | ".join(row.cells(baseline)) + " |" for row in rows),
        "",
        *(_wrap(f"- {text}", indent="  ") for text in error_notes(rows)),
        *([""] if error_notes(rows) else []),
        _wrap(
            f"p50/p95/p99: latency percentiles under load ({CONNECTIONS} connections on "
            f"{workers} sync workers, so they include waiting for a free worker). errors: socket "
            "errors and answers other than 2xx/3xx. SQL/req: queries of one request after a "
            "warm one, counted in-process with Django's test client on the same database: for "
            "reads the answer kept from the request before (clinic/page_cache.py), as under the "
            "load. built: the same request as the first one after a booking elsewhere (the "
            "overall data version raised before each): the answer is built again, while the "
            "values kept by area (the user, the calendar, the reminder rules, the practitioners "
            "and rooms) stay; its queries and its median time in-process (one request at a "
            "time, no load). The patient pages repeat one person's look at the same records, "
            "which the access log writes once a minute (patients/access_log.py). The write is "
            "counted after the reminders and history rows the load's thousands of moves left "
            "on its few sessions are cleared, as at the start of a --reuse run. vs ping: "
            "requests/s as a fraction of the ping endpoint's (no database, no template)."
        ),
        "",
        _wrap(
            "Resident memory (VmRSS) after the run: "
            + ", ".join(f"{name} {_mib(size)}" for name, size in memory.items())
            + "."
        ),
        "",
    ]
    return "\n".join(lines)


def _wrap(text: str, *, indent: str = "") -> str:
    """Markdown paragraphs wrapped as the rest of the repository's text is (100 columns);
    code spans are kept on one line so they read as typed."""
    glued = re.sub(r"`[^`]*`", lambda span: span.group(0).replace(" ", "\0"), text)
    wrapped = textwrap.fill(
        glued, width=100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
    return wrapped.replace("\0", " ")
