"""Patient records for staff, with their concerns and medical flags."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from rest_framework import filters, mixins, serializers, viewsets

from clinic.api.permissions import IsStaffMember
from patients.models import MedicalFlag, Patient, PatientConcern
from patients.services import patient_save
from treatments.models import Contraindication, SkinConcern


class PatientConcernSerializer(serializers.ModelSerializer[PatientConcern]):
    concern = serializers.SlugRelatedField(slug_field="slug", queryset=SkinConcern.objects.all())
    concern_name = serializers.CharField(source="concern.name", read_only=True)

    class Meta:
        model = PatientConcern
        fields = ["concern", "concern_name", "area", "severity", "note"]


class MedicalFlagSerializer(serializers.ModelSerializer[MedicalFlag]):
    condition = serializers.SlugRelatedField(
        slug_field="slug", queryset=Contraindication.objects.all()
    )
    condition_name = serializers.CharField(source="condition.name", read_only=True)

    class Meta:
        model = MedicalFlag
        fields = ["condition", "condition_name", "note", "recorded_at"]
        read_only_fields = ["recorded_at"]


class PatientSerializer(serializers.ModelSerializer[Patient]):
    concerns = PatientConcernSerializer(many=True, required=False)
    medical_flags = MedicalFlagSerializer(
        many=True,
        required=False,
        source="open_flags",
        help_text="Conditions that apply now. On update, the list replaces the open flags; "
        "flags left out are marked resolved (kept in the record).",
    )
    has_login = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "family_name",
            "given_name",
            "date_of_birth",
            "phone",
            "email",
            "preferred_language",
            "reminder_channel",
            "notes",
            "has_login",
            "concerns",
            "medical_flags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_has_login(self, patient: Patient) -> bool:
        return patient.user_id is not None

    def validate_concerns(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = [(item["concern"].slug, item.get("area", "full_face")) for item in value]
        if len(keys) != len(set(keys)):
            raise serializers.ValidationError("A concern is listed twice for the same area.")
        return value

    def validate_medical_flags(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        slugs = [item["condition"].slug for item in value]
        if len(slugs) != len(set(slugs)):
            raise serializers.ValidationError("A condition is listed twice.")
        return value

    def save(self, **kwargs: Any) -> Patient:
        data = dict(self.validated_data)
        concerns = data.pop("concerns", None)
        flags = data.pop("open_flags", None)
        self.instance = patient_save(
            patient=self.instance,
            fields=data,
            changed_by=self.context["request"].user,
            concerns=(
                None
                if concerns is None
                else [
                    {
                        "concern": item["concern"],
                        "area": item.get("area", "full_face"),
                        "severity": item.get("severity", 2),
                        "note": item.get("note", ""),
                    }
                    for item in concerns
                ]
            ),
            flags=None if flags is None else [(f["condition"], f.get("note", "")) for f in flags],
        )
        # Re-read with the prefetches the response needs.
        self.instance = patient_queryset().get(pk=self.instance.pk)
        return self.instance


def patient_queryset() -> QuerySet[Patient]:
    return Patient.objects.prefetch_related(
        Prefetch("concerns", queryset=PatientConcern.objects.select_related("concern")),
        Prefetch(
            "medical_flags",
            queryset=MedicalFlag.objects.filter(resolved_at__isnull=True).select_related(
                "condition"
            ),
            to_attr="open_flags",
        ),
    )


class PatientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Patient],
):
    """Patients (staff only). ``search`` matches names, phone and email. Patients are not
    deleted through the API: their treatment history must stay."""

    lookup_value_regex = "[0-9]+"
    serializer_class = PatientSerializer
    permission_classes = [IsStaffMember]
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["family_name", "given_name", "phone", "email"]
    ordering_fields = ["family_name", "created_at"]
    ordering = ["family_name", "given_name", "pk"]

    def get_queryset(self) -> QuerySet[Patient]:
        return patient_queryset()
