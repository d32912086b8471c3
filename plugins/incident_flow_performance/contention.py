"""Contention for a database's resources: a service's connection pool exhausted, rows locked.

**Pool exhaustion.** When every connection of a service's pool is busy (a slow query holding them,
a surge), callers wait for one and give up: each driver says so in its own words, all of them about
*acquiring* a connection from the pool, not about reaching the server. HikariCP ``Connection is
not available, request timed out after 30000ms`` (and its housekeeper's ``Pool stats (total=16,
active=16, idle=0, waiting=52)``); SQLAlchemy ``QueuePool limit of size 5 overflow 10 reached``;
Tomcat JDBC ``Timeout: Pool empty. Unable to fetch a connection``; Apache DBCP ``Cannot get a
connection, pool error Timeout waiting for idle object``; c3p0 ``checkout a Connection has timed
out``; Knex ``Timeout acquiring a connection. The pool is probably full``; Sequelize
``ConnectionAcquireTimeoutError``; pgx and database wrappers ``failed to acquire connection``.
The same words appear when the database is down (the pool cannot open connections either), so
they alone do not make the finding: the service's own pool or connection series must have risen to
its ceiling at the same time (:mod:`incident_flow_performance.metrics` says which did). Busy
connections that time out waiting is exhaustion; a refused server leaves the pool empty instead.

**Lock contention.** Statements waiting for row or table locks, in the database's log and in the
errors its clients get: PostgreSQL ``still waiting for ShareLock``, ``canceling statement due to
lock timeout``, ``deadlock detected``, ``could not obtain lock``; MySQL ``Lock wait timeout
exceeded``, ``Deadlock found when trying to get lock``; SQL Server ``deadlocked on lock
resources``, ``Lock request time out period exceeded``; Oracle ``ORA-00060``/``ORA-00054``;
Hibernate and Spring's ``PessimisticLockException``, ``CannotAcquireLockException``; SQLite
``database is locked``. A surge of them in a component's logs is contention there, whatever else
it logs.

Either is a surge only when significant (G-test) against the same component's rate before the
onset, so the occasional deadlock of a busy system stays background.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from incident_flow import Category, Evidence, Finding, Mitigation, Severity
from incident_flow.analysis.stats import RateChange, is_surge, rate_change
from incident_flow.sources import LogRecord

__all__ = ["Waits", "lock_findings", "pool_findings", "waits_for_lock", "waits_for_pool"]

INVESTIGATOR = "performance"
#: Pool timeouts after the onset needed for a finding (a stray one is a blip, not exhaustion).
MIN_WAITS = 5
#: The G-test's level: the connection series at its ceiling already says the same thing.
SIGNIFICANCE = 0.01
#: Sample lines quoted per finding.
SAMPLES = 4

_POOL_WAIT = re.compile(
    r"Connection is not available, request timed out after"
    r"|QueuePool limit of size \d+ overflow -?\d+ reached"
    r"|Pool empty\. Unable to fetch a connection"
    r"|Timeout waiting for idle object"
    r"|checkout an? Connection has timed out"
    r"|Timeout acquiring a connection"
    r"|ConnectionAcquireTimeoutError"
    r"|timeout exceeded when trying to connect"
    r"|(?:failed|unable|could not|timed out|timeout)\W+(?:\w+\W+){0,2}acquir\w*\W+"
    r"(?:a\W+)?(?:db\W+|database\W+)?connection"
    r"|connection pool (?:is )?exhausted|pool exhausted",
    re.IGNORECASE,
)
# HikariCP's housekeeper: ``Pool stats (total=16, active=16, idle=0, waiting=52)``; every
# connection busy and callers waiting is the pool exhausted, whatever the timeouts say.
_POOL_STATS = re.compile(r"total=(\d+), active=(\d+), idle=0, waiting=([1-9]\d*)")


_LOCK_WAIT = re.compile(
    r"still waiting for \w*Lock\b"
    r"|canceling statement due to lock timeout"
    r"|\bdeadlock detected"
    r"|could not obtain lock on"
    r"|Lock wait timeout exceeded"
    r"|Deadlock found when trying to get lock"
    r"|deadlocked on lock resources"
    r"|Lock request time out period exceeded"
    r"|ORA-000(?:60|54)\b"
    r"|PessimisticLockException|CannotAcquireLockException|LockAcquisitionException|LockTimeoutException"
    r"|database is locked",
    re.IGNORECASE,
)


def waits_for_lock(record: LogRecord) -> bool:
    """Whether a record reports a statement waiting for a lock, timed out on one, or deadlocked."""
    text = record.text or record.message
    return ("ock" in text or "ORA-" in text) and _LOCK_WAIT.search(text) is not None


def waits_for_pool(record: LogRecord) -> bool:
    """Whether a record reports a wait for a pooled connection that timed out."""
    text = record.text or record.message
    if "waiting=" in text:
        stats = _POOL_STATS.search(text)
        if stats is not None and stats.group(1) == stats.group(2):
            return True
    return ("onnect" in text or "ool" in text or "cquir" in text) and _POOL_WAIT.search(text) is not None


@attrs.define
class Waits:
    """Records of one kind of wait per component (times and a few samples), kept during the pass."""

    matches: Callable[[LogRecord], bool]
    times: dict[str, list[datetime]] = attrs.field(factory=dict)
    samples: dict[str, list[LogRecord]] = attrs.field(factory=dict)

    def add(self, record: LogRecord) -> None:
        if record.at is None or not self.matches(record):
            return
        component = record.component or record.source
        self.times.setdefault(component, []).append(record.at)
        kept = self.samples.setdefault(component, [])
        if len(kept) < 50:
            kept.append(record)

    def surge(self, component: str, onset: datetime, start: datetime, end: datetime) -> RateChange | None:
        """The component's waits before and after ``onset``, when they surged there; else None."""
        times = self.times.get(component, [])
        before = sum(1 for t in times if start <= t < onset)
        after = sum(1 for t in times if t >= onset)
        change = rate_change(
            before,
            max((onset - start).total_seconds() / 60.0, 1.0),
            after,
            max((end - onset).total_seconds() / 60.0, 1.0),
        )
        return change if is_surge(change, min_after=MIN_WAITS, significance=SIGNIFICANCE) else None


