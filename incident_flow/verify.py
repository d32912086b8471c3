"""The verify phase: after an approved action ran, are the signals that defined the incident back?

The signals are the rank-1 cause's indicator and the indicators of the symptom findings (latency,
error rates: how the incident showed), as far as the sources can measure them again:

- a **metric series** (an indicator that names one): its baseline is the median of its points
  before the onset, with a tolerance of three robust standard deviations (1.4826 x MAD), and never
  less than 10% of the median; its level now is the median of its last three points since the
  action. Back within the tolerance is ``recovered``; at least halfway back from the incident's
  level (the median between the onset and the action) is ``improved``.
- a **log template** (``log template: <template>``, as the ops investigator names one): its rate
  per minute before the onset is the baseline. Since the action, as many matches as the baseline
  rate predicts plus three Poisson standard deviations is ``recovered``, but only once the time
  since the action is long enough for the incident's rate to have produced five matches: a quiet
  minute after a rare error says nothing. Half the incident's rate or less is ``improved``.

Each check runs again every ``interval`` seconds until every signal is recovered or the phase's
budget ends. Nothing since the action to judge by is ``no_data``. The outcome, from the last round,
decides the report's status: ``recovered`` makes it resolved; anything else, after an action ran,
mitigated.
"""

from __future__ import annotations

import asyncio
import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from incident_flow.actions.gate import InThread
from incident_flow.analysis.templates import Template
from incident_flow.context import InvestigationContext
from incident_flow.model import Finding, RootCause, SignalCheck, Verification

__all__ = ["LOG_TEMPLATE_PREFIX", "MAX_SIGNALS", "verify"]

#: How the ops investigator names a log template in an indicator.
LOG_TEMPLATE_PREFIX = "log template: "
#: Signals re-checked at most: the rank-1 cause's, then the strongest symptoms'.
MAX_SIGNALS = 6
_MIN_BASELINE_POINTS = 3
_MIN_EXPECTED_MATCHES = 5.0


@attrs.frozen
class _Signal:
    text: str
    component: str
    onset: datetime


@attrs.define
class _Metric:
    signal: _Signal
    name: str
    center: float
    tolerance: float
    incident: float | None
    baseline_points: int


@attrs.define
class _Log:
    signal: _Signal
    template: Template
    base_rate: float
    incident_rate: float


def _signals(causes: Sequence[RootCause], findings: Sequence[Finding], onset: datetime) -> list[_Signal]:
    found: list[_Signal] = []
    seen: set[str] = set()
    candidates: list[tuple[str | None, str, datetime | None]] = []
    if causes:
        candidates.append((causes[0].indicator, causes[0].component, None))
    symptoms = sorted((f for f in findings if f.symptom), key=lambda f: -f.confidence)
    candidates.extend((f.indicator, f.component, f.onset) for f in symptoms)
    for text, component, at in candidates:
        if not text or text in seen or len(found) >= MAX_SIGNALS:
            continue
        seen.add(text)
        found.append(_Signal(text=text, component=component, onset=at or onset))
    return found


def _median_spread(values: Sequence[float]) -> tuple[float, float]:
    center = statistics.median(values)
    mad = statistics.median(abs(v - center) for v in values)
    return center, 1.4826 * mad


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 4)


