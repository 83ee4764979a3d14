from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.roles import is_patient, is_staff_member


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff land on Today, patients on My schedule (staff never do: it is not theirs)."""
    if is_staff_member(request.user):
        return redirect("staff:today")
    if is_patient(request.user):
        return redirect("portal:schedule")
    return render(request, "home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the app serves and the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """The cheapest answer the application can give: no database, no template. Load tests
    measure it as the baseline the other pages are compared with."""
    return HttpResponse("ok", content_type="text/plain")


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"field": None, "code": code, "message": message}]}, status=status
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under /api/ a request Django refused before any view (a host it does not serve, a
    malformed header) is answered in the API's error shape too."""
    if request.path.startswith("/api/"):
        return _api_error("bad_request", gettext("The request could not be read."), 400)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under /api/ even an unknown URL answers in the API's error shape."""
    if request.path.startswith("/api/"):
        return _api_error("not_found", "Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_error("server_error", "Something went wrong on our side.", 500)
    return defaults.server_error(request)