def _line(record: LogRecord) -> str:
    first = (record.text or record.message).splitlines()[0][:400]
    return f"{record.path or record.source}:{record.line}: {first}"


def pool_findings(
    waits: Waits,
    saturated: Sequence[Finding],
    onset: datetime,
    start: datetime,
    end: datetime,
) -> list[Finding]:
    """A finding per component whose pool timeouts surged at ``onset`` while its connection series
    (a finding in ``saturated`` of kind ``connections``) rose to its ceiling."""
    findings = []
    by_component = {f.component: f for f in saturated if f.indicator and _is_connections(f)}
    for component in sorted(waits.times):
        metric = by_component.get(component)
        if metric is None:
            continue
        # Where the connection series rose, when it was judged at its own step.
        since = next(
            (e.at_from for e in metric.evidence if e.figures.get("kind") == "connections" and e.at_from),
            onset,
        )
        change = waits.surge(component, since, start, end)
        if change is not None:
            findings.append(_pool_finding(component, metric, waits, change, since))
    return findings


def lock_findings(waits: Waits, onset: datetime, start: datetime, end: datetime) -> list[Finding]:
    """A finding per component whose lock waits, lock timeouts and deadlocks surged at ``onset``."""
    findings = []
    for component in sorted(waits.times):
        change = waits.surge(component, onset, start, end)
        if change is None:
            continue
        after = [t for t in waits.times[component] if t >= onset]
        evidence = _wait_evidence(
            component,
            waits,
            change,
            onset,
            what="lock waits, lock timeouts or deadlocks",
            query="log records of a statement waiting for a lock, timed out on one or deadlocked "
            "(PostgreSQL, MySQL, SQL Server, Oracle, Hibernate/Spring, SQLite), before and after the onset",
        )
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=component,
                title=f"lock contention: {len(after)} lock waits, timeouts or deadlocks in {component}",
                summary=(
                    f"{component}: {evidence.summary}: transactions hold locks that others wait for "
                    "(a long batch, a missing index on a foreign key, an idle transaction)"
                ),
                confidence=round(min(0.7 + 0.15 * (1.0 - 2.0 ** (-len(after) / 20.0)), 0.85), 3),
                evidence=(evidence,),
                category=Category.PERFORMANCE,
                severity=Severity.HIGH,
                indicator=f"lock waits in the logs of {component}",
                onset=min(after),
                mitigations=(
                    Mitigation(
                        action=(
                            f"Find the blocker (pg_blocking_pids / SHOW ENGINE INNODB STATUS) behind "
                            f"{component}'s waits and end its transaction"
                        ),
                        target=component,
                        rationale="statements queue behind a transaction that holds the locks they need",
                        risk="medium",
                        requires_approval=True,
                    ),
                ),
            )
        )
    return findings