class _Checker:
    """Reads the sources for each round; the baselines are measured once, in the first round."""

    def __init__(self, ctx: InvestigationContext, signals: Sequence[_Signal], since: datetime) -> None:
        self.ctx = ctx
        self.signals = signals
        self.since = since
        self.metrics: list[_Metric] = []
        self.logs: list[_Log] = []
        self.skipped: list[str] = []
        self._measured = False

    # -- the first round: which signals can be measured, and their baselines ----------------------

    def measure(self) -> None:
        start = self.ctx.window_start
        by_name = {s.text: s for s in self.signals if not s.text.startswith(LOG_TEMPLATE_PREFIX)}
        seen_metrics: set[str] = set()
        if by_name:
            for series in self.ctx.metric_series(since=start, until=_now() + timedelta(hours=1)):
                signal = by_name.get(series.name)
                if signal is None or series.name in seen_metrics:
                    continue
                seen_metrics.add(series.name)
                self._baseline_metric(signal, series.times, series.values)
        logs = [s for s in self.signals if s.text.startswith(LOG_TEMPLATE_PREFIX)]
        if logs:
            self._baseline_logs(logs)
        measured = {m.signal.text for m in self.metrics} | {entry.signal.text for entry in self.logs}
        for signal in self.signals:
            if signal.text not in measured and not any(signal.text in s for s in self.skipped):
                self.skipped.append(f"{signal.text}: not a metric series or log template the sources hold")
        self._measured = True

    def _baseline_metric(self, signal: _Signal, times: Sequence[float], values: Sequence[float]) -> None:
        onset, since = signal.onset.timestamp(), self.since.timestamp()
        base = [v for t, v in zip(times, values, strict=True) if t < onset and math.isfinite(v)]
        if len(base) < _MIN_BASELINE_POINTS:
            self.skipped.append(
                f"{signal.text}: {len(base)} point(s) before the onset, too few for a baseline"
            )
            return
        center, spread = _median_spread(base)
        incident = [v for t, v in zip(times, values, strict=True) if onset <= t < since and math.isfinite(v)]
        tolerance = max(3 * spread, 0.1 * abs(center), 1e-9)
        level = statistics.median(incident) if incident else None
        self.metrics.append(_Metric(signal, signal.text, center, tolerance, level, len(base)))

    def _baseline_logs(self, signals: Sequence[_Signal]) -> None:
        templates = [
            Template(id=f"V{i}", template=s.text.removeprefix(LOG_TEMPLATE_PREFIX))
            for i, s in enumerate(signals)
        ]
        before = [0] * len(signals)
        during = [0] * len(signals)
        first: datetime | None = None
        for record in self.ctx.log_records(since=self.ctx.window_start, until=self.since):
            if record.at is None:
                continue
            first = record.at if first is None or record.at < first else first
            for i, (signal, template) in enumerate(zip(signals, templates, strict=True)):
                if template.matches(record.message):
                    if record.at < signal.onset:
                        before[i] += 1
                    else:
                        during[i] += 1
        for i, signal in enumerate(signals):
            base_minutes = (signal.onset - (first or self.ctx.window_start)).total_seconds() / 60
            incident_minutes = (self.since - signal.onset).total_seconds() / 60
            if base_minutes <= 0 or incident_minutes <= 0:
                self.skipped.append(f"{signal.text}: no time before the onset or after it to compare")
                continue
            self.logs.append(
                _Log(signal, templates[i], before[i] / base_minutes, during[i] / incident_minutes)
            )

    # -- every round: the level since the action ------------------------------------------------

    def check(self, round_number: int) -> list[SignalCheck]:
        if not self._measured:
            self.measure()
        at = _now()
        checks = self._check_metrics(round_number, at) if self.metrics else []
        if self.logs:
            checks.extend(self._check_logs(round_number, at))
        return checks

    def _check_metrics(self, round_number: int, at: datetime) -> list[SignalCheck]:
        since = self.since.timestamp()
        latest: dict[str, list[float]] = {m.name: [] for m in self.metrics}
        for series in self.ctx.metric_series(
            since=self.since - timedelta(minutes=1), until=at + timedelta(hours=1)
        ):
            if series.name in latest and not latest[series.name]:
                latest[series.name] = [
                    v
                    for t, v in zip(series.times, series.values, strict=True)
                    if t >= since and math.isfinite(v)
                ]
        checks = []
        for metric in self.metrics:
            points = latest[metric.name]
            figures: dict[str, Any] = {
                "baseline": _round(metric.center),
                "tolerance": _round(metric.tolerance),
                "incident": _round(metric.incident),
                "points_since_action": len(points),
            }
            if not points:
                state = "no_data"
                figures["current"] = None
            else:
                current = statistics.median(points[-3:])
                figures["current"] = _round(current)
                state = _metric_state(metric, current)
            checks.append(
                SignalCheck(
                    at=at,
                    round=round_number,
                    signal=metric.signal.text,
                    kind="metric",
                    component=metric.signal.component,
                    state=state,
                    figures=figures,
                )
            )
        return checks

    def _check_logs(self, round_number: int, at: datetime) -> list[SignalCheck]:
        counts = [0] * len(self.logs)
        records = 0
        for record in self.ctx.log_records(since=self.since, until=None):
            if record.at is None or record.at < self.since:
                continue
            records += 1
            for i, entry in enumerate(self.logs):
                if entry.template.matches(record.message):
                    counts[i] += 1
        minutes = max((at - self.since).total_seconds() / 60, 1e-6)
        checks = []
        for entry, count in zip(self.logs, counts, strict=True):
            expected = entry.base_rate * minutes
            allowed = expected + 3 * math.sqrt(max(expected, 1.0))
            figures = {
                "baseline_per_min": _round(entry.base_rate),
                "incident_per_min": _round(entry.incident_rate),
                "after_per_min": _round(count / minutes),
                "matches_since_action": count,
                "records_since_action": records,
                "minutes_since_action": _round(minutes),
                "allowed_at_baseline": _round(allowed),
            }
            if records == 0:
                state = "no_data"
            elif count <= allowed:
                # Quiet since the action, but a lull of a rare error is not a recovery: wait until the
                # incident's rate would have shown itself.
                enough = entry.incident_rate * minutes >= _MIN_EXPECTED_MATCHES
                state = "recovered" if enough else "no_data"
            elif count / minutes <= 0.5 * entry.incident_rate:
                state = "improved"
            else:
                state = "not_improved"
            checks.append(
                SignalCheck(
                    at=at,
                    round=round_number,
                    signal=entry.signal.text,
                    kind="log_template",
                    component=entry.signal.component,
                    state=state,
                    figures=figures,
                )
            )
        return checks


