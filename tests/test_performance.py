"""The performance investigator on access logs and metrics, and with databases it cannot use.

The access logs are generated nginx logs in the recommended ``log_format`` (docs/performance.md):
a few healthy endpoints and, depending on the test, one that slows down, a surge from many
clients or from one, or one slow upstream. The PostgreSQL cases against a real server are in
``test_postgres_server.py``.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import incident_flow_performance
from incident_flow_performance import investigate_performance

from incident_flow import Category, Finding, hookimpl
from incident_flow.api import run_incident
from incident_flow.logs import read_records
from incident_flow.model import Event
from incident_flow.plugins import make_plugin_host
from incident_flow.sources import MetricSeries, SourceType
from incident_flow.sources.postgres import POSTGRES_SOURCE_TYPE, PostgresSource
from incident_flow.testing import StaticLogs, StaticMetrics, make_context

LOG_FORMAT = (
    'log_format perf \'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time "$upstream_addr"\';'
)
T0 = datetime(2024, 1, 2, 3, 0, tzinfo=UTC)
ENDPOINTS = [
    ("GET", "/api/orders/{n}", 0.040),
    ("GET", "/api/search?q={n}&page=2", 0.060),
    ("GET", "/api/users/{n}", 0.030),
    ("GET", "/health", 0.002),
    ("POST", "/api/cart", 0.050),
]


def _line(
    at: datetime, ip: str, method: str, path: str, status: int, rt: float, agent: str, upstream: str
) -> str:
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (
        f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} 512 "-" "{agent}" '
        f'{rt:.3f} {rt * 0.95:.3f} "{upstream}"'
    )


def access_log(
    *,
    minutes: int = 60,
    slow: Callable[[int, str, int], float | None] = lambda minute, path, i: None,
    extra: Callable[[int, int], Iterator[tuple[str, str, str, str]]] | None = None,
    upstream: Callable[[int, int], str] = lambda minute, i: f"10.1.0.{1 + i % 3}:8080",
    seed: int = 1,
) -> str:
    """``minutes`` of traffic, 20 requests a minute per endpoint from many clients.

    ``slow(minute, path, i)`` may return a latency to use instead of the endpoint's own; ``extra``
    yields more (ip, method, path, agent) requests per minute (a surge); ``upstream`` names the
    instance that served request ``i``.
    """
    rnd = random.Random(seed)
    lines = []
    for minute in range(minutes):
        for second in range(0, 60, 3):
            at = T0 + timedelta(minutes=minute, seconds=second)
            for i, (method, template, base) in enumerate(ENDPOINTS):
                path = template.format(n=rnd.randint(1, 99_999))
                latency = rnd.lognormvariate(0, 0.3) * base
                k = second // 3 * len(ENDPOINTS) + i
                override = slow(minute, template, k)
                if override is not None:
                    latency = rnd.lognormvariate(0, 0.3) * override
                ip = f"10.0.{rnd.randint(0, 40)}.{rnd.randint(1, 250)}"
                agent = rnd.choice(["Mozilla/5.0 (X11)", "Mozilla/5.0 (Mac)", "okhttp/4.12", "Safari/17"])
                lines.append(_line(at, ip, method, path, 200, latency, agent, upstream(minute, k)))
        if extra is not None:
            for n, (ip, method, path, agent) in enumerate(extra(minute, rnd.randint(0, 1000))):
                at = T0 + timedelta(minutes=minute, seconds=(n * 7) % 60)
                lines.append(
                    _line(
                        at, ip, method, path, 200, rnd.lognormvariate(0, 0.3) * 0.05, agent, "10.1.0.1:8080"
                    )
                )
    return "\n".join(lines) + "\n"


def gateway(tmp_path: Path, text: str) -> StaticLogs:
    path = tmp_path / "access.log"
    path.write_text(text, encoding="utf-8")
    return StaticLogs(
        "gateway-logs",
        read_records([path], log_format=LOG_FORMAT, component="gateway", source_name="gateway-logs"),
    )


def investigate(*sources: Any, detected: datetime, events: list[Event] | None = None) -> list[Finding]:
    ctx = make_context(detected_at=detected, sources=list(sources), events=events).for_investigator(
        "performance"
    )
    return investigate_performance(ctx)


# -- the access-log latency case ---------------------------------------------------------------------


def test_a_degraded_endpoint_among_healthy_ones_is_found_with_its_evidence(tmp_path: Path) -> None:
    def slow(minute: int, path: str, i: int) -> float | None:
        return 0.9 if path.startswith("/api/search") and minute >= 45 else None

    logs = gateway(tmp_path, access_log(slow=slow))
    findings = investigate(logs, detected=T0 + timedelta(minutes=50))

    latency = [f for f in findings if f.title.startswith("latency degradation")]
    assert len(latency) == 1, [f.title for f in findings]
    finding = latency[0]
    assert finding.component == "gateway"
    assert "GET /api/search?page=*&q=*" in finding.title
    assert finding.onset == T0 + timedelta(minutes=45)
    assert finding.symptom and finding.category is Category.PERFORMANCE
    assert "unchanged request rate" in finding.summary  # a slowdown, not a surge
    evidence = finding.evidence[0]
    figures = evidence.figures
    assert figures["endpoint"] == "GET /api/search?page=*&q=*"
    assert 80 <= figures["p95_ms_before"] <= 120
    assert figures["p95_ms_after"] > 1000
    assert figures["requests_before"] == 900 and figures["requests_after"] == 300
    assert figures["rate_per_min_before"] == figures["rate_per_min_after"] == 20.0
    assert figures["mann_whitney_p"] < 1e-6
    assert figures["latency_field"] == "request_time"
    assert figures["pattern"] == "slowdown"
    assert evidence.lines and "/api/search" in evidence.lines[0]  # the slowest requests, verbatim
    healthy = finding.evidence[-1]
    assert healthy.figures["count"] == 4
    assert "GET /api/orders/{id}" in healthy.figures["endpoints"]
    # No surge, no instance problem: the other findings stay quiet.
    assert not [f for f in findings if "surge" in f.title or "instance" in f.title]


def test_the_endpoint_that_degraded_first_leads(tmp_path: Path) -> None:
    def slow(minute: int, path: str, i: int) -> float | None:
        if path.startswith("/api/users") and minute >= 40:
            return 0.5
        if path.startswith("/api/orders") and minute >= 46:
            return 0.7
        return None

    findings = investigate(gateway(tmp_path, access_log(slow=slow)), detected=T0 + timedelta(minutes=50))
    finding = next(f for f in findings if f.title.startswith("latency degradation"))
    assert finding.title.startswith("latency degradation: GET /api/users/{id}")
    assert "and 1 more endpoint(s)" in finding.title
    assert [e.figures.get("degraded_at") for e in finding.evidence[:2]] == [
        (T0 + timedelta(minutes=40)).isoformat(),
        (T0 + timedelta(minutes=46)).isoformat(),
    ]


def test_a_flat_log_gives_no_finding(tmp_path: Path) -> None:
    assert investigate(gateway(tmp_path, access_log()), detected=T0 + timedelta(minutes=50)) == []


# -- load patterns -----------------------------------------------------------------------------------


def test_an_organic_surge_is_performance_and_not_handed_over(tmp_path: Path) -> None:
    def extra(minute: int, salt: int) -> Iterator[tuple[str, str, str, str]]:
        if minute >= 40:
            for n in range(150):
                yield (
                    f"172.16.{(salt + n) % 200}.{n % 250 + 1}",
                    "GET",
                    f"/api/orders/{n}",
                    f"Mozilla/5.0 (build {n % 40})",
                )

    events: list[Event] = []
    findings = investigate(
        gateway(tmp_path, access_log(extra=extra)), detected=T0 + timedelta(minutes=45), events=events
    )
    surge = next(f for f in findings if "surge" in f.title)
    assert surge.title == "traffic surge: organic growth from many clients"
    assert surge.category is Category.PERFORMANCE and not surge.symptom
    assert surge.onset == T0 + timedelta(minutes=40)
    traffic = surge.evidence[0].figures
    assert traffic["rate_before_per_min"] == 100.0 and traffic["rate_after_per_min"] == 250.0
    assert traffic["hottest_endpoint"] == "GET /api/orders/{id}"
    clients = next(e for e in surge.evidence if e.kind == "traffic_by_client").figures
    assert clients["keys_for_60_percent"] == 0
    assert any("Scale out" in m.action for m in surge.mitigations)
    assert not [e for e in events if e.kind == "performance.handoff"]


def test_a_surge_from_one_client_goes_to_security_too(tmp_path: Path) -> None:
    def extra(minute: int, salt: int) -> Iterator[tuple[str, str, str, str]]:
        if minute >= 40:
            for n in range(200):
                yield ("203.0.113.7", "GET", f"/api/search?q={n}", "python-requests/2.31")

    events: list[Event] = []
    findings = investigate(
        gateway(tmp_path, access_log(extra=extra)), detected=T0 + timedelta(minutes=45), events=events
    )
    surge = next(f for f in findings if "surge" in f.title)
    assert surge.title == "traffic surge from 1 client(s): 203.0.113.7"
    assert surge.category is Category.SECURITY
    assert surge.indicator == "client 203.0.113.7"
    clients = next(e for e in surge.evidence if e.kind == "traffic_by_client").figures
    assert clients["top"][0]["key"] == "203.0.113.7"
    assert clients["share_of_increase"] >= 0.95
    agents = next(e for e in surge.evidence if e.kind == "traffic_by_user_agent").figures
    assert agents["top"][0]["key"] == "python-requests/2.31"
    block = surge.mitigations[0]
    assert "203.0.113.7" in block.action and block.requires_approval
    handoff = [e for e in events if e.kind == "performance.handoff"]
    assert handoff and handoff[0].data["to"] == "security" and handoff[0].data["keys"] == ["203.0.113.7"]


def test_one_slow_upstream_is_named(tmp_path: Path) -> None:
    def slow(minute: int, path: str, i: int) -> float | None:
        return 0.6 if minute >= 40 and i % 3 == 2 else None

    def upstream(minute: int, i: int) -> str:
        return f"10.1.0.{1 + i % 3}:8080"

    text = access_log(slow=lambda m, p, i: slow(m, p, i), upstream=upstream)
    findings = investigate(gateway(tmp_path, text), detected=T0 + timedelta(minutes=45))
    instance = [f for f in findings if f.title.startswith("one instance slow")]
    assert instance, [f.title for f in findings]
    assert instance[0].indicator == "instance 10.1.0.3:8080"
    assert instance[0].evidence[0].figures["p95_ms"] > 3 * instance[0].evidence[0].figures["peers_p95_ms"]


# -- metrics -----------------------------------------------------------------------------------------


def _series(name: str, component: str, values: list[float]) -> MetricSeries:
    start = T0.timestamp()
    return MetricSeries(
        name=name,
        component=component,
        metric=name.split("_", 1)[1],
        times=tuple(start + 60 * i for i in range(len(values))),
        values=tuple(values),
        source="metrics",
    )


def test_saturation_and_latency_series_are_compared_with_their_baseline() -> None:
    metrics = StaticMetrics(
        "metrics",
        [
            _series("db_cpu_utilization", "db", [0.35] * 40 + [0.97] * 20),
            _series("web_latency_p95_ms", "web", [80.0] * 40 + [400.0] * 20),
            _series("web_requests_total", "web", [float(i * 100) for i in range(60)]),
        ],
    )
    findings = investigate(metrics, detected=T0 + timedelta(minutes=45))
    by_component = {f.component: f for f in findings}
    cpu = by_component["db"]
    assert cpu.title == "cpu saturation: db_cpu_utilization at 97.0% (baseline 35.0%)"
    assert cpu.category is Category.PERFORMANCE and not cpu.symptom
    assert cpu.evidence[0].figures["baseline"] == 35.0 and cpu.evidence[0].figures["after"] == 97.0
    latency = by_component["web"]
    assert latency.symptom and latency.title.startswith("latency rose: web_latency_p95_ms")


# -- databases it cannot use -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _SilentServer:
    """Accepts TCP connections on loopback and never answers: a database that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_an_unreachable_database_is_one_line_and_the_logs_are_still_analysed(tmp_path: Path) -> None:
    def slow(minute: int, path: str, i: int) -> float | None:
        return 0.9 if path.startswith("/api/search") and minute >= 45 else None

    db = PostgresSource("db", f"postgresql://app:s3cret@127.0.0.1:{_closed_port()}/shop", connect_timeout=2)
    audit: list[dict[str, Any]] = []
    ctx = make_context(
        detected_at=datetime.now(UTC),
        sources=[db, gateway(tmp_path, access_log(slow=slow))],
        audit=audit,
    ).for_investigator("performance")
    # Detection "now", but the log is from 2024: the logs are analysed from their own window.
    ctx.window_start = T0
    findings = investigate_performance(ctx)
    assert any(f.title.startswith("latency degradation") for f in findings)
    problems = [a for a in audit if a["kind"] == "source.problem" and a["source"] == "db"]
    assert len(problems) == 1
    message = problems[0]["error"]
    assert "\n" not in message and "s3cret" not in message
    assert "cannot connect" in message and "127.0.0.1" in message


