"""The security investigator: one pass over the logs, then each check turns what it kept into findings.

The checks (see the modules of the same names) share the pass so that a large log is read once:
:mod:`~incident_flow_security.auth` (failed and successful logins), :mod:`~incident_flow_security.webattacks`
(CRS-style rule families on every request), :mod:`~incident_flow_security.anomalies` (recent traffic
against the baseline); :mod:`~incident_flow_security.integrity` reads the changes. One
:class:`~incident_flow.analysis.redact.Redactor` serves the whole run, so a secret that appears in
several evidence lines has one placeholder everywhere, and never its own text.
"""

from __future__ import annotations

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
    for record in ctx.log_records():
        records += 1
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


def investigator_function(options: SecurityOptions) -> Callable[[InvestigationContext], list[Finding]]:
    """``investigate`` bound to ``options``, as an investigator's function."""

    def security(ctx: InvestigationContext) -> list[Finding]:
        return investigate(ctx, options)

    return security
