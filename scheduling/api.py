"""Practitioners, free slots, plans and sessions over HTTP: thin adapters over the scheduling
services and selectors, which hold every rule."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.api.errors import no_fit_reason, request_field_names
from clinic.api.filters import CalendarDayFilter, IdFilter, validate_calendar_day
from clinic.api.permissions import IsStaffMember, ReadOwnWriteStaff, acting_user
from clinic.api.schema import ErrorResponseSerializer
from clinic.page_cache import CachedReads
from clinic.roles import is_staff_member
from patients.models import Patient
from scheduling import services
from scheduling.calendar_rules import leave_interval
from scheduling.explain import explain_no_fit
from scheduling.models import (
    Leave,
    PlanStatus,
    Practitioner,
    Reaction,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
    Weekday,
)
from scheduling.planner import Move, Obstacle
from scheduling.presenters import (
    PlanView,
    patient_course,
    plan_view,
    ref,
    staff_plan_view,
)
from scheduling.reminders import reminder_retry
from scheduling.selectors import (
    free_slots,
    patient_schedule_for_user,
    plans_visible_to,
    practitioner_working_pattern,
    reminders_visible_to,
    sessions_visible_to,
    sessions_with_protocols,
    starting_on_days,
)
from treatments.models import ProtocolTemplate, Treatment

# --- Shared pieces --------------------------------------------------------------------------


class RefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


@extend_schema_field(OpenApiTypes.STR)
class TimeZoneField(serializers.Field):
    """The clinic's time zone, named in every schedule response (datetimes carry offsets)."""

    def __init__(self) -> None:
        super().__init__(
            read_only=True,
            source="*",
            help_text="The clinic's IANA time zone; every datetime also carries its UTC offset.",
        )

    def to_representation(self, value: Any) -> str:
        return settings.TIME_ZONE


# --- Practitioners, rooms, free slots -------------------------------------------------------


class PractitionerSerializer(serializers.ModelSerializer[Practitioner]):
    treatments: serializers.SlugRelatedField[Treatment] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )

    class Meta:
        model = Practitioner
        fields = ["id", "display_name", "title", "is_active", "treatments"]


class RoomSerializer(serializers.ModelSerializer[Room]):
    class Meta:
        model = Room
        fields = ["id", "name", "is_active"]


class FreeSlotsQuerySerializer(serializers.Serializer[Any]):
    treatment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Treatment.objects.filter(is_active=True)
    )
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all(), required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "from" and "to" are Python keywords, so they cannot be declared as attributes.
        fields["from"] = serializers.DateField(validators=[validate_calendar_day])
        fields["to"] = serializers.DateField(required=False, validators=[validate_calendar_day])
        return fields


class FreeSlotsSerializer(serializers.Serializer[Any]):
    time_zone = TimeZoneField()
    practitioner = RefSerializer()
    treatment = serializers.CharField()
    slots = serializers.ListField(child=serializers.DateTimeField())


class WorkingPeriodSerializer(serializers.Serializer[Any]):
    weekday = serializers.ChoiceField(choices=Weekday.choices, help_text="Monday = 0")
    start_time = serializers.TimeField()
    end_time = serializers.TimeField()


class LeaveSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    start_time = serializers.TimeField(
        allow_null=True, help_text="Empty: from the start of the first day."
    )
    end_time = serializers.TimeField(
        allow_null=True, help_text="Empty: to the end of the last day."
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class WorkingPatternSerializer(serializers.Serializer[Any]):
    practitioner = RefSerializer()
    time_zone = TimeZoneField()
    works_clinic_hours = serializers.BooleanField(
        help_text="No working hours of their own: they work whenever the clinic is open."
    )
    working_hours = WorkingPeriodSerializer(many=True)
    leave = LeaveSerializer(many=True, help_text="Leave that has not ended yet, soonest first.")


def _leave_data(leave: Leave) -> dict[str, Any]:
    interval = leave_interval(leave)
    return {
        "id": leave.pk,
        "starts_on": leave.starts_on,
        "ends_on": leave.ends_on,
        "start_time": leave.start_time,
        "end_time": leave.end_time,
        "starts_at": interval.start,
        "ends_at": interval.end,
        "reason": leave.reason,
    }


class PractitionerViewSet(CachedReads, viewsets.ReadOnlyModelViewSet[Practitioner]):
    """Practitioners and what they perform (any logged-in user); their free slots and working
    pattern (staff)."""

    lookup_value_regex = "[0-9]+"
    serializer_class = PractitionerSerializer
    queryset = Practitioner.objects.prefetch_related("treatments").order_by("display_name", "pk")
    filterset_fields = ["is_active"]

    @extend_schema(
        parameters=[
            OpenApiParameter("treatment", str, required=True, description="Treatment slug"),
            OpenApiParameter("from", date, required=True, description="First local day"),
            OpenApiParameter("to", date, description="Last local day (default: from), ≤ 8 weeks"),
            OpenApiParameter("room", int, description="Also require this room to be free"),
        ],
        responses=FreeSlotsSerializer,
    )
    @action(detail=True, url_path="free-slots", permission_classes=[IsStaffMember])
    def free_slots(self, request: Request, pk: str | None = None) -> Response:
        """Start times at which the treatment fits: opening hours, closures, session length and
        the practitioner's (and room's) bookings; back-to-back is free, any overlap is not."""
        practitioner = get_object_or_404(Practitioner, pk=pk)
        query = FreeSlotsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        slots = free_slots(
            practitioner=practitioner,
            treatment=params["treatment"],
            first_day=params["from"],
            last_day=params.get("to", params["from"]),
            room=params.get("room"),
        )
        return Response(
            FreeSlotsSerializer(
                {
                    "practitioner": ref(practitioner),
                    "treatment": params["treatment"].slug,
                    "slots": slots,
                }
            ).data
        )

    @extend_schema(responses=WorkingPatternSerializer)
    @action(detail=True, url_path="working-pattern", permission_classes=[IsStaffMember])
    def working_pattern(self, request: Request, pk: str | None = None) -> Response:
        """When the practitioner works (none given: the clinic's opening hours) and their leave
        that has not ended yet. Read-only: clinic admins edit both in the admin."""
        practitioner = get_object_or_404(Practitioner, pk=pk)
        pattern = practitioner_working_pattern(practitioner=practitioner)
        return Response(
            WorkingPatternSerializer(
                {
                    "practitioner": asdict(ref(practitioner)),
                    "works_clinic_hours": pattern.works_clinic_hours,
                    "working_hours": pattern.working_hours,
                    "leave": [_leave_data(leave) for leave in pattern.leave],
                }
            ).data
        )


class RoomViewSet(viewsets.ReadOnlyModelViewSet[Room]):
    lookup_value_regex = "[0-9]+"
    serializer_class = RoomSerializer
    queryset = Room.objects.order_by("name", "pk")
    permission_classes = [IsStaffMember]


# --- Sessions -------------------------------------------------------------------------------


class SessionSerializer(serializers.ModelSerializer[Session]):
    patient = serializers.SerializerMethodField()
    treatment = serializers.CharField(source="plan.template.treatment.slug", read_only=True)
    practitioner = serializers.SerializerMethodField()
    room = serializers.SerializerMethodField()
    time_zone = TimeZoneField()

    class Meta:
        model = Session
        fields = [
            "id",
            "plan",
            "patient",
            "treatment",
            "sequence",
            "kind",
            "starts_at",
            "ends_at",
            "time_zone",
            "practitioner",
            "room",
            "status",
            "reactions",
            "reaction_notes",
            "revision",
            "completed_at",
            "cancelled_at",
            "cancellation_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(RefSerializer)
    def get_patient(self, session: Session) -> dict[str, Any]:
        return asdict(ref(session.plan.patient))

    @extend_schema_field(RefSerializer)
    def get_practitioner(self, session: Session) -> dict[str, Any]:
        return asdict(ref(session.practitioner))

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_room(self, session: Session) -> dict[str, Any] | None:
        return asdict(ref(session.room)) if session.room else None


class LocalDateRangeFilterSet(django_filters.FilterSet):
    date_from = CalendarDayFilter(
        method="filter_date_from", label="Sessions starting on or after this local day"
    )
    date_to = CalendarDayFilter(
        method="filter_date_to", label="Sessions starting on or before this local day"
    )

    def filter_date_from(self, queryset: QuerySet[Any], name: str, value: date) -> QuerySet[Any]:
        return starting_on_days(queryset, first_day=value)

    def filter_date_to(self, queryset: QuerySet[Any], name: str, value: date) -> QuerySet[Any]:
        return starting_on_days(queryset, last_day=value)


class SessionFilter(LocalDateRangeFilterSet):
    practitioner = IdFilter(field_name="practitioner_id")
    room = IdFilter(field_name="room_id")
    patient = IdFilter(field_name="plan__patient_id")
    plan = IdFilter(field_name="plan_id")
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    kind = django_filters.ChoiceFilter(choices=SessionKind.choices)

    class Meta:
        model = Session
        fields: list[str] = []


class SessionBookSerializer(serializers.Serializer[Any]):
    plan = serializers.PrimaryKeyRelatedField(queryset=TreatmentPlan.objects.all())
    kind = serializers.ChoiceField(
        choices=SessionKind.choices,  # both kinds can be booked one by one
        default=SessionKind.MAINTENANCE,
        help_text="maintenance: the maintenance session of a course in maintenance; initial: an "
        "extra session at the end of a course under way, inside the protocol's window.",
    )
    starts_at = serializers.DateTimeField(
        help_text="Exactly when, ISO 8601 with offset, on the booking grid; never moved."
    )
    practitioner = serializers.PrimaryKeyRelatedField(
        queryset=Practitioner.objects.all(),
        required=False,
        help_text="Default: the course's practitioner.",
    )
    room = serializers.PrimaryKeyRelatedField(
        queryset=Room.objects.all(),
        required=False,
        allow_null=True,
        help_text="Default: the course's room.",
    )


class RescheduleRequestSerializer(serializers.Serializer[Any]):
    new_start = serializers.DateTimeField(
        help_text="ISO 8601 with offset, e.g. 2027-01-05T10:00:00+09:00"
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Only show which sessions would move; change nothing."
    )


class MoveSerializer(serializers.Serializer[Any]):
    sequence = serializers.IntegerField()
    old_start = serializers.DateTimeField()
    new_start = serializers.DateTimeField()
    new_end = serializers.DateTimeField()


class RescheduleResultSerializer(serializers.Serializer[Any]):
    applied = serializers.BooleanField()
    time_zone = TimeZoneField()
    moves = MoveSerializer(many=True)


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=200)


class CompleteRequestSerializer(serializers.Serializer[Any]):
    reactions = serializers.ListField(
        child=serializers.ChoiceField(choices=Reaction.choices), required=False, default=list
    )
    reaction_notes = serializers.CharField(required=False, allow_blank=True, default="")


CONFLICT = OpenApiResponse(
    ErrorResponseSerializer, description="A booking conflict, or a protocol that cannot be kept."
)


class SessionViewSet(CachedReads, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[Session]):
    """Sessions: staff see all, book one at a time and change them; a patient sees only their
    own."""

    lookup_value_regex = "[0-9]+"
    serializer_class = SessionSerializer
    permission_classes = [ReadOwnWriteStaff]
    filterset_class = SessionFilter

    def get_queryset(self) -> QuerySet[Session]:
        return sessions_visible_to(self.request.user).order_by("starts_at", "pk")

    # The courses' protocols come from the kept catalogue, for each page and each session.
    def paginate_queryset(  # type: ignore[override]  # the stubs' rows are generic; these are sessions
        self, queryset: QuerySet[Session]
    ) -> list[Session] | None:
        page = super().paginate_queryset(queryset)
        return None if page is None else sessions_with_protocols(list(page))

    def get_object(self) -> Session:
        (session,) = sessions_with_protocols([super().get_object()])
        return session

    def _loaded(self, session: Session) -> Session:
        (loaded,) = sessions_with_protocols([self.get_queryset().get(pk=session.pk)])
        return loaded

    def _changed_session(self) -> Session:
        """The session an action changes. The service reads and locks it itself, and raises
        ``SessionNotFound`` (404) when there is none; staff, the only ones who change sessions
        (``ReadOwnWriteStaff``), see them all, so nothing is read here. Anyone else's lookup is
        scoped, so a session they cannot see answers 404 too."""
        if is_staff_member(self.request.user):
            return Session(pk=int(self.kwargs["pk"]))
        session = get_object_or_404(
            self.get_queryset().select_related(None).only("pk"), pk=self.kwargs["pk"]
        )
        self.check_object_permissions(self.request, session)
        return session

    def _respond(self, session: Session) -> Response:
        return Response(SessionSerializer(self._loaded(session)).data)

    @extend_schema(request=SessionBookSerializer, responses={201: SessionSerializer, 409: CONFLICT})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Book one session of a course at exactly the chosen time: a maintenance session, or an
        extra course session. A time that is taken answers 409 with the reason; one outside
        opening or working hours, during leave or off the booking grid, 400."""
        body = SessionBookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        session = services.session_book(
            plan=data["plan"],
            kind=data["kind"],
            starts_at=data["starts_at"],
            practitioner=data.get("practitioner"),
            room=data.get("room"),
            booked_by=acting_user(request),
        )
        location = request.build_absolute_uri(f"{session.pk}/")
        return Response(
            SessionSerializer(self._loaded(session)).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )

    @extend_schema(
        request=RescheduleRequestSerializer,
        responses={200: RescheduleResultSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str | None = None) -> Response:
        """Move a session; later sessions of the course move as needed to keep the protocol.
        A move that cannot keep it answers 409 with the reason. ``dry_run`` shows the cascade."""
        session = self._changed_session()
        body = RescheduleRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.session_reschedule(
            session=session,
            new_start=body.validated_data["new_start"],
            dry_run=body.validated_data["dry_run"],
            changed_by=acting_user(request),
        )
        moves: list[Move] = list(result.moves)
        return Response(
            RescheduleResultSerializer({"applied": result.applied, "moves": moves}).data
        )

    @extend_schema(request=ReasonSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        session = self._changed_session()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.session_cancel(
            session=session, reason=body.validated_data["reason"], cancelled_by=acting_user(request)
        )
        return self._respond(session)

    @extend_schema(request=CompleteRequestSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Record that the session took place, with the reactions seen."""
        session = self._changed_session()
        body = CompleteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.session_complete(
            session=session,
            completed_by=acting_user(request),
            reactions=body.validated_data["reactions"],
            reaction_notes=body.validated_data["reaction_notes"],
        )
        return self._respond(session)

    @extend_schema(request=None, responses=SessionSerializer)
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request: Request, pk: str | None = None) -> Response:
        session = self._changed_session()
        services.session_mark_no_show(session=session, marked_by=acting_user(request))
        return self._respond(session)


