"""Forms for the staff's scheduling pages. They parse what staff chose; the rules are the
services' and selectors' (a free time is what ``free_slots`` offers, a valid course what
``plan_preview`` accepts)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext, gettext_lazy

from clinic.formatting import format_time
from scheduling.models import Practitioner, Reaction, RequestKind, Room, Session
from scheduling.planner import local_datetime
from scheduling.selectors import clinic_tz, first_free_slot, free_slots, move_options
from treatments.models import ProtocolTemplate


class ProtocolChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ProtocolTemplate) -> str:
        return f"{obj.treatment.display_name} — {obj.name}"


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Practitioner) -> str:
        return obj.display_name


class BookingForm(forms.Form):
    """A course for one patient: protocol, how many sessions how far apart, who, where, and the
    first session's time, chosen among the free starts of the chosen day."""

    protocol = ProtocolChoiceField(
        label=gettext_lazy("Treatment and protocol"),
        queryset=ProtocolTemplate.objects.filter(treatment__is_active=True)
        .select_related("treatment")
        .order_by("treatment__name", "-is_default", "name"),
    )
    session_count = forms.IntegerField(
        label=gettext_lazy("Number of sessions"), min_value=1, max_value=20
    )
    interval_days = forms.IntegerField(
        label=gettext_lazy("Days between sessions"), min_value=1, max_value=365
    )
    practitioner = PractitionerChoiceField(
        label=gettext_lazy("Practitioner"),
        queryset=Practitioner.objects.filter(is_active=True).order_by("display_name", "pk"),
    )
    room = forms.ModelChoiceField(
        label=gettext_lazy("Room"),
        queryset=Room.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label=gettext_lazy("Any room / none"),
    )
    day = forms.DateField(
        label=gettext_lazy("First session on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    time = forms.ChoiceField(label=gettext_lazy("at"))
    override_reason = forms.CharField(
        label=gettext_lazy("Why it is safe to book despite the contraindication"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots: list[datetime] = []
        self.slots_error = ""
        self.next_free: datetime | None = None
        self._offer_free_times()

    @staticmethod
    def follow_changes(data: QueryDict) -> QueryDict:
        """Apply what a change implies before validating: another protocol brings its usual
        session count and interval; "jump" moves to the offered next free time."""
        data = data.copy()
        protocol = str(data.get("protocol", ""))
        if data.get("changed") == "protocol" and protocol.isdecimal():
            template = ProtocolTemplate.objects.filter(pk=int(protocol)).first()
            if template:
                data["session_count"] = str(template.initial_sessions_default)
                data["interval_days"] = str(template.interval_days_default)
        jump = str(data.get("jump", ""))
        if len(jump) == 16 and jump[10] == "T":  # "2026-12-15T10:00"
            data["day"], data["time"] = jump[:10], jump[11:]
        return data

    def _peek(self, name: str) -> Any:
        """A field's value before validation, or None while it is missing or invalid."""
        if not self.is_bound:
            return self.initial.get(name)
        field = self.fields[name]
        raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
        try:
            return field.clean(raw)
        except ValidationError:
            return None

    def _offer_free_times(self) -> None:
        """The time choices are the free starts of the chosen day for the chosen practitioner,
        room and treatment: exactly what a booking would accept."""
        protocol, practitioner = self._peek("protocol"), self._peek("practitioner")
        day, room = self._peek("day"), self._peek("room")
        if protocol and practitioner and day:
            try:
                self.slots = free_slots(
                    practitioner=practitioner,
                    treatment=protocol.treatment,
                    first_day=day,
                    last_day=day,
                    room=room,
                )
            except ValidationError as error:
                self.slots_error = " ".join(error.messages)
            if not self.slots and not self.slots_error:
                self.next_free = first_free_slot(
                    practitioner=practitioner,
                    treatment=protocol.treatment,
                    from_day=day + timedelta(days=1),
                    room=room,
                )
        time_field = cast(forms.ChoiceField, self.fields["time"])
        time_field.choices = [
            (f"{slot.astimezone(clinic_tz()):%H:%M}", format_time(slot)) for slot in self.slots
        ]

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        if not self.slots and not self.slots_error:
            raise ValidationError(
                gettext("There is no free time that day; pick another day."), code="no_slots"
            )
        return day

    def first_start(self) -> datetime:
        """The chosen first session as an instant in the clinic's zone."""
        chosen = time.fromisoformat(self.cleaned_data["time"])
        return local_datetime(self.cleaned_data["day"], chosen, clinic_tz())

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "template": data["protocol"],
            "practitioner": data["practitioner"],
            "room": data["room"],
            "first_start": self.first_start(),
            "session_count": data["session_count"],
            "interval_days": data["interval_days"],
        }

    def add_service_error(self, error: ValidationError) -> None:
        """Put a service's field errors beside the fields this form calls by other names."""
        names = {"template": "protocol", "first_start": "time", "plan": None}
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                name = names.get(field, field)
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)


class MoveForm(forms.Form):
    """A new time for a session: a day, then one of that day's free starts for the session's
    practitioner and room, the patient's other sessions and the course's own left aside (the
    cascade decides about those)."""

    day = forms.DateField(
        label=gettext_lazy("New day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    time = forms.ChoiceField(label=gettext_lazy("New time"))

    def __init__(self, *args: Any, session: Session, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        day = self._day()
        self.slots = move_options(session=session, day=day) if day else []
        time_field = cast(forms.ChoiceField, self.fields["time"])
        time_field.choices = [
            (f"{slot.astimezone(clinic_tz()):%H:%M}", format_time(slot)) for slot in self.slots
        ]

    def _day(self) -> date | None:
        if not self.is_bound:
            return cast(date | None, self.initial.get("day"))
        try:
            return cast(date, self.fields["day"].clean(self.data.get(self.add_prefix("day"))))
        except ValidationError:
            return None

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        if not self.slots:
            raise ValidationError(
                gettext("There is no free time that day; pick another day."), code="no_slots"
            )
        return day

    def new_start(self) -> datetime:
        chosen = time.fromisoformat(self.cleaned_data["time"])
        return local_datetime(self.cleaned_data["day"], chosen, clinic_tz())


class CancelSessionForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why is it cancelled?"), max_length=200)


class CompleteSessionForm(forms.Form):
    reactions = forms.MultipleChoiceField(
        label=gettext_lazy("Reactions seen"),
        choices=Reaction.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reaction_notes = forms.CharField(
        label=gettext_lazy("Notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SessionChangeForm(forms.Form):
    """A patient asking to move one of their sessions to an offered time, or to cancel it. The
    offered times are drawn by the page as radio buttons; whether a time may be asked for is
    the request service's decision (``scheduling.requests.session_request_create``)."""

    kind = forms.ChoiceField(choices=RequestKind.choices, widget=forms.HiddenInput)
    wanted_start = forms.CharField(label=gettext_lazy("New time"), required=False)
    note = forms.CharField(
        label=gettext_lazy("Note for the clinic (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_wanted_start(self) -> datetime | None:
        raw = self.cleaned_data["wanted_start"].strip()
        if not raw:
            return None
        try:
            local = datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError(
                gettext("Choose one of the times offered."), code="invalid"
            ) from None
        if local.tzinfo is not None:
            raise ValidationError(gettext("Choose one of the times offered."), code="invalid")
        return local_datetime(local.date(), local.time(), clinic_tz())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        moving = data.get("kind") == RequestKind.MOVE
        if moving and "wanted_start" in data and data["wanted_start"] is None:
            self.add_error("wanted_start", gettext("Choose a new time."))
        return data

    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class RequestAnswerForm(forms.Form):
    """Staff answering a patient's request: a message for the patient (required to decline)."""

    message = forms.CharField(
        label=gettext_lazy("Message to the patient"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)
