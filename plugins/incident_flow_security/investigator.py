"""The security investigator: one pass over the logs, then each check turns what it kept into findings.

The checks (see the modules of the same names) share the pass so that a large log is read once:
:mod:`~incident_flow_security.auth` (failed and successful logins), :mod:`~incident_flow_security.webattacks`
(CRS-style rule families on every request), :mod:`~incident_flow_security.anomalies` (recent traffic
against the baseline); :mod:`~incident_flow_security.integrity` reads the changes. One
:class:`~incident_flow.analysis.redact.Redactor` serves the whole run, so a secret that appears in
several evidence lines has one placeholder everywhere, and never its own text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from incident_flow import Finding
from incident_flow.analysis.redact import Redactor
from incident_flow.analysis.routes import RouteMap
from incident_flow.context import InvestigationContext
from incident_flow_security.access import as_request
from incident_flow_security.anomalies import AccessCollector
from incident_flow_security.auth import AuthCollector
from incident_flow_security.integrity import integrity_findings
from incident_flow_security.mitigations import suggest_mitigations
from incident_flow_security.options import SecurityOptions
from incident_flow_security.webattacks import WebCollector

__all__ = ["investigate", "investigator_function"]


def investigate(ctx: InvestigationContext, options: SecurityOptions | None = None) -> list[Finding]:
    """Attack indicators, exploitation, access anomalies and integrity, as findings with evidence."""
    options = options or SecurityOptions()
    redactor = Redactor()
    auth = AuthCollector(options, redactor, split=ctx.detected_at - options.recent)
    web = WebCollector(options, redactor, split=ctx.detected_at - options.recent)
    access = AccessCollector(options, redactor, recent_start=ctx.detected_at - options.recent)
    routes = RouteMap()
    records = 0
    known = set(ctx.components)
    for record in ctx.log_records():
        records += 1
        if record.component:
            known.add(record.component)
        routes.add(record)
        request = as_request(record)
        if request is None:
            auth.add_record(record)
            continue
        auth.add_request(request)
        web.add(request)
        access.add(request)
    findings = auth.findings(ctx.window_start)
    findings.extend(web.findings())
    attackers = auth.attackers | web.attackers
    findings.extend(access.findings(attackers))
    findings = [_target_behind_the_gateway(f, routes, known) for f in findings]
    attacked = {f.component for f in findings}
    findings.extend(integrity_findings(ctx.changes(), ctx.components, attacked, redactor))
    ctx.audit(
        "security.scan",
        records=records,
        requests=web.requests,
        flagged_requests=web.flagged,
        auth_events=len(auth.events),
        findings=len(findings),
        redacted=dict(redactor.counts),
    )
    # Each finding carries its own concrete steps; the core puts them first for a leading cause.
    return [attrs.evolve(f, mitigations=tuple(suggest_mitigations(f))) for f in findings]


def _target_behind_the_gateway(finding: Finding, routes: RouteMap, known: set[str]) -> Finding:
    """Name the service attacked, not the gateway whose log showed it (DESIGN.md: the target).

    The paths the finding's requests went to (``path_weights``, else ``paths``) are looked up in
    the run's :class:`~incident_flow.analysis.routes.RouteMap`: the service that logs serving them,
    or that a path names. When most of the requests went to one service, it is the target.
    """
    if not finding.evidence:
        return finding
    figures = finding.evidence[0].figures
    weights = figures.get("path_weights")
    paths: dict[str, int] | list[str]
    if isinstance(weights, dict) and weights:
        paths = {str(p): int(n) for p, n in weights.items() if isinstance(n, int | float)}
    else:
        paths = [p for p in figures.get("paths", ()) or () if isinstance(p, str)]
    if not paths:
        return finding
    target = routes.target(finding.component, paths, known)
    if target is None or target == finding.component:
        return finding
    seen_at = finding.component
    evidence = attrs.evolve(finding.evidence[0], figures={**figures, "target": target, "seen_at": seen_at})
    return attrs.evolve(
        finding,
        component=target,
        title=_retitled(finding.title, seen_at, target),
        summary=f"{finding.summary} (the requests route to {target}; seen at {seen_at})",
        evidence=(evidence, *finding.evidence[1:]),
    )


def _retitled(title: str, old: str, new: str) -> str:
    """``SQL injection against web`` becomes ``SQL injection against shipping (seen at web)``."""
    pattern = re.compile(rf"\b(against|from|on|at|of) {re.escape(old)}(?![\w.-])")
    return pattern.sub(lambda m: f"{m.group(1)} {new} (seen at {old})", title, count=1)


def investigator_function(options: SecurityOptions) -> Callable[[InvestigationContext], list[Finding]]:
    """``investigate`` bound to ``options``, as an investigator's function."""

    def security(ctx: InvestigationContext) -> list[Finding]:
        return investigate(ctx, options)

    return security
