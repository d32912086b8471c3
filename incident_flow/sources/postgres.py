"""The ``postgres`` source type: what a PostgreSQL server says about its own load, read-only.

The seed's Performance Analysis asks for "database query performance" and "resource contention".
PostgreSQL keeps both in its statistics views, so this source reads them and nothing else:

- ``pg_stat_statements``: cumulative per-statement counters (calls, time, rows). Two snapshots a few
  seconds apart (:meth:`PostgresSource.statements`) give what is happening *now*, which the
  cumulative view alone cannot: a statement that became slow an hour ago is drowned by a month of
  fast calls. ``pg_stat_user_tables`` comes with each snapshot (sequential scans per table).
- ``pg_stat_activity``: every backend, its state and its age (long-running, waiting, idle in
  transaction); :meth:`~PostgresSource.blocking` turns ``pg_blocking_pids()`` into chains (who
  holds the lock, who waits behind it) with the lock from ``pg_locks``.
- connections against ``max_connections``, and replication lag where there is a replica.

**Read-only.** Every session is opened with ``autocommit``, ``default_transaction_read_only = on``,
a ``statement_timeout`` and a ``lock_timeout``; the source only ever runs ``SELECT`` (the SQL it
ran is kept in :attr:`PostgresSource.queries` for the audit trail). Nothing here writes to the
database, cancels a backend or creates an index: those are mitigations, proposed for approval.

**Failures are one line.** An unreachable server, a refused login, a missing extension or a query
slower than ``statement_timeout`` raises :class:`~incident_flow.sources.SourceError` naming the
source, the server (never the password) and the fix; the caller records it and goes on.

It is best used by a superuser (or a role with ``pg_monitor``): only they see other roles' queries,
and a superuser can still connect when the ordinary connection slots are exhausted, which is
exactly when it is needed (``superuser_reserved_connections``).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from incident_flow.sources import Option, Source, SourceError, SourceSpec, SourceType

__all__ = [
    "DEFAULTS",
    "MARKER",
    "POSTGRES_SOURCE_TYPE",
    "Backend",
    "BlockingChain",
    "ConnectionUsage",
    "IndexInfo",
    "PostgresSource",
    "ReplicaLag",
    "ServerInfo",
    "Snapshot",
    "StatementActivity",
    "StatementStats",
    "TableActivity",
    "TableStats",
    "Workload",
    "compare_snapshots",
    "conninfo_without_password",
    "create_postgres_source",
    "redact_dsn",
]

#: The defaults of the options that are durations or thresholds (documented in docs/performance.md).
DEFAULTS: Mapping[str, float] = {
    "connect_timeout": 5.0,
    "statement_timeout": 5.0,
    "snapshot_interval": 3.0,
    "slow_query_ms": 200.0,
    "long_query_s": 30.0,
    "idle_in_transaction_s": 30.0,
    "max_incident_age": 3600.0,
}

APPLICATION_NAME = "incident-flow"
#: Every query the source sends starts with this comment, so its own statements can be told apart
#: in ``pg_stat_statements`` (which keeps the text of the first call) and in ``pg_stat_activity``.
MARKER = "/* incident-flow */"
_MAX_QUERY = 2000
_MAX_STATEMENTS = 2000


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _dsn_params(dsn: str) -> dict[str, str]:
    """The dsn's parameters: with psycopg's parser when it is installed, else a small one of our own."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        return _parse_dsn(dsn)
    return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}


