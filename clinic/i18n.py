"""Catalogue text in the clinic's two languages.

Catalogue models keep English in the plain field (``name``) and Korean beside it (``name_ko``).
Reading goes through :func:`localized` so a missing translation falls back to English instead of
showing an empty string to a patient.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import models
from django.utils import translation


def localized(instance: models.Model, field: str, language: str | None = None) -> str:
    language = (language or translation.get_language() or "en").split("-")[0]
    if language != "en":
        translated = getattr(instance, f"{field}_{language}", "")
        if translated:
            return str(translated)
    return str(getattr(instance, field))


def other_languages() -> list[str]:
    """The languages besides English that translated fields (``name_ko``) are kept in."""
    return [code for code, _ in settings.LANGUAGES if code != "en"]


def localized_fields(field: str) -> list[str]:
    """``attention_reason`` → ["attention_reason", "attention_reason_ko"]."""
    return [field, *(f"{field}_{code}" for code in other_languages())]


def set_localized(instance: models.Model, field: str, write: Callable[[], str]) -> list[str]:
    """Write text that people read later, whoever they are, in every language: ``write`` is
    called once per language with that language active; the English text goes in ``field`` and
    each other in ``field_<code>``. Returns the fields set (for ``update_fields``)."""
    for name, code in zip(localized_fields(field), ["en", *other_languages()], strict=True):
        with translation.override(code):
            setattr(instance, name, write())
    return localized_fields(field)
