"""The ops investigator: the seed's System Diagnostics (log analysis, metric anomalies, resources).

Registered through the ``incident_flow`` entry point ``ops``, exactly as a third-party plugin is,
and built only on incident-flow's public API.
"""

from __future__ import annotations

from collections.abc import Callable

from incident_flow import Finding, Investigator, hookimpl
from incident_flow.context import InvestigationContext
from incident_flow_ops.host import analyse_host
from incident_flow_ops.logs import analyse_logs
from incident_flow_ops.metrics import analyse_metrics
from incident_flow_ops.oom import analyse_oom


def investigate(ctx: InvestigationContext) -> list[Finding]:
    """Logs first: the onset they find, when they find one, anchors the metric baseline."""
    findings = analyse_logs(ctx)
    onsets = [f.onset for f in findings if f.onset is not None and not f.symptom]
    metrics = analyse_metrics(ctx, onset_hint=min(onsets) if onsets else None)
    return [*findings, *metrics, *analyse_oom(ctx), *analyse_host(ctx)]


@hookimpl
def register_investigators(register: Callable[[Investigator], None]) -> None:
    register(
        Investigator(
            name="ops",
            investigate=investigate,
            description="System diagnostics: log patterns new or surging since the onset, "
            "metric anomalies, and host saturation (live incidents)",
        )
    )
