"""PostgreSQL analysis for the performance investigator: slow statements, locks, connections, lag.

Each finding carries what a DBA would check before acting: the normalised statement and its mean
time now and before, the table's sequential scans; the blocking pid, its query, its age and who
waits behind it; connections against ``max_connections`` by state, application and client. Each
also carries the mitigation that fits it, as SQL to review and a ``psql`` command to run once
approved: the ``CREATE INDEX CONCURRENTLY`` for a missing index, ``pg_terminate_backend`` for a
blocker, a pool size or PgBouncer for exhausted connections. Nothing is run here.

Every query goes through :class:`~incident_flow.sources.postgres.PostgresSource`, which is
read-only; each step is guarded on its own, so a timed-out ``pg_locks`` read still leaves the
statement analysis, and a server that cannot be reached is one problem line in the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import attrs

from incident_flow import Category, Evidence, Finding, Mitigation, Severity
from incident_flow.context import InvestigationContext
from incident_flow.sources import SourceError
from incident_flow.sources.postgres import (
    MARKER,
    Backend,
    BlockingChain,
    ConnectionUsage,
    IndexInfo,
    PostgresSource,
    ReplicaLag,
    Snapshot,
    StatementActivity,
    TableActivity,
    Workload,
)
from incident_flow_performance.sql import read_statement

__all__ = [
    "IndexSuggestion",
    "analyse_database",
    "blocking_findings",
    "connection_finding",
    "is_recent",
    "replication_finding",
    "slow_statement_findings",
    "suggest_index",
]

INVESTIGATOR = "performance"
#: A table smaller than this is read faster by a sequential scan than through an index.
MIN_TABLE_ROWS = 10_000
#: Sequential reads of at least this share of the table per call of a statement: it scans the table.
FULL_SCAN_SHARE = 0.25
#: Slow statements reported per database.
MAX_SLOW = 3
#: Connections in use, over the ordinary limit, from which the pool is called exhausted.
EXHAUSTED = 0.9
#: Replication lag worth a finding.
LAG_SECONDS = 30.0
LAG_BYTES = 1 << 30
_UTILITY = (
    "begin",
    "commit",
    "rollback",
    "set ",
    "show ",
    "reset ",
    "discard",
    "savepoint",
    "release",
    "deallocate",
)

T = TypeVar("T")


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _short(query: str, limit: int = 80) -> str:
    text = " ".join(query.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ident(name: str) -> str:
    if name.isidentifier() and name == name.lower() and name.isascii():
        return name
    return '"' + name.replace('"', '""') + '"'


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def is_recent(detected_at: datetime, source: PostgresSource, now: datetime | None = None) -> bool:
    """Whether the database's state now can tell about the incident: detection within the limit.

    In a replay of an old incident the locks, sessions and rates of today are not the incident's,
    so the investigator does not query the server then (``max_incident_age``, default one hour).
    """
    now = now or datetime.now(UTC)
    return timedelta(minutes=-10) <= now - detected_at <= timedelta(seconds=source.max_incident_age)


# -- slow statements ---------------------------------------------------------------------------------


@attrs.frozen
class IndexSuggestion:
    """An index that no existing one covers, for a table a slow statement scans sequentially."""

    table: TableActivity
    columns: tuple[str, ...]
    ddl: str
    existing: tuple[IndexInfo, ...]


def _table_for(workload: Workload, schema: str | None, table: str) -> TableActivity | None:
    matches = [
        t for t in workload.tables if t.stats.table == table and (schema is None or t.stats.schema == schema)
    ]
    matches.sort(key=lambda t: t.stats.schema != "public")
    return matches[0] if matches else None


def _full_scans(table: TableActivity, statement: StatementActivity, interval: float) -> bool:
    """Whether the table's sequential reads add up to a large part of it per call of the statement.

    Counted per call, not per scan: a parallel sequential scan counts one scan per worker, each
    reading a part of the table. Over the interval or cumulatively, whichever says more: since
    PostgreSQL 15 a backend flushes its table statistics at most once a second, so over a few
    seconds they lag behind ``pg_stat_statements``, which counts each call as it ends.
    """
    stats = table.stats
    if stats.n_live_tup < MIN_TABLE_ROWS or stats.seq_scan == 0:
        return False
    needed = FULL_SCAN_SHARE * stats.n_live_tup
    now = interval > 0 and statement.calls > 0 and table.seq_tup_read >= needed * statement.calls
    return now or stats.seq_tup_read >= needed * max(statement.stats.calls, 1)


def suggest_index(
    source: PostgresSource, statement: StatementActivity, workload: Workload
) -> IndexSuggestion | None:
    """The index that would turn the statement's full scans into index scans, if one is missing.

    The table must be large and read by full sequential scans; the columns are those the statement
    filters on that exist in it (equalities first, at most two, else the first range); and no valid
    index may already start with the first of them.
    """
    shape = read_statement(statement.stats.query)
    if not shape.predicates:
        return None
    for schema, name in shape.tables:
        table = _table_for(workload, schema, name)
        if table is None or not _full_scans(table, statement, workload.interval_s):
            continue
        columns = set(source.columns(table.stats.relid))
        mine = [
            p for p in shape.predicates if (p.table is None or p.table[1] == name) and p.column in columns
        ]
        equal = [p.column for p in mine if p.equality]
        ranges = [p.column for p in mine if not p.equality]
        chosen = tuple(dict.fromkeys(equal[:2] or ranges[:1]))
        if not chosen:
            continue
        indexes = tuple(source.indexes(table.stats.relid))
        if any(ix.valid and ix.first_column == chosen[0] for ix in indexes):
            continue
        index_name = f"{name}_{'_'.join(chosen)}_idx"[:63]
        ddl = (
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_ident(index_name)} "
            f"ON {_ident(table.stats.schema)}.{_ident(name)} ({', '.join(_ident(c) for c in chosen)});"
        )
        return IndexSuggestion(table=table, columns=chosen, ddl=ddl, existing=indexes)
    return None


def _candidates(workload: Workload, slow_ms: float) -> list[StatementActivity]:
    out = []
    for statement in workload.statements:
        query = statement.stats.query
        if MARKER in query or query.lstrip().lower().startswith(_UTILITY):
            continue
        live = statement.calls > 0 and workload.interval_s > 0
        mean = statement.mean_ms_now if live else statement.stats.mean_ms
        calls = statement.calls if live else statement.stats.calls
        if mean is not None and mean >= slow_ms and calls >= (1 if live else 5):
            out.append(statement)
    return out


def _statement_evidence(source: PostgresSource, statement: StatementActivity, workload: Workload) -> Evidence:
    stats = statement.stats
    live = workload.interval_s > 0 and statement.calls > 0
    busy = sum(s.total_ms for s in workload.statements if MARKER not in s.stats.query)
    share = statement.total_ms / busy if live and busy > 0 else None
    if live:
        before = statement.mean_ms_before
        was = f"{_ms(before)} cumulative before" if before is not None else "new since the first snapshot"
        summary = (
            f"mean {_ms(statement.mean_ms_now)} over the last {workload.interval_s:.1f}s "
            f"({statement.calls} calls, {statement.calls_per_s:.1f}/s), {was}; "
            f"{stats.calls} calls and {_ms(stats.total_ms)} in total"
            + (f"; {share:.0%} of the database's execution time now" if share is not None else "")
        )
    else:
        summary = f"mean {_ms(stats.mean_ms)} over {stats.calls} calls (cumulative; max {_ms(stats.max_ms)})"
    return Evidence(
        source=source.name,
        kind="slow_statement",
        summary=f"statement {stats.queryid}: {summary}",
        at_from=workload.first.at,
        at_to=workload.second.at,
        query=f"SELECT * FROM pg_stat_statements WHERE queryid = {stats.queryid}",
        lines=[" ".join(stats.query.split())],
        figures={
            "queryid": stats.queryid,
            "role": stats.role,
            "mean_ms_now": _round(statement.mean_ms_now),
            "mean_ms_before": _round(statement.mean_ms_before),
            "mean_ms_cumulative": _round(stats.mean_ms),
            "max_ms": _round(stats.max_ms),
            "calls_interval": statement.calls,
            "calls_total": stats.calls,
            "calls_per_s": _round(statement.calls_per_s),
            "rows_per_call": _round(stats.rows / stats.calls if stats.calls else None),
            "interval_s": _round(workload.interval_s),
            "share_of_db_time": _round(share, 3),
            "shared_blks_read": stats.shared_blks_read,
            "shared_blks_hit": stats.shared_blks_hit,
        },
    )


def _table_evidence(
    source: PostgresSource, suggestion: IndexSuggestion, statement: StatementActivity, workload: Workload
) -> Evidence:
    table = suggestion.table
    stats = table.stats
    # Cumulative: table statistics reach the view up to a second late, so a short interval's
    # figure would understate the rows each call reads.
    per_call = stats.seq_tup_read / max(statement.stats.calls, 1)
    now = (
        f"; {table.seq_scan} of them in the last {workload.interval_s:.1f}s"
        if workload.interval_s > 0
        else ""
    )
    existing = ", ".join(ix.name for ix in suggestion.existing) or "none"
    return Evidence(
        source=source.name,
        kind="table_scans",
        summary=(
            f"{stats.schema}.{stats.table}: {stats.seq_scan} sequential scans, {per_call:,.0f} rows read "
            f"per call of the statement ({stats.n_live_tup:,} live rows; "
            f"{stats.idx_scan or 0} index scans){now}; "
            f"no index starts with {', '.join(suggestion.columns)} (indexes: {existing})"
        ),
        at_from=workload.first.at,
        at_to=workload.second.at,
        query=(
            "SELECT seq_scan, seq_tup_read, idx_scan, n_live_tup FROM pg_stat_user_tables "
            f"WHERE relid = {stats.relid}"
        ),
        figures={
            "table": f"{stats.schema}.{stats.table}",
            "seq_scan": stats.seq_scan,
            "seq_tup_read": stats.seq_tup_read,
            "rows_read_per_call": round(per_call),
            "idx_scan": stats.idx_scan or 0,
            "n_live_tup": stats.n_live_tup,
            "seq_scan_interval": table.seq_scan,
            "filter_columns": list(suggestion.columns),
            "indexes": [ix.definition for ix in suggestion.existing],
        },
    )


def slow_statement_findings(
    source: PostgresSource, workload: Workload, *, problem: Callable[[str], None] | None = None
) -> list[Finding]:
    """The slowest statements now (by time taken over the interval), with an index when one is missing."""
    findings = []
    for statement in _candidates(workload, source.slow_query_ms)[:MAX_SLOW]:
        evidence = [_statement_evidence(source, statement, workload)]
        suggestion = None
        try:
            suggestion = suggest_index(source, statement, workload)
        except SourceError as exc:
            if problem is not None:
                problem(str(exc))
        mitigations = []
        stats = statement.stats
        mean = statement.mean_ms_now if statement.calls and workload.interval_s > 0 else stats.mean_ms
        share = evidence[0].figures.get("share_of_db_time")
        if suggestion is not None:
            evidence.append(_table_evidence(source, suggestion, statement, workload))
            table = f"{suggestion.table.stats.schema}.{suggestion.table.stats.table}"
            title = f"slow query: sequential scans on {table}, no index on {', '.join(suggestion.columns)}"
            mitigations.append(
                Mitigation(
                    action=f"Create the missing index on {table} ({', '.join(suggestion.columns)}), reviewed",
                    target=source.component,
                    rationale=(
                        f"statement {stats.queryid} (mean {_ms(mean)}) reads all "
                        f"{suggestion.table.stats.n_live_tup:,} rows of {table} per call; "
                        "CONCURRENTLY builds without blocking writes, but takes I/O and time, "
                        "and leaves an INVALID index to drop if it fails"
                    ),
                    risk="medium",
                    requires_approval=True,
                    command=source.psql_command(suggestion.ddl),
                )
            )
        else:
            title = f"slow query: mean {_ms(mean)}: {_short(stats.query, 60)}"
        mitigations.append(
            Mitigation(
                action=f"Optimise statement {stats.queryid} or cache its results (EXPLAIN ANALYZE it)",
                target=source.component,
                rationale="the statement's own cost is the bottleneck; caching or a better plan removes it",
                risk="low",
                requires_approval=False,
                kind="fix",
            )
        )
        summary = (
            f"{source.component}: {_short(stats.query, 100)} takes {_ms(mean)} per call"
            + (f" and {share:.0%} of the database's execution time" if isinstance(share, float) else "")
            + (f"; it scans {', '.join(suggestion.columns)} without an index" if suggestion else "")
        )
        confidence = 0.55 + (0.2 if suggestion else 0.0) + (0.15 * share if isinstance(share, float) else 0.0)
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=source.component,
                title=title,
                summary=summary,
                confidence=round(min(confidence, 0.9), 3),
                evidence=cast(Any, tuple(evidence)),
                category=Category.PERFORMANCE,
                severity=Severity.HIGH if isinstance(share, float) and share >= 0.5 else Severity.MEDIUM,
                indicator=f"pg_stat_statements queryid {stats.queryid}",
                mitigations=cast(Any, tuple(mitigations)),
            )
        )
    return findings


# -- sessions and locks ------------------------------------------------------------------------------

_ACTIVITY_QUERY = (
    "SELECT pid, usename, application_name, client_addr, state, wait_event_type, xact_start, query_start, "
    "state_change, query, pg_blocking_pids(pid) FROM pg_stat_activity"
)


def _who(backend: Backend) -> str:
    parts = [backend.user or "?"]
    if backend.client:
        parts[0] += f"@{backend.client}"
    if backend.application:
        parts.append(backend.application)
    return ", ".join(parts)


def _backend_figures(backend: Backend) -> dict[str, Any]:
    return {
        "pid": backend.pid,
        "user": backend.user,
        "application": backend.application,
        "client": backend.client,
        "state": backend.state,
        "xact_age_s": _round(backend.xact_age_s, 1),
        "state_age_s": _round(backend.state_age_s, 1),
        "query_age_s": _round(backend.query_age_s, 1),
    }


def _terminate(source: PostgresSource, backend: Backend, why: str) -> Mitigation:
    return Mitigation(
        action=f"Terminate backend {backend.pid} ({_who(backend)})",
        target=source.component,
        rationale=why + "; its open transaction is rolled back and its client sees the connection drop",
        risk="medium",
        requires_approval=True,
        command=source.psql_command(f"SELECT pg_terminate_backend({backend.pid})"),
    )


def blocking_findings(
    source: PostgresSource, chains: Sequence[BlockingChain], now: datetime
) -> list[Finding]:
    """One finding per blocking chain whose waiters have waited at least a slow query's time."""
    findings = []
    for chain in chains:
        if chain.longest_wait_s * 1000.0 < source.slow_query_ms:
            continue
        blocker = chain.blocker
        idle = (blocker.state or "").startswith("idle in transaction")
        lock = chain.lock
        lock_text = ""
        if lock:
            on = f" on {lock['relation']}" if lock.get("relation") else ""
            lock_text = f" ({lock.get('mode')} {lock.get('locktype')}{on})"
        if chain.held:
            lock_text += f"; it holds {', '.join(chain.held[:5])}"
        waiters = [w.pid for w in chain.waiting]
        summary = (
            f"pid {blocker.pid} ({_who(blocker)}) is {blocker.state or 'running'} for "
            f"{_age(blocker.state_age_s)} in a transaction open for {_age(blocker.xact_age_s)}, and blocks "
            f"{len(waiters)} session(s){lock_text}; the longest has waited {_age(chain.longest_wait_s)}"
        )
        evidence = [
            Evidence(
                source=source.name,
                kind="lock_blocker",
                summary=summary,
                at_from=blocker.xact_start,
                at_to=now,
                query=f"{_ACTIVITY_QUERY} WHERE pid = {blocker.pid}",
                lines=[f"pid {blocker.pid} ({blocker.state}): {' '.join(blocker.query.split())}"],
                figures={
                    **{f"blocker_{k}": v for k, v in _backend_figures(blocker).items()},
                    "waiting_pids": waiters,
                    "lock_mode": lock.get("mode"),
                    "lock_type": lock.get("locktype"),
                    "relation": lock.get("relation"),
                    "held_locks": list(chain.held),
                },
            ),
            Evidence(
                source=source.name,
                kind="lock_waiters",
                summary=(
                    f"{len(waiters)} session(s) wait behind pid {blocker.pid}, "
                    f"longest {_age(chain.longest_wait_s)}"
                ),
                at_from=min((w.query_start for w in chain.waiting if w.query_start), default=None),
                at_to=now,
                query=f"{_ACTIVITY_QUERY} WHERE {blocker.pid} = ANY(pg_blocking_pids(pid))",
                lines=[
                    f"pid {w.pid} waiting {_age(w.query_age_s)}: {' '.join(w.query.split())}"
                    for w in chain.waiting[:10]
                ],
                figures={"waiting": len(waiters), "longest_wait_s": _round(chain.longest_wait_s, 1)},
            ),
        ]
        why = f"pid {blocker.pid} holds the lock {len(waiters)} session(s) wait for"
        mitigations = []
        if not idle and blocker.state == "active":
            mitigations.append(
                Mitigation(
                    action=f"Cancel the running query of backend {blocker.pid}",
                    target=source.component,
                    rationale=why + "; cancelling its query is gentler than terminating the session",
                    risk="low",
                    requires_approval=True,
                    command=source.psql_command(f"SELECT pg_cancel_backend({blocker.pid})"),
                )
            )
        mitigations.append(_terminate(source, blocker, why))
        if idle:
            mitigations.append(
                Mitigation(
                    action=(
                        "Bound idle transactions: ALTER ROLE "
                        f"{_ident(blocker.user or 'app')} SET idle_in_transaction_session_timeout = '60s', "
                        f"and fix the code path of {blocker.application or 'the client'} that leaves its "
                        "transaction open"
                    ),
                    target=source.component,
                    rationale="a session idle in a transaction holds its locks until it ends",
                    risk="low",
                    requires_approval=True,
                    kind="fix",
                )
            )
        onset = min((w.query_start for w in chain.waiting if w.query_start), default=None)
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=source.component,
                title=(
                    f"lock contention: pid {blocker.pid} ({blocker.state or 'running'} for "
                    f"{_age(blocker.state_age_s)}) blocks {len(waiters)} session(s)"
                ),
                summary=f"{source.component}: {summary}",
                confidence=round(min(0.6 + 0.1 * len(waiters) + (0.1 if idle else 0.0), 0.9), 3),
                evidence=cast(Any, tuple(evidence)),
                category=Category.PERFORMANCE,
                severity=Severity.HIGH,
                indicator=f"pg_locks: blocking pid {blocker.pid}",
                onset=onset,
                mitigations=cast(Any, tuple(mitigations)),
            )
        )
    return findings


