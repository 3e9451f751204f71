"""Unit tests for app.rules.calendar: working days, deadlines, explanations, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.calendar import (
    JURISDICTIONS,
    MAX_DAYS,
    DeadlineComputation,
    SkippedDay,
    WorkingCalendar,
    is_valid_timezone,
)

SUBDIV = {"england": "ENG", "wales": "WLS", "scotland": "SCT", "northern_ireland": "NIR"}

# --------------------------------------------------------------------------- spec examples


@pytest.mark.parametrize(
    ("jurisdiction", "start", "n", "due"),
    [
        ("england", date(2025, 12, 18), 5, date(2025, 12, 29)),
        ("england", date(2025, 12, 29), 5, date(2026, 1, 6)),
        ("scotland", date(2025, 12, 29), 5, date(2026, 1, 7)),
        ("scotland", date(2025, 11, 27), 5, date(2025, 12, 5)),
        ("england", date(2025, 11, 27), 5, date(2025, 12, 4)),
    ],
)
def test_spec_examples(jurisdiction: str, start: date, n: int, due: date) -> None:
    result = WorkingCalendar(jurisdiction).add_working_days(start, n)
    assert isinstance(result, DeadlineComputation)
    assert result.start_date == start
    assert result.due_date == due
    assert result.unit == "working_days"
    assert result.amount == n


def test_spec_example_explanation_and_skipped() -> None:
    result = WorkingCalendar("england").add_working_days(date(2025, 12, 18), 5)
    assert "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day" in result.explanation
    assert result.explanation == (
        "5 working days after 2025-12-18 (weekends not counted); "
        "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day"
    )
    assert result.skipped == (
        SkippedDay(date(2025, 12, 25), "Christmas Day"),
        SkippedDay(date(2025, 12, 26), "Boxing Day"),
    )


def test_scotland_skips_second_of_january() -> None:
    result = WorkingCalendar("scotland").add_working_days(date(2025, 12, 29), 5)
    assert [s.day for s in result.skipped] == [date(2026, 1, 1), date(2026, 1, 2)]


def test_st_andrews_day_observed_is_skipped_in_scotland_only() -> None:
    scot = WorkingCalendar("scotland").add_working_days(date(2025, 11, 27), 5)
    # 30 Nov 2025 is a Sunday: not listed; the Monday substitute is.
    assert scot.skipped == (SkippedDay(date(2025, 12, 1), "Saint Andrew's Day (observed)"),)
    eng = WorkingCalendar("england").add_working_days(date(2025, 11, 27), 5)
    assert eng.skipped == ()


# --------------------------------------------------------------------------- holidays by nation


def test_easter_in_each_nation_matches_package() -> None:
    good_friday, easter_monday = date(2025, 4, 18), date(2025, 4, 21)
    # Verify the assumption against the package itself rather than hard-coding it.
    sct = holidays.country_holidays("GB", subdiv="SCT", years=2025)
    assert good_friday in sct
    assert easter_monday not in sct
    for jurisdiction in ("england", "wales", "northern_ireland"):
        cal = WorkingCalendar(jurisdiction)
        assert cal.holiday_name(good_friday) == "Good Friday"
        assert cal.holiday_name(easter_monday) == "Easter Monday"
        assert cal.add_working_days(date(2025, 4, 17), 1).due_date == date(2025, 4, 22)
    scotland = WorkingCalendar("scotland")
    assert scotland.holiday_name(good_friday) == "Good Friday"
    assert scotland.holiday_name(easter_monday) is None
    assert scotland.is_working_day(easter_monday)
    assert scotland.add_working_days(date(2025, 4, 17), 1).due_date == easter_monday


@pytest.mark.parametrize(
    ("jurisdiction", "bank_holiday"),
    [
        ("scotland", date(2025, 8, 4)),  # first Monday of August
        ("england", date(2025, 8, 25)),  # last Monday of August
        ("wales", date(2025, 8, 25)),
        ("northern_ireland", date(2025, 8, 25)),
    ],
)
def test_august_bank_holiday(jurisdiction: str, bank_holiday: date) -> None:
    cal = WorkingCalendar(jurisdiction)
    other = date(2025, 8, 25) if bank_holiday == date(2025, 8, 4) else date(2025, 8, 4)
    assert not cal.is_working_day(bank_holiday)
    assert cal.is_working_day(other)
    friday_before = bank_holiday - timedelta(days=3)
    assert cal.add_working_days(friday_before, 1).due_date == bank_holiday + timedelta(days=1)


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_st_andrews_day_scotland_only(jurisdiction: str) -> None:
    st_andrews = date(2026, 11, 30)  # a Monday
    result = WorkingCalendar(jurisdiction).add_working_days(date(2026, 11, 27), 1)
    if jurisdiction == "scotland":
        assert result.due_date == date(2026, 12, 1)
        assert result.skipped == (SkippedDay(st_andrews, "Saint Andrew's Day"),)
    else:
        assert result.due_date == st_andrews
        assert result.skipped == ()


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_st_patricks_day_northern_ireland_only(jurisdiction: str) -> None:
    st_patricks = date(2026, 3, 17)  # a Tuesday
    cal = WorkingCalendar(jurisdiction)
    result = cal.add_working_days(date(2026, 3, 16), 1)
    if jurisdiction == "northern_ireland":
        assert cal.holiday_name(st_patricks) == "Saint Patrick's Day"
        assert result.due_date == date(2026, 3, 18)
    else:
        assert cal.holiday_name(st_patricks) is None
        assert result.due_date == st_patricks


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2025, 12, 25), "Christmas Day"),
        (date(2025, 12, 26), "Boxing Day"),
        (date(2026, 1, 1), "New Year's Day"),
    ],
)
def test_christmas_and_new_year_everywhere(jurisdiction: str, day: date, name: str) -> None:
    cal = WorkingCalendar(jurisdiction)
    assert cal.holiday_name(day) == name
    assert not cal.is_working_day(day)


def test_substitute_day_2022() -> None:
    cal = WorkingCalendar("england")
    assert cal.holiday_name(date(2022, 12, 27)) == "Christmas Day (observed)"
    result = cal.add_working_days(date(2022, 12, 23), 1)
    assert result.due_date == date(2022, 12, 28)
    # Christmas Day itself fell on a Sunday: a weekend, not listed.
    assert result.explanation == (
        "1 working day after 2022-12-23 (weekends not counted); "
        "skipped 2022-12-26 Boxing Day, 2022-12-27 Christmas Day (observed)"
    )


def test_local_closure() -> None:
    cal = WorkingCalendar("england", closure_dates=[date(2025, 12, 24), date(2025, 12, 27)])
    assert cal.holiday_name(date(2025, 12, 24)) == "local closure"
    assert cal.holiday_name(date(2025, 12, 25)) == "Christmas Day"
    assert not cal.is_working_day(date(2025, 12, 24))
    result = cal.add_working_days(date(2025, 12, 22), 3)
    assert result.due_date == date(2025, 12, 30)
    # The Saturday closure is not listed: it was a weekend anyway.
    assert result.explanation.endswith(
        "skipped 2025-12-24 local closure, 2025-12-25 Christmas Day, 2025-12-26 Boxing Day"
    )
    assert WorkingCalendar("england").add_working_days(date(2025, 12, 22), 3).due_date == date(2025, 12, 29)


# --------------------------------------------------------------------------- instants and BST


def test_due_at_in_summer_is_2259_utc() -> None:
    cal = WorkingCalendar("england")
    result = cal.add_working_days(date(2025, 6, 10), 5)
    assert result.due_date == date(2025, 6, 17)
    assert result.due_at == datetime(2025, 6, 17, 22, 59, 59, 999999, tzinfo=UTC)
    assert result.due_at.utcoffset() == timedelta(0)
    assert cal.local_date(result.due_at) == result.due_date


def test_due_at_in_winter_is_2359_utc() -> None:
    cal = WorkingCalendar("wales")
    result = cal.add_working_days(date(2025, 12, 1), 5)
    assert result.due_at == datetime(2025, 12, 8, 23, 59, 59, 999999, tzinfo=UTC)
    assert cal.local_date(result.due_at) == result.due_date


@pytest.mark.parametrize(
    ("day", "hour"),
    [
        (date(2025, 3, 29), 23),  # Saturday before clocks go forward
        (date(2025, 3, 30), 22),  # the day clocks go forward
        (date(2025, 10, 25), 22),  # Saturday before clocks go back
        (date(2025, 10, 26), 23),  # the day clocks go back
    ],
)
def test_end_of_day_around_clock_changes(day: date, hour: int) -> None:
    cal = WorkingCalendar("england")
    instant = cal.end_of_day(day)
    assert instant == datetime.combine(day, datetime.min.time(), UTC).replace(
        hour=hour, minute=59, second=59, microsecond=999999
    )
    assert cal.local_date(instant) == day
    assert cal.local_date(instant + timedelta(microseconds=1)) == day + timedelta(days=1)


def test_other_time_zone() -> None:
    cal = WorkingCalendar("england", timezone="America/New_York")
    assert cal.end_of_day(date(2025, 12, 8)) == datetime(2025, 12, 9, 4, 59, 59, 999999, tzinfo=UTC)
    assert cal.local_date(datetime(2025, 12, 9, 3, 0, tzinfo=UTC)) == date(2025, 12, 8)


def test_local_date_accepts_any_aware_instant_and_refuses_naive() -> None:
    cal = WorkingCalendar("england")
    plus_two = timezone(timedelta(hours=2))
    assert cal.local_date(datetime(2025, 7, 1, 0, 30, tzinfo=plus_two)) == date(2025, 6, 30)
    with pytest.raises(ValueError):
        cal.local_date(datetime(2025, 7, 1, 12, 0))  # deliberately naive


# --------------------------------------------------------------------------- explanations, units


def test_explanation_when_only_weekends_skipped() -> None:
    result = WorkingCalendar("england").add_working_days(date(2025, 12, 1), 5)
    assert result.due_date == date(2025, 12, 8)
    assert result.skipped == ()
    assert result.explanation == (
        "5 working days after 2025-12-01 (weekends not counted); no bank holidays or closures in the period"
    )


def test_calendar_days() -> None:
    result = WorkingCalendar("england").add_calendar_days(date(2025, 12, 1), 28)
    assert result.due_date == date(2025, 12, 29)
    assert result.unit == "calendar_days"
    assert result.amount == 28
    assert result.skipped == ()
    assert result.explanation == "28 calendar days after 2025-12-01"
    assert result.due_at == datetime(2025, 12, 29, 23, 59, 59, 999999, tzinfo=UTC)


def test_calendar_days_may_land_on_a_holiday() -> None:
    result = WorkingCalendar("england").add_calendar_days(date(2025, 11, 27), 28)
    assert result.due_date == date(2025, 12, 25)


def test_zero_working_days_is_the_start_date_even_on_a_weekend() -> None:
    cal = WorkingCalendar("england")
    saturday = date(2025, 12, 27)
    result = cal.add_working_days(saturday, 0)
    assert result.due_date == saturday
    assert result.skipped == ()
    assert result.due_at == cal.end_of_day(saturday)


def test_long_period_crosses_years() -> None:
    cal = WorkingCalendar("northern_ireland")
    start = date(2024, 12, 30)
    result = cal.add_working_days(start, 600)
    assert cal.working_days_between(start, result.due_date) == 600
    assert cal.is_working_day(result.due_date)


def test_working_days_between_examples() -> None:
    cal = WorkingCalendar("england")
    assert cal.working_days_between(date(2025, 12, 18), date(2025, 12, 29)) == 5
    assert cal.working_days_between(date(2025, 12, 18), date(2025, 12, 18)) == 0
    assert cal.working_days_between(date(2025, 12, 29), date(2025, 12, 18)) == 0
    # 20, 21 weekend; 22, 23, 24 working; 25, 26 holidays; 27, 28 weekend -> 3
    assert cal.working_days_between(date(2025, 12, 19), date(2025, 12, 28)) == 3


# --------------------------------------------------------------------------- refusals


def test_refusals() -> None:
    with pytest.raises(ValueError, match="jurisdiction"):
        WorkingCalendar("ireland")
    with pytest.raises(ValueError, match="jurisdiction"):
        WorkingCalendar("")
    with pytest.raises(ValueError, match="time zone"):
        WorkingCalendar("england", timezone="Europe/Atlantis")
    with pytest.raises(ValueError, match="time zone"):
        WorkingCalendar("england", timezone="")
    cal = WorkingCalendar("england")
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 1, 1), -1)
    with pytest.raises(ValueError):
        cal.add_calendar_days(date(2025, 1, 1), -1)
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 1, 1), MAX_DAYS + 1)
    cal.add_working_days(date(2025, 1, 1), MAX_DAYS)  # the bound itself is allowed


def test_is_valid_timezone() -> None:
    assert is_valid_timezone("Europe/London")
    assert is_valid_timezone("UTC")
    assert not is_valid_timezone("Europe/Atlantis")
    assert not is_valid_timezone("")
    assert not is_valid_timezone("../../etc/passwd")


# --------------------------------------------------------------------------- properties

jurisdictions = st.sampled_from(JURISDICTIONS)
start_dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
closure_sets = st.frozensets(st.dates(min_value=date(2015, 1, 1), max_value=date(2036, 6, 30)), max_size=5)
amounts = st.integers(min_value=0, max_value=40)


def _oracle_is_working_day(jurisdiction: str, closures: frozenset[date], day: date) -> bool:
    """Independent definition straight from the package, for cross-checking."""
    bank = holidays.country_holidays("GB", subdiv=SUBDIV[jurisdiction], years=day.year)
    return day.weekday() < 5 and day not in bank and day not in closures


def _count_working(cal: WorkingCalendar, start: date, end: date) -> int:
    count, day = 0, start + timedelta(days=1)
    while day <= end:
        count += cal.is_working_day(day)
        day += timedelta(days=1)
    return count


@settings(max_examples=150, deadline=None)
@given(jurisdictions, start_dates, amounts, closure_sets)
def test_property_due_date(jurisdiction: str, start: date, n: int, closures: frozenset[date]) -> None:
    cal = WorkingCalendar(jurisdiction, closure_dates=closures)
    result = cal.add_working_days(start, n)
    if n >= 1:
        assert cal.is_working_day(result.due_date)
        assert result.due_date > start
    else:
        assert result.due_date == start
    assert _count_working(cal, start, result.due_date) == n
    assert cal.working_days_between(start, result.due_date) == n
    assert cal.local_date(result.due_at) == result.due_date
    # every non-working weekday in the period is reported, and nothing else
    expected_skipped = [
        d
        for d in (start + timedelta(days=i) for i in range(1, (result.due_date - start).days))
        if d.weekday() < 5 and not cal.is_working_day(d)
    ]
    assert [s.day for s in result.skipped] == expected_skipped


@settings(max_examples=100, deadline=None)
@given(jurisdictions, start_dates, st.integers(0, 30), amounts, closure_sets)
def test_property_monotonic(
    jurisdiction: str, start: date, gap: int, n: int, closures: frozenset[date]
) -> None:
    cal = WorkingCalendar(jurisdiction, closure_dates=closures)
    later = start + timedelta(days=gap)
    assert cal.add_working_days(start, n).due_date <= cal.add_working_days(later, n).due_date


@settings(max_examples=100, deadline=None)
@given(jurisdictions, start_dates, closure_sets)
def test_property_is_working_day_matches_package(
    jurisdiction: str, day: date, closures: frozenset[date]
) -> None:
    cal = WorkingCalendar(jurisdiction, closure_dates=closures)
    assert cal.is_working_day(day) == _oracle_is_working_day(jurisdiction, closures, day)


@settings(max_examples=100, deadline=None)
@given(jurisdictions, start_dates, st.integers(-10, 800), closure_sets)
def test_property_working_days_between_matches_brute_force(
    jurisdiction: str, start: date, span: int, closures: frozenset[date]
) -> None:
    cal = WorkingCalendar(jurisdiction, closure_dates=closures)
    end = start + timedelta(days=span)
    assert cal.working_days_between(start, end) == _count_working(cal, start, end)