def _parse_dsn(dsn: str) -> dict[str, str]:
    text = dsn.strip()
    if text.startswith(("postgresql://", "postgres://")):
        url = urllib.parse.urlsplit(text)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        params.update(
            {
                k: v
                for k, v in {
                    "host": url.hostname,
                    "port": str(url.port) if url.port else None,
                    "user": urllib.parse.unquote(url.username) if url.username else None,
                    "password": urllib.parse.unquote(url.password) if url.password else None,
                    "dbname": url.path.lstrip("/") or None,
                }.items()
                if v
            }
        )
        return params
    return {m[0]: m[1].strip("'") for m in re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", text)}


def redact_dsn(dsn: str) -> str:
    """``user@host:port/dbname``, without the password: what messages may show."""
    try:
        params = _dsn_params(dsn)
    except Exception:
        return "(unparsable dsn)"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    db = params.get("dbname") or params.get("user") or ""
    user = params.get("user")
    who = f"{user}@" if user else ""
    return f"{who}{host}:{port}/{db}"


def conninfo_without_password(dsn: str) -> str:
    """The dsn as ``key=value`` pairs without ``password`` and ``options``: safe to show and log."""
    try:
        params = _dsn_params(dsn)
    except Exception:
        return redact_dsn(dsn)
    for key in ("password", "options", "passfile"):
        params.pop(key, None)

    def quoted(value: str) -> str:
        if value and not re.search(r"[\s'\\]", value):
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quoted(value)}" for key, value in params.items())


# -- values ------------------------------------------------------------------------------------------


@attrs.frozen
class ServerInfo:
    """The server this source talks to and the limits that matter during an incident."""

    version: str
    version_num: int
    database: str
    in_recovery: bool
    max_connections: int
    superuser_reserved: int
    reserved: int
    now: datetime
    read_only: bool


@attrs.frozen
class StatementStats:
    """One ``pg_stat_statements`` row (cumulative since the last reset); times in milliseconds."""

    queryid: int
    role: str
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    shared_blks_hit: int
    shared_blks_read: int


@attrs.frozen
class TableStats:
    """One ``pg_stat_user_tables`` row: how the table was read."""

    relid: int
    schema: str
    table: str
    seq_scan: int
    seq_tup_read: int
    idx_scan: int | None
    n_live_tup: int

    @property
    def qualified(self) -> str:
        return f"{_ident(self.schema)}.{_ident(self.table)}"


def _ident(name: str) -> str:
    """A SQL identifier, quoted only when it must be (for DDL a reviewer reads)."""
    if name.isidentifier() and name == name.lower() and name.isascii():
        return name
    return '"' + name.replace('"', '""') + '"'


@attrs.frozen
class Snapshot:
    """``pg_stat_statements`` and ``pg_stat_user_tables`` at one moment.

    ``available`` is False (with ``reason``) when ``pg_stat_statements`` cannot be read; the table
    statistics are still there.
    """

    at: datetime
    monotonic: float
    statements: Mapping[tuple[int, str], StatementStats]
    tables: Mapping[int, TableStats]
    available: bool = True
    reason: str | None = None


@attrs.frozen
class StatementActivity:
    """A statement over the interval between two snapshots, and its cumulative figures before it.

    ``mean_ms_now`` is the mean over the interval (None when it was not called then);
    ``mean_ms_before`` the cumulative mean at the first snapshot (None when it was not yet there).
    """

    stats: StatementStats
    calls: int
    total_ms: float
    rows: int
    interval_s: float
    before: StatementStats | None

    @property
    def mean_ms_now(self) -> float | None:
        return self.total_ms / self.calls if self.calls else None

    @property
    def mean_ms_before(self) -> float | None:
        return self.before.mean_ms if self.before is not None and self.before.calls else None

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.interval_s if self.interval_s > 0 else 0.0

    @property
    def load(self) -> float:
        """Milliseconds of execution per second of wall time: the share of a core it keeps busy."""
        return self.total_ms / self.interval_s if self.interval_s > 0 else 0.0


@attrs.frozen
class TableActivity:
    """A table's scans over the interval, with its latest cumulative figures."""

    stats: TableStats
    seq_scan: int
    seq_tup_read: int
    idx_scan: int


