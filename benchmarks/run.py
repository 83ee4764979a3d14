"""Performance benchmarks on a throw-away PostgreSQL database.

    bash scripts/bench            # the full sizes (several minutes)
    bash scripts/bench --quick    # small sizes, a smoke test (under a minute)
    bash scripts/bench --keep     # leave the database behind for a look with psql

The database (``clinic_bench`` on 127.0.0.1, or ``BENCH_DATABASE_URL``) is dropped and created,
migrated and seeded by ``manage.py`` in a subprocess, the benchmarks run in this process with
Django set up on it, and it is dropped at the end. Figures are printed, never asserted: timings
on a small shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench"
BENCHMARKS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Sizes:
    courses: int  # A, bulk path
    service_courses: int  # A, service path
    reminders: int  # B
    proposals: int  # C
    sessions: tuple[int, ...]  # D, one practitioner's history per size


FULL = Sizes(10_000, 500, 1_000_000, 2_000, (1_000, 10_000, 100_000))
QUICK = Sizes(500, 50, 50_000, 200, (1_000, 5_000))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help="comma-separated subset of A (booking), B (reminders), C (planner), D (free slots)",
    )
    args = parser.parse_args(argv)
    args.only = [name.strip().upper() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    return args


def url_problem(
    url: str, *, variable: str = "BENCH_DATABASE_URL", default: str = DEFAULT_URL
) -> str | None:
    """Why this URL (read from ``variable``) must not be used, or None."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return (
            "The benchmarks need PostgreSQL and refuse to run on SQLite: they measure the "
            "exclusion constraints, SKIP LOCKED and the partial index, which SQLite does not have. "
            f"Set {variable}=postgres://... (default {default})."
        )
    if parts.scheme not in {"postgres", "postgresql"}:
        return f"{variable} must be a postgres:// URL, got scheme {parts.scheme!r}."
    name = parts.path.lstrip("/")
    if "bench" not in name:
        # The database is dropped and recreated: never point this at one that holds real data.
        return (
            "The benchmark database is dropped and recreated, so its name must contain "
            f"'bench'; got {name!r}."
        )
    return None


def bench_env(url: str, var_dir: str) -> dict[str, str]:
    """Production-like settings (DEBUG off, so no query log) on the bench database, with every
    file the settings create kept in a temporary folder and no real broker."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=url,
        DEBUG="false",
        SECRET_KEY=f"bench-only-{secrets.token_hex(16)}",
        ALLOWED_HOSTS="localhost",
        CELERY_BROKER_URL="memory://",
        VAR_DIR=var_dir,
        # Production refuses the development channels; these are never contacted by a bench.
        MAILER="smtp",
        SMTP_HOST="127.0.0.1",
        DEFAULT_FROM_EMAIL="bench@example.com",
        SMS_GATEWAY="webhook",
        SMS_WEBHOOK_URL="http://127.0.0.1:9/bench-only",
        SMS_WEBHOOK_SECRET="bench-only",  # noqa: S106 (never used: nothing is sent)
        LOG_LEVEL="WARNING",
    )
    return env


def _admin_connection(url: str) -> tuple[object, str]:
    """An autocommit connection to the server's ``postgres`` database, and the bench DB name."""
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    connection.autocommit = True
    return connection, str(config["NAME"])


def drop_database(url: str, *, create: bool = False) -> None:
    from psycopg2 import sql

    connection, name = _admin_connection(url)
    with closing(connection), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if create:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(env: dict[str, str], *command: str) -> None:
    result = subprocess.run(  # noqa: S603  (fixed argv: this interpreter and manage.py)
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(command)} failed (exit {result.returncode}).")


def header(args: argparse.Namespace, sizes: Sizes, url: str) -> None:
    import django
    import psycopg2
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server,) = cursor.fetchone()
    where = urlsplit(url)
    print("Clinic planner benchmarks" + (" (--quick)" if args.quick else ""))
    print(f"  Python      {platform.python_version()} ({platform.machine()})")
    print(f"  Django      {django.get_version()}, psycopg2 {psycopg2.__version__.split()[0]}")
    print(f"  PostgreSQL  {server} at {where.hostname}:{where.port or 5432}{where.path}")
    load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"  nproc       {len(os.sched_getaffinity(0))} (load average {load} at start)")
    print(f"  time zone   {settings.TIME_ZONE}, DEBUG={settings.DEBUG}")
    print(
        f"  sizes       A {sizes.courses:,} courses (+{sizes.service_courses:,} via services), "
        f"B {sizes.reminders:,} reminders, C {sizes.proposals:,} proposals, "
        f"D {'/'.join(f'{n:,}' for n in sizes.sessions)} sessions",
        flush=True,
    )


def run_benchmarks(args: argparse.Namespace, sizes: Sizes) -> None:
    # Imported here: these modules need Django set up first.
    from benchmarks import booking, free_slots, planner, reminders

    if "A" in args.only:
        booking.run(courses=sizes.courses, service_courses=sizes.service_courses)
    if "B" in args.only:
        reminders.run(rows=sizes.reminders)
    if "C" in args.only:
        planner.run(proposals=sizes.proposals)
    if "D" in args.only:
        free_slots.run(sizes=sizes.sessions)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = QUICK if args.quick else FULL
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if problem := url_problem(url):
        print(problem, file=sys.stderr)
        return 2
    started = time.perf_counter()
    var_dir = tempfile.mkdtemp(prefix="clinic-bench-")
    env = bench_env(url, var_dir)
    django_ready = False
    try:
        print(
            f"Preparing {urlsplit(url).path.lstrip('/')}: drop, create, migrate, seed", flush=True
        )
        drop_database(url, create=True)
        manage(env, "migrate", "--noinput")
        manage(env, "seed")
        prepared = time.perf_counter() - started
        os.environ.update(env)
        import django

        django.setup()
        django_ready = True
        header(args, sizes, url)
        print(f"  set-up      {prepared:.1f} s (database, migrations, seed)", flush=True)
        run_benchmarks(args, sizes)
    finally:
        if django_ready:
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"\nDatabase kept: {url}")
        else:
            drop_database(url)
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"\nTotal wall time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # also works as `python benchmarks/run.py`
    raise SystemExit(main())
