"""A patient cannot be in two overlapping sessions that still take up time (two practitioners
at once), like a practitioner or a room (0002). PostgreSQL only (see scheduling/db.py); ``[)``
ranges let back-to-back sessions touch."""

import django.db.models.deletion
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.db import migrations, models
from django.db.models import Q

from scheduling.db import AddConstraintOnPostgres, TsTzRange


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_explicit_limits"),
        ("scheduling", "0008_session_patient"),
    ]

    operations = [
        migrations.AlterField(
            model_name="session",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sessions",
                to="patients.patient",
            ),
        ),
        # The services' overlap check and the reads of a patient's sessions.
        migrations.AddIndex(
            model_name="session",
            index=models.Index(fields=["patient", "starts_at"], name="session_patient_idx"),
        ),
        AddConstraintOnPostgres(
            model_name="session",
            constraint=ExclusionConstraint(
                name="session_no_patient_overlap",
                expressions=[
                    ("patient", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=~Q(status="cancelled"),
            ),
        ),
    ]