@attrs.frozen
class Workload:
    """What two snapshots say: statements and tables ordered by the time they took in between.

    With no interval (a single snapshot) the deltas are zero and the ordering is cumulative.
    """

    first: Snapshot
    second: Snapshot
    statements: tuple[StatementActivity, ...]
    tables: tuple[TableActivity, ...]

    @property
    def interval_s(self) -> float:
        return max(self.second.monotonic - self.first.monotonic, 0.0)

    @property
    def available(self) -> bool:
        return self.second.available

    @property
    def reason(self) -> str | None:
        return self.second.reason


@attrs.frozen
class Backend:
    """One ``pg_stat_activity`` row; ages are seconds (None when the timestamp is null)."""

    pid: int
    database: str | None
    user: str | None
    application: str
    client: str | None
    backend_type: str
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    xact_start: datetime | None
    query_start: datetime | None
    state_change: datetime | None
    xact_age_s: float | None
    query_age_s: float | None
    state_age_s: float | None
    query: str
    blocked_by: tuple[int, ...] = ()
    superuser: bool = False

    @property
    def waiting_on_lock(self) -> bool:
        return self.wait_event_type == "Lock"


@attrs.frozen
class BlockingChain:
    """A backend that holds what others wait for, and everyone waiting behind it (directly or not).

    ``lock`` describes what the first direct waiter waits for: ``{locktype, mode, relation}``;
    ``held`` the table locks the blocker holds (``RowExclusiveLock on accounts``): a row lock waits
    on the blocker's transaction id, so the tables it touched say where the contention is.
    """

    blocker: Backend
    waiting: tuple[Backend, ...]
    lock: Mapping[str, str | None] = attrs.field(factory=dict)
    held: tuple[str, ...] = ()

    @property
    def longest_wait_s(self) -> float:
        return max((w.query_age_s or 0.0 for w in self.waiting), default=0.0)


@attrs.frozen
class ConnectionUsage:
    """Client connections against ``max_connections``, broken down the ways one fixes them."""

    total: int
    max_connections: int
    superuser_reserved: int
    reserved: int
    superusers: int
    by_state: Mapping[str, int]
    by_application: Mapping[str, int]
    by_client: Mapping[str, int]
    by_user: Mapping[str, int]
    by_database: Mapping[str, int]

    @property
    def ordinary_limit(self) -> int:
        """Connections available to ordinary roles (the rest are reserved for superusers)."""
        return max(self.max_connections - self.superuser_reserved - self.reserved, 0)

    @property
    def refused(self) -> bool:
        """Whether a new login by an ordinary role is refused now."""
        return self.total >= self.ordinary_limit

    @property
    def usage(self) -> float:
        """Client connections over the ordinary limit (1.0: a new ordinary login is refused)."""
        return self.total / self.ordinary_limit if self.ordinary_limit else 1.0


@attrs.frozen
class ReplicaLag:
    """One replica's lag, seen from the primary, or this server's own lag when it is a replica."""

    name: str
    client: str | None
    state: str | None
    replay_lag_s: float | None
    replay_bytes: int | None
    on_replica: bool = False


@attrs.frozen
class IndexInfo:
    """An index of a table: its name, first key column (None for an expression) and definition."""

    name: str
    first_column: str | None
    valid: bool
    definition: str


# -- SQL ---------------------------------------------------------------------------------------------

_SERVER = """
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num')::int AS version_num,
       current_database() AS database,
       pg_is_in_recovery() AS in_recovery,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
       now() AS now,
       current_setting('transaction_read_only') = 'on' AS read_only
"""

_STATEMENTS = """
SELECT s.queryid, s.userid::regrole::text AS role, left(s.query, {max_query}) AS query, s.calls,
       s.{total} AS total_ms, s.{mean} AS mean_ms, s.{max} AS max_ms, s.rows,
       s.shared_blks_hit, s.shared_blks_read
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.queryid IS NOT NULL
ORDER BY s.{total} DESC
LIMIT {limit}
"""

_TABLES = """
SELECT relid::bigint AS relid, schemaname AS schema, relname AS table, seq_scan, seq_tup_read,
       idx_scan, n_live_tup
FROM pg_stat_user_tables
ORDER BY seq_tup_read DESC
LIMIT 500
"""

