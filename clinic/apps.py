from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project package is also an app, home of project-wide commands (seed, demo data)."""

    name = "clinic"
    verbose_name = "Clinic"
