from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinic.models import ApiToken
from clinic.tokens import api_token_create, api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins create tokens for integrations; the token is shown once, then only its prefix."""

    list_display = ["name", "user", "prefix", "created_at", "created_by", "last_used_at", "active"]
    list_filter = ["revoked_at"]
    list_select_related = ["user", "created_by"]
    search_fields = ["name", "user__username", "prefix"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name")
        return ("user", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A token acts as its user: only superusers may mint one for a superuser.
        if db_field.name == "user" and not getattr(request.user, "is_superuser", False):
            kwargs["queryset"] = User.objects.filter(is_superuser=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("active"), boolean=True)
    def active(self, obj: ApiToken) -> bool:
        return obj.is_active

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: ModelForm[Any], change: bool
    ) -> None:
        if change:
            return
        admin_user = cast(User, request.user)  # the admin requires a login
        token, raw = api_token_create(user=obj.user, name=obj.name, created_by=admin_user)
        obj.pk, obj.prefix = token.pk, token.prefix
        messages.warning(
            request,
            _("Token for %(name)s: %(raw)s — copy it now, it will not be shown again.")
            % {"name": token.name, "raw": raw},
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoke instead, so the record of who had access stays

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for token in active:
            api_token_revoke(token=token)
        messages.success(request, _("Revoked %(count)d token(s).") % {"count": len(active)})


from clinic import user_admin  # noqa: E402, F401 -- registers the users' admin
