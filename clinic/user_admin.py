"""Users in the Django admin.

Clinic admins manage logins and their roles, but only superusers make superusers, give raw
permissions, edit a superuser's account or change what a role may do (clinic admins can only
view groups: ``clinic.roles``). Switching a login off or changing its password ends its access.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import ManyToManyField
from django.forms import ModelForm, ModelMultipleChoiceField
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from clinic.accounts import user_access_end, user_admin_site_check
from clinic.history_admin import HistoryAdmin
from clinic.roles import Role

# What a clinic admin (not a superuser) sees and edits of a user.
_CLINIC_ADMIN_FIELDSETS = (
    (None, {"fields": ("username", "password")}),
    (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
    (_("Role and access"), {"fields": ("is_active", "is_staff", "groups")}),
    (_("Important dates"), {"fields": ("last_login", "date_joined")}),
)


def _password_of(user_id: str) -> str | None:
    return User.objects.filter(pk=user_id).values_list("password", flat=True).first()


def _is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


class ClinicUserAdmin(HistoryAdmin, UserAdmin):
    # Users get a History button like the clinical tables: who changed a name, a role, a login.

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is None or _is_superuser(request):
            return super().get_fieldsets(request, obj)
        return _CLINIC_ADMIN_FIELDSETS

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is None or _is_superuser(request):
            return super().get_readonly_fields(request, obj)
        return ("last_login", "date_joined")

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField | None:
        if db_field.name == "groups" and not _is_superuser(request):
            kwargs["queryset"] = Group.objects.filter(name__in=[role.value for role in Role])
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(
        self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None or _is_superuser(request):
            return form

        class RoleBoundForm(form):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                cleaned: dict[str, Any] = super().clean()
                user_admin_site_check(
                    is_staff=bool(cleaned.get("is_staff")), groups=cleaned.get("groups") or []
                )
                return cleaned

        return RoleBoundForm

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not _is_superuser(request):
            return False  # a superuser's account is theirs and other superusers' to change
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not _is_superuser(request):
            return False
        return super().has_delete_permission(request, obj)

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
