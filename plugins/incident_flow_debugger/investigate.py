"""The debugger investigator: the seed's Code Analysis, answered with evidence.

1. **When** it started: the onset is where the per-minute count of error records rises (a change
   point), refined to the first error record at or after it.
2. **What** fails: components whose errors surge after the onset, and the stack-trace groups that
   are new or surging, mapped onto the repository (deploy prefixes such as ``/srv/app/`` are stripped
   by matching against the tree) down to the exact file, line and function.
3. **Which change**: every change in the look-back window (git commits, deploys, config changes,
   flag flips, from every change source) is scored against the failure with
   :mod:`incident_flow.analysis.changes`: its kind, its time before the onset, its component, its
   overlap with the failing frames and whether it last changed the failing lines (``git blame``), the
   input fields whose handling its diff altered, its size. The best-scored change above the threshold
   is named, with the evidence; when none is, the traces are reported without one.
4. **Races and bad input**: deadlocks, duplicate keys, optimistic-lock failures and concurrent
   modification are set against the request rate; validation errors are grouped by field and endpoint.

A change made after the onset is never blamed: it cannot have caused the incident.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import attrs

from incident_flow import Category, Change, Evidence, Finding, Severity
from incident_flow.analysis.changes import (
    NATURE_PRIOR,
    ChangeScore,
    FailingFrame,
    IncidentSignature,
    component_for_files,
    deploy_times,
    link_deploys,
    rank_changes,
)
from incident_flow.analysis.peers import component_for_host, endpoints_in
from incident_flow.analysis.stacktraces import PathIndex, StackTrace
from incident_flow.analysis.stats import RateChange, change_point, rate_change
from incident_flow.context import InvestigationContext
from incident_flow.sources import ChangeSource, LogRecord
from incident_flow.sources.changes import ChangesSource
from incident_flow.sources.git import Commit, GitSource
from incident_flow_debugger.scan import ErrorGroup, LogScan, TraceGroup, minute, scan_records

__all__ = ["INVESTIGATOR", "investigate"]

INVESTIGATOR = "debugger"
SIGNIFICANCE = 1e-3
MIN_AFTER = 3
MIN_RATIO = 2.0
MAX_GROUPS = 5
MAX_BLAME_GROUPS = 10
MAX_DIFFS = 6
MAX_LINE = 300
DEPLOY_MARGIN = timedelta(minutes=2)
_ADDRESS = re.compile(r"^[\d.]+$|:")  # an IPv4 or IPv6 address, not a name
_TIMEOUT = re.compile(r"time[ds]?[ _-]?out|deadline", re.IGNORECASE)


# -- small helpers --------------------------------------------------------------------------------


def _short(text: str, limit: int = MAX_LINE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _line(record: LogRecord) -> str:
    first = record.text.splitlines()[0] if record.text else record.message
    return f"{record.path or record.source}:{record.line}: {_short(first)}"


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 90:
        return f"{seconds}s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"


def _short_id(change: Change) -> str:
    return change.id[:12] if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", change.id) else change.id


def _counts(per_minute: Counter[datetime], onset: datetime) -> tuple[int, int]:
    cut = minute(onset)
    before = sum(n for m, n in per_minute.items() if m < cut)
    return before, sum(per_minute.values()) - before


def _surge(per_minute: Counter[datetime], onset: datetime, start: datetime, end: datetime) -> RateChange:
    before, after = _counts(per_minute, onset)
    minutes_before = max((minute(onset) - minute(start)).total_seconds() / 60.0, 1.0)
    minutes_after = max((end - minute(onset)).total_seconds() / 60.0 + 1.0, 1.0)
    return rate_change(before, minutes_before, after, minutes_after)


def _surging(change: RateChange) -> bool:
    if change.after < 1:
        return False
    if change.before == 0:
        return True
    return change.after >= MIN_AFTER and change.p_value <= SIGNIFICANCE and change.ratio >= MIN_RATIO


# -- the onset ------------------------------------------------------------------------------------


@attrs.frozen
class Onset:
    at: datetime
    minute: datetime
    p_value: float
    baseline: bool


def estimate_onset(scan: LogScan, window_start: datetime) -> Onset | None:
    """The first error of the minute where the error rate rose; without a baseline, the first error."""
    if scan.first is None or scan.last is None or not scan.errors:
        return None
    start = minute(max(window_start, scan.first))
    minutes = []
    at = start
    while at <= scan.last:
        minutes.append(at)
        at += timedelta(minutes=1)
    counts = [scan.errors.get(m, 0) for m in minutes]
    point = change_point(counts)
    if point is not None and point.p_value <= SIGNIFICANCE:
        bucket = minutes[point.index]
        later = sorted(m for m in scan.first_error if m >= bucket)
        first = scan.first_error[later[0]] if later else bucket
        return Onset(at=first, minute=minute(first), p_value=point.p_value, baseline=True)
    first_error = min(scan.first_error)
    if first_error <= start:  # the logs begin with the errors: no baseline to compare with
        at = scan.first_error[first_error]
        return Onset(at=at, minute=first_error, p_value=1.0, baseline=False)
    return None


# -- the repository side --------------------------------------------------------------------------


@attrs.define
class Repo:
    """One git source and what this run learnt of it."""

    source: GitSource
    commits: dict[str, Commit] = attrs.field(factory=dict)
    index: PathIndex | None = None
    blame_rev: str | None = None


@attrs.define
class Candidates:
    """The changes of the window, from every change source."""

    changes: list[Change] = attrs.field(factory=list)
    origin: dict[str, str] = attrs.field(factory=dict)  # change id -> source name
    repos: list[Repo] = attrs.field(factory=list)
    events: dict[str, ChangesSource] = attrs.field(factory=dict)
    queries: dict[str, str] = attrs.field(factory=dict)

    def repo_of(self, change_id: str) -> Repo | None:
        return next((r for r in self.repos if change_id in r.commits), None)


def _gather(ctx: InvestigationContext, known: set[str]) -> Candidates:
    since = ctx.change_since
    until = ctx.window_end or ctx.detected_at + timedelta(days=1)
    found = Candidates()
    for source in ctx.sources(ChangeSource):
        ctx.audit("source.query", source=source.name, what="changes", since=since, until=until)
        try:
            if isinstance(source, GitSource):
                repo = Repo(source=source)
                for commit in source.commits(since, until):
                    repo.commits[commit.sha] = commit
                    found.changes.append(commit.to_change(source.component_of(commit)))
                    found.origin[commit.sha] = source.name
                found.repos.append(repo)
                if source.last_query:
                    found.queries[source.name] = source.last_query
            else:
                for change in source.changes(since, until):
                    found.changes.append(change)
                    found.origin.setdefault(change.id, source.name)
                    if isinstance(source, ChangesSource):
                        found.events[change.id] = source
                found.queries[source.name] = f"{source.describe()}: changes from {since:%Y-%m-%dT%H:%M}Z"
        except Exception as exc:  # one broken source must not hide the others' changes
            ctx.problem(source.name, f"{type(exc).__name__}: {exc}")
    # A change without a component gets one from its files, against [components] and known names.
    for index, change in enumerate(found.changes):
        if change.component is None and change.files:
            component = component_for_files(change.files, ctx.components, known)
            if component is not None:
                found.changes[index] = attrs.evolve(change, component=component)
    return found


def _running_from(ctx: InvestigationContext, found: Candidates, scan: LogScan) -> dict[str, datetime]:
    """Commit -> when the logs first name its build as running, less the margin: its deploy.

    Services print the build they run when they start (``starting server version=d14f68c``); a
    commit first seen running after a component's failure began cannot have caused it, however
    close its commit time is (the scoring judges that against each component's own onset). A
    commit never named keeps its commit time: most logs do not say. The margin covers a restart's
    own errors (callers fail while the old process stops) logged before its banner.
    """
    running: dict[str, datetime] = {}
    for change in found.changes:
        first = scan.first_running(change.id) if change.kind == "commit" else None
        if first is not None:
            ctx.audit("debugger.first_running", change=change.id, first_running=first)
            running[change.id] = max(change.at, first - DEPLOY_MARGIN)
    return running


def _prepare_repos(ctx: InvestigationContext, found: Candidates, onset: datetime) -> None:
    """Per repository: the revision deployed at the onset (for blame) and its file index."""
    for repo in found.repos:
        try:
            # Blame the code as it was at the onset: a fix committed since must not hide the culprit.
            after = any(c.at > onset for c in repo.commits.values())
            repo.blame_rev = (repo.source.rev_at(onset) if after else None) or repo.source.rev
            repo.index = PathIndex(repo.source.tree(repo.blame_rev))
        except Exception as exc:
            ctx.problem(repo.source.name, f"{type(exc).__name__}: {exc}")


# -- frames ---------------------------------------------------------------------------------------


@attrs.frozen
class MappedTrace:
    """A trace group with its frames placed in a repository."""

    group: TraceGroup
    change: RateChange
    frames: tuple[FailingFrame, ...]
    repo: Repo | None

    @property
    def top(self) -> FailingFrame | None:
        return self.frames[0] if self.frames else None


def _map_frames(
    trace: StackTrace, repos: Sequence[Repo], count: int
) -> tuple[tuple[FailingFrame, ...], Repo | None]:
    """The trace's frames that are in a repository, where the failure started first."""
    for repo in repos:
        if repo.index is None:
            continue
        out: list[FailingFrame] = []
        seen: set[tuple[str, int | None]] = set()
        for frame in trace.all_frames():
            path = repo.index.resolve(frame.path)
            if path is None or (path, frame.line) in seen:
                continue
            seen.add((path, frame.line))
            out.append(
                FailingFrame(
                    path=path,
                    line=frame.line,
                    function=frame.function,
                    weight=round(0.6 ** len(out), 4),
                    count=count,
                )
            )
            if len(out) >= 8:
                break
        if out:
            return tuple(out), repo
    return (), None


def _blame(
    ctx: InvestigationContext, traces: Sequence[MappedTrace], found: Candidates
) -> dict[str, frozenset[tuple[str, int]]]:
    """change id -> the failing (path, line) pairs it last changed, for the busiest trace groups."""
    wanted: dict[tuple[int, str], set[int]] = {}
    for mapped in sorted(traces, key=lambda t: -t.change.after)[:MAX_BLAME_GROUPS]:
        if mapped.repo is None:
            continue
        for frame in mapped.frames[:3]:
            if frame.line is not None:
                wanted.setdefault((id(mapped.repo), frame.path), set()).add(frame.line)
    repos = {id(r): r for r in found.repos}
    blamed: dict[str, set[tuple[str, int]]] = {}
    for (repo_id, path), lines in wanted.items():
        repo = repos[repo_id]
        try:
            result = repo.source.blame(path, sorted(lines), rev=repo.blame_rev, since=ctx.change_since)
        except Exception as exc:
            ctx.problem(repo.source.name, f"{type(exc).__name__}: {exc}")
            continue
        ctx.audit("source.query", source=repo.source.name, what="blame", path=path, lines=sorted(lines))
        for line, who in result.items():
            if not who.boundary and who.sha in repo.commits:
                blamed.setdefault(who.sha, set()).add((path, line))
    return {sha: frozenset(pairs) for sha, pairs in blamed.items()}


# -- fields touched by a diff ---------------------------------------------------------------------


def _diff_mentions(
    ctx: InvestigationContext, found: Candidates, fields: set[str], candidates: Sequence[ChangeScore]
) -> dict[str, frozenset[str]]:
    """change id -> the failing input fields its diff's changed lines name (git commits only)."""
    if not fields:
        return {}
    patterns = {f: re.compile(rf"(?<![\w]){re.escape(f)}(?![\w])") for f in fields}
    out: dict[str, frozenset[str]] = {}
    for scored in [s for s in candidates if s.eligible][:MAX_DIFFS]:
        repo = found.repo_of(scored.change.id)
        if repo is None:
            continue
        try:
            diff = repo.source.diff(scored.change.id)
        except Exception as exc:
            ctx.problem(repo.source.name, f"{type(exc).__name__}: {exc}")
            continue
        changed = "\n".join(
            ln[1:] for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
        )
        named = frozenset(f for f, p in patterns.items() if p.search(changed))
        if named:
            out[scored.change.id] = named
    return out


# -- evidence -------------------------------------------------------------------------------------


def _owners(found: Candidates, change: Change) -> list[str]:
    repo = found.repo_of(change.id)
    if repo is None:
        return []
    try:
        rules = repo.source.codeowners()
    except Exception:
        return []
    owners: list[str] = []
    for file in change.files:
        for owner in rules.owners(file):
            if owner not in owners:
                owners.append(owner)
    return owners


def _change_evidence(
    ctx: InvestigationContext,
    found: Candidates,
    top: ChangeScore,
    runners: Sequence[ChangeScore],
    onset: Onset,
    component: str,
    errors: RateChange,
    traces: Sequence[MappedTrace],
) -> Evidence:
    change = top.change
    repo = found.repo_of(change.id)
    commit = repo.commits.get(change.id) if repo is not None else None
    to_onset = onset.at - change.at
    what = "merge" if change.kind == "merge" else ("commit" if change.kind == "commit" else change.kind)
    by = f" by {change.author}" if change.author else ""
    parts = [
        f"{what} {_short_id(change)} “{_short(change.summary, 120)}”{by}, {_ago(to_onset)} before the onset"
    ]
    if top.landed_at is not None and top.landed_at > change.at:
        parts.append(f"merged {_ago(onset.at - top.landed_at)} before it")
    if top.deployed_at is not None and top.deployed_at > change.at:
        parts.append(f"deployed {_ago(onset.at - top.deployed_at)} before it")
    if top.blamed_lines:
        parts.append(
            "it last changed the failing line(s) " + ", ".join(f"{p}:{n}" for p, n in top.blamed_lines[:3])
        )
    elif top.matched_frames:
        parts.append(
            "it touches the failing frame(s) " + ", ".join(f.location() for f in top.matched_frames[:3])
        )
    elif change.files:
        shown = ", ".join(change.files[:3]) + (
            f" and {len(change.files) - 3} more" if len(change.files) > 3 else ""
        )
        parts.append(f"{top.nature} change to {shown}")
    if top.fields_changed:
        parts.append("its diff changes the handling of " + ", ".join(top.fields_changed))
    parts.append(f"{component} errors: {errors.before} before the onset, {errors.after} after")
    lines = [f"{change.id} {change.at.isoformat()} {change.author or '-'} {_short(change.summary, 160)}"]
    if commit is not None:
        if commit.tags:
            lines.append("tags: " + ", ".join(commit.tags))
        lines.append(f"+{commit.insertions} -{commit.deletions} in {len(commit.files)} file(s)")
    lines.extend(f"file: {f}" for f in change.files[:10])
    for frame in top.matched_frames[:5]:
        lines.append(f"failing frame: {frame.location()} ({frame.count} trace(s) after the onset)")
    for mapped in traces[:2]:
        lines.extend(_line(r) for r in mapped.group.samples[:1])
    owners = _owners(found, change)
    figures: dict[str, object] = {
        "change_id": change.id,
        "kind": change.kind,
        "nature": top.nature,
        "component": change.component,
        "author": change.author,
        "change_at": change.at.isoformat(),
        "onset": onset.at.isoformat(),
        "seconds_before_onset": int(to_onset.total_seconds()),
        "files": list(change.files[:50]),
        "matched_frames": [f.location() for f in top.matched_frames[:10]],
        "blamed_lines": [f"{p}:{n}" for p, n in top.blamed_lines[:10]],
        "fields_in_diff": list(top.fields_changed),
        "errors_before": errors.before,
        "errors_after": errors.after,
        "score": top.score,
        "factors": dict(top.factors),
        "reasons": list(top.reasons),
        "runners_up": [
            {
                "change_id": s.change.id,
                "summary": _short(s.change.summary, 80),
                "score": s.score,
                "nature": s.nature,
            }
            for s in runners[:3]
        ],
        "requires_approval": True,
    }
    if commit is not None:
        figures.update(insertions=commit.insertions, deletions=commit.deletions, tags=list(commit.tags))
    if top.deployed_at is not None and top.deployed_at > change.at:
        figures["deployed_at"] = top.deployed_at.isoformat()
    if owners:
        figures["owners"] = owners
    if repo is not None:
        figures["repository"] = str(repo.source.path)
        branch = f"revert-{change.id[:12]}"
        revert = ["git", "-C", str(repo.source.path), "revert", "--no-edit"]
        if change.kind == "merge":
            revert += ["-m", "1"]
        figures["revert_commands"] = [
            ["git", "-C", str(repo.source.path), "switch", "--create", branch],
            [*revert, change.id],
        ]
    event_source = found.events.get(change.id)
    if event_source is not None:
        event = event_source.event(change.id)
        if event is not None:
            figures.update(version=event.version, rollback_to=event.previous_version)
    source = found.origin.get(change.id, "changes")
    return Evidence(
        source=source,
        kind="change",
        summary="; ".join(parts),
        at_from=change.at,
        at_to=onset.at,
        query=found.queries.get(source),
        lines=lines,
        figures=figures,
    )


def _trace_evidence(mapped: MappedTrace, onset: Onset) -> Evidence:
    trace = mapped.group.trace
    root = trace.root
    top = mapped.top
    where = top.location() if top is not None else (root.top.location() if root.top is not None else "?")
    change = mapped.change
    what = "new" if change.before == 0 else f"{change.ratio:.1f}x its baseline rate"
    lines = [_line(r) for r in mapped.group.samples[:2]]
    lines.append(f"{trace.language} {root.headline()}")
    lines.extend(f"  at {f.location()}" for f in root.frames[:6])
    if root is not trace:
        lines.append(f"surfaced as {trace.headline()}")
    return Evidence(
        source=mapped.group.source or mapped.group.component,
        kind="stack_trace",
        summary=f"{_short(root.headline(), 160)} at {where}: {change.before} before the onset, "
        f"{change.after} after ({what})",
        at_from=onset.at,
        query=f"stack-trace group {mapped.group.key}",
        lines=lines,
        figures={
            "fingerprint": mapped.group.key,
            "language": trace.language,
            "exception": root.exception,
            "message": _short(root.message, 200),
            "chain": [t.exception for t in trace.chain],
            "before": change.before,
            "after": change.after,
            "p_value": float(f"{change.p_value:.3g}"),
            "top_frame": (
                {"file": top.path, "line": top.line, "function": top.function} if top is not None else None
            ),
            "repository_frames": [f.location() for f in mapped.frames[:8]],
            "components": dict(mapped.group.components),
        },
    )


# -- the investigation ----------------------------------------------------------------------------


def _trace_groups(
    scan: LogScan, onset: Onset, start: datetime, end: datetime
) -> list[tuple[TraceGroup, RateChange]]:
    out = []
    for group in scan.traces.values():
        change = _surge(group.per_minute, onset.at, start, end)
        if _surging(change):
            out.append((group, change))
    out.sort(key=lambda item: (-item[1].after, item[0].key))
    return out


def _failing_components(
    scan: LogScan,
    onset: Onset,
    start: datetime,
    end: datetime,
    groups: Sequence[tuple[TraceGroup, RateChange]],
) -> dict[str, RateChange]:
    failing: dict[str, RateChange] = {}
    for component, per_minute in scan.component_errors.items():
        change = _surge(per_minute, onset.at, start, end)
        if change.after >= MIN_AFTER and _surging(change):
            failing[component] = change
    for group, _change in groups:
        component = group.component
        if component not in failing:
            failing[component] = _surge(scan.component_errors.get(component, Counter()), onset.at, start, end)
    return failing


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


def _minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    at = minute(start)
    while at <= end:
        yield at
        at += timedelta(minutes=1)


def _classified_evidence(
    scan: LogScan, group: ErrorGroup, change: RateChange, onset: Onset, start: datetime, end: datetime
) -> Evidence:
    load = scan.load(group.component)
    load_before, load_after = _counts(load, onset.at)
    per_1k_before = 1000.0 * change.before / load_before if load_before else None
    per_1k_after = 1000.0 * change.after / load_after if load_after else None
    span = list(_minutes(start, end))
    correlation = _pearson(
        [float(load.get(m, 0)) for m in span], [float(group.per_minute.get(m, 0)) for m in span]
    )
    label = (
        group.reason
        + (f" '{group.field}'" if group.field else "")
        + (f" at {group.endpoint}" if group.endpoint else "")
    )
    rate = ""
    if change.minutes_before and change.minutes_after:
        rate_before = load_before / change.minutes_before
        rate_after = load_after / change.minutes_after
        rate = f"; load {rate_before:.1f} → {rate_after:.1f} records/min"
    return Evidence(
        source=group.source or group.component,
        kind=f"{group.kind}_errors",
        summary=f"{group.component}: {label}: {change.before} before the onset, {change.after} after{rate}",
        at_from=onset.at,
        query=f"{group.kind} errors ({group.reason}) in {group.component}",
        lines=[_line(r) for r in group.samples],
        figures={
            "kind": group.kind,
            "reason": group.reason,
            "field": group.field,
            "endpoint": group.endpoint,
            "before": change.before,
            "after": change.after,
            "requests_before": load_before,
            "requests_after": load_after,
            "per_1k_requests_before": round(per_1k_before, 3) if per_1k_before is not None else None,
            "per_1k_requests_after": round(per_1k_after, 3) if per_1k_after is not None else None,
            "correlation_with_load": round(correlation, 3) if correlation is not None else None,
        },
    )


def investigate(ctx: InvestigationContext) -> list[Finding]:
    """Code analysis: the suspected change, the failing code locations, races and bad input."""
    scan = scan_records(ctx.log_records())
    if scan.records == 0 or scan.first is None or scan.last is None:
        ctx.audit("debugger.skipped", reason="no timed log records")
        return []
    onset = estimate_onset(scan, ctx.window_start)
    if onset is None:
        ctx.audit("debugger.onset", found=False, records=scan.records)
        return []
    ctx.audit("debugger.onset", found=True, onset=onset.at, p_value=onset.p_value, baseline=onset.baseline)
    start, end = max(ctx.window_start, scan.first), scan.last
    groups = _trace_groups(scan, onset, start, end)
    failing = _failing_components(scan, onset, start, end, groups)
    if not failing:
        ctx.audit("debugger.failing", components=[])
        return []

    known = set(ctx.components) | scan.components
    found = _gather(ctx, known)
    _prepare_repos(ctx, found, onset.at)
    mapped: list[MappedTrace] = []
    for group, change in groups:
        frames, repo = _map_frames(group.trace, found.repos, change.after)
        mapped.append(MappedTrace(group=group, change=change, frames=frames, repo=repo))
    blamed = _blame(ctx, mapped, found)
    landed = {
        sha: c.landed_at for r in found.repos for sha, c in r.commits.items() if c.landed_at is not None
    }
    sizes = {sha: c.size for r in found.repos for sha, c in r.commits.items()}
    versions = {i: e.version for i, s in found.events.items() if (e := s.event(i)) is not None and e.version}
    ships = link_deploys(found.changes, versions)
    deployed = {**_running_from(ctx, found, scan), **deploy_times(found.changes, ships)}

    findings: list[Finding] = []
    for component, errors in sorted(failing.items(), key=lambda item: (-item[1].after, item[0])):
        own = [m for m in mapped if m.group.components.get(component)]
        frames = tuple(f for m in own for f in m.frames)
        paths = {f.path for f in frames}
        local = _component_onset(onset, own, start, end)
        # A failing dependency its errors name failed with it: a change there is as much in question
        # as one here (and when it wins, that dependency's own finding names it).
        peer = _named_peer(own, component, scan.components)
        signature = IncidentSignature(
            onset=local.at,
            components={component} | ({peer} if peer in failing else set()),
            frames=frames,
            blamed={sha: frozenset(p for p in pairs if p[0] in paths) for sha, pairs in blamed.items()},
            landed=landed,
            ships=ships,
            deployed=deployed,
        )
        ranked = rank_changes(found.changes, signature, sizes=sizes)
        fields = {
            g.field
            for g in scan.classified.values()
            if g.kind == "validation"
            and g.field
            and g.component == component
            and _surging(_surge(g.per_minute, onset.at, start, end))
        }
        mentions = _diff_mentions(ctx, found, fields, ranked)
        if mentions:
            signature = attrs.evolve(signature, fields_changed=mentions)
            ranked = rank_changes(found.changes, signature, sizes=sizes)
        ctx.audit(
            "debugger.ranking",
            component=component,
            changes=[
                {"id": s.change.id, "score": s.score, "eligible": s.eligible, "nature": s.nature}
                for s in ranked[:20]
            ],
        )
        top = next((s for s in ranked if s.blameable), None)
        if (
            top is not None
            and top.change.component not in (None, component)
            and top.change.component in failing
            and not (top.matched_frames or top.blamed_lines)
        ):
            top = None  # that component's own finding names it
        findings.extend(
            _component_findings(
                ctx, scan, found, component, errors, own, top, ranked, mentions, local, start, end
            )
        )
    return findings


def _component_onset(onset: Onset, own: Sequence[MappedTrace], start: datetime, end: datetime) -> Onset:
    """When this component's own new or surging traces began, at or after the run's onset.

    The run's onset is the first error of the minute the error rate rose, which a background error
    elsewhere can put a minute or two early; a flag flipped in between must still count as before
    the failure it caused, so each component's changes are weighed against its own first failure.
    When the run's error rate showed no rise at all (a failure on a few requests drowned in
    background errors), each trace group's own rise marks it, and groups that never rose are noise.
    """
    firsts: list[datetime] = []
    span = list(_minutes(start, end))
    for mapped in own:
        floor = onset.minute
        if not onset.baseline:
            point = change_point([mapped.group.per_minute.get(m, 0) for m in span])
            if point is None or point.p_value > SIGNIFICANCE:
                continue
            floor = span[point.index]
        seen = [r.at for r in mapped.group.samples if r.at is not None and r.at >= max(onset.at, floor)]
        later = [m for m in mapped.group.per_minute if m >= floor]
        if seen:
            firsts.append(min(seen))
        elif later:
            firsts.append(max(onset.at, min(later)))
    if not firsts or min(firsts) <= onset.at:
        return onset
    return attrs.evolve(onset, at=min(firsts), minute=minute(min(firsts)))


def _named_peer(traces: Sequence[MappedTrace], component: str, known: set[str]) -> str | None:
    """The dependency the traces' exception messages name (``Connection refused: db.internal:5432``,
    ``HTTPSConnectionPool(host='api.example', ...)``), when one does.

    A bare address is left alone: which component it is, only the logs as a whole can tell (the ops
    investigator reads them all for that). A timeout blames no one: a saturated or misconfigured
    caller times out on healthy dependencies.
    """
    for mapped in traces:
        chain = mapped.group.trace.chain
        if any(_TIMEOUT.search(f"{t.exception} {t.message}") for t in chain):
            continue
        for trace in chain:
            for host, _ in endpoints_in(trace.message):
                if _ADDRESS.match(host):
                    continue
                peer = component_for_host(host, known)
                if peer != component:
                    return peer
    return None


def _confidence(top: ChangeScore, runners: Sequence[ChangeScore], baseline: bool) -> float:
    value = 0.4
    value += 0.25 if top.blamed_lines else 0.0
    value += 0.15 if top.matched_frames else 0.0
    value += 0.1 if top.component_match else 0.0
    value += 0.05 if NATURE_PRIOR.get(top.nature, 0.5) >= 0.85 else 0.0
    runner = next((s.score for s in runners if s.eligible), 0.0)
    value += 0.05 if top.score >= 2 * runner else 0.0
    if not baseline:
        value -= 0.1
    return round(max(0.2, min(0.95, value)), 3)


def _component_findings(
    ctx: InvestigationContext,
    scan: LogScan,
    found: Candidates,
    component: str,
    errors: RateChange,
    traces: Sequence[MappedTrace],
    top: ChangeScore | None,
    ranked: Sequence[ChangeScore],
    mentions: dict[str, frozenset[str]],
    onset: Onset,
    start: datetime,
    end: datetime,
) -> list[Finding]:
    findings: list[Finding] = []
    change = top.change if top is not None else None
    tied_paths = {f.path for f in top.matched_frames} | {p for p, _ in top.blamed_lines} if top else set()
    if top is not None and change is not None:
        runners = [s for s in ranked if s.change.id != change.id]
        evidence = [_change_evidence(ctx, found, top, runners, onset, component, errors, traces)]
        evidence.extend(
            _trace_evidence(m, onset) for m in traces[:2] if {f.path for f in m.frames} & tied_paths
        )
        what = "merge" if change.kind == "merge" else change.kind
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=component,
                title=f"suspected change: {what} {_short_id(change)} “{_short(change.summary, 80)}”",
                summary=f"{component} has failed since {onset.at:%H:%M:%S} UTC, "
                f"{_ago(onset.at - change.at)} after {what} {_short_id(change)} "
                f"“{_short(change.summary, 120)}”"
                + (f" by {change.author}" if change.author else "")
                + "; "
                + "; ".join(top.reasons[2:5] or top.reasons[:1]),
                confidence=_confidence(top, runners, onset.baseline),
                evidence=evidence,
                category=Category.CODE,
                severity=Severity.HIGH,
                symptom=False,
                indicator=change.id,
                onset=onset.at,
                change=change,
            )
        )
    if traces:
        lead = traces[0]
        tied = bool({f.path for m in traces for f in m.frames} & tied_paths)
        where = lead.top.location() if lead.top is not None else "code outside the repositories"
        root = lead.group.trace.root
        # Traces that name the dependency which failed them point at a cause (that dependency),
        # not merely at a symptom of this component.
        peer = None if tied else _named_peer(traces, component, scan.components)
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=component,
                title=f"{len(traces)} new or surging stack trace(s): "
                f"{_short(root.exception or 'error', 60)} at {where}",
                summary=f"{component}: {_short(root.headline(), 140)} at {where}, "
                f"{lead.change.after} time(s) after the onset and {lead.change.before} before"
                + (f"; in code changed by {_short_id(change)}" if tied and change is not None else ""),
                confidence=0.6 if tied else 0.5,
                evidence=[_trace_evidence(m, onset) for m in traces[:MAX_GROUPS]],
                category=Category.CODE if tied else (Category.INFRASTRUCTURE if peer else None),
                severity=Severity.HIGH,
                symptom=not tied and peer is None,
                indicator=f"stack trace {lead.group.key}: {_short(root.exception or 'error', 80)} at {where}",
                onset=onset.at,
                change=change if tied else None,
                depends_on=peer,
            )
        )
    findings.extend(
        _classified_findings(scan, component, traces, change, tied_paths, mentions, onset, start, end)
    )
    return findings


