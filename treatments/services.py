"""Changes to the catalogue made through the API (the admin edits the same rows directly)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from treatments.models import Contraindication, Indication, SkinConcern, Treatment


@transaction.atomic
def treatment_save(
    *,
    fields: Mapping[str, Any],
    changed_by: User,
    treatment: Treatment | None = None,
    indications: Iterable[tuple[SkinConcern, int]] | None = None,
    contraindications: Iterable[Contraindication] | None = None,
) -> Treatment:
    """Create or update a treatment. Given indications and contraindications replace the
    current ones; omitted ones are left as they are."""
    treatment = treatment or Treatment()
    for name, value in fields.items():
        setattr(treatment, name, value)
    treatment.full_clean(exclude=["concerns", "contraindications"])
    treatment._history_user = changed_by  # type: ignore[attr-defined]
    treatment.save()
    if indications is not None:
        for old in treatment.indications.all():
            old._history_user = changed_by  # type: ignore[attr-defined]
            old.delete()
        bulk_create_with_history(
            [
                Indication(treatment=treatment, concern=concern, strength=strength)
                for concern, strength in indications
            ],
            Indication,
            default_user=changed_by,
        )
    if contraindications is not None:
        treatment.contraindications.set(list(contraindications))
    return treatment
