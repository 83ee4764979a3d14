from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinic.history_admin import HistoryAdmin
from treatments.models import (
    Contraindication,
    Indication,
    ProtocolMilestone,
    ProtocolTemplate,
    SkinConcern,
    Treatment,
)


class ProtocolTemplateInline(admin.StackedInline):
    model = ProtocolTemplate
    extra = 0
    min_num = 0
    show_change_link = True  # milestones are edited on the protocol's own page
    fieldsets = [
        (None, {"fields": [("name", "is_default", "needs_review")]}),
        (
            _("Initial sessions"),
            {
                "fields": [
                    ("initial_sessions_min", "initial_sessions_default", "initial_sessions_max")
                ]
            },
        ),
        (
            _("Days between sessions"),
            {"fields": [("interval_days_min", "interval_days_default", "interval_days_max")]},
        ),
        (None, {"fields": ["maintenance_interval_months", "notes"]}),
    ]


class IndicationInline(admin.TabularInline):
    model = Indication
    extra = 0
    autocomplete_fields = ["concern"]


@admin.register(Treatment)
class TreatmentAdmin(HistoryAdmin):
    list_display = [
        "name",
        "name_ko",
        "core_ingredient",
        "texture_change",
        "long_term_benefit",
        "session_minutes",
        "protocol_count",
        "is_active",
    ]
    list_filter = ["is_active", "texture_change", "long_term_benefit"]
    search_fields = [
        "name",
        "name_ko",
        "core_ingredient",
        "core_ingredient_ko",
        "primary_effect",
        "primary_effect_ko",
    ]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["contraindications"]
    inlines = [ProtocolTemplateInline, IndicationInline]
    fieldsets = [
        (None, {"fields": [("name", "name_ko"), "slug", "is_active"]}),
        (
            _("Clinical profile"),
            {
                "fields": [
                    ("core_ingredient", "core_ingredient_ko"),
                    ("primary_effect", "primary_effect_ko"),
                    ("texture_change", "long_term_benefit"),
                    "session_minutes",
                    "contraindications",
                ]
            },
        ),
        (
            _("Who it suits"),
            {
                "description": _(
                    "Shown to staff with each suggestion. A patient outside the age band gets a "
                    "note, never a refusal."
                ),
                "fields": [
                    ("candidate_age_min", "candidate_age_max"),
                    ("typical_candidates", "typical_candidates_ko"),
                    ("combines_with", "combines_with_ko"),
                ],
            },
        ),
        (
            _("Shown to patients"),
            {
                "fields": [
                    "description",
                    "description_ko",
                    "preparation",
                    "preparation_ko",
                    "aftercare",
                    "aftercare_ko",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Treatment]:
        return super().get_queryset(request).annotate(_protocol_count=Count("protocols"))

    @admin.display(description=_("protocols"), ordering="_protocol_count")
    def protocol_count(self, obj: Treatment) -> int:
        return obj._protocol_count  # type: ignore[attr-defined]


class ProtocolMilestoneInline(admin.TabularInline):
    model = ProtocolMilestone
    extra = 1


@admin.register(ProtocolTemplate)
class ProtocolTemplateAdmin(HistoryAdmin):
    list_display = [
        "name",
        "treatment",
        "is_default",
        "sessions",
        "interval",
        "maintenance_interval_months",
        "needs_review",
    ]
    list_filter = ["needs_review", "is_default", "treatment"]
    list_select_related = ["treatment"]
    search_fields = ["name", "treatment__name"]
    inlines = [ProtocolMilestoneInline]
    fieldsets = [
        (None, {"fields": ["treatment"]}),
        *ProtocolTemplateInline.fieldsets,
    ]

    @admin.display(description=_("sessions"))
    def sessions(self, obj: ProtocolTemplate) -> str:
        low, usual, high = (
            obj.initial_sessions_min,
            obj.initial_sessions_default,
            obj.initial_sessions_max,
        )
        return f"{low}–{high} ({usual})"

    @admin.display(description=_("days apart"))
    def interval(self, obj: ProtocolTemplate) -> str:
        return f"{obj.interval_days_min}–{obj.interval_days_max} ({obj.interval_days_default})"


@admin.register(SkinConcern)
class SkinConcernAdmin(HistoryAdmin):
    list_display = ["name", "name_ko", "slug"]
    search_fields = ["name", "name_ko", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Contraindication)
class ContraindicationAdmin(HistoryAdmin):
    list_display = ["name", "name_ko", "slug"]
    search_fields = ["name", "name_ko", "slug"]
    prepopulated_fields = {"slug": ["name"]}
