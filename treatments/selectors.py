"""The treatment catalogue as bookings and pages read it: kept between requests while it is
unchanged (clinic/data_version.py, ``Area.CATALOGUE``), so a course's protocol costs no join."""

from __future__ import annotations

from clinic.data_version import Area
from clinic.page_cache import kept_value
from treatments.models import ProtocolTemplate


def protocol_templates() -> dict[int, ProtocolTemplate]:
    """Every protocol template by id (retired ones too: old courses keep theirs), with its
    treatment and milestones (2 queries, none while the catalogue is unchanged). Each call
    gets its own copy (the cache keeps values pickled)."""
    return kept_value(
        "protocol-templates",
        lambda: {
            template.pk: template
            for template in ProtocolTemplate.objects.select_related("treatment").prefetch_related(
                "milestones"
            )
        },
        area=Area.CATALOGUE,
    )
