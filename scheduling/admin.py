from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinic.history_admin import HistoryAdmin
from scheduling.models import (
    Closure,
    Leave,
    OpeningHours,
    Practitioner,
    Reminder,
    ReminderRule,
    Room,
    Session,
    TreatmentPlan,
    WorkingHours,
)
from scheduling.services import leave_save, leave_validate


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0
    fields = ["weekday", "start_time", "end_time"]
    verbose_name_plural = _("working hours (none: the clinic's opening hours)")


@admin.register(Practitioner)
class PractitionerAdmin(HistoryAdmin):
    list_display = ["display_name", "title", "user", "is_active"]
    list_filter = ["is_active", "treatments"]
    list_select_related = ["user"]
    search_fields = ["display_name", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["treatments"]
    inlines = [WorkingHoursInline]


@admin.register(WorkingHours)
class WorkingHoursAdmin(HistoryAdmin):
    """Each practitioner's weekly pattern, also editable on the practitioner's page."""

    list_display = ["practitioner", "weekday", "start_time", "end_time"]
    list_filter = ["practitioner", "weekday"]
    list_select_related = ["practitioner"]


class LeaveForm(forms.ModelForm):
    class Meta:
        model = Leave
        fields = ["practitioner", "starts_on", "ends_on", "start_time", "end_time", "reason"]

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        if self.errors or data.get("practitioner") is None:
            return data
        candidate = Leave(
            pk=self.instance.pk, **{name: data.get(name) for name in self.Meta.fields}
        )
        try:
            candidate.clean()
        except ValidationError:
            return data  # the model's own check reports it on its field
        leave_validate(leave=candidate)  # no booked session may fall in the leave
        return data


@admin.register(Leave)
class LeaveAdmin(HistoryAdmin):
    """Leave is saved through ``leave_save``, which refuses leave over booked sessions."""

    form = LeaveForm
    list_display = ["practitioner", "starts_on", "start_time", "ends_on", "end_time", "reason"]
    list_filter = ["practitioner"]
    list_select_related = ["practitioner"]
    date_hierarchy = "starts_on"
    search_fields = ["reason", "practitioner__display_name"]

    def save_model(self, request: HttpRequest, obj: Leave, form: Any, change: bool) -> None:
        user = request.user
        if not isinstance(user, User):  # the admin only lets logged-in staff this far
            raise PermissionError("Saving leave needs a logged-in user.")
        leave_save(leave=obj, saved_by=user)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]


@admin.register(OpeningHours)
class OpeningHoursAdmin(HistoryAdmin):
    list_display = ["weekday", "opens_at", "closes_at"]
    list_filter = ["weekday"]


@admin.register(Closure)
class ClosureAdmin(HistoryAdmin):
    list_display = ["reason", "starts_on", "ends_on"]
    date_hierarchy = "starts_on"
    search_fields = ["reason"]


@admin.register(ReminderRule)
class ReminderRuleAdmin(HistoryAdmin):
    list_display = ["kind", "is_enabled", "lead_minutes", "local_time"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one row per kind, created by the seed

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnly:
    """Plans, sessions and reminders change only through the scheduling services, which keep the
    protocol and booking rules; the admin shows them for reference."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnly, HistoryAdmin):
    """Read-only, with the change history the model keeps."""


SESSION_COLUMNS = ("sequence", "kind", "starts_at", "ends_at", "practitioner", "room", "status")


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = SESSION_COLUMNS
    readonly_fields = SESSION_COLUMNS
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(ReadOnlyAdmin):
    list_display = [
        "patient",
        "treatment",
        "practitioner",
        "status",
        "session_count",
        "booked_at",
        "maintenance_due_on",
    ]
    list_filter = ["status", "template__treatment", "practitioner"]
    list_select_related = ["patient", "template__treatment", "practitioner"]
    search_fields = ["patient__family_name", "patient__given_name"]
    date_hierarchy = "booked_at"
    inlines = [SessionInline]

    @admin.display(description=_("treatment"), ordering="template__treatment__name")
    def treatment(self, obj: TreatmentPlan) -> str:
        return str(obj.template.treatment)


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = [
        "starts_at",
        "ends_at",
        "patient",
        "sequence",
        "kind",
        "practitioner",
        "room",
        "status",
    ]
    list_filter = ["status", "kind", "practitioner", "room"]
    list_select_related = ["plan__patient", "practitioner", "room"]
    search_fields = ["plan__patient__family_name", "plan__patient__given_name"]
    date_hierarchy = "starts_at"

    @admin.display(description=_("patient"), ordering="plan__patient__family_name")
    def patient(self, obj: Session) -> str:
        return str(obj.plan.patient)


# Reminders keep no change history of their own (attempts and errors are on the row): the
# admin's plain history page, not simple-history's, which would fail on them.
@admin.register(Reminder)
class ReminderAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["due_at", "kind", "channel", "status", "attempts", "sent_at", "patient"]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["plan__patient"]
    date_hierarchy = "due_at"

    @admin.display(description=_("patient"))
    def patient(self, obj: Reminder) -> str:
        return str(obj.plan.patient)
