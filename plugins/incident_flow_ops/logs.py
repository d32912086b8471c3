"""Log analysis for the ops investigator: which message patterns are new or surging, and since when.

One pass over the window's records: each message joins a template (the template miner), and per
(component, template) we keep per-minute counts and a few sample records, never the records
themselves. The onset is estimated from the data: the change point of the per-minute count of
error-like records (of the whole run, else of the one component where it is most significant, for
a fault too small to lift the run's background). Each template is then compared before and after
that onset with a G-test, weighted by level, so a surge means "significant and large", not "more
than N".
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import attrs

from incident_flow import Evidence, Finding, Severity
from incident_flow.analysis.peers import AddressBook, component_for_host, container_in, endpoints_in
from incident_flow.analysis.routes import RouteMap, request_path
from incident_flow.analysis.stats import RateChange, change_point, is_surge, rate_change
from incident_flow.analysis.templates import TemplateMiner
from incident_flow.context import InvestigationContext
from incident_flow.sources import LogRecord
from incident_flow_ops.faults import Fault, classify

__all__ = ["LogPatterns", "analyse_logs", "collect_patterns", "level_weight"]

INVESTIGATOR = "ops"
SIGNIFICANCE = 1e-3
#: An address on port 53 is a DNS server: a failure talking to it is the resolver's. (A host
#: name or an IPv4 address before the port, so that a time such as 16:40:53 is no DNS server.)
_DNS_PORT = re.compile(r"(?:\b\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z][\w.-]*|\])(?::53)\b")
SAMPLES = 3
MAX_LINE = 400
#: Distinct request paths kept per access-log pattern (the routes its server errors came on).
MAX_PATHS = 200

_LEVEL_WEIGHTS = {
    "emerg": 1.0,
    "emergency": 1.0,
    "alert": 1.0,
    "crit": 1.0,
    "critical": 1.0,
    "fatal": 1.0,
    "panic": 1.0,
    "severe": 1.0,
    "err": 1.0,
    "error": 1.0,
    "warn": 0.6,
    "warning": 0.6,
    "notice": 0.3,
    "info": 0.2,
    "information": 0.2,
    "debug": 0.1,
    "trace": 0.05,
    "fine": 0.05,
}


_ERROR_WORDS = re.compile(
    r"\b(error|errors|failed|failure|fatal|exception|refused|denied|killed|exiting|panic|critical|"
    r"unavailable|abort\w*)\b",
    re.IGNORECASE,
)
_WARNING_WORDS = re.compile(r"\b(warn|warning|retry\w*|degraded|slow)\b", re.IGNORECASE)


def level_weight(record: LogRecord, fault: Fault | None) -> float:
    """How much a record of this level counts: errors fully, warnings partly, info little.

    A record reporting a known fault counts as an error whatever its level says: the kernel's OOM
    killer logs at info level, and a refused connection logged as a warning is still a failure.
    A record without a level (plain syslog) is judged by its words.
    """
    if fault is not None:
        return 1.0
    if record.level:
        return _LEVEL_WEIGHTS.get(record.level.lower(), 0.2)
    if _ERROR_WORDS.search(record.message):
        return 0.8
    if _WARNING_WORDS.search(record.message):
        return 0.6
    return 0.2


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


@attrs.define
class PatternStats:
    """Per (component, template): per-minute counts and a few samples on each side of the onset."""

    component: str
    template_id: str
    weight: float = 0.0
    fault: Fault | None = None
    per_minute: Counter[datetime] = attrs.field(factory=Counter)
    samples: list[LogRecord] = attrs.field(factory=list)
    last_samples: list[LogRecord] = attrs.field(factory=list)
    untimed: int = 0
    access_log: bool = True
    source: str = ""
    #: Requests answered with a server error (5xx), by path: which upstream they went to.
    failed_paths: Counter[str] = attrs.field(factory=Counter)

    def add(self, record: LogRecord, weight: float, fault: Fault | None) -> None:
        self.weight = max(self.weight, weight)
        if fault is not None and self.fault is None:
            self.fault = fault
        self.access_log = self.access_log and "status" in record.fields
        self.source = self.source or record.source
        status = record.fields.get("status", "")
        if status.startswith("5") and (len(self.failed_paths) < MAX_PATHS):
            path = request_path(record)
            if path is not None:
                self.failed_paths[path] += 1
        if record.at is None:
            self.untimed += 1
        else:
            self.per_minute[_minute(record.at)] += 1
        if len(self.samples) < SAMPLES:
            self.samples.append(record)
        else:
            self.last_samples.append(record)
            if len(self.last_samples) > SAMPLES:
                self.last_samples.pop(0)

    def merge(self, other: PatternStats) -> None:
        self.weight = max(self.weight, other.weight)
        self.fault = self.fault or other.fault
        self.per_minute.update(other.per_minute)
        self.access_log = self.access_log and other.access_log
        self.failed_paths.update(other.failed_paths)
        self.samples = sorted([*self.samples, *other.samples], key=lambda r: (r.at is None, r.at, r.line))[
            :SAMPLES
        ]
        self.last_samples = [*self.last_samples, *other.last_samples][-SAMPLES:]
        self.untimed += other.untimed


#: (component, template id, level weight, fault kind): what one pattern's counts are kept under.
PatternKey = tuple[str, str, float, str | None]


@attrs.define
class LogPatterns:
    """What one pass over the logs gathered."""

    miner: TemplateMiner
    stats: dict[PatternKey, PatternStats]
    bad_per_minute: Counter[datetime]
    first: datetime | None
    last: datetime | None
    records: int
    #: Names stated with addresses, and programs per component: how an address-only peer is named.
    addresses: AddressBook = attrs.field(factory=AddressBook)
    #: Which component serves which route, from the services' own request lines.
    routes: RouteMap = attrs.field(factory=RouteMap)
    #: Error-like records per (component, minute): where a fault too small to move the whole
    #: run's count still shows.
    bad_by_component: Counter[tuple[str, datetime]] = attrs.field(factory=Counter)


def collect_patterns(records: Iterable[LogRecord]) -> LogPatterns:
    """Stream the records once, keeping counts per (component, template) and per minute."""
    miner = TemplateMiner()
    stats: dict[PatternKey, PatternStats] = {}
    bad: Counter[datetime] = Counter()
    bad_by_component: Counter[tuple[str, datetime]] = Counter()
    addresses = AddressBook()
    routes = RouteMap()
    first = last = None
    count = 0
    for record in records:
        count += 1
        template = miner.add(record.message)
        component = record.component or record.source
        if "status" not in record.fields:
            addresses.learn(record.text[:4000] if record.text else record.message)
        program = record.fields.get("app")
        if program:
            addresses.program(component, program)
        routes.add(record)
        # The whole record counts for the kind of fault: a traceback's last line names it.
        # An access log's status code says how a request ended; its URL and sizes are no fault text.
        fault = (
            None
            if "status" in record.fields
            else classify(record.text[:4000] if record.text else record.message)
        )
        weight = level_weight(record, fault)
        # The same template at another level, or reporting another fault, is another signal: a 502
        # is not a 200, and a generic "request errored" may carry an expired certificate or not.
        key = (component, template.id, weight, fault.kind if fault else None)
        entry = stats.get(key)
        if entry is None:
            entry = stats[key] = PatternStats(component=component, template_id=template.id)
        entry.add(record, weight, fault)
        if record.at is not None:
            first = record.at if first is None or record.at < first else first
            last = record.at if last is None or record.at > last else last
            if weight >= 0.5:
                bad[_minute(record.at)] += 1
                bad_by_component[component, _minute(record.at)] += 1
    # Templates may have merged while mining: fold their statistics under the surviving id.
    merged: dict[PatternKey, PatternStats] = {}
    for (component, template_id, weight, kind), entry in stats.items():
        final = miner.resolve(template_id)
        key = (component, final, weight, kind)
        if key in merged:
            merged[key].merge(entry)
        else:
            entry.template_id = final
            merged[key] = entry
    return LogPatterns(
        miner=miner,
        stats=merged,
        bad_per_minute=bad,
        first=first,
        last=last,
        records=count,
        addresses=addresses,
        routes=routes,
        bad_by_component=bad_by_component,
    )


def _minutes_range(start: datetime, end: datetime) -> list[datetime]:
    out = []
    at = _minute(start)
    while at <= end:
        out.append(at)
        at += timedelta(minutes=1)
    return out


def estimate_onset(patterns: LogPatterns, window_start: datetime) -> tuple[datetime | None, float]:
    """The minute at which error-like records started to rise, and the change's p-value."""
    if patterns.last is None:
        return None, 1.0
    start = max(window_start, patterns.first or window_start)
    minutes = _minutes_range(start, patterns.last)
    counts = [patterns.bad_per_minute.get(m, 0) for m in minutes]
    point = change_point(counts)
    if point is not None and point.p_value <= SIGNIFICANCE:
        return minutes[point.index], point.p_value
    # A fault in one component (one service's calls to an external API failing) may be too small
    # to move the whole run's count above its background: look at each component alone, with the
    # significance divided among them (Bonferroni), and take the strongest.
    components = sorted({component for component, _ in patterns.bad_by_component})
    best: tuple[float, datetime] | None = None
    for component in components:
        series = [patterns.bad_by_component.get((component, m), 0) for m in minutes]
        own = change_point(series)
        if own is None:
            continue
        p_value = min(1.0, own.p_value * len(components))
        if p_value <= SIGNIFICANCE and (best is None or p_value < best[0]):
            best = (p_value, minutes[own.index])
    return (best[1], best[0]) if best is not None else (None, 1.0)


