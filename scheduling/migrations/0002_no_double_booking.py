"""No practitioner and no room can hold two overlapping sessions that still take up time.

PostgreSQL only (see scheduling/db.py); ``[)`` ranges let back-to-back sessions touch.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations
from django.db.models import Q

from scheduling.db import AddConstraintOnPostgres, TsTzRange


def _no_overlap(column: str) -> ExclusionConstraint:
    return ExclusionConstraint(
        name=f"session_no_{column}_overlap",
        expressions=[
            (column, RangeOperators.EQUAL),
            (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
        ],
        condition=~Q(status="cancelled"),
    )


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        AddConstraintOnPostgres(model_name="session", constraint=_no_overlap("practitioner")),
        AddConstraintOnPostgres(model_name="session", constraint=_no_overlap("room")),
    ]
