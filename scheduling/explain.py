"""Why a session cannot be placed, in words, in the reader's language.

The planner returns the facts (:class:`scheduling.planner.NoFit`); this module is the one place
that turns them into sentences, so the API, the pages and the worker's notes say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.utils.translation import gettext, ngettext

from clinic.formatting import format_day
from scheduling.planner import NoFit, Obstacle


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


def explain_obstacle(no_fit: NoFit) -> str:
    """The specific reason a session cannot go where it was asked for; empty when the window
    is simply full or closed."""
    if no_fit.obstacle == Obstacle.OUTSIDE_WINDOW and no_fit.interval_days and no_fit.previous_day:
        low, high = no_fit.interval_days
        return gettext("it must be %(low)s–%(high)s days after session %(previous)s (%(day)s)") % {
            "low": low,
            "high": high,
            "previous": no_fit.previous_sequence,
            "day": format_day(no_fit.previous_day),
        }
    if no_fit.obstacle == Obstacle.CLOSED_TIME:
        return gettext("that time is outside opening hours or on a closed day")
    if no_fit.obstacle == Obstacle.TAKEN:
        return gettext("the practitioner or room is already booked then")
    if no_fit.obstacle == Obstacle.ALREADY_TOOK_PLACE:
        return gettext("session %(number)s has already taken place") % {"number": no_fit.sequence}
    return ""


def explain_no_fit(no_fit: NoFit) -> str:
    """One sentence: which session, in which window, and what was in the way."""
    if no_fit.window_first_day == no_fit.window_last_day:
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
        if no_fit.busy:
            parts.append(
                ngettext(
                    "%(count)d booking takes up the hours it is open",
                    "%(count)d bookings take up the hours it is open",
                    len(no_fit.busy),
                )
                % {"count": len(no_fit.busy)}
            )
    return gettext("; ").join(parts) + gettext(".")
