"""The postgres source and the performance investigator against a real PostgreSQL server.

The server comes from ``tests/pg_server.py`` (one per session). Each case builds its workload as
the unprivileged ``app`` role, runs the investigator with a superuser ``postgres`` source, and
checks the finding and its evidence:

1. a sequential scan made slow by a missing index (300k rows, filtered on an unindexed column);
2. a row lock held by a session left ``idle in transaction``, with two sessions waiting behind it;
3. connections exhausted: every ordinary slot taken, the superuser source still gets in.

The cases run in that order in one database; each cleans up what it opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import incident_flow_performance
import psycopg
import pytest
from incident_flow_performance import investigate_performance
from pg_server import APP_ROLE, MAX_CONNECTIONS, SUPERUSER_RESERVED, PostgresServer, postgres_server  # noqa: F401

from incident_flow import Category, Finding
from incident_flow.api import run_incident
from incident_flow.sources import SourceError
from incident_flow.sources.postgres import MARKER, PostgresSource
from incident_flow.testing import make_context

pytestmark = pytest.mark.integration
DATABASE = "shop"


@pytest.fixture(scope="module")
def shop(postgres_server: PostgresServer) -> Iterator[PostgresServer]:  # noqa: F811
    """The ``shop`` database: 300k orders (no index on customer_ref) and a few accounts."""
    postgres_server.create_database(DATABASE)
    with postgres_server.connect(user=APP_ROLE, dbname=DATABASE) as conn:
        conn.execute(
            "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_ref int NOT NULL, "
            "total numeric(10, 2) NOT NULL, note text)"
        )
        conn.execute(
            "INSERT INTO orders (customer_ref, total, note) SELECT (random() * 100000)::int, "
            "(random() * 500)::numeric(10, 2), md5(g::text) FROM generate_series(1, 300000) g"
        )
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
        conn.execute("INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g")
        conn.execute("ANALYZE")
    yield postgres_server


def source(server: PostgresServer, **options: Any) -> PostgresSource:
    options.setdefault("snapshot_interval", 0.0)
    return PostgresSource("db", server.dsn(dbname=DATABASE), component="shop-db", **options)


def investigate(db: PostgresSource) -> tuple[list[Finding], list[dict[str, Any]]]:
    audit: list[dict[str, Any]] = []
    ctx = make_context(detected_at=datetime.now(UTC), sources=[db], audit=audit).for_investigator(
        "performance"
    )
    try:
        return investigate_performance(ctx), audit
    finally:
        db.close()


def _wait_for(server: PostgresServer, sql: str, expected: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with server.connect(dbname=DATABASE) as conn:
        while True:
            row = conn.execute(sql).fetchone()
            if row is not None and row[0] >= expected:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {sql!r} to reach {expected}")
            time.sleep(0.05)


# -- the source itself -------------------------------------------------------------------------------


def test_the_source_is_read_only_and_reports_the_server(shop: PostgresServer) -> None:
    db = source(shop)
    try:
        info = db.server()
        assert info.read_only and info.database == DATABASE and not info.in_recovery
        assert info.max_connections == MAX_CONNECTIONS and info.superuser_reserved == SUPERUSER_RESERVED
        assert db.replication() == []  # a primary without replicas
        assert all(q.startswith("SELECT") for q in db.queries)
        # Even a superuser's session refuses to write: default_transaction_read_only is on.
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            db._conn.execute("CREATE TABLE should_not_exist (x int)")
    finally:
        db.close()


def test_a_missing_extension_is_a_warning_not_a_failure(shop: PostgresServer) -> None:
    with shop.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS bare WITH (FORCE)")
        conn.execute("CREATE DATABASE bare")
    db = PostgresSource("bare", shop.dsn(dbname="bare"))
    try:
        snapshot = db.snapshot()
        assert not snapshot.available
        assert snapshot.reason is not None and "CREATE EXTENSION pg_stat_statements" in snapshot.reason
        assert db.warnings == [snapshot.reason]
    finally:
        db.close()


def test_a_locked_catalog_is_reported_as_a_slow_database(shop: PostgresServer) -> None:
    db = source(shop, statement_timeout=0.5)
    db.server()  # connected before the catalog is locked
    with shop.connect(dbname=DATABASE) as locker:
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE pg_catalog.pg_namespace IN ACCESS EXCLUSIVE MODE")
        try:
            started = time.monotonic()
            with pytest.raises(SourceError) as caught:
                db.tables()
            assert time.monotonic() - started < 5
        finally:
            locker.execute("ROLLBACK")
            db.close()
    message = str(caught.value)
    assert "did not finish within statement_timeout 0.5s" in message and "\n" not in message


def test_a_slow_database_is_reported_and_the_investigation_goes_on(shop: PostgresServer) -> None:
    db = source(shop, statement_timeout=0.5)
    db.server()  # the session exists; its statistics queries will now wait on the catalog lock
    audit: list[dict[str, Any]] = []
    ctx = make_context(detected_at=datetime.now(UTC), sources=[db], audit=audit).for_investigator(
        "performance"
    )
    with shop.connect(dbname=DATABASE) as locker:
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE pg_catalog.pg_namespace IN ACCESS EXCLUSIVE MODE")
        try:
            started = time.monotonic()
            findings = investigate_performance(ctx)
            elapsed = time.monotonic() - started
        finally:
            locker.execute("ROLLBACK")
            db.close()
    assert elapsed < 20
    problems = [a["error"] for a in audit if a["kind"] == "source.problem"]
    assert problems and all("did not finish within statement_timeout 0.5s" in p for p in problems)
    # What does not need the locked catalog was still read: sessions, locks, connections.
    assert any("pg_stat_activity" in a.get("query", "") for a in audit if a["kind"] == "source.query")
    assert all(f.component == "shop-db" for f in findings)


# -- case 1: a sequential scan made slow by a missing index -----------------------------------------


def test_a_missing_index_is_found_with_the_statement_and_the_ddl(shop: PostgresServer) -> None:
    stop = threading.Event()

    def workload() -> None:
        with shop.connect(user=APP_ROLE, dbname=DATABASE, application_name="orders-api") as conn:
            n = 0
            while not stop.is_set():
                n += 1
                conn.execute("SELECT id, total FROM orders WHERE customer_ref = %s", (n % 1000,)).fetchall()
                conn.execute("SELECT total FROM orders WHERE id = %s", (n,)).fetchall()

    thread = threading.Thread(target=workload, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)  # a cumulative "before" for the statement
        findings, audit = investigate(source(shop, snapshot_interval=1.5, slow_query_ms=5))
    finally:
        stop.set()
        thread.join(timeout=10)

    slow = [f for f in findings if f.title.startswith("slow query")]
    assert slow, [f.title for f in findings]
    finding = slow[0]
    assert finding.title == "slow query: sequential scans on public.orders, no index on customer_ref"
    assert finding.component == "shop-db" and finding.category is Category.PERFORMANCE
    statement, table = finding.evidence[0], finding.evidence[1]
    assert statement.lines == ("SELECT id, total FROM orders WHERE customer_ref = $1",)
    figures = statement.figures
    assert figures["mean_ms_now"] >= 5 and figures["mean_ms_before"] >= 5
    assert figures["calls_interval"] >= 3 and figures["role"] == APP_ROLE
    assert figures["share_of_db_time"] > 0.5
    assert finding.indicator == f"pg_stat_statements queryid {figures['queryid']}"
    assert table.figures["table"] == "public.orders"
    assert table.figures["n_live_tup"] >= 290_000 and table.figures["seq_scan"] >= 3
    assert table.figures["rows_read_per_call"] >= 75_000  # table statistics lag by up to a second
    index = finding.mitigations[0]
    assert index.command is not None and index.requires_approval and index.risk == "medium"
    assert (
        index.command[-1]
        == "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_ref_idx ON public.orders (customer_ref);"
    )
    assert index.command[0] == "psql" and "password" not in index.command[1]
    # The primary-key lookup is fast and is not reported.
    assert not any("WHERE id = $1" in line for f in slow for e in f.evidence for line in e.lines)
    # Every query the source ran is in the audit trail, and each one only reads.
    queries = [a["query"] for a in audit if a["kind"] == "source.query" and "query" in a]
    assert queries and all(q.startswith("SELECT") for q in queries)


# -- case 2: a lock held by an idle transaction ------------------------------------------------------


def test_a_lock_held_by_an_idle_transaction_is_found_with_the_blocker_and_its_waiters(
    shop: PostgresServer,
) -> None:
    holder = shop.connect(user=APP_ROLE, dbname=DATABASE, application_name="billing-worker")
    holder.execute("BEGIN")
    holder.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 1")  # then idle, in its transaction
    holder_pid = holder.info.backend_pid
    waiters = [shop.connect(user=APP_ROLE, dbname=DATABASE, application_name="checkout") for _ in range(2)]
    waiter_pids = sorted(c.info.backend_pid for c in waiters)
    threads = [
        threading.Thread(
            target=lambda c=conn: c.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 1"),
            daemon=True,
        )
        for conn in waiters
    ]
    try:
        for thread in threads:
            thread.start()
        _wait_for(shop, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'", 2)
        time.sleep(0.5)
        findings, _ = investigate(source(shop))
    finally:
        holder.execute("ROLLBACK")
        for thread in threads:
            thread.join(timeout=10)
        for conn in [holder, *waiters]:
            conn.close()

    pid = holder_pid
    locks = [f for f in findings if f.title.startswith("lock contention")]
    assert len(locks) == 1, [f.title for f in findings]
    finding = locks[0]
    assert finding.title.startswith(f"lock contention: pid {pid} (idle in transaction for")
    assert finding.title.endswith("blocks 2 session(s)")
    blocker, waiting = finding.evidence
    assert blocker.figures["blocker_pid"] == pid
    assert blocker.figures["blocker_state"] == "idle in transaction"
    assert blocker.figures["blocker_application"] == "billing-worker"
    assert blocker.figures["blocker_xact_age_s"] >= 0.5
    assert "RowExclusiveLock on accounts" in blocker.figures["held_locks"]
    assert sorted(blocker.figures["waiting_pids"]) == waiter_pids
    assert blocker.lines == (
        f"pid {pid} (idle in transaction): UPDATE accounts SET balance = balance - 1 WHERE id = 1",
    )
    assert waiting.figures["waiting"] == 2 and waiting.figures["longest_wait_s"] >= 0.5
    assert all("UPDATE accounts SET balance = balance + 1 WHERE id = 1" in line for line in waiting.lines)
    terminate = finding.mitigations[0]
    assert terminate.command is not None and terminate.command[-1] == f"SELECT pg_terminate_backend({pid})"
    assert terminate.requires_approval and terminate.risk == "medium" and terminate.kind == "immediate"
    assert any("idle_in_transaction_session_timeout" in m.action for m in finding.mitigations)
    assert finding.onset is not None


# -- case 3: connections exhausted -------------------------------------------------------------------


def test_exhausted_connections_are_found_while_the_superuser_source_still_connects(
    shop: PostgresServer,
) -> None:
    opened: list[psycopg.Connection[Any]] = []
    refused = None
    try:
        for _ in range(MAX_CONNECTIONS + 5):
            try:
                opened.append(shop.connect(user=APP_ROLE, dbname=DATABASE, application_name="orders-api"))
            except psycopg.OperationalError as exc:
                refused = str(exc)
                break
        assert refused is not None and "reserved" in refused
        findings, _ = investigate(source(shop))
    finally:
        for conn in opened:
            conn.close()

    exhausted = [f for f in findings if f.title.startswith("connection exhaustion")]
    assert len(exhausted) == 1, [f.title for f in findings]
    finding = exhausted[0]
    figures = finding.evidence[0].figures
    ordinary = MAX_CONNECTIONS - SUPERUSER_RESERVED
    assert figures["max_connections"] == MAX_CONNECTIONS and figures["ordinary_limit"] == ordinary
    assert figures["connections"] >= ordinary
    assert figures["by_application"]["orders-api"] == len(opened)
    assert figures["by_user"][APP_ROLE] == len(opened)
    assert figures["by_state"]["idle"] >= len(opened)
    assert figures["refused"] and figures["superuser_connections"] >= 1
    in_use = figures["connections"]
    assert (
        finding.title
        == f"connection exhaustion: {in_use} of 20 connections in use, new ordinary logins refused"
    )
    assert finding.severity is not None and finding.severity.value == "critical"
    actions = " | ".join(m.action for m in finding.mitigations)
    assert (
        "PgBouncer" in actions and "pool size of orders-api" in actions and "Terminate connections" in actions
    )
    terminate = finding.mitigations[0]
    assert terminate.command is not None and "pg_terminate_backend" in terminate.command[-1]


# -- end to end --------------------------------------------------------------------------------------


def test_a_run_with_a_postgres_source_reports_the_lock_and_its_mitigation(
    shop: PostgresServer, tmp_path: Any
) -> None:
    from test_performance import performance_plugins

    holder = shop.connect(user=APP_ROLE, dbname=DATABASE, application_name="billing-worker")
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM accounts WHERE id = 2 FOR UPDATE")
    pid = holder.info.backend_pid
    waiter = shop.connect(user=APP_ROLE, dbname=DATABASE, application_name="checkout")
    thread = threading.Thread(
        target=lambda: waiter.execute("UPDATE accounts SET balance = 0 WHERE id = 2"), daemon=True
    )
    config = tmp_path / "incident-flow.toml"
    config.write_text(
        f"""
[[sources]]
name = "db"
type = "postgres"
dsn = "{shop.dsn(dbname=DATABASE)}"
component = "shop-db"
snapshot_interval = 0
""",
        encoding="utf-8",
    )
    try:
        thread.start()
        _wait_for(shop, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'", 1)
        time.sleep(0.5)
        report = run_incident(
            "Checkout hangs", config=config, plugins=performance_plugins(), only=["performance"]
        )
    finally:
        holder.execute("ROLLBACK")
        thread.join(timeout=10)
        holder.close()
        waiter.close()
    assert report.root_causes[0].component == "shop-db"
    assert report.root_causes[0].category is Category.PERFORMANCE
    commands = [m.command for m in report.mitigations if m.command]
    assert any(c[-1] == f"SELECT pg_terminate_backend({pid})" for c in commands)
    assert MARKER not in report.to_markdown()
    assert incident_flow_performance.INVESTIGATOR in {r.name for r in report.investigators}