def _metric_state(metric: _Metric, current: float) -> str:
    distance = abs(current - metric.center)
    if distance <= metric.tolerance:
        return "recovered"
    if metric.incident is not None and distance <= 0.5 * abs(metric.incident - metric.center):
        return "improved"
    return "not_improved"


def _now() -> datetime:
    return datetime.now(UTC)


def _outcome(checks: Sequence[SignalCheck]) -> str:
    states = {c.state for c in checks}
    if not checks or states == {"no_data"}:
        return "unverifiable"
    if states == {"recovered"}:
        return "recovered"
    if states <= {"recovered", "improved", "no_data"}:
        return "improved"
    return "not_recovered"


async def verify(
    ctx: InvestigationContext,
    causes: Sequence[RootCause],
    findings: Sequence[Finding],
    *,
    onset: datetime | None,
    since: datetime,
    budget: float,
    in_thread: InThread,
    emit: Callable[..., None],
    interval: float | None = None,
) -> Verification:
    """Re-check the incident's signals every ``interval`` seconds until they are back or ``budget``
    (seconds) ends; ``since`` is when the action finished. Every check goes to the audit trail."""
    started = _now()
    deadline = time.monotonic() + budget
    pause = interval if interval is not None else min(15.0, max(0.2, budget / 20))
    signals = _signals(causes, findings, onset or ctx.detected_at)
    checker = _Checker(ctx, signals, since)
    checks: list[SignalCheck] = []
    last: list[SignalCheck] = []
    rounds, note = 0, None
    while signals:
        rounds += 1
        remaining = deadline - time.monotonic()
        try:
            last = await asyncio.wait_for(
                in_thread(functools.partial(checker.check, rounds)), max(remaining, 0.01)
            )
        except TimeoutError:
            note = f"check {rounds} did not finish within the verify budget of {budget:g}s"
            rounds -= 1
            break
        except Exception as exc:  # a source that breaks now must not lose the report
            note = f"check {rounds} failed: {type(exc).__name__}: {exc}"
            break
        for check in last:
            ctx.audit(
                "verify.check",
                round=check.round,
                signal=check.signal,
                signal_kind=check.kind,
                state=check.state,
                figures=dict(check.figures),
            )
        emit("verify.check", round=rounds, states={c.signal: c.state for c in last})
        checks.extend(last)
        if not last or all(c.state == "recovered" for c in last):
            break
        if deadline - time.monotonic() < pause:
            note = f"the verify budget of {budget:g}s ended after {rounds} check(s)"
            break
        await asyncio.sleep(pause)
    if signals and not checks and note is None:
        note = "none of the signals that defined the incident could be measured again (see skipped)"
    if not signals:
        note = "no signal that defined the incident names a metric series or a log template to re-check"
    outcome = _outcome(last)
    ctx.audit("verify.finished", outcome=outcome, rounds=rounds, skipped=checker.skipped, note=note)
    return Verification(
        outcome=outcome,
        since=since,
        started_at=started,
        finished_at=_now(),
        budget_s=budget,
        rounds=rounds,
        signals=[s.text for s in signals],
        checks=checks,
        skipped=checker.skipped,
        note=note,
    )