# --- Plans ----------------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer[Any]):
    completed = serializers.IntegerField()
    total = serializers.IntegerField()


class PlanSessionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SessionKind.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=SessionStatus.choices)
    practitioner = RefSerializer()


class PatientPlanSerializer(serializers.Serializer[Any]):
    """A plan as its patient sees it (``presenters.PlanView``): without staff notes, override
    details or who booked it."""

    id = serializers.IntegerField()
    patient = RefSerializer()
    treatment = serializers.CharField()
    protocol = RefSerializer()
    practitioner = RefSerializer()
    room = RefSerializer(allow_null=True)
    status = serializers.ChoiceField(choices=PlanStatus.choices)
    session_count = serializers.IntegerField()
    interval_days = serializers.IntegerField()
    first_session_at = serializers.DateTimeField()
    time_zone = TimeZoneField()
    booked_at = serializers.DateTimeField()
    maintenance_due_on = serializers.DateField(allow_null=True)
    progress = ProgressSerializer()
    sessions = PlanSessionSerializer(many=True)

    def to_representation(self, instance: Any) -> Any:
        if isinstance(instance, TreatmentPlan):
            instance = self.present(instance)
        return super().to_representation(instance)

    def present(self, plan: TreatmentPlan) -> PlanView:
        return plan_view(plan, user=None)


