"""The anomaly scorer against the traps real telemetry sets: flat baselines, drift, counters, gaps."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow.analysis.anomaly import (
    ScoreOptions,
    confidence,
    detect_onset,
    is_counter,
    metric_kind,
    rank_components,
    rank_series,
    score_series,
    to_rate,
)
from incident_flow.model import Category
from incident_flow.sources import MetricSeries

T0 = 1_700_000_000.0
ONSET = T0 + 600  # ten minutes of baseline at 1 Hz, then ten minutes after


def make(
    name: str,
    value: Callable[[float, bool], float],
    *,
    component: str | None = None,
    points: int = 1200,
    step: float = 1.0,
) -> MetricSeries:
    """A series from ``value(t, after_onset)``."""
    times = tuple(T0 + i * step for i in range(points))
    comp, _, metric = name.partition("_")
    return MetricSeries(
        name=name,
        component=component or comp,
        metric=metric or name,
        times=times,
        values=tuple(value(t, t >= ONSET) for t in times),
        source="test",
    )


def noise(seed: int, sigma: float) -> Callable[[], float]:
    rng = random.Random(seed)
    return lambda: rng.gauss(0.0, sigma)


def test_a_near_constant_baseline_with_a_tiny_shift_does_not_outrank_a_real_jump() -> None:
    # Memory that sat at exactly the same byte count, then moved by 0.4%: MAD is zero.
    flat = make("cache_mem", lambda t, after: 342_642_688.0 + (1_400_000.0 if after else 0.0))
    n = noise(1, 2.0)
    jump = make("api_cpu", lambda t, after: (50.0 if after else 10.0) + n())
    scores = {s.series.name: s.score for s in rank_series([flat, jump], ONSET)}
    assert scores["api_cpu"] > 10 * scores["cache_mem"]
    assert scores["cache_mem"] < 5  # under the reporting threshold


def test_a_five_fold_jump_is_scored_in_noise_units() -> None:
    n = noise(2, 1.0)
    score = score_series(make("api_cpu", lambda t, after: (100.0 if after else 20.0) + n()), ONSET)
    assert score is not None
    assert score.direction == "up" and score.transform == "level"
    assert 19 < score.baseline < 21 and 99 < score.after < 101
    assert 40 < score.score < 120  # 80 / max(1.0 sigma, 5% of 20)
    assert abs(score.departed_at - ONSET) <= 1
    assert score.ratio is not None and 4.5 < score.ratio < 5.5


def test_a_linearly_drifting_memory_is_not_an_anomaly() -> None:
    # A leak that was already going on: 6 MB a minute, as before the onset, so nothing changed.
    n = noise(3, 100_000.0)
    drift = make("app_mem", lambda t, after: 100_000_000.0 + 100_000.0 * (t - T0) + n(), points=1800)
    score = score_series(drift, ONSET)
    assert score is not None and score.score < 1
    assert score.transform == "detrended"
    # Against the baseline's median alone, the trap: the drift would look like a 5+ sigma rise.
    assert abs(score.after - score.baseline) / (1.4826 * 15_000_000) > 5


def test_a_jump_on_a_drifting_series_still_shows() -> None:
    n = noise(4, 1.0)
    drift = make("app_mem", lambda t, after: 1000.0 + 0.5 * (t - T0) + (400.0 if after else 0.0) + n())
    score = score_series(drift, ONSET)
    # 400 on a level of ~1150: a 35% rise, seven times the 5% relative floor.
    assert score is not None and score.score > 5
    assert abs(score.departed_at - ONSET) <= 1


def test_a_counter_is_scored_on_its_rate() -> None:
    rng = random.Random(5)
    total = 0.0
    values = []
    for i in range(1200):
        total += (50.0 if T0 + i >= ONSET else 10.0) + rng.uniform(-1, 1)
        if i == 300:
            total = 0.0  # a restart resets the counter
        values.append(total)
    series = MetricSeries(
        name="http_requests_total",
        component="api",
        metric="http_requests_total",
        times=tuple(T0 + i for i in range(1200)),
        values=tuple(values),
        source="t",
    )
    score = score_series(series, ONSET)
    assert score is not None and score.transform == "rate"
    assert 9 < score.baseline < 11 and 49 < score.after < 51
    assert score.unit == "/s"
    steady = make("api_requests_total", lambda t, after: 10.0 * (t - T0))
    assert score_series(steady, ONSET) is None  # a constant rate never moves


def test_counter_detection_by_name_and_by_shape() -> None:
    assert is_counter("errors_total", [1.0, 1.0])
    assert is_counter("x", [float(i * 3) for i in range(50)])
    assert is_counter("x", [float(i) for i in range(30)] + [0.0] + [float(i) for i in range(30)])  # one reset
    assert not is_counter("x", [float(i % 7) for i in range(50)])  # a saw-tooth gauge
    assert not is_counter("x", [5.0] * 50)
    times, rates = to_rate([0, 1, 2, 3, 5], [0.0, 2.0, math.nan, 6.0, 1.0])
    assert times == [1, 3, 5] and rates == [2.0, 2.0, 0.5]


def test_gaps_are_ignored() -> None:
    n = noise(6, 1.0)

    def value(t: float, after: bool) -> float:
        if int(t) % 3 == 0:
            return math.nan
        return (30.0 if after else 10.0) + n()

    score = score_series(make("api_cpu", value), ONSET)
    assert score is not None and score.score > 10
    assert score.baseline_points == 400 and score.after_points == 400


def test_too_few_points_or_no_movement_is_not_scored() -> None:
    assert score_series(make("a_b", lambda t, after: 1.0), ONSET) is None
    only_after = make("a_b", lambda t, after: 1.0 if after else math.nan)
    assert score_series(only_after, ONSET) is None
    assert score_series(make("a_b", lambda t, after: 2.0 if after else 1.0, points=603), ONSET) is not None
    assert score_series(make("a_b", lambda t, after: 2.0 if after else 1.0, points=601), ONSET) is None


def test_a_single_spike_is_not_an_incident_but_a_sustained_shift_is() -> None:
    n = noise(7, 1.0)
    spike = make("api_lat", lambda t, after: 10.0 + n() + (500.0 if t == ONSET + 100 else 0.0))
    short = make("api_cpu", lambda t, after: 10.0 + n() + (40.0 if ONSET + 100 <= t < ONSET + 220 else 0.0))
    assert (score_series(spike, ONSET) or _zero()).score < 3
    assert (score_series(short, ONSET) or _zero()).score > 20  # two minutes of a ten-minute window


def _zero() -> object:
    class Zero:
        score = 0.0

    return Zero()


def test_different_scales_rank_by_departure_not_by_unit() -> None:
    a, b = noise(8, 1e6), noise(9, 0.001)
    big = make("db_mem", lambda t, after: 8e9 + a())  # bytes, unchanged
    small = make("api_lat", lambda t, after: (0.05 if after else 0.01) + b())  # seconds, 5x
    ranked = rank_series([big, small], ONSET)
    assert ranked[0].series.name == "api_lat"


def test_components_take_their_most_departed_series_and_symptoms_are_marked() -> None:
    n = noise(10, 1.0)
    series = [
        make("payments_cpu", lambda t, after: (90.0 if after else 20.0) + n()),
        make("payments_mem", lambda t, after: 500.0 + n()),
        make("checkout_lat_99", lambda t, after: (3.0 if after else 1.0) + 0.01 * n()),
        make("quiet_cpu", lambda t, after: 5.0 + n()),
    ]
    components = rank_components(rank_series(series, ONSET))
    assert [c.component for c in components] == ["payments", "checkout"]
    payments, checkout = components
    assert not payments.symptom and payments.lead.series.name == "payments_cpu"
    assert checkout.symptom and checkout.lead.kind.name == "latency"


def test_metric_kinds_follow_the_report_rules() -> None:
    assert metric_kind("cpu").category is Category.PERFORMANCE
    assert metric_kind("process_cpu_seconds_total").name == "cpu"
    assert metric_kind("container_memory_working_set_bytes").category is Category.INFRASTRUCTURE
    assert metric_kind("node_memory_MemAvailable_bytes").name == "memory"
    assert metric_kind("node_filesystem_avail_bytes").name == "disk"
    assert metric_kind("process_open_fds").category is Category.INFRASTRUCTURE
    assert metric_kind("lat_99").symptom and metric_kind("http_request_duration_seconds").name == "latency"
    assert metric_kind("http_requests_errors_total").symptom
    assert metric_kind("http_requests_total").name == "traffic"
    assert metric_kind("db_pool_waiting").name == "concurrency"
    assert metric_kind("node_load1").name == "cpu" and metric_kind("load_1m").name == "cpu"
    assert metric_kind("widgets").category is None


def test_confidence_is_monotone_and_capped() -> None:
    values = [confidence(s) for s in (0, 1, 5, 10, 30, 100, 990, 1000, 1e6)]
    assert values == sorted(values) and values[0] == 0.0
    assert all(v < 0.9 for v in values)
    assert confidence(990) != confidence(1000)
    assert confidence(math.nan) == 0.0


def test_detect_onset_finds_the_step() -> None:
    n = noise(11, 1.0)
    series = [make(f"svc{i}_cpu", lambda t, after: 10.0 + n()) for i in range(10)]
    series.append(make("bad_cpu", lambda t, after: (60.0 if t >= ONSET + 120 else 10.0) + n()))
    estimate = detect_onset(series, ONSET + 300)
    assert estimate is not None
    assert abs(estimate.at.timestamp() - (ONSET + 120)) <= 2


def test_detect_onset_says_nothing_about_noise() -> None:
    n = noise(12, 1.0)
    series = [make(f"svc{i}_cpu", lambda t, after: 10.0 + n()) for i in range(10)]
    assert detect_onset(series, datetime.fromtimestamp(ONSET, UTC)) is None


def test_a_horizon_limits_the_after_window() -> None:
    n = noise(13, 1.0)
    late = make("api_cpu", lambda t, after: 10.0 + n() + (80.0 if t >= ONSET + 400 else 0.0))
    assert (score_series(late, ONSET) or _zero()).score > 20
    assert (score_series(late, ONSET, options=ScoreOptions(horizon_s=300)) or _zero()).score < 3


# -- resources that fill up --------------------------------------------------------------------------

LONG_ONSET = T0 + 5400  # an hour and a half of history at 30 s steps, then half an hour


def long_series(name: str, value: Callable[[float], float]) -> MetricSeries:
    """Two hours at 30 s steps, the shape of a leak's or a filling disk's window."""
    times = tuple(T0 + 30.0 * i for i in range(240))
    comp, _, metric = name.partition("_")
    return MetricSeries(name, comp, metric, times, tuple(value(t) for t in times), "test")


def leak(t: float, n: Callable[[], float], *, start: float = T0 + 2400, kill: float = LONG_ONSET) -> float:
    """845 MB for the first 40 minutes, climbing to ~1000 MB at the kill, ~580 MB after the restart."""
    if t < start:
        return 845.0 + n()
    if t < kill:
        return 845.0 + 155.0 * (t - start) / (kill - start) + n()
    return 580.0 + 2.0 * (t - kill) / 60.0 + n()


def test_a_leak_that_climbed_for_an_hour_before_the_kill_is_growth() -> None:
    # The baseline just before the kill is the climb itself, so a step test sees only the restart's
    # fall; the quiet start of the window shows the growth.
    n = noise(20, 6.0)
    score = score_series(long_series("catalog_mem", lambda t: leak(t, n)), LONG_ONSET)
    assert score is not None and score.transform == "growth"
    assert score.direction == "up" and score.kind.name == "memory"
    assert 835 < score.baseline < 855 and 960 < score.after < 1005
    assert score.score > 10
    # Half-way up the climb, long before the onset: when the leak became material.
    assert T0 + 2400 < score.departed_at < LONG_ONSET - 600


def test_a_disk_filling_to_its_ceiling_before_the_onset_is_growth() -> None:
    n = noise(21, 0.004)

    def used(t: float) -> float:
        return min(1.0, 0.55 + max(0.0, t - (T0 + 1800)) * 0.45 / 3300) + (n() if t < LONG_ONSET - 300 else 0)

    score = score_series(long_series("db_filesystem_used_ratio", used), LONG_ONSET)
    assert score is not None and score.transform == "growth" and score.kind.name == "disk"
    assert 0.53 < score.baseline < 0.57 and score.after > 0.99
    assert score.unit == "ratio"


def test_memory_that_churns_by_a_few_percent_is_not_growth() -> None:
    n = noise(22, 8.0)
    churn = long_series("cart_mem", lambda t: 300.0 + 20.0 * (t - T0) / 7200 + n())
    score = score_series(churn, LONG_ONSET)
    assert score is None or (score.transform != "growth" and score.score < 5)


def test_a_leak_that_was_already_climbing_at_the_start_is_not_news() -> None:
    # The quiet start itself rises at the same pace: the drift merely continued.
    n = noise(23, 2.0)
    drift = long_series("app_mem", lambda t: 500.0 + 0.2 * (t - T0) + n())
    score = score_series(drift, LONG_ONSET)
    assert score is not None and score.transform != "growth" and score.score < 5


def test_only_filling_resources_are_measured_from_the_start() -> None:
    n = noise(24, 1.0)
    climb = long_series("api_cpu", lambda t: leak(t, n))
    score = score_series(climb, LONG_ONSET)
    assert score is not None and score.transform != "growth"


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=40, max_size=120),
    onset=st.integers(20, 119),
    factor=st.floats(1e-3, 1e3),
)
def test_growth_scores_are_finite_and_do_not_depend_on_the_unit(
    values: list[float], onset: int, factor: float
) -> None:
    def make_mem(scale: float) -> MetricSeries:
        times = tuple(float(30 * i) for i in range(len(values)))
        return MetricSeries("svc_mem", "svc", "mem", times, tuple(v * scale for v in values), "t")

    one = score_series(make_mem(1.0), 30.0 * onset)
    other = score_series(make_mem(factor), 30.0 * onset)
    assert (one is None) == (other is None)
    if one is not None and other is not None:
        assert math.isfinite(one.score) and one.score >= 0
        assert one.transform == other.transform
        assert math.isclose(one.score, other.score, rel_tol=1e-6, abs_tol=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=60),
    onset=st.integers(0, 60),
)
def test_scoring_never_crashes(values: list[float], onset: int) -> None:
    series = MetricSeries(
        name="x_y",
        component="x",
        metric="y",
        times=tuple(float(i) for i in range(len(values))),
        values=tuple(values),
        source="t",
    )
    score = score_series(series, float(onset))
    if score is not None:
        assert math.isfinite(score.score) and score.score >= 0
    detect_onset([series], float(onset))


# -- the ranking's invariants -------------------------------------------------------------------------


def _stepped(base: list[float], jump: float, factor: float = 1.0) -> MetricSeries:
    values = tuple(factor * (v + (jump if i >= len(base) // 2 else 0.0)) for i, v in enumerate(base))
    return MetricSeries(
        name="x_y",
        component="x",
        metric="y",
        times=tuple(float(i) for i in range(len(base))),
        values=values,
        source="t",
    )


_baselines = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=24, max_size=80)


@settings(max_examples=150, deadline=None)
@given(base=_baselines, jump=st.floats(0, 1e4), factor=st.floats(1e-3, 1e6))
def test_a_score_does_not_depend_on_the_unit(base: list[float], jump: float, factor: float) -> None:
    one = score_series(_stepped(base, jump), float(len(base) // 2))
    other = score_series(_stepped(base, jump, factor), float(len(base) // 2))
    assert (one is None) == (other is None)
    if one is not None and other is not None:
        assert math.isclose(one.score, other.score, rel_tol=1e-6, abs_tol=1e-6)


@settings(max_examples=150, deadline=None)
@given(base=_baselines, jump=st.floats(0, 1e3), more=st.floats(0, 1e3))
def test_a_bigger_sustained_jump_never_scores_lower(base: list[float], jump: float, more: float) -> None:
    # The generated noise before the onset, a flat level above all of it after: a bigger jump moves
    # the level further from the baseline, so its score cannot drop.
    half = len(base) // 2
    top = max(base[:half])

    def stepped(size: float) -> MetricSeries:
        values = tuple(base[:half]) + (top + size,) * (len(base) - half)
        return MetricSeries(
            name="x_y",
            component="x",
            metric="y",
            times=tuple(float(i) for i in range(len(base))),
            values=values,
            source="t",
        )

    small = score_series(stepped(jump), float(half))
    large = score_series(stepped(jump + more), float(half))
    if small is not None and large is not None and small.transform == large.transform == "level":
        assert large.score >= small.score - 1e-9


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 50)), min_size=1, max_size=12))
def test_a_component_scores_its_best_series(parts: list[tuple[str, float]]) -> None:
    n = noise(14, 1.0)
    series = [
        make(
            f"{comp}_cpu{i}",
            lambda t, after, jump=jump: 100.0 + n() + (jump if after else 0.0),
            component=comp,
            points=700,
        )
        for i, (comp, jump) in enumerate(parts)
    ]
    scores = rank_series(series, ONSET)
    for component in rank_components(scores, min_score=0.0):
        own = [s.score for s in scores if s.series.component == component.component]
        assert component.score == max(own)