def _surge(entry: PatternStats, onset: datetime, start: datetime, end: datetime) -> RateChange:
    before = sum(n for m, n in entry.per_minute.items() if m < onset)
    after = sum(n for m, n in entry.per_minute.items() if m >= onset)
    minutes_before = max((onset - _minute(start)).total_seconds() / 60.0, 1.0)
    minutes_after = max((end - onset).total_seconds() / 60.0 + 1.0, 1.0)
    return rate_change(before, minutes_before, after, minutes_after)


def _line(record: LogRecord) -> str:
    first = record.text.splitlines()[0] if record.text else record.message
    if len(first) > MAX_LINE:
        first = first[:MAX_LINE] + "…"
    return f"{record.path or record.source}:{record.line}: {first}"


def _peer(entry: PatternStats, known: set[str], addresses: AddressBook) -> tuple[str | None, str | None]:
    """The dependency a fault blames: the host its messages name (the resolver, for DNS).

    Also says how an address-only peer was named, when it was (the evidence must show it).
    """
    if entry.fault is None or not entry.fault.names_peer:
        return None, None
    texts = [r.text[:4000] if r.text else r.message for r in entry.samples]
    if entry.fault.kind == "dns failure" or any(_DNS_PORT.search(text) for text in texts):
        # A name that does not resolve is the resolver's failure, not the failure of the host
        # being looked up; blame the resolver when the run knows it, else no one.
        resolvers = sorted(name for name in known if "dns" in name.lower() and name != entry.component)
        return (resolvers[0] if resolvers else None), None
    for text in texts:
        container = container_in(text)
        if container is not None:
            # The node reports a container's failure (a failed probe, a crash loop): it is that
            # container's, whatever address the probe used.
            peer = component_for_host(container, known)
            if peer != entry.component:
                return peer, None
        for host, port in endpoints_in(text):
            peer, how = addresses.resolve(host, port, known)
            if peer != entry.component:
                return peer, how
    return None, None