_ACTIVITY = """
SELECT a.pid, a.datname AS database, a.usename AS "user", a.application_name AS application,
       host(a.client_addr) AS client, a.backend_type, a.state, a.wait_event_type, a.wait_event,
       a.xact_start, a.query_start, a.state_change,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - a.query_start)::float8 AS query_age_s,
       extract(epoch FROM now() - a.state_change)::float8 AS state_age_s,
       left(a.query, {max_query}) AS query,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) ELSE '{{}}'::int[] END AS blocked_by,
       coalesce(r.rolsuper, false) AS superuser
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.pid <> pg_backend_pid()
ORDER BY a.pid
"""

_WAITING_LOCKS = """
SELECT l.pid, l.locktype, l.mode, l.relation::regclass::text AS relation,
       l.transactionid::text AS transactionid
FROM pg_locks l
WHERE NOT l.granted
"""

_HELD_LOCKS = """
SELECT l.pid, l.mode, l.relation::regclass::text AS relation
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
WHERE l.granted AND l.locktype = 'relation' AND l.pid = ANY(%s)
  AND c.relnamespace <> 'pg_catalog'::regnamespace
ORDER BY l.pid, 3
"""

_REPLICAS = """
SELECT application_name AS name, host(client_addr) AS client, state,
       extract(epoch FROM replay_lag)::float8 AS replay_lag_s,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_bytes
FROM pg_stat_replication
ORDER BY application_name
"""

_OWN_LAG = """
SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replay_lag_s,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS replay_bytes
"""

_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, a.attname AS first_column, i.indisvalid AS valid,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] AND i.indkey[0] <> 0
WHERE i.indrelid = %s::oid
ORDER BY 1
"""

_COLUMNS = """
SELECT attname FROM pg_attribute
WHERE attrelid = %s::oid AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""


