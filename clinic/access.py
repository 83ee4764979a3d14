"""Who may open a page is decided by its audience, once, where the URLs are grouped.

Staff pages live under ``/staff/`` and patient pages under ``/my/``; :func:`for_audience` wraps
every view of a group in that audience's check, built on the roles in ``clinic.roles`` (never
``user.is_staff``, which only says who may use the Django admin).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from django.utils import translation
from django.views.decorators.cache import never_cache

from clinic.roles import Role, user_roles
from patients.models import Patient
from scheduling.selectors import portal_patient

View = Callable[..., HttpResponse]


def role_required(*roles: Role) -> Callable[[View], View]:
    """Anonymous visitors go to the login page; logged-in users without the role get 403.
    Pages behind a login are never cached: they show patients' data."""
    wanted = frozenset(roles)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_roles(request.user) & wanted:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return never_cache(wrapped)

    return decorator


staff_required = role_required(Role.STAFF, Role.CLINIC_ADMIN)
_patient_role_required = role_required(Role.PATIENT)


class PatientHttpRequest(HttpRequest):
    """A request to a patient page: ``patient`` is the logged-in patient's record."""

    patient: Patient


def patient_required(view: View) -> View:
    """The *Patient* role, and a patient record behind the login (404 without one). The page is
    in the patient's preferred language, whatever the browser asked for: the one their messages
    come in, which the portal's language switch changes."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = portal_patient(user=request.user)
        if patient is None:
            raise Http404
        request.patient = patient  # type: ignore[attr-defined]
        translation.activate(patient.preferred_language)
        request.LANGUAGE_CODE = patient.preferred_language
        return view(request, *args, **kwargs)

    return _patient_role_required(wrapped)


def for_audience(
    decorator: Callable[[View], View], patterns: Sequence[URLPattern | URLResolver]
) -> list[URLPattern | URLResolver]:
    """The URL patterns with every view (included ones too) wrapped in ``decorator``."""
    wrapped: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            pattern.url_patterns[:] = for_audience(decorator, pattern.url_patterns)
        else:
            pattern.callback = decorator(pattern.callback)
        wrapped.append(pattern)
    return wrapped
