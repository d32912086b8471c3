"""The postgres source without a server: options, what it shows of the dsn, snapshot arithmetic.

The cases against a real server are in ``test_postgres_server.py``; an unreachable and a hanging
server are in ``test_performance.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from incident_flow_performance.database import is_recent

from incident_flow.config import ConfigError, build_source_specs, parse_config
from incident_flow.sources.postgres import (
    DEFAULTS,
    POSTGRES_SOURCE_TYPE,
    ConnectionUsage,
    PostgresSource,
    Snapshot,
    StatementStats,
    TableStats,
    compare_snapshots,
    conninfo_without_password,
    redact_dsn,
)

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _build(**options: Any) -> PostgresSource:
    config = parse_config(
        {"sources": [{"name": "db", "type": "postgres", **options}]},
        path=None,
        source_types={"postgres": POSTGRES_SOURCE_TYPE},
    )
    (spec,) = build_source_specs(config)
    source = POSTGRES_SOURCE_TYPE.factory(spec)
    assert isinstance(source, PostgresSource)
    return source


def test_the_options_have_their_defaults_and_durations_read_as_seconds() -> None:
    source = _build(dsn="postgresql://incident@127.0.0.1/app")
    assert source.component == "db"
    assert source.connect_timeout == DEFAULTS["connect_timeout"] == 5.0
    assert source.snapshot_interval == 3.0 and source.slow_query_ms == 200.0
    assert source.max_incident_age == 3600.0
    tuned = _build(
        dsn="host=db dbname=app",
        component="orders-db",
        connect_timeout="2s",
        statement_timeout="1500ms",
        snapshot_interval=0,
        slow_query_ms=50,
        max_incident_age="2h",
    )
    assert tuned.component == "orders-db"
    assert (tuned.connect_timeout, tuned.statement_timeout, tuned.snapshot_interval) == (2.0, 1.5, 0.0)
    assert tuned.slow_query_ms == 50 and tuned.max_incident_age == 7200.0


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({}, "dsn"),
        ({"dsn": "host=x", "slow_query_ms": "fast"}, "slow_query_ms"),
        ({"dsn": "host=x", "connect_timeout": "-1s"}, "connect_timeout"),
        ({"dsn": "host=x", "statement_timeout": 0}, "statement_timeout"),
        ({"dsn": "host=x", "password": "nope"}, "password"),
    ],
)
def test_a_bad_option_is_a_config_error_naming_the_key(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _build(**options)
    assert key in str(caught.value) and "\n" not in str(caught.value)


def test_building_the_source_does_not_connect() -> None:
    source = _build(dsn="host=203.0.113.1 port=1 dbname=app")
    assert source.queries == [] and source.describe() == "postgres db: 203.0.113.1:1/app (read-only)"


def test_the_password_is_never_shown() -> None:
    dsn = "postgresql://app:s3cret@db.internal:6432/shop?sslmode=require&options=-c%20search_path%3Dx"
    assert redact_dsn(dsn) == "app@db.internal:6432/shop"
    assert "s3cret" not in conninfo_without_password(dsn) and "options" not in conninfo_without_password(dsn)
    command = PostgresSource("db", dsn).psql_command("SELECT pg_terminate_backend(42)")
    assert command[0] == "psql" and command[-2:] == ("-c", "SELECT pg_terminate_backend(42)")
    assert not any("s3cret" in part for part in command)
    assert redact_dsn("host=x password=p") == "x:5432/"


# -- snapshots ---------------------------------------------------------------------------------------


def _statement(queryid: int, calls: int, total_ms: float, rows: int = 0) -> StatementStats:
    return StatementStats(
        queryid=queryid,
        role="app",
        query=f"SELECT {queryid}",
        calls=calls,
        total_ms=total_ms,
        mean_ms=total_ms / calls if calls else 0.0,
        max_ms=total_ms,
        rows=rows,
        shared_blks_hit=0,
        shared_blks_read=0,
    )


def _snapshot(at: float, *statements: StatementStats, tables: tuple[TableStats, ...] = ()) -> Snapshot:
    return Snapshot(
        at=NOW + timedelta(seconds=at),
        monotonic=at,
        statements={(s.queryid, s.role): s for s in statements},
        tables={t.relid: t for t in tables},
    )


def _table(seq_scan: int, seq_tup_read: int) -> TableStats:
    return TableStats(
        relid=1,
        schema="public",
        table="orders",
        seq_scan=seq_scan,
        seq_tup_read=seq_tup_read,
        idx_scan=0,
        n_live_tup=1000,
    )


def test_two_snapshots_give_the_rates_now_and_the_mean_before() -> None:
    first = _snapshot(0, _statement(1, 1000, 2000.0), _statement(2, 10, 10.0), tables=(_table(5, 5000),))
    second = _snapshot(
        4,
        _statement(1, 1040, 2000.0 + 40 * 80.0),
        _statement(2, 12, 12.0),
        _statement(3, 3, 30.0),
        tables=(_table(45, 45000),),
    )
    workload = compare_snapshots(first, second)
    assert workload.interval_s == 4
    slow = workload.statements[0]
    assert slow.stats.queryid == 1
    assert slow.calls == 40 and slow.mean_ms_now == pytest.approx(80.0)
    assert slow.mean_ms_before == pytest.approx(2.0)
    assert slow.calls_per_s == pytest.approx(10.0) and slow.load == pytest.approx(800.0)
    new = next(s for s in workload.statements if s.stats.queryid == 3)
    assert new.before is None and new.calls == 3
    (table,) = workload.tables
    assert (table.seq_scan, table.seq_tup_read) == (40, 40000)


def test_a_reset_statement_counts_from_the_reset() -> None:
    first = _snapshot(0, _statement(1, 1000, 5000.0))
    second = _snapshot(2, _statement(1, 7, 70.0))
    (statement,) = compare_snapshots(first, second).statements
    assert statement.calls == 7 and statement.before is None


def test_one_snapshot_gives_cumulative_figures_only() -> None:
    only = _snapshot(0, _statement(1, 100, 500.0))
    (statement,) = compare_snapshots(only, only).statements
    assert statement.calls == 0 and statement.mean_ms_now is None
    assert statement.mean_ms_before == pytest.approx(5.0)


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.floats(0, 1e7), st.integers(0, 10**4), st.floats(0, 1e6)),
        max_size=30,
    ),
    st.floats(0.1, 60),
)
def test_deltas_are_never_negative(rows: list[tuple[int, float, int, float]], interval: float) -> None:
    first = _snapshot(0, *(_statement(i, calls, total) for i, (calls, total, _, _) in enumerate(rows)))
    second = _snapshot(
        interval,
        *(_statement(i, calls + more, total + extra) for i, (calls, total, more, extra) in enumerate(rows)),
    )
    workload = compare_snapshots(first, second)
    assert len(workload.statements) == len(rows)
    for statement in workload.statements:
        assert statement.calls >= 0 and statement.total_ms >= -1e-6
    totals = [s.total_ms for s in workload.statements]
    assert totals == sorted(totals, reverse=True)


# -- connections and recency -------------------------------------------------------------------------


def test_connection_usage_counts_against_the_ordinary_limit() -> None:
    usage = ConnectionUsage(
        total=17,
        max_connections=20,
        superuser_reserved=3,
        reserved=0,
        superusers=1,
        by_state={"idle": 16},
        by_application={},
        by_client={},
        by_user={},
        by_database={},
    )
    assert usage.ordinary_limit == 17 and usage.refused and usage.usage == 1.0


def test_the_database_is_queried_only_for_a_recent_incident() -> None:
    source = PostgresSource("db", "host=x", max_incident_age=3600)
    assert is_recent(NOW - timedelta(minutes=20), source, now=NOW)
    assert not is_recent(NOW - timedelta(hours=2), source, now=NOW)
    assert not is_recent(NOW + timedelta(hours=1), source, now=NOW)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://app:s3cret@db.internal:6432/shop?sslmode=require",
        "postgresql://db/shop",
        "host=x port=5 dbname='my db' password=p user=u",
    ],
)
def test_the_fallback_dsn_reader_agrees_with_psycopg(dsn: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    from incident_flow.sources.postgres import _parse_dsn

    assert _parse_dsn(dsn) == {k: str(v) for k, v in conninfo_to_dict(dsn).items()}


# -- the server fixture ------------------------------------------------------------------------------


def test_the_server_tests_fail_rather_than_skip_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import pg_server

    monkeypatch.setattr(pg_server, "find_bindir", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        pg_server.require_bindir()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y postgresql"):
        pg_server.require_bindir()
