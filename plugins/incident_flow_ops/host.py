"""Resource saturation on the machine the run is on (the ``host`` source), for live incidents only.

The seed's "resource utilization": a full disk, exhausted memory or file handles, a CPU pinned at
100%. A snapshot is compared with fixed saturation thresholds (a snapshot has no baseline), and
only when the incident is live: the machine's state now says nothing about a replayed incident.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident_flow import Category, Evidence, Finding, Severity
from incident_flow.context import InvestigationContext
from incident_flow.sources.host import HostSnapshot, HostSource, ProcessUsage

__all__ = ["LIVE_WITHIN", "analyse_host", "saturation_findings"]

#: A detection older than this is a replay: the host's state now is not the incident's.
LIVE_WITHIN = timedelta(hours=1)
DISK_FULL = 90.0
MEMORY_FULL = 90.0
CPU_BUSY = 90.0
FDS_FULL = 90.0


def _process_lines(processes: tuple[ProcessUsage, ...]) -> list[str]:
    return [
        f"pid {p.pid} {p.name}: cpu {p.cpu_percent:.0f}%, rss {p.rss_bytes / 2**20:.0f} MiB"
        for p in processes
    ]


def saturation_findings(snapshot: HostSnapshot, source: str) -> list[Finding]:
    """One finding per saturated resource, the figure and its threshold as evidence."""
    checks: list[tuple[str, float | None, float, Category, tuple[ProcessUsage, ...]]] = [
        ("memory", snapshot.memory_percent, MEMORY_FULL, Category.INFRASTRUCTURE, snapshot.top_memory),
        ("cpu", snapshot.cpu_percent, CPU_BUSY, Category.PERFORMANCE, snapshot.top_cpu),
        ("file descriptors", snapshot.fds_percent, FDS_FULL, Category.INFRASTRUCTURE, ()),
        *(
            (f"disk {path}", used, DISK_FULL, Category.INFRASTRUCTURE, ())
            for path, used in sorted(snapshot.disks.items())
        ),
    ]
    findings = []
    for resource, used, threshold, category, processes in checks:
        if used is None or used < threshold:
            continue
        findings.append(
            Finding(
                investigator="ops",
                component=snapshot.host,
                title=f"{resource} saturated: {used:.0f}% used",
                summary=f"{snapshot.host}: {resource} at {used:.1f}% (threshold {threshold:.0f}%)",
                confidence=min(0.9, 0.5 + (used - threshold) / 25.0),
                category=category,
                severity=Severity.CRITICAL if used >= 99.0 else Severity.HIGH,
                indicator=f"host {resource} used %",
                onset=None,
                evidence=[
                    Evidence(
                        source=source,
                        kind="host_snapshot",
                        summary=f"{resource} {used:.1f}% used on {snapshot.host} at {snapshot.at:%H:%M:%S}",
                        at_from=snapshot.at,
                        at_to=snapshot.at,
                        query=f"psutil snapshot of {resource}",
                        lines=_process_lines(processes),
                        figures={"used_percent": round(used, 1), "threshold_percent": threshold},
                    )
                ],
            )
        )
    return findings


def analyse_host(ctx: InvestigationContext, now: datetime | None = None) -> list[Finding]:
    """Saturation findings from every configured host source, when the incident is live."""
    sources = ctx.sources(HostSource)
    if not sources:
        return []
    now = now or datetime.now(UTC)
    if now - ctx.detected_at > LIVE_WITHIN:
        ctx.audit("ops.host", skipped="replay: the machine's state now is not the incident's")
        return []
    findings = []
    for source in sources:
        try:
            snapshot = source.snapshot()
        except Exception as exc:  # a source that cannot be read is a problem, not a failure
            ctx.problem(source.name, str(exc))
            continue
        ctx.audit("source.query", source=source.name, what="host snapshot")
        findings.extend(saturation_findings(snapshot, source.name))
    return findings
