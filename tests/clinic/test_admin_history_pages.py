"""The admin's history pages answer for every model it lists, whether or not the model keeps a
change history of its own (a reminder once answered 500)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from scheduling.models import Reminder, ReminderChannel, ReminderKind
from tests.factories import TreatmentPlanFactory

pytestmark = pytest.mark.django_db


def test_the_history_page_of_a_reminder_answers(clinic_admin: User) -> None:
    reminder = Reminder.objects.create(
        plan=TreatmentPlanFactory(),
        kind=ReminderKind.MAINTENANCE_DUE,
        channel=ReminderChannel.EMAIL,
        due_at=timezone.now(),
    )
    client = Client()
    client.force_login(clinic_admin)

    response = client.get(f"/admin/scheduling/reminder/{reminder.pk}/history/")

    assert response.status_code == 200
    assert "This object doesn’t have a change history." in response.text


def test_every_admin_offering_simple_history_has_a_model_that_keeps_it() -> None:
    without = [
        model.__name__
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, SimpleHistoryAdmin) and not hasattr(model, "history")
    ]

    assert without == []
