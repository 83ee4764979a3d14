"""HTTP benchmark: a large clinic served by gunicorn in production settings, loaded with wrk.

    bash scripts/bench-http                         # full size (seeding, then 11 endpoints)
    bash scripts/bench-http --size small --duration 3   # a try in about a minute
    bash scripts/bench-http --reuse                 # keep the seeded database, reuse it next time

The database (``clinic_bench_http`` on 127.0.0.1, or ``BENCH_HTTP_DATABASE_URL``) is dropped,
created, migrated and seeded, then dropped at the end unless ``--keep`` or ``--reuse`` is given.
Figures are printed, never asserted; a full-size run also writes them to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing, suppress
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from benchmarks.http import load, report, serve
from benchmarks.http.endpoints import Credentials, Endpoint, count_queries, endpoints
from benchmarks.http.sizes import SIZES, WRITER_PREFIX, Sizes
from benchmarks.run import drop_database, manage, url_problem

if TYPE_CHECKING:
    from benchmarks.http.seed import Accounts, Counts, Targets

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_http"
URL_VARIABLE = "BENCH_HTTP_DATABASE_URL"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-http", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help="default: full")
    parser.add_argument(
        "--duration", type=int, default=20, help="seconds of load per endpoint (default 20)"
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of load before each (default 5)"
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip seeding when the database holds this size already (and keep it)",
    )
    parser.add_argument(
        "--note", default="", help="a line for RESULTS.md, e.g. what else ran on the machine"
    )
    parser.add_argument(
        "--only",
        default="",
        metavar="TEXT",
        help="only the endpoints whose name holds TEXT, with ping for the ratio (for comparing "
        "two versions of the code; not written to RESULTS.md)",
    )
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0:
        parser.error("--duration must be at least 1 and --warmup at least 0")
    return args


def _connect(url: str) -> Any:
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    return psycopg2.connect(
        dbname=config["NAME"],
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )


def seeded_patients(url: str) -> int | None:
    """How many patients the database holds, or None when it or its tables do not exist."""
    import psycopg2

    try:
        connection = _connect(url)
    except psycopg2.OperationalError:
        return None
    with closing(connection), connection.cursor() as cursor:
        try:
            cursor.execute("SELECT count(*) FROM patients_patient")
        except psycopg2.errors.UndefinedTable:
            return None
        return int(cursor.fetchone()[0])


def forget_earlier_runs(url: str) -> None:
    """Empty what earlier runs wrote, so that a reused database starts every run alike: the
    access log (each search wrote a row per patient shown, some 300,000 a run) and what the
    write path left behind (each move of a session cancels its reminders and writes new ones
    and a history row: thousands per session after a few runs, which every later move of that
    session reads past)."""
    connection = _connect(url)
    connection.autocommit = True  # VACUUM runs outside a transaction
    with closing(connection), connection.cursor() as cursor:
        cursor.execute("TRUNCATE patients_patientaccess")
        cursor.execute(
            "SELECT s.id FROM scheduling_session s"
            " JOIN scheduling_practitioner p ON p.id = s.practitioner_id"
            " JOIN auth_user u ON u.id = p.user_id WHERE u.username = %s",
            [f"{WRITER_PREFIX}-0"],
        )
        moved = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "DELETE FROM scheduling_reminder WHERE status = 'cancelled' AND session_id = ANY(%s)",
            [moved],
        )
        cursor.execute(
            "DELETE FROM scheduling_historicalsession WHERE history_type = '~' AND id = ANY(%s)",
            [moved],
        )
        for table in (
            "patients_patientaccess",
            "scheduling_reminder",
            "scheduling_historicalsession",
        ):
            # INDEX_CLEANUP ON: with few dead rows PostgreSQL skips the indexes, and the
            # partial index of pending reminders would keep an entry for every reminder the
            # moves cancelled, which the next move's bitmap scan reads past.
            cursor.execute(f"VACUUM (ANALYZE, INDEX_CLEANUP ON) {table}")


def prepare_database(url: str, env: dict[str, str], sizes: Sizes, *, reuse: bool) -> bool:
    """Make the database ready for seeding (True), or find it seeded at this size (False)."""
    if reuse and seeded_patients(url) == sizes.patients:
        print(f"Reusing the seeded database ({sizes.patients:,} patients).", flush=True)
        manage(env, "migrate", "--noinput")  # in case a migration came since it was seeded
        forget_earlier_runs(url)
        return False
    print("Preparing the database: drop, create, migrate, seed the catalogue", flush=True)
    drop_database(url, create=True)
    manage(env, "migrate", "--noinput")
    manage(env, "seed")
    return True


def _probe(host: str, endpoint: Endpoint, headers: dict[str, str], targets: Targets) -> int:
    """The status of one request before the load (the table notes anything but 2xx)."""
    from benchmarks.http.seed import reschedule_moves

    if not endpoint.write:
        return serve.request(host, "GET", endpoint.path, headers=headers).status
    ((pk, target, _),) = reschedule_moves(targets.write_sessions[:1])
    body = json.dumps({"new_start": target})
    return serve.request(
        host, "POST", endpoint.path.format(id=pk), headers=headers, body=body
    ).status


def _load(
    host: str,
    endpoint: Endpoint,
    headers: dict[str, str],
    *,
    seconds: int,
    targets: Targets,
    folder: Path,
) -> load.LoadResult:
    from benchmarks.http.seed import reschedule_moves

    if not endpoint.write:
        return load.run_wrk(
            host, endpoint.path, seconds=seconds, headers=headers, script=folder / "report.lua"
        )
    # Where every session is now (the probe and the warm-up have moved some); the Lua script
    # writes each request's path and body, so wrk's URL only names the server.
    moves = folder / "moves.txt"
    moves.write_text(
        "".join(
            f"{pk} {there} {here}\n" for pk, there, here in reschedule_moves(targets.write_sessions)
        )
    )
    return load.run_wrk(
        host,
        "/",
        seconds=seconds,
        headers=headers,
        script=folder / "reschedule.lua",
        script_args=(str(moves), str(load.THREADS)),
    )


def chosen_endpoints(targets: Targets, only: str) -> list[Endpoint]:
    """Every endpoint, or those whose name holds ``only`` (any case) and ping."""
    found = endpoints(targets)
    if not only:
        return found
    return [e for e in found if e.path == "/ping" or only.lower() in e.name.lower()]


def measure(
    server: serve.Server,
    targets: Targets,
    accounts: Accounts,
    *,
    args: argparse.Namespace,
    folder: Path,
) -> list[tuple[Endpoint, load.LoadResult, int, Credentials]]:
    """Each endpoint in turn: log in afresh (so no session idles out meanwhile), one request to
    see the answer, a warm-up, then the measured run."""
    measured = []
    for endpoint in chosen_endpoints(targets, args.only):
        credentials = Credentials(
            staff_cookie=(
                serve.login(server.host, accounts.staff_username, accounts.staff_password)
                if endpoint.auth == "staff"
                else ""
            ),
            patient_cookie=(
                serve.login(server.host, accounts.patient_username, accounts.patient_password)
                if endpoint.auth == "patient"
                else ""
            ),
            token=accounts.token,
        )
        headers = credentials.headers(endpoint)
        print(f"  .. {endpoint.name}: {endpoint.path}", flush=True)
        probe = _probe(server.host, endpoint, headers, targets)
        run = {"host": server.host, "endpoint": endpoint, "headers": headers}
        if args.warmup:
            _load(**run, seconds=args.warmup, targets=targets, folder=folder)
        result = _load(**run, seconds=args.duration, targets=targets, folder=folder)
        measured.append((endpoint, result, probe, credentials))
    return measured


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = SIZES[args.size]
    url = os.environ.get(URL_VARIABLE) or DEFAULT_URL
    if problem := url_problem(url, variable=URL_VARIABLE, default=DEFAULT_URL):
        print(problem, file=sys.stderr)
        return 2
    load.require_wrk()
    # A plain `kill` ends the run like Ctrl-C does: through the finally blocks below.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.perf_counter()
    load_at_start = _load_average()
    cpu_at_start = report.cpu_check()
    folder = Path(tempfile.mkdtemp(prefix="clinic-bench-http-"))
    env = serve.server_env(url, str(folder))
    keep = args.keep or args.reuse
    django_ready = False
    try:
        seeding = prepare_database(url, env, sizes, reuse=args.reuse)
        os.environ.update(env)
        import django

        django.setup()
        django_ready = True
        from benchmarks.http import seed

        seeding_seconds = _seed(sizes, started=started) if seeding else None
        accounts = seed.prepare_accounts()
        targets = seed.find_targets(sizes)
        counts = seed.counts()
        print(f"  {report.sizes_line(counts)}", flush=True)
        if len(targets.write_sessions) < sizes.write_sessions:
            print(
                f"  only {len(targets.write_sessions)} write-path sessions are still ahead: "
                "seed again (without --reuse) for all of them",
                flush=True,
            )
        manage(env, "collectstatic", "--noinput")
        load.write_scripts(folder)
        from django.db import connections

        connections.close_all()  # this process stays idle while gunicorn works
        print(
            f"Serving with gunicorn ({serve.WORKERS} sync workers); wrk {load.THREADS} threads, "
            f"{load.CONNECTIONS} connections, {args.warmup} s warm-up + {args.duration} s each",
            flush=True,
        )
        with serve.Server(env, folder) as server:
            measured = measure(server, targets, accounts, args=args, folder=folder)
            memory = server.memory()
            server_log = server.log_tail()
        # The load moved the same few sessions thousands of times, and each move left three
        # cancelled reminders and a history row on its session: the in-process write would
        # read past those. Cleared first, so it measures a session as a clinic has them.
        forget_earlier_runs(url)
        cpu_at_counts = report.cpu_check()
        print(
            "Counting SQL queries per request (in-process, same database); CPU check "
            f"{cpu_at_start:.3f} s at the start, {cpu_at_counts:.3f} s now",
            flush=True,
        )
        rows = [
            report.Row(
                endpoint,
                result,
                count_queries(
                    endpoint,
                    credentials,
                    write_session=targets.write_sessions[0] if endpoint.write else None,
                ),
                probe,
            )
            for endpoint, result, probe, credentials in measured
        ]
        title = (
            f"HTTP benchmark ({sizes.name} size, {args.duration} s per endpoint, "
            f"{serve.WORKERS} gunicorn workers)"
        )
        report.table(rows, memory, title=title).print()
        if server_log.strip():
            print(f"\nLast lines of gunicorn's log:\n{server_log}")
        # A smaller clinic's figures, or some endpoints only, would not compare.
        if sizes.name == "full" and not args.only:
            _write_results(
                rows,
                memory,
                counts,
                seeding_seconds,
                args,
                load_at_start,
                (cpu_at_start, cpu_at_counts),
            )
    finally:
        if django_ready:
            from django.db import connections

            connections.close_all()
        with suppress(Exception):  # never hide the error that got us here
            if keep:
                print(f"\nDatabase kept: {url}")
            else:
                drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nTotal wall time: {time.perf_counter() - started:,.1f} s")
    return 0


def _seed(sizes: Sizes, *, started: float) -> float:
    """Seed the clinic; returns the seconds since the run started (database set-up included)."""
    from benchmarks.http import seed

    print(f"Seeding the {sizes.name} clinic", flush=True)
    seeded = seed.seed_clinic(sizes)
    seconds = time.perf_counter() - started
    for label, step_seconds in seeded.timings.items():
        print(f"  {step_seconds:8,.1f} s  {label}")
    print(
        f"  seeding took {seconds:,.1f} s (database, migrations and catalogue included); "
        f"{seeded.moved:,} sessions moved off their preferred slot, {seeded.no_fit:,} courses "
        f"did not fit, {seeded.in_rooms:,} sessions in a room and {seeded.without_room:,} "
        "without",
        flush=True,
    )
    return seconds


def _write_results(
    rows: list[report.Row],
    memory: dict[str, int],
    counts: Counts,
    seeding_seconds: float | None,
    args: argparse.Namespace,
    load_at_start: str,
    cpu_checks: tuple[float, float],
) -> None:
    from django.utils import timezone

    report.RESULTS.write_text(
        report.markdown(
            rows,
            memory,
            when=timezone.localtime(),
            machine_line=report.machine(workers=serve.WORKERS),
            counts=counts,
            seeding_seconds=seeding_seconds,
            seconds=args.duration,
            warmup=args.warmup,
            workers=serve.WORKERS,
            load_average=(load_at_start, _load_average()),
            cpu_checks=cpu_checks,
            note=args.note,
        )
    )
    print(f"\nWritten to {report.RESULTS.relative_to(serve.ROOT)}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _load_average() -> str:
    return ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
