"""Access anomalies: what the recent traffic does that the baseline never did.

The window is split at ``detected_at - recent``: before is the baseline, after is recent (up to the
end of the data). Per component:

- **admin or internal endpoints reached from a new source**: a 2xx/3xx answer on an admin path to a
  source whose network (IPv4 /24, IPv6 /64) never reached one in the baseline and is not in
  ``trusted_networks``. The usual admin, from the usual network, is not an anomaly;
- **possible exfiltration**: a client whose recent download volume is at least
  ``exfiltration_bytes`` and ``exfiltration_factor`` times its own baseline rate (or, for a client
  new since the baseline, the typical client's);
- **new user agents at volume**: an agent string never seen in the baseline sending at least
  ``new_agent_requests`` recent requests (known scanners are reported by the web-attack rules).

A component with no baseline traffic has no "normal" to compare with, and yields nothing here.
"""

from __future__ import annotations

import ipaddress
import math
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime

import attrs

from incident_flow import Category, Evidence, Finding, Severity
from incident_flow.analysis.redact import Redactor
from incident_flow.sources import LogRecord
from incident_flow_security.access import AccessRequest, record_line
from incident_flow_security.options import SecurityOptions
from incident_flow_security.rules import RULES
from incident_flow_security.text import clean, network_of

__all__ = ["AccessCollector"]

INVESTIGATOR = "security"
_MAX_AGENTS = 100_000
_MAX_PATHS = 20
_SCANNER_AGENT = next(rule.pattern for rule in RULES if rule.id == "913100")


@attrs.define
class _ComponentStats:
    baseline_requests: int = 0
    recent_requests: int = 0
    baseline_first: datetime | None = None
    recent_last: datetime | None = None
    admin_networks: set[str] = attrs.field(factory=set)
    admin_recent: dict[str, list[tuple[datetime, str, LogRecord]]] = attrs.field(
        factory=lambda: defaultdict(list)
    )
    baseline_bytes: Counter[str] = attrs.field(factory=Counter)
    recent_bytes: Counter[str] = attrs.field(factory=Counter)
    recent_count: Counter[str] = attrs.field(factory=Counter)
    recent_samples: dict[str, list[LogRecord]] = attrs.field(factory=lambda: defaultdict(list))
    #: Bytes per path a client received recently (a few paths each): where the data came from.
    recent_paths: dict[str, Counter[str]] = attrs.field(factory=lambda: defaultdict(Counter))
    recent_first: dict[str, datetime] = attrs.field(factory=dict)
    baseline_agents: set[str] = attrs.field(factory=set)
    recent_agents: Counter[str] = attrs.field(factory=Counter)
    agent_samples: dict[str, list[LogRecord]] = attrs.field(factory=lambda: defaultdict(list))
    agent_first: dict[str, datetime] = attrs.field(factory=dict)
    source: str = ""


