"""Phase 1, immediate assessment: severity, category, affected components, priority actions.

It runs twice. First on the description alone (what the seed's step 1 has to go on), so even an
empty environment yields a useful triage. Then again after ``correlate`` with what was measured:
the severity of the findings behind the leading causes and the category of the rank-1 cause.
The seed's definitions decide the level: critical is service down, data-loss risk or a security
breach; high is major functionality impaired or performance degraded by more than 50%; medium is
minor impact, degraded by less than 50%.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import attrs

from incident_flow.correlate import NOTABLE, contenders
from incident_flow.model import Assessment, Category, Finding, Incident, RootCause, Severity

__all__ = ["assess_description", "reassess"]

# (pattern, severity, why) — each phrase maps onto one of the seed's definitions.
_SEVERITY_RULES: tuple[tuple[re.Pattern[str], Severity, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), severity, why)
    for pattern, severity, why in (
        (
            r"\b(down|outage|unavailable|unreachable|not responding|all users|every user|everyone)\b",
            Severity.CRITICAL,
            "service down or unavailable for all users",
        ),
        (r"\b(data loss|lost data|corrupt\w*|deleted)\b", Severity.CRITICAL, "data-loss risk"),
        (r"\b(breach|compromis\w*|exfiltrat\w*|ransomware|leak\w*)\b", Severity.CRITICAL, "security breach"),
        (
            r"\b5\d\d\b.*\b(all|every)\b|\b(all|every)\b.*\b5\d\d\b",
            Severity.CRITICAL,
            "server errors for all requests",
        ),
        (
            r"\b\d+(\.\d+)?\s*x\b|\b\d{3,}\s*%|\bmajor\b|\bsevere\w*\b",
            Severity.HIGH,
            "performance degraded by more than 50%",
        ),
        (
            r"\b(fail\w*|errors?|5\d\d|timeouts?|timing out|broken|cannot|can't)\b",
            Severity.HIGH,
            "major functionality impaired",
        ),
        (
            r"\b(attack\w*|brute.?force|injection|unauthori[sz]ed|suspicious|unusual spike)\b",
            Severity.HIGH,
            "possible security incident",
        ),
        (
            r"\b(slow\w*|latency|degraded|some users|intermittent\w*|partial\w*)\b",
            Severity.MEDIUM,
            "minor or partial impact",
        ),
    )
)

_CATEGORY_RULES: tuple[tuple[re.Pattern[str], Category], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), category)
    for pattern, category in (
        (
            r"\b(login|attack\w*|brute.?force|injection|xss|breach|unauthori[sz]ed|credential\w*|"
            r"malicious|ddos|scan\w*|exfiltrat\w*|compromis\w*)\b",
            Category.SECURITY,
        ),
        (
            r"\b(deploy\w*|release\w*|rollout|commit\w*|feature flag|migration|config change|"
            r"regression|exception|bug|null ?pointer|stack ?trace|crash\w*)\b",
            Category.CODE,
        ),
        (
            r"\b(disk|memory|oom|out of memory|node|host|network|dns|certificate|cert|tls|ssl|"
            r"502|503|504|gateway|unreachable|connection refused|down|outage)\b",
            Category.INFRASTRUCTURE,
        ),
        (
            r"\b(slow\w*|latency|response times?|throughput|load|traffic|cpu|queries|query|"
            r"timeouts?|\d+\s*x)\b",
            Category.PERFORMANCE,
        ),
    )
)

_PRIORITY_ACTIONS: dict[Category, tuple[str, ...]] = {
    Category.CODE: (
        "List the deploys and config changes of the last 24 hours and prepare a rollback of the newest one",
        "Compare error rates before and after the last deploy",
    ),
    Category.INFRASTRUCTURE: (
        "Check the health of hosts, disks, memory and the dependencies the failing service calls",
        "Restart or fail over the failing instance once the cause is confirmed",
    ),
    Category.PERFORMANCE: (
        "Compare request rate and latency with the baseline to tell a traffic surge from a slowdown",
        "Check database statement times, locks and connection pools",
    ),
    Category.SECURITY: (
        "Identify the source addresses and accounts involved and prepare blocks",
        "Rotate credentials of any account with a success after failures",
    ),
}


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text)}


def assess_description(incident: Incident, known_components: Iterable[str] = ()) -> Assessment:
    """Triage from the words of the report alone; every level comes with its reason."""
    text = incident.description
    severity = Severity.MEDIUM
    reasons: list[str] = []
    for pattern, level, why in _SEVERITY_RULES:
        match = pattern.search(text)
        if match and level >= severity:
            if level > severity:
                reasons = []
            severity = level
            reasons.append(f'the description says "{match.group(0)}": {why}')
    if not reasons:
        reasons.append("the description names no outage, failure or degradation: minor impact assumed")
    category = Category.PERFORMANCE
    for pattern, candidate in _CATEGORY_RULES:
        if pattern.search(text):
            category = candidate
            break
    words = _words(text)
    affected = [c for c in known_components if c.lower() in words]
    if incident.system and incident.system not in affected:
        affected.insert(0, incident.system)
    impact: dict[str, str] = {}
    if re.search(r"\b(all|every)\s+users?\b|\beveryone\b", text, re.IGNORECASE):
        impact["scope"] = "all users (from the description)"
    elif re.search(r"\bsome\s+users?\b|\bpartial\w*\b|\bintermittent\w*\b", text, re.IGNORECASE):
        impact["scope"] = "some users (from the description)"
    return Assessment(
        severity=severity,
        category=category,
        reasons=reasons,
        affected_components=affected,
        user_impact=impact,
        priority_actions=_PRIORITY_ACTIONS[category],
        declared_severity=incident.severity_hint,
    )


def reassess(initial: Assessment, causes: Sequence[RootCause], findings: Sequence[Finding]) -> Assessment:
    """Revisit the triage with what was measured: worse evidence raises the level, never hides it.

    The category follows the rank-1 cause; the affected components are those with findings, the
    cause first; the measured severity of the findings behind the leading causes counts.
    """
    severity = initial.severity
    reasons = list(initial.reasons)
    leading = {c.component for c in contenders(causes, findings)}
    for finding in findings:
        if finding.severity is None or finding.component not in leading:
            continue
        if finding.severity > severity:
            severity = finding.severity
            reasons = [r for r in reasons if not r.startswith("the description")]
        if finding.severity >= severity:
            reason = f"measured: {finding.title} ({finding.component})"
            if reason not in reasons:
                reasons.append(reason)
    category = causes[0].category if causes else initial.category
    affected: list[str] = [c.component for c in causes[:1]]
    notable = (f.component for f in findings if f.confidence >= NOTABLE or f.component in leading)
    for name in [*initial.affected_components, *notable]:
        if name not in affected:
            affected.append(name)
    actions = list(initial.priority_actions) if not causes else list(_PRIORITY_ACTIONS[category])
    if causes:
        actions.insert(0, f"Focus on {causes[0].component}: {causes[0].summary}")
    return attrs.evolve(
        initial,
        severity=severity,
        reasons=reasons,
        category=category,
        affected_components=affected,
        priority_actions=actions,
    )
