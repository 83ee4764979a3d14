from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from clinic.history_admin import HistoryAdmin
from patients.access_log import patient_access_record
from patients.models import AccessKind, Consent, MedicalFlag, Patient, PatientAccess, PatientConcern
from patients.services import (
    patient_check_contact,
    patient_concerns_set,
    patient_flags_set,
    patient_save,
)


class PatientConcernInline(admin.TabularInline):
    model = PatientConcern
    extra = 0
    autocomplete_fields = ["concern"]


class MedicalFlagInline(admin.TabularInline):
    """Conditions that apply now. Deleting a row marks the condition resolved (the patient
    service keeps it in the record, with who and when, in the history)."""

    model = MedicalFlag
    extra = 0
    fields = ["condition", "note", "recorded_at", "recorded_by"]
    readonly_fields = ["recorded_at", "recorded_by"]
    verbose_name_plural = _("medical flags that apply now (delete = no longer applies)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[MedicalFlag]:
        return super().get_queryset(request).filter(resolved_at__isnull=True)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # "Delete" here resolves the flag, which is a change, not a deletion.
        return self.has_change_permission(request, obj)


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ["kind", "treatment", "form_version", "given_at", "withdrawn_at", "recorded_by"]
    readonly_fields = ["recorded_by"]


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "family_name",
            "given_name",
            "date_of_birth",
            "user",
            "phone",
            "email",
            "preferred_language",
            "reminder_channel",
            "notes",
        ]

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # the form's values are on the instance from here on
        # The patient service's rule, asked early so the admin shows it beside the fields.
        try:
            patient_check_contact(self.instance)
        except ValidationError as error:
            self.add_error(None, error)


@admin.register(Patient)
class PatientAdmin(HistoryAdmin):
    """Saves go through the patient service, so its rules hold here as in the pages and API:
    contact details unique, flags resolved rather than deleted, who changed what recorded."""

    form = PatientAdminForm
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

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        # Shown (not saved, not redirected away from a missing record): someone saw it.
        if request.method == "GET" and response.status_code == 200:
            patient_access_record(
                request=request, patient_ids=[int(object_id)], kind=AccessKind.ADMIN
            )
        return response

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        # The form has already applied its values to ``obj``.
        patient_save(patient=obj, fields={}, changed_by=cast(User, request.user))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        user = cast(User, request.user)  # the admin requires a login
        kept = [
            f.cleaned_data
            for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        patient = form.instance
        if formset.model is MedicalFlag:
            patient_flags_set(
                patient=patient,
                flags=[(data["condition"], data.get("note", "")) for data in kept],
                changed_by=user,
            )
        elif formset.model is PatientConcern:
            patient_concerns_set(
                patient=patient,
                changed_by=user,
                concerns=[
                    {
                        "concern": data["concern"],
                        "area": data["area"],
                        "severity": data["severity"],
                        "note": data.get("note", ""),
                    }
                    for data in kept
                ],
            )
        if formset.model in (MedicalFlag, PatientConcern):
            # The admin's change message reads these; the service did the saving.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            return
        else:
            # Consents: record who entered them; the inline form does not show it.
            for instance in formset.save(commit=False):
                if isinstance(instance, Consent) and instance.recorded_by_id is None:
                    instance.recorded_by = user
                instance.save()
            for obj in formset.deleted_objects:
                obj.delete()
            formset.save_m2m()


@admin.register(PatientAccess)
class PatientAccessAdmin(admin.ModelAdmin):
    """The access log, read-only: rows are written by the pages that show a record."""

    list_display = ["at", "patient", "user", "kind", "address"]
    list_filter = ["kind", "at"]
    list_select_related = ["patient", "user"]
    search_fields = ["=patient__id", "user__username"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
