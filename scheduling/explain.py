"""Why a session cannot be placed, in words, in the reader's language.

The planner returns the facts (:class:`scheduling.planner.NoFit`); this module is the one place
that turns them into sentences, so the API, the pages and the worker's notes say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.utils import formats
from django.utils.translation import gettext, ngettext

from clinic.formatting import format_day, format_time, format_when
from scheduling.planner import EXACT_TIME, Interval, NoFit, Obstacle


def _weekday_names(weekdays: Sequence[int]) -> str:
    names = [
        gettext("Mondays"),
        gettext("Tuesdays"),
        gettext("Wednesdays"),
        gettext("Thursdays"),
        gettext("Fridays"),
        gettext("Saturdays"),
        gettext("Sundays"),
    ]
    return gettext(", ").join(names[day] for day in weekdays)


def _closed_ranges(closed_days: Sequence[tuple[date, str]]) -> str:
    """ "Thu 12 Mar 2026 to Thu 19 Mar 2026 (renovation)" from day-by-day closures."""
    runs: list[tuple[date, date, str]] = []
    for day, reason in closed_days:
        if runs and runs[-1][2] == reason and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day, reason)
        else:
            runs.append((day, day, reason))
    texts = []
    for first, last, reason in runs:
        if first == last:
            text = format_day(first)
        else:
            text = gettext("%(first)s to %(last)s") % {
                "first": format_day(first),
                "last": format_day(last),
            }
        texts.append(f"{text} ({reason})" if reason else text)
    return gettext(", ").join(texts)


def _time_ranges(intervals: Sequence[Interval]) -> str:
    texts = []
    for interval in intervals:
        text = gettext("from %(start)s to %(end)s") % {
            "start": format_when(interval.start),
            "end": format_when(interval.end),
        }
        texts.append(f"{text} ({interval.label})" if interval.label else text)
    return gettext(", ").join(texts)


def explain_obstacle(no_fit: NoFit) -> str:
    """The specific rule that stops the session going where it was asked for; empty when the
    window is simply full or closed (its own facts say why)."""
    cause = no_fit.cause
    if cause == Obstacle.WINDOW and no_fit.interval_days and no_fit.previous_day:
        low, high = no_fit.interval_days
        return gettext("it must be %(low)s–%(high)s days after session %(previous)s (%(day)s)") % {
            "low": low,
            "high": high,
            "previous": no_fit.previous_sequence,
            "day": format_day(no_fit.previous_day),
        }
    if cause == Obstacle.CLOSED:
        if no_fit.closed_days or no_fit.days_without_hours:
            return ""  # a closed day is explained by the window's facts
        return gettext("that time is outside opening hours")
    if cause == Obstacle.OFF_GRID:
        return gettext(
            "sessions start every %(minutes)s minutes from opening time, and %(time)s is not "
            "one of them"
        ) % {"minutes": no_fit.step_minutes, "time": format_time(no_fit.preferred_at)}
    if cause == Obstacle.NOT_WORKING:
        return gettext("the practitioner does not work then")
    if cause == Obstacle.ON_LEAVE:
        labels = [
            i.label
            for i in no_fit.leave
            if i.label
            and i.overlaps(no_fit.preferred_at, no_fit.preferred_at + timedelta(minutes=1))
        ]
        if labels:
            return gettext("the practitioner is on leave then (%(reason)s)") % {"reason": labels[0]}
        return gettext("the practitioner is on leave then")
    if cause == Obstacle.BOOKED:
        return gettext("the practitioner or room is already booked then")
    if cause == Obstacle.PATIENT_BUSY:
        return gettext("the patient has another session then")
    if cause == Obstacle.TAKEN_PLACE:
        return gettext("session %(number)s has already taken place") % {"number": no_fit.sequence}
    return ""


def explain_no_fit(no_fit: NoFit) -> str:
    """One sentence: which session, when or in which window, and what was in the way."""
    if no_fit.cause in EXACT_TIME:
        # The day and time on the calendar the planner was given (the clinic's own, in use).
        when = gettext("%(day)s, %(time)s") % {
            "day": format_day(no_fit.window_first_day),
            "time": formats.date_format(no_fit.preferred_at, "TIME_FORMAT"),
        }
        headline = gettext("Session %(number)s cannot be placed at %(when)s") % {
            "number": no_fit.sequence,
            "when": when,
        }
    elif no_fit.window_first_day == no_fit.window_last_day:
        headline = gettext("Session %(number)s cannot be placed on %(day)s") % {
            "number": no_fit.sequence,
            "day": format_day(no_fit.window_first_day),
        }
    else:
        headline = gettext("Session %(number)s cannot be placed between %(first)s and %(last)s") % {
            "number": no_fit.sequence,
            "first": format_day(no_fit.window_first_day),
            "last": format_day(no_fit.window_last_day),
        }
    parts = [headline]
    obstacle = explain_obstacle(no_fit)
    if obstacle:
        parts.append(obstacle)
    if no_fit.closed_days:
        parts.append(
            gettext("the clinic is closed on %(days)s")
            % {"days": _closed_ranges(no_fit.closed_days)}
        )
    if not obstacle:  # with a specific obstacle, weekly hours and booking counts are noise
        if no_fit.days_without_hours:
            weekdays = sorted({day.weekday() for day in no_fit.days_without_hours})
            parts.append(
                gettext("the clinic does not open on %(weekdays)s")
                % {"weekdays": _weekday_names(weekdays)}
            )
        if no_fit.days_not_working:
            weekdays = sorted({day.weekday() for day in no_fit.days_not_working})
            parts.append(
                gettext("the practitioner does not work on %(weekdays)s")
                % {"weekdays": _weekday_names(weekdays)}
            )
        if no_fit.leave:
            parts.append(
                gettext("the practitioner is on leave %(times)s")
                % {"times": _time_ranges(no_fit.leave)}
            )
        if no_fit.busy:
            parts.append(
                ngettext(
                    "%(count)d booking takes up the hours it is open",
                    "%(count)d bookings take up the hours it is open",
                    len(no_fit.busy),
                )
                % {"count": len(no_fit.busy)}
            )
        if no_fit.patient_busy:
            parts.append(
                ngettext(
                    "the patient has %(count)d other session then",
                    "the patient has %(count)d other sessions then",
                    len(no_fit.patient_busy),
                )
                % {"count": len(no_fit.patient_busy)}
            )
    return gettext("; ").join(parts) + gettext(".")