class PostgresSource(Source):
    """A PostgreSQL server's statistics, read through one read-only session opened on first use.

    Methods may be called from an investigator's thread; a lock serialises them. A failure raises
    :class:`SourceError` with one line; the session is dropped, so the next call tries again.
    """

    def __init__(
        self,
        name: str,
        dsn: str,
        *,
        component: str | None = None,
        connect_timeout: float = DEFAULTS["connect_timeout"],
        statement_timeout: float = DEFAULTS["statement_timeout"],
        snapshot_interval: float = DEFAULTS["snapshot_interval"],
        slow_query_ms: float = DEFAULTS["slow_query_ms"],
        long_query_s: float = DEFAULTS["long_query_s"],
        idle_in_transaction_s: float = DEFAULTS["idle_in_transaction_s"],
        max_incident_age: float = DEFAULTS["max_incident_age"],
    ) -> None:
        super().__init__(name)
        self.dsn = dsn
        self.component = component or name
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.snapshot_interval = snapshot_interval
        self.slow_query_ms = slow_query_ms
        self.long_query_s = long_query_s
        self.idle_in_transaction_s = idle_in_transaction_s
        self.max_incident_age = max_incident_age
        #: Every SQL text this source ran, in order: the audit trail records them.
        self.queries: list[str] = []
        self._conn: Any = None
        self._lock = threading.RLock()
        self._server: ServerInfo | None = None

    def describe(self) -> str:
        return f"postgres {self.name}: {redact_dsn(self.dsn)} (read-only)"

    # -- the session -----------------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
            from psycopg.rows import dict_row
        except ImportError:  # pragma: no cover - psycopg is a dependency of the postgres extra
            raise SourceError(
                f"postgres source {self.name!r}: psycopg 3 is not installed: "
                "pip install 'incident-flow[postgres]' (or 'psycopg[binary]')"
            ) from None
        try:
            params = conninfo_to_dict(self.dsn)
        except psycopg.ProgrammingError as exc:
            raise SourceError(f"postgres source {self.name!r}: invalid dsn: {_one_line(str(exc))}") from None
        # Read-only whatever the role may do; bounded in time whatever the server does.
        settings = (
            "-c default_transaction_read_only=on "
            f"-c statement_timeout={max(int(self.statement_timeout * 1000), 1)} "
            f"-c lock_timeout={max(int(self.statement_timeout * 1000), 1)} "
            "-c idle_in_transaction_session_timeout=60000"
        )
        options = f"{params.get('options') or ''} {settings}".strip()
        params.update(
            options=options,
            application_name=APPLICATION_NAME,
            connect_timeout=max(round(self.connect_timeout), 1),
        )
        try:
            return psycopg.connect(autocommit=True, row_factory=dict_row, **params)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise SourceError(self._message(exc, "connecting")) from None

    def _message(self, exc: BaseException, what: str) -> str:
        import psycopg
        from psycopg import errors

        where = f"postgres source {self.name!r} ({redact_dsn(self.dsn)})"
        detail = _one_line(str(exc)) or type(exc).__name__
        if isinstance(exc, errors.QueryCanceled | errors.LockNotAvailable):
            return (
                f"{where}: {what} did not finish within statement_timeout {self.statement_timeout:g}s: "
                "the database is slow or locked; see its own monitoring or raise statement_timeout"
            )
        if isinstance(exc, errors.InsufficientPrivilege):
            return f"{where}: {what}: {detail}: connect as a superuser or a role granted pg_monitor"
        if isinstance(exc, psycopg.OperationalError) and what == "connecting":
            return f"{where}: cannot connect: {detail}: check the dsn and that the server is up and reachable"
        if isinstance(exc, psycopg.OperationalError):
            return f"{where}: the connection failed while {what}: {detail}"
        return f"{where}: {what} failed: {type(exc).__name__}: {detail}"

    def _run(
        self, sql: str, params: Sequence[Any] = (), *, what: str, missing_ok: bool = False
    ) -> list[dict[str, Any]] | None:
        """Run one read-only query and return its rows; any failure becomes a one-line SourceError.

        With ``missing_ok``, a missing relation, function or extension returns None instead.
        """
        import psycopg
        from psycopg import errors

        text = " ".join(sql.split())
        if not text.upper().startswith("SELECT"):
            raise AssertionError(f"the postgres source only reads; refused to run: {text[:60]}")
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            self.queries.append(text)
            try:
                with self._conn.cursor() as cursor:
                    cursor.execute(f"{MARKER} {sql.strip()}", params or None)
                    rows: list[dict[str, Any]] = cursor.fetchall()
                    return rows
            except psycopg.Error as exc:
                if isinstance(exc, psycopg.OperationalError) or self._conn.broken:
                    self._drop()
                missing = (
                    errors.UndefinedTable,
                    errors.UndefinedFunction,
                    errors.ObjectNotInPrerequisiteState,
                )
                if missing_ok and isinstance(exc, missing):
                    return None
                raise SourceError(self._message(exc, what)) from None

    def _rows(self, sql: str, params: Sequence[Any] = (), *, what: str) -> list[dict[str, Any]]:
        return self._run(sql, params, what=what) or []

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing a broken session must not hide why it broke.
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def psql_command(self, sql: str) -> tuple[str, ...]:
        """The ``psql`` command a person would run to execute ``sql`` on this server.

        For mitigations: an argument list, never run by the source, without the password (psql
        takes it from ``~/.pgpass`` or ``PGPASSWORD``).
        """
        return ("psql", conninfo_without_password(self.dsn), "-v", "ON_ERROR_STOP=1", "-c", sql)

    # -- what it offers --------------------------------------------------------------------------

    def server(self) -> ServerInfo:
        """The server's version, database, role (primary or replica) and connection limits."""
        row = self._rows(_SERVER, what="reading the server settings")[0]
        info = ServerInfo(**row)
        self._server = info
        return info

    def _info(self) -> ServerInfo:
        return self._server or self.server()

    def snapshot(self) -> Snapshot:
        """``pg_stat_statements`` (this database's statements) and table scan counters, now.

        When ``pg_stat_statements`` is missing (not preloaded, or no ``CREATE EXTENSION`` in this
        database) the snapshot says so in ``reason``, records a warning, and still has the tables.
        """
        info = self._info()
        modern = info.version_num >= 130000
        sql = _STATEMENTS.format(
            max_query=_MAX_QUERY,
            limit=_MAX_STATEMENTS,
            total="total_exec_time" if modern else "total_time",
            mean="mean_exec_time" if modern else "mean_time",
            max="max_exec_time" if modern else "max_time",
        )
        statements: dict[tuple[int, str], StatementStats] = {}
        available, reason = True, None
        started = time.monotonic()
        rows = self._run(sql, what="reading pg_stat_statements", missing_ok=True)
        if rows is None:
            available = False
            reason = (
                f"pg_stat_statements is not available in database {info.database}: add it to "
                "shared_preload_libraries and run CREATE EXTENSION pg_stat_statements"
            )
            self.warn(reason)
            rows = []
        for row in rows:
            stats = StatementStats(
                queryid=int(row["queryid"]),
                role=str(row["role"]),
                query=str(row["query"]),
                calls=int(row["calls"]),
                total_ms=float(row["total_ms"]),
                mean_ms=float(row["mean_ms"]),
                max_ms=float(row["max_ms"]),
                rows=int(row["rows"]),
                shared_blks_hit=int(row["shared_blks_hit"]),
                shared_blks_read=int(row["shared_blks_read"]),
            )
            statements[(stats.queryid, stats.role)] = stats
        tables = {
            int(r["relid"]): TableStats(**r) for r in self._rows(_TABLES, what="reading pg_stat_user_tables")
        }
        return Snapshot(
            at=info.now,
            monotonic=started,
            statements=statements,
            tables=tables,
            available=available,
            reason=reason,
        )

    def statements(self, first: Snapshot | None = None, *, interval: float | None = None) -> Workload:
        """Statements and tables by the time they took over an interval (two snapshots).

        ``first`` is an earlier :meth:`snapshot` (so the caller can do other work meanwhile);
        without it one is taken now. The second is taken once ``interval`` seconds (default: the
        ``snapshot_interval`` option) have passed since the first. With an interval of 0 there is
        one snapshot and the figures are cumulative.
        """
        wait = self.snapshot_interval if interval is None else interval
        first = first or self.snapshot()
        if wait <= 0:
            second = first
        else:
            remaining = wait - (time.monotonic() - first.monotonic)
            if remaining > 0:
                time.sleep(remaining)
            second = self.snapshot()
        return compare_snapshots(first, second)

    def tables(self) -> list[TableStats]:
        """Tables by rows read in sequential scans (cumulative)."""
        return sorted(self.snapshot().tables.values(), key=lambda t: -t.seq_tup_read)

    def activity(self) -> list[Backend]:
        """Every backend but this source's own, with its state, wait, ages and blockers."""
        rows = self._rows(_ACTIVITY.format(max_query=_MAX_QUERY), what="reading pg_stat_activity")
        out = []
        for row in rows:
            row["query"] = row["query"] or ""
            row["application"] = row["application"] or ""
            row["blocked_by"] = tuple(int(p) for p in row["blocked_by"] or ())
            out.append(Backend(**row))
        return out

    def blocking(self, backends: Sequence[Backend] | None = None) -> list[BlockingChain]:
        """Blocking chains: each backend that blocks others without being blocked, and its waiters.

        ``backends`` is an :meth:`activity` result to reuse (one consistent picture). Chains are
        ordered by how many wait, then by the longest wait. A deadlock cycle (no root) is left to
        PostgreSQL's deadlock detector, which resolves it within ``deadlock_timeout``.
        """
        backends = list(backends) if backends is not None else self.activity()
        by_pid = {b.pid: b for b in backends}
        waiting_on: dict[int, list[int]] = {}
        for backend in backends:
            for blocker in backend.blocked_by:
                waiting_on.setdefault(blocker, []).append(backend.pid)
        if not waiting_on:
            return []
        locks = {
            int(r["pid"]): r
            for r in self._rows(_WAITING_LOCKS, what="reading pg_locks")
            if r["pid"] is not None
        }
        roots = [pid for pid in waiting_on if not (by_pid.get(pid) and by_pid[pid].blocked_by)]
        held: dict[int, list[str]] = {}
        for row in self._rows(_HELD_LOCKS, (roots,), what="reading pg_locks"):
            held.setdefault(int(row["pid"]), []).append(f"{row['mode']} on {row['relation']}")
        chains = []
        for root in roots:
            holder = by_pid.get(root)
            if holder is None:
                continue  # gone since the snapshot, or not visible to this role
            seen: set[int] = set()
            queue = list(waiting_on[root])
            while queue:
                pid = queue.pop(0)
                if pid in seen or pid == root:
                    continue
                seen.add(pid)
                queue.extend(waiting_on.get(pid, ()))
            waiting = sorted((by_pid[p] for p in seen if p in by_pid), key=lambda b: -(b.query_age_s or 0.0))
            first = next((locks[p] for p in waiting_on[root] if p in locks), None)
            lock = (
                {k: (None if first[k] is None else str(first[k])) for k in ("locktype", "mode", "relation")}
                if first
                else {}
            )
            chains.append(
                BlockingChain(
                    blocker=holder, waiting=tuple(waiting), lock=lock, held=tuple(held.get(root, ()))
                )
            )
        return sorted(chains, key=lambda c: (-len(c.waiting), -c.longest_wait_s))

    def connections(self, backends: Sequence[Backend] | None = None) -> ConnectionUsage:
        """Client connections (this source's included) against ``max_connections``, with breakdowns.

        The breakdowns count the other sessions; ``total`` and ``superusers`` count this one too,
        since it takes a slot like any other (a reserved one, when it is a superuser).
        """
        info = self.server()
        backends = list(backends) if backends is not None else self.activity()
        clients = [b for b in backends if b.backend_type == "client backend"]
        total = len(clients) + 1  # this source's own session is a client connection too

        def count(values: Iterator[str]) -> dict[str, int]:
            return dict(Counter(values).most_common())

        return ConnectionUsage(
            total=total,
            superusers=sum(1 for b in clients if b.superuser) + 1,
            max_connections=info.max_connections,
            superuser_reserved=info.superuser_reserved,
            reserved=info.reserved,
            by_state=count(b.state or "unknown" for b in clients),
            by_application=count(b.application or "(none)" for b in clients),
            by_client=count(b.client or "local" for b in clients),
            by_user=count(b.user or "(none)" for b in clients),
            by_database=count(b.database or "(none)" for b in clients),
        )

    def replication(self) -> list[ReplicaLag]:
        """Each replica's replay lag (on a primary), or this server's own (on a replica)."""
        info = self._info()
        if info.in_recovery:
            row = self._rows(_OWN_LAG, what="reading the replay lag")[0]
            return [
                ReplicaLag(
                    name=info.database,
                    client=None,
                    state="replica",
                    replay_lag_s=row["replay_lag_s"],
                    replay_bytes=row["replay_bytes"],
                    on_replica=True,
                )
            ]
        return [ReplicaLag(**row) for row in self._rows(_REPLICAS, what="reading pg_stat_replication")]

    def indexes(self, relid: int) -> list[IndexInfo]:
        """The indexes of a table (by its oid, as :class:`TableStats` gives it)."""
        return [IndexInfo(**row) for row in self._rows(_INDEXES, (relid,), what="reading pg_index")]

    def columns(self, relid: int) -> list[str]:
        """The column names of a table (by its oid)."""
        return [str(r["attname"]) for r in self._rows(_COLUMNS, (relid,), what="reading pg_attribute")]


