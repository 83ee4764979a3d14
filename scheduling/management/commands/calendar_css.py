from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scheduling.calendar import with_grid_css

STYLESHEET = Path(settings.BASE_DIR) / "static" / "css" / "calendar.css"


class Command(BaseCommand):
    help = (
        "Write the calendar's placement classes (rows, spans, columns, lanes) into the "
        "generated section of static/css/calendar.css."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Fail if the file is not up to date."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        current = STYLESHEET.read_text(encoding="utf-8")
        wanted = with_grid_css(current)
        if options["check"]:
            if current != wanted:
                raise CommandError(f"{STYLESHEET} is out of date: run manage.py calendar_css.")
            return
        STYLESHEET.write_text(wanted, encoding="utf-8")
        self.stdout.write(f"Wrote {STYLESHEET}.")
