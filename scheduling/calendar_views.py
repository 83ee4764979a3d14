"""The staff calendar page: a day with a column per practitioner (or room), or a week of one
practitioner (or room), as a grid.

Thin: reads the query string, loads through ``scheduling.calendar_selectors``, draws with
``scheduling.calendar``. Navigation is plain links and GET forms; htmx swaps only the
``grid`` partial. Access is decided where the URLs are mounted (clinic/urls.py).

Query string: ``day`` (ISO date, default today), ``view`` (``day`` or ``week``), ``by``
(``practitioner`` or ``room``), ``practitioner`` / ``room`` (whose week), ``cancelled=1`` (draw
cancelled sessions). A value that cannot be used falls back to the default, with a notice that
says so: a mistyped link still opens a calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, QueryDict
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext

from clinic.formatting import local_day
from clinic.htmx import HtmxHttpRequest, render_page_or_partial
from clinic.page_cache import cached_page
from scheduling.calendar import (
    ColumnSpec,
    build_grid,
    practitioner_day_columns,
    room_day_columns,
    week_columns,
    week_days,
)
from scheduling.calendar_selectors import (
    CalendarResources,
    CalendarSources,
    calendar_resources,
    calendar_sources,
)

View = Literal["day", "week"]
By = Literal["practitioner", "room"]
# Days far outside any clinic's calendar (and near the ends of `date`) are refused.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 1, 1)


@dataclass(frozen=True)
class CalendarQuery:
    """What the calendar shows, read from and written back to the query string."""

    day: date
    view: View = "day"
    by: By = "practitioner"
    practitioner_id: int | None = None
    room_id: int | None = None
    cancelled: bool = False

    @property
    def days(self) -> list[date]:
        if self.view == "day":
            return [self.day]
        # The week as the reader's language counts it (Monday in English, Sunday in Korean).
        first = (int(formats.get_format("FIRST_DAY_OF_WEEK")) - 1) % 7
        return week_days(self.day, first)

    def url(self, **changes: Any) -> str:
        """This page's address with some choices changed, e.g. ``url(view="week")``."""
        query = replace(self, **changes)
        params: dict[str, str] = {"day": query.day.isoformat(), "view": query.view, "by": query.by}
        if query.by == "practitioner" and query.practitioner_id is not None:
            params["practitioner"] = str(query.practitioner_id)
        if query.by == "room" and query.room_id is not None:
            params["room"] = str(query.room_id)
        if query.cancelled:
            params["cancelled"] = "1"
        return f"{reverse('staff:calendar')}?{urlencode(params)}"


def read_query(
    params: QueryDict, *, resources: CalendarResources, today: date
) -> tuple[CalendarQuery, list[str]]:
    """The query, and a notice for each value that could not be used."""
    notices: list[str] = []
    day = today
    if raw := params.get("day", ""):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            notices.append(gettext("“%(value)s” is not a date: showing today.") % {"value": raw})
        else:
            if not FIRST_DAY <= day <= LAST_DAY:
                notices.append(
                    gettext("“%(value)s” is out of range: showing today.") % {"value": raw}
                )
                day = today
    view: View = "day"
    match params.get("view", ""):
        case "day" | "":
            pass
        case "week":
            view = "week"
        case other:
            notices.append(
                gettext("There is no “%(value)s” view: showing one day.") % {"value": other}
            )
    # `?practitioner=3` alone means that practitioner; `?room=2` alone, that room.
    by: By = "room" if "room" in params and "practitioner" not in params else "practitioner"
    match params.get("by", ""):
        case "":
            pass
        case "practitioner" | "room" as chosen:
            by = chosen
        case other:
            notices.append(
                gettext("Columns are by practitioner or by room, not “%(value)s”.")
                % {"value": other}
            )
    if by == "room" and not resources.rooms:
        notices.append(gettext("No rooms are set up yet: showing practitioners."))
        by = "practitioner"
    query = CalendarQuery(
        day=day, view=view, by=by, cancelled=params.get("cancelled", "") in ("1", "on", "true")
    )
    return _with_whose(query, params, resources, notices), notices