def _lingering_findings(
    source: PostgresSource, backends: Sequence[Backend], chains: Sequence[BlockingChain], now: datetime
) -> list[Finding]:
    """Sessions idle in a transaction, or queries running, for too long, that block nobody (yet)."""
    blocking = {c.blocker.pid for c in chains}
    waiting = {w.pid for c in chains for w in c.waiting}
    clients = [b for b in backends if b.backend_type == "client backend" and b.pid not in blocking | waiting]
    findings = []
    idle = [
        b
        for b in clients
        if (b.state or "").startswith("idle in transaction")
        and (b.state_age_s or 0.0) >= source.idle_in_transaction_s
    ]
    running = [
        b
        for b in clients
        if b.state == "active" and (b.query_age_s or 0.0) >= source.long_query_s and MARKER not in b.query
    ]
    for kind, group, what in (
        (
            "idle_in_transaction",
            idle,
            f"idle in a transaction for at least {source.idle_in_transaction_s:g}s",
        ),
        ("long_running", running, f"running a query for at least {source.long_query_s:g}s"),
    ):
        if not group:
            continue
        group.sort(
            key=lambda b: -((b.state_age_s if kind == "idle_in_transaction" else b.query_age_s) or 0.0)
        )
        oldest = group[0]
        age = oldest.state_age_s if kind == "idle_in_transaction" else oldest.query_age_s
        evidence = Evidence(
            source=source.name,
            kind=kind,
            summary=(
                f"{len(group)} session(s) {what}; the oldest, pid {oldest.pid} ({_who(oldest)}), "
                f"for {_age(age)}"
            ),
            at_to=now,
            query=_ACTIVITY_QUERY,
            lines=[
                f"pid {b.pid} ({b.state}, {_age(b.state_age_s)}): {' '.join(b.query.split())}"
                for b in group[:10]
            ],
            figures={"sessions": len(group), "pids": [b.pid for b in group[:50]], **_backend_figures(oldest)},
        )
        if kind == "idle_in_transaction":
            mitigation = _terminate(
                source, oldest, f"pid {oldest.pid} holds a transaction open for {_age(age)}"
            )
        else:
            mitigation = Mitigation(
                action=f"Cancel the query of backend {oldest.pid} running for {_age(age)}",
                target=source.component,
                rationale="a runaway query holds a connection, CPU and I/O",
                risk="low",
                requires_approval=True,
                command=source.psql_command(f"SELECT pg_cancel_backend({oldest.pid})"),
            )
        findings.append(
            Finding(
                investigator=INVESTIGATOR,
                component=source.component,
                title=f"{len(group)} session(s) {what}",
                summary=f"{source.component}: {evidence.summary}",
                confidence=0.4,
                evidence=(evidence,),
                category=Category.PERFORMANCE,
                indicator=f"pg_stat_activity: {kind.replace('_', ' ')}",
                mitigations=(mitigation,),
            )
        )
    return findings


