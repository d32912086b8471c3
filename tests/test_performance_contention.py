"""Surges named after the service that received them, pool exhaustion, lock contention.

Logs are written as the imitated software prints them (nginx combined with timings, uvicorn's
access lines, HikariCP, PostgreSQL's default prefix) and read by the real parsers through
``incident_flow.testing``; metrics are built as series.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from incident_flow_performance import investigate_performance
from incident_flow_performance.contention import Waits, waits_for_lock, waits_for_pool
from incident_flow_performance.metrics import step_up

from incident_flow import Category, Finding
from incident_flow.model import Event
from incident_flow.sources import LogRecord, MetricSeries, Source
from incident_flow.testing import StaticLogs, StaticMetrics, make_context

T0 = datetime(2024, 1, 2, 3, 0, tzinfo=UTC)
DETECTED = T0 + timedelta(minutes=50)


def nginx(
    at: datetime, ip: str, request: str, status: int = 200, rt: float = 0.05, agent: str = "Mozilla/5.0"
) -> str:
    return (
        f'{ip} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "{request} HTTP/1.1" {status} 512 "-" "{agent}" '
        f"{rt:.3f} {rt:.3f}"
    )


def uvicorn(at: datetime, request: str, status: int = 200) -> str:
    return f'{at:%Y-%m-%d %H:%M:%S},000 INFO [uvicorn.access] 10.0.0.2:5100 - "{request} HTTP/1.1" {status}'


def logs(component: str, lines: Sequence[str]) -> StaticLogs:
    return StaticLogs.from_text(component, "\n".join(lines) + "\n", component=component)


def investigate(*sources: Source, events: list[Event] | None = None) -> list[Finding]:
    ctx = make_context(detected_at=DETECTED, sources=list(sources), events=events)
    return investigate_performance(ctx.for_investigator("performance"))


def shop(surge: str | None = None, status: int = 200) -> list[Source]:
    """A gateway in front of accounts (/api/login) and orders (/api/orders/{id}); after minute 40,
    ``surge`` gets 150 more requests a minute from many clients, answered ``status``."""
    rnd = random.Random(7)
    gateway, accounts, orders = [], [], []
    for minute in range(60):
        for second in range(0, 60, 3):
            at = T0 + timedelta(minutes=minute, seconds=second)
            for request, service in (("POST /api/login", accounts), (f"GET /api/orders/{second}", orders)):
                ip = f"10.0.{rnd.randint(0, 40)}.{rnd.randint(1, 250)}"
                gateway.append(nginx(at, ip, request, agent=f"Mozilla/5.0 (build {rnd.randint(1, 60)})"))
                if second % 12 == 0:  # services log a sample of their requests
                    service.append(uvicorn(at, request))
        if surge is not None and minute >= 40:
            for n in range(150):
                at = T0 + timedelta(minutes=minute, seconds=(n * 7) % 60)
                agent = f"Mozilla/5.0 (build {n % 60})"
                gateway.append(nginx(at, f"198.18.{n % 200}.{minute}", surge, status, agent=agent))
    gateway.sort(key=lambda line: datetime.strptime(line.split("[")[1].split("]")[0], "%d/%b/%Y:%H:%M:%S %z"))
    return [logs("gateway", gateway), logs("accounts", sorted(accounts)), logs("orders", sorted(orders))]


def surge_of(findings: Sequence[Finding]) -> Finding:
    return next(f for f in findings if "surge" in f.title)


def test_a_surge_is_named_after_the_service_behind_the_gateway() -> None:
    surge = surge_of(investigate(*shop(surge="GET /api/orders/77")))
    assert surge.component == "orders" and surge.category is Category.PERFORMANCE
    routing = next(e for e in surge.evidence if e.kind == "traffic_by_service")
    assert routing.figures["gateway"] == "gateway" and routing.figures["service"] == "orders"
    assert routing.figures["endpoints"][0] == "GET /api/orders/{id}"
    # The service's own gain (20 → 170 a minute), not the gateway's diluted total (40 → 190).
    assert "8.5x" in surge.summary and "(seen at gateway)" in surge.summary


def test_without_request_lines_of_the_services_the_gateway_stays_named() -> None:
    gateway = shop(surge="GET /api/orders/77")[0]
    assert surge_of(investigate(gateway)).component == "gateway"


def test_a_surge_of_refused_logins_from_many_clients_is_abuse_not_demand() -> None:
    events: list[Event] = []
    surge = surge_of(investigate(*shop(surge="POST /api/login", status=401), events=events))
    assert surge.component == "accounts" and surge.category is Category.SECURITY
    assert surge.title.startswith("traffic surge of refused requests: 100%")
    assert [e.data["key_kind"] for e in events if e.kind == "performance.handoff"] == ["refused requests"]
    assert "edge of gateway" in surge.mitigations[0].action


# -- pool exhaustion ----------------------------------------------------------------------------------

HIKARI = (
    "{at:%Y-%m-%d %H:%M:%S}.000 ERROR 1 --- [exec-{n}] o.a.c.c.C.[dispatcherServlet] : Servlet.service() "
    "threw exception\njava.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, "
    "request timed out after 30000ms (total=16, active=16, idle=0, waiting=40)"
)


def pool_series(values: Sequence[float]) -> MetricSeries:
    times = tuple((T0 + timedelta(seconds=30 * i)).timestamp() for i in range(len(values)))
    return MetricSeries(
        name="payments_db_pool_in_use",
        component="payments",
        metric="db_pool_in_use",
        times=times,
        values=tuple(values),
        source="metrics",
    )


def pool_case(pool: Sequence[float]) -> list[Finding]:
    lines = [
        f"{T0 + timedelta(minutes=m):%Y-%m-%d %H:%M:%S}.000  INFO 1 --- [exec-1] c.s.Api : "
        "Completed GET /api/payments with 200"
        for m in range(60)
    ]
    lines += [HIKARI.format(at=T0 + timedelta(minutes=42, seconds=10 * n), n=n) for n in range(40)]
    lines.sort()
    metrics = StaticMetrics("metrics", [pool_series(pool)])
    return investigate(logs("payments", lines), metrics)


def test_pool_timeouts_with_the_pool_at_its_ceiling_are_exhaustion() -> None:
    findings = pool_case([5.0 + (i % 3) * 0.5 for i in range(80)] + [16.0] * 40)
    pool = next(f for f in findings if f.title.startswith("connection pool exhausted"))
    assert pool.component == "payments" and pool.category is Category.PERFORMANCE and not pool.symptom
    assert pool.evidence[0].figures["count_after"] == 40 and pool.evidence[0].lines
    assert pool.indicator == "payments_db_pool_in_use"
    # Its connection series is in the pool finding, not a finding of its own.
    assert not [f for f in findings if f.title.startswith("connections saturation")]


def test_pool_timeouts_while_the_pool_is_empty_are_not_exhaustion() -> None:
    # The database went away: the pool cannot open connections and its in-use count falls.
    findings = pool_case([5.0 + (i % 3) * 0.5 for i in range(80)] + [0.0] * 40)
    assert not [f for f in findings if f.title.startswith("connection pool exhausted")]


# -- lock contention ----------------------------------------------------------------------------------


def pg(at: datetime, message: str) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}.123 UTC [4242] shipping@shop {message}"


def test_a_surge_of_lock_waits_is_contention() -> None:
    lines = [pg(T0 + timedelta(minutes=m), "LOG:  checkpoint starting: time") for m in range(0, 60, 5)]
    lines.append(pg(T0 + timedelta(minutes=7), "ERROR:  deadlock detected"))  # the odd one of a busy day
    for n in range(30):
        at = T0 + timedelta(minutes=41, seconds=20 * n)
        lines.append(
            pg(at, "LOG:  process 4242 still waiting for ShareLock on transaction 7741 after 1000.1 ms")
        )
        lines.append(pg(at + timedelta(seconds=5), "ERROR:  canceling statement due to lock timeout"))
    findings = investigate(logs("maindb", sorted(lines)))
    lock = next(f for f in findings if f.title.startswith("lock contention"))
    assert lock.component == "maindb" and lock.category is Category.PERFORMANCE and not lock.symptom
    assert lock.evidence[0].figures["count_after"] == 60 and lock.evidence[0].figures["count_before"] == 1


def test_the_odd_deadlock_of_a_busy_day_is_no_contention() -> None:
    lines = [pg(T0 + timedelta(minutes=m), "ERROR:  deadlock detected") for m in range(0, 60, 6)]
    assert not [f for f in investigate(logs("maindb", lines)) if f.title.startswith("lock contention")]


def record(text: str) -> LogRecord:
    return LogRecord(message=text, source="s", line=1, text=text, at=T0, component="svc")


def test_what_counts_as_a_wait() -> None:
    assert waits_for_pool(
        record("sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached")
    )
    assert waits_for_pool(record('error="failed to acquire connection from pool: context deadline exceeded"'))
    assert waits_for_pool(
        record('{"err":{"type":"Error","message":"timeout exceeded when trying to connect"}}')
    )
    assert waits_for_pool(record("HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting=3)"))
    assert not waits_for_pool(record("HikariPool-1 - Pool stats (total=10, active=4, idle=6, waiting=0)"))
    assert not waits_for_pool(record("connection refused: postgres.internal:5432"))
    assert waits_for_lock(record("Lock wait timeout exceeded; try restarting transaction"))
    assert not waits_for_lock(record("canceling statement due to statement timeout"))


@given(st.text(max_size=200))
def test_any_text_is_a_wait_or_not_without_error(text: str) -> None:
    waits = Waits(waits_for_pool)
    waits.add(record(text))
    assert sum(len(t) for t in waits.times.values()) <= 1


def test_a_series_is_judged_at_its_own_step_when_the_onset_came_early() -> None:
    series = pool_series([5.0] * 60 + [16.0] * 40)
    step = step_up(series, T0 + timedelta(minutes=10), T0 + timedelta(hours=1))
    assert step == T0 + timedelta(minutes=30)
    assert step_up(pool_series([16.0] * 60 + [5.0] * 40), T0, T0 + timedelta(hours=1)) is None