def test_a_database_that_hangs_is_given_up_after_connect_timeout() -> None:
    server = _SilentServer()
    try:
        db = PostgresSource(
            "db", f"host=127.0.0.1 port={server.port} dbname=shop user=app", connect_timeout=2
        )
        audit: list[dict[str, Any]] = []
        started = time.monotonic()
        ctx = make_context(detected_at=datetime.now(UTC), sources=[db], audit=audit).for_investigator(
            "performance"
        )
        assert investigate_performance(ctx) == []
        assert time.monotonic() - started < 15
        errors = [a["error"] for a in audit if a["kind"] == "source.problem"]
        assert len(errors) == 1 and "cannot connect" in errors[0]
    finally:
        server.close()


def test_a_replayed_incident_does_not_query_the_database(tmp_path: Path) -> None:
    db = PostgresSource("db", f"host=127.0.0.1 port={_closed_port()} dbname=shop")
    audit: list[dict[str, Any]] = []
    ctx = make_context(detected_at=T0 + timedelta(minutes=50), sources=[db], audit=audit).for_investigator(
        "performance"
    )
    investigate_performance(ctx)
    assert db.queries == []
    problems = [a["error"] for a in audit if a["kind"] == "source.problem"]
    assert len(problems) == 1 and problems[0].startswith("not queried: the incident was detected")


