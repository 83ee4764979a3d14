"""Who last put a failed reminder back in the queue, and when."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0006_working_pattern"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="reminder",
            name="retried_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="last retried by staff at"
            ),
        ),
        migrations.AddField(
            model_name="reminder",
            name="retried_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="last retried by",
            ),
        ),
    ]
