"""Sessions carry their plan's patient, so the database can refuse a patient's overlapping
sessions (0009). Existing sessions and their history rows are filled from their plans.

The column becomes required in the next migration: on PostgreSQL a table with pending
foreign-key trigger events from this update cannot be altered in the same transaction.
"""

import django.db.models.deletion
from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import OuterRef, Subquery


def fill_patient(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    plans = apps.get_model("scheduling", "TreatmentPlan")
    patient_of_plan = Subquery(
        plans.objects.filter(pk=OuterRef("plan_id")).values("patient_id")[:1]
    )
    for name in ("Session", "HistoricalSession"):
        model = apps.get_model("scheduling", name)
        model.objects.filter(patient__isnull=True).update(patient_id=patient_of_plan)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_explicit_limits"),
        ("scheduling", "0007_reminder_retry"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalsession",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="session",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sessions",
                to="patients.patient",
            ),
        ),
        migrations.RunPython(fill_patient, migrations.RunPython.noop, elidable=False),
    ]
