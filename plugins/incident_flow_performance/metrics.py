"""Latency and saturation series for the performance investigator, each against its baseline.

Deliberately small: the ops investigator scores every series for anomalies; this module only asks
the performance questions of the series whose names say what they measure: is a resource
saturated (CPU, memory or disk at 90 % or more; connections or a queue at least doubled), and did
latency rise? Each answer cites the series, its median before the onset and after, and its peak.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from incident_flow import Category, Evidence, Finding, Mitigation
from incident_flow.context import InvestigationContext
from incident_flow.sources import MetricSeries

__all__ = ["SeriesLevel", "analyse_metrics", "metric_kind", "series_level", "step_up"]

INVESTIGATOR = "performance"
#: When no onset is known, the last this-long before detection is compared with what came before.
DEFAULT_RECENT = timedelta(minutes=10)
#: A utilisation at or above this (percent) is saturation.
SATURATED = 90.0
#: Connections or a queue at least this many times their baseline (and up by MIN_GROWTH).
GROWTH = 2.0
MIN_GROWTH = 5.0
LATENCY_RATIO = 1.5
#: Points on each side of a series' own step (30 s steps: a level held for at least 2.5 minutes).
MIN_STEP_POINTS = 5

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("latency", re.compile(r"latency|duration|response_?time|resp_time|_rt$|p9[59]|p50", re.I)),
    ("cpu", re.compile(r"cpu|load_?avg", re.I)),
    ("memory", re.compile(r"mem|rss|heap", re.I)),
    ("disk", re.compile(r"disk|filesystem|fs_|iops|io_?util", re.I)),
    ("connections", re.compile(r"conn|pool|sessions|backends|threads_busy|workers_busy", re.I)),
    ("queue", re.compile(r"queue|backlog|pending|inflight|in_flight|waiting", re.I)),
)
_PERCENT = re.compile(r"percent|pct|util|usage|ratio|_used$|saturation", re.I)
_CATEGORY = {
    "cpu": Category.PERFORMANCE,
    "connections": Category.PERFORMANCE,
    "queue": Category.PERFORMANCE,
    "memory": Category.INFRASTRUCTURE,
    "disk": Category.INFRASTRUCTURE,
}


def metric_kind(name: str) -> str | None:
    """What a series measures, from its name: latency, cpu, memory, disk, connections, queue."""
    for kind, pattern in _KINDS:
        if pattern.search(name):
            return kind
    return None


@attrs.frozen
class SeriesLevel:
    """One series before and after the onset: medians, the peak, and whether it saturated."""

    series: MetricSeries
    kind: str
    baseline: float
    after: float
    peak: float
    percent: bool
    saturated: bool
    slower: bool
    #: The split compared at: the onset, or the series' own later step.
    since: datetime | None = None


def _values(series: MetricSeries, start: float, end: float) -> list[float]:
    return [
        v for t, v in zip(series.times, series.values, strict=True) if start <= t < end and math.isfinite(v)
    ]


def series_level(series: MetricSeries, onset: datetime, start: datetime, end: datetime) -> SeriesLevel | None:
    """Compare a latency or resource series before and after ``onset``; None for other series."""
    name = f"{series.metric} {series.name}"
    kind = metric_kind(name)
    if kind is None:
        return None
    before = _values(series, start.timestamp(), onset.timestamp())
    after = _values(series, onset.timestamp(), end.timestamp() + 1)
    if len(before) < 3 or not after:
        return None
    baseline, level, peak = statistics.median(before), statistics.median(after), max(after)
    percent = kind in ("cpu", "memory", "disk") and (
        bool(_PERCENT.search(name)) or (max(before + after) <= 1.0 and min(before + after) >= 0.0)
    )
    scale = 100.0 if percent and max(before + after) <= 1.0 else 1.0
    if percent:
        baseline, level, peak = baseline * scale, level * scale, peak * scale
    saturated = False
    if percent:
        saturated = level >= SATURATED and baseline < SATURATED
    elif kind in ("connections", "queue"):
        saturated = level >= GROWTH * max(baseline, 0.0) and level - baseline >= MIN_GROWTH
    slower = kind == "latency" and level >= LATENCY_RATIO * max(baseline, 1e-9) and level > baseline
    return SeriesLevel(
        series=series,
        kind=kind,
        baseline=baseline,
        after=level,
        peak=peak,
        percent=percent,
        saturated=saturated,
        slower=slower,
        since=onset,
    )


def step_up(series: MetricSeries, after: datetime, until: datetime) -> datetime | None:
    """Where the series stepped up after ``after``: the split of its points from ``after`` on that
    best explains them as two levels (least squares), when the later level is the higher."""
    points = [
        (t, v)
        for t, v in zip(series.times, series.values, strict=True)
        if after.timestamp() <= t <= until.timestamp() and math.isfinite(v)
    ]
    if len(points) < 2 * MIN_STEP_POINTS:
        return None
    values = [v for _, v in points]
    total, n = sum(values), len(values)
    best: tuple[float, int] | None = None
    prefix = 0.0
    for i in range(1, n):
        prefix += values[i - 1]
        if i < MIN_STEP_POINTS or n - i < MIN_STEP_POINTS:
            continue
        mean_before, mean_after = prefix / i, (total - prefix) / (n - i)
        gain = i * (n - i) / n * (mean_after - mean_before) ** 2
        if mean_after > mean_before and (best is None or gain > best[0]):
            best = (gain, i)
    return None if best is None else datetime.fromtimestamp(points[best[1]][0], UTC)


def _fmt(value: float, percent: bool) -> str:
    return f"{value:.1f}%" if percent else f"{value:.4g}"


def _evidence(level: SeriesLevel, onset: datetime, end: datetime) -> Evidence:
    series = level.series
    onset = level.since or onset
    what = "saturated" if level.saturated else "slower" if level.slower else "moved"
    return Evidence(
        source=series.source,
        kind="metric_level",
        summary=(
            f"{series.name} ({level.kind}): median {_fmt(level.baseline, level.percent)} before "
            f"{onset:%H:%M} UTC, {_fmt(level.after, level.percent)} after, "
            f"peak {_fmt(level.peak, level.percent)}: {what}"
        ),
        at_from=onset,
        at_to=end,
        query=series.query or series.name,
        figures={
            "series": series.name,
            "kind": level.kind,
            "baseline": round(level.baseline, 4),
            "after": round(level.after, 4),
            "peak": round(level.peak, 4),
            "unit": "percent" if level.percent else None,
        },
    )


def analyse_metrics(
    ctx: InvestigationContext, onset: datetime | None, series: Iterable[MetricSeries] | None = None
) -> list[Finding]:
    """Saturated resources and slower latency series, one finding per component.

    ``onset`` is the access logs' when known; otherwise the last ten minutes before detection are
    compared with the rest of the look-back window.
    """
    until = ctx.window_end or ctx.detected_at + max(ctx.settings.lookback, timedelta(hours=1))
    chosen = onset or ctx.detected_at - DEFAULT_RECENT
    levels: dict[str, list[SeriesLevel]] = {}
    for item in series if series is not None else ctx.metric_series(ctx.window_start, until):
        level = series_level(item, chosen, ctx.window_start, until)
        if level is not None and level.kind != "latency" and not level.saturated:
            # The onset came from elsewhere (the access logs' first slow endpoint); a resource
            # that stepped up later is judged at its own step, or its median after is diluted.
            # (Latency is a symptom: the access logs already say when it moved.)
            step = step_up(item, chosen, until)
            if step is not None:
                level = series_level(item, step, ctx.window_start, until)
        if level is not None and (level.saturated or level.slower):
            levels.setdefault(item.component, []).append(level)
    last = max(
        (s.series.times[-1] for group in levels.values() for s in group if s.series.times), default=None
    )
    end = datetime.fromtimestamp(last, UTC) if last is not None else until
    findings = []
    for component, group in levels.items():
        group.sort(key=lambda lv: (not lv.saturated, -(lv.after / max(abs(lv.baseline), 1e-9))))
        findings.append(_finding(component, group, chosen, end))
    return findings


def _finding(component: str, group: Sequence[SeriesLevel], onset: datetime, end: datetime) -> Finding:
    lead = group[0]
    saturated = [lv for lv in group if lv.saturated]
    figure = f"{_fmt(lead.after, lead.percent)} (baseline {_fmt(lead.baseline, lead.percent)})"
    if saturated:
        title = f"{lead.kind} saturation: {lead.series.name} at {figure}"
        category = _CATEGORY.get(lead.kind, Category.PERFORMANCE)
        action = (
            f"Scale {component} out or up ({lead.kind} is saturated) and shed load until it recovers"
            if lead.kind in ("cpu", "memory", "disk")
            else f"Raise the {lead.kind} limit of {component} (pool size, workers) or shed load"
        )
        mitigations: tuple[Mitigation, ...] = (
            Mitigation(
                action=action,
                target=component,
                rationale=(
                    f"{lead.series.name} went from {_fmt(lead.baseline, lead.percent)} "
                    f"to {_fmt(lead.after, lead.percent)}"
                ),
                risk="low",
                requires_approval=True,
            ),
        )
    else:
        title = f"latency rose: {lead.series.name} at {figure}"
        category = Category.PERFORMANCE
        mitigations = ()
    return Finding(
        investigator=INVESTIGATOR,
        component=component,
        title=title,
        summary=f"{component}: " + "; ".join(_evidence(lv, onset, end).summary for lv in group[:3]),
        confidence=0.55 if saturated else 0.4,
        evidence=tuple(_evidence(lv, onset, end) for lv in group[:5]),
        category=category,
        symptom=not saturated,
        indicator=lead.series.name,
        onset=onset,
        mitigations=mitigations,
    )
