"""Patient pages about the patient themselves (mounted under /my/ by clinic/urls.py, which wraps
them in ``patient_required``), and the account pages a patient uses before logging in: choosing
a password from a link, and asking for a new link. There is no self-registration: the clinic
creates logins (``patients.services.patient_login_create``).
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.views.decorators.http import require_POST

from clinic.access import PatientHttpRequest
from clinic.accounts import user_access_end
from clinic.redirects import safe_next
from patients.forms import PasswordForgottenForm
from patients.models import Patient
from patients.services import patient_language_set, portal_password_forgotten
from patients.tokens import portal_link_tokens


@require_POST
def language(request: PatientHttpRequest) -> HttpResponse:
    """The language switch on patient pages: it changes the patient's preferred language, so
    their pages and every message they receive follow (and remembers it in the browser)."""
    next_url = safe_next(request, reverse("portal:schedule"))
    chosen = str(request.POST.get("language", ""))
    try:
        patient_language_set(
            patient=request.patient, language=chosen, changed_by=cast(User, request.user)
        )
    except ValidationError:
        return redirect(next_url)
    translation.activate(chosen)
    response = redirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        chosen,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def password_forgotten(request: HttpRequest) -> HttpResponse:
    """Ask for a link to choose a new password. The answer is the same whether or not the
    details match anyone, so the page cannot be used to find out who has a login."""
    form = PasswordForgottenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        portal_password_forgotten(identifier=form.cleaned_data["identifier"])
        return redirect("password-forgotten-sent")
    return render(request, "registration/password_forgotten.html", {"form": form})


def password_forgotten_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/password_forgotten_sent.html")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Choose a password from the link in a message: the link works once and expires
    (``patients.tokens``). Then the patient is logged in and lands on their schedule, in their
    language."""

    token_generator = portal_link_tokens
    template_name = "registration/password_set.html"
    post_reset_login = True
    post_reset_login_backend = "clinic.auth_backend.ModelBackendWithRoles"
    success_url = reverse_lazy("portal:schedule")
    reset_url_token = "choose"  # noqa: S105 -- the URL word that replaces the token, not a secret

    def get_user(self, uidb64: str) -> Any:
        # Links are only made for patients' logins; any other account is not found here.
        user = super().get_user(uidb64)
        if user is None or not user.is_active:
            return None
        patient = Patient.objects.filter(user=user).first()
        if patient is None:
            return None
        translation.activate(patient.preferred_language)
        self.request.LANGUAGE_CODE = patient.preferred_language
        return user

    def form_valid(self, form: Any) -> HttpResponse:
        # A new password ends every other way in: sessions elsewhere and API tokens.
        response = super().form_valid(form)
        user_access_end(user=form.user, keep_session_key=self.request.session.session_key)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["username"] = self.user.get_username() if self.validlink and self.user else ""
        return context
