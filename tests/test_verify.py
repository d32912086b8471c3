"""The verify phase: after an approved action ran, the incident's signals are re-checked until they
are back within their baselines or the budget ends, and the report's status follows."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from action_fixtures import (
    PYTHON,
    SERIES,
    Fixture,
    audit_records,
    make_incident,
    runbook_entry,
    write_metrics,
)

from incident_flow import Approval, Evidence, Finding, RootCause, hookimpl
from incident_flow.api import run_incident
from incident_flow.model import ActionRequest
from incident_flow.sources import LogRecord, MetricSeries, MetricSource, SourceSpec, SourceType
from incident_flow.testing import StaticLogs, make_context
from incident_flow.verify import verify


@pytest.fixture(autouse=True)
def _git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def approve_only(step_id: str) -> Callable[[ActionRequest], Approval]:
    return lambda r: Approval.grant(r, by="alice") if r.id == step_id else Approval.refuse(r, "not this one")


# The runbook command that "fixes" the incident: it appends points at 100 ms, from a second after it
# runs, to the metrics file the run reads; the verify phase sees them as after the action.
RECOVER = (
    "import sys, time\n"
    "now = int(time.time())\n"
    "with open(sys.argv[1], 'a') as f:\n"
    "    for i in range(1, 40):\n"
    "        f.write(f'{now + i},{100 + i % 3}\\n')\n"
)


def test_a_signal_back_within_its_baseline_makes_the_incident_resolved(tmp_path: Path) -> None:
    incident = make_incident(
        tmp_path,
        runbook=runbook_entry(
            "recover", [PYTHON, "-c", RECOVER, str(tmp_path / "metrics.csv")], components=["orders"]
        ),
        verify="20s",
    )
    report = run_incident(
        "orders slow",
        config=incident.config,
        at=incident.detected_at,
        plugins=[Fixture()],
        only=["fixture"],
        approve=approve_only("runbook-recover"),
    )
    assert report.mitigations and next(m for m in report.mitigations if m.id == "runbook-recover").executed
    verification = report.verification
    assert verification is not None and verification.outcome == "recovered"
    assert report.status == "resolved"
    last = verification.checks[-1]
    assert last.signal == SERIES and last.kind == "metric" and last.state == "recovered"
    assert 100 <= last.figures["baseline"] <= 104 and 100 <= last.figures["current"] <= 102
    assert last.figures["incident"] >= 900 and last.figures["points_since_action"] >= 3
    assert verification.since == next(m for m in report.mitigations if m.executed).execution.at
    events = [e.event for e in report.timeline]
    assert any(e.startswith("Mitigation executed: runbook-recover") for e in events)
    executed = next(i for i, e in enumerate(events) if e.startswith("Mitigation executed"))
    verified = next(
        i for i, e in enumerate(events) if e.startswith("Verified: the incident's signals are back")
    )
    assert executed < verified
    checks = [r["data"] for r in audit_records(report) if r["kind"] == "verify.check"]
    assert (
        checks
        and checks[-1]["state"] == "recovered"
        and checks[-1]["figures"]["current"] == last.figures["current"]
    )
    assert "**Verification**: every signal that defined the incident is back" in report.to_markdown()
    data = report.to_dict()
    assert data["status"] == "resolved" and data["verification"]["checks"][-1]["state"] == "recovered"


def test_a_signal_that_stays_high_leaves_the_incident_mitigated(tmp_path: Path) -> None:
    incident = make_incident(
        tmp_path, runbook=runbook_entry("noop", [PYTHON, "-c", "pass"], components=["orders"]), verify="1.5s"
    )
    # The latency keeps being recorded at its incident level for the next ten minutes.
    write_metrics(
        incident.metrics,
        incident.detected_at,
        incident.onset,
        until=incident.detected_at + timedelta(minutes=10),
    )
    started = time.monotonic()
    report = run_incident(
        "orders slow",
        config=incident.config,
        at=incident.detected_at,
        plugins=[Fixture()],
        only=["fixture"],
        approve=approve_only("runbook-noop"),
    )
    verification = report.verification
    assert verification is not None and verification.outcome == "not_recovered"
    assert report.status == "mitigated"
    assert verification.rounds >= 2 and all(c.state == "not_improved" for c in verification.checks)
    assert "budget" in (verification.note or "")
    assert time.monotonic() - started < 30
    assert any(
        e.event.startswith("Verification: the incident's signals are not back") for e in report.timeline
    )


class Recovering(MetricSource):
    """Latency at 100 before the onset, 900 after it, and back to 100 from ``recover_at`` on: each call
    returns the points up to the time of the call, one every 0.2 s since the source was built."""

    def __init__(self, name: str, detected: datetime, onset: datetime, recover_at: float) -> None:
        super().__init__(name)
        self.detected, self.onset, self.recover_at = detected, onset, recover_at
        self.built = time.time()
        self.calls = 0

    def series(self, since: datetime, until: datetime) -> Iterator[MetricSeries]:
        self.calls += 1
        times, values = [], []
        t = (self.detected - timedelta(hours=2)).timestamp()
        while t < self.built:
            times.append(t)
            values.append(100.0 if t < self.onset.timestamp() else 900.0)
            t += 60
        t = self.built
        now = time.time()
        while t <= now:
            times.append(t)
            values.append(100.0 if t >= self.recover_at else 900.0)
            t += 0.2
        yield MetricSeries(
            name=SERIES,
            component="orders",
            metric="latency_ms",
            times=tuple(times),
            values=tuple(values),
            source=self.name,
        )


class RecoveringPlugin:
    def __init__(self, detected: datetime, onset: datetime, recover_in: float) -> None:
        self.detected, self.onset, self.recover_in = detected, onset, recover_in

    def build(self, spec: SourceSpec) -> Recovering:
        return Recovering(spec.name, self.detected, self.onset, time.time() + self.recover_in)

    @hookimpl
    def register_source_types(self, register: Callable[[SourceType], None]) -> None:
        register(SourceType(name="recovering", factory=self.build))


def test_checks_repeat_until_the_signal_is_back(tmp_path: Path) -> None:
    incident = make_incident(
        tmp_path,
        runbook=runbook_entry("noop", [PYTHON, "-c", "pass"], components=["orders"]),
        verify="20s",
        extra_sources='[[sources]]\nname = "live"\ntype = "recovering"\n',
    )
    incident.metrics.write_text("time\n", encoding="utf-8")  # only the recovering source has the series
    plugin = RecoveringPlugin(incident.detected_at, incident.onset, recover_in=2.5)
    report = run_incident(
        "orders slow",
        config=incident.config,
        at=incident.detected_at,
        plugins=[Fixture(), plugin],
        only=["fixture"],
        approve=approve_only("runbook-noop"),
    )
    verification = report.verification
    assert verification is not None and verification.outcome == "recovered" and report.status == "resolved"
    assert verification.rounds >= 2
    states = [c.state for c in verification.checks]
    assert "not_improved" in states and states[-1] == "recovered" and states.count("recovered") == 1
    assert [c.round for c in verification.checks] == list(range(1, verification.rounds + 1))


def test_an_action_whose_signals_cannot_be_re_checked_leaves_the_incident_mitigated(tmp_path: Path) -> None:
    incident = make_incident(
        tmp_path, runbook=runbook_entry("noop", [PYTHON, "-c", "pass"], components=["orders"])
    )

    def by_change_only(ctx: Any) -> list[Finding]:
        import attrs
        from action_fixtures import fixture_findings

        return [attrs.evolve(f, indicator=f.change.id if f.change else None) for f in fixture_findings(ctx)]

    report = run_incident(
        "orders slow",
        config=incident.config,
        at=incident.detected_at,
        plugins=[Fixture(by_change_only)],
        only=["fixture"],
        approve=approve_only("runbook-noop"),
    )
    verification = report.verification
    assert (
        verification is not None and verification.outcome == "unverifiable" and report.status == "mitigated"
    )
    assert verification.checks == () and "not a metric series or log template" in verification.skipped[0]


# -- log templates, on the verify function itself -----------------------------------------------------


async def _inline(func: Callable[[], Any]) -> Any:
    return func()


def _log_context(since: datetime, errors_after: int) -> Any:
    """Orders logs: a rare error before the onset, 30 a minute after it until ``since``, then
    ``errors_after`` more among a steady flow of ordinary records."""
    detected = since
    onset = since - timedelta(minutes=10)
    records = []

    def add(at: datetime, level: str, message: str) -> None:
        records.append(
            LogRecord(
                message=message,
                source="orders-logs",
                line=len(records) + 1,
                text=message,
                at=at,
                level=level,
                component="orders",
            )
        )

    at = detected - timedelta(hours=1)
    n = 0
    while at < datetime.now(UTC):
        add(at, "INFO", f"request {n} served in 12ms")
        if (at < onset and n % 200 == 0) or onset <= at < since:
            add(at, "ERROR", f"connection to redis.internal:6379 refused after {n % 9}ms")
        elif at >= since and errors_after > 0:
            errors_after -= 1
            add(at, "ERROR", f"connection to redis.internal:6379 refused after {n % 9}ms")
        at += timedelta(seconds=2)
        n += 1
    ctx = make_context(detected_at=detected, sources=[StaticLogs("orders-logs", records)])
    cause = RootCause(
        rank=1,
        component="redis",
        category="infrastructure",
        summary="redis refuses connections",
        confidence=0.8,
        evidence=[Evidence(source="orders-logs", kind="log_lines", summary="refused", lines=["x"])],
        indicator="log template: connection to <*> refused after <*>",
    )
    return ctx, cause, onset


@pytest.mark.parametrize(("errors_after", "outcome"), [(0, "recovered"), (10_000, "not_recovered")])
def test_a_log_template_is_back_when_its_rate_is_at_its_baseline_again(
    errors_after: int, outcome: str
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=2)
    ctx, cause, onset = _log_context(since, errors_after)
    result = asyncio.run(
        verify(
            ctx,
            [cause],
            [],
            onset=onset,
            since=since,
            budget=0.5,
            in_thread=_inline,
            emit=lambda *a, **k: None,
            interval=0.2,
        )
    )
    assert result.outcome == outcome
    check = result.checks[-1]
    assert check.kind == "log_template" and check.figures["records_since_action"] > 0
    assert math.isclose(check.figures["incident_per_min"], 30, rel_tol=0.05)
    assert check.figures["baseline_per_min"] < 1
    if outcome == "recovered":
        assert check.figures["matches_since_action"] == 0 and result.rounds == 1
    else:
        assert check.figures["after_per_min"] > 20 and check.state == "not_improved"


def test_a_quiet_minute_after_a_rare_error_is_not_yet_a_recovery() -> None:
    """Ten seconds without an error that came 30 times a minute prove little: no_data, not recovered."""
    since = datetime.now(UTC) - timedelta(seconds=5)
    ctx, cause, onset = _log_context(since, 0)
    result = asyncio.run(
        verify(
            ctx,
            [cause],
            [],
            onset=onset,
            since=since,
            budget=0.3,
            in_thread=_inline,
            emit=lambda *a, **k: None,
            interval=0.2,
        )
    )
    assert result.checks[0].state == "no_data" and result.outcome == "unverifiable"
