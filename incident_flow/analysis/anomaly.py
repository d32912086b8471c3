"""Rank metric series, and the components they belong to, by how far they departed at the onset.

The question an investigator asks of metrics is "which component changed when the incident
started?". Each series is compared with itself: its values after the onset against its own baseline
before it, so series of any unit and scale can be ranked together. The comparison is robust because
real telemetry is hostile to the textbook z-score:

* **Near-constant baselines.** A memory gauge that sat at 342,642,688 bytes for an hour has a MAD of
  zero, so any wobble would score infinity. The noise scale has a floor: the larger of the robust
  spread (MAD x 1.4826), a fraction of the level (:attr:`ScoreOptions.relative_floor`: a shift
  smaller than 5% of the level is never a big deal) and a tiny fraction of the series' own range (so
  a series that is exactly constant and then moves gets a high but bounded score).
* **Counters.** Cumulative counters (``*_total``, ``*_count``, or data that only ever goes up) are
  turned into per-second rates first, with resets handled as Prometheus does.
* **Drift.** A baseline with a clear trend (memory creeping up) is also scored against its
  extrapolated trend, and the smaller score wins: a drift that merely continues is not an anomaly.
* **Gaps and noise.** NaN points are ignored; the level "after" is the median of a rolling window
  (about a minute) that departed most, so one spike is not an incident but a sustained shift is,
  even when it lasted a few minutes of a long window.

Scores are in robust noise units: 5 means the level after the onset is five noise scales away from
the baseline. :func:`confidence` maps them monotonically into 0..0.9.

The onset, when nobody gave one, is the single split of the aggregated standardized deviations (the
mean of the few most departed series per time bucket) that best explains them as a rise
(:func:`detect_onset`).

Pure Python on purpose: medians and a single mean-shift split are all this needs, the series are a
few thousand points, and the core stays free of NumPy/SciPy (``ruptures`` would add both for a
single change point).
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import attrs

from incident_flow.model import Category
from incident_flow.sources import MetricSeries

__all__ = [
    "ComponentAnomaly",
    "MetricKind",
    "OnsetEstimate",
    "ScoreOptions",
    "SeriesScore",
    "confidence",
    "detect_onset",
    "is_counter",
    "metric_kind",
    "rank_components",
    "rank_series",
    "robust_scale",
    "score_series",
    "to_rate",
]

#: MAD x 1.4826 estimates the standard deviation of normal data.
MAD_TO_SIGMA = 1.4826
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


@attrs.frozen
class ScoreOptions:
    """The knobs of the scorer. The defaults are meant to hold on any telemetry; change with care.

    ``relative_floor``: the noise scale is at least this fraction of the baseline level.
    ``range_floor``: ... and at least this fraction of the series' range over the whole window, which
    bounds the score of a series that was exactly constant (at most ``1 / range_floor``).
    ``smoothing_s``: the "after" level is the median of a rolling window this long (and at least
    ``min_window_points`` points), taking the window that departed most.
    ``min_baseline`` / ``min_after``: fewer points than this on either side and the series is not scored.
    ``trend_ratio``: a baseline trend is taken into account when it moves the level by more than this
    many residual noise scales over the baseline.
    ``horizon_s``: only points up to this long after the onset count (None: all of them).
    ``growth_*``: a resource that fills (memory, disk, file descriptors) is also compared with the
    earliest ``growth_fraction`` of its baseline, since a leak or a filling disk climbs for an hour
    before anything fails; its noise floor is ``growth_floor`` of the level (a fill is measured
    against the series' own quiet start, not the 5% margin a step needs), the rise must be at least
    ``growth_min_ratio`` of that level (memory churns by a few percent), its peak (a rolling median
    over ``growth_smoothing_s``) may come up to ``growth_lead_s`` before the onset (the kill ends the
    climb, the page comes minutes later).
    """

    relative_floor: float = 0.05
    range_floor: float = 1e-3
    smoothing_s: float = 60.0
    min_window_points: int = 5
    min_baseline: int = 5
    min_after: int = 2
    trend_ratio: float = 3.0
    horizon_s: float | None = None
    growth_fraction: float = 0.25
    growth_floor: float = 0.01
    growth_min_ratio: float = 0.10
    growth_lead_s: float = 1800.0
    growth_smoothing_s: float = 300.0


DEFAULT_OPTIONS = ScoreOptions()


# -- what a metric measures ---------------------------------------------------------------------


@attrs.frozen
class MetricKind:
    """What a series measures, as far as its name tells: it decides the category of a cause.

    ``symptom`` marks what shows how an incident looks (latency, errors) rather than what caused it;
    ``category`` follows DESIGN.md's rules: saturation and load are performance, exhaustion of what
    the code runs on (memory, disk, file descriptors, hosts, network) is infrastructure.
    """

    name: str
    category: Category | None
    symptom: bool = False
    resource: bool = False


_KINDS: tuple[tuple[re.Pattern[str], MetricKind], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (
            r"(^|_)(err|errs|error|errors|fail|failed|failure|failures|5xx|exception|exceptions|"
            r"panic|panics)(_|$)",
            MetricKind("errors", None, symptom=True),
        ),
        (
            r"(^|_)(lat|latency|latencies|duration|response_time|responsetime|rt|p50|p90|p95|p99|p999|"
            r"slow)(_|$)",
            MetricKind("latency", Category.PERFORMANCE, symptom=True),
        ),
        (
            r"(^|_)(oom|oomkill|oom_kill|oom_killed)",
            MetricKind("memory", Category.INFRASTRUCTURE, resource=True),
        ),
        (
            r"(^|_)(cpu|cpus|load_?(1|5|15)m?|throttled|throttling|steal)(_|$)",
            MetricKind("cpu", Category.PERFORMANCE, resource=True),
        ),
        (
            r"(^|_)(mem|memory|rss|heap|swap|working_set|memavailable|memfree|resident)",
            MetricKind("memory", Category.INFRASTRUCTURE, resource=True),
        ),
        (
            r"(^|_)(disk|disks|fs|filesystem|inode|inodes|volume|iops|io)(_|$)",
            MetricKind("disk", Category.INFRASTRUCTURE, resource=True),
        ),
        (
            r"(^|_)(fd|fds|file_descriptors|filefd|open_files)(_|$)",
            MetricKind("file descriptors", Category.INFRASTRUCTURE, resource=True),
        ),
        (
            r"(^|_)(net|network|tcp|udp|packets|retrans|retransmits|dropped|drops)(_|$)",
            MetricKind("network", Category.INFRASTRUCTURE),
        ),
        (
            r"(^|_)(conn|conns|connections|pool|threads|goroutines|queue|backlog|waiting|inflight|"
            r"in_flight|saturation)(_|$)",
            MetricKind("concurrency", Category.PERFORMANCE, resource=True),
        ),
        (
            r"(^|_)(requests|request|rps|qps|throughput|hits|calls|traffic)(_|$)",
            MetricKind("traffic", Category.PERFORMANCE),
        ),
        (
            r"^(up|restarts|restart_count|container_restarts)$",
            MetricKind("availability", Category.INFRASTRUCTURE),
        ),
    )
)
_UNKNOWN = MetricKind("metric", None)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def metric_kind(name: str) -> MetricKind:
    """Classify a metric by its name (``carts_lat_99``, ``node_memory_MemAvailable_bytes``...).

    Errors and latency are checked first so that ``http_request_duration_seconds`` is latency, not
    traffic, and ``process_cpu_seconds_total`` is CPU.
    """
    text = _SEPARATORS.sub("_", _CAMEL.sub("_", name).lower()).strip("_")
    for pattern, kind in _KINDS:
        if pattern.search(text):
            return kind
    return _UNKNOWN


# -- series transforms --------------------------------------------------------------------------


def _finite_points(times: Sequence[float], values: Sequence[float]) -> tuple[list[float], list[float]]:
    """The points with a finite time and value, sorted by time (a later duplicate time wins)."""
    isfinite = math.isfinite
    pairs = [(t, v) for t, v in zip(times, values, strict=False) if isfinite(t) and isfinite(v)]
    if any(b[0] <= a[0] for a, b in itertools.pairwise(pairs)):  # rare: unsorted or duplicate times
        pairs = sorted(dict(pairs).items())
    return [t for t, _ in pairs], [v for _, v in pairs]


def is_counter(name: str, values: Sequence[float]) -> bool:
    """Whether a series is a cumulative counter, so that its rate, not its level, is what moves.

    By name (the Prometheus conventions ``_total``, ``_count``, ``_sum``, ``_bucket``) or by shape:
    it rises at most steps, and the few times it falls it falls to near zero (a reset).
    A gauge that wobbles, or that sits flat and only sometimes rises, is not a counter.
    """
    if name.lower().endswith(_COUNTER_SUFFIXES):
        return True
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < 11:
        return False
    rises = falls = 0
    for before, after in itertools.pairwise(finite):
        if after > before:
            rises += 1
        elif after < before:
            if after > 0.1 * before:  # a fall that is not a reset: a gauge
                return False
            falls += 1
    steps = len(finite) - 1
    return rises >= 0.5 * steps and falls <= max(1, 0.01 * steps)


def to_rate(times: Sequence[float], values: Sequence[float]) -> tuple[list[float], list[float]]:
    """Per-second rate of a counter, at the later point of each step; a fall is a reset to zero.

    NaN points are skipped, so a gap just makes one longer step.
    """
    ts, vs = _finite_points(times, values)
    out_t: list[float] = []
    out_v: list[float] = []
    for i in range(1, len(ts)):
        dt = ts[i] - ts[i - 1]
        if dt <= 0:
            continue
        increase = vs[i] - vs[i - 1]
        if increase < 0:
            increase = vs[i]
        out_t.append(ts[i])
        out_v.append(increase / dt)
    return out_t, out_v


def robust_scale(
    values: Sequence[float], level: float, span: float, options: ScoreOptions = DEFAULT_OPTIONS
) -> float:
    """The noise scale of a baseline: MAD x 1.4826, floored by the level and by the series' range.

    ``level`` is the baseline's median and ``span`` the range of the whole series (baseline and
    after). The floors are what keep a near-constant baseline from turning a tiny shift into a huge
    score. Returns 0 only for a series that never moves at all.
    """
    mad = statistics.median(abs(v - level) for v in values) if values else 0.0
    floor = max(options.relative_floor * abs(level), options.range_floor * span)
    return max(mad * MAD_TO_SIGMA, floor)


# -- scoring one series ---------------------------------------------------------------------------


@attrs.frozen
class SeriesScore:
    """How far one series departed after the onset, and the figures that show it.

    ``baseline`` is the median before the onset, ``after`` the level after it (the rolling median
    that departed most, over ``after_from``..``after_to``), both in the series' unit or, when
    ``transform`` is ``"rate"``, per second. ``score`` is ``|after - expected| / scale`` where the
    expectation is the baseline (or its trend, when ``transform`` is ``"detrended"``).
    ``departed_at`` is the first point after the onset that reached half the departure.
    With ``transform`` ``"growth"`` (a filling resource's climb), ``baseline`` is the window's quiet
    start, ``after`` the peak, and ``departed_at`` when the climb passed half-way, which may be long
    before the onset.
    """

    series: MetricSeries
    score: float
    baseline: float
    after: float
    scale: float
    transform: str
    kind: MetricKind
    baseline_points: int
    after_points: int
    after_from: float
    after_to: float
    departed_at: float

    @property
    def direction(self) -> str:
        return "up" if self.after >= self.baseline else "down"

    @property
    def symptom(self) -> bool:
        """Whether this series shows how the incident looks rather than what caused it.

        Latency and errors always; traffic when it fell (requests that no longer arrive are a
        consequence), while a traffic surge can be the cause (DESIGN.md: performance).
        """
        return self.kind.symptom or (self.kind.name == "traffic" and self.direction == "down")

    @property
    def ratio(self) -> float | None:
        """After over baseline, when the baseline is not zero."""
        return self.after / self.baseline if self.baseline else None

    @property
    def unit(self) -> str | None:
        """The unit, when the name or the transform says it."""
        name = self.series.metric.lower()
        base = None
        for suffix, unit in (("_bytes", "bytes"), ("_seconds", "s"), ("_percent", "%"), ("_ratio", "ratio")):
            if name.endswith(suffix) or name.endswith(suffix + "_total"):
                base = unit
                break
        if self.transform == "rate":
            return f"{base}/s" if base else "/s"
        return base


def _rolling_peak(
    times: Sequence[float],
    values: Sequence[float],
    expected: Sequence[float],
    width: int,
    *,
    upward: bool = False,
) -> tuple[float, float, int, int]:
    """The window of ``width`` points whose median residual departs most: (residual, level, i, j).

    ``upward``: the window that rose most, ignoring falls (a fill's peak, not the restart after it).
    """
    n = len(values)
    residuals = [v - e for v, e in zip(values, expected, strict=True)]
    if n <= width:
        windows = [(0, n)]
    else:
        hop = max(1, width // 2)
        windows = [(i, i + width) for i in range(0, n - width + 1, hop)]
        if windows[-1][1] < n:
            windows.append((n - width, n))
    best: tuple[float, float, int, int] | None = None
    for i, j in windows:
        residual = statistics.median(residuals[i:j])
        level = statistics.median(values[i:j])
        if best is None or (residual > best[0] if upward else abs(residual) > abs(best[0])):
            best = (residual, level, i, j)
    assert best is not None
    return best


def _trend(times: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """Tukey's resistant line through the baseline: (slope, intercept), robust to outliers.

    The slope joins the medians of the first and last thirds; it needs only medians, so a few spikes
    in the baseline do not tilt it.
    """
    n = len(values)
    third = max(1, n // 3)
    t_left, t_right = statistics.median(times[:third]), statistics.median(times[-third:])
    if t_right <= t_left:
        return 0.0, statistics.median(values)
    slope = (statistics.median(values[-third:]) - statistics.median(values[:third])) / (t_right - t_left)
    intercept = statistics.median(v - slope * t for t, v in zip(times, values, strict=True))
    return slope, intercept


#: Resources that fill up: their exhaustion is a long climb (a leak, a filling disk), not a step.
_FILLS = frozenset({"memory", "disk", "file descriptors"})


@attrs.frozen
class _Growth:
    """How far a filling resource climbed above its quiet start (see :func:`_growth`)."""

    score: float
    level: float
    peak: float
    scale: float
    early_points: int
    peak_points: int
    peak_from: float
    peak_to: float
    climbed_at: float


def _growth(
    times: Sequence[float],
    values: Sequence[float],
    onset: float,
    end: float,
    span: float,
    options: ScoreOptions,
) -> _Growth | None:
    """The climb of a filling resource from the earliest stretch of its window to its peak near the onset.

    A leak grows for an hour before the kill, so the baseline just before the onset is already the
    climb and a step test sees nothing. The quiet start is the baseline instead; when that start
    already drifts clearly upwards, its trend is what is expected (a drift that merely continues is
    not an anomaly), and a rise under ``growth_min_ratio`` of the level is churn, not a fill.
    """
    before = next((i for i, t in enumerate(times) if t >= onset), len(times))
    early_n = max(options.min_baseline, int(before * options.growth_fraction))
    if before < 2 * early_n:  # too little history to tell a quiet start from a climb
        return None
    early_t, early_v = times[:early_n], values[:early_n]
    level = statistics.median(early_v)
    if level <= 0:
        return None
    floored = attrs.evolve(options, relative_floor=options.growth_floor)
    scale = robust_scale(early_v, level, span, floored)
    slope, intercept = _trend(early_t, early_v)
    residuals = [v - intercept - slope * t for t, v in zip(early_t, early_v, strict=True)]
    residual_scale = max(robust_scale(residuals, 0.0, span, floored), options.growth_floor * level)
    if slope > 0 and slope * (early_t[-1] - early_t[0]) > options.trend_ratio * residual_scale:
        scale = residual_scale
    else:
        slope, intercept = 0.0, level
    first = max(early_n, next((i for i, t in enumerate(times) if t >= onset - options.growth_lead_s), before))
    stop = next((i for i in range(first, len(times)) if times[i] > end), len(times))
    peak_t, peak_v = times[first:stop], values[first:stop]
    if len(peak_v) < options.min_after or scale <= 0:
        return None
    step = statistics.median(b - a for a, b in itertools.pairwise(peak_t)) if len(peak_t) > 1 else 0
    width = max(options.min_window_points, round(options.growth_smoothing_s / step) if step > 0 else 0)
    expected = [intercept + slope * t for t in peak_t]
    rise, peak, i, j = _rolling_peak(peak_t, peak_v, expected, width, upward=True)
    if rise < options.growth_min_ratio * level:
        return None
    climbed_at = next(
        (
            t
            for t, v in zip(times[early_n:], values[early_n:], strict=True)
            if v - intercept - slope * t >= rise / 2
        ),
        peak_t[i],
    )
    return _Growth(
        score=rise / scale,
        level=level,
        peak=peak,
        scale=scale,
        early_points=early_n,
        peak_points=len(peak_v),
        peak_from=peak_t[i],
        peak_to=peak_t[j - 1],
        climbed_at=climbed_at,
    )


def _to_seconds(at: datetime | float) -> float:
    return at.timestamp() if isinstance(at, datetime) else float(at)


def _prepared(series: MetricSeries) -> tuple[list[float], list[float], str]:
    if is_counter(series.metric or series.name, series.values):
        times, values = to_rate(series.times, series.values)
        return times, values, "rate"
    times, values = _finite_points(series.times, series.values)
    return times, values, "level"


def score_series(
    series: MetricSeries,
    onset: datetime | float,
    *,
    until: datetime | float | None = None,
    options: ScoreOptions = DEFAULT_OPTIONS,
) -> SeriesScore | None:
    """Score one series: its level after ``onset`` against its baseline before it.

    Points from ``onset`` to ``until`` (or to ``onset + options.horizon_s``, or to the end) are
    "after". Returns None when either side has too few points or the series never moves.
    """
    start = _to_seconds(onset)
    end = math.inf if until is None else _to_seconds(until)
    if options.horizon_s is not None:
        end = min(end, start + options.horizon_s)
    times, values, transform = _prepared(series)
    split = next((i for i, t in enumerate(times) if t >= start), len(times))
    stop = next((i for i in range(split, len(times)) if times[i] > end), len(times))
    base_t, base_v = times[:split], values[:split]
    after_t, after_v = times[split:stop], values[split:stop]
    if len(base_v) < options.min_baseline or len(after_v) < options.min_after:
        return None
    span = max(max(base_v), max(after_v)) - min(min(base_v), min(after_v))
    if span <= 0:
        return None
    level = statistics.median(base_v)
    scale = robust_scale(base_v, level, span, options)
    if scale <= 0:  # a span so small (subnormal) that every floor underflows: nothing to score
        return None
    step = statistics.median(b - a for a, b in itertools.pairwise(after_t)) if len(after_t) > 1 else 0
    width = max(options.min_window_points, round(options.smoothing_s / step) if step > 0 else 0)

    residual, after_level, i, j = _rolling_peak(after_t, after_v, [level] * len(after_v), width)
    score = abs(residual) / scale
    used, baseline, expected_after = transform, level, level

    slope, intercept = _trend(base_t, base_v)
    if slope:
        fitted = [intercept + slope * t for t in base_t]
        residuals = [v - f for v, f in zip(base_v, fitted, strict=True)]
        res_median = statistics.median(residuals)
        res_scale = robust_scale(residuals, 0.0, span, options)
        res_scale = max(res_scale, options.relative_floor * abs(level))
        drift = abs(slope) * (base_t[-1] - base_t[0])
        if drift > options.trend_ratio * res_scale:
            expected = [intercept + res_median + slope * t for t in after_t]
            d_residual, d_level, di, dj = _rolling_peak(after_t, after_v, expected, width)
            d_score = abs(d_residual) / res_scale
            if d_score < score:
                score, residual, after_level, i, j = d_score, d_residual, d_level, di, dj
                scale = res_scale
                used = "detrended" if transform == "level" else "rate, detrended"
                expected_after = statistics.median(expected[i:j])
                baseline = level

    kind = metric_kind(series.metric or series.name)
    if transform == "level" and kind.name in _FILLS:
        growth = _growth(times, values, start, end, span, options)
        if growth is not None and growth.score > score:
            return SeriesScore(
                series=series,
                score=growth.score,
                baseline=growth.level,
                after=growth.peak,
                scale=growth.scale,
                transform="growth",
                kind=kind,
                baseline_points=growth.early_points,
                after_points=growth.peak_points,
                after_from=growth.peak_from,
                after_to=growth.peak_to,
                departed_at=growth.climbed_at,
            )

    half = 0.5 * abs(after_level - expected_after)
    departed = next(
        (t for t, v in zip(after_t, after_v, strict=True) if abs(v - expected_after) >= half and half > 0),
        after_t[i],
    )
    return SeriesScore(
        series=series,
        score=score,
        baseline=baseline,
        after=after_level,
        scale=scale,
        transform=used,
        kind=kind,
        baseline_points=len(base_v),
        after_points=len(after_v),
        after_from=after_t[i],
        after_to=after_t[j - 1],
        departed_at=departed,
    )


def rank_series(
    series: Iterable[MetricSeries],
    onset: datetime | float,
    *,
    until: datetime | float | None = None,
    options: ScoreOptions = DEFAULT_OPTIONS,
) -> list[SeriesScore]:
    """Score every series that can be scored, most departed first."""
    scores = [s for s in (score_series(x, onset, until=until, options=options) for x in series) if s]
    scores.sort(key=lambda s: (-s.score, s.series.name))
    return scores


# -- components -----------------------------------------------------------------------------------


@attrs.frozen
class ComponentAnomaly:
    """One component's series, most departed first, and the scores that rank it.

    ``cause_score`` is the best score among series that can show a cause (resources, traffic,
    unknown kinds), ``symptom_score`` among latency and error series. ``score`` is the one that
    speaks for the component: its cause score when that alone reaches ``min_score``, else the larger.
    """

    component: str
    series: tuple[SeriesScore, ...]
    cause_score: float
    symptom_score: float
    min_score: float

    @property
    def symptom(self) -> bool:
        """Only latency or error series moved: the component shows the incident, it may not cause it."""
        return self.cause_score < self.min_score

    @property
    def score(self) -> float:
        return self.cause_score if not self.symptom else max(self.cause_score, self.symptom_score)

    @property
    def lead(self) -> SeriesScore:
        """The series that speaks for the component: the best cause series, unless it is a symptom."""
        if not self.symptom:
            return next(s for s in self.series if not s.symptom)
        return self.series[0]


def rank_components(scores: Iterable[SeriesScore], *, min_score: float = 5.0) -> list[ComponentAnomaly]:
    """Group series scores by component: a component is as anomalous as its most departed series.

    The max, not a mean: a CPU hog moves one or two of a service's series, and averaging them with
    the twenty that did not move would hide it. Components whose best score is under ``min_score``
    are left out. Ties go to the component whose second series departed more.
    """
    groups: dict[str, list[SeriesScore]] = defaultdict(list)
    for score in scores:
        groups[score.series.component].append(score)
    out: list[ComponentAnomaly] = []
    for component, items in groups.items():
        items.sort(key=lambda s: (-s.score, s.series.name))
        cause = max((s.score for s in items if not s.symptom), default=0.0)
        symptom = max((s.score for s in items if s.symptom), default=0.0)
        anomaly = ComponentAnomaly(component, tuple(items), cause, symptom, min_score)
        if anomaly.score >= min_score:
            out.append(anomaly)

    def key(c: ComponentAnomaly) -> tuple[float, float, str]:
        second = c.series[1].score if len(c.series) > 1 else 0.0
        return (-c.score, -second, c.component)

    out.sort(key=key)
    return out


def confidence(score: float, *, cap: float = 0.9) -> float:
    """Map a score to 0..``cap``, monotone and never saturating.

    ``cap * (1 - (1 + score / 5) ** -0.5)``: a 5-sigma shift gives ~0.26, 30 ~0.56, 100 ~0.70,
    1000 ~0.84. It keeps rising with the score, so two strong anomalies never tie in the ranking,
    and stays under ``cap`` because a metric alone shows that something changed, not why.
    """
    if not math.isfinite(score) or score <= 0:
        return 0.0
    return cap * (1.0 - (1.0 + score / 5.0) ** -0.5)


# -- the onset ------------------------------------------------------------------------------------


@attrs.frozen
class OnsetEstimate:
    """Where the aggregated deviation of all series rose: the time, and how clear the rise is.

    ``t`` is a t-statistic of the mean shift (before vs after) against the aggregate's own noise;
    ``shift`` the rise in noise units.
    """

    at: datetime
    t: float
    shift: float
    buckets: int


def _quantile_step(steps: list[float]) -> float:
    steps = [s for s in steps if s > 0]
    return statistics.median(steps) if steps else 0.0


def detect_onset(
    series: Sequence[MetricSeries],
    reference: datetime | float,
    *,
    start: datetime | float | None = None,
    end: datetime | float | None = None,
    options: ScoreOptions = DEFAULT_OPTIONS,
    max_buckets: int = 2000,
    min_t: float = 6.0,
    min_shift: float = 1.0,
) -> OnsetEstimate | None:
    """The onset: the split where the aggregated standardized deviation of the series rose most.

    Every series is standardized against its points before ``reference`` (the detection time:
    their median and floored noise scale, as the scorer uses), capped at 10 noise units so that
    one wild series cannot carry the split alone, and bucketed on a common grid. Per bucket the
    mean of the few most departed series (3, or 5% of them) is the aggregate; its best single
    rising split is the onset when it is clear: a t-statistic of at least ``min_t`` against the
    aggregate's noise (estimated from its successive differences, which a level shift barely
    touches) and a rise of at least ``min_shift`` noise units. None when no split is that clear.
    """
    ref = _to_seconds(reference)
    lo = -math.inf if start is None else _to_seconds(start)
    hi = math.inf if end is None else _to_seconds(end)
    prepared: list[tuple[list[float], list[float], float, float]] = []
    steps: list[float] = []
    first, last = math.inf, -math.inf
    for item in series:
        times, values, _ = _prepared(item)
        keep = [(t, v) for t, v in zip(times, values, strict=True) if lo <= t <= hi]
        if not keep:
            continue
        times = [t for t, _ in keep]
        values = [v for _, v in keep]
        base = [v for t, v in keep if t < ref]
        if len(base) < options.min_baseline:
            continue
        span = max(values) - min(values)
        if span <= 0:
            continue
        level = statistics.median(base)
        prepared.append((times, values, level, robust_scale(base, level, span, options)))
        steps.append(_quantile_step([b - a for a, b in itertools.pairwise(times)]))
        first, last = min(first, times[0]), max(last, times[-1])
    if not prepared or last <= first:
        return None
    step = max(_quantile_step(steps), (last - first) / max_buckets)
    if step <= 0:
        return None
    count = int((last - first) // step) + 1
    per_bucket: list[list[float]] = [[] for _ in range(count)]
    for times, values, level, scale in prepared:
        # Points are sorted by time, so each bucket's points are consecutive: average them in one pass.
        current, total, n = -1, 0.0, 0
        for t, v in zip(times, values, strict=True):
            index = int((t - first) // step)
            if index != current:
                if n:
                    per_bucket[current].append(total / n)
                current, total, n = index, 0.0, 0
            total += min(abs(v - level) / scale, 10.0)
            n += 1
        if n:
            per_bucket[current].append(total / n)
    k = max(3, math.ceil(0.05 * len(prepared)))
    aggregate: list[float] = []
    bucket_times: list[float] = []
    for index, zs in enumerate(per_bucket):
        if not zs:
            continue
        zs.sort(reverse=True)
        top = zs[:k]
        aggregate.append(sum(top) / len(top))
        bucket_times.append(first + index * step)
    n = len(aggregate)
    minimum = max(options.min_baseline, 3)
    if n < 2 * minimum:
        return None
    diffs = [abs(b - a) for a, b in itertools.pairwise(aggregate)]
    noise = max(statistics.median(diffs) * MAD_TO_SIGMA / math.sqrt(2), 0.05)
    total = sum(aggregate)
    prefix = 0.0
    best: tuple[float, int, float] | None = None
    for split in range(1, n):
        prefix += aggregate[split - 1]
        if split < minimum or n - split < minimum:
            continue
        left = prefix / split
        right = (total - prefix) / (n - split)
        shift = right - left
        if shift <= 0:
            continue
        t = shift / (noise * math.sqrt(1 / split + 1 / (n - split)))
        if best is None or t > best[0]:
            best = (t, split, shift / max(noise, 1e-12))
    if best is None or best[0] < min_t:
        return None
    t_stat, split, _ = best
    left = sum(aggregate[:split]) / split
    right = sum(aggregate[split:]) / (n - split)
    if right - left < min_shift:
        return None
    return OnsetEstimate(
        at=datetime.fromtimestamp(bucket_times[split], UTC),
        t=round(t_stat, 2),
        shift=round(right - left, 3),
        buckets=n,
    )
