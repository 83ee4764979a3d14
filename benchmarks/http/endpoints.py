"""What is measured: the pages and API calls a clinic uses all day, and one write; and the SQL
queries each one makes, counted in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from benchmarks.http.seed import Targets

Auth = Literal["none", "staff", "patient", "token"]
FREE_SLOT_DAYS = 28


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    auth: Auth
    write: bool = False  # the reschedule POST, driven by the Lua script
    htmx: bool = False  # asked for by htmx, as the page asks for its parts


def endpoints(targets: Targets) -> list[Endpoint]:
    day = targets.day.isoformat()
    until = (targets.day + timedelta(days=FREE_SLOT_DAYS - 1)).isoformat()
    week = f"date_from={targets.week_first.isoformat()}&date_to={targets.week_last.isoformat()}"
    return [
        Endpoint("ping (no database)", "/ping", "none"),
        Endpoint("Today", "/staff/", "staff"),
        Endpoint("Today's side panels", "/staff/today/side/", "staff", htmx=True),
        Endpoint("calendar day, all practitioners", f"/staff/calendar/?day={day}", "staff"),
        Endpoint(
            "calendar week, one practitioner",
            f"/staff/calendar/?view=week&practitioner={targets.practitioner_id}&day={day}",
            "staff",
        ),
        Endpoint("patient search q=kim", "/staff/patients/?q=kim", "staff"),
        Endpoint("patient page, 3 courses", f"/staff/patients/{targets.patient_id}/", "staff"),
        Endpoint("portal: My schedule", "/my/", "patient"),
        Endpoint("API sessions/, one week", f"/api/v1/sessions/?{week}", "token"),
        Endpoint("API me/schedule/", "/api/v1/me/schedule/", "patient"),
        Endpoint(
            f"API free slots, {FREE_SLOT_DAYS} days",
            f"/api/v1/practitioners/{targets.practitioner_id}/free-slots/"
            f"?treatment=rejuran-healer&from={day}&to={until}",
            "token",
        ),
        Endpoint("API reschedule (write)", "/api/v1/sessions/{id}/reschedule/", "token", True),
    ]


@dataclass(frozen=True)
class Credentials:
    staff_cookie: str
    patient_cookie: str
    token: str

    def headers(self, endpoint: Endpoint) -> dict[str, str]:
        match endpoint.auth:
            case "staff":
                found = {"Cookie": self.staff_cookie}
            case "patient":
                found = {"Cookie": self.patient_cookie}
            case "token":
                found = {"Authorization": f"Bearer {self.token}"}
            case _:
                found = {}
        if endpoint.write:
            found["Content-Type"] = "application/json"
        if endpoint.htmx:
            found["HX-Request"] = "true"
        return found


@dataclass(frozen=True)
class QueryCount:
    queries: int  # a warm request: for reads, the answer kept from the one before
    status: int
    built_queries: int  # the answer built afresh, as after a booking elsewhere
    built_ms: float  # median in-process time of building it, over BUILDS requests


# A median of 7 moved by a third between runs on a shared two-core machine (the write measured
# 8.5 to 16 ms); 25 requests settle it, for a few seconds more per run.
BUILDS = 25


def count_queries(
    endpoint: Endpoint, credentials: Credentials, *, write_session: int | None
) -> QueryCount:
    """SQL queries of one request, made in this process with Django's test client against the
    same database, with the same cookies or token: one request to warm caches, one counted;
    then the queries and median time of building the answer again after a booking elsewhere."""
    # Imported here: Django is set up only once the settings are chosen.
    import statistics
    import time

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from benchmarks.http.seed import reschedule_moves
    from clinic.data_version import Area, data_versions_raise

    client = Client(HTTP_HOST="127.0.0.1")
    headers = credentials.headers(endpoint)
    for pair in headers.pop("Cookie", "").split(";"):
        if "=" in pair:
            name, value = pair.strip().split("=", 1)
            client.cookies[name] = value

    def prepare() -> Callable[[], int]:
        """One request, ready to send: where the write moves its session is read beforehand,
        so that this query is neither counted nor timed with the request."""
        if not endpoint.write:
            return lambda: client.get(endpoint.path, headers=headers).status_code
        if write_session is None:
            raise ValueError("the write path needs a session to move")
        ((session_id, target, _),) = reschedule_moves([write_session])
        return lambda: (
            client.post(
                endpoint.path.format(id=session_id),
                json.dumps({"new_start": target}),
                content_type="application/json",
                headers={"Authorization": headers["Authorization"]},
            ).status_code
        )

    prepare()()
    send = prepare()
    # Counted at once: the next request clears the log the counts are read from.
    with CaptureQueriesContext(connection) as captured:
        status = send()
    queries = len(captured.captured_queries)

    def after_a_booking() -> None:
        # What a booking elsewhere does to this request: the overall version goes up, the
        # areas (accounts, calendar, reminder rules) stay as they were.
        data_versions_raise([Area.ALL])

    after_a_booking()
    prepare()()
    after_a_booking()
    send = prepare()
    with CaptureQueriesContext(connection) as built:
        send()
    built_queries = len(built.captured_queries)
    times = []
    for _ in range(BUILDS):
        after_a_booking()
        send = prepare()
        started = time.perf_counter()
        send()
        times.append(time.perf_counter() - started)
    return QueryCount(queries, status, built_queries, statistics.median(times) * 1000)