def _minutes(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 1.0
    return max((end - start).total_seconds() / 60.0, 1.0)


def _rising(base: float, top: float, amount: float, scale: float) -> float:
    return round(base + (top - base) * (1.0 - math.exp(-max(amount, 0.0) / scale)), 3)


class AccessCollector:
    """Keeps per-component baselines during the pass; compares recent traffic with them after."""

    def __init__(self, options: SecurityOptions, redactor: Redactor, recent_start: datetime) -> None:
        self.options = options
        self.redactor = redactor
        self.recent_start = recent_start
        self.admin_paths = re.compile(options.admin_paths, re.IGNORECASE)
        self.trusted = [ipaddress.ip_network(n, strict=False) for n in options.trusted_networks]
        self.stats: dict[str, _ComponentStats] = defaultdict(_ComponentStats)

    def _lines(self, records: list[LogRecord]) -> list[str]:
        return [record_line(r, self.redactor) for r in records]

    def add(self, request: AccessRequest) -> None:
        at = request.at
        if at is None:
            return
        stats = self.stats[request.component]
        stats.source = stats.source or request.record.source
        recent = at >= self.recent_start
        key = request.source or f"unparsed:{clean(request.raw_source, 64)}"
        ok = 200 <= request.status < 400
        admin = ok and self.admin_paths.search(request.path) is not None
        agent = request.user_agent
        if not recent:
            stats.baseline_requests += 1
            if stats.baseline_first is None or at < stats.baseline_first:
                stats.baseline_first = at
            stats.baseline_bytes[key] += request.body_bytes
            if admin and request.source is not None:
                stats.admin_networks.add(network_of(request.source))
            if len(stats.baseline_agents) < _MAX_AGENTS:
                stats.baseline_agents.add(agent)
            return
        stats.recent_requests += 1
        if stats.recent_last is None or at > stats.recent_last:
            stats.recent_last = at
        stats.recent_bytes[key] += request.body_bytes
        stats.recent_count[key] += 1
        stats.recent_first.setdefault(key, at)
        if len(stats.recent_samples[key]) < 3:
            stats.recent_samples[key].append(request.record)
        paths = stats.recent_paths[key]
        if request.body_bytes and (request.path in paths or len(paths) < _MAX_PATHS):
            paths[request.path] += request.body_bytes
        if admin:
            entries = stats.admin_recent[key]
            if len(entries) < 50:
                entries.append((at, request.path, request.record))
        if agent not in stats.baseline_agents and len(stats.recent_agents) < _MAX_AGENTS:
            stats.recent_agents[agent] += 1
            stats.agent_first.setdefault(agent, at)
            if len(stats.agent_samples[agent]) < 3:
                stats.agent_samples[agent].append(request.record)

    def _trusted(self, source: str) -> bool:
        address = ipaddress.ip_address(source)
        return any(address in network for network in self.trusted)

    def findings(self, attackers: set[str]) -> list[Finding]:
        findings: list[Finding] = []
        for component, stats in sorted(self.stats.items()):
            if stats.baseline_requests == 0 or stats.recent_requests == 0:
                continue
            for build in (self._admin, self._exfiltration, self._agents):
                finding = build(component, stats, attackers)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _admin(self, component: str, stats: _ComponentStats, attackers: set[str]) -> Finding | None:
        new: dict[str, list[tuple[datetime, str, LogRecord]]] = {}
        for key, entries in stats.admin_recent.items():
            if key == "unparsed:":
                continue  # no address at all: nothing says whether the caller is new
            if key.startswith("unparsed:"):
                new[key] = entries
                continue
            if network_of(key) in stats.admin_networks or self._trusted(key):
                continue
            new[key] = entries
        if not new:
            return None
        ranked = sorted(new.items(), key=lambda item: (-len(item[1]), item[0]))
        valid = [k for k, _ in ranked if not k.startswith("unparsed:")]
        entries = sorted((e for _, es in ranked for e in es), key=lambda e: e[0])
        paths = sorted({clean(e[1], 120, self.redactor) for e in entries})
        known_attackers = sorted(set(valid) & attackers)
        lead = ranked[0][0].removeprefix("unparsed:")
        evidence = Evidence(
            source=stats.source or component,
            kind="access_anomaly",
            summary=(
                f"{component}: admin or internal endpoints answered {len(entries)} time(s) to "
                f"{len(new)} source(s) whose network never reached them in the baseline"
            ),
            at_from=entries[0][0],
            at_to=entries[-1][0],
            query=(
                f"admin paths /{self.options.admin_paths}/ answered 2xx/3xx, "
                "source network not in the baseline"
            ),
            lines=self._lines([e[2] for e in entries[: self.options.sample_lines]]),
            figures={
                "kind": "admin_access",
                "target": component,
                "attacker": valid[0] if valid else None,
                "attackers": valid[:50],
                "paths": paths[:20],
                "requests": len(entries),
                "baseline_admin_networks": sorted(stats.admin_networks)[:20],
                "also_attacking": known_attackers,
            },
        )
        confidence = _rising(0.45, 0.7, len(entries), 10.0) + (0.15 if known_attackers else 0.0)
        return Finding(
            investigator=INVESTIGATOR,
            component=component,
            title=f"admin endpoints of {component} reached from a new source ({lead})",
            summary=(
                f"{component}: {', '.join(paths[:3])} answered to {lead}"
                + (f" and {len(new) - 1} other new source(s)" if len(new) > 1 else "")
                + ", never seen reaching admin endpoints in the baseline"
                + (" and also seen attacking" if known_attackers else "")
            ),
            confidence=round(min(confidence, 0.9), 3),
            evidence=[evidence],
            category=Category.SECURITY,
            severity=Severity.HIGH,
            indicator=f"admin endpoint {paths[0]} reached from {lead} (new source)",
            onset=entries[0][0],
        )

    def _exfiltration(self, component: str, stats: _ComponentStats, attackers: set[str]) -> Finding | None:
        baseline_minutes = _minutes(stats.baseline_first, self.recent_start)
        recent_minutes = _minutes(self.recent_start, stats.recent_last)
        rates = [b / baseline_minutes for b in stats.baseline_bytes.values() if b > 0]
        typical = statistics.median(rates) if rates else 0.0
        flagged: list[tuple[str, float, float]] = []
        for key, volume in stats.recent_bytes.items():
            if volume < self.options.exfiltration_bytes:
                continue
            own = stats.baseline_bytes.get(key, 0) / baseline_minutes
            reference = max(own, typical, 1.0)
            rate = volume / recent_minutes
            if rate >= self.options.exfiltration_factor * reference:
                flagged.append((key, rate, reference))
        if not flagged:
            return None
        flagged.sort(key=lambda item: -stats.recent_bytes[item[0]])
        key, rate, reference = flagged[0]
        lead = key.removeprefix("unparsed:")
        valid = [k for k, _, _ in flagged if not k.startswith("unparsed:")]
        known_attackers = sorted(set(valid) & attackers)
        volume = stats.recent_bytes[key]
        evidence = Evidence(
            source=stats.source or component,
            kind="access_anomaly",
            summary=(
                f"{component}: {lead} downloaded {volume} bytes since "
                f"{self.recent_start.astimezone(UTC):%H:%M} UTC, {rate / reference:.0f}x its baseline rate "
                f"({reference:.0f} bytes/min)"
            ),
            at_from=stats.recent_first.get(key),
            at_to=stats.recent_last,
            query="bytes sent per client: recent rate against its own (or the typical client's) baseline",
            lines=self._lines(stats.recent_samples[key]),
            figures={
                "kind": "exfiltration",
                "target": component,
                "attacker": valid[0] if valid else None,
                "attackers": valid[:50],
                "recent_bytes": {
                    k.removeprefix("unparsed:"): stats.recent_bytes[k] for k, _, _ in flagged[:20]
                },
                "path_weights": dict(stats.recent_paths[key].most_common(_MAX_PATHS)),
                "rate_bytes_per_min": round(rate),
                "baseline_bytes_per_min": round(reference),
                "also_attacking": known_attackers,
            },
        )
        severity = Severity.CRITICAL if known_attackers else Severity.HIGH
        confidence = _rising(0.5, 0.8, rate / reference - self.options.exfiltration_factor, 20.0)
        confidence += 0.1 if known_attackers else 0.0
        return Finding(
            investigator=INVESTIGATOR,
            component=component,
            title=f"possible exfiltration from {component}: {lead} downloads far above its baseline",
            summary=evidence.summary + (" and it was also seen attacking" if known_attackers else ""),
            confidence=round(min(confidence, 0.92), 3),
            evidence=[evidence],
            category=Category.SECURITY,
            severity=severity,
            indicator=f"bytes sent to {lead} ({rate / reference:.0f}x baseline)",
            onset=stats.recent_first.get(key),
        )

    def _agents(self, component: str, stats: _ComponentStats, _attackers: set[str]) -> Finding | None:
        new = [
            (agent, count)
            for agent, count in stats.recent_agents.most_common()
            if count >= self.options.new_agent_requests
            and agent not in stats.baseline_agents  # a later file of the same component may have had it
            and not _SCANNER_AGENT.search(agent.lower())
        ]
        if not new:
            return None
        lead, count = new[0]
        shown = clean(lead, 120, self.redactor) or "(empty)"
        share = count / max(stats.recent_requests, 1)
        evidence = Evidence(
            source=stats.source or component,
            kind="access_anomaly",
            summary=(
                f"{component}: {len(new)} user agent(s) never seen in the baseline sent at least "
                f"{self.options.new_agent_requests} recent requests each; "
                f"the busiest sent {count} ({share:.0%})"
            ),
            at_from=stats.agent_first.get(lead),
            at_to=stats.recent_last,
            query="user agents absent from the baseline, recent request count",
            lines=self._lines(stats.agent_samples[lead]),
            figures={
                "kind": "new_user_agent",
                "target": component,
                "agents": {clean(a, 120, self.redactor) or "(empty)": n for a, n in new[:10]},
                "recent_requests": stats.recent_requests,
            },
        )
        return Finding(
            investigator=INVESTIGATOR,
            component=component,
            title=f"new user agent at volume on {component}: {shown}",
            summary=evidence.summary,
            confidence=_rising(0.3, 0.55, share * 100, 30.0),
            evidence=[evidence],
            category=Category.SECURITY,
            severity=Severity.MEDIUM,
            indicator=f"user agent {shown} (new, {count} requests)",
            onset=stats.agent_first.get(lead),
        )
