from typing import Any

from django.core.management.base import BaseCommand

from clinic.roles import roles_sync
from scheduling.seed import clinic_defaults_seed
from treatments.seed import catalogue_seed


class Command(BaseCommand):
    help = "Create the roles, the starting treatment catalogue and clinic defaults. Safe to re-run."

    def handle(self, *args: Any, **options: Any) -> None:
        created = [*roles_sync(), *catalogue_seed().created, *clinic_defaults_seed()]
        if created:
            self.stdout.write(self.style.SUCCESS(f"Seeded {len(created)} items:"))
            for item in created:
                self.stdout.write(f"  + {item}")
        else:
            self.stdout.write("Catalogue and clinic defaults already present; nothing to do.")