# -- connections and replication ---------------------------------------------------------------------


def _top(counts: Mapping[str, int], n: int = 5) -> str:
    return ", ".join(f"{k} {v}" for k, v in list(counts.items())[:n]) or "none"


def connection_finding(source: PostgresSource, usage: ConnectionUsage, now: datetime) -> Finding | None:
    """Connections at or near the ordinary limit: who holds them, and how to free and bound them."""
    if usage.usage < EXHAUSTED:
        return None
    full = usage.refused
    limit_text = (
        f"{usage.total} client connections of max_connections {usage.max_connections} "
        f"({usage.superusers} by superusers, this source's included); ordinary roles are refused from "
        f"{usage.ordinary_limit} ({usage.superuser_reserved + usage.reserved} slots reserved)"
    )
    evidence = Evidence(
        source=source.name,
        kind="connections",
        summary=(
            f"{limit_text}: by state {_top(usage.by_state)}; by application {_top(usage.by_application)}; "
            f"by client {_top(usage.by_client)}; by user {_top(usage.by_user)}"
        ),
        at_to=now,
        query=(
            "SELECT state, application_name, client_addr, usename, count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' GROUP BY 1, 2, 3, 4"
        ),
        figures={
            "connections": usage.total,
            "max_connections": usage.max_connections,
            "superuser_reserved_connections": usage.superuser_reserved,
            "ordinary_limit": usage.ordinary_limit,
            "superuser_connections": usage.superusers,
            "refused": full,
            "usage": round(usage.usage, 3),
            "by_state": dict(usage.by_state),
            "by_application": dict(list(usage.by_application.items())[:10]),
            "by_client": dict(list(usage.by_client.items())[:10]),
            "by_user": dict(list(usage.by_user.items())[:10]),
            "by_database": dict(list(usage.by_database.items())[:10]),
        },
    )
    top_app = next(iter(usage.by_application), "(none)")
    top_user = next(iter(usage.by_user), "(none)")
    idle = usage.by_state.get("idle", 0) + usage.by_state.get("idle in transaction", 0)
    terminate_idle = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' "
        "AND state IN ('idle', 'idle in transaction') AND state_change < now() - interval '5 minutes'"
        + (f" AND usename = '{top_user.replace(chr(39), chr(39) * 2)}'" if top_user != "(none)" else "")
    )
    mitigations = [
        Mitigation(
            action=f"Terminate connections of {top_user} idle for more than 5 minutes ({idle} idle now)",
            target=source.component,
            rationale="idle sessions hold slots that waiting clients need; pools reconnect on demand",
            risk="medium",
            requires_approval=True,
            command=source.psql_command(terminate_idle),
        ),
        Mitigation(
            action=(
                f"Lower the connection pool size of {top_app} (it holds "
                f"{usage.by_application.get(top_app, 0)}) or put PgBouncer in transaction mode in front"
            ),
            target=source.component,
            rationale=(
                "the sum of the clients' pool sizes exceeds max_connections; a pooler multiplexes many "
                "client connections over a few server connections"
            ),
            risk="low",
            requires_approval=True,
            kind="fix",
        ),
        Mitigation(
            action=f"Raise max_connections above {usage.max_connections} (a restart; memory per connection)",
            target=source.component,
            rationale="more slots buy time if the server has memory for them; pooling is the lasting fix",
            risk="medium",
            requires_approval=True,
            kind="fix",
        ),
    ]
    return Finding(
        investigator=INVESTIGATOR,
        component=source.component,
        title=(
            f"connection exhaustion: {usage.total} of {usage.max_connections} connections in use, "
            + ("new ordinary logins refused" if full else f"{usage.ordinary_limit} for ordinary roles")
        ),
        summary=f"{source.component}: {limit_text}; {top_app} holds the most"
        + ("; new ordinary logins are refused" if full else ""),
        confidence=0.85 if full else 0.6,
        evidence=(evidence,),
        category=Category.PERFORMANCE,
        severity=Severity.CRITICAL if full else Severity.HIGH,
        indicator="pg_stat_activity: client connections / max_connections",
        mitigations=cast(Any, tuple(mitigations)),
    )


