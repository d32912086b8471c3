"""Phase 4's follow-ups: typed action items with owners, alerts that would have fired, lessons.

The seed's post-incident report asks for action items, monitoring improvements and lessons learned.
A run can only stand behind the ones its evidence supports, so every follow-up here is computed
from the report's own values and names them: an :class:`~incident_flow.model.ActionItem` or
:class:`~incident_flow.model.AlertRule` carries ``basis``, JSON pointers (RFC 6901) into the JSON
report, and a test resolves them. What the evidence does not show (why a review missed something,
who should have done what) is left to the people involved.

- **Owners** come from ``CODEOWNERS`` (the last matching rule wins, as on GitHub and GitLab) for the
  files an item is about: the failing frame, the change's files, or the component's ``[components]``
  paths. With no matching rule the item is *unassigned* and says so; the change's author is then
  given as context ("author of <sha>"), never as the owner and never as the cause.
- **Alerts** are built from an indicator's figures (baseline and incident level) with a threshold
  between them, then replayed over the recorded series: when the rule would have fired, how often
  it would have fired before the onset (its false alarms), how fast the signal ramped.
- **Lessons** are about systems (what let the change through, how late detection came), in words
  that name no person.

:func:`with_followups` is the one function that reads sources (CODEOWNERS, metric series); the
others are pure functions of their arguments.
"""

from __future__ import annotations

import ast
import json
import math
import re
import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from incident_flow.actions import is_replay
from incident_flow.analysis.anomaly import to_rate
from incident_flow.analysis.changes import change_nature
from incident_flow.analysis.redact import PLACEHOLDER, Redactor
from incident_flow.config import ComponentSpec
from incident_flow.logger import get_logger
from incident_flow.model import (
    ActionItem,
    AlertRule,
    Change,
    Evidence,
    Report,
    RootCause,
    Severity,
    TimelineEvent,
    format_offset,
)
from incident_flow.sources import MetricSeries, MetricSource, Source, SourceError
from incident_flow.sources.git import CodeOwners, GitSource

__all__ = [
    "MIN_LITERAL_CHARS",
    "Lesson",
    "Ownership",
    "action_items",
    "alert_threshold",
    "codeowners_of",
    "lessons",
    "monitoring_improvements",
    "owners_for",
    "replay_alert",
    "root_cause_identified",
    "span",
    "with_followups",
]

log = get_logger(__name__)

#: The window log alerts count matches over.
LOG_WINDOW_S = 300
#: A threshold stays this many noise units above the baseline when the incident level allows it.
NOISE_MARGIN = 3.0
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_TEMPLATE_QUERY = re.compile(r"^template \S+ = (?P<literal>'.*'|\".*\")$", re.S)
_MAX_QUOTE = 160
#: The metacharacters of every regex dialect an alert may be pasted into (Python, PCRE, Go's RE2 for
#: Loki and Grafana): escaping only these keeps the pattern valid in all of them (RE2 rejects ``\ ``).
_PORTABLE_META = re.compile(r"[.^$*+?()\[\]{}|\\]")


# --------------------------------------------------------------------------------------------------
# Small shared helpers