# -- end to end --------------------------------------------------------------------------------------


class PostgresType:
    """Registers the postgres source type for tests run before it is a built-in."""

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        register(POSTGRES_SOURCE_TYPE)


def performance_plugins() -> list[object]:
    """The plugin objects a run needs: the investigator, and the source type unless built in."""
    plugins: list[object] = [incident_flow_performance]
    if "postgres" not in make_plugin_host(entry_points=False, environ={}).source_types():
        plugins.append(PostgresType())
    return plugins


def test_a_run_reports_the_slow_endpoint_and_the_unreachable_database(tmp_path: Path) -> None:
    def slow(minute: int, path: str, i: int) -> float | None:
        return 0.9 if path.startswith("/api/search") and minute >= 45 else None

    (tmp_path / "access.log").write_text(access_log(slow=slow), encoding="utf-8")
    config = tmp_path / "incident-flow.toml"
    config.write_text(
        f"""
[[sources]]
name = "gateway-logs"
type = "logs"
paths = ["access.log"]
log_format = '''{LOG_FORMAT}'''
component = "gateway"

[[sources]]
name = "db"
type = "postgres"
dsn = "postgresql://app@127.0.0.1:{_closed_port()}/shop"
connect_timeout = "2s"
max_incident_age = "36500d"
""",
        encoding="utf-8",
    )
    report = run_incident(
        "Search is slow",
        config=config,
        at=(T0 + timedelta(minutes=50)).isoformat(),
        plugins=performance_plugins(),
        only=["performance"],
    )
    run = next(r for r in report.investigators if r.name == "performance")
    assert run.status.value == "ok"
    assert report.root_causes and report.root_causes[0].component == "gateway"
    assert any("cannot connect" in p.error for p in report.source_problems if p.source == "db")
    assert "GET /api/search?page=*&q=*" in report.to_markdown()
