"""Users in the Django admin: switching a login off or changing its password ends its access."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

from clinic.accounts import user_access_end


def _password_of(user_id: str) -> str | None:
    return User.objects.filter(pk=user_id).values_list("password", flat=True).first()


class ClinicUserAdmin(UserAdmin):
    def save_model(
        self, request: HttpRequest, obj: User, form: ModelForm[Any], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_access_end(user=obj)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        user_id = unquote(id)
        before = _password_of(user_id) if user_id.isdigit() else None
        response = super().user_change_password(request, id, form_url)
        if before is not None and _password_of(user_id) != before:
            user = User.objects.get(pk=user_id)
            # Whoever changes their own password stays logged in here (Django keeps that
            # session valid); every other session of theirs ends.
            keep = request.session.session_key if user.pk == request.user.pk else None
            user_access_end(user=user, keep_session_key=keep)
        return response


admin.site.unregister(User)
admin.site.register(User, ClinicUserAdmin)