def compare_snapshots(first: Snapshot, second: Snapshot) -> Workload:
    """The change between two snapshots, statements and tables ordered by time taken in between.

    A statement whose counters went down was reset (``pg_stat_statements_reset()``) or evicted:
    its figures since the reset are the interval's.
    """
    interval = max(second.monotonic - first.monotonic, 0.0)
    statements = []
    for key, stats in second.statements.items():
        before = first.statements.get(key)
        if before is None or stats.calls < before.calls:
            calls, total, rows = (stats.calls, stats.total_ms, stats.rows) if interval > 0 else (0, 0.0, 0)
            before = None if before is None or stats.calls < before.calls else before
        else:
            calls, total, rows = (
                stats.calls - before.calls,
                stats.total_ms - before.total_ms,
                stats.rows - before.rows,
            )
        if interval <= 0:
            before = stats
        statements.append(
            StatementActivity(
                stats=stats, calls=calls, total_ms=total, rows=rows, interval_s=interval, before=before
            )
        )
    statements.sort(key=lambda s: (-s.total_ms, -s.stats.total_ms))
    tables = []
    for relid, table in second.tables.items():
        old = first.tables.get(relid)
        tables.append(
            TableActivity(
                stats=table,
                seq_scan=max(table.seq_scan - (old.seq_scan if old else 0), 0),
                seq_tup_read=max(table.seq_tup_read - (old.seq_tup_read if old else 0), 0),
                idx_scan=max((table.idx_scan or 0) - ((old.idx_scan or 0) if old else 0), 0),
            )
        )
    tables.sort(key=lambda t: (-t.seq_tup_read, -t.stats.seq_tup_read))
    return Workload(first=first, second=second, statements=tuple(statements), tables=tuple(tables))


