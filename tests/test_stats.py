"""Count statistics: the change point finds a real onset, the G-test tells noise from a surge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from incident_flow.analysis.stats import change_point, rate_change


def test_the_change_point_finds_where_errors_started() -> None:
    counts = [1, 0, 2, 1, 0, 1, 1, 0, 2, 1] * 6 + [9, 12, 10, 11, 8, 13]
    point = change_point(counts)
    assert point is not None
    assert point.index == 60
    assert point.p_value < 1e-6


def test_a_flat_series_has_no_significant_change() -> None:
    point = change_point([3] * 100)
    assert point is None or point.p_value > 0.5


def test_a_new_pattern_after_a_long_quiet_baseline_is_significant() -> None:
    change = rate_change(before=0, minutes_before=110, after=25, minutes_after=10)
    assert change.p_value < 1e-6
    assert change.ratio > 20


def test_the_same_rate_is_not_a_surge() -> None:
    change = rate_change(before=110, minutes_before=110, after=10, minutes_after=10)
    assert change.p_value > 0.5


def test_three_after_zero_on_a_short_baseline_is_not_news() -> None:
    change = rate_change(before=2, minutes_before=5, after=3, minutes_after=5)
    assert change.p_value > 0.1


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=300))
def test_change_point_is_total_and_within_bounds(counts: list[int]) -> None:
    point = change_point(counts)
    if point is not None:
        assert 1 <= point.index < len(counts)
        assert 0.0 <= point.p_value <= 1.0
        assert point.rate_after > point.rate_before


@given(
    st.integers(min_value=0, max_value=10**6),
    st.floats(min_value=0, max_value=1e5),
    st.integers(min_value=0, max_value=10**6),
    st.floats(min_value=0, max_value=1e5),
)
def test_rate_change_p_value_is_a_probability(b: int, tb: float, a: int, ta: float) -> None:
    change = rate_change(b, tb, a, ta)
    assert 0.0 <= change.p_value <= 1.0
    assert change.g >= -1e-9