def _with_whose(
    query: CalendarQuery, params: QueryDict, resources: CalendarResources, notices: list[str]
) -> CalendarQuery:
    """The query with the practitioner or room asked for when it exists; in the week view
    (which needs one) otherwise the first taking bookings, with a notice when one was asked
    for. A day view only keeps it for the way back to that week."""
    raw = params.get(query.by, "")
    if query.by == "practitioner":
        names = {p.pk: p.display_name for p in resources.practitioners}
        usual = [p.pk for p in resources.practitioners if p.is_active]
        missing = gettext("There is no practitioner “%(value)s”: showing %(name)s.")
    else:
        names = {r.pk: r.name for r in resources.rooms}
        usual = [r.pk for r in resources.rooms if r.is_active]
        missing = gettext("There is no room “%(value)s”: showing %(name)s.")
    fallback = next(iter(usual or names), None)
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    chosen = number if number in names else None
    if chosen is None and query.view == "week":
        chosen = fallback
        if raw and fallback is not None:
            notices.append(missing % {"value": raw, "name": names[fallback]})
    if query.by == "practitioner":
        return replace(query, practitioner_id=chosen)
    return replace(query, room_id=chosen)


@cached_page
def calendar(request: HtmxHttpRequest) -> HttpResponse:
    today = local_day(timezone.now())
    resources = calendar_resources()
    query, notices = read_query(request.GET, resources=resources, today=today)
    days = query.days
    week = query.view == "week"
    sources = calendar_sources(
        user=request.user,
        first_day=days[0],
        last_day=days[-1],
        practitioner_id=query.practitioner_id if week and query.by == "practitioner" else None,
        room_id=query.room_id if week and query.by == "room" else None,
    )
    columns = _columns(query, resources, sources)
    grid = build_grid(
        columns=columns,
        sessions=sources.sessions,
        slot=timedelta(minutes=settings.CLINIC_SLOT_MINUTES),
        today=today,
        show_cancelled=query.cancelled,
    )
    step = timedelta(days=7 if week else 1)
    context = {
        "section": "calendar",
        "query": query,
        "day": query.day,
        "first_day": days[0],
        "last_day": days[-1],
        "shows_today": days[0] <= today <= days[-1],
        "grid": grid,
        "notices": notices,
        "practitioners": resources.practitioners,
        "rooms": resources.rooms,
        "selected": _selected_name(query, resources),
        "urls": {
            "self": query.url(),
            "previous": query.url(day=query.day - step),
            "next": query.url(day=query.day + step),
            "today": query.url(day=today),
            "day_view": query.url(view="day"),
            "week_view": query.url(view="week"),
            "by_practitioner": query.url(by="practitioner"),
            "by_room": query.url(by="room"),
            "cancelled": query.url(cancelled=not query.cancelled),
        },
    }
    return render_page_or_partial(request, "scheduling/calendar.html", "grid", context)


def _columns(
    query: CalendarQuery, resources: CalendarResources, sources: CalendarSources
) -> list[ColumnSpec]:
    """The columns to draw, each header linking to the other view: a practitioner's or room's
    week from the day, a day from the week."""
    if query.view == "week":
        if query.practitioner_id is not None:
            calendar = sources.calendar_for(query.practitioner_id)
        elif query.room_id is not None:
            calendar = sources.clinic
        else:
            return []  # nobody to show a week of
        columns = week_columns(
            days=query.days,
            calendar=calendar,
            practitioner_id=query.practitioner_id,
            room_id=query.room_id,
        )
        return [replace(c, link=query.url(view="day", day=c.day)) for c in columns]
    if query.by == "practitioner":
        columns = practitioner_day_columns(
            day=query.day,
            practitioners=resources.practitioners,
            sessions=sources.sessions,
            calendars=sources.practitioners,
            clinic=sources.clinic,
        )
        return [
            replace(c, link=query.url(view="week", practitioner_id=c.practitioner_id))
            for c in columns
        ]
    columns = room_day_columns(
        day=query.day, rooms=resources.rooms, sessions=sources.sessions, clinic=sources.clinic
    )
    return [
        replace(c, link=query.url(view="week", room_id=c.room_id) if c.room_id else "")
        for c in columns
    ]


def _selected_name(query: CalendarQuery, resources: CalendarResources) -> str:
    if query.view != "week":
        return ""
    if query.by == "practitioner":
        names = {p.pk: p.display_name for p in resources.practitioners}
        return names.get(query.practitioner_id or 0, "")
    return {r.pk: r.name for r in resources.rooms}.get(query.room_id or 0, "")