def span(seconds: float) -> str:
    """A duration as people say it: ``45 seconds``, ``23 minutes``, ``2 h 05 min``, ``3 d 4 h``."""
    total = abs(round(seconds))
    if total < 90:
        return "1 second" if total == 1 else f"{total} seconds"
    minutes = round(total / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _short(change: Change) -> str:
    if re.fullmatch(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", change.id):
        return change.id[:12]
    return change.id


def _number(value: float) -> str:
    return f"{value:.3g}"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _clock(at: datetime) -> str:
    return f"{at:%H:%M} UTC"


def _ranked(report: Report) -> list[RootCause]:
    """Root causes in the JSON report's order (by rank), so pointers index the same list."""
    return sorted(report.root_causes, key=lambda cause: cause.rank)


class _Pointers:
    """JSON pointers into the report's JSON for the values an item rests on."""

    def __init__(self, report: Report) -> None:
        self.causes = _ranked(report)
        self.findings = report.findings

    def evidence(self, item: Evidence) -> str:
        for index, cause in enumerate(self.causes):
            for number, candidate in enumerate(cause.evidence):
                if candidate == item:
                    return f"/root_causes/{index}/evidence/{number}"
        for index, finding in enumerate(self.findings):
            for number, candidate in enumerate(finding.evidence):
                if candidate == item:
                    return f"/findings/{index}/evidence/{number}"
        raise LookupError("evidence not in the report")


def _evidence_of(report: Report, component: str) -> list[Evidence]:
    """The rank-1 cause's evidence, then that of the findings about its component, without repeats."""
    causes = _ranked(report)
    found: list[Evidence] = list(causes[0].evidence) if causes else []
    for finding in report.findings:
        if finding.component == component:
            found.extend(item for item in finding.evidence if item not in found)
    return found


# --------------------------------------------------------------------------------------------------
# Owners


@attrs.frozen
class Ownership:
    """Who owns some paths and why: the CODEOWNERS rules that matched, or why nobody is assigned."""

    owners: tuple[str, ...]
    source: str


def _matching_rule(codeowners: CodeOwners, path: str) -> tuple[str, tuple[str, ...]] | None:
    """The last rule of ``codeowners`` that matches ``path`` (a rule may name no owner)."""
    found = None
    for pattern, owners in codeowners.rules:
        # A one-rule CodeOwners with a stand-in owner tells whether the pattern matches at all.
        if CodeOwners(rules=((pattern, ("match",)),)).owners(path):
            found = (pattern, owners)
    return found


def owners_for(paths: Sequence[str], codeowners: Sequence[CodeOwners]) -> Ownership:
    """The owners of ``paths`` by the CODEOWNERS files given (the first file with a matching rule
    decides a path; within a file the last matching rule wins), and where each owner came from."""
    paths = list(dict.fromkeys(p.lstrip("/") for p in paths if p.strip()))
    if not paths:
        return Ownership((), "unassigned (no repository path is tied to this item)")
    files = [c for c in codeowners if c.path is not None]
    owners: list[str] = []
    matched: list[str] = []
    unmatched: list[str] = []
    for path in paths:
        rule = next(((c.path, found) for c in files if (found := _matching_rule(c, path)) is not None), None)
        if rule is None or not rule[1][1]:
            unmatched.append(path)
            continue
        where, (pattern, names) = rule
        owners.extend(name for name in names if name not in owners)
        matched.append(f"{where} rule `{pattern}` matches {path}")
    if not owners:
        text = f"unassigned (no CODEOWNERS rule matches {', '.join(paths)})"
        if not codeowners:
            text += "; no git source to read a CODEOWNERS file from"
        elif not files:
            text += "; the repository has no CODEOWNERS file"
        return Ownership((), text)
    text = "; ".join(matched)
    if unmatched:
        text += f"; no CODEOWNERS rule matches {', '.join(unmatched)}"
    return Ownership(tuple(owners), text)


def _component_paths(component: str | None, components: Mapping[str, ComponentSpec]) -> list[str]:
    """A folder per ``[components]`` glob of ``component`` (``services/orders/**`` is
    ``services/orders/``): what a CODEOWNERS rule for the component's code matches."""
    spec = components.get(component or "")
    paths: list[str] = []
    for glob in spec.paths if spec else ():
        literal = re.split(r"[*?\[]", glob, maxsplit=1)[0]
        if literal == glob and not literal.endswith("/"):
            literal += "/"  # a plain folder matches what is under it
        if "/" in literal:
            paths.append(literal[: literal.rindex("/") + 1])
    return paths


# --------------------------------------------------------------------------------------------------
# Alerts


def alert_threshold(baseline: float, level: float, scale: float = 0.0) -> float | None:
    """A threshold between ``baseline`` and the incident ``level``, or None when they do not differ.

    On a ratio of four or more the geometric mean (the signals move by factors: an error rate from
    0.1/s to 80/s alerts well at 2.8/s), else the midpoint; at least ``NOISE_MARGIN`` noise units
    (``scale``) away from the baseline when the level leaves room; rounded to two or three
    significant digits when that keeps it strictly between the two.
    """
    values = [_finite(v) for v in (baseline, level, scale)]
    if any(v is None for v in values) or baseline == level:
        return None
    scale = max(scale, 0.0)
    up = level > baseline
    low, high = sorted((baseline, level))
    if low > 0 and high / low >= 4:
        raw = math.sqrt(low * high)
    elif up and baseline <= 0 < level:
        floor = scale if 0 < scale < level else level / 100
        raw = math.sqrt(floor * level)
    else:
        raw = (baseline + level) / 2
    margin = baseline + NOISE_MARGIN * scale if up else baseline - NOISE_MARGIN * scale
    if (up and raw < margin < level) or (not up and level < margin < raw):
        raw = margin
    for digits in (2, 3):
        rounded = float(f"{raw:.{digits}g}")
        if low < rounded < high:
            return rounded
    return raw if low < raw < high else None


@attrs.frozen
class Replay:
    """What an alert rule would have done over a recorded series."""

    fire_at: datetime | None
    fired_before_onset: int
    ramp_s: float | None
    peak: float | None


def _evaluated(series: MetricSeries, transform: str, window_s: int) -> list[tuple[float, float]]:
    """The value the rule's expression has at each point: ``avg_over_time()`` of a level, or
    ``rate()`` of a counter, over the window (a window of 0: the values step by step)."""
    points = [(t, v) for t, v in zip(series.times, series.values, strict=True) if math.isfinite(v)]
    if not transform.startswith("rate"):
        if window_s <= 0:
            return points
        averaged: list[tuple[float, float]] = []
        total, first = 0.0, 0
        for k, (at, value) in enumerate(points):
            total += value
            while points[first][0] <= at - window_s:
                total -= points[first][1]
                first += 1
            averaged.append((at, total / (k - first + 1)))
        return averaged
    times, rates = to_rate([t for t, _ in points], [v for _, v in points])
    starts = [points[0][0], *times[:-1]] if times else []
    out: list[tuple[float, float]] = []
    for k, end in enumerate(times):
        increase = covered = 0.0
        j = k
        while j >= 0 and end - starts[j] <= window_s + 1e-9:
            increase += rates[j] * (times[j] - starts[j])
            covered += times[j] - starts[j]
            j -= 1
        out.append((end, increase / covered if covered else rates[k]))
    return out


def replay_alert(
    points: Sequence[tuple[float, float]],
    comparison: str,
    threshold: float,
    for_s: float,
    onset: datetime,
    level: float,
) -> Replay:
    """Replay ``value comparison threshold`` held for ``for_s`` over ``points`` (unix seconds, value).

    A rule fires once its condition has held for ``for_s`` (Prometheus's ``for:``), once per
    episode. Episodes that ended before the onset are false alarms; the incident's episode is the
    first one still true at the onset or starting after it. ``ramp_s`` is how long the incident's
    episode took to reach 90% of ``level`` (of the peak, if lower); ``peak`` is the extreme value
    after the onset.
    """
    start_s = onset.timestamp()
    up = comparison == ">"
    episodes: list[tuple[float, float | None, float | None]] = []  # start, fired at, ended at
    begin: float | None = None
    fired: float | None = None
    for at, value in points:
        if (value > threshold) if up else (value < threshold):
            if begin is None:
                begin, fired = at, None
            if fired is None and at - begin >= for_s:
                fired = at
        elif begin is not None:
            episodes.append((begin, fired, at))
            begin = None
    if begin is not None:
        episodes.append((begin, fired, None))
    false_alarms = sum(1 for b, f, e in episodes if f is not None and e is not None and e <= start_s)
    incident = next(((b, f) for b, f, e in episodes if e is None or e > start_s), None)
    after = [v for t, v in points if t >= start_s]
    peak = (max(after) if up else min(after)) if after else None
    fire_at = ramp = None
    target = level if peak is None else (min(level, peak) if up else max(level, peak))
    target = 0.9 * target if up else target / 0.9
    if incident is not None:
        begin_at, fired_at = incident
        if fired_at is not None:
            fire_at = datetime.fromtimestamp(fired_at, onset.tzinfo)
        reached = next(
            (t for t, v in points if t >= begin_at and ((v >= target) if up else (v <= target))), None
        )
        ramp = None if reached is None else reached - begin_at
    return Replay(fire_at, false_alarms, ramp, peak)


def _ramp(seconds: float) -> str:
    if seconds <= 0:
        return "at its first sample above the alert's threshold"
    return f"within {span(seconds)} of first crossing the alert's threshold"


def _minutes(seconds: float) -> int:
    """Whole minutes, rounded up, at least one: Prometheus durations people read at a glance."""
    return max(60, math.ceil(seconds / 60) * 60)


def _alert_name(series: str, up: bool) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", series) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) + ("High" if up else "Low")


def _metric_rule(
    evidence: Evidence, series: MetricSeries | None, report: Report, pointer: str
) -> AlertRule | None:
    figures = evidence.figures
    name = figures.get("series")
    baseline, level = _finite(figures.get("baseline")), _finite(figures.get("after"))
    if not isinstance(name, str) or baseline is None or level is None or report.onset is None:
        return None
    threshold = alert_threshold(baseline, level, _finite(figures.get("scale")) or 0.0)
    if threshold is None:
        return None
    up = level > baseline
    transform = str(figures.get("transform") or "level")
    steps = [b - a for a, b in zip(series.times, series.times[1:], strict=False)] if series else []
    step = statistics.median(steps) if steps else None
    window_s = _minutes(4 * step) if step else 300
    for_s = _minutes(2 * step) if step else 120
    selector = name if _METRIC_NAME.fullmatch(name) else f"{{__name__={json.dumps(name)}}}"
    # A window smooths what one scrape shows: a counter's rate(), a level's avg_over_time().
    function = "rate" if transform.startswith("rate") else "avg_over_time"
    value = f"{function}({selector}[{window_s // 60}m])"
    comparison = ">" if up else "<"
    expr = f"{value} {comparison} {threshold:g}"
    unit = figures.get("unit") if isinstance(figures.get("unit"), str) else None
    suffix = f" {unit}" if unit else ""
    severity = "page" if report.assessment.severity >= Severity.HIGH else "ticket"
    summary = (
        f"{name} {'above' if up else 'below'} {threshold:g}{suffix} (baseline {_number(baseline)}{suffix}, "
        f"incident level {_number(level)}{suffix})"
    )
    rule = "\n".join(
        [
            "groups:",
            "  - name: incident-flow-followups",
            "    rules:",
            f"      - alert: {_alert_name(name, up)}",
            f"        expr: {json.dumps(expr)}",
            f"        for: {for_s // 60}m",
            "        labels:",
            f"          severity: {severity}",
            f"          component: {json.dumps(_evidence_component(report, evidence) or '')}",
            "        annotations:",
            f"          summary: {json.dumps(summary)}",
        ]
    )
    replay = shape = None
    if series is not None:
        # Firing and the ramp are replayed on the expression's own values (the windowed rate or
        # average, so one noisy scrape does not count as a ramp); the peak on the values as scraped.
        windowed = _evaluated(series, transform, window_s)
        replay = replay_alert(windowed, comparison, threshold, for_s, report.onset, level)
        shape = replay_alert(_evaluated(series, transform, 0), comparison, threshold, 0, report.onset, level)
    return AlertRule(
        kind="metric",
        component=_evidence_component(report, evidence) or name,
        signal=name,
        source=evidence.source,
        expr=expr,
        comparison=comparison,
        threshold=threshold,
        baseline=baseline,
        level=level,
        window_s=window_s,
        for_s=for_s,
        rule=rule,
        basis=(pointer,),
        unit=unit,
        peak=None if shape is None else shape.peak,
        would_fire_at=None if replay is None else replay.fire_at,
        fired_before_onset=None if replay is None else replay.fired_before_onset,
        ramp_s=None if replay is None else replay.ramp_s,
    )


def _evidence_component(report: Report, evidence: Evidence) -> str | None:
    """The component whose cause or finding holds ``evidence``."""
    for cause in _ranked(report):
        if evidence in cause.evidence:
            return cause.component
    return next((f.component for f in report.findings if evidence in f.evidence), None)


def _template(evidence: Evidence) -> str | None:
    match = _TEMPLATE_QUERY.match(evidence.query or "")
    if match is None:
        return None
    try:
        text = ast.literal_eval(match.group("literal"))
    except (ValueError, SyntaxError):
        return None
    return text if isinstance(text, str) and text.replace("<*>", "").strip() else None


#: The least literal letters and digits a template needs to be alerted on: ``<*> - "POST <*> <*>" <*>``
#: (an access line whose status was masked) would match every request, not the failure.
MIN_LITERAL_CHARS = 12


def _specific(template: str) -> bool:
    return sum(ch.isalnum() for ch in template.replace("<*>", "")) >= MIN_LITERAL_CHARS


def _log_rule(evidence: Evidence, report: Report, pointer: str) -> AlertRule | None:
    template = _template(evidence)
    figures = evidence.figures
    before = _finite(figures.get("rate_before_per_min"))
    after = _finite(figures.get("rate_after_per_min"))
    if template is None or not _specific(template) or before is None or after is None or after <= before:
        return None
    per_window = LOG_WINDOW_S / 60
    baseline, level = before * per_window, after * per_window
    # A template never seen before the onset alerts on its first line; a surging one between.
    threshold = 0.0 if baseline == 0 else alert_threshold(baseline, level)
    if threshold is None:
        return None
    # A secret the template kept literally (the same on every line) is a wildcard in the pattern:
    # an alert rule is pasted into config repositories and must not carry it.
    literals = re.split(r"<\*>|" + PLACEHOLDER.pattern, Redactor().redact(template))
    regex = ".*?".join(_PORTABLE_META.sub(r"\\\g<0>", part) for part in literals[:: PLACEHOLDER.groups + 1])
    component = _evidence_component(report, evidence) or evidence.source
    rule = "\n".join(
        [
            f"source: {evidence.source} (component {component})",
            f"match: {regex}",
            f"alert when: more than {threshold:g} matching lines in {LOG_WINDOW_S // 60} minutes "
            f"(before the onset {_number(baseline)}, after it {_number(level)} "
            f"per {LOG_WINDOW_S // 60} minutes)",
        ]
    )
    return AlertRule(
        kind="log",
        component=component,
        signal=template,
        source=evidence.source,
        expr=regex,
        comparison=">",
        threshold=threshold,
        baseline=baseline,
        level=level,
        window_s=LOG_WINDOW_S,
        for_s=0,
        rule=rule,
        basis=(pointer,),
        unit=f"lines/{LOG_WINDOW_S // 60}m",
    )


def _metric_candidates(report: Report) -> list[Evidence]:
    """The rank-1 component's metric anomalies, the rank-1 indicator first, then by score."""
    causes = _ranked(report)
    if not causes:
        return []
    cause = causes[0]
    found = [e for e in _evidence_of(report, cause.component) if e.kind == "metric_anomaly"]
    return sorted(
        found,
        key=lambda e: (e.figures.get("series") != cause.indicator, -(_finite(e.figures.get("score")) or 0.0)),
    )


def monitoring_improvements(report: Report, series: Mapping[str, MetricSeries]) -> tuple[AlertRule, ...]:
    """Alerts on the rank-1 cause's component: its strongest metric and its strongest log template.

    Only what the evidence has figures for: a metric anomaly's baseline and level, a log template's
    rates before and after the onset. ``series`` (by name) lets the metric rule be replayed.
    """
    causes = _ranked(report)
    if not causes or report.onset is None:
        return ()
    where = _Pointers(report)
    rules: list[AlertRule] = []
    for evidence in _metric_candidates(report):
        name = evidence.figures.get("series")
        rule = _metric_rule(evidence, series.get(str(name)), report, where.evidence(evidence))
        if rule is not None:
            rules.append(rule)
            break
    logs = [e for e in _evidence_of(report, causes[0].component) if e.kind == "log_pattern"]
    indicator = causes[0].indicator or ""
    logs.sort(
        key=lambda e: (
            not (_template(e) and indicator.endswith(_template(e) or "")),  # the cause's own signal first
            (_finite(e.figures.get("rate_before_per_min")) or 0.0) > 0,
            -(_finite(e.figures.get("rate_after_per_min")) or 0.0),
        )
    )
    for evidence in logs:
        rule = _log_rule(evidence, report, where.evidence(evidence))
        if rule is not None:
            rules.append(rule)
            break
    return tuple(rules)


# --------------------------------------------------------------------------------------------------
# Action items


@attrs.frozen
class _Frame:
    file: str
    function: str
    line: int | None
    evidence: Evidence


def _failing_frame(evidence: Iterable[Evidence]) -> _Frame | None:
    """The top repository frame of the first stack trace in ``evidence``."""
    for item in evidence:
        top = item.figures.get("top_frame") if item.kind == "stack_trace" else None
        if isinstance(top, Mapping) and isinstance(top.get("file"), str) and top["file"]:
            line = top.get("line")
            return _Frame(
                top["file"], str(top.get("function") or ""), line if isinstance(line, int) else None, item
            )
    return None


def _change_evidence(cause: RootCause) -> Evidence | None:
    if cause.change is None:
        return None
    return next(
        (e for e in cause.evidence if e.kind == "change" and e.figures.get("change_id") == cause.change.id),
        None,
    )


def _quote(text: object) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= _MAX_QUOTE else one[: _MAX_QUOTE - 1] + "…"


class _Items:
    """Collects items, giving each its owners."""

    def __init__(self, codeowners: Sequence[CodeOwners], change: Change | None) -> None:
        self.codeowners = codeowners
        self.change = change
        self.items: list[ActionItem] = []

    def add(
        self,
        kind: str,
        text: str,
        basis: Sequence[str],
        paths: Sequence[str],
        *,
        component: str | None = None,
        indicator: str | None = None,
        about_change: bool = False,
    ) -> None:
        if any(item.text == text for item in self.items):
            return
        owner = owners_for(paths, self.codeowners)
        contact = None
        if not owner.owners and about_change and self.change is not None and self.change.author:
            contact = f"{self.change.author} (author of {_short(self.change)})"
        self.items.append(
            ActionItem(
                kind=kind,
                text=text,
                basis=tuple(dict.fromkeys(basis)),
                owners=owner.owners,
                owner_source=owner.source,
                contact=contact,
                component=component,
                indicator=indicator,
            )
        )


def _mitigate(report: Report, cause: RootCause, items: _Items, paths: list[str]) -> None:
    for index, step in enumerate(report.mitigations):
        if step.kind != "immediate" or step.target.strip() != cause.component:
            continue
        if step.executed:
            break  # the immediate step is done; verification says whether it held
        approval = "needs approval" if step.requires_approval else "needs no approval"
        basis = [f"/mitigations/{index}", "/root_causes/0"]
        items.add(
            "mitigate",
            f"{step.action.rstrip('.')}. Proposed by this run, not executed; {approval}.",
            basis,
            paths,
            component=cause.component,
            about_change=cause.change is not None,
        )
        break
    impact = report.assessment.user_impact
    word = str(impact.get("data_loss", "")).strip().lower()
    if word in ("yes", "possible", "true"):
        items.add(
            "mitigate",
            "Check the integrity of what was written since the onset: data loss is "
            f"{'possible' if word == 'possible' else 'reported'} (the line that says so is under Impact).",
            ["/assessment/user_impact/data_loss"],
            [],
        )


def _prevent_code(cause: RootCause, items: _Items, where: _Pointers, paths: list[str]) -> None:
    change = cause.change
    change_ev = _change_evidence(cause)
    change_ptr = ["/root_causes/0/change"] + ([where.evidence(change_ev)] if change_ev else [])
    frame = _failing_frame(cause.evidence)
    if frame is not None:
        figures = frame.evidence.figures
        location = f"{frame.file}:{frame.line}" if frame.line is not None else frame.file
        func = f"`{frame.function}` in " if frame.function else ""
        error = ": ".join(str(figures[k]) for k in ("exception", "message") if figures.get(k)) or "errors"
        counts = ""
        if _finite(figures.get("after")) is not None and _finite(figures.get("before")) is not None:
            counts = f" {figures['after']} times after the onset ({figures['before']} before)"
        blamed = change_ev.figures.get("blamed_lines") if change_ev else None
        by = ""
        if change is not None and isinstance(blamed, list | tuple) and location in blamed:
            by = f"; {_short(change)} last changed that line"
        frame_ptr = where.evidence(frame.evidence)
        items.add(
            "prevent",
            f"Fix {func}`{location}`: it raised {_quote(error)}{counts}{by}.",
            [frame_ptr, *(change_ptr if by else [])],
            [frame.file],
            component=cause.component,
            indicator=cause.indicator,
            about_change=change is not None,
        )
        validation = next((e for e in cause.evidence if e.kind == "validation_errors"), None)
        field, reason = (
            (validation.figures.get("field"), validation.figures.get("reason"))
            if validation
            else (None, None)
        )
        what = (
            f"a record whose `{field}` is {'missing' if 'missing' in str(reason) else 'invalid'}"
            if field and field != "n/a"
            else f"the input that raised {_quote(error)}"
        )
        test_basis = [frame_ptr, *([where.evidence(validation)] if validation and field else [])]
        items.add(
            "prevent",
            f"Add a test that runs {func or ''}`{frame.file}` on {what}, so this failure breaks the build "
            "instead of production.",
            test_basis,
            [frame.file],
            component=cause.component,
            about_change=change is not None,
        )
    elif change is not None and change.files:
        files = ", ".join(f"`{f}`" for f in change.files[:5])
        items.add(
            "prevent",
            f"Fix what {_short(change)} changed in {files} and add a test that covers that behaviour.",
            change_ptr,
            list(change.files),
            component=cause.component,
            about_change=True,
        )
    if change is None:
        return
    nature = change_nature(change)
    checks = {
        "config": "validate configuration against what the service needs (a schema or start-up check in CI)",
        "feature_flag": "give flag changes a staged rollout guarded by the alert in Prevention",
        "migration": "rehearse migrations on a copy of production data with lock and statement timeouts",
        "dependency": "run the integration tests of the failing path on dependency bumps",
        "infra": "apply infrastructure changes to a staging environment first and check the alert there",
    }
    if nature in checks:
        items.add(
            "prevent",
            f"{_short(change)} was a {nature.replace('_', ' ')} change: {checks[nature]}.",
            change_ptr,
            list(change.files) or paths,
            component=cause.component,
            about_change=True,
        )


def _prevent_proposed(report: Report, cause: RootCause, items: _Items, paths: list[str]) -> None:
    """The permanent fixes proposed for the cause's component (an index to create, a pool to size).
    A step that names the guilty change is about that change, which the items above cover from
    its evidence (the failing line, the test), so it is not repeated."""
    change = cause.change
    for index, step in enumerate(report.mitigations):
        if change is not None and _short(change) in step.action:
            continue
        if step.kind == "fix" and step.target.strip() == cause.component:
            items.add(
                "prevent",
                step.action.rstrip(".") + ".",
                [f"/mitigations/{index}", "/root_causes/0"],
                paths,
                component=cause.component,
                indicator=cause.indicator,
            )


def _process(report: Report, cause: RootCause | None, items: _Items, paths: list[str]) -> None:
    detected, onset = report.incident.detected_at, report.onset
    metric = next(((i, r) for i, r in enumerate(report.monitoring) if r.kind == "metric"), None)
    if cause is not None and cause.change is not None and metric is not None:
        index, rule = metric
        if rule.ramp_s is not None and rule.ramp_s <= rule.window_s:
            items.add(
                "process",
                f"Ship changes to `{cause.component}` in stages (a canary first) that halt on the alert in "
                f"Prevention: `{rule.signal}` reached 90% of its incident level {_ramp(rule.ramp_s)}, "
                "so no gradual rollout stage is visible in the data.",
                [f"/monitoring/{index}", "/root_causes/0/change"],
                list(cause.change.files) or paths,
                component=cause.component,
                indicator=rule.signal,
            )
    fired = [
        (i, r)
        for i, r in enumerate(report.monitoring)
        if r.would_fire_at is not None and r.would_fire_at < detected
    ]
    if onset is not None and fired and (detected - onset).total_seconds() >= 60:
        index, rule = min(fired, key=lambda pair: pair[1].would_fire_at or detected)
        fire_at = rule.would_fire_at or detected
        items.add(
            "process",
            f"Page on-call from the `{rule.signal}` alert in Prevention: detection came "
            f"{span((detected - onset).total_seconds())} after the onset; replayed over the recorded data "
            f"the alert fires at {_clock(fire_at)} ({format_offset(fire_at, detected)}), "
            f"{span((detected - fire_at).total_seconds())} before detection.",
            ["/onset", "/incident/detected_at", f"/monitoring/{index}"],
            paths,
            component=rule.component,
            indicator=rule.signal,
        )
    for index, problem in enumerate(report.source_problems):
        items.add(
            "process",
            f"Restore access to the source `{problem.source}` ({_quote(problem.error)}): "
            "this run could not read it, so the next one would be blind there too.",
            [f"/sources_missing/{index}"],
            [],
        )
    for index, run in enumerate(report.investigators):
        if run.status.value in ("failed", "timed_out"):
            items.add(
                "process",
                f"Find out why the investigator `{run.name}` {run.status.value.replace('_', ' ')}"
                + (f" ({_quote(run.error)})" if run.error else "")
                + ": its view of this incident is missing.",
                [f"/investigators/{index}"],
                [],
            )


def action_items(
    report: Report,
    codeowners: Sequence[CodeOwners] = (),
    components: Mapping[str, ComponentSpec] | None = None,
) -> tuple[ActionItem, ...]:
    """The report's follow-ups, mitigate first, then prevent, then process; each only when the
    report holds the evidence for it (``report.monitoring`` should already be set)."""
    causes = _ranked(report)
    cause = causes[0] if causes else None
    change = cause.change if cause else None
    items = _Items(codeowners, change)
    where = _Pointers(report)
    paths = _component_paths(cause.component if cause else None, components or {})
    if cause is not None:
        change_paths = list(change.files) if change is not None else []
        _mitigate(report, cause, items, change_paths or paths)
        if change is not None:
            _prevent_code(cause, items, where, paths)
        _prevent_proposed(report, cause, items, paths)
    else:
        _mitigate_data_only(report, items)
    _process(report, cause, items, paths)
    order = {"mitigate": 0, "prevent": 1, "process": 2}
    return tuple(sorted(items.items, key=lambda item: order[item.kind]))


def _mitigate_data_only(report: Report, items: _Items) -> None:
    """Without a cause, the data-integrity check still stands on the impact figures."""
    impact = report.assessment.user_impact
    if str(impact.get("data_loss", "")).strip().lower() in ("yes", "possible", "true"):
        items.add(
            "mitigate",
            "Check the integrity of what was written since the onset: data loss is possible.",
            ["/assessment/user_impact/data_loss"],
            [],
        )


# --------------------------------------------------------------------------------------------------
# Timeline and lessons


def root_cause_identified(report: Report, at: datetime | None = None) -> TimelineEvent | None:
    """The seed's "root cause identified" event: when this run named the rank-1 cause (live runs only).

    ``at`` is when the ranking was settled (the pipeline knows it); without it, when the report was
    generated, which comes after any mitigation and verification the run carried out.
    """
    causes = _ranked(report)
    at = at or report.generated_at
    if not causes or at is None:
        return None
    cause = causes[0]
    text = (
        f"Root cause identified: {cause.component} "
        f"({cause.category.value}, confidence {cause.confidence:.2f})"
    )
    if cause.change is not None:
        text += f", change {_short(cause.change)}"
    if is_replay(report.incident.detected_at, at):
        return None  # months after the incident, the run's own clock is no event of the incident
    return TimelineEvent(at=at, event=text, source="incident-flow")


@attrs.frozen
class Lesson:
    """One lesson in blameless words, with the JSON pointers of the facts it states."""

    text: str
    basis: tuple[str, ...]


def lessons(report: Report) -> list[Lesson]:
    """What the data teaches about the system: detection lag, what let the change through, how far
    it reached, where the run was blind. Never who did what."""
    detected, onset = report.incident.detected_at, report.onset
    out: list[Lesson] = []
    if onset is None:
        out.append(Lesson("The onset could not be measured, so the time to detect (MTTD) is not known.", ()))
    else:
        lag = (detected - onset).total_seconds()
        text = (
            f"Detection came {span(lag)} after the onset (MTTD {span(lag)})"
            if lag >= 60
            else "Detection came within a minute of the onset"
            if lag >= 0
            else f"Detection came {span(lag)} before the first anomaly in the data"
        )
        fired = [r for r in report.monitoring if r.would_fire_at is not None]
        if fired and lag >= 60:
            first = min(fired, key=lambda r: r.would_fire_at or detected)
            fire_at = first.would_fire_at or detected
            lead = (detected - fire_at).total_seconds()
            if lead > 0:
                # What paged, if anything, is not in the data: only what the signal allowed is said.
                text += (
                    f"; the signal was there earlier: the alert on `{first.signal}` in Prevention fires "
                    f"at {_clock(fire_at)} ({format_offset(fire_at, detected)}) when replayed"
                )
        out.append(Lesson(text + ".", ("/onset", "/incident/detected_at")))
    causes = _ranked(report)
    cause = causes[0] if causes else None
    if cause is not None and cause.change is not None:
        change = cause.change
        frame = _failing_frame(cause.evidence)
        gap = (
            f" was committed {span((onset - change.at).total_seconds())} before the onset and"
            if onset and change.at <= onset
            else ""
        )
        if frame is not None:
            what = f"`{frame.function}` (`{frame.file}`)" if frame.function else f"`{frame.file}`"
            out.append(
                Lesson(
                    f"Change {_short(change)}{gap} reached production without a check that "
                    f"exercised {what} with the input that failed there.",
                    ("/root_causes/0/change",),
                )
            )
        else:
            out.append(
                Lesson(
                    f"Change {_short(change)}{gap} reached production "
                    "without a check that caught its effect.",
                    ("/root_causes/0/change",),
                )
            )
        for index, rule in enumerate(report.monitoring):
            if rule.kind == "metric" and rule.ramp_s is not None and rule.ramp_s <= rule.window_s:
                out.append(
                    Lesson(
                        f"Nothing limited how much traffic the change reached: `{rule.signal}` went from "
                        f"its baseline to 90% of its incident level {_ramp(rule.ramp_s)}.",
                        (f"/monitoring/{index}",),
                    )
                )
                break
    noisy = [r for r in report.monitoring if r.fired_before_onset]
    for rule in noisy:
        out.append(
            Lesson(
                f"The alert on `{rule.signal}` would also have fired {rule.fired_before_onset} time(s) "
                "in the look-back before the onset: tune it before it pages.",
                (),
            )
        )
    unfinished = sum(run.status.value in ("failed", "timed_out") for run in report.investigators)
    if report.source_problems or unfinished:
        out.append(
            Lesson(
                f"The investigation had blind spots: {len(report.source_problems)} source(s) could not "
                f"be read and {unfinished} investigator(s) did not finish.",
                (),
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Reading what the follow-ups need


def codeowners_of(sources: Sequence[Source]) -> tuple[list[CodeOwners], list[str]]:
    """The CODEOWNERS of every git source (an empty one where the repository has none), and a note
    per source that could not be read."""
    found: list[CodeOwners] = []
    notes: list[str] = []
    for source in sources:
        if not isinstance(source, GitSource):
            continue
        try:
            found.append(source.codeowners())
        except (SourceError, OSError, UnicodeError) as exc:
            notes.append(
                f"Follow-ups: CODEOWNERS of {source.name} could not be read ({exc}); owners are unassigned."
            )
    return found, notes


def _series(
    read: Callable[[datetime, datetime], Iterable[MetricSeries]],
    names: set[str],
    since: datetime,
    until: datetime,
) -> tuple[dict[str, MetricSeries], list[str]]:
    found: dict[str, MetricSeries] = {}
    try:
        for series in read(since, until):
            if series.name in names and series.name not in found:
                found[series.name] = series
    except (SourceError, OSError, ValueError) as exc:
        return found, [f"Follow-ups: the metric series could not be replayed ({exc})."]
    return found, []


def _read_sources(sources: Sequence[Source]) -> Callable[[datetime, datetime], Iterator[MetricSeries]]:
    def read(since: datetime, until: datetime) -> Iterator[MetricSeries]:
        for source in sources:
            if isinstance(source, MetricSource):
                yield from source.series(since, until)

    return read


def with_followups(
    report: Report,
    sources: Sequence[Source],
    components: Mapping[str, ComponentSpec] | None = None,
    lookback: timedelta = timedelta(hours=2),
    read_series: Callable[[datetime, datetime], Iterable[MetricSeries]] | None = None,
    identified_at: datetime | None = None,
) -> Report:
    """``report`` with its alerts, action items and "root cause identified" event (at ``identified_at``).

    Reads the CODEOWNERS of the git sources and the candidate metric series (from the look-back
    before the onset to an hour after detection, to replay the alert); a source that fails is a note.
    ``read_series`` reads the series (the pipeline passes its context's guarded reader, so a source
    that hangs is abandoned as it is for investigators); by default the metric sources are read.
    """
    try:
        return _with_followups(report, sources, components, lookback, read_series, identified_at)
    except Exception as exc:  # follow-ups are a bonus: a bug here must never lose the report
        log.warning("follow-ups failed", error=f"{type(exc).__name__}: {exc}")
        note = (
            f"Follow-ups could not be derived ({type(exc).__name__}: {exc}); the report stands without them."
        )
        return attrs.evolve(report, notes=(*report.notes, note))


def _with_followups(
    report: Report,
    sources: Sequence[Source],
    components: Mapping[str, ComponentSpec] | None,
    lookback: timedelta,
    read_series: Callable[[datetime, datetime], Iterable[MetricSeries]] | None,
    identified_at: datetime | None,
) -> Report:
    detected = report.incident.detected_at
    names = {str(e.figures.get("series")) for e in _metric_candidates(report)}
    series: dict[str, MetricSeries] = {}
    notes: list[str] = []
    if names and report.onset is not None:
        read = read_series or _read_sources(sources)
        series, notes = _series(read, names, report.onset - lookback, detected + timedelta(hours=1))
    report = attrs.evolve(report, monitoring=monitoring_improvements(report, series))
    codeowners, owner_notes = codeowners_of(sources)
    items = action_items(report, codeowners, components)
    event = root_cause_identified(report, identified_at)
    timeline = tuple(sorted((*report.timeline, event), key=lambda e: e.at)) if event else report.timeline
    return attrs.evolve(
        report, action_items=items, timeline=timeline, notes=(*report.notes, *notes, *owner_notes)
    )