def _is_connections(finding: Finding) -> bool:
    return any(e.figures.get("kind") == "connections" for e in finding.evidence)


def _wait_evidence(
    component: str, waits: Waits, change: RateChange, onset: datetime, what: str, query: str
) -> Evidence:
    after = [t for t in waits.times[component] if t >= onset]
    samples = waits.samples.get(component, [])
    return Evidence(
        source=component,
        kind="log_waits",
        summary=(
            f"{len(after)} {what} from {min(after):%H:%M} UTC "
            f"({change.rate_before:.2f} → {change.rate_after:.2f} a minute)"
        ),
        at_from=min(after),
        at_to=max(after),
        query=query,
        lines=[_line(r) for r in samples if r.at is not None and r.at >= onset][:SAMPLES],
        figures={
            "count_before": change.before,
            "count_after": change.after,
            "rate_before_per_min": round(change.rate_before, 3),
            "rate_after_per_min": round(change.rate_after, 3),
            "p_value": float(f"{change.p_value:.3g}"),
        },
    )


def _pool_finding(
    component: str, metric: Finding, waits: Waits, change: RateChange, onset: datetime
) -> Finding:
    logs = _wait_evidence(
        component,
        waits,
        change,
        onset,
        what="timeouts waiting for a pooled connection",
        query="log records of a pool wait that timed out (HikariCP, SQLAlchemy QueuePool, Tomcat JDBC, "
        "DBCP, c3p0, Knex, Sequelize, pgx...), before and after the onset",
    )
    count = change.after
    return Finding(
        investigator=INVESTIGATOR,
        component=component,
        title=(
            f"connection pool exhausted: {component} waits for its own pool "
            f"({metric.indicator} at its ceiling)"
        ),
        summary=(
            f"{component}: {logs.summary} while {metric.indicator} held at its ceiling: the pool's "
            "connections are all busy (a slow query holding them, or more load than it was sized for), "
            "not refused by the server"
        ),
        confidence=round(min(0.75 + 0.15 * (1.0 - 2.0 ** (-count / 20.0)), 0.9), 3),
        evidence=(logs, *metric.evidence),
        category=Category.PERFORMANCE,
        severity=Severity.HIGH,
        indicator=metric.indicator,
        onset=logs.at_from,
        mitigations=(
            Mitigation(
                action=(
                    f"Find what holds {component}'s connections (pg_stat_activity by application and state, "
                    "oldest first) and cancel the longest; then size the pool to the database's limit"
                ),
                target=component,
                rationale="every connection of the pool is busy and new requests time out waiting",
                risk="medium",
                requires_approval=True,
            ),
        ),
    )
