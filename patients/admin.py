from typing import cast

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from patients.models import Consent, MedicalFlag, Patient, PatientConcern


class PatientConcernInline(admin.TabularInline):
    model = PatientConcern
    extra = 0
    autocomplete_fields = ["concern"]


class MedicalFlagInline(admin.TabularInline):
    model = MedicalFlag
    extra = 0
    fields = ["condition", "note", "resolved_at", "recorded_at", "recorded_by"]
    readonly_fields = ["recorded_at", "recorded_by"]


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ["kind", "treatment", "form_version", "given_at", "withdrawn_at", "recorded_by"]
    readonly_fields = ["recorded_by"]


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = [
        "full_name",
        "date_of_birth",
        "phone",
        "email",
        "preferred_language",
        "reminder_channel",
        "has_login",
    ]
    list_filter = ["preferred_language", "reminder_channel"]
    search_fields = ["family_name", "given_name", "phone", "email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    inlines = [PatientConcernInline, MedicalFlagInline, ConsentInline]
    fieldsets = [
        (None, {"fields": [("family_name", "given_name"), "date_of_birth", "user"]}),
        (
            _("Contact"),
            {"fields": [("phone", "email"), ("preferred_language", "reminder_channel")]},
        ),
        (None, {"fields": ["notes"]}),
    ]

    @admin.display(description=_("portal login"), boolean=True)
    def has_login(self, obj: Patient) -> bool:
        return obj.user_id is not None

    def save_formset(self, request: HttpRequest, form, formset, change) -> None:  # type: ignore[no-untyped-def]
        # Record who entered a medical flag or consent; the inline forms do not show it.
        for instance in formset.save(commit=False):
            if isinstance(instance, MedicalFlag | Consent) and instance.recorded_by_id is None:
                instance.recorded_by = cast(User, request.user)  # the admin requires a login
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()