class PlanSerializer(PatientPlanSerializer):
    """A plan as staff see it (``presenters.StaffPlanView``)."""

    booked_by = serializers.CharField()
    overridden_conditions = serializers.CharField()
    override_reason = serializers.CharField()
    attention_reason = serializers.CharField()
    schedule_notes = serializers.CharField()

    def present(self, plan: TreatmentPlan) -> PlanView:
        return staff_plan_view(plan)


class PlanRequestSerializer(serializers.Serializer[Any]):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    protocol = serializers.PrimaryKeyRelatedField(
        queryset=ProtocolTemplate.objects.select_related("treatment")
    )
    practitioner = serializers.PrimaryKeyRelatedField(queryset=Practitioner.objects.all())
    room = serializers.PrimaryKeyRelatedField(
        queryset=Room.objects.all(), required=False, allow_null=True
    )
    first_start = serializers.DateTimeField(
        help_text="Wished first session, ISO 8601 with offset (the clinic's zone if none)."
    )
    session_count = serializers.IntegerField(required=False, min_value=1, max_value=50)
    interval_days = serializers.IntegerField(required=False, min_value=1, max_value=365)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "patient": data["patient"],
            "template": data["protocol"],
            "practitioner": data["practitioner"],
            "room": data.get("room"),
            "first_start": data["first_start"],
            "session_count": data.get("session_count"),
            "interval_days": data.get("interval_days"),
        }


