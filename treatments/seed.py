"""Load the starting catalogue. Safe to run any number of times.

Only missing rows are created, and a treatment's concerns, contraindications and protocols are
only attached when the treatment itself is created: an admin's later edits are never undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from treatments.catalogue_data import CONCERNS, CONTRAINDICATIONS, TREATMENTS
from treatments.models import (
    Contraindication,
    Indication,
    ProtocolMilestone,
    ProtocolTemplate,
    SkinConcern,
    Treatment,
)


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.created)


@transaction.atomic
def catalogue_seed() -> SeedReport:
    report = SeedReport()
    concerns = {row["slug"]: _get_or_create(SkinConcern, row, report) for row in CONCERNS}
    contraindications = {
        row["slug"]: _get_or_create(Contraindication, row, report) for row in CONTRAINDICATIONS
    }
    for row in TREATMENTS:
        data = dict(row)
        indications: dict[str, int] = data.pop("indications")
        contraindication_slugs: list[str] = data.pop("contraindications")
        protocols: list[dict[str, Any]] = data.pop("protocols")
        if Treatment.objects.filter(slug=data["slug"]).exists():
            continue
        treatment = Treatment.objects.create(**data)
        report.created.append(f"treatment {treatment.slug}")
        Indication.objects.bulk_create(
            Indication(treatment=treatment, concern=concerns[slug], strength=strength)
            for slug, strength in indications.items()
        )
        treatment.contraindications.set([contraindications[s] for s in contraindication_slugs])
        for protocol in protocols:
            protocol = dict(protocol)
            milestones = protocol.pop("milestones")
            template = ProtocolTemplate.objects.create(treatment=treatment, **protocol)
            ProtocolMilestone.objects.bulk_create(
                ProtocolMilestone(template=template, **milestone) for milestone in milestones
            )
    return report


def _get_or_create(
    model: type[SkinConcern] | type[Contraindication], row: dict[str, str], report: SeedReport
) -> Any:
    defaults = {key: value for key, value in row.items() if key != "slug"}
    instance, created = model.objects.get_or_create(slug=row["slug"], defaults=defaults)
    if created:
        report.created.append(f"{model._meta.model_name} {instance.slug}")
    return instance