def _classified_findings(
    scan: LogScan,
    component: str,
    traces: Sequence[MappedTrace],
    change: Change | None,
    tied_paths: set[str],
    mentions: dict[str, frozenset[str]],
    onset: Onset,
    start: datetime,
    end: datetime,
) -> list[Finding]:
    frames_by_key = {m.group.key: {f.path for f in m.frames} for m in traces}
    findings: list[Finding] = []
    for kind in ("concurrency", "validation"):
        groups = []
        for group in scan.classified.values():
            if group.kind != kind or group.component != component:
                continue
            surge = _surge(group.per_minute, onset.at, start, end)
            if _surging(surge):
                groups.append((group, surge))
        if not groups:
            continue
        groups.sort(key=lambda item: (-item[1].after, item[0].reason, item[0].field or ""))
        lead, lead_change = groups[0]
        group_paths = {p for g, _ in groups for key in g.trace_keys for p in frames_by_key.get(key, set())}
        field_changed = change is not None and any(
            g.field and g.field in mentions.get(change.id, frozenset()) for g, _ in groups
        )
        tied = change is not None and (bool(group_paths & tied_paths) or field_changed)
        label = (
            lead.reason
            + (f" '{lead.field}'" if lead.field else "")
            + (f" at {lead.endpoint}" if lead.endpoint else "")
        )
        if kind == "concurrency":
            title = f"race or contention: {label}"
            summary = (
                f"{component}: {sum(s.after for _, s in groups)} concurrency error(s) after the onset "
                f"({', '.join(sorted({g.reason for g, _ in groups}))}), led by {label}"
            )
            category = Category.CODE if tied else Category.PERFORMANCE
            symptom = False
        else:
            fields = sorted({g.field for g, _ in groups if g.field})
            title = f"data validation errors: {label}"
            summary = (
                f"{component}: {sum(s.after for _, s in groups)} validation error(s) after the onset"
                + (f" on field(s) {', '.join(fields[:5])}" if fields else "")
                + (f"; {_short_id(change)} changed their handling" if tied and change is not None else "")
            )
            category = Category.CODE
            symptom = not tied
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=component,
                title=title,
                summary=summary,
                confidence=0.55 if tied else 0.45 if kind == "concurrency" else 0.4,
                evidence=[
                    _classified_evidence(scan, g, s, onset, start, end) for g, s in groups[:MAX_GROUPS]
                ],
                category=category,
                severity=Severity.HIGH if lead_change.after >= 10 else Severity.MEDIUM,
                symptom=symptom,
                indicator=f"{kind} errors: {label}",
                onset=onset.at,
                change=change if tied else None,
            )
        )
    return findings
