"""Unit tests for app.rules.reporting (SPEC §10 and the reporting issue): small-number
suppression, percentile positions interpolated like PostgreSQL's percentile_cont (checked
against Python's statistics.quantiles(method='inclusive')), and the percentage met."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.reporting import Cell, interpolate, percentage, percentile_ranks, suppress

# ---- suppression ------------------------------------------------------------------------------


def test_zero_is_shown_even_when_suppression_applies() -> None:
    assert suppress(0, threshold=5, apply=True) == Cell(0, False)


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_counts_one_to_four_are_withheld_when_suppression_applies(count: int) -> None:
    cell = suppress(count, threshold=5, apply=True)
    assert cell.value is None
    assert cell.suppressed is True


@pytest.mark.parametrize("count", [5, 6, 17, 1000])
def test_counts_at_or_above_the_threshold_are_shown(count: int) -> None:
    assert suppress(count, threshold=5, apply=True) == Cell(count, False)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5, 99])
def test_nothing_is_withheld_when_suppression_does_not_apply(count: int) -> None:
    assert suppress(count, threshold=5, apply=False) == Cell(count, False)


@pytest.mark.parametrize(
    ("threshold", "withheld", "shown"),
    [(3, [1, 2], [0, 3, 4]), (10, [1, 5, 9], [0, 10, 11]), (1, [], [0, 1, 2])],
)
def test_the_threshold_is_a_parameter(threshold: int, withheld: list[int], shown: list[int]) -> None:
    for count in withheld:
        assert suppress(count, threshold=threshold, apply=True) == Cell(None, True), count
    for count in shown:
        assert suppress(count, threshold=threshold, apply=True) == Cell(count, False), count


@given(count=st.integers(min_value=0, max_value=10_000), threshold=st.integers(min_value=1, max_value=100))
def test_suppression_withholds_exactly_the_small_positive_counts(count: int, threshold: int) -> None:
    applied = suppress(count, threshold=threshold, apply=True)
    if 0 < count < threshold:
        assert applied == Cell(None, True)
    else:
        assert applied == Cell(count, False)
    assert suppress(count, threshold=threshold, apply=False) == Cell(count, False)


# ---- percentile positions -----------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The rule under test, applied to a list the way the report applies it to ranked rows."""
    ordered = sorted(values)
    low, high, weight = percentile_ranks(len(ordered), p)
    return interpolate(ordered[low - 1], ordered[high - 1], weight)


@pytest.mark.parametrize(
    ("n", "p", "expected"),
    [
        (1, 0.5, (1, 1, 0.0)),
        (1, 0.9, (1, 1, 0.0)),
        (2, 0.5, (1, 2, 0.5)),
        (3, 0.5, (2, 2, 0.0)),
        (4, 0.5, (2, 3, 0.5)),
        (10, 0.9, (9, 10, pytest.approx(0.1))),
        (11, 0.9, (10, 10, 0.0)),
        (7, 0.9, (6, 7, pytest.approx(0.4))),
        (5, 0.0, (1, 1, 0.0)),
        (5, 1.0, (5, 5, 0.0)),
    ],
)
def test_percentile_ranks_table(n: int, p: float, expected: tuple[int, int, float]) -> None:
    assert percentile_ranks(n, p) == expected


def test_percentile_ranks_need_at_least_one_value() -> None:
    with pytest.raises(ValueError):
        percentile_ranks(0, 0.5)


def test_known_median_and_p90() -> None:
    # percentile_cont(0.5) of 1,2,2,3,5,8,13 is 3; percentile_cont(0.9): 8 + 0.4 * (13 - 8) = 10.
    values = [13, 2, 5, 1, 8, 3, 2]
    assert percentile(values, 0.5) == 3
    assert percentile(values, 0.9) == pytest.approx(10.0)
    # An even count interpolates between the middle two.
    assert percentile([1, 4], 0.5) == 2.5
    assert percentile([0, 1, 2, 10], 0.9) == pytest.approx(2 + 0.7 * 8)