def replication_finding(source: PostgresSource, lags: Sequence[ReplicaLag], now: datetime) -> Finding | None:
    """Replicas lagging by at least 30 s or 1 GiB of WAL."""
    behind = [
        lag
        for lag in lags
        if (lag.replay_lag_s or 0.0) >= LAG_SECONDS
        or (lag.replay_bytes or 0) >= LAG_BYTES
        or lag.state not in (None, "streaming", "replica")
    ]
    if not behind:
        return None
    worst = max(behind, key=lambda lag: (lag.replay_lag_s or 0.0, lag.replay_bytes or 0))
    evidence = Evidence(
        source=source.name,
        kind="replication_lag",
        summary="; ".join(
            f"{lag.name} ({lag.client or 'local'}, {lag.state}): replay lag {_age(lag.replay_lag_s)}, "
            f"{(lag.replay_bytes or 0) / 1048576:.1f} MiB of WAL behind"
            for lag in behind
        ),
        at_to=now,
        query="SELECT application_name, state, replay_lag, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
        "FROM pg_stat_replication",
        figures={"replicas": [attrs.asdict(lag) for lag in behind]},
    )
    return Finding(
        investigator=INVESTIGATOR,
        component=source.component,
        title=f"replication lag: {worst.name} {_age(worst.replay_lag_s)} behind",
        summary=f"{source.component}: {evidence.summary}",
        confidence=0.6,
        evidence=(evidence,),
        category=Category.PERFORMANCE,
        indicator="pg_stat_replication: replay_lag",
        mitigations=(
            Mitigation(
                action=f"Route reads that need fresh data away from {worst.name} until it catches up",
                target=source.component,
                rationale="a lagging replica serves stale reads; heavy writes or long queries delay replay",
                risk="low",
                requires_approval=True,
            ),
        ),
    )


