from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clinic.demo import demo_data_create


class Command(BaseCommand):
    help = (
        "Create the demo clinic (staff, patients, courses at every stage) once, reset the demo "
        "passwords, and print them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo accounts are for local use only; refusing with DEBUG off.")
        summary = demo_data_create()
        self.stdout.write(self.style.SUCCESS("Demo accounts (log in at http://127.0.0.1:8000/):"))
        for account in summary.accounts:
            self.stdout.write(
                f"  {account.role:<20} {account.username:<10} password: {account.password:<18}"
                f" ({account.name})"
            )
        state = "created" if summary.created else "already set up; passwords reset"
        self.stdout.write(
            f"Demo clinic {state}: {summary.patients} patients, {summary.courses} courses, "
            f"{summary.sessions} sessions ({summary.sessions_today} today)."
        )
