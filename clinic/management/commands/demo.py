from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clinic.demo import demo_data_create


class Command(BaseCommand):
    help = "Create demo accounts (admin, practitioner, two patients) and print their passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo accounts are for local use only; refusing with DEBUG off.")
        accounts = demo_data_create()
        self.stdout.write(self.style.SUCCESS("Demo accounts (log in at http://127.0.0.1:8000/):"))
        for account in accounts:
            self.stdout.write(
                f"  {account.role:<20} {account.username:<8} password: {account.password:<18}"
                f" ({account.name})"
            )
