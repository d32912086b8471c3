"""Metric analysis for the ops investigator: which components' series departed at the onset.

The seed's System Diagnostics asks for "metric anomalies" and "resource saturation". Every metric
source's series over the window are scored against their own baseline before the onset (robustly:
see :mod:`incident_flow.analysis.anomaly`), grouped by component, and the few most anomalous
components become findings whose evidence lists their most departed series, each with its query,
baseline, level after and score, so a reader can check the claim.

The onset is the log investigator's when it has one (``onset_hint``), else the point where the
series, taken together, rose (a change point), else the detection time. The category follows what
moved: CPU and concurrency saturation is performance, memory, disk and file descriptors are
infrastructure (DESIGN.md's rules); latency and error series only show the incident (``symptom``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident_flow import Evidence, Finding
from incident_flow.analysis.anomaly import (
    ComponentAnomaly,
    SeriesScore,
    confidence,
    detect_onset,
    rank_components,
    rank_series,
)
from incident_flow.context import InvestigationContext
from incident_flow.sources import MetricSeries

__all__ = ["MAX_COMPONENTS", "MIN_SCORE", "analyse_metrics"]

INVESTIGATOR = "ops"
#: A component is reported when one of its series departed by at least this many noise units.
MIN_SCORE = 5.0
#: How many components become findings (the focus component, when anomalous, is always one).
MAX_COMPONENTS = 5
#: How much a symptom-only finding weighs against a cause (as ``incident_flow.correlate`` weighs it).
SYMPTOM_WEIGHT = 0.5
#: Series listed as evidence per component.
EVIDENCE_SERIES = 3
#: Data after detection is fetched up to this long (or the look-back, if longer) when the run has no end.
MIN_AFTER = timedelta(minutes=30)


def _sig(value: float, digits: int = 4) -> float:
    """A figure rounded to a few significant digits: readable, still checkable."""
    return float(f"{value:.{digits}g}")


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _change(score: SeriesScore) -> str:
    ratio = score.ratio
    if ratio is not None and ratio > 0 and (ratio >= 1.5 or ratio <= 1 / 1.5):
        return f"{ratio:.3g}x" if ratio >= 1 else f"down to {ratio:.2g}x"
    return score.direction


def _unit(score: SeriesScore) -> str:
    unit = score.unit
    return f" {unit}" if unit else ""


def _evidence(score: SeriesScore, onset: datetime) -> Evidence:
    series = score.series
    unit = score.unit
    figures: dict[str, object] = {
        "series": series.name,
        "baseline": _sig(score.baseline),
        "after": _sig(score.after),
        "score": round(score.score, 1),
        "scale": _sig(score.scale),
        "direction": score.direction,
        "transform": score.transform,
        "points_before": score.baseline_points,
        "points_after": score.after_points,
    }
    if unit:
        figures["unit"] = unit
    if score.ratio is not None:
        figures["ratio"] = _sig(score.ratio, 3)
    how = {"rate": "per-second rate, ", "detrended": "against its trend, "}.get(score.transform, "")
    summary = (
        f"{series.name}: median {_sig(score.baseline):g}{_unit(score)} before the onset, "
        f"{_sig(score.after):g}{_unit(score)} after ({_change(score)}; {how}{score.score:.1f} noise units "
        f"of {_sig(score.scale, 3):g})"
    )
    return Evidence(
        source=series.source,
        kind="metric_anomaly",
        summary=summary,
        at_from=onset,
        at_to=_at(score.after_to),
        query=series.query or series.name,
        figures=figures,
    )


def _title(anomaly: ComponentAnomaly) -> str:
    lead = anomaly.lead
    kind = lead.kind
    up = lead.direction == "up"
    if not anomaly.symptom and up and kind.name in ("cpu", "concurrency"):
        what = "CPU saturation" if kind.name == "cpu" else "concurrency saturation"
    elif not anomaly.symptom and up and kind.resource:
        what = f"{kind.name} growth"
    elif kind.name == "traffic":
        what = "traffic surge" if up else "traffic drop"
    elif kind.name == "metric":
        what = "metric anomaly"
    else:
        what = f"{kind.name} anomaly"
    return f"{what}: {lead.series.name} {_change(lead)}"


def _finding(anomaly: ComponentAnomaly, onset: datetime) -> Finding:
    lead = anomaly.lead
    shown = [lead, *[s for s in anomaly.series if s is not lead and s.score >= MIN_SCORE]]
    shown = shown[:EVIDENCE_SERIES]
    others = sum(1 for s in anomaly.series if s.score >= MIN_SCORE) - 1
    summary = (
        f"{anomaly.component}: {lead.series.name} went from {_sig(lead.baseline):g} to "
        f"{_sig(lead.after):g}{_unit(lead)} after {onset:%H:%M:%S} UTC "
        f"({lead.score:.0f} noise units)" + (f"; {others} more of its series moved" if others > 0 else "")
    )
    evidence: tuple[Evidence, ...] = tuple(_evidence(s, onset) for s in shown)
    return Finding(
        investigator=INVESTIGATOR,
        component=anomaly.component,
        title=_title(anomaly),
        summary=summary,
        confidence=round(confidence(anomaly.score), 4),
        evidence=evidence,
        category=lead.kind.category,
        symptom=anomaly.symptom,
        indicator=lead.series.name,
        onset=_at(lead.departed_at),
    )


def analyse_metrics(ctx: InvestigationContext, onset_hint: datetime | None = None) -> list[Finding]:
    """Metric anomalies around the onset, one finding per anomalous component (the top few).

    ``onset_hint`` is the onset another analysis found (the log investigator's); without it the
    onset is estimated from the series themselves, falling back to the detection time.
    """
    if ctx.window_end is not None:
        until = ctx.window_end
    else:
        until = ctx.detected_at + max(ctx.settings.lookback, MIN_AFTER)
    series: list[MetricSeries] = list(ctx.metric_series(ctx.window_start, until))
    if not series:
        return []
    how = "hint"
    onset = onset_hint
    estimate = None
    if onset is None:
        estimate = detect_onset(series, ctx.detected_at, start=ctx.window_start, end=until)
        onset, how = (estimate.at, "change point") if estimate else (ctx.detected_at, "detection")
    onset = min(max(onset, ctx.window_start), until)
    scores = rank_series(series, onset, until=until)
    anomalies = rank_components(scores, min_score=MIN_SCORE)
    # Ordered as the ranking will weigh them: a component that only shows symptoms counts half.
    anomalies.sort(key=lambda a: -confidence(a.score) * (SYMPTOM_WEIGHT if a.symptom else 1.0))
    chosen = anomalies[:MAX_COMPONENTS]
    focus = ctx.focus
    if focus and all(a.component != focus for a in chosen):
        chosen.extend(a for a in anomalies if a.component == focus)
    ctx.audit(
        "ops.metrics",
        series=len(series),
        scored=len(scores),
        onset=onset,
        onset_from=how,
        onset_t=estimate.t if estimate else None,
        anomalous=[{"component": a.component, "score": round(a.score, 1)} for a in anomalies[:10]],
    )
    return [_finding(anomaly, onset) for anomaly in chosen]
