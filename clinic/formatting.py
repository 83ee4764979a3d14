"""Dates and times as people read them: in the clinic's zone, in the reader's language.

The formats live in ``clinic/formats/<language>/formats.py``; with no language given, the active
one (the request's, or the one a message is being written in) is used.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, translation


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    """The clinic's calendar day an instant falls on."""
    return moment.astimezone(clinic_zone()).date()


def _in(language: str | None, format_name: str, value: date | datetime) -> str:
    if language is None:
        return formats.date_format(value, format_name)
    with translation.override(language):
        return formats.date_format(value, format_name)


def format_when(moment: datetime, language: str | None = None) -> str:
    """ "Tue 15 Dec 2026, 10:00" / "2026년 12월 15일 (화) 오전 10:00"."""
    return _in(language, "DATETIME_FORMAT", moment.astimezone(clinic_zone()))


def format_day(day: date, language: str | None = None) -> str:
    """ "Tue 15 Dec 2026" / "2026년 12월 15일 (화)"."""
    return _in(language, "DATE_FORMAT", day)


def format_time(moment: datetime, language: str | None = None) -> str:
    """ "10:00" / "오전 10:00", on the clinic's clock."""
    return _in(language, "TIME_FORMAT", moment.astimezone(clinic_zone()))
