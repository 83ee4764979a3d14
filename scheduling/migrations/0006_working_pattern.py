"""Practitioners' own working hours and leave, with history."""

import datetime

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0005_explicit_limits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalLeave",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                ("starts_on", models.DateField(verbose_name="first day")),
                ("ends_on", models.DateField(verbose_name="last day")),
                (
                    "start_time",
                    models.TimeField(
                        blank=True,
                        help_text="Empty: from the start of the first day.",
                        null=True,
                        verbose_name="from",
                    ),
                ),
                (
                    "end_time",
                    models.TimeField(
                        blank=True,
                        help_text="Empty: to the end of the last day.",
                        null=True,
                        verbose_name="until",
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=120, verbose_name="reason")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
            ],
            options={
                "verbose_name": "historical leave",
                "verbose_name_plural": "historical leave",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalWorkingHours",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ],
                        validators=[django.core.validators.MaxValueValidator(6)],
                        verbose_name="weekday",
                    ),
                ),
                ("start_time", models.TimeField(verbose_name="from")),
                ("end_time", models.TimeField(verbose_name="until")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
            ],
            options={
                "verbose_name": "historical working hours",
                "verbose_name_plural": "historical working hours",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="Leave",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("starts_on", models.DateField(verbose_name="first day")),
                ("ends_on", models.DateField(verbose_name="last day")),
                (
                    "start_time",
                    models.TimeField(
                        blank=True,
                        help_text="Empty: from the start of the first day.",
                        null=True,
                        verbose_name="from",
                    ),
                ),
                (
                    "end_time",
                    models.TimeField(
                        blank=True,
                        help_text="Empty: to the end of the last day.",
                        null=True,
                        verbose_name="until",
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=120, verbose_name="reason")),
            ],
            options={
                "verbose_name": "leave",
                "verbose_name_plural": "leave",
                "ordering": ["starts_on", "start_time", "pk"],
            },
        ),
        migrations.CreateModel(
            name="WorkingHours",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ],
                        validators=[django.core.validators.MaxValueValidator(6)],
                        verbose_name="weekday",
                    ),
                ),
                ("start_time", models.TimeField(verbose_name="from")),
                ("end_time", models.TimeField(verbose_name="until")),
            ],
            options={
                "verbose_name": "working hours",
                "verbose_name_plural": "working hours",
                "ordering": ["practitioner", "weekday", "start_time"],
            },
        ),
        migrations.AddField(
            model_name="historicalleave",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalleave",
            name="practitioner",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="scheduling.practitioner",
            ),
        ),
        migrations.AddField(
            model_name="historicalworkinghours",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalworkinghours",
            name="practitioner",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="scheduling.practitioner",
            ),
        ),
        migrations.AddField(
            model_name="leave",
            name="practitioner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="leave",
                to="scheduling.practitioner",
            ),
        ),
        migrations.AddField(
            model_name="workinghours",
            name="practitioner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="working_hours",
                to="scheduling.practitioner",
            ),
        ),
        migrations.AddIndex(
            model_name="leave",
            index=models.Index(fields=["practitioner", "ends_on"], name="leave_practitioner_idx"),
        ),
        migrations.AddConstraint(
            model_name="leave",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_on__gte", models.F("starts_on"))),
                name="leave_ends_after_start",
                violation_error_message="The last day of leave cannot be before the first.",
            ),
        ),
        migrations.AddConstraint(
            model_name="leave",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ends_on__gt", models.F("starts_on")),
                    ("end_time__isnull", True),
                    models.Q(("end_time__gt", datetime.time(0, 0)), ("start_time__isnull", True)),
                    models.Q(
                        ("end_time__gt", models.F("start_time")), ("start_time__isnull", False)
                    ),
                    _connector="OR",
                ),
                name="leave_same_day_ends_after_start",
                violation_error_message="Leave on a single day must end after it starts.",
            ),
        ),
        migrations.AddConstraint(
            model_name="workinghours",
            constraint=models.CheckConstraint(
                condition=models.Q(("end_time__gt", models.F("start_time"))),
                name="working_hours_end_after_start",
                violation_error_message="A working period must end after it starts.",
            ),
        ),
        migrations.AddConstraint(
            model_name="workinghours",
            constraint=models.CheckConstraint(
                condition=models.Q(("weekday__gte", 0), ("weekday__lte", 6)),
                name="working_hours_valid_weekday",
            ),
        ),
        migrations.AddConstraint(
            model_name="workinghours",
            constraint=models.UniqueConstraint(
                fields=("practitioner", "weekday", "start_time"),
                name="working_hours_unique_start",
                violation_error_message="That weekday already has a period starting then.",
            ),
        ),
    ]
