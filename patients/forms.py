"""The staff form for a patient's record: details, skin concerns, medical flags and consents.

Four parts submitted together; the rules (unique contact details, one concern per area, flags
resolved rather than deleted) are the patient service's, and its errors are shown on the part
they name (:meth:`PatientRecordForm.add_service_error`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.utils import ErrorList
from django.utils.translation import gettext, gettext_lazy

from patients.models import FaceArea, Patient, Severity
from patients.services import GENERAL_CONSENTS
from treatments.models import Contraindication, SkinConcern

PATIENT_FIELDS = [
    "family_name",
    "given_name",
    "date_of_birth",
    "phone",
    "email",
    "preferred_language",
    "reminder_channel",
    "notes",
]
NEW_CONCERN_ROWS = 3  # blank rows for a new patient; one when editing


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["date_of_birth"].widget.attrs["max"] = today.isoformat()


class ConcernForm(forms.Form):
    """One skin concern; a blank row is left out."""

    concern = forms.TypedChoiceField(
        label=gettext_lazy("Concern"),
        coerce=int,
        error_messages={"required": gettext_lazy("Choose the concern.")},
    )
    area = forms.ChoiceField(
        label=gettext_lazy("Area"), choices=FaceArea.choices, initial=FaceArea.FULL_FACE
    )
    severity = forms.TypedChoiceField(
        label=gettext_lazy("Severity"),
        choices=Severity.choices,
        coerce=int,
        initial=Severity.MODERATE,
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, catalogue: Sequence[SkinConcern], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices from a list loaded once for every row, not a queryset per row.
        self.fields["concern"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((concern.pk, concern.display_name) for concern in catalogue),
        ]


class ConcernFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, extra: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra = extra

    def add_fields(self, form: ConcernForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = gettext("Remove")


ConcernFormSetClass = cast(
    type[ConcernFormSet],
    forms.formset_factory(
        ConcernForm,
        formset=ConcernFormSet,
        extra=NEW_CONCERN_ROWS,
        can_delete=True,
        can_delete_extra=False,  # only recorded rows can be removed; blank rows stay blank
    ),
)


@dataclass(frozen=True)
class FlagRow:
    condition: Contraindication
    checkbox: forms.BoundField
    note: forms.BoundField


class MedicalFlagsForm(forms.Form):
    """One checkbox per condition in the catalogue, with an optional note beside it."""

    def __init__(
        self,
        *args: Any,
        conditions: Sequence[Contraindication],
        notes: Mapping[int, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.conditions = list(conditions)
        for condition in self.conditions:
            self.fields[f"flag_{condition.pk}"] = forms.BooleanField(
                label=condition.display_name, required=False, initial=condition.pk in notes
            )
            self.fields[f"note_{condition.pk}"] = forms.CharField(
                label=gettext("Note about %(condition)s") % {"condition": condition.display_name},
                max_length=200,
                required=False,
                initial=notes.get(condition.pk, ""),
                widget=forms.TextInput(attrs={"placeholder": gettext("Note (optional)")}),
            )

    def rows(self) -> list[FlagRow]:
        return [
            FlagRow(condition, self[f"flag_{condition.pk}"], self[f"note_{condition.pk}"])
            for condition in self.conditions
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for condition in self.conditions:
            if cleaned.get(f"note_{condition.pk}") and not cleaned.get(f"flag_{condition.pk}"):
                self.add_error(
                    f"note_{condition.pk}",
                    ValidationError(
                        gettext("Tick the condition to keep this note."), code="note_unticked"
                    ),
                )
        return cleaned

    def flags(self) -> list[tuple[Contraindication, str]]:
        return [
            (condition, self.cleaned_data.get(f"note_{condition.pk}", "").strip())
            for condition in self.conditions
            if self.cleaned_data.get(f"flag_{condition.pk}")
        ]


class ConsentsForm(forms.Form):
    consents = forms.MultipleChoiceField(
        label=gettext_lazy("Consents given"),
        choices=[(kind.value, kind.label) for kind in GENERAL_CONSENTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


@dataclass(frozen=True)
class ErrorItem:
    """One line of the error summary: what, the message, and where to jump to fix it."""

    label: str
    message: str
    anchor: str


class PatientRecordForm:
    """The four parts of the patient form, valid only together."""

    def __init__(
        self,
        data: Mapping[str, Any] | None,
        *,
        patient: Patient | None,
        today: date,
        concerns: Sequence[SkinConcern],
        conditions: Sequence[Contraindication],
    ) -> None:
        self.patient = patient
        self.details = PatientForm(data, instance=patient, today=today)
        existing = list(patient.concerns.all()) if patient else []
        self.concerns = ConcernFormSetClass(
            data,
            prefix="concerns",
            initial=[
                {"concern": c.concern_id, "area": c.area, "severity": c.severity, "note": c.note}
                for c in existing
            ],
            extra=1 if existing else NEW_CONCERN_ROWS,
            form_kwargs={"catalogue": concerns},
        )
        self.concern_errors = ErrorList(error_class="nonform")
        self._catalogue = {concern.pk: concern for concern in concerns}
        open_flags = patient.open_flags if patient else []  # type: ignore[attr-defined]
        self.flags = MedicalFlagsForm(
            data,
            prefix="medical_flags",
            conditions=conditions,
            notes={flag.condition_id: flag.note for flag in open_flags},
        )
        given = patient.current_consents if patient else []  # type: ignore[attr-defined]
        self.consents = ConsentsForm(
            data,
            prefix="consents",
            initial={"consents": [c.kind for c in given if c.kind in GENERAL_CONSENTS]},
        )

    def is_valid(self) -> bool:
        # Every part is validated (no short-circuit), so all their errors show at once.
        valid = [
            self.details.is_valid(),
            self.concerns.is_valid(),
            self.flags.is_valid(),
            self.consents.is_valid(),
        ]
        return all(valid)

    def service_arguments(self) -> dict[str, Any]:
        """What ``patient_save`` takes, from the cleaned parts."""
        concerns = []
        for form in self.concerns.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue  # a blank extra row, or a recorded one ticked for removal
            concerns.append(
                {
                    "concern": self._catalogue[data["concern"]],
                    "area": data["area"],
                    "severity": data["severity"],
                    "note": data["note"].strip(),
                }
            )
        return {
            "fields": {name: self.details.cleaned_data[name] for name in PATIENT_FIELDS},
            "concerns": concerns,
            "flags": self.flags.flags(),
            "consents": self.consents.cleaned_data["consents"],
        }

    def add_service_error(self, error: ValidationError) -> None:
        """Show the patient service's refusal on the field or part it names."""
        by_field = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: [error]}
        for name, errors in by_field.items():
            if name == "concerns":
                self.concern_errors.extend(ValidationError(errors).messages)
            elif name == "medical_flags":
                self.flags.add_error(None, errors)
            elif name == "consents":
                self.consents.add_error("consents", errors)
            elif name in self.details.fields:
                self.details.add_error(name, errors)
            else:
                self.details.add_error(None, errors)

    def all_concern_errors(self) -> ErrorList:
        errors = ErrorList(error_class="nonform")
        if self.concerns.is_bound:
            errors.extend(self.concerns.non_form_errors())
        errors.extend(self.concern_errors)
        return errors

    def error_summary(self) -> list[ErrorItem]:
        """Every error of every part, in the order of the page, for the summary at the top."""
        items = [ErrorItem("", str(m), "") for m in self.details.non_field_errors()]
        for field in self.details:
            items += [ErrorItem(str(field.label), str(m), field.auto_id) for m in field.errors]
        concerns_label = gettext("Skin concerns")
        items += [ErrorItem(concerns_label, str(m), "concerns") for m in self.all_concern_errors()]
        if self.concerns.is_bound:
            for number, form in enumerate(self.concerns.forms, start=1):
                for field in form:
                    label = gettext("Skin concern %(number)s, %(field)s") % {
                        "number": number,
                        "field": str(field.label).lower(),
                    }
                    items += [ErrorItem(label, str(m), field.auto_id) for m in field.errors]
        flags_label = gettext("Medical flags")
        items += [
            ErrorItem(flags_label, str(m), "medical-flags") for m in self.flags.non_field_errors()
        ]
        for row in self.flags.rows():
            items += [
                ErrorItem(row.condition.display_name, str(m), row.note.auto_id)
                for m in row.note.errors
            ]
        consents = self.consents["consents"]
        items += [ErrorItem(str(consents.label), str(m), "consents") for m in consents.errors]
        return items


class PasswordForgottenForm(forms.Form):
    identifier = forms.CharField(
        label=gettext_lazy("Your username, email or phone number"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