def test_interpolate_endpoints_and_midpoint() -> None:
    assert interpolate(3.0, 7.0, 0.0) == 3.0
    assert interpolate(3.0, 7.0, 1.0) == 7.0
    assert interpolate(3.0, 7.0, 0.25) == 4.0
    assert interpolate(5.0, 5.0, 0.7) == 5.0


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=400), min_size=2, max_size=60))
def test_median_and_p90_match_statistics_quantiles_inclusive(values: list[int]) -> None:
    quartiles = statistics.quantiles(values, n=2, method="inclusive")
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    assert percentile(values, 0.5) == pytest.approx(quartiles[0])
    assert percentile(values, 0.5) == pytest.approx(statistics.median(values))
    assert percentile(values, 0.9) == pytest.approx(deciles[8])


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=2, max_size=40
    ),
    k=st.integers(min_value=1, max_value=99),
)
def test_every_percentile_matches_statistics_quantiles_inclusive(values: list[float], k: int) -> None:
    expected = statistics.quantiles(values, n=100, method="inclusive")[k - 1]
    assert percentile(values, k / 100) == pytest.approx(expected, rel=1e-9, abs=1e-6)


@given(n=st.integers(min_value=1, max_value=100_000), p=st.floats(min_value=0, max_value=1))
def test_ranks_stay_inside_the_list(n: int, p: float) -> None:
    low, high, weight = percentile_ranks(n, p)
    assert 1 <= low <= high <= n
    assert high - low in (0, 1)
    assert 0 <= weight < 1
    assert (weight == 0) == (low == high)


@given(value=st.integers(min_value=0, max_value=1000))
def test_single_value_is_its_own_percentile(value: int) -> None:
    assert percentile([value], 0.5) == value
    assert percentile([value], 0.9) == value


# ---- percentage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (0, 5, 0.0),
        (5, 5, 100.0),
        (1, 3, 33.3),
        (2, 3, 66.7),
        (1, 8, 12.5),
        (7, 9, 77.8),
        (1, 7, 14.3),
        (2, 7, 28.6),
        (199, 200, 99.5),
        (1999, 2000, 100.0),
    ],
)
def test_percentage_is_rounded_to_one_decimal_place(part: int, whole: int, expected: float) -> None:
    assert percentage(part, whole) == expected


@pytest.mark.parametrize("part", [0, 3])
def test_percentage_of_nothing_is_none(part: int) -> None:
    assert percentage(part, 0) is None


@pytest.mark.parametrize(("part", "whole", "expected"), [(1, 16, 6.3), (5, 16, 31.3), (1, 80, 1.3)])
def test_percentage_rounds_halves_up(part: int, whole: int, expected: float) -> None:
    # 1/16 is 6.25 %: "rounded to 1 dp" as a report reader, a spreadsheet or PostgreSQL's
    # round(numeric) would do it gives 6.3, not the banker's 6.2 of Python's round().
    assert percentage(part, whole) == expected


@given(whole=st.integers(min_value=1, max_value=10_000), data=st.data())
def test_percentage_is_within_a_twentieth_of_the_exact_value(whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(min_value=0, max_value=whole))
    result = percentage(part, whole)
    assert result is not None
    assert 0.0 <= result <= 100.0
    assert abs(result - 100 * part / whole) <= 0.05 + 1e-9
    assert round(result, 1) == result


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=80), st.sampled_from([0.5, 0.9]))
def test_percentile_from_histogram_matches_the_row_by_row_percentile(values, p):
    from app.rules.reporting import percentile_from_histogram

    histogram: dict[int, int] = {}
    for v in values:
        histogram[v] = histogram.get(v, 0) + 1
    if len(values) == 1:
        expected = float(values[0])
    else:
        expected = statistics.quantiles(values, n=100, method="inclusive")[round(p * 100) - 1]
    assert percentile_from_histogram(histogram, p) == pytest.approx(expected)


def test_percentile_from_histogram_of_nothing_is_none():
    from app.rules.reporting import percentile_from_histogram

    assert percentile_from_histogram({}, 0.5) is None
