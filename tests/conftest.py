"""Shared fixtures: the seeded catalogue, the personas (clinic admin, staff, patient, another
patient), what the scheduling and API tests book with (the seeded Rejuran protocol, Dr. Kim, a
Tuesday ahead, Celery run inline), and gating for tests that need PostgreSQL, Redis or Chromium.

With REQUIRE_SERVICES=1 (CI) a test whose service is missing fails instead of being skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache, caches
from django.db import connection
from django.utils import timezone, translation
from hypothesis import settings as hypothesis_settings

from clinic.celery import app
from clinic.roles import Role, roles_sync
from patients.access_log import forget_written_looks
from scheduling.models import Practitioner, Session
from scheduling.seed import clinic_defaults_seed
from scheduling.sms import LocmemSmsBackend
from tests import factories
from tests.helpers import hold
from tests.timeutil import upcoming
from treatments.models import ProtocolTemplate, Treatment
from treatments.seed import catalogue_seed

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# CI replays a fixed set of examples so a run is repeatable; local runs keep exploring (and
# remember failures in .hypothesis/).
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("REQUIRE_SERVICES") == "1":
    hypothesis_settings.load_profile("ci")

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# TEST_CLOCK=2026-12-03T00:10+09:00 runs the suite as if it were that moment (the clock keeps
# ticking from there), so tests can be tried at the awkward hours a CI run may land on: just after
# midnight in the clinic, on a Sunday, at a month's end. Worker subprocesses keep the real clock,
# so the tests that start one (tests/worker.py, the dispatcher processes of test_handoff.py and
# test_reliability.py) fail under a TEST_CLOCK away from the real time (the worker does not see
# the reminders as due yet): deselect them, that is not a flake of theirs.
_clock: time_machine.travel | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _clock
    if moment := os.environ.get("TEST_CLOCK"):
        _clock = time_machine.travel(datetime.fromisoformat(moment), tick=True)
        _clock.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _clock is not None:
        _clock.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"clock: {os.environ['TEST_CLOCK']} (TEST_CLOCK)" if _clock is not None else None


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing_service(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return "needs PostgreSQL (set DATABASE_URL=postgres://...)"
    if item.get_closest_marker("redis") and not os.environ.get("TEST_REDIS_URL"):
        return "needs Redis (set TEST_REDIS_URL=redis://...)"
    if item.get_closest_marker("browser") and not Path(CHROMIUM).exists():
        return f"needs Chromium at {CHROMIUM}"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing_service(item)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES is set but this test {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _empty_test_broker_queue() -> None:
    """Messages published by earlier test runs must not reach this run's worker processes."""
    folder = (app.conf.broker_transport_options or {}).get("data_folder_in")
    if folder and os.environ.get("VAR_DIR"):  # only the test runner's own folders
        for message in Path(folder).glob("*.msg"):
            message.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counts live in the cache keyed by user id, and ids repeat after rollbacks (so
    do the looks at records the access log remembers for a minute)."""
    cache.clear()
    forget_written_looks()
    yield
    cache.clear()
    forget_written_looks()


@pytest.fixture
def mid_minute() -> Iterator[None]:
    """Run the test from the middle of a minute, so the minute that keys kept pages and the
    access log's repeated looks cannot turn between two requests the test expects to share."""
    now = timezone.now()
    target = now.replace(second=30, microsecond=0)
    if target <= now:
        target += timedelta(minutes=1)
    with time_machine.travel(target, tick=True):
        yield


@pytest.fixture(autouse=True)
def _page_cache(request: pytest.FixtureRequest, settings: Any) -> Iterator[None]:
    """Kept pages are keyed by the data version, which rises when a transaction commits; most
    tests run inside one that never does, so pages are built afresh unless the test commits for
    real (browser tests, and those marked ``page_cache``)."""
    if not (
        request.node.get_closest_marker("browser") or request.node.get_closest_marker("page_cache")
    ):
        settings.PAGE_CACHE_SECONDS = 0
    caches["pages"].clear()
    yield
    caches["pages"].clear()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A request in Korean leaves Korean active in the thread; the next test starts afresh."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed_everything() -> None:
    roles_sync()
    catalogue_seed()
    clinic_defaults_seed()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Seed once; tests in a transaction see it and roll their own changes back."""
    with django_db_blocker.unblock():
        seed_everything()


@pytest.fixture
def catalogue(transactional_db: None) -> None:
    """For transactional tests: the flush after an earlier one may have emptied the catalogue."""
    seed_everything()


# --- Personas --------------------------------------------------------------------------------


def _with_role(user: User, role: Role) -> User:
    user.groups.add(Group.objects.get(name=role.value))
    return user


@pytest.fixture
def clinic_admin(db: None) -> User:
    return _with_role(factories.UserFactory(username="admin", is_staff=True), Role.CLINIC_ADMIN)


@pytest.fixture
def staff_user(db: None) -> User:
    return _with_role(factories.UserFactory(username="reception", is_staff=True), Role.STAFF)


@pytest.fixture
def practitioner(db: None) -> Any:
    practitioner = factories.PractitionerFactory()
    _with_role(practitioner.user, Role.STAFF)
    return practitioner


@pytest.fixture
def patient(db: None) -> Any:
    patient = factories.PatientFactory()
    _with_role(patient.user, Role.PATIENT)
    return patient


@pytest.fixture
def other_patient(db: None) -> Any:
    patient = factories.PatientFactory()
    _with_role(patient.user, Role.PATIENT)
    return patient


# --- Scheduling ------------------------------------------------------------------------------


@pytest.fixture
def rejuran(db: None) -> ProtocolTemplate:
    """3–4 sessions, 21–28 days apart (usual 28), maintenance every 6 months; 45-minute sessions."""
    return ProtocolTemplate.objects.select_related("treatment").get(
        treatment__slug="rejuran-healer", is_default=True
    )


@pytest.fixture
def kim(db: None) -> Practitioner:
    """Dr. Kim, who performs every treatment."""
    practitioner = factories.PractitionerFactory(display_name="Dr. Kim")
    practitioner.treatments.set(Treatment.objects.all())
    return practitioner


@pytest.fixture
def tuesday() -> date:
    """A Tuesday two or more weeks ahead: the clinic (seeded hours) is open 10:00–19:00."""
    return upcoming(1)


@pytest.fixture
def other_booking(kim: Practitioner, other_patient: Any) -> Callable[[datetime], Session]:
    """A session of another patient's course holding Dr. Kim's time."""

    def book(starts_at: datetime) -> Session:
        return hold(kim, starts_at, patient=other_patient)

    return book


@pytest.fixture
def sms_outbox(settings: Any) -> Iterator[list[dict[str, str]]]:
    """Text messages sent to an in-memory outbox (like Django's ``mailoutbox``)."""
    settings.SMS_BACKEND = "scheduling.sms.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run tasks inline when they are sent, so a service test sees the worker's effect."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
