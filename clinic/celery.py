"""The Celery application shared by the web process, the worker and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

# Every task records its changes as the worker's (clinic.history).
app = Celery("clinic", task_cls="clinic.history:WorkerTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
