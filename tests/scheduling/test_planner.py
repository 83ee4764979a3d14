"""The pure planner, by example: protocol rules and a calendar in, session times out.

No database and no clock: every test builds its calendar, bookings and rules by hand. Times are
written in the clinic's zone the way reception would say them ("Monday 10:00").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from scheduling.explain import explain_no_fit, explain_obstacle
from scheduling.planner import (
    BookedSession,
    BusySet,
    Calendar,
    Cascade,
    Closure,
    Interval,
    Move,
    NoFit,
    Obstacle,
    Proposal,
    ProtocolRules,
    SlotSearch,
    add_months,
    free_starts,
    local_datetime,
    local_day,
    maintenance_due,
    preferred_day,
    propose_course,
    reschedule_cascade,
)
from tests.timeutil import utc

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

NINE_TO_SIX = [(time(9), time(18))]
WEEKDAYS = dict.fromkeys(range(5), NINE_TO_SIX)
EVERY_DAY = dict.fromkeys(range(7), NINE_TO_SIX)
ROUND_THE_CLOCK = {weekday: [(time(0), time(23, 45))] for weekday in range(7)}


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def at(tz: ZoneInfo, day: str, clock: str = "10:00", *, fold: int = 0) -> datetime:
    """An aware local time: ``at(SEOUL, "2026-03-02", "10:00")``."""
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(date.fromisoformat(day), time(hour, minute), tzinfo=tz).replace(
        fold=fold
    )


def busy(start: datetime, length: int = 60, label: str = "") -> Interval:
    return Interval(start, start + minutes(length), label)


def absolute_length(start: datetime, end: datetime) -> timedelta:
    """End minus start in absolute time (plain subtraction in one zone is wall-clock time)."""
    return utc(end) - utc(start)


def search_for(
    tz: ZoneInfo = SEOUL,
    *,
    hours: dict[int, list[tuple[time, time]]] | None = None,
    closures: tuple[Closure, ...] = (),
    bookings: tuple[Interval, ...] = (),
    duration: int = 60,
    step: int = 15,
) -> SlotSearch:
    return SlotSearch(
        calendar=Calendar(
            tz=tz, opening_hours=WEEKDAYS if hours is None else hours, closures=closures
        ),
        busy=BusySet(bookings),
        duration=minutes(duration),
        step=minutes(step),
    )


def rules_for(
    count: int = 3,
    low: int = 7,
    preferred: int = 7,
    high: int = 7,
    maintenance: int | None = None,
) -> ProtocolRules:
    return ProtocolRules(
        session_count=count,
        interval_days_min=low,
        interval_days_preferred=preferred,
        interval_days_max=high,
        maintenance_months=maintenance,
    )


def proposal_for(rules: ProtocolRules, first_start: datetime, search: SlotSearch) -> Proposal:
    result = propose_course(rules=rules, first_start=first_start, search=search)
    assert isinstance(result, Proposal), getattr(result, "message", result)
    return result


def no_fit_for(rules: ProtocolRules, first_start: datetime, search: SlotSearch) -> NoFit:
    result = propose_course(rules=rules, first_start=first_start, search=search)
    assert isinstance(result, NoFit), result
    return result


def local_starts(proposal: Proposal, tz: ZoneInfo) -> list[str]:
    return [f"{s.starts_at.astimezone(tz):%Y-%m-%d %a %H:%M}" for s in proposal.sessions]


# --- local_datetime, local_day -----------------------------------------------------------------


def test_local_datetime_is_the_wall_clock_time_on_an_ordinary_day() -> None:
    instant = local_datetime(date(2026, 3, 2), time(10), SEOUL)

    assert instant == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert instant.tzinfo == SEOUL
    assert (instant.hour, instant.minute) == (10, 0)


def test_a_time_in_the_spring_forward_gap_in_new_york_moves_forward_to_half_past_three() -> None:
    instant = local_datetime(date(2026, 3, 8), time(2, 30), NEW_YORK)

    assert (instant.date(), instant.hour, instant.minute) == (date(2026, 3, 8), 3, 30)
    assert instant.utcoffset() == timedelta(hours=-4)
    assert instant == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_a_time_in_the_spring_forward_gap_in_berlin_moves_forward_to_half_past_three() -> None:
    instant = local_datetime(date(2026, 3, 29), time(2, 30), BERLIN)

    assert (instant.hour, instant.minute) == (3, 30)
    assert instant.utcoffset() == timedelta(hours=2)
    assert instant == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_an_ambiguous_fall_back_time_in_new_york_means_its_first_occurrence() -> None:
    instant = local_datetime(date(2026, 11, 1), time(1, 30), NEW_YORK)

    assert (instant.hour, instant.minute) == (1, 30)
    assert instant.utcoffset() == timedelta(hours=-4)
    # Compare through UTC: `==` across zones is always False for a time in the repeated hour.
    assert utc(instant) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_an_ambiguous_fall_back_time_in_berlin_means_its_first_occurrence() -> None:
    instant = local_datetime(date(2026, 10, 25), time(2, 30), BERLIN)

    assert instant.utcoffset() == timedelta(hours=2)
    assert utc(instant) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_an_ambiguous_time_flagged_as_the_second_occurrence_still_means_the_first() -> None:
    # A wall-clock time read off the second 01:30 (fold=1) is reused on a later fall-back day.
    second_half_past_one = at(NEW_YORK, "2026-11-01", "01:30", fold=1).time()

    instant = local_datetime(date(2027, 11, 7), second_half_past_one, NEW_YORK)

    assert instant.utcoffset() == timedelta(hours=-4)
    assert utc(instant) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_a_gap_time_flagged_as_a_second_occurrence_still_moves_forward() -> None:
    # 02:30 read off Berlin's repeated hour in October carries fold=1; in March's gap the policy
    # still moves it forward to 03:30, never back to 01:30.
    repeated_half_past_two = at(BERLIN, "2026-10-25", "02:30", fold=1).time()

    instant = local_datetime(date(2027, 3, 28), repeated_half_past_two, BERLIN)

    assert (instant.hour, instant.minute) == (3, 30)
    assert instant == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_seoul_has_no_gap_and_no_repeat() -> None:
    for day in (date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1)):
        for clock in (time(1, 30), time(2, 30)):
            instant = local_datetime(day, clock, SEOUL)
            assert instant.utcoffset() == timedelta(hours=9)
            assert instant.time() == clock


def test_local_day_is_the_date_on_the_clinic_wall() -> None:
    late_evening_in_new_york = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)

    assert local_day(late_evening_in_new_york, NEW_YORK) == date(2026, 3, 2)
    assert local_day(late_evening_in_new_york, SEOUL) == date(2026, 3, 3)


# --- Calendar months ---------------------------------------------------------------------------


def test_six_months_after_31_august_is_the_last_day_of_february() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_six_months_after_31_august_before_a_leap_year_is_29_february() -> None:
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
    ],
)
def test_add_months_counts_calendar_months_and_clamps_to_the_months_end(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


def test_maintenance_is_due_calendar_months_after_the_last_session_day() -> None:
    assert maintenance_due(date(2026, 8, 31), rules_for(maintenance=6)) == date(2027, 2, 28)
    assert maintenance_due(date(2026, 8, 31), rules_for(maintenance=None)) is None


# --- Protocol rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"session_count": 0}, "at least one session"),
        ({"interval_days_min": 0, "interval_days_preferred": 0}, "Intervals must satisfy"),
        ({"interval_days_min": 8}, "Intervals must satisfy"),
        ({"interval_days_preferred": 15}, "Intervals must satisfy"),
        ({"interval_days_max": 6}, "Intervals must satisfy"),
        ({"maintenance_months": 0}, "at least one month"),
    ],
)
def test_impossible_protocol_rules_are_refused(values: dict[str, int], message: str) -> None:
    base = {
        "session_count": 3,
        "interval_days_min": 7,
        "interval_days_preferred": 7,
        "interval_days_max": 14,
    }
    with pytest.raises(ValueError, match=message):
        ProtocolRules(**{**base, **values})


def test_a_protocol_may_have_one_fixed_interval() -> None:
    rules = rules_for(count=1, low=1, preferred=1, high=1, maintenance=1)

    assert rules.session_count == 1


# --- propose_course: the plain cases -----------------------------------------------------------


def test_a_single_session_course_takes_the_wished_time() -> None:
    first = at(SEOUL, "2026-03-02", "10:00")

    proposal = proposal_for(rules_for(count=1), first, search_for())

    (session,) = proposal.sessions
    assert session.sequence == 1
    assert session.starts_at == first
    assert session.ends_at == first + minutes(60)
    assert session.preferred_at == first
    assert not session.moved
    assert proposal.moved == ()
    assert proposal.maintenance_due_on is None


def test_a_weekly_course_keeps_the_weekday_and_the_time() -> None:
    proposal = proposal_for(
        rules_for(count=4, low=6, preferred=7, high=8),
        at(SEOUL, "2026-03-02", "10:00"),
        search_for(),
    )

    assert local_starts(proposal, SEOUL) == [
        "2026-03-02 Mon 10:00",
        "2026-03-09 Mon 10:00",
        "2026-03-16 Mon 10:00",
        "2026-03-23 Mon 10:00",
    ]
    assert [s.sequence for s in proposal.sessions] == [1, 2, 3, 4]
    assert proposal.moved == ()


def test_sessions_last_their_duration() -> None:
    proposal = proposal_for(
        rules_for(count=3), at(SEOUL, "2026-03-02", "10:00"), search_for(duration=45)
    )

    assert all(s.ends_at - s.starts_at == minutes(45) for s in proposal.sessions)


def test_a_first_start_given_in_utc_is_read_on_the_clinic_wall() -> None:
    # 01:00 UTC is 10:00 in Seoul.
    proposal = proposal_for(
        rules_for(count=2), datetime(2026, 3, 2, 1, 0, tzinfo=UTC), search_for(SEOUL)
    )

    assert local_starts(proposal, SEOUL) == ["2026-03-02 Mon 10:00", "2026-03-09 Mon 10:00"]
    assert proposal.sessions[0].starts_at.tzinfo == SEOUL


def test_the_wished_weekday_nearest_the_preferred_interval_is_chosen() -> None:
    # Preferred 10 days after a Thursday is a Sunday; of the Thursdays 7 and 14 days on, 7 is
    # nearer the preferred interval.
    proposal = proposal_for(
        rules_for(count=2, low=5, preferred=10, high=14),
        at(SEOUL, "2026-03-05", "10:00"),
        search_for(hours=EVERY_DAY),
    )

    assert local_starts(proposal, SEOUL) == ["2026-03-05 Thu 10:00", "2026-03-12 Thu 10:00"]
    assert not proposal.sessions[1].moved


def test_the_preferred_interval_wins_when_the_window_has_no_such_weekday() -> None:
    proposal = proposal_for(
        rules_for(count=3, low=10, preferred=10, high=10),
        at(SEOUL, "2026-03-02", "10:00"),
        search_for(hours=EVERY_DAY),
    )

    assert local_starts(proposal, SEOUL) == [
        "2026-03-02 Mon 10:00",
        "2026-03-12 Thu 10:00",
        "2026-03-22 Sun 10:00",
    ]
    assert proposal.moved == ()


def test_preferred_day_is_the_wished_weekday_nearest_the_target() -> None:
    monday = 0
    assert preferred_day(date(2026, 3, 12), monday, date(2026, 3, 7), date(2026, 3, 21)) == date(
        2026, 3, 9
    )
    assert preferred_day(date(2026, 3, 14), monday, date(2026, 3, 7), date(2026, 3, 21)) == date(
        2026, 3, 16
    )


def test_preferred_day_is_the_target_clamped_into_a_window_without_the_weekday() -> None:
    monday = 0
    window = (date(2026, 3, 10), date(2026, 3, 13))  # Tuesday to Friday

    assert preferred_day(date(2026, 3, 9), monday, *window) == date(2026, 3, 10)
    assert preferred_day(date(2026, 3, 16), monday, *window) == date(2026, 3, 13)
    assert preferred_day(date(2026, 3, 11), monday, *window) == date(2026, 3, 11)


def test_intervals_are_counted_in_local_calendar_days() -> None:
    # 21:00 in New York is already the next day in UTC; the course still runs on consecutive
    # New York dates.
    evenings = {weekday: [(time(9), time(22))] for weekday in range(7)}

    proposal = proposal_for(
        rules_for(count=3, low=1, preferred=1, high=1),
        at(NEW_YORK, "2026-03-02", "21:00"),
        search_for(NEW_YORK, hours=evenings),
    )

    assert local_starts(proposal, NEW_YORK) == [
        "2026-03-02 Mon 21:00",
        "2026-03-03 Tue 21:00",
        "2026-03-04 Wed 21:00",
    ]
    assert [utc(s.starts_at).date() for s in proposal.sessions] == [
        date(2026, 3, 3),
        date(2026, 3, 4),
        date(2026, 3, 5),
    ]


def test_maintenance_is_due_six_calendar_months_after_the_last_session() -> None:
    # The last session lands on Monday 31 August; six months on is the last day of February.
    proposal = proposal_for(
        rules_for(count=3, maintenance=6), at(SEOUL, "2026-08-17", "10:00"), search_for()
    )

    assert proposal.sessions[-1].starts_at.date() == date(2026, 8, 31)
    assert proposal.maintenance_due_on == date(2027, 2, 28)


def test_maintenance_before_a_leap_february_is_due_on_the_29th() -> None:
    proposal = proposal_for(
        rules_for(count=1, maintenance=6), at(SEOUL, "2027-08-31", "10:00"), search_for()
    )

    assert proposal.maintenance_due_on == date(2028, 2, 29)


def test_maintenance_counts_from_the_local_date_of_the_last_session() -> None:
    # 21:00 on 31 August in New York is 1 September in UTC; the local date counts.
    evenings = {weekday: [(time(9), time(22))] for weekday in range(7)}

    proposal = proposal_for(
        rules_for(count=1, maintenance=6),
        at(NEW_YORK, "2026-08-31", "21:00"),
        search_for(NEW_YORK, hours=evenings),
    )

    assert proposal.maintenance_due_on == date(2027, 2, 28)


# --- propose_course: when the wished slot is taken --------------------------------------------


def test_the_first_session_is_refused_when_the_wished_time_is_booked() -> None:
    # 10:45 is free, but staff chose 10:00 with the patient: the course is not silently moved.
    search = search_for(bookings=(busy(at(SEOUL, "2026-03-02", "09:00"), 105),))  # until 10:45

    no_fit = no_fit_for(rules_for(count=3), at(SEOUL, "2026-03-02", "10:00"), search)

    assert no_fit.sequence == 1
    assert no_fit.cause == Obstacle.BOOKED
    assert no_fit.preferred_at == at(SEOUL, "2026-03-02", "10:00")
    assert explain_no_fit(no_fit) == (
        "Session 1 cannot be placed at Mon 2 Mar 2026, 10:00; the practitioner or room is already "
        "booked then."
    )


def test_the_first_session_takes_exactly_the_wished_time() -> None:
    proposal = proposal_for(rules_for(count=1), at(SEOUL, "2026-03-02", "10:15"), search_for())

    (session,) = proposal.sessions
    assert session.starts_at == session.preferred_at == at(SEOUL, "2026-03-02", "10:15")
    assert not session.moved


def test_the_first_session_off_the_booking_grid_is_refused() -> None:
    no_fit = no_fit_for(rules_for(count=1), at(SEOUL, "2026-03-02", "10:10"), search_for())

    assert no_fit.cause == Obstacle.OFF_GRID
    assert explain_obstacle(no_fit) == (
        "sessions start every 15 minutes from opening time, and 10:10 is not one of them"
    )


def test_the_nearest_start_prefers_an_earlier_one_on_a_tie() -> None:
    # 10:00–10:30 is booked; 09:30 and 10:30 are both half an hour from the wish.
    search = search_for(duration=30, bookings=(busy(at(SEOUL, "2026-03-02", "10:00"), 30),))
    day = date(2026, 3, 2)

    assert search.nearest(at(SEOUL, "2026-03-02", "10:00"), day, day) == at(
        SEOUL, "2026-03-02", "09:30"
    )


def test_a_nearer_later_start_beats_a_farther_earlier_one() -> None:
    # Booked 10:00–10:15 and the session lasts an hour: the nearest free earlier start is 09:00
    # (an hour before the wish), the nearest later one 10:15 (a quarter of an hour after).
    search = search_for(bookings=(busy(at(SEOUL, "2026-03-02", "10:00"), 15),))
    day = date(2026, 3, 2)

    assert search.nearest(at(SEOUL, "2026-03-02", "10:00"), day, day) == at(
        SEOUL, "2026-03-02", "10:15"
    )


def test_a_session_may_start_when_a_booking_ends_and_end_when_the_next_begins() -> None:
    search = search_for(
        bookings=(
            busy(at(SEOUL, "2026-03-02", "09:00"), 60),
            busy(at(SEOUL, "2026-03-02", "11:00"), 60),
        )
    )

    proposal = proposal_for(rules_for(count=1), at(SEOUL, "2026-03-02", "10:00"), search)

    assert proposal.sessions[0].starts_at == at(SEOUL, "2026-03-02", "10:00")
    assert not proposal.sessions[0].moved


def test_a_session_does_not_straddle_the_lunch_break() -> None:
    split_day = {weekday: [(time(13), time(18)), (time(9), time(12))] for weekday in range(5)}
    search = search_for(hours=split_day, duration=90)
    day = date(2026, 3, 2)

    # 10:30–12:00 is 30 minutes earlier; 13:00 is two hours later.
    assert search.nearest(at(SEOUL, "2026-03-02", "11:00"), day, day) == at(
        SEOUL, "2026-03-02", "10:30"
    )
    assert search.obstacle(at(SEOUL, "2026-03-02", "11:00")) == Obstacle.CLOSED


def test_a_later_session_moves_to_the_nearest_free_time_on_its_preferred_day() -> None:
    search = search_for(bookings=(busy(at(SEOUL, "2026-03-09", "10:00"), 30),))

    proposal = proposal_for(rules_for(count=2), at(SEOUL, "2026-03-02", "10:00"), search)

    second = proposal.sessions[1]
    assert second.preferred_at == at(SEOUL, "2026-03-09", "10:00")
    assert second.starts_at == at(SEOUL, "2026-03-09", "10:30")
    assert proposal.moved == (second,)


def test_a_taken_wished_time_moves_to_the_same_time_on_the_nearest_day_before_other_times() -> None:
    # Tuesday 10 March is full from 09:00 to 17:00. The nearest free instant would be Monday's
    # last start (17:00), but the patient keeps 10:00, on the Monday (a tie with Wednesday: the
    # earlier day wins).
    search = search_for(bookings=(busy(at(SEOUL, "2026-03-10", "09:00"), 480),))

    proposal = proposal_for(
        rules_for(count=2, low=6, preferred=7, high=8), at(SEOUL, "2026-03-03", "10:00"), search
    )

    assert local_starts(proposal, SEOUL) == ["2026-03-03 Tue 10:00", "2026-03-09 Mon 10:00"]
    assert proposal.sessions[1].moved


def test_the_same_time_on_another_day_beats_another_time_on_the_preferred_day() -> None:
    # Only 10:00–11:00 is taken on Tuesday 10 March: 11:00 that day would be an hour away, but
    # 10:00 on Monday keeps the patient's usual time.
    search = search_for(bookings=(busy(at(SEOUL, "2026-03-10", "10:00"), 60),))

    proposal = proposal_for(
        rules_for(count=2, low=6, preferred=7, high=8), at(SEOUL, "2026-03-03", "10:00"), search
    )

    assert local_starts(proposal, SEOUL) == ["2026-03-03 Tue 10:00", "2026-03-09 Mon 10:00"]


def test_other_times_are_tried_only_when_the_wished_time_is_free_on_no_day() -> None:
    # 10:00 is taken on every day of the window (9th–11th): the nearest free instant wins, Tuesday
    # 11:00 (Tuesday is taken from 09:00).
    search = search_for(
        bookings=(
            busy(at(SEOUL, "2026-03-09", "10:00"), 60),
            busy(at(SEOUL, "2026-03-10", "09:00"), 120),
            busy(at(SEOUL, "2026-03-11", "10:00"), 60),
        )
    )

    proposal = proposal_for(
        rules_for(count=2, low=6, preferred=7, high=8), at(SEOUL, "2026-03-03", "10:00"), search
    )

    assert local_starts(proposal, SEOUL) == ["2026-03-03 Tue 10:00", "2026-03-10 Tue 11:00"]


def test_a_closed_preferred_day_keeps_the_wished_time_on_the_nearest_open_day() -> None:
    # Tuesday 10 March is closed: Monday and Wednesday are as near, the earlier wins. Session 3
    # goes back to the wished Tuesday.
    search = search_for(closures=(Closure(date(2026, 3, 10), date(2026, 3, 10), "holiday"),))

    proposal = proposal_for(
        rules_for(count=3, low=6, preferred=7, high=8), at(SEOUL, "2026-03-03", "10:00"), search
    )

    assert local_starts(proposal, SEOUL) == [
        "2026-03-03 Tue 10:00",
        "2026-03-09 Mon 10:00",
        "2026-03-17 Tue 10:00",
    ]
    assert [s.moved for s in proposal.sessions] == [False, True, False]
    # Session 3's window (15th–17th) counts from where session 2 actually landed.
    assert proposal.sessions[2].preferred_at == at(SEOUL, "2026-03-17", "10:00")


def test_a_step_of_twenty_minutes_searches_twenty_minute_offsets() -> None:
    search = search_for(step=20, bookings=(busy(at(SEOUL, "2026-03-02", "09:00"), 110),))
    day = date(2026, 3, 2)

    assert search.nearest(at(SEOUL, "2026-03-02", "10:00"), day, day) == at(
        SEOUL, "2026-03-02", "11:00"
    )


def test_the_grid_counts_from_the_opening_time_not_from_the_wished_time() -> None:
    # The clinic opens at 09:10: a 30-minute session may start at 09:10 or 09:25, not 09:15.
    short_morning = {0: [(time(9, 10), time(9, 55))]}
    search = search_for(hours=short_morning, duration=30)
    day = date(2026, 3, 2)

    assert free_starts(search, day, day) == [
        at(SEOUL, "2026-03-02", "09:10"),
        at(SEOUL, "2026-03-02", "09:25"),
    ]
    assert search.nearest(at(SEOUL, "2026-03-02", "10:00"), day, day) == at(
        SEOUL, "2026-03-02", "09:25"
    )
    assert search.obstacle(at(SEOUL, "2026-03-02", "09:15")) == Obstacle.OFF_GRID
    assert search.obstacle(at(SEOUL, "2026-03-02", "09:25")) is None


def test_each_opening_period_has_its_own_grid() -> None:
    hours = {0: [(time(9), time(12)), (time(13, 10), time(18))]}
    search = search_for(hours=hours, duration=30)

    assert search.obstacle(at(SEOUL, "2026-03-02", "09:15")) is None
    assert search.obstacle(at(SEOUL, "2026-03-02", "13:15")) == Obstacle.OFF_GRID
    assert search.obstacle(at(SEOUL, "2026-03-02", "13:25")) is None


# --- propose_course: when nothing fits ---------------------------------------------------------


def test_a_closed_first_day_is_a_no_fit_for_session_one_on_that_day() -> None:
    search = search_for(closures=(Closure(date(2026, 3, 2), date(2026, 3, 2), "holiday"),))

    no_fit = no_fit_for(rules_for(count=3), at(SEOUL, "2026-03-02", "10:00"), search)

    assert no_fit.sequence == 1
    assert no_fit.cause == Obstacle.CLOSED
    assert (no_fit.window_first_day, no_fit.window_last_day) == (date(2026, 3, 2), date(2026, 3, 2))
    assert no_fit.preferred_at == at(SEOUL, "2026-03-02", "10:00")
    assert no_fit.closed_days == ((date(2026, 3, 2), "holiday"),)
    assert explain_no_fit(no_fit) == (
        "Session 1 cannot be placed at Mon 2 Mar 2026, 10:00; the clinic is closed on "
        "Mon 2 Mar 2026 (holiday)."
    )


def test_the_first_session_never_leaves_the_wished_day() -> None:
    # Sunday has no opening hours; Monday would be free but is another day.
    no_fit = no_fit_for(rules_for(count=1), at(SEOUL, "2026-03-01", "10:00"), search_for())

    assert no_fit.sequence == 1
    assert no_fit.window_first_day == no_fit.window_last_day == date(2026, 3, 1)
    assert no_fit.closed_days == ()
    assert explain_no_fit(no_fit) == (
        "Session 1 cannot be placed at Sun 1 Mar 2026, 10:00; the clinic does not open on Sundays."
    )


def test_a_no_fit_names_the_session_and_its_window_in_a_sentence() -> None:
    search = search_for(
        hours=EVERY_DAY,
        closures=(
            Closure(date(2026, 3, 7), date(2026, 3, 9), "renovation"),
            Closure(date(2026, 3, 10), date(2026, 3, 10), ""),
        ),
    )

    no_fit = no_fit_for(
        rules_for(count=3, low=5, preferred=7, high=8), at(SEOUL, "2026-03-02", "10:00"), search
    )

    assert no_fit.sequence == 2
    assert (no_fit.window_first_day, no_fit.window_last_day) == (
        date(2026, 3, 7),
        date(2026, 3, 10),
    )
    assert no_fit.preferred_at == at(SEOUL, "2026-03-09", "10:00")
    assert explain_no_fit(no_fit) == (
        "Session 2 cannot be placed between Sat 7 Mar 2026 and Tue 10 Mar 2026; "
        "the clinic is closed on "
        "Sat 7 Mar 2026 to Mon 9 Mar 2026 (renovation), Tue 10 Mar 2026."
    )


def test_a_no_fit_counts_the_bookings_that_fill_the_window() -> None:
    search = search_for(
        bookings=(
            busy(at(SEOUL, "2026-03-09", "09:00"), 240, "Kim"),
            busy(at(SEOUL, "2026-03-09", "13:00"), 300, "Lee"),
        )
    )

    no_fit = no_fit_for(rules_for(count=2), at(SEOUL, "2026-03-02", "10:00"), search)

    assert no_fit.sequence == 2
    assert [interval.label for interval in no_fit.busy] == ["Kim", "Lee"]
    assert explain_no_fit(no_fit) == (
        "Session 2 cannot be placed on Mon 9 Mar 2026; 2 bookings take up the hours it is open."
    )


def test_a_session_longer_than_any_opening_period_never_fits() -> None:
    no_fit = no_fit_for(
        rules_for(count=1), at(SEOUL, "2026-03-02", "10:00"), search_for(duration=600)
    )

    assert no_fit.sequence == 1


# --- propose_course across daylight-saving changes ---------------------------------------------


def test_keeps_ten_oclock_local_across_the_spring_dst_change() -> None:
    proposal = proposal_for(
        rules_for(count=4), at(NEW_YORK, "2026-02-26", "10:00"), search_for(NEW_YORK)
    )

    assert local_starts(proposal, NEW_YORK) == [
        "2026-02-26 Thu 10:00",
        "2026-03-05 Thu 10:00",
        "2026-03-12 Thu 10:00",
        "2026-03-19 Thu 10:00",
    ]
    assert [s.starts_at.utcoffset() for s in proposal.sessions] == [
        timedelta(hours=-5),
        timedelta(hours=-5),
        timedelta(hours=-4),
        timedelta(hours=-4),
    ]
    # A week across the change is an hour shorter in absolute time.
    assert utc(proposal.sessions[2].starts_at) - utc(proposal.sessions[1].starts_at) == timedelta(
        days=7, hours=-1
    )
    assert proposal.moved == ()


def test_keeps_ten_oclock_local_across_the_autumn_dst_change() -> None:
    proposal = proposal_for(
        rules_for(count=4), at(NEW_YORK, "2026-10-15", "10:00"), search_for(NEW_YORK)
    )

    assert local_starts(proposal, NEW_YORK) == [
        "2026-10-15 Thu 10:00",
        "2026-10-22 Thu 10:00",
        "2026-10-29 Thu 10:00",
        "2026-11-05 Thu 10:00",
    ]
    assert [s.starts_at.utcoffset() for s in proposal.sessions] == [timedelta(hours=-4)] * 3 + [
        timedelta(hours=-5)
    ]
    assert utc(proposal.sessions[3].starts_at) - utc(proposal.sessions[2].starts_at) == timedelta(
        days=7, hours=1
    )


def test_keeps_ten_oclock_local_across_the_spring_dst_change_in_berlin() -> None:
    proposal = proposal_for(
        rules_for(count=3, low=13, preferred=14, high=15),
        at(BERLIN, "2026-03-19", "10:00"),
        search_for(BERLIN),
    )

    assert local_starts(proposal, BERLIN) == [
        "2026-03-19 Thu 10:00",
        "2026-04-02 Thu 10:00",
        "2026-04-16 Thu 10:00",
    ]
    assert [s.starts_at.utcoffset() for s in proposal.sessions] == [
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=2),
    ]


def test_keeps_ten_oclock_local_across_the_autumn_dst_change_in_berlin() -> None:
    proposal = proposal_for(
        rules_for(count=3), at(BERLIN, "2026-10-15", "10:00"), search_for(BERLIN)
    )

    assert local_starts(proposal, BERLIN) == [
        "2026-10-15 Thu 10:00",
        "2026-10-22 Thu 10:00",
        "2026-10-29 Thu 10:00",
    ]
    assert [s.starts_at.utcoffset() for s in proposal.sessions] == [
        timedelta(hours=2),
        timedelta(hours=2),
        timedelta(hours=1),
    ]


@pytest.mark.parametrize("first_day", ["2026-02-26", "2026-03-19", "2026-10-15", "2026-10-22"])
def test_stays_at_ten_oclock_kst_all_year_in_seoul(first_day: str) -> None:
    proposal = proposal_for(rules_for(count=4), at(SEOUL, first_day, "10:00"), search_for(SEOUL))

    for session in proposal.sessions:
        assert session.starts_at.utcoffset() == timedelta(hours=9)
        assert session.starts_at.astimezone(SEOUL).time() == time(10)
    starts = [utc(s.starts_at) for s in proposal.sessions]
    assert {later - earlier for earlier, later in pairwise(starts)} == {timedelta(days=7)}


@pytest.mark.parametrize(
    ("tz", "change_day"),
    [
        (NEW_YORK, "2026-03-08"),
        (NEW_YORK, "2026-11-01"),
        (BERLIN, "2026-03-29"),
        (BERLIN, "2026-10-25"),
    ],
)
def test_a_daytime_session_on_a_dst_change_day_lasts_its_duration(
    tz: ZoneInfo, change_day: str
) -> None:
    proposal = proposal_for(
        rules_for(count=1),
        at(tz, change_day, "10:00"),
        search_for(tz, hours=EVERY_DAY, duration=50),
    )

    (session,) = proposal.sessions
    assert session.starts_at.astimezone(tz).time() == time(10)
    assert absolute_length(session.starts_at, session.ends_at) == minutes(50)


def test_a_night_session_across_the_fall_back_change_lasts_its_duration_in_absolute_time() -> None:
    first = at(NEW_YORK, "2026-11-01", "01:30")  # the first 01:30, EDT

    proposal = proposal_for(
        rules_for(count=1), first, search_for(NEW_YORK, hours=ROUND_THE_CLOCK, duration=60)
    )

    (session,) = proposal.sessions
    assert utc(session.starts_at) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert utc(session.ends_at) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert absolute_length(session.starts_at, session.ends_at) == minutes(60)


def test_a_night_session_across_the_spring_forward_change_lasts_its_duration() -> None:
    first = at(BERLIN, "2026-03-29", "01:30")  # CET; 02:00 jumps to 03:00

    proposal = proposal_for(
        rules_for(count=1), first, search_for(BERLIN, hours=ROUND_THE_CLOCK, duration=60)
    )

    (session,) = proposal.sessions
    assert absolute_length(session.starts_at, session.ends_at) == minutes(60)
    assert session.ends_at.astimezone(BERLIN).time() == time(3, 30)


def test_a_wished_time_in_the_spring_forward_gap_becomes_half_past_three() -> None:
    proposal = proposal_for(
        rules_for(count=2),
        at(NEW_YORK, "2026-03-01", "02:30"),
        search_for(NEW_YORK, hours=ROUND_THE_CLOCK),
    )

    second = proposal.sessions[1]
    assert second.preferred_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert second.starts_at == second.preferred_at
    assert not second.moved


def test_a_session_moved_within_the_repeated_hour_counts_as_moved() -> None:
    # A weekly course at 01:30; a week later the first 01:30 (EDT) is booked. The second 01:30
    # (EST) is an hour later in absolute time although the wall clock reads the same.
    wished = at(NEW_YORK, "2026-11-01", "01:30")
    search = search_for(
        NEW_YORK,
        hours=ROUND_THE_CLOCK,
        duration=30,
        bookings=(Interval(utc(wished) - minutes(60), utc(wished) + minutes(60)),),
    )

    proposal = proposal_for(rules_for(count=2), at(NEW_YORK, "2026-10-25", "01:30"), search)

    second = proposal.sessions[1]
    assert utc(second.preferred_at) == utc(wished)
    assert utc(second.starts_at) == utc(wished) + minutes(60)
    assert second.moved


def test_the_nearest_slot_is_measured_in_absolute_time_across_a_dst_change() -> None:
    # Weekly on Mondays in New York; Monday 9 and Tuesday 10 March are closed, and 10:00 is taken
    # on the other days of the window. Saturday 7 March at 11:30 EST is 45.5 hours before the
    # wish (Monday 10:00 EDT); Wednesday 08:00 EDT is 46 hours after. On the wall clock it would
    # be 46.5 against 46.
    hours = {weekday: [(time(8), time(18))] for weekday in range(5)} | {
        5: [(time(9), time(12, 30))]
    }
    search = search_for(
        NEW_YORK,
        hours=hours,
        closures=(Closure(date(2026, 3, 9), date(2026, 3, 10), "conference"),),
        bookings=(
            busy(at(NEW_YORK, "2026-03-07", "10:00"), 15),
            busy(at(NEW_YORK, "2026-03-11", "10:00"), 15),
        ),
    )

    proposal = proposal_for(
        rules_for(count=2, low=5, preferred=7, high=9), at(NEW_YORK, "2026-03-02", "10:00"), search
    )

    assert local_starts(proposal, NEW_YORK) == ["2026-03-02 Mon 10:00", "2026-03-07 Sat 11:30"]


# --- The practitioner's own hours and leave ----------------------------------------------------

TUESDAY_AND_THURSDAY_AFTERNOONS = {1: [(time(14), time(18))], 3: [(time(14), time(18))]}


def practitioner_search(
    *,
    working_hours: dict[int, list[tuple[time, time]]] | None = None,
    leave: tuple[Interval, ...] = (),
    hours: dict[int, list[tuple[time, time]]] | None = None,
    bookings: tuple[Interval, ...] = (),
    patient_bookings: tuple[Interval, ...] = (),
    duration: int = 60,
) -> SlotSearch:
    return SlotSearch(
        calendar=Calendar(
            tz=SEOUL,
            opening_hours=WEEKDAYS if hours is None else hours,
            working_hours=working_hours,
            leave=leave,
        ),
        busy=BusySet(bookings),
        duration=minutes(duration),
        patient_busy=BusySet(patient_bookings),
    )


def test_a_practitioner_without_a_pattern_works_the_clinics_hours() -> None:
    search = practitioner_search()
    day = date(2026, 3, 2)

    assert free_starts(search, day, day)[0] == at(SEOUL, "2026-03-02", "09:00")
    assert free_starts(search, day, day)[-1] == at(SEOUL, "2026-03-02", "17:00")


def test_free_starts_follow_the_practitioners_days_and_hours() -> None:
    search = practitioner_search(working_hours=TUESDAY_AND_THURSDAY_AFTERNOONS)

    starts = free_starts(search, date(2026, 3, 2), date(2026, 3, 8))

    assert {f"{s:%a}" for s in starts} == {"Tue", "Thu"}
    assert f"{starts[0]:%a %H:%M}" == "Tue 14:00"
    assert f"{starts[-1]:%a %H:%M}" == "Thu 17:00"


def test_a_split_shift_gives_two_stretches_and_no_session_across_the_gap() -> None:
    split = {0: [(time(9), time(12)), (time(15), time(18))]}
    search = practitioner_search(working_hours=split)
    day = date(2026, 3, 2)

    starts = [f"{s:%H:%M}" for s in free_starts(search, day, day)]

    assert starts[0] == "09:00"
    assert "11:00" in starts
    assert "11:15" not in starts  # would run into the gap
    assert "14:45" not in starts
    assert starts[-1] == "17:00"
    assert search.obstacle(at(SEOUL, "2026-03-02", "11:30")) == Obstacle.NOT_WORKING


def test_working_periods_that_touch_count_as_one() -> None:
    touching = {0: [(time(9), time(12)), (time(12), time(14))]}
    search = practitioner_search(working_hours=touching)

    assert search.obstacle(at(SEOUL, "2026-03-02", "11:30")) is None


def test_a_pattern_cannot_widen_the_clinics_hours() -> None:
    early_bird = {0: [(time(7), time(20))]}
    search = practitioner_search(working_hours=early_bird)
    day = date(2026, 3, 2)

    starts = free_starts(search, day, day)

    assert (f"{starts[0]:%H:%M}", f"{starts[-1]:%H:%M}") == ("09:00", "17:00")
    assert search.obstacle(at(SEOUL, "2026-03-02", "08:00")) == Obstacle.CLOSED


def test_a_pattern_starting_between_grid_times_keeps_the_clinics_grid() -> None:
    # The clinic opens at 09:00 on a 15-minute grid; the practitioner starts at 09:10, so their
    # first start is 09:15, not 09:10.
    search = practitioner_search(working_hours={0: [(time(9, 10), time(12))]})
    day = date(2026, 3, 2)

    assert free_starts(search, day, day)[0] == at(SEOUL, "2026-03-02", "09:15")


def test_part_day_leave_is_cut_out_of_the_day() -> None:
    leave = Interval(at(SEOUL, "2026-03-02", "12:00"), at(SEOUL, "2026-03-02", "15:00"), "dentist")
    search = practitioner_search(leave=(leave,))
    day = date(2026, 3, 2)

    starts = [f"{s:%H:%M}" for s in free_starts(search, day, day)]

    assert "11:00" in starts
    assert "11:15" not in starts
    assert "14:45" not in starts
    assert "15:00" in starts
    assert search.obstacle(at(SEOUL, "2026-03-02", "13:00")) == Obstacle.ON_LEAVE


def test_whole_days_of_leave_leave_nothing_free() -> None:
    leave = Interval(at(SEOUL, "2026-03-02", "00:00"), at(SEOUL, "2026-03-04", "00:00"), "")
    search = practitioner_search(leave=(leave,))

    starts = free_starts(search, date(2026, 3, 2), date(2026, 3, 4))

    assert {s.date() for s in starts} == {date(2026, 3, 4)}


def test_the_first_session_is_refused_when_the_practitioner_does_not_work_then() -> None:
    search = practitioner_search(working_hours=TUESDAY_AND_THURSDAY_AFTERNOONS)

    no_fit = no_fit_for(rules_for(count=2), at(SEOUL, "2026-03-03", "10:00"), search)

    assert no_fit.sequence == 1
    assert no_fit.cause == Obstacle.NOT_WORKING
    assert explain_no_fit(no_fit) == (
        "Session 1 cannot be placed at Tue 3 Mar 2026, 10:00; the practitioner does not work then."
    )


def test_the_first_session_is_refused_during_leave_with_its_reason() -> None:
    leave = Interval(at(SEOUL, "2026-03-03", "00:00"), at(SEOUL, "2026-03-04", "00:00"), "training")
    search = practitioner_search(leave=(leave,))

    no_fit = no_fit_for(rules_for(count=2), at(SEOUL, "2026-03-03", "10:00"), search)

    assert no_fit.cause == Obstacle.ON_LEAVE
    assert explain_obstacle(no_fit) == "the practitioner is on leave then (training)"
    assert no_fit.leave == (leave,)


def test_the_first_session_is_refused_when_the_patient_has_another_session() -> None:
    other = busy(at(SEOUL, "2026-03-03", "09:30"), 60, "PRP with Dr. Lee")
    search = practitioner_search(patient_bookings=(other,))

    no_fit = no_fit_for(rules_for(count=2), at(SEOUL, "2026-03-03", "10:00"), search)

    assert no_fit.cause == Obstacle.PATIENT_BUSY
    assert explain_obstacle(no_fit) == "the patient has another session then"


def test_later_sessions_go_to_the_practitioners_days() -> None:
    # Weekly on Tuesdays at 14:00; the practitioner is away on Tuesday 10 March: session 2 keeps
    # 14:00 on the nearest day they work, Thursday. Session 3 is back on a Tuesday.
    leave = Interval(at(SEOUL, "2026-03-10", "00:00"), at(SEOUL, "2026-03-11", "00:00"), "")
    search = practitioner_search(working_hours=TUESDAY_AND_THURSDAY_AFTERNOONS, leave=(leave,))

    proposal = proposal_for(
        rules_for(count=3, low=5, preferred=7, high=9), at(SEOUL, "2026-03-03", "14:00"), search
    )

    assert local_starts(proposal, SEOUL) == [
        "2026-03-03 Tue 14:00",
        "2026-03-12 Thu 14:00",
        "2026-03-17 Tue 14:00",
    ]


def test_the_patients_other_sessions_are_kept_clear_of() -> None:
    other = busy(at(SEOUL, "2026-03-09", "09:30"), 90)  # until 11:00
    search = practitioner_search(patient_bookings=(other,))

    proposal = proposal_for(rules_for(count=2), at(SEOUL, "2026-03-02", "10:00"), search)

    assert proposal.sessions[1].starts_at == at(SEOUL, "2026-03-09", "11:00")


def test_a_no_fit_names_the_days_off_and_the_leave_in_the_window() -> None:
    leave = Interval(at(SEOUL, "2026-03-10", "00:00"), at(SEOUL, "2026-03-11", "00:00"), "course")
    search = practitioner_search(working_hours={1: [(time(14), time(18))]}, leave=(leave,))

    no_fit = no_fit_for(
        rules_for(count=2, low=6, preferred=7, high=8), at(SEOUL, "2026-03-03", "14:00"), search
    )

    assert no_fit.sequence == 2
    assert no_fit.cause is None
    assert no_fit.days_not_working == (date(2026, 3, 9), date(2026, 3, 11))
    assert no_fit.leave == (leave,)
    assert explain_no_fit(no_fit) == (
        "Session 2 cannot be placed between Mon 9 Mar 2026 and Wed 11 Mar 2026; the practitioner "
        "does not work on Mondays, Wednesdays; the practitioner is on leave from "
        "Tue 10 Mar 2026, 00:00 to Wed 11 Mar 2026, 00:00 (course)."
    )


# --- free_starts -------------------------------------------------------------------------------


def test_free_starts_are_every_step_from_opening_while_the_session_fits() -> None:
    search = search_for(hours={0: [(time(9), time(11))]}, duration=60, step=15)

    starts = free_starts(search, date(2026, 3, 2), date(2026, 3, 2))

    assert [f"{s:%H:%M}" for s in starts] == ["09:00", "09:15", "09:30", "09:45", "10:00"]
    assert all(s.tzinfo == SEOUL for s in starts)


def test_free_starts_may_touch_a_booking_on_either_side_but_not_overlap_it() -> None:
    search = search_for(
        hours={0: [(time(9), time(13))]},
        bookings=(busy(at(SEOUL, "2026-03-02", "10:00"), 60),),
    )

    starts = free_starts(search, date(2026, 3, 2), date(2026, 3, 2))

    # 09:00 ends exactly when the booking starts; 11:00 starts exactly when it ends.
    assert [f"{s:%H:%M}" for s in starts] == [
        "09:00",
        "11:00",
        "11:15",
        "11:30",
        "11:45",
        "12:00",
    ]


def test_free_starts_skip_a_one_minute_overlap_at_either_end() -> None:
    search = search_for(
        hours={0: [(time(9), time(13))]},
        bookings=(
            busy(at(SEOUL, "2026-03-02", "09:59"), 2),  # 09:59–10:01
        ),
    )

    starts = {f"{s:%H:%M}" for s in free_starts(search, date(2026, 3, 2), date(2026, 3, 2))}

    assert "09:00" not in starts  # would end at 10:00, one minute into the booking
    assert "10:00" not in starts  # would start a minute before the booking ends
    assert "08:45" not in starts  # before opening
    assert "10:15" in starts  # the next step after the booking


def test_free_starts_after_an_off_grid_booking_resume_on_the_grid() -> None:
    search = search_for(
        hours={0: [(time(9), time(12))]},
        bookings=(busy(at(SEOUL, "2026-03-02", "09:00"), 65),),  # until 10:05
    )

    starts = free_starts(search, date(2026, 3, 2), date(2026, 3, 2))

    assert [f"{s:%H:%M}" for s in starts] == ["10:15", "10:30", "10:45", "11:00"]


def test_free_starts_use_each_opening_period_and_never_straddle_a_break() -> None:
    search = search_for(
        hours={0: [(time(14), time(15)), (time(9), time(10, 30))]}, duration=45, step=15
    )

    starts = free_starts(search, date(2026, 3, 2), date(2026, 3, 2))

    assert [f"{s:%H:%M}" for s in starts] == ["09:00", "09:15", "09:30", "09:45", "14:00", "14:15"]


def test_free_starts_give_nothing_on_closed_days_or_days_without_hours() -> None:
    search = search_for(
        hours=WEEKDAYS,
        closures=(Closure(date(2026, 3, 3), date(2026, 3, 4), "training"),),
    )

    starts = free_starts(search, date(2026, 3, 1), date(2026, 3, 8))

    assert {local_day(s, SEOUL) for s in starts} == {
        date(2026, 3, 2),
        date(2026, 3, 5),
        date(2026, 3, 6),
    }


def test_free_starts_give_nothing_for_a_session_longer_than_the_period() -> None:
    assert free_starts(search_for(duration=9 * 60 + 1), date(2026, 3, 2), date(2026, 3, 6)) == []


def test_free_starts_of_an_empty_range_are_empty() -> None:
    assert free_starts(search_for(), date(2026, 3, 6), date(2026, 3, 2)) == []


def test_free_starts_on_a_spring_forward_day_follow_the_wall_clock() -> None:
    search = search_for(NEW_YORK, hours={6: [(time(9), time(10))]}, duration=30, step=15)

    starts = free_starts(search, date(2026, 3, 8), date(2026, 3, 8))

    assert [f"{s.astimezone(NEW_YORK):%H:%M %z}" for s in starts] == [
        "09:00 -0400",
        "09:15 -0400",
        "09:30 -0400",
    ]


def test_free_starts_through_the_repeated_night_hour_are_distinct_and_absolute() -> None:
    # A clinic open overnight: 00:00–03:00 on the fall-back night is four absolute hours.
    search = search_for(NEW_YORK, hours={6: [(time(0), time(3))]}, duration=60, step=30)

    starts = free_starts(search, date(2026, 11, 1), date(2026, 11, 1))

    instants = [utc(s) for s in starts]
    assert len(set(instants)) == len(instants)
    assert instants == [datetime(2026, 11, 1, 4, 0, tzinfo=UTC) + minutes(30) * k for k in range(7)]
    assert all(absolute_length(s, s + minutes(60)) == minutes(60) for s in instants)


def test_free_starts_through_the_spring_forward_gap_are_distinct() -> None:
    # 00:00–04:00 on the spring-forward night is three absolute hours.
    search = search_for(NEW_YORK, hours={6: [(time(0), time(4))]}, duration=60, step=30)

    starts = free_starts(search, date(2026, 3, 8), date(2026, 3, 8))

    instants = [utc(s) for s in starts]
    assert instants == [datetime(2026, 3, 8, 5, 0, tzinfo=UTC) + minutes(30) * k for k in range(5)]


# --- BusySet -----------------------------------------------------------------------------------


def test_overlapping_bookings_merge_into_one_busy_interval() -> None:
    busy_set = BusySet(
        [
            busy(at(SEOUL, "2026-03-02", "10:30"), 90, "second"),
            busy(at(SEOUL, "2026-03-02", "10:00"), 60, "first"),
        ]
    )

    assert len(busy_set) == 1
    merged = busy_set.blocking(at(SEOUL, "2026-03-02", "11:45"), at(SEOUL, "2026-03-02", "12:15"))
    assert merged == Interval(
        at(SEOUL, "2026-03-02", "10:00"), at(SEOUL, "2026-03-02", "12:00"), "first"
    )


def test_a_booking_inside_another_is_swallowed() -> None:
    busy_set = BusySet(
        [busy(at(SEOUL, "2026-03-02", "10:00"), 180), busy(at(SEOUL, "2026-03-02", "11:00"), 30)]
    )

    assert len(busy_set) == 1
    assert busy_set.within(at(SEOUL, "2026-03-02", "00:00"), at(SEOUL, "2026-03-03", "00:00")) == [
        busy(at(SEOUL, "2026-03-02", "10:00"), 180)
    ]


def test_back_to_back_bookings_stay_separate() -> None:
    busy_set = BusySet(
        [busy(at(SEOUL, "2026-03-02", "10:00"), 60), busy(at(SEOUL, "2026-03-02", "11:00"), 60)]
    )

    assert len(busy_set) == 2


def test_is_free_allows_back_to_back_and_refuses_any_overlap() -> None:
    busy_set = BusySet([busy(at(SEOUL, "2026-03-02", "10:00"), 60)])

    def free(start: str, end: str) -> bool:
        return busy_set.is_free(at(SEOUL, "2026-03-02", start), at(SEOUL, "2026-03-02", end))

    assert free("09:00", "10:00")  # ends as the booking starts
    assert free("11:00", "12:00")  # starts as the booking ends
    assert not free("09:00", "10:01")
    assert not free("10:59", "12:00")
    assert not free("10:15", "10:45")  # inside
    assert not free("09:00", "12:00")  # around
    assert not free("10:00", "11:00")  # the same
    assert free("07:00", "08:00")
    assert free("13:00", "14:00")


def test_blocking_names_the_interval_in_the_way() -> None:
    morning = busy(at(SEOUL, "2026-03-02", "09:00"), 60, "morning")
    noon = busy(at(SEOUL, "2026-03-02", "12:00"), 60, "noon")
    busy_set = BusySet([noon, morning])

    assert busy_set.blocking(
        at(SEOUL, "2026-03-02", "09:30"), at(SEOUL, "2026-03-02", "10:30")
    ) == (morning)
    assert busy_set.blocking(
        at(SEOUL, "2026-03-02", "11:30"), at(SEOUL, "2026-03-02", "12:30")
    ) == (noon)
    assert (
        busy_set.blocking(at(SEOUL, "2026-03-02", "10:00"), at(SEOUL, "2026-03-02", "12:00"))
        is None
    )
    assert (
        BusySet().blocking(at(SEOUL, "2026-03-02", "10:00"), at(SEOUL, "2026-03-02", "12:00"))
        is None
    )


def test_within_lists_the_intervals_touching_a_range_including_one_begun_before_it() -> None:
    early = busy(at(SEOUL, "2026-03-01", "23:00"), 120, "overnight")
    noon = busy(at(SEOUL, "2026-03-02", "12:00"), 60, "noon")
    evening = busy(at(SEOUL, "2026-03-03", "00:00"), 60, "next day")
    busy_set = BusySet([evening, noon, early])

    day = (at(SEOUL, "2026-03-02", "00:00"), at(SEOUL, "2026-03-03", "00:00"))

    assert busy_set.within(*day) == [early, noon]
    assert busy_set.within(at(SEOUL, "2026-03-02", "13:00"), at(SEOUL, "2026-03-02", "23:00")) == []
    assert BusySet().within(*day) == []


def test_add_merges_a_new_booking_with_the_ones_it_overlaps() -> None:
    busy_set = BusySet(
        [busy(at(SEOUL, "2026-03-02", "09:00"), 60), busy(at(SEOUL, "2026-03-02", "11:00"), 60)]
    )

    busy_set.add(busy(at(SEOUL, "2026-03-02", "09:30"), 120))  # bridges both

    assert len(busy_set) == 1
    assert busy_set.within(at(SEOUL, "2026-03-02", "00:00"), at(SEOUL, "2026-03-03", "00:00")) == [
        Interval(at(SEOUL, "2026-03-02", "09:00"), at(SEOUL, "2026-03-02", "12:00"))
    ]


def test_add_keeps_separate_bookings_in_order() -> None:
    busy_set = BusySet([busy(at(SEOUL, "2026-03-02", "11:00"))])

    busy_set.add(busy(at(SEOUL, "2026-03-02", "09:00")))
    busy_set.add(busy(at(SEOUL, "2026-03-02", "10:00")))  # back to back with both

    assert len(busy_set) == 3
    assert not busy_set.is_free(at(SEOUL, "2026-03-02", "09:30"), at(SEOUL, "2026-03-02", "09:45"))
    assert busy_set.is_free(at(SEOUL, "2026-03-02", "12:00"), at(SEOUL, "2026-03-02", "13:00"))
    starts = [
        i.start
        for i in busy_set.within(at(SEOUL, "2026-03-02", "00:00"), at(SEOUL, "2026-03-03", "00:00"))
    ]
    assert starts == sorted(starts)


def test_busy_intervals_in_utc_and_local_time_compare_as_instants() -> None:
    # 01:00 UTC is 10:00 in Seoul.
    busy_set = BusySet(
        [Interval(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), datetime(2026, 3, 2, 2, 0, tzinfo=UTC))]
    )

    assert not busy_set.is_free(at(SEOUL, "2026-03-02", "10:30"), at(SEOUL, "2026-03-02", "11:30"))
    assert busy_set.is_free(at(SEOUL, "2026-03-02", "11:00"), at(SEOUL, "2026-03-02", "12:00"))


def test_bookings_in_the_repeated_hour_are_ordered_and_merged_as_instants() -> None:
    # On New York's fall-back night, 00:00 EDT–01:00 EST (two hours) and the first 01:00–01:01
    # (EDT) overlap, although the wall clock reads 01:00 for both the end of one and the start
    # of the other. Written in the clinic's zone, they must still merge and block.
    first_one_oclock = at(NEW_YORK, "2026-11-01", "01:00")
    second_one_oclock = at(NEW_YORK, "2026-11-01", "01:00", fold=1)
    busy_set = BusySet(
        [
            Interval(at(NEW_YORK, "2026-11-01", "00:00"), second_one_oclock),
            Interval(first_one_oclock, first_one_oclock + minutes(1)),
        ]
    )

    assert len(busy_set) == 1
    assert not busy_set.is_free(
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 5, 45, tzinfo=UTC)
    )
    assert busy_set.is_free(second_one_oclock, at(NEW_YORK, "2026-11-01", "01:30", fold=1))


def test_interval_overlap_in_the_repeated_hour_compares_instants() -> None:
    first_half = Interval(
        at(NEW_YORK, "2026-11-01", "01:00"), at(NEW_YORK, "2026-11-01", "01:45")
    )  # 05:00–05:45 UTC

    # 01:15–01:30 the second time round (EST) is 06:15–06:30 UTC.
    assert not first_half.overlaps(
        at(NEW_YORK, "2026-11-01", "01:15", fold=1), at(NEW_YORK, "2026-11-01", "01:30", fold=1)
    )


def test_calendar_fits_compares_instants_in_the_repeated_hour() -> None:
    calendar = Calendar(tz=NEW_YORK, opening_hours={6: [(time(0), time(1, 45))]})

    # Closes at the first 01:45 (EDT); the second 01:15 (EST) is half an hour after closing.
    assert calendar.fits(at(NEW_YORK, "2026-11-01", "01:00"), at(NEW_YORK, "2026-11-01", "01:45"))
    assert not calendar.fits(
        at(NEW_YORK, "2026-11-01", "01:15", fold=1), at(NEW_YORK, "2026-11-01", "01:30", fold=1)
    )


def test_interval_overlap_is_half_open() -> None:
    interval = busy(at(SEOUL, "2026-03-02", "10:00"), 60)

    assert not interval.overlaps(at(SEOUL, "2026-03-02", "11:00"), at(SEOUL, "2026-03-02", "12:00"))
    assert not interval.overlaps(at(SEOUL, "2026-03-02", "09:00"), at(SEOUL, "2026-03-02", "10:00"))
    assert interval.overlaps(at(SEOUL, "2026-03-02", "10:59"), at(SEOUL, "2026-03-02", "12:00"))


# --- Calendar ----------------------------------------------------------------------------------


def test_calendar_fits_only_inside_one_opening_period_on_an_open_day() -> None:
    calendar = Calendar(
        tz=SEOUL,
        opening_hours={0: [(time(9), time(12)), (time(13), time(18))]},
        closures=(Closure(date(2026, 3, 9), date(2026, 3, 9), "holiday"),),
    )

    assert calendar.fits(at(SEOUL, "2026-03-02", "09:00"), at(SEOUL, "2026-03-02", "12:00"))
    assert calendar.fits(at(SEOUL, "2026-03-02", "13:00"), at(SEOUL, "2026-03-02", "18:00"))
    assert not calendar.fits(at(SEOUL, "2026-03-02", "11:30"), at(SEOUL, "2026-03-02", "13:30"))
    assert not calendar.fits(at(SEOUL, "2026-03-02", "08:45"), at(SEOUL, "2026-03-02", "09:45"))
    assert not calendar.fits(at(SEOUL, "2026-03-02", "17:30"), at(SEOUL, "2026-03-02", "18:30"))
    assert not calendar.fits(at(SEOUL, "2026-03-09", "10:00"), at(SEOUL, "2026-03-09", "11:00"))
    assert not calendar.fits(at(SEOUL, "2026-03-03", "10:00"), at(SEOUL, "2026-03-03", "11:00"))
    assert calendar.closure_on(date(2026, 3, 9)) == Closure(
        date(2026, 3, 9), date(2026, 3, 9), "holiday"
    )
    assert calendar.closure_on(date(2026, 3, 10)) is None
    assert calendar.periods(date(2026, 3, 9)) == []


def test_calendar_reads_a_utc_instant_on_the_clinic_wall() -> None:
    calendar = Calendar(tz=SEOUL, opening_hours={0: NINE_TO_SIX})

    # Sunday 2026-03-01 at 00:30 UTC is Monday 09:30 in Seoul.
    start = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    assert calendar.fits(start, start + minutes(60))


# --- reschedule_cascade ------------------------------------------------------------------------

WEEKLY_FLEXIBLE = rules_for(count=4, low=5, preferred=7, high=10)
WEEKLY_TIGHT = rules_for(count=4, low=5, preferred=7, high=8)


def course(tz: ZoneInfo, *days: str, clock: str = "10:00", length: int = 60) -> list[BookedSession]:
    return [
        BookedSession(number, at(tz, day, clock), at(tz, day, clock) + minutes(length))
        for number, day in enumerate(days, start=1)
    ]


MONDAYS = ("2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23")


def cascade_for(
    rules: ProtocolRules,
    sessions: list[BookedSession],
    sequence: int,
    new_start: datetime,
    search: SlotSearch,
) -> Cascade:
    result = reschedule_cascade(
        rules=rules, sessions=sessions, sequence=sequence, new_start=new_start, search=search
    )
    assert isinstance(result, Cascade), getattr(result, "message", result)
    return result


def refused(
    rules: ProtocolRules,
    sessions: list[BookedSession],
    sequence: int,
    new_start: datetime,
    search: SlotSearch,
) -> NoFit:
    result = reschedule_cascade(
        rules=rules, sessions=sessions, sequence=sequence, new_start=new_start, search=search
    )
    assert isinstance(result, NoFit), result
    return result


def test_moving_session_two_a_day_later_leaves_session_three_inside_its_window() -> None:
    sessions = course(SEOUL, *MONDAYS)
    new_start = at(SEOUL, "2026-03-10", "10:00")

    cascade = cascade_for(WEEKLY_FLEXIBLE, sessions, 2, new_start, search_for())

    assert cascade.moves == (Move(2, sessions[1].starts_at, new_start, new_start + minutes(60)),)


def test_moving_session_two_later_moves_session_three_when_its_window_demands_it() -> None:
    sessions = course(SEOUL, *MONDAYS)

    cascade = cascade_for(
        WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-12", "10:00"), search_for()
    )

    # Session 3 (Monday 16th) would be 4 days after Thursday 12th; it moves to the first day of its
    # window at its own time. Session 4 (Monday 23rd) is 6 days after that and stays.
    assert cascade.moves == (
        Move(2, at(SEOUL, "2026-03-09"), at(SEOUL, "2026-03-12"), at(SEOUL, "2026-03-12", "11:00")),
        Move(3, at(SEOUL, "2026-03-16"), at(SEOUL, "2026-03-17"), at(SEOUL, "2026-03-17", "11:00")),
    )


def test_moving_session_two_earlier_pulls_session_three_into_its_window() -> None:
    sessions = course(SEOUL, *MONDAYS)
    search = search_for(hours=EVERY_DAY)

    cascade = cascade_for(WEEKLY_TIGHT, sessions, 2, at(SEOUL, "2026-03-07", "10:00"), search)

    # Monday 16th would be 9 days after Saturday 7th (at most 8): session 3 comes forward to the
    # 15th; session 4 (23rd) is then 8 days after it and stays.
    assert [(m.sequence, f"{m.new_start:%Y-%m-%d %H:%M}") for m in cascade.moves] == [
        (2, "2026-03-07 10:00"),
        (3, "2026-03-15 10:00"),
    ]


def test_a_cascade_runs_on_as_far_as_the_windows_demand() -> None:
    sessions = course(SEOUL, *MONDAYS)
    rules = rules_for(count=4, low=7, preferred=7, high=7)

    cascade = cascade_for(rules, sessions, 1, at(SEOUL, "2026-03-03", "10:00"), search_for())

    assert [(m.sequence, f"{m.new_start:%Y-%m-%d %H:%M}") for m in cascade.moves] == [
        (1, "2026-03-03 10:00"),
        (2, "2026-03-10 10:00"),
        (3, "2026-03-17 10:00"),
        (4, "2026-03-24 10:00"),
    ]


def test_moving_the_first_session_has_no_window_before_it() -> None:
    sessions = course(SEOUL, *MONDAYS)

    cascade = cascade_for(
        WEEKLY_FLEXIBLE, sessions, 1, at(SEOUL, "2026-02-23", "15:00"), search_for()
    )

    # Session 2 on the 9th is 14 days after the 23rd (at most 10): it comes forward to the 5th.
    # Session 3 on the 16th is then 11 days on: its window is the 10th-15th, the 15th is a
    # Sunday, and the nearest day open at its 10:00 is Friday. Session 4 is 10 days after that.
    assert [(m.sequence, f"{m.new_start:%Y-%m-%d %a %H:%M}") for m in cascade.moves] == [
        (1, "2026-02-23 Mon 15:00"),
        (2, "2026-03-05 Thu 10:00"),
        (3, "2026-03-13 Fri 10:00"),
    ]


def test_moving_a_session_within_its_own_day_moves_nothing_else() -> None:
    sessions = course(SEOUL, *MONDAYS)

    cascade = cascade_for(WEEKLY_TIGHT, sessions, 3, at(SEOUL, "2026-03-16", "16:30"), search_for())

    assert [(m.sequence, m.new_start) for m in cascade.moves] == [
        (3, at(SEOUL, "2026-03-16", "16:30"))
    ]
    assert cascade.moves[0].new_end == at(SEOUL, "2026-03-16", "17:30")


def test_moving_the_last_session_moves_only_it() -> None:
    sessions = course(SEOUL, *MONDAYS)

    cascade = cascade_for(
        WEEKLY_FLEXIBLE, sessions, 4, at(SEOUL, "2026-03-26", "10:00"), search_for()
    )

    assert [m.sequence for m in cascade.moves] == [4]


def test_a_moved_later_session_keeps_its_time_of_day_on_the_nearest_free_day() -> None:
    sessions = course(SEOUL, *MONDAYS)
    search = search_for(bookings=(busy(at(SEOUL, "2026-03-17", "10:00"), 45),))

    cascade = cascade_for(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-12", "10:00"), search)

    # Its window is the 17th–22nd; 10:00 on the 17th is taken, 10:00 on the 18th is not.
    assert cascade.moves[1].sequence == 3
    assert cascade.moves[1].new_start == at(SEOUL, "2026-03-18", "10:00")


def test_sessions_given_out_of_order_are_taken_in_sequence() -> None:
    sessions = course(SEOUL, *MONDAYS)

    cascade = cascade_for(
        WEEKLY_FLEXIBLE, list(reversed(sessions)), 2, at(SEOUL, "2026-03-12", "10:00"), search_for()
    )

    assert [m.sequence for m in cascade.moves] == [2, 3]


def test_a_move_outside_the_window_after_the_previous_session_is_refused() -> None:
    sessions = course(SEOUL, *MONDAYS)

    no_fit = refused(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-13", "10:00"), search_for())

    assert no_fit.sequence == 2
    assert (no_fit.window_first_day, no_fit.window_last_day) == (
        date(2026, 3, 7),
        date(2026, 3, 12),
    )
    assert explain_obstacle(no_fit) == "it must be 5–10 days after session 1 (Mon 2 Mar 2026)"
    assert explain_no_fit(no_fit).startswith(
        "Session 2 cannot be placed between Sat 7 Mar 2026 and Thu 12 Mar 2026; "
        "it must be 5–10 days after "
        "session 1 (Mon 2 Mar 2026)"
    )


def test_a_move_too_soon_after_the_previous_session_is_refused() -> None:
    sessions = course(SEOUL, *MONDAYS)

    no_fit = refused(WEEKLY_FLEXIBLE, sessions, 3, at(SEOUL, "2026-03-13", "10:00"), search_for())

    assert no_fit.sequence == 3
    assert "5–10 days after session 2 (Mon 9 Mar 2026)" in explain_no_fit(no_fit)


def test_a_move_onto_a_booked_slot_is_refused() -> None:
    sessions = course(SEOUL, *MONDAYS)
    search = search_for(bookings=(busy(at(SEOUL, "2026-03-10", "10:30"), 30, "Kim"),))

    no_fit = refused(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-10", "10:00"), search)

    assert no_fit.sequence == 2
    assert no_fit.cause == Obstacle.BOOKED
    assert no_fit.window_first_day == no_fit.window_last_day == date(2026, 3, 10)
    assert explain_obstacle(no_fit) == "the practitioner or room is already booked then"
    assert explain_no_fit(no_fit) == (
        "Session 2 cannot be placed at Tue 10 Mar 2026, 10:00; "
        "the practitioner or room is already booked then."
    )


def test_a_move_back_to_back_with_a_booking_is_accepted() -> None:
    sessions = course(SEOUL, *MONDAYS)
    search = search_for(
        bookings=(
            busy(at(SEOUL, "2026-03-10", "09:00"), 60),
            busy(at(SEOUL, "2026-03-10", "11:00"), 60),
        )
    )

    cascade = cascade_for(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-10", "10:00"), search)

    assert [m.sequence for m in cascade.moves] == [2]


def test_a_move_outside_opening_hours_is_refused() -> None:
    sessions = course(SEOUL, *MONDAYS)

    no_fit = refused(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-10", "17:30"), search_for())

    assert no_fit.cause == Obstacle.CLOSED
    assert explain_obstacle(no_fit) == "that time is outside opening hours"


def test_a_move_onto_a_closed_day_is_refused() -> None:
    sessions = course(SEOUL, *MONDAYS)
    search = search_for(closures=(Closure(date(2026, 3, 10), date(2026, 3, 10), "holiday"),))

    no_fit = refused(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-10", "10:00"), search)

    assert no_fit.cause == Obstacle.CLOSED
    assert explain_no_fit(no_fit) == (
        "Session 2 cannot be placed at Tue 10 Mar 2026, 10:00; the clinic is closed on "
        "Tue 10 Mar 2026 (holiday)."
    )


def test_a_completed_later_session_that_would_have_to_move_refuses_the_cascade() -> None:
    sessions = course(SEOUL, *MONDAYS)
    sessions[2] = BookedSession(3, sessions[2].starts_at, sessions[2].ends_at, movable=False)

    no_fit = refused(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-12", "10:00"), search_for())

    assert no_fit.sequence == 3
    assert explain_obstacle(no_fit) == "session 3 has already taken place"
    assert (no_fit.window_first_day, no_fit.window_last_day) == (
        date(2026, 3, 17),
        date(2026, 3, 22),
    )


def test_a_completed_later_session_still_inside_its_window_is_left_alone() -> None:
    sessions = course(SEOUL, *MONDAYS)
    sessions[2] = BookedSession(3, sessions[2].starts_at, sessions[2].ends_at, movable=False)

    cascade = cascade_for(
        WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-10", "10:00"), search_for()
    )

    assert [m.sequence for m in cascade.moves] == [2]


def test_a_later_session_with_no_free_slot_in_its_new_window_refuses_the_cascade() -> None:
    sessions = course(SEOUL, *MONDAYS)
    search = search_for(closures=(Closure(date(2026, 3, 17), date(2026, 3, 22), "renovation"),))

    no_fit = refused(WEEKLY_FLEXIBLE, sessions, 2, at(SEOUL, "2026-03-12", "10:00"), search)

    assert no_fit.sequence == 3
    assert (no_fit.window_first_day, no_fit.window_last_day) == (
        date(2026, 3, 17),
        date(2026, 3, 22),
    )
    assert explain_no_fit(no_fit) == (
        "Session 3 cannot be placed between Tue 17 Mar 2026 and Sun 22 Mar 2026; "
        "the clinic is closed on "
        "Tue 17 Mar 2026 to Sun 22 Mar 2026 (renovation)."
    )


def test_an_unknown_session_cannot_be_moved() -> None:
    with pytest.raises(ValueError, match="Session 5 is not one of the course's initial sessions"):
        reschedule_cascade(
            rules=WEEKLY_FLEXIBLE,
            sessions=course(SEOUL, *MONDAYS),
            sequence=5,
            new_start=at(SEOUL, "2026-04-01"),
            search=search_for(),
        )


def test_a_session_that_has_taken_place_cannot_be_moved() -> None:
    sessions = course(SEOUL, *MONDAYS)
    sessions[0] = BookedSession(1, sessions[0].starts_at, sessions[0].ends_at, movable=False)

    with pytest.raises(ValueError, match="Session 1 has already taken place"):
        reschedule_cascade(
            rules=WEEKLY_FLEXIBLE,
            sessions=sessions,
            sequence=1,
            new_start=at(SEOUL, "2026-03-03"),
            search=search_for(),
        )


def test_a_cascade_keeps_ten_oclock_local_across_the_spring_dst_change() -> None:
    sessions = course(NEW_YORK, "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16")
    rules = rules_for(count=4, low=7, preferred=7, high=7)

    cascade = cascade_for(
        rules, sessions, 1, at(NEW_YORK, "2026-02-24", "10:00"), search_for(NEW_YORK)
    )

    assert [f"{m.new_start.astimezone(NEW_YORK):%Y-%m-%d %H:%M %z}" for m in cascade.moves] == [
        "2026-02-24 10:00 -0500",
        "2026-03-03 10:00 -0500",
        "2026-03-10 10:00 -0400",
        "2026-03-17 10:00 -0400",
    ]
    assert all(absolute_length(m.new_start, m.new_end) == minutes(60) for m in cascade.moves)