@attrs.frozen
class Surge:
    entry: PatternStats
    change: RateChange
    template: str
    peer: str | None
    #: How an address-only peer was named (None when the message names it outright).
    peer_note: str | None = None
    #: For a gateway's server errors: the service that serves the failed routes.
    upstream: str | None = None

    @property
    def score(self) -> float:
        return self.entry.weight * math.log1p(self.change.after) * min(self.change.ratio, 50.0)

    @property
    def own_fault(self) -> bool:
        """The component reports a fault of its own, not of a peer it calls."""
        return self.entry.fault is not None and not self.entry.fault.names_peer


def find_surges(patterns: LogPatterns, onset: datetime, start: datetime, known: set[str]) -> Iterator[Surge]:
    """Templates that are new or significantly more frequent after the onset."""
    end = patterns.last or onset
    for entry in patterns.stats.values():
        if entry.weight < 0.5:
            continue
        change = _surge(entry, onset, start, end)
        # A fault of the component itself (the OOM killer, a full disk, a crash) is decisive
        # even once: it is news whenever it was absent from the baseline.
        decisive = entry.fault is not None and not entry.fault.names_peer and change.before == 0
        if not (decisive and change.after > 0) and not is_surge(change, significance=SIGNIFICANCE):
            continue
        template = patterns.miner.get(entry.template_id).template
        peer, note = _peer(entry, known, patterns.addresses)
        upstream = (
            patterns.routes.target(entry.component, entry.failed_paths, known)
            if peer is None and entry.failed_paths
            else None
        )
        yield Surge(
            entry=entry, change=change, template=template, peer=peer, peer_note=note, upstream=upstream
        )


def _evidence(surge: Surge, onset: datetime, start: datetime) -> Evidence:
    change = surge.change
    new = change.before == 0
    what = "new" if new else f"{change.ratio:.1f}x its baseline rate"
    fault = f" ({surge.entry.fault.kind})" if surge.entry.fault else ""
    samples = [r for r in surge.entry.samples if r.at is None or r.at >= onset] or surge.entry.samples
    return Evidence(
        source=surge.entry.source or surge.entry.component,
        kind="log_pattern",
        summary=f"{surge.entry.component}: log pattern{fault} {what}: "
        f"{change.before} before the onset, {change.after} after"
        + (f" ({surge.peer_note})" if surge.peer_note else ""),
        at_from=onset,
        at_to=(surge.entry.last_samples or surge.entry.samples)[-1].at if surge.entry.samples else None,
        query=f"template {surge.entry.template_id} = {surge.template!r}",
        lines=[_line(r) for r in [*samples, *surge.entry.last_samples][:SAMPLES]],
        figures={
            "before": change.before,
            "after": change.after,
            "rate_before_per_min": round(change.rate_before, 3),
            "rate_after_per_min": round(change.rate_after, 3),
            "baseline_from": start.isoformat(),
            "p_value": float(f"{change.p_value:.3g}"),
        },
    )


