"""The performance investigator: the seed's Performance Analysis.

"Analyze performance aspects of incident: response time degradation, database query performance,
API call latencies, resource bottlenecks, load distribution issues. Compare with baseline metrics."
From the access logs: which endpoints slowed and when, a surge told from a slowdown, who brought
the surge, how the load spread across instances (:mod:`incident_flow_performance.access`). From
``postgres`` sources: slow statements and the missing index, blocking chains, exhausted
connections, replication lag (:mod:`incident_flow_performance.database`). From metrics: saturation
and latency against their baseline (:mod:`incident_flow_performance.metrics`).

Registered through the ``incident_flow`` entry point ``performance``, exactly as a third-party
plugin is, and built only on incident-flow's public API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from incident_flow import Finding, Investigator, hookimpl
from incident_flow.analysis.endpoints import LoadPattern
from incident_flow.context import InvestigationContext
from incident_flow.sources import LogRecord, SourceError
from incident_flow.sources.postgres import PostgresSource, Snapshot
from incident_flow.timeutil import format_duration
from incident_flow_performance.access import analyse_access_logs
from incident_flow_performance.contention import (
    Waits,
    lock_findings,
    pool_findings,
    waits_for_lock,
    waits_for_pool,
)
from incident_flow_performance.database import analyse_database, is_recent
from incident_flow_performance.metrics import DEFAULT_RECENT, analyse_metrics

__all__ = ["INVESTIGATOR", "investigate_performance", "register_investigators"]

INVESTIGATOR = "performance"


def investigate_performance(ctx: InvestigationContext) -> list[Finding]:
    """Access logs, metrics and databases; one failed source is a problem line, not a failed run.

    The databases' first ``pg_stat_statements`` snapshot is taken before the logs are read and
    the second after, so the snapshot interval overlaps the log analysis instead of adding to it.
    A database is queried only when detection was recent (``max_incident_age``, default one hour):
    in a replay, its state now is not the incident's.
    """
    now = datetime.now(UTC)
    live: dict[PostgresSource, Snapshot | None] = {}
    for source in ctx.sources(PostgresSource):
        if not is_recent(ctx.detected_at, source, now):
            age = now - ctx.detected_at
            limit = format_duration(timedelta(seconds=source.max_incident_age))
            ago = format_duration(timedelta(minutes=round(age.total_seconds() / 60)))
            when = (
                f"the incident was detected {ago} ago"
                if age > timedelta(0)
                else "the incident's detection time is in the future"
            )
            ctx.problem(
                source.name,
                f"not queried: {when} and the database's state now is not the incident's "
                f"(max_incident_age {limit})",
            )
            continue
        ctx.audit("source.query", source=source.name, what="postgres statistics", dsn=source.describe())
        try:
            live[source] = source.snapshot()
        except SourceError as exc:
            ctx.problem(source.name, str(exc))
            if "cannot connect" not in str(exc):
                live[source] = None
    pool_waits, lock_waits = Waits(waits_for_pool), Waits(waits_for_lock)

    def observe(record: LogRecord) -> None:
        pool_waits.add(record)
        lock_waits.add(record)

    access = analyse_access_logs(ctx, observe=observe)
    findings = list(access.findings)
    saturation = analyse_metrics(ctx, access.onset)
    onset = access.onset or ctx.detected_at - DEFAULT_RECENT
    until = ctx.window_end or ctx.detected_at + max(ctx.settings.lookback, timedelta(hours=1))
    pools = pool_findings(
        pool_waits, [f for f in saturation if not f.symptom], onset, ctx.window_start, until
    )
    # A pool finding carries its connection series: that series' own finding would count it twice.
    absorbed = {f.component for f in pools}
    findings.extend(f for f in saturation if f.component not in absorbed or f.symptom)
    findings.extend(pools)
    findings.extend(lock_findings(lock_waits, onset, ctx.window_start, until))
    database: list[Finding] = []
    for source, first in live.items():
        database.extend(analyse_database(ctx, source, first))
    findings.extend(database)
    causes = [f for f in database if not f.symptom]
    if causes and access.pattern is not LoadPattern.SURGE_WITH_SLOWDOWN:
        # A slowdown at an unchanged rate points behind the endpoint; with a database finding at
        # hand, that is where: the ranking then treats the slow endpoints as its victims.
        target = max(causes, key=lambda f: f.confidence).component
        findings = [
            attrs.evolve(f, depends_on=target)
            if f.symptom and f.depends_on is None and f.component != target and f.title.startswith("latency")
            else f
            for f in findings
        ]
    return findings


@hookimpl
def register_investigators(register: Callable[[Investigator], None]) -> None:
    register(
        Investigator(
            name=INVESTIGATOR,
            investigate=investigate_performance,
            description="Performance analysis: endpoint latency and load patterns, database statements, "
            "locks and connections, saturation against baseline",
        )
    )
