"""Catalogue endpoints: read for any logged-in user, written by clinic admins."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.api.permissions import IsStaffMember, ReadAnyoneWriteClinicAdmin
from patients.models import Patient
from treatments.models import (
    Contraindication,
    Indication,
    ProtocolMilestone,
    ProtocolTemplate,
    SkinConcern,
    Treatment,
)
from treatments.services import treatment_save
from treatments.suggestions import treatment_suggestions


class SkinConcernSerializer(serializers.ModelSerializer[SkinConcern]):
    class Meta:
        model = SkinConcern
        fields = ["slug", "name", "name_ko", "description"]


class ContraindicationSerializer(serializers.ModelSerializer[Contraindication]):
    class Meta:
        model = Contraindication
        fields = ["slug", "name", "name_ko", "description"]


class MilestoneSerializer(serializers.ModelSerializer[ProtocolMilestone]):
    class Meta:
        model = ProtocolMilestone
        fields = [
            "description",
            "description_ko",
            "after_session",
            "months_from_start_min",
            "months_from_start_max",
        ]


class ProtocolSerializer(serializers.ModelSerializer[ProtocolTemplate]):
    milestones = MilestoneSerializer(many=True, read_only=True)

    class Meta:
        model = ProtocolTemplate
        fields = [
            "id",
            "name",
            "is_default",
            "initial_sessions_min",
            "initial_sessions_default",
            "initial_sessions_max",
            "interval_days_min",
            "interval_days_default",
            "interval_days_max",
            "maintenance_interval_months",
            "needs_review",
            "notes",
            "milestones",
        ]
        read_only_fields = fields


class IndicationSerializer(serializers.ModelSerializer[Indication]):
    concern = serializers.SlugRelatedField(slug_field="slug", queryset=SkinConcern.objects.all())
    concern_name = serializers.CharField(source="concern.name", read_only=True)

    class Meta:
        model = Indication
        fields = ["concern", "concern_name", "strength"]


class TreatmentSerializer(serializers.ModelSerializer[Treatment]):
    protocols = ProtocolSerializer(many=True, read_only=True)
    indications = IndicationSerializer(many=True, required=False)
    contraindications = serializers.SlugRelatedField(
        slug_field="slug", many=True, required=False, queryset=Contraindication.objects.all()
    )

    class Meta:
        model = Treatment
        fields = [
            "slug",
            "name",
            "name_ko",
            "core_ingredient",
            "primary_effect",
            "texture_change",
            "long_term_benefit",
            "description",
            "description_ko",
            "typical_candidates",
            "combines_with",
            "session_minutes",
            "aftercare",
            "aftercare_ko",
            "is_active",
            "protocols",
            "indications",
            "contraindications",
        ]

    def validate_indications(self, value: list[dict[str, object]]) -> list[dict[str, object]]:
        slugs = [item["concern"].slug for item in value]  # type: ignore[attr-defined]
        if len(slugs) != len(set(slugs)):
            raise serializers.ValidationError("Each concern can be listed once.")
        return value

    def save(self, **kwargs: object) -> Treatment:
        data = dict(self.validated_data)
        indications = data.pop("indications", None)
        contraindications = data.pop("contraindications", None)
        self.instance = treatment_save(
            treatment=self.instance,
            fields=data,
            changed_by=self.context["request"].user,
            indications=(
                None
                if indications is None
                else [(item["concern"], item["strength"]) for item in indications]
            ),
            contraindications=contraindications,
        )
        return self.instance


def catalogue_queryset() -> QuerySet[Treatment]:
    return Treatment.objects.prefetch_related(
        Prefetch(
            "protocols",
            queryset=ProtocolTemplate.objects.prefetch_related("milestones").order_by(
                "-is_default", "name"
            ),
        ),
        Prefetch("indications", queryset=Indication.objects.select_related("concern")),
        "contraindications",
    )


class TreatmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Treatment],
):
    """The treatment catalogue with protocols, indications and contraindications. Treatments
    are never deleted (courses refer to them): set ``is_active`` to false to stop offering one.
    Protocol templates are edited in the admin, which validates them and keeps their history."""

    serializer_class = TreatmentSerializer
    permission_classes = [ReadAnyoneWriteClinicAdmin]
    lookup_field = "slug"
    filterset_fields = ["is_active"]

    def get_queryset(self) -> QuerySet[Treatment]:
        return catalogue_queryset()


class SkinConcernViewSet(viewsets.ReadOnlyModelViewSet[SkinConcern]):
    queryset = SkinConcern.objects.all()
    serializer_class = SkinConcernSerializer
    lookup_field = "slug"


class TreatmentSummarySerializer(serializers.ModelSerializer[Treatment]):
    class Meta:
        model = Treatment
        fields = [
            "slug",
            "name",
            "name_ko",
            "primary_effect",
            "primary_effect_ko",
            "long_term_benefit",
        ]


class SuggestionSerializer(serializers.Serializer[object]):
    """Sentences are in the request's language (Accept-Language, or the user's choice)."""

    treatment = TreatmentSummarySerializer()
    score = serializers.IntegerField(
        help_text="Sum of indication strength (1–5) × concern severity (1–3)."
    )
    reason = serializers.CharField(
        help_text="One sentence: the matched concerns, the treatment and its primary effect."
    )
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="One line per matched concern."
    )
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="One line per recorded contraindication; these treatments are listed last.",
    )
    contraindicated_by = ContraindicationSerializer(
        source="contraindications",
        many=True,
        read_only=True,
        help_text="The patient's recorded conditions behind the warnings.",
    )
    notes = serializers.ListField(
        child=serializers.CharField(),
        source="note_texts",
        help_text="Soft notes (age band, recent procedure); they do not change the order.",
    )
    default_protocol = ProtocolSerializer(allow_null=True)


class SuggestionsView(APIView):
    """Treatments ranked for a patient's recorded concerns, with the reasons, contraindication
    warnings (those treatments come last) and soft notes, in the request's language."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        parameters=[OpenApiParameter("patient", int, required=True, description="Patient id")],
        responses=SuggestionSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        patient_id = request.query_params.get("patient", "")
        if not (patient_id.isascii() and patient_id.isdecimal()):
            raise serializers.ValidationError({"patient": ["Give the patient's id."]})
        patient = get_object_or_404(Patient, pk=int(patient_id))
        suggestions = treatment_suggestions(patient=patient)
        return Response(SuggestionSerializer(suggestions, many=True).data)