def analyse_logs(ctx: InvestigationContext) -> list[Finding]:
    """Error and warning patterns that are new or surging after the onset, one finding per cause."""
    patterns = collect_patterns(ctx.log_records())
    if patterns.records == 0 or patterns.first is None:
        return []
    start = max(ctx.window_start, patterns.first)
    onset, onset_p = estimate_onset(patterns, ctx.window_start)
    if onset is None:
        ctx.audit("ops.onset", found=False, records=patterns.records)
        return []
    ctx.audit("ops.onset", found=True, onset=onset, p_value=onset_p)
    known = set(ctx.components) | {key[0] for key in patterns.stats}
    groups: dict[tuple[str, str | None, bool], list[Surge]] = defaultdict(list)
    surges = list(find_surges(patterns, onset, start, known))
    blaming = {s.entry.component for s in surges if s.peer is not None}
    for surge in surges:
        if surge.upstream in blaming:
            # A gateway's server errors are those of the service behind it; when that service's
            # own errors name a dependency, the chain goes on there. (A service failing on its
            # own code stays the gateway's rival: the gateway's errors are only its symptoms.)
            note = f"the failed routes are served by {surge.upstream}, as its own request lines show"
            surge = attrs.evolve(surge, peer=surge.upstream, peer_note=note)
        groups[(surge.entry.component, surge.peer, surge.entry.access_log)].append(surge)
    findings = []
    for (component, peer, access_log), surges in groups.items():
        surges.sort(key=lambda s: (not s.own_fault, -s.score))
        lead = surges[0]
        weighted_after = sum(s.entry.weight * s.change.after for s in surges)
        confidence = round(min(0.9, 0.35 + 0.55 * (1 - math.exp(-weighted_after / 30.0))), 3)
        fault = lead.entry.fault
        kind = fault.kind if fault else "errors"
        title = (
            f"{kind}" + (f" calling {peer}" if peer else "") + f": {len(surges)} new or surging pattern(s)"
        )
        strongest = f" ({fault.kind})" if fault else ""
        summary = (
            f"{component}: {len(surges)} log pattern(s) new or surging since {onset:%H:%M} UTC; "
            f"the strongest{strongest} appeared {lead.change.after} time(s) after the onset "
            f"and {lead.change.before} before"
        )
        onset_seen = min(
            (
                s.entry.samples[0].at
                for s in surges
                if s.entry.samples and s.entry.samples[0].at and s.entry.samples[0].at >= onset
            ),
            default=onset,
        )
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=component,
                title=title,
                summary=summary,
                confidence=confidence,
                evidence=[_evidence(s, onset, start) for s in surges[:5]],
                # A timeout that names no peer says nothing of the kind of cause: a saturated
                # process (gunicorn's WORKER TIMEOUT) times out as surely as a failed dependency.
                category=fault.category if fault and (peer or fault.kind != "timeout") else None,
                severity=Severity.HIGH,
                symptom=access_log and fault is None,
                indicator=f"log template: {lead.template}",
                onset=onset_seen,
                depends_on=peer,
            )
        )
    return _oom_killer_is_not_the_cause(findings, groups)


def _oom_killer_is_not_the_cause(
    findings: list[Finding], groups: dict[tuple[str, str | None, bool], list[Surge]]
) -> list[Finding]:
    """The kernel's OOM killer shows where memory ran out; the service whose memory grew is the cause.

    When a host's kernel reports OOM kills and another component reports running out of memory
    too, the host's finding becomes a symptom, so the ranking names the service (DESIGN.md).
    """
    kernel_hosts = {
        component
        for (component, _, _), surges in groups.items()
        if any(s.entry.fault is not None and s.entry.fault.kind == "out of memory" for s in surges)
        and all(r.fields.get("app") == "kernel" for s in surges for r in s.entry.samples if s.entry.fault)
    }
    services = {
        f.component
        for f in findings
        if f.component not in kernel_hosts and f.title.startswith("out of memory")
    }
    if not kernel_hosts or not services:
        return findings
    return [
        attrs.evolve(
            f, symptom=True, summary=f"{f.summary}; the memory that grew was {', '.join(sorted(services))}'s"
        )
        if f.component in kernel_hosts
        else f
        for f in findings
    ]
