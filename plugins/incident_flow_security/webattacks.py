"""Web attacks in access logs: scored requests grouped by target and rule family, ranked by outcome.

Every request is scored by :func:`incident_flow_security.rules.inspect_request` (decoded, then
matched against CRS-style rule families). The requests that reach the anomaly threshold are grouped
per attacked component and rule family, and what the server answered decides how bad it is:

- answered **2xx with a large body** (at least ``large_body_bytes`` and ``large_body_factor`` times
  the component's median 2xx body): the attack probably got data out, severity critical;
- answered 2xx/3xx otherwise, or 5xx (the payload reached the application and broke something):
  severity high, higher confidence;
- answered 404 or refused (401, 403, other 4xx): severity high, lower confidence: attempted, blocked.

Scanners are found twice over: by their user agents and fingerprints (family 913), and by their
behaviour: a burst of 404s on many distinct paths from one source (``scan_404s`` within
``scan_time`` on at least ``scan_paths`` paths). A monitoring probe that hits the same missing path
every minute is not a burst.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections import Counter, defaultdict, deque
from datetime import datetime
from typing import Any

import attrs

from incident_flow import Category, Evidence, Finding, Severity
from incident_flow.analysis.redact import Redactor
from incident_flow.analysis.stats import is_surge, rate_change
from incident_flow.sources import LogRecord
from incident_flow_security.access import AccessRequest, record_line
from incident_flow_security.options import SecurityOptions
from incident_flow_security.rules import FAMILIES, Verdict, inspect_request
from incident_flow_security.text import clean

__all__ = ["OUTCOMES", "Hit", "WebCollector", "outcome_of"]

INVESTIGATOR = "security"
_MAX_HITS = 5000
_SIZE_SAMPLE = 5000

OUTCOMES = ("data_returned", "answered", "server_error", "not_found", "refused")
"""How a server answered an attack, worst first."""

_OUTCOME_TEXT = {
    "data_returned": "answered 2xx with a large body",
    "answered": "answered with success",
    "server_error": "answered with a server error",
    "not_found": "answered 404",
    "refused": "refused",
}
_OUTCOME_CONFIDENCE = {
    "data_returned": 0.88,
    "answered": 0.75,
    "server_error": 0.7,
    "not_found": 0.55,
    "refused": 0.5,
}

_PROBE_PATHS = re.compile(
    r"(?i)(?:^|/)(?:wp-login\.php|wp-admin|xmlrpc\.php|phpmyadmin|pma|myadmin|\.git|\.svn|\.env|\.aws"
    r"|\.ds_store|server-status|actuator|cgi-bin|boaform|solr|vendor/phpunit|manager/html|config\.php"
    r"|admin\.php|shell\.php|setup\.php|install\.php|backup|\.bak|\.sql|phpinfo\.php|jmx-console|hnap1"
    r"|console|webdav|owa|autodiscover|remote/login|\.well-known/[^/]*\.php)(?:[./?]|$)"
)


def outcome_of(status: int, body_bytes: int, large: int) -> str:
    """Classify the server's answer to an attack (see :data:`OUTCOMES`)."""
    if 200 <= status < 300:
        return "data_returned" if body_bytes >= large else "answered"
    if 300 <= status < 400:
        return "answered"
    if status >= 500:
        return "server_error"
    if status == 404:
        return "not_found"
    return "refused"


@attrs.frozen
class Hit:
    """One request that reached the anomaly threshold."""

    at: datetime | None
    component: str
    source: str | None
    raw_source: str
    status: int
    body_bytes: int
    verdict: Verdict
    family: str
    record: LogRecord
    path: str


@attrs.define
class _Burst:
    """A source's recent 404s: a sliding window of (time, path) and the distinct paths in it."""

    window: deque[tuple[datetime, str]] = attrs.field(factory=deque)
    paths: Counter[str] = attrs.field(factory=Counter)
    peak_requests: int = 0
    peak_paths: int = 0
    first: datetime | None = None
    last: datetime | None = None
    records: list[LogRecord] = attrs.field(factory=list)
    probes: set[str] = attrs.field(factory=set)
    flagged: bool = False
    component: str = ""


