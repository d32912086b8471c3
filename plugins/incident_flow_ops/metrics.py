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

A machine's load, memory and disk are the sum of what runs on it. When a machine (a component with
node_exporter's ``node_*`` series or a load average) moved with a service's resource of the same kind
at the same time, the service is what consumed it: the machine's finding becomes a symptom that
points at the service (``depends_on``), so the ranking moves its weight there, as DESIGN.md names
the service whose memory grew, not the host where it showed.
"""

from __future__ import annotations

import re
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

__all__ = ["MAX_COMPONENTS", "MIN_SCORE", "analyse_metrics", "consumers", "machines"]

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
#: The ceiling of a metric finding's confidence: a metric shows that something changed, not why.
CAP = 0.9
#: A machine's series and a service's that departed this close together moved as one.
TOGETHER_S = 300.0
#: Series only a machine exports: node_exporter's ``node_*`` and the kernel's load averages.
_MACHINE_METRIC = re.compile(r"^(node_|load_?(1|5|15)m?$|loadavg)", re.IGNORECASE)


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
    if score.transform == "growth":
        figures["climbing_since"] = _at(score.departed_at).isoformat()
        summary = (
            f"{series.name}: median {_sig(score.baseline):g}{_unit(score)} at the start of the window, "
            f"climbing from {_at(score.departed_at):%H:%M} UTC to {_sig(score.after):g}{_unit(score)} "
            f"({_change(score)}; {score.score:.1f} noise units of {_sig(score.scale, 3):g})"
        )
    else:
        summary = (
            f"{series.name}: median {_sig(score.baseline):g}{_unit(score)} before the onset, "
            f"{_sig(score.after):g}{_unit(score)} after ({_change(score)}; {how}{score.score:.1f} noise "
            f"units of {_sig(score.scale, 3):g})"
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


def _finding(anomaly: ComponentAnomaly, onset: datetime, consumer: SeriesScore | None = None) -> Finding:
    """The finding for one component; ``consumer`` is the service's series that explains a machine's."""
    lead = anomaly.lead
    shown = [lead, *[s for s in anomaly.series if s is not lead and s.score >= MIN_SCORE]]
    shown = shown[:EVIDENCE_SERIES]
    others = sum(1 for s in anomaly.series if s.score >= MIN_SCORE) - 1
    when = (
        f"climbing since {_at(lead.departed_at):%H:%M:%S} UTC"
        if lead.transform == "growth"
        else f"after {onset:%H:%M:%S} UTC"
    )
    summary = (
        f"{anomaly.component}: {lead.series.name} went from {_sig(lead.baseline):g} to "
        f"{_sig(lead.after):g}{_unit(lead)} {when} "
        f"({lead.score:.0f} noise units)" + (f"; {others} more of its series moved" if others > 0 else "")
    )
    title = _title(anomaly)
    if consumer is not None:
        shown = [*shown[: EVIDENCE_SERIES - 1], consumer]
        title = f"{title}, with {consumer.series.component}'s {consumer.kind.name}"
        summary += (
            f"; {consumer.series.name} rose with it on {consumer.series.component}, which consumed it "
            "(a machine shows the sum of what runs on it)"
        )
    sure = confidence(anomaly.score)
    second = _moved_with(anomaly)
    if second is not None:
        # Two of the component's own signals departing at the same minute (its CPU and its
        # latency, its CPU and its memory) make a coincidence less likely. They are not
        # independent witnesses, so the second weighs half, as a symptom does in the ranking.
        sure = 1.0 - (1.0 - sure) * (1.0 - SYMPTOM_WEIGHT * confidence(second.score))
        summary += f"; its own {second.kind.name} ({second.series.name}) moved with it"
        if second not in shown:
            shown = [*shown[: EVIDENCE_SERIES - 1], second]
    evidence: tuple[Evidence, ...] = tuple(_evidence(s, onset) for s in shown)
    return Finding(
        investigator=INVESTIGATOR,
        component=anomaly.component,
        title=title,
        summary=summary,
        confidence=round(min(sure, CAP), 4),
        evidence=evidence,
        category=lead.kind.category,
        symptom=anomaly.symptom or consumer is not None,
        indicator=lead.series.name,
        # A fill's climb starts long before the incident; the finding dates what it explains.
        onset=max(_at(lead.departed_at), onset),
        depends_on=consumer.series.component if consumer is not None else None,
    )


def _moved_with(anomaly: ComponentAnomaly) -> SeriesScore | None:
    """The component's strongest series of another kind that departed with its cause series."""
    if anomaly.symptom:
        return None
    lead = anomaly.lead
    together = [
        s
        for s in anomaly.series
        if s.kind.name != lead.kind.name
        and s.score >= MIN_SCORE
        and abs(s.departed_at - lead.departed_at) <= TOGETHER_S
    ]
    return max(together, key=lambda s: (s.score, s.series.name)) if together else None


def machines(series: list[MetricSeries]) -> set[str]:
    """Components that are machines: they export series only a machine has (``node_*``, load)."""
    return {s.component for s in series if _MACHINE_METRIC.match(s.metric or s.name)}


def consumers(anomalies: list[ComponentAnomaly], hosts: set[str]) -> dict[str, SeriesScore]:
    """For each machine whose resource anomaly a service's explains: that service's series.

    The service's series must be of the same kind (CPU with load, memory with memory, disk with
    disk), be a cause rather than a symptom, and have departed within ``TOGETHER_S`` of the
    machine's; the most departed one wins.
    """
    found: dict[str, SeriesScore] = {}
    for machine in anomalies:
        lead = machine.lead
        if machine.component not in hosts or machine.symptom or not lead.kind.resource:
            continue
        candidates = [
            s
            for other in anomalies
            if other.component not in hosts
            for s in other.series
            if not s.symptom
            and s.score >= MIN_SCORE
            and s.kind.name == lead.kind.name
            and abs(s.departed_at - lead.departed_at) <= TOGETHER_S
        ]
        if candidates:
            found[machine.component] = max(candidates, key=lambda s: (s.score, s.series.name))
    return found


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
    explained = consumers(anomalies, machines(series))
    # Ordered as the ranking will weigh them: a component that only shows symptoms counts half.
    anomalies.sort(
        key=lambda a: (
            -confidence(a.score) * (SYMPTOM_WEIGHT if a.symptom or a.component in explained else 1.0)
        )
    )
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
        machines_explained={host: score.series.name for host, score in explained.items()},
    )
    return [_finding(anomaly, onset, explained.get(anomaly.component)) for anomaly in chosen]