class PlanBookSerializer(PlanRequestSerializer):
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the patient has a recorded contraindication for the treatment.",
    )


class ProposedSessionSerializer(serializers.Serializer[Any]):
    sequence = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    preferred_at = serializers.DateTimeField()
    moved = serializers.BooleanField(help_text="The preferred slot was taken; this is the nearest.")


class ClosedDaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    reason = serializers.CharField()


class BusySerializer(serializers.Serializer[Any]):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class LeaveSpanSerializer(serializers.Serializer[Any]):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class NoFitSerializer(serializers.Serializer[Any]):
    """Why a session cannot be placed; the same facts a 409 gives under ``reason``."""

    message = serializers.CharField()
    sequence = serializers.IntegerField()
    window_first_day = serializers.DateField()
    window_last_day = serializers.DateField()
    preferred_at = serializers.DateTimeField()
    closed_days = ClosedDaySerializer(many=True)
    days_without_hours = serializers.ListField(child=serializers.DateField())
    busy = BusySerializer(many=True)
    detail = serializers.CharField(allow_blank=True)
    cause = serializers.ChoiceField(
        choices=[(str(o), str(o)) for o in Obstacle],
        allow_null=True,
        help_text="The rule an exact time breaks; null when no time in the window is free.",
    )
    days_not_working = serializers.ListField(
        child=serializers.DateField(), help_text="Open days the practitioner does not work."
    )
    leave = LeaveSpanSerializer(many=True, help_text="The practitioner's leave in the window.")
    patient_busy = BusySerializer(many=True, help_text="The patient's other sessions.")
    previous_sequence = serializers.IntegerField(
        allow_null=True, help_text="For a window refusal: the session the window counts from."
    )


class ConditionSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()


class PlanPreviewSerializer(serializers.Serializer[Any]):
    fits = serializers.BooleanField()
    time_zone = TimeZoneField()
    session_count = serializers.IntegerField(source="rules.session_count")
    interval_days = serializers.IntegerField(source="rules.interval_days_preferred")
    sessions = ProposedSessionSerializer(many=True, source="proposal.sessions", default=list)
    maintenance_due_on = serializers.DateField(
        source="proposal.maintenance_due_on", allow_null=True, default=None
    )
    no_fit = NoFitSerializer(allow_null=True)
    contraindications = ConditionSerializer(many=True)


class PlanFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    practitioner = IdFilter(field_name="practitioner_id")
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)

    class Meta:
        model = TreatmentPlan
        fields: list[str] = []