def _seconds(value: timedelta | float | None, key: str) -> float:
    if value is None:
        return DEFAULTS[key]
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return seconds


def create_postgres_source(spec: SourceSpec) -> PostgresSource:
    """The factory for ``type = "postgres"``: validates the options; connects only when first used."""
    from incident_flow.config import ConfigError

    options = spec.options
    dsn = options.get("dsn")
    if not isinstance(dsn, str) or not dsn.strip():
        raise ConfigError(None, f"sources.{spec.name}.dsn", "a libpq connection string or postgresql:// URL")
    values = {}
    for key in DEFAULTS:
        value = _seconds(options.get(key), key)
        if value < 0 or (value == 0 and key not in ("snapshot_interval", "slow_query_ms")):
            raise ConfigError(None, f"sources.{spec.name}.{key}", f"a positive value (got {value:g})")
        values[key] = value
    component = options.get("component")
    return PostgresSource(
        spec.name, dsn, component=component if isinstance(component, str) else None, **values
    )


POSTGRES_SOURCE_TYPE = SourceType(
    name="postgres",
    factory=create_postgres_source,
    description="PostgreSQL statistics, read-only: pg_stat_statements, pg_stat_activity, locks, "
    "connections, replication",
    options={
        "dsn": Option(
            (str,),
            "a libpq connection string or postgresql:// URL (a superuser or pg_monitor role)",
            required=True,
        ),
        "component": Option(
            (str,), "the component the database's findings name (default: the source's name)"
        ),
        "connect_timeout": Option((timedelta,), "give up connecting after this long (default 5s)"),
        "statement_timeout": Option(
            (timedelta,), "cancel any of the source's queries after this long (default 5s)"
        ),
        "snapshot_interval": Option(
            (timedelta,), "time between the two pg_stat_statements snapshots (default 3s; 0: one snapshot)"
        ),
        "slow_query_ms": Option(
            (int, float), "a statement whose mean time is at least this is slow", default=200
        ),
        "long_query_s": Option(
            (int, float), "an active query running at least this long is reported", default=30
        ),
        "idle_in_transaction_s": Option(
            (int, float), "a session idle in a transaction at least this long is reported", default=30
        ),
        "max_incident_age": Option(
            (timedelta,), "query the server only if detection was at most this long ago (default 1h)"
        ),
    },
)
