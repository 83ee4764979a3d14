"""Catalogue text in the clinic's two languages.

Catalogue models keep English in the plain field (``name``) and Korean beside it (``name_ko``).
Reading goes through :func:`localized` so a missing translation falls back to English instead of
showing an empty string to a patient.
"""

from __future__ import annotations

from django.db import models
from django.utils import translation


def localized(instance: models.Model, field: str, language: str | None = None) -> str:
    language = (language or translation.get_language() or "en").split("-")[0]
    if language != "en":
        translated = getattr(instance, f"{field}_{language}", "")
        if translated:
            return str(translated)
    return str(getattr(instance, field))