class PlanViewSet(
    CachedReads, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[TreatmentPlan]
):
    """Booked courses. Booking answers 202: the plan is created in the *scheduling* state and
    the worker places its sessions moments later (poll the plan)."""

    lookup_value_regex = "[0-9]+"
    serializer_class = PlanSerializer
    permission_classes = [ReadOwnWriteStaff]
    filterset_class = PlanFilter

    def get_queryset(self) -> QuerySet[TreatmentPlan]:
        return plans_visible_to(self.request.user).order_by("-booked_at", "-pk")

    def get_serializer_class(self) -> type[PatientPlanSerializer]:
        if is_staff_member(self.request.user):
            return PlanSerializer
        return PatientPlanSerializer

    @extend_schema(request=PlanBookSerializer, responses={202: PlanSerializer, 409: CONFLICT})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = PlanBookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with request_field_names(template="protocol"):
            plan = services.plan_book(
                **body.service_arguments(),
                override_reason=body.validated_data["override_reason"],
                booked_by=acting_user(request),
            )
        data = PlanSerializer(self.get_queryset().get(pk=plan.pk)).data
        location = request.build_absolute_uri(f"{plan.pk}/")
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(request=PlanRequestSerializer, responses=PlanPreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """The sessions a booking would get now, or the structured reason none fit, and any
        contraindication. Writes nothing."""
        body = PlanRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with request_field_names(template="protocol"):
            preview = services.plan_preview(**body.service_arguments())
        return Response(PlanPreviewSerializer(_preview_data(preview)).data)

    @extend_schema(request=ReasonSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        plan = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.plan_cancel(
            plan=plan, reason=body.validated_data["reason"], cancelled_by=acting_user(request)
        )
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data)


def _preview_data(preview: services.PlanPreview) -> dict[str, Any]:
    no_fit = preview.no_fit
    return {
        "fits": preview.fits,
        "rules": preview.rules,
        "proposal": preview.proposal,
        "no_fit": (
            None if no_fit is None else {"message": explain_no_fit(no_fit), **no_fit_reason(no_fit)}
        ),
        "contraindications": preview.contraindications,
    }


# --- Reminders (staff) ----------------------------------------------------------------------


class ReminderSerializer(serializers.ModelSerializer[Reminder]):
    patient = serializers.SerializerMethodField()
    retried_by = serializers.CharField(
        source="retried_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Reminder
        fields = [
            "id",
            "plan",
            "session",
            "patient",
            "kind",
            "cycle",
            "channel",
            "due_at",
            "status",
            "attempts",
            "last_error",
            "sent_at",
            "retried_at",
            "retried_by",
        ]
        read_only_fields = fields

    @extend_schema_field(RefSerializer)
    def get_patient(self, reminder: Reminder) -> dict[str, Any]:
        return asdict(ref(reminder.plan.patient))


class ReminderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReminderStatus.choices)
    kind = django_filters.ChoiceFilter(choices=ReminderKind.choices)
    plan = IdFilter(field_name="plan_id")
    patient = IdFilter(field_name="plan__patient_id")

    class Meta:
        model = Reminder
        fields: list[str] = []


class RetryResultSerializer(serializers.Serializer[Any]):
    retried = serializers.BooleanField(
        help_text="False when the reminder was not failed: nothing was changed."
    )
    message = serializers.CharField()
    reminder = ReminderSerializer()


class ReminderViewSet(viewsets.ReadOnlyModelViewSet[Reminder]):
    """Reminders, for staff: what went out, what is waiting, and what failed (``?status=failed``)
    so that it can be retried."""

    lookup_value_regex = "[0-9]+"
    serializer_class = ReminderSerializer
    permission_classes = [IsStaffMember]
    filterset_class = ReminderFilter

    def get_queryset(self) -> QuerySet[Reminder]:
        return reminders_visible_to(self.request.user).order_by("due_at", "pk")

    @extend_schema(request=None, responses=RetryResultSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Send a failed reminder again (one more attempt, within a minute). Safe to repeat: a
        reminder that is not failed is left as it is, and ``retried`` says so. A failed reminder
        nobody needs any more (its session moved, was cancelled or has started) answers 400."""
        outcome = reminder_retry(reminder=self.get_object(), retried_by=acting_user(request))
        return Response(
            RetryResultSerializer(
                {
                    "retried": outcome.retried,
                    "message": outcome.message,
                    "reminder": self.get_queryset().get(pk=outcome.reminder.pk),
                }
            ).data
        )


# --- The patient's own schedule -------------------------------------------------------------


class MilestoneViewSerializer(serializers.Serializer[Any]):
    description = serializers.CharField()
    expected_on = serializers.DateField(allow_null=True)
    expected_until = serializers.DateField(allow_null=True)


class AftercareSerializer(serializers.Serializer[Any]):
    session = serializers.IntegerField()
    treatment = serializers.CharField()
    text = serializers.CharField()


class MyPlanSerializer(serializers.Serializer[Any]):
    """One course as ``presenters.PatientCourse`` shows it."""

    id = serializers.IntegerField()
    treatment = serializers.CharField()
    treatment_name = serializers.CharField()
    status = serializers.ChoiceField(choices=PlanStatus.choices)
    progress = ProgressSerializer()
    next_session = PlanSessionSerializer(allow_null=True)
    sessions = PlanSessionSerializer(many=True)
    next_maintenance_on = serializers.DateField(allow_null=True)
    milestones = MilestoneViewSerializer(many=True)
    aftercare = AftercareSerializer(allow_null=True)


class MyScheduleSerializer(serializers.Serializer[Any]):
    time_zone = TimeZoneField()
    patient = RefSerializer()
    plans = MyPlanSerializer(many=True)


class MyScheduleView(CachedReads, APIView):
    """The logged-in patient's courses: sessions, progress, next maintenance, and aftercare for
    the last session, in the patient's language. Staff without a patient record get 404."""

    @extend_schema(responses=MyScheduleSerializer)
    def get(self, request: Request) -> Response:
        schedule = patient_schedule_for_user(user=request.user)
        if schedule is None:
            raise NotFound()
        patient, plans = schedule
        language = patient.preferred_language
        data = {
            "patient": {"id": patient.pk, "name": patient.full_name},
            "plans": [patient_course(plan, language=language) for plan in plans],
        }
        return Response(MyScheduleSerializer(data).data)
