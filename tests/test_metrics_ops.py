"""The ops investigator's metric half: findings per anomalous component, with checkable evidence."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incident_flow_ops.metrics import analyse_metrics, machines

from incident_flow import Category, Finding, Investigator, hookimpl
from incident_flow.api import run_incident
from incident_flow.config import Settings
from incident_flow.correlate import correlate
from incident_flow.metrics import METRICS_CSV_SOURCE_TYPE, PROMETHEUS_SOURCE_TYPE
from incident_flow.plugins import make_plugin_host
from incident_flow.sources import MetricSeries, SourceType
from incident_flow.testing import StaticMetrics, make_context

DETECTED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ONSET = DETECTED - timedelta(minutes=3)


def series(name: str, value: Callable[[datetime, bool], float], *, minutes: int = 40) -> MetricSeries:
    """One point every 15 s from 30 minutes before detection."""
    start = DETECTED - timedelta(minutes=30)
    times = [start + timedelta(seconds=15 * i) for i in range(minutes * 4)]
    component, _, metric = name.partition("_")
    return MetricSeries(
        name=name,
        component=component,
        metric=metric,
        times=tuple(t.timestamp() for t in times),
        values=tuple(value(t, t >= ONSET) for t in times),
        source="prom",
        query=f"{name}[1m]",
    )


def fleet(seed: int = 1) -> list[MetricSeries]:
    rng = random.Random(seed)

    def steady(level: float, sigma: float) -> Callable[[datetime, bool], float]:
        return lambda t, after: level + rng.gauss(0, sigma)

    return [
        series("payments_cpu", lambda t, after: (95.0 if after else 20.0) + rng.gauss(0, 2)),
        series("payments_mem", steady(4e8, 1e6)),
        series("checkout_lat_99", lambda t, after: (2.5 if after else 0.3) + rng.gauss(0, 0.02)),
        series("checkout_cpu", steady(30, 2)),
        series("orders_cpu", steady(40, 3)),
        series("orders_mem", steady(2e8, 2e6)),
    ]


def _run(metrics: list[MetricSeries], **kwargs: object) -> list[Finding]:
    ctx = make_context(
        detected_at=DETECTED,
        sources=[StaticMetrics("prom", metrics)],
        settings=Settings(lookback=timedelta(minutes=30)),
    ).for_investigator("ops")
    return analyse_metrics(ctx, **kwargs)  # type: ignore[arg-type]


def test_the_saturated_service_leads_and_its_callers_are_symptoms() -> None:
    findings = _run(fleet())
    assert [f.component for f in findings] == ["payments", "checkout"]
    payments, checkout = findings
    assert payments.category is Category.PERFORMANCE and not payments.symptom
    assert payments.title.startswith("CPU saturation: payments_cpu")
    assert payments.indicator == "payments_cpu"
    assert payments.investigator == "ops"
    assert payments.confidence > 0.5 * checkout.confidence  # a symptom weighs half in the ranking
    assert payments.onset is not None and abs((payments.onset - ONSET).total_seconds()) <= 30
    evidence = payments.evidence[0]
    assert evidence.kind == "metric_anomaly" and evidence.query == "payments_cpu[1m]"
    assert 18 < evidence.figures["baseline"] < 22 and 93 < evidence.figures["after"] < 97
    assert evidence.figures["score"] > 5 and evidence.figures["series"] == "payments_cpu"
    assert checkout.symptom and checkout.indicator == "checkout_lat_99"
    assert 0 < checkout.confidence < 0.9 and 0 < payments.confidence < 0.9


def test_memory_growth_is_infrastructure() -> None:
    rng = random.Random(2)
    findings = _run(
        [
            series("cache_mem", lambda t, after: (9e8 if after else 3e8) + rng.gauss(0, 1e6)),
            series("web_cpu", lambda t, after: 20 + rng.gauss(0, 1)),
        ]
    )
    assert [f.component for f in findings] == ["cache"]
    assert findings[0].category is Category.INFRASTRUCTURE
    assert findings[0].title.startswith("memory growth")


def test_a_machine_whose_load_rose_with_a_service_points_at_the_service() -> None:
    # The machine's load moves more (in noise units) than the service's CPU; it is the sum of what
    # runs on it, so the ranking must name the service.
    rng = random.Random(6)
    metrics = [
        series("app-2_node_load1", lambda t, after: (12.0 if after else 0.5) + rng.gauss(0, 0.05)),
        series("app-2_node_memory_used_ratio", lambda t, after: 0.4 + rng.gauss(0, 0.01)),
        series("accounts_cpu", lambda t, after: (97.0 if after else 30.0) + rng.gauss(0, 3)),
        series("web_lat_99", lambda t, after: (1.5 if after else 0.3) + rng.gauss(0, 0.02)),
    ]
    findings = {f.component: f for f in _run(metrics)}
    machine, service = findings["app-2"], findings["accounts"]
    assert machine.depends_on == "accounts" and service.depends_on is None
    assert machine.confidence > service.confidence  # the raw departure alone would name the machine
    assert "with accounts's cpu" in machine.title
    assert any(e.figures["series"] == "accounts_cpu" for e in machine.evidence)
    assert correlate(list(findings.values()))[0].component == "accounts"


def test_a_machine_that_moved_alone_stays_a_cause() -> None:
    # A miner on a bastion: no service's CPU moved with it (the other one rose 20 minutes earlier).
    rng = random.Random(7)
    metrics = [
        series("jump-1_load1", lambda t, after: (8.0 if after else 0.3) + rng.gauss(0, 0.05)),
        series(
            "reports_cpu",
            lambda t, after: (80.0 if t >= ONSET - timedelta(minutes=20) else 20.0) + rng.gauss(0, 2),
        ),
    ]
    findings = {f.component: f for f in _run(metrics)}
    assert findings["jump-1"].depends_on is None and not findings["jump-1"].symptom


def test_a_leak_is_named_on_the_service_not_the_machine_that_filled_with_it() -> None:
    rng = random.Random(8)
    climb_from = ONSET - timedelta(minutes=20)

    def climbing(low: float, high: float, sigma: float) -> Callable[[datetime, bool], float]:
        def value(t: datetime, after: bool) -> float:
            if t < climb_from:
                return low + rng.gauss(0, sigma)
            if t < ONSET:
                return low + (high - low) * (t - climb_from) / (ONSET - climb_from) + rng.gauss(0, sigma)
            return 0.6 * low + rng.gauss(0, sigma)  # the kill, and the restart's smaller process

        return value

    metrics = [
        series("node-1_mem_used_pct", climbing(44.0, 74.0, 0.3)),
        series("node-1_load_1m", lambda t, after: 1.0 + rng.gauss(0, 0.05)),
        series("inventory_mem_rss_mb", climbing(830.0, 1010.0, 4.0)),
        series("inventory_cpu", lambda t, after: 30.0 + rng.gauss(0, 2)),
    ]
    findings = {f.component: f for f in _run(metrics, onset_hint=ONSET)}
    leak = findings["inventory"]
    assert leak.category is Category.INFRASTRUCTURE and leak.title.startswith("memory growth")
    assert leak.evidence[0].figures["transform"] == "growth"
    assert "climbing_since" in leak.evidence[0].figures and "climbing from" in leak.evidence[0].summary
    assert leak.onset is not None and leak.onset >= ONSET  # the climb is evidence; the onset stays
    assert findings["node-1"].depends_on == "inventory"
    assert correlate(list(findings.values()))[0].component == "inventory"


def test_a_cause_that_slowed_its_own_service_at_the_same_minute_is_surer() -> None:
    rng = random.Random(9)

    def cpu(t: datetime, after: bool) -> float:
        return (95.0 if after else 25.0) + rng.gauss(0, 2)

    def slow(since: datetime) -> Callable[[datetime, bool], float]:
        return lambda t, after: (1.2 if t >= since else 0.2) + rng.gauss(0, 0.01)

    together = {f.component: f for f in _run([series("a_cpu", cpu), series("a_lat_99", slow(ONSET))])}
    alone = {f.component: f for f in _run([series("a_cpu", cpu), series("b_cpu", lambda t, a: 20.0)])}
    later = {
        f.component: f
        for f in _run([series("a_cpu", cpu), series("a_lat_99", slow(ONSET + timedelta(minutes=10)))])
    }
    assert together["a"].confidence > alone["a"].confidence
    assert "its own latency (a_lat_99) moved with it" in together["a"].summary
    assert any(e.figures["series"] == "a_lat_99" for e in together["a"].evidence)
    # Ten minutes apart: not its effect.
    assert "moved with it" not in later["a"].summary and later["a"].confidence < together["a"].confidence
    assert together["a"].confidence < 0.9
    # Its memory departing with its CPU corroborates too; a second CPU series of its own does not.
    memory = _run(
        [series("a_cpu", cpu), series("a_mem", lambda t, after: (8e8 if after else 4e8) + rng.gauss(0, 1e6))]
    )
    assert "moved with it" in memory[0].summary and {"a_cpu", "a_mem"} <= {
        e.figures["series"] for e in memory[0].evidence
    }
    twice = _run([series("a_cpu", cpu), series("a_cpu_throttled", cpu)])
    assert "moved with it" not in twice[0].summary


def test_machines_are_told_by_the_series_only_a_machine_exports() -> None:
    def one(name: str) -> MetricSeries:
        return series(name, lambda t, after: 1.0)

    found = machines(
        [
            one("app-1_node_load1"),
            one("node-3_load_1m"),
            one("db-1_loadavg"),
            one("app-2_node_memory_used_ratio"),
            one("accounts_system_load_average_1m"),  # a JVM reporting its host's load: still a service
            one("payments_cpu"),
        ]
    )
    assert found == {"app-1", "node-3", "db-1", "app-2"}


def test_the_onset_hint_is_used() -> None:
    audit: list[dict[str, object]] = []
    ctx = make_context(
        detected_at=DETECTED,
        sources=[StaticMetrics("prom", fleet())],
        settings=Settings(lookback=timedelta(minutes=30)),
        audit=audit,
    ).for_investigator("ops")
    hint = ONSET - timedelta(minutes=1)
    findings = analyse_metrics(ctx, onset_hint=hint)
    assert findings[0].component == "payments"
    record = next(r for r in audit if r["kind"] == "ops.metrics")
    assert record["onset"] == hint and record["onset_from"] == "hint"


def test_the_onset_is_found_without_a_hint() -> None:
    audit: list[dict[str, object]] = []
    ctx = make_context(
        detected_at=DETECTED,
        sources=[StaticMetrics("prom", fleet())],
        settings=Settings(lookback=timedelta(minutes=30)),
        audit=audit,
    ).for_investigator("ops")
    analyse_metrics(ctx)
    record = next(r for r in audit if r["kind"] == "ops.metrics")
    assert record["onset_from"] == "change point"
    assert isinstance(record["onset"], datetime) and abs((record["onset"] - ONSET).total_seconds()) <= 15


def test_nothing_anomalous_gives_no_findings() -> None:
    rng = random.Random(3)
    quiet = [series(f"svc{i}_cpu", lambda t, after: 20 + rng.gauss(0, 1)) for i in range(5)]
    assert _run(quiet) == []
    assert _run([]) == []


def test_the_focus_component_is_reported_even_outside_the_top() -> None:
    rng = random.Random(4)
    metrics = [
        series(f"svc{i}_cpu", lambda t, after, i=i: (20 + 10 * i if after else 10) + rng.gauss(0, 0.5))
        for i in range(1, 8)
    ]
    ctx = make_context(
        detected_at=DETECTED,
        sources=[StaticMetrics("prom", metrics)],
        settings=Settings(lookback=timedelta(minutes=30)),
        system="svc1",
    ).for_investigator("ops")
    components = [f.component for f in analyse_metrics(ctx)]
    assert len(components) == 6 and components[-1] == "svc1"


# -- end to end, through a config file and the pipeline ---------------------------------------------


def _wired() -> bool:
    """Whether the core already registers the metric source types (and so the ops plugin runs metrics)."""
    return "metrics-csv" in make_plugin_host([], entry_points=False).source_types()


class MetricsPlugin:
    """The wiring the lead adds to the core and the ops plugin, for tests that run before it."""

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        if not _wired():
            register(METRICS_CSV_SOURCE_TYPE)
            register(PROMETHEUS_SOURCE_TYPE)

    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        if not _wired():
            register(Investigator(name="ops-metrics", investigate=analyse_metrics))


def test_a_wide_csv_through_run_incident(tmp_path: Path) -> None:
    rng = random.Random(5)
    start = int((DETECTED - timedelta(minutes=10)).timestamp())
    onset = int(DETECTED.timestamp())
    lines = ["time,front-end_cpu,carts_cpu,carts_mem,carts_lat_99"]
    for t in range(start, onset + 300):
        after = t >= onset
        lines.append(
            f"{t},{10 + rng.gauss(0, 1):.3f},{(98 if after else 1.2) + rng.gauss(0, 0.1):.3f},"
            f"{342642688 if not after else 341274624},{(3.0 if after else 1.0) + rng.gauss(0, 0.05):.3f}"
        )
    (tmp_path / "metrics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "incident-flow.toml"
    config.write_text(
        '[settings]\nlookback = "10m"\n'
        '[[sources]]\nname = "metrics"\ntype = "metrics-csv"\npaths = ["metrics.csv"]\n',
        encoding="utf-8",
    )
    report = run_incident("shop is slow", config=config, at=DETECTED.isoformat(), plugins=[MetricsPlugin()])
    assert report.root_causes[0].component == "carts"
    assert report.root_causes[0].indicator == "carts_cpu"
    assert report.root_causes[0].category.value == "performance"
    data = report.to_dict()
    evidence = data["root_causes"][0]["evidence"][0]
    assert evidence["figures"]["series"] == "carts_cpu" and "metrics.csv" in evidence["query"]
