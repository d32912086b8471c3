"""The security investigator: one pass over the logs, then each check turns what it kept into findings.

The checks (see the modules of the same names) share the pass so that a large log is read once:
:mod:`~incident_flow_security.auth` (failed and successful logins), :mod:`~incident_flow_security.webattacks`
(CRS-style rule families on every request), :mod:`~incident_flow_security.anomalies` (recent traffic
against the baseline); :mod:`~incident_flow_security.integrity` reads the changes. One
:class:`~incident_flow.analysis.redact.Redactor` serves the whole run, so a secret that appears in
several evidence lines has one placeholder everywhere, and never its own text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import attrs

from incident_flow import Finding
from incident_flow.analysis.redact import Redactor
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
    records = 0
    known = set(ctx.components)
    for record in ctx.log_records():
        records += 1
        if record.component:
            known.add(record.component)
        request = as_request(record)
        if request is None:
            auth.add_record(record)
            continue
        auth.add_request(request)
        web.add(request)
        access.add(request)
    findings = auth.findings(ctx.window_start)
    findings.extend(_target_behind_the_gateway(f, known) for f in web.findings())
    attackers = auth.attackers | web.attackers
    findings.extend(access.findings(attackers))
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


def _target_behind_the_gateway(finding: Finding, known: set[str]) -> Finding:
    """Name the service attacked, not the gateway whose log showed it (DESIGN.md: the target).

    A path that names a known component (``/api/shipping/quote`` and a ``shipping`` service) is
    routed to it, as gateways commonly route ``/<prefix>/<service>/...``; when most attacked paths
    name the same one, that component is the target.
    """
    figures = finding.evidence[0].figures if finding.evidence else {}
    paths = [p for p in figures.get("paths", ()) if isinstance(p, str)]
    if not paths:
        return finding
    named = Counter(
        next((segment for segment in p.split("?", 1)[0].split("/") if segment in known), None) for p in paths
    )
    target, count = named.most_common(1)[0]
    if target is None or target == finding.component or count * 2 <= len(paths):
        return finding
    evidence = attrs.evolve(
        finding.evidence[0], figures={**figures, "target": target, "seen_at": finding.component}
    )
    return attrs.evolve(
        finding,
        component=target,
        summary=f"{finding.summary} (the paths route to {target}; seen at {finding.component})",
        evidence=(evidence, *finding.evidence[1:]),
    )


def investigator_function(options: SecurityOptions) -> Callable[[InvestigationContext], list[Finding]]:
    """``investigate`` bound to ``options``, as an investigator's function."""

    def security(ctx: InvestigationContext) -> list[Finding]:
        return investigate(ctx, options)

    return security