#: The most a finding of steady background probing can weigh in the ranking.
BACKGROUND_CONFIDENCE = 0.2


class WebCollector:
    """Scores every request during the pass, then builds one finding per component and family."""

    def __init__(self, options: SecurityOptions, redactor: Redactor, split: datetime | None = None) -> None:
        self.options = options
        self.redactor = redactor
        #: Where the incident window starts: attacks as frequent before it as after are background.
        self.split = split
        self.hits: dict[tuple[str, str], list[Hit]] = defaultdict(list)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._before: Counter[tuple[str, str]] = Counter()
        self._earliest: datetime | None = None
        self._latest: datetime | None = None
        self.requests = 0
        self.flagged = 0
        self._sizes: dict[str, list[int]] = defaultdict(list)
        self._seen_sizes: Counter[str] = Counter()
        self._random = random.Random(0)
        self._bursts: dict[tuple[str, str], _Burst] = {}

    def add(self, request: AccessRequest) -> None:
        self.requests += 1
        if request.at is not None:
            self._earliest = request.at if self._earliest is None else min(self._earliest, request.at)
            self._latest = request.at if self._latest is None else max(self._latest, request.at)
        verdict = inspect_request(
            request.target, user_agent=request.user_agent, threshold=self.options.score_threshold
        )
        if request.status == 404 and request.at is not None and request.source is not None:
            self._track_404(request)
        if not verdict.attack:
            if 200 <= request.status < 300:
                self._keep_size(request.component, request.body_bytes)
            return
        self.flagged += 1
        family = verdict.family or "920"
        key = (request.component, family)
        self.counts[key] += 1
        if self.split is not None and request.at is not None and request.at < self.split:
            self._before[key] += 1
        hits = self.hits[key]
        hit = Hit(
            at=request.at,
            component=request.component,
            source=request.source,
            raw_source=clean(request.raw_source, 64, self.redactor),
            status=request.status,
            body_bytes=request.body_bytes,
            verdict=verdict,
            family=family,
            record=request.record,
            path=clean(request.path, 120, self.redactor),
        )
        if len(hits) < _MAX_HITS:
            hits.append(hit)

    def _background(self, component: str, family: str) -> str | None:
        """Why these requests are steady background (no significant rise in the incident window)."""
        if (
            self.split is None
            or self._earliest is None
            or self._latest is None
            or self._earliest >= self.split
        ):
            return None
        key = (component, family)
        before, total = self._before[key], self.counts[key]
        if family == "913":  # scanners also show as bursts of 404s: count the bursts' sources too
            bursts = [b for b in self._bursts.values() if b.flagged and b.component == component and b.first]
            before += sum(1 for b in bursts if b.first is not None and b.first < self.split)
            total += len(bursts)
        if before == 0:  # nothing like it before the window: new, whatever its volume
            return None
        change = rate_change(
            before,
            (self.split - self._earliest).total_seconds() / 60.0,
            total - before,
            max((self._latest - self.split).total_seconds() / 60.0, 1.0),
        )
        if is_surge(change, significance=0.01):
            return None
        return (
            f"steady background: {change.rate_before:.2f}/min before the incident window and "
            f"{change.rate_after:.2f}/min in it"
        )

    def _keep_size(self, component: str, size: int) -> None:
        """A fixed-size uniform sample of benign 2xx body sizes per component (reservoir sampling)."""
        self._seen_sizes[component] += 1
        sizes = self._sizes[component]
        if len(sizes) < _SIZE_SAMPLE:
            sizes.append(size)
        else:
            slot = self._random.randrange(self._seen_sizes[component])
            if slot < _SIZE_SAMPLE:
                sizes[slot] = size

    def _track_404(self, request: AccessRequest) -> None:
        assert request.at is not None and request.source is not None
        key = (request.component, request.source)
        burst = self._bursts.get(key)
        if burst is None:
            burst = self._bursts[key] = _Burst(component=request.component)
        path = request.path
        burst.window.append((request.at, path))
        burst.paths[path] += 1
        while burst.window and request.at - burst.window[0][0] > self.options.scan_time:
            _, old = burst.window.popleft()
            burst.paths[old] -= 1
            if burst.paths[old] == 0:
                del burst.paths[old]
        if len(burst.window) >= burst.peak_requests:
            burst.peak_requests = len(burst.window)
            burst.peak_paths = max(burst.peak_paths, len(burst.paths))
        if len(burst.probes) < 50 and _PROBE_PATHS.search(path):
            burst.probes.add(clean(path, 120, self.redactor))
        if len(burst.window) >= self.options.scan_404s and len(burst.paths) >= self.options.scan_paths:
            if not burst.flagged:
                burst.flagged = True
                burst.first = burst.window[0][0]
            burst.last = request.at
        if (burst.flagged or len(burst.records) < 2) and len(burst.records) < self.options.sample_lines:
            burst.records.append(request.record)

    def large_body(self, component: str) -> int:
        """The body size above which a 2xx answer to an attack counts as data returned."""
        sizes = self._sizes.get(component)
        typical = statistics.median(sizes) if sizes else 0
        return int(max(self.options.large_body_bytes, self.options.large_body_factor * typical))

    @property
    def attackers(self) -> set[str]:
        """Every valid source address behind a flagged request or a 404 burst."""
        sources = {h.source for hits in self.hits.values() for h in hits if h.source}
        sources.update(source for (_, source), burst in self._bursts.items() if burst.flagged)
        return sources

    # -- findings -----------------------------------------------------------------------------------

    def findings(self) -> list[Finding]:
        findings = []
        components = sorted(
            {c for c, _ in self.hits} | {b.component for b in self._bursts.values() if b.flagged}
        )
        for component in components:
            families = sorted({f for c, f in self.hits if c == component})
            if (
                any(b.flagged and b.component == component for b in self._bursts.values())
                and "913" not in families
            ):
                families.append("913")
            for family in families:
                finding = self._finding(component, family)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _finding(self, component: str, family: str) -> Finding | None:
        hits = self.hits.get((component, family), [])
        bursts = (
            {source: b for (c, source), b in self._bursts.items() if c == component and b.flagged}
            if family == "913"
            else {}
        )
        if not hits and not bursts:
            return None
        large = self.large_body(component)
        outcomes = Counter(outcome_of(h.status, h.body_bytes, large) for h in hits)
        worst = next((o for o in OUTCOMES if outcomes.get(o)), "not_found")
        total = self.counts.get((component, family), 0)
        by_source = Counter(h.source or f"unparsed:{h.raw_source}" for h in hits)
        for source, burst in bursts.items():
            by_source[source] += burst.peak_requests
        valid = [s for s, _ in by_source.most_common() if not s.startswith("unparsed:")]
        unparsed = [
            s.removeprefix("unparsed:") for s, _ in by_source.most_common() if s.startswith("unparsed:")
        ]
        rules = Counter(m.rule_id for h in hits for m in h.verdict.matches)
        name = FAMILIES.get(family, family)
        ranked = sorted(
            hits, key=lambda h: (OUTCOMES.index(outcome_of(h.status, h.body_bytes, large)), -h.verdict.score)
        )
        lines = [record_line(h.record, self.redactor) for h in ranked[: self.options.sample_lines]]
        times = [h.at for h in hits if h.at is not None]
        for burst in bursts.values():
            lines.extend(
                record_line(r, self.redactor)
                for r in burst.records[: max(self.options.sample_lines - len(lines), 0)]
            )
            times.extend(t for t in (burst.first, burst.last) if t is not None)
        who = valid[0] if valid else (unparsed[0] if unparsed else "an unknown source")
        others = len(by_source) - 1
        indicator = f"rule family {family} ({name}) from {who}" + (
            f" and {others} other source(s)" if others > 0 else ""
        )
        probes = sorted({p for b in bursts.values() for p in b.probes})
        tools = sorted({m.excerpt for h in hits for m in h.verdict.matches if m.rule_id == "913100"})
        requests = total + sum(b.peak_requests for b in bursts.values())
        figures: dict[str, Any] = {
            "kind": "scanner" if family == "913" else "web_attack",
            "target": component,
            "rule_family": family,
            "rule_family_name": name,
            "attacker": valid[0] if valid else None,
            "attackers": valid[:50],
            "unparsable_sources": [clean(u, 64) for u in unparsed[:10]],
            "requests": requests,
            "requests_by_source": {s: n for s, n in by_source.most_common() if s in valid[:20]},
            "outcomes": dict(outcomes),
            "rules": dict(rules.most_common()),
            "max_score": max((h.verdict.score for h in hits), default=0),
            "max_body_bytes": max((h.body_bytes for h in hits), default=0),
            "large_body_bytes": large,
            "paths": sorted({h.path for h in hits})[:20],
            "path_weights": dict(Counter(h.path for h in hits).most_common(20)),
        }
        if tools:
            figures["scanner_agents"] = [clean(t, 40) for t in tools[:10]]
        if bursts:
            figures["scan_bursts"] = {
                source: {"404s": b.peak_requests, "distinct_paths": b.peak_paths}
                for source, b in bursts.items()
            }
            figures["probe_paths"] = probes[:20]
        if worst == "data_returned":
            severity = Severity.CRITICAL
            base = _OUTCOME_CONFIDENCE["data_returned"]
        else:
            severity = Severity.HIGH
            base = _OUTCOME_CONFIDENCE[worst] if hits else 0.55
        worst_text = "probing for paths that do not exist" if bursts and not hits else _OUTCOME_TEXT[worst]
        confidence = round(min(base + 0.08 * (1.0 - math.exp(-(max(requests, 1) - 1) / 15.0)), 0.97), 3)
        summary = (
            f"{component}: {requests} request(s) matching rule family {family} ({name}) from "
            f"{len(by_source)} source(s), led by {who}; worst outcome: {worst_text}"
        )
        background = self._background(component, family) if worst != "data_returned" else None
        # Probes the server turned away (404, 4xx) got nothing: they show what hits the service,
        # not what broke it; a handful of them is the internet's noise.
        unanswered = worst in ("not_found", "refused")
        if unanswered and requests < self.options.scan_404s:
            confidence = min(confidence, BACKGROUND_CONFIDENCE)
        if background is not None:
            # The internet's steady probing is always there: it is context, not this incident's cause.
            confidence = min(confidence, BACKGROUND_CONFIDENCE)
            severity = Severity.MEDIUM
            summary += f"; {background}"
            figures["background"] = True
        if tools:
            summary += f"; tools: {', '.join(figures['scanner_agents'])}"
        if worst == "data_returned":
            summary += f" (up to {figures['max_body_bytes']} bytes where {large} is already large here)"
        evidence = Evidence(
            source=component,
            kind="web_attack" if family != "913" else "scanner",
            summary=summary,
            at_from=min(times) if times else None,
            at_to=max(times) if times else None,
            query=(
                f"CRS-style rule family {family}, anomaly threshold {self.options.score_threshold}"
                + (
                    f"; 404 bursts: {self.options.scan_404s} in {self.options.scan_time} on "
                    f"{self.options.scan_paths} paths"
                    if bursts
                    else ""
                )
            ),
            lines=lines,
            figures=figures,
        )
        title = f"{name} against {component} (rule family {family}), {worst_text}"
        return Finding(
            investigator=INVESTIGATOR,
            component=component,
            title=title,
            summary=summary,
            confidence=confidence,
            evidence=[evidence],
            category=Category.SECURITY,
            severity=severity,
            indicator=indicator,
            onset=min(times) if times else None,
            # Steady background probing is context: it shows what hits the service, not what broke it.
            symptom=background is not None or unanswered,
        )
