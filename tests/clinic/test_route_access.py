"""Who may open what: every URL the application answers, for each persona, by a GET.

The table has one row per route name: the status each persona gets, in the order of ``WHO``.
URL arguments name the objects of "the patient" (their course, session, request, calendar
address, set-password link), so "other patient" shows what another patient's id answers
(404: not even its existence is told). A route with no row fails the test: add one.

The Django admin's per-model routes follow one rule per kind of page (``ADMIN_PAGES``), so a
model added to the admin is covered without a row of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, time
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from clinic.tokens import api_token_create
from patients.models import (
    Patient,
    PatientAccess,
)
from patients.tokens import portal_link_tokens
from scheduling.models import (
    Closure,
    Leave,
    Reminder,
    ReminderChannel,
    ReminderKind,
    TreatmentPlan,
    WorkingHours,
)
from scheduling.requests import session_move_options, session_request_create
from scheduling.services import calendar_feed_renew
from tests.factories import PractitionerFactory, RoomFactory
from tests.helpers import book_and_schedule
from tests.timeutil import seoul

pytestmark = pytest.mark.django_db

WHO = ("anonymous", "patient", "other patient", "staff", "clinic admin")
LOGIN = 302  # sent to the login page (or, for the admin, the admin's)
GONE = 302  # answered with a redirect elsewhere
UNAUTH = 401  # API: not logged in

# route name: statuses for (anonymous, patient, other patient, staff, clinic admin)
ROUTES: dict[str, tuple[int, int, int, int, int]] = {
    # Public and account pages
    "home": (LOGIN, 302, 302, 302, 302),
    "healthz": (200, 200, 200, 200, 200),
    "ping": (200, 200, 200, 200, 200),  # the load tests' baseline: no data, no database
    "login": (200, 200, 200, 200, 200),
    "logout": (405, 405, 405, 405, 405),  # POST only
    "password-forgotten": (200, 200, 200, 200, 200),
    "password-forgotten-sent": (200, 200, 200, 200, 200),
    "password-set": (200, 200, 200, 200, 200),
    "set_language": (302, 302, 302, 302, 302),
    "calendar-feed": (200, 200, 200, 200, 200),  # the secret address is the key
    # Staff pages
    "staff:today": (LOGIN, 403, 403, 200, 200),
    "staff:today-side": (LOGIN, 403, 403, 200, 200),
    "staff:reminder-retry": (LOGIN, 403, 403, 405, 405),
    "staff:calendar": (LOGIN, 403, 403, 200, 200),
    "staff:maintenance": (LOGIN, 403, 403, 200, 200),
    "staff:maintenance-book": (LOGIN, 403, 403, 405, 405),
    "staff:book": (LOGIN, 403, 403, 200, 200),
    "staff:plan": (LOGIN, 403, 403, 302, 302),  # shown on the patient page
    "staff:session": (LOGIN, 403, 403, 200, 200),
    "staff:request-accept": (LOGIN, 403, 403, 405, 405),
    "staff:request-decline": (LOGIN, 403, 403, 405, 405),
    "staff:patients": (LOGIN, 403, 403, 200, 200),
    "staff:patient-new": (LOGIN, 403, 403, 200, 200),
    "staff:patient": (LOGIN, 403, 403, 200, 200),
    "staff:patient-history": (LOGIN, 403, 403, 200, 200),
    "staff:patient-edit": (LOGIN, 403, 403, 200, 200),
    "staff:patient-access": (LOGIN, 403, 403, 403, 200),  # who saw the record: admins only
    "staff:patient-login": (LOGIN, 403, 403, 405, 405),
    "staff:patient-login-link": (LOGIN, 403, 403, 405, 405),
    "staff:suggest": (LOGIN, 403, 403, 200, 200),
    # Patient portal: the patient's own; another patient's session is not found
    "portal:schedule": (LOGIN, 200, 200, 403, 403),
    "portal:calendar": (LOGIN, 200, 200, 403, 403),
    "portal:calendar-renew": (LOGIN, 405, 405, 403, 403),
    "portal:session-change": (LOGIN, 200, 404, 403, 403),
    "portal:language": (LOGIN, 405, 405, 403, 403),
    # REST API
    "api-root": (UNAUTH, 200, 200, 200, 200),
    "treatment-list": (UNAUTH, 200, 200, 200, 200),
    "treatment-detail": (UNAUTH, 200, 200, 200, 200),
    "concern-list": (UNAUTH, 200, 200, 200, 200),
    "concern-detail": (UNAUTH, 200, 200, 200, 200),
    "practitioner-list": (UNAUTH, 200, 200, 200, 200),
    "practitioner-detail": (UNAUTH, 200, 200, 200, 200),
    "practitioner-free-slots": (UNAUTH, 403, 403, 400, 400),  # staff: needs its query
    "practitioner-working-pattern": (UNAUTH, 403, 403, 200, 200),
    "room-list": (UNAUTH, 403, 403, 200, 200),
    "room-detail": (UNAUTH, 403, 403, 200, 200),
    "patient-list": (UNAUTH, 403, 403, 200, 200),
    "patient-detail": (UNAUTH, 403, 403, 200, 200),
    "plan-list": (UNAUTH, 200, 200, 200, 200),
    "plan-preview": (UNAUTH, 405, 405, 405, 405),  # POST only
    "plan-detail": (UNAUTH, 200, 404, 200, 200),
    "plan-cancel": (UNAUTH, 405, 405, 405, 405),
    "session-list": (UNAUTH, 200, 200, 200, 200),
    "session-detail": (UNAUTH, 200, 404, 200, 200),
    "session-cancel": (UNAUTH, 405, 405, 405, 405),
    "session-complete": (UNAUTH, 405, 405, 405, 405),
    "session-no-show": (UNAUTH, 405, 405, 405, 405),
    "session-reschedule": (UNAUTH, 405, 405, 405, 405),
    "reminder-list": (UNAUTH, 403, 403, 200, 200),
    "reminder-detail": (UNAUTH, 403, 403, 200, 200),
    "reminder-retry": (UNAUTH, 403, 403, 405, 405),
    "my-schedule": (UNAUTH, 200, 200, 404, 404),  # no patient record
    "suggestions": (UNAUTH, 403, 403, 400, 400),  # staff: needs ?patient=
    "schema": (UNAUTH, 200, 200, 200, 200),
    "api-docs": (LOGIN, 200, 200, 200, 200),
    # The Django admin's own pages (clinic admins only; staff accounts see no model)
    "admin:index": (LOGIN, LOGIN, LOGIN, 200, 200),
    "admin:login": (200, 200, 200, GONE, GONE),
    "admin:logout": (LOGIN, LOGIN, LOGIN, 405, 405),
    "admin:password_change": (LOGIN, LOGIN, LOGIN, 200, 200),
    "admin:password_change_done": (LOGIN, LOGIN, LOGIN, 200, 200),
    "admin:autocomplete": (LOGIN, LOGIN, LOGIN, 403, 403),  # needs its query
    "admin:jsi18n": (LOGIN, LOGIN, LOGIN, 200, 200),
    "admin:view_on_site": (LOGIN, LOGIN, LOGIN, 404, 404),  # patients have no public page
    "admin:app_list": (LOGIN, LOGIN, LOGIN, 200, 200),
    "admin:(<path:object_id>/)": (LOGIN, LOGIN, LOGIN, GONE, GONE),  # the old change address
    "admin:((?P<url>.*)$)": (LOGIN, LOGIN, LOGIN, 404, 404),
}

# Per-model admin pages (``admin:<app>_<model>_<kind>``): anonymous visitors and patients are
# sent to the admin's login; staff accounts and clinic admins get the page where their role's
# permissions allow it (``ModelAdmin.has_*_permission``, from clinic/roles.py), else 403.
ALLOWED = 0  # 200 when the role's permissions allow the page, 403 otherwise
ADMIN_PAGES: dict[str, tuple[int, int, int, int, int]] = dict.fromkeys(
    ("changelist", "add", "change", "history", "delete", "simple_history"),
    (LOGIN, LOGIN, LOGIN, ALLOWED, ALLOWED),
)
IGNORED = re.compile(r"^(static/|media/|__debug__/)")


def routes(
    patterns: list[Any], prefix: str = "", namespace: str | None = None
) -> Iterator[tuple[str, URLPattern, str]]:
    """(route name, pattern, full regex) for every URL, included ones too, with its namespace.
    The admin's two unnamed routes (the old change address, which redirects to the new one,
    and its catch-all) are named by their pattern."""
    for pattern in patterns:
        regex = pattern.pattern.regex.pattern.lstrip("^").removesuffix("\\Z").removesuffix("$")
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from routes(pattern.url_patterns, prefix + regex, inner)
        elif not IGNORED.match(prefix + regex):
            name = pattern.name or f"({pattern.pattern})"
            yield (f"{namespace}:{name}" if namespace else name), pattern, prefix + regex


def expected(name: str) -> tuple[int, int, int, int, int] | None:
    if name in ROUTES:
        return ROUTES[name]
    if name.startswith("admin:(") and name != "admin:((?P<url>.*)$)":
        return ROUTES["admin:(<path:object_id>/)"]
    match = re.fullmatch(r"admin:(\w+?)_(\w+?)_(changelist|add|change|history|delete)", name)
    match = match or re.fullmatch(r"admin:(\w+?)_(\w+?)_(simple_history)", name)
    if match is None:
        return None
    return ADMIN_PAGES[match.group(3)]


def _admin_allows(name: str, user: User) -> bool:
    """Whether the admin lets this user open this per-model page."""
    model = _admin_model(name)
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = user
    kind = name.rsplit("_", 1)[-1]
    if kind == "add":
        return bool(model_admin.has_add_permission(request))
    if kind == "delete":
        return bool(model_admin.has_delete_permission(request))
    return bool(model_admin.has_view_or_change_permission(request))


def test_every_route_has_a_row() -> None:
    missing = sorted(
        name for name, _, _ in routes(get_resolver().url_patterns) if expected(name) is None
    )

    assert missing == [], (
        f"Routes without an expected status per persona: {missing}. Add a row to ROUTES in "
        "tests/clinic/test_route_access.py saying what each persona gets."
    )


@pytest.fixture
def world(
    patient: Patient,
    other_patient: Patient,
    staff_user: User,
    clinic_admin: User,
    rejuran: Any,
    kim: Any,
    tuesday: Any,
) -> dict[str, Any]:
    """The patient's course, session, reminder, request to move, calendar address and
    set-password link; the URL arguments every route is filled with."""
    plan: TreatmentPlan = book_and_schedule(patient, rejuran, kim, seoul(tuesday, 10), staff_user)
    session = plan.sessions.get(sequence=2)
    reminder = Reminder.objects.filter(plan=plan).first() or Reminder.objects.create(
        plan=plan,
        kind=ReminderKind.MAINTENANCE_DUE,
        channel=ReminderChannel.EMAIL,
        due_at=session.starts_at,
    )
    asked = session_request_create(
        patient=patient,
        session=session,
        kind="move",
        wanted_start=session_move_options(session=session, plan=plan).starts[0],
        note="",
    )
    feed = calendar_feed_renew(patient=patient)
    api_token_create(user=staff_user, name="route table", created_by=clinic_admin)
    # A row of each table the admin lists, for its object pages (history included).
    other = PractitionerFactory()
    WorkingHours.objects.create(
        practitioner=other, weekday=1, start_time=time(13), end_time=time(18)
    )
    Leave.objects.create(practitioner=other, starts_on=date(2020, 1, 6), ends_on=date(2020, 1, 7))
    Closure.objects.create(starts_on=date(2020, 1, 1), ends_on=date(2020, 1, 1), reason="New Year")
    room = RoomFactory()
    # Lockout records (the admin's "access attempts" and logs) and a look at the record.
    seen = {"username": "someone", "ip_address": "203.0.113.9", "user_agent": "test"}
    AccessAttempt.objects.create(**seen, failures_since_start=1, path_info="/login/")
    AccessLog.objects.create(**seen, path_info="/login/")
    AccessFailureLog.objects.create(**seen, path_info="/login/", locked_out=False)
    PatientAccess.objects.create(patient=patient, user=staff_user, kind="page", at=timezone.now())
    assert patient.user is not None
    return {
        "patient_id": patient.pk,
        "plan_id": plan.pk,
        "session_id": session.pk,
        "reminder_id": reminder.pk,
        "request_id": asked.pk,
        "token": feed.token,
        "uidb64": urlsafe_base64_encode(force_bytes(patient.user.pk)),
        "link_token": portal_link_tokens.make_token(patient.user),
        "slug": "rejuran-healer",
        "practitioner": kim.pk,
        "room": room.pk,
        "users": {
            "anonymous": None,
            "patient": patient.user,
            "other patient": other_patient.user,
            "staff": staff_user,
            "clinic admin": clinic_admin,
        },
    }


def _kwargs(name: str, pattern: URLPattern, world: dict[str, Any]) -> dict[str, Any]:
    """URL arguments for a route, from the world (the patient's objects)."""
    wanted = set(pattern.pattern.regex.groupindex)
    by_pk = {
        "practitioner": world["practitioner"],
        "plan": world["plan_id"],
        "session": world["session_id"],
        "reminder": world["reminder_id"],
        "patient": world["patient_id"],
        "room": world["room"],
    }
    kwargs: dict[str, Any] = {}
    for key in wanted:
        if key == "token" and name == "password-set":
            kwargs[key] = world["link_token"]
        elif key == "slug" and name.startswith("concern"):
            kwargs[key] = "thinning-skin"
        elif key == "pk" and not name.startswith("admin:"):
            kwargs[key] = by_pk.get(name.split("-")[0], world["patient_id"])
        elif key == "content_type_id":
            kwargs[key] = ContentType.objects.get_for_model(Patient).pk
        elif key == "object_id" and (name.startswith("admin:(") or name == "admin:view_on_site"):
            kwargs[key] = world["patient_id"]  # the old change address of a patient
        elif key in ("pk", "object_id", "id"):
            kwargs[key] = _admin_object(name)
        elif key == "history_id":
            kwargs[key] = _admin_history(name)
        elif key in world:
            kwargs[key] = world[key]
        elif key == "app_label":
            kwargs[key] = "patients"
        elif key == "url":
            kwargs[key] = "no-such-page/"
        else:
            raise AssertionError(f"No fixture fills <{key}> in {name}: add one to world()")
    return kwargs


def _admin_model(name: str) -> Any:
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return model
    raise AssertionError(name)


def _admin_object(name: str) -> int:
    row = _admin_model(name)._default_manager.order_by("pk").first()
    assert row is not None, f"{name}: make one {_admin_model(name).__name__} in world()"
    return int(row.pk)


def _admin_history(name: str) -> int:
    model = _admin_model(name)
    pk = _admin_object(name)
    if not model.history.filter(id=pk).exists():  # seeded rows: saving records one
        model._default_manager.get(pk=pk).save()
    return int(model.history.filter(id=pk).latest().history_id)


def _fill(regex: str, kwargs: dict[str, Any]) -> str:
    """The path for a pattern's regex with its named groups filled."""
    path = re.sub(
        r"\(\?P<(\w+)>[^)]*\)",
        lambda match: str(kwargs[match.group(1)]),
        regex,
    )
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "").lstrip("/")


def test_each_persona_gets_what_the_table_says(world: dict[str, Any]) -> None:
    wrong = []
    for name, pattern, regex in routes(get_resolver().url_patterns):
        statuses = expected(name)
        assert statuses is not None, name
        kwargs = _kwargs(name, pattern, world)
        path = _fill(regex, kwargs)
        if name.endswith("_simple_history"):  # positional groups: the object, its record
            path = re.sub(r"\([^)]*\)/history/\([^)]*\)", "{}/history/{}", path)
            path = path.format(_admin_object(name), _admin_history(name))
        for who, status in zip(WHO, statuses, strict=True):
            client = Client()
            user = world["users"][who]
            if status == ALLOWED:
                status = 200 if _admin_allows(name, user) else 403
            if user is not None:
                client.force_login(user)
            got = client.get(path).status_code
            if got != status:
                wrong.append(f"{name} {path} as {who}: {got}, the table says {status}")

    assert not wrong, "\n".join(wrong)
