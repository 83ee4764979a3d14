from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project package is also an app, home of project-wide commands (seed, demo data)."""

    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from clinic.history import fill_worker_reason

        pre_create_historical_record.connect(fill_worker_reason, dispatch_uid="worker_reason")