# -- the whole database ------------------------------------------------------------------------------


def _guard(
    ctx: InvestigationContext, source: PostgresSource, step: Callable[[], T], failed: list[str]
) -> T | None:
    """Run one step; a SourceError is recorded once and the next steps still run (unless unreachable)."""
    if failed:
        return None
    try:
        return step()
    except SourceError as exc:
        ctx.problem(source.name, str(exc))
        if "cannot connect" in str(exc) or "connection failed" in str(exc):
            failed.append(str(exc))
        return None


def analyse_database(
    ctx: InvestigationContext, source: PostgresSource, first: Snapshot | None
) -> list[Finding]:
    """Every analysis of one server; ``first`` is a snapshot taken earlier (None: take one now)."""
    failed: list[str] = []
    findings: list[Finding] = []
    workload = _guard(ctx, source, lambda: source.statements(first), failed)
    if workload is not None:
        findings.extend(
            slow_statement_findings(source, workload, problem=lambda m: ctx.problem(source.name, m))
        )
    backends = _guard(ctx, source, source.activity, failed)
    now = datetime.now(UTC)
    chains: list[BlockingChain] = []
    if backends is not None:
        chains = _guard(ctx, source, lambda: source.blocking(backends), failed) or []
        findings.extend(blocking_findings(source, chains, now))
        findings.extend(_lingering_findings(source, backends, chains, now))
        usage = _guard(ctx, source, lambda: source.connections(backends), failed)
        if usage is not None:
            finding = connection_finding(source, usage, now)
            if finding is not None:
                findings.append(finding)
    lags = _guard(ctx, source, source.replication, failed)
    if lags:
        finding = replication_finding(source, lags, now)
        if finding is not None:
            findings.append(finding)
    for sql in source.queries:
        ctx.audit("source.query", source=source.name, what="postgres statistics", query=sql)
    source.queries.clear()
    return findings
