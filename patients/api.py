"""Patient records for staff, with their concerns and medical flags."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters, mixins, serializers, viewsets
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.api.permissions import IsStaffMember
from clinic.page_cache import CachedReads
from patients.access_log import patient_access_record
from patients.models import AccessKind, MedicalFlag, Patient, PatientConcern
from patients.selectors import patient_search, patients_with_record
from patients.services import patient_save
from treatments.models import Contraindication, SkinConcern


# An item of a nested list is whole even in a PATCH: the list replaces what is recorded, so
# each item needs its required fields (DRF would otherwise skip them as partial). A comment,
# not a docstring: the schema would take it as the items' description.
class WholeItems:
    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)  # type: ignore[misc]
        missing = {
            name: [ErrorDetail(str(field.error_messages["required"]), code="required")]
            for name, field in self.fields.items()
            if field.required and not field.read_only and field.source not in value
        }
        if missing:
            raise serializers.ValidationError(missing)
        return value


class PatientConcernSerializer(WholeItems, serializers.ModelSerializer[PatientConcern]):
    concern = serializers.SlugRelatedField(slug_field="slug", queryset=SkinConcern.objects.all())
    concern_name = serializers.CharField(source="concern.name", read_only=True)

    class Meta:
        model = PatientConcern
        fields = ["concern", "concern_name", "area", "severity", "note"]


class MedicalFlagSerializer(WholeItems, serializers.ModelSerializer[MedicalFlag]):
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
        self.instance = patients_with_record().get(pk=self.instance.pk)
        return self.instance


class PatientViewSet(
    CachedReads,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Patient],
):
    """Patients (staff only). ``search`` matches names (either order), phone and email, every
    word. Patients are not deleted through the API: their treatment history must stay."""

    lookup_value_regex = "[0-9]+"
    serializer_class = PatientSerializer
    permission_classes = [IsStaffMember]
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["family_name", "created_at"]
    ordering = ["family_name", "given_name", "pk"]

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Words found in name, phone or email")
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        found = [row["id"] for row in response.data["results"]]
        patient_access_record(request=request, patient_ids=found, kind=AccessKind.SEARCH)
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        shown = [response.data["id"]]
        patient_access_record(request=request, patient_ids=shown, kind=AccessKind.API)
        return response

    def get_queryset(self) -> QuerySet[Patient]:
        patients = patients_with_record()
        if self.action == "list":
            found = patient_search(query=self.request.query_params.get("search", ""))
            patients = patients.filter(pk__in=found.values("pk"))
        return patients
