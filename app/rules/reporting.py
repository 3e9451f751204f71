"""Reporting rules (pure): small-number suppression, percentile positions and CSV cells."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from app.errors import RuleViolation


@dataclass(frozen=True)
class Cell:
    value: int | None
    suppressed: bool


def suppress(count: int, *, threshold: int, apply: bool) -> Cell:
    """Counts from 1 to threshold-1 are withheld for callers who must not see small numbers,
    as official statistics do; zero is shown (it identifies no one)."""
    if apply and 0 < count < threshold:
        return Cell(None, True)
    return Cell(count, False)


def percentile_ranks(n: int, p: float) -> tuple[int, int, float]:
    """1-based ranks around the p-th percentile of n sorted values, and the weight of the upper
    one, for linear interpolation (the method of PostgreSQL's percentile_cont)."""
    if n <= 0:
        raise ValueError("no values")
    position = 1 + p * (n - 1)
    low = math.floor(position)
    high = math.ceil(position)
    return low, high, position - low


def interpolate(low_value: float, high_value: float, weight: float) -> float:
    return low_value + (high_value - low_value) * weight


def percentage(part: int, whole: int) -> float | None:
    """Percent to one decimal place, halves rounded up (as people and spreadsheets do)."""
    if whole == 0:
        return None
    exact = Decimal(100 * part) / Decimal(whole)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percentile_from_histogram(histogram: dict[int, int], p: float) -> float | None:
    """The p-th percentile (interpolated like percentile_cont) of values given as
    {value: how many}, so the database can return counts per value instead of rows."""
    n = sum(histogram.values())
    if n == 0:
        return None
    low, high, weight = percentile_ranks(n, p)
    values: dict[int, float] = {}
    seen = 0
    for value in sorted(histogram):
        first, seen = seen + 1, seen + histogram[value]
        for rank in (low, high):
            if first <= rank <= seen:
                values[rank] = float(value)
        if high in values:
            break
    return interpolate(values[low], values[high], weight)


def check_period(period_from: date | None, period_to: date | None) -> None:
    if period_from and period_to and period_from > period_to:
        raise RuleViolation("`from` must not be after `to`", code="validation_error")


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (an agency named
    `=HYPERLINK(...)`) gets a leading single quote, so it is shown as the text it is.
    Numbers are left alone: they are written by the service, never by a caller."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
