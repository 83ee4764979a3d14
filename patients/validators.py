"""What a clinic can mean by a patient's details: a birth date since 1900 and not after today,
a phone number that exists (kept in E.164), names without control or invisible characters, and
free text of a length someone could read. Model validators, so the API, the staff form and the
admin all refuse the same input with the same message."""

from __future__ import annotations

import functools
import unicodedata
from datetime import date

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.formatting import local_day

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
NOTES_MAX_LENGTH = 2000
# Control characters, invisible formatting (zero-width spaces and joiners, bidi overrides) and
# line or paragraph separators; an ordinary space is none of these.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def validate_birth_date(value: date) -> None:
    if not EARLIEST_BIRTH_DATE <= value <= local_day(timezone.now()):
        raise ValidationError(
            _("Enter a date of birth between 1 January 1900 and today."), code="out_of_range"
        )


def validate_visible_text(value: str) -> None:
    if any(unicodedata.category(character) in _HIDDEN_CATEGORIES for character in value):
        raise ValidationError(
            _(
                "Remove the control or invisible characters (a tab, a line break, a zero-width "
                "space)."
            ),
            code="invisible_character",
        )


notes_length = MaxLengthValidator(
    NOTES_MAX_LENGTH,
    _("Keep this to %(limit_value)d characters (it has %(show_value)d)."),
)


def phone_e164(value: str) -> str:
    """The number in E.164 ("010-1234-5678" → "+821012345678"), read in the clinic's region
    (``PHONE_REGION``) unless it starts with + and a country code. ValidationError when it
    is not a number that can exist."""
    try:
        number = phonenumbers.parse(value, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a phone number that exists, e.g. 010-1234-5678 or +82 10-1234-5678."),
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(value: str) -> None:
    phone_e164(value)


def phone_shown(value: str) -> str:
    """A stored number as people read it ("+821012345678" → "+82 10-1234-5678"); anything
    that is not a number (stored before the rule) as it was written."""
    return _phone_shown(value, settings.PHONE_REGION)


# Lists show a phone on every row, and parsing one costs about 30 µs: a search page built
# afresh spent a tenth of its time here.
@functools.lru_cache(maxsize=4096)
def _phone_shown(value: str, region: str) -> str:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
