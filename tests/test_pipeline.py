"""The pipeline: investigators run concurrently, each failure stays with its investigator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from incident_flow import Evidence, Finding, Investigator, InvestigatorStatus, hookimpl
from incident_flow.api import arun_incident, run_incident
from incident_flow.audit import verify_trail
from incident_flow.config import Config, Settings
from incident_flow.context import InvestigationContext

AT = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)


def _finding(name: str, component: str, confidence: float = 0.7) -> Finding:
    return Finding(
        investigator=name,
        component=component,
        title=f"{component} is broken",
        summary=f"{component} is broken",
        confidence=confidence,
        evidence=[Evidence(source="test", kind="fixture", summary="a fixture", figures={"errors": 12})],
    )


class Plugin:
    """Registers the investigators given to it."""

    def __init__(self, *investigators: Investigator) -> None:
        self.investigators = investigators

    @hookimpl
    def register_investigators(self, register: Callable[[Investigator], None]) -> None:
        for investigator in self.investigators:
            register(investigator)


def _config(**settings: Any) -> Config:
    return Config(settings=Settings(**settings))


def good(ctx: InvestigationContext) -> list[Finding]:
    return [_finding("good", "orders")]


def raises(ctx: InvestigationContext) -> list[Finding]:
    raise RuntimeError("the datasource exploded")


def hangs(ctx: InvestigationContext) -> list[Finding]:
    time.sleep(30)
    return []


async def hangs_async(ctx: InvestigationContext) -> list[Finding]:
    await asyncio.sleep(30)
    return []


async def async_good(ctx: InvestigationContext) -> list[Finding]:
    return [_finding("async-good", "payments", 0.5)]


def test_a_failing_or_hanging_investigator_is_isolated() -> None:
    plugin = Plugin(
        Investigator(name="good", investigate=good),
        Investigator(name="raises", investigate=raises),
        Investigator(name="hangs", investigate=hangs, timeout=0.5),
        Investigator(name="hangs-async", investigate=hangs_async, timeout=0.5),
        Investigator(name="async-good", investigate=async_good),
    )
    started = time.monotonic()
    report = run_incident("Orders failing", config=_config(), at=AT, plugins=[plugin])
    elapsed = time.monotonic() - started
    assert elapsed < 10, "a hung investigator must be abandoned at its timeout"
    status = {run.name: run.status for run in report.investigators}
    assert status["good"] is InvestigatorStatus.OK
    assert status["async-good"] is InvestigatorStatus.OK
    assert status["raises"] is InvestigatorStatus.FAILED
    assert status["hangs"] is InvestigatorStatus.TIMED_OUT
    assert status["hangs-async"] is InvestigatorStatus.TIMED_OUT
    errors = {run.name: run.error for run in report.investigators}
    assert "the datasource exploded" in (errors["raises"] or "")
    assert {f.component for f in report.findings} == {"orders", "payments"}
    assert report.root_causes[0].component == "orders"


def test_the_phase_budget_bounds_the_investigation() -> None:
    plugin = Plugin(
        Investigator(name="hangs", investigate=hangs), Investigator(name="good", investigate=good)
    )
    config = _config(phase_budgets={"assess": 300.0, "investigate": 0.5, "mitigate": 900.0})
    started = time.monotonic()
    report = run_incident("Orders failing", config=config, at=AT, plugins=[plugin])
    assert time.monotonic() - started < 10
    assert any("budget" in note for note in report.notes)
    assert [f.component for f in report.findings] == ["orders"]


def test_an_investigator_returning_garbage_fails_alone() -> None:
    plugin = Plugin(
        Investigator(name="garbage", investigate=lambda ctx: ["not a finding"]),
        Investigator(name="good", investigate=good),
    )
    report = run_incident("Orders failing", config=_config(), at=AT, plugins=[plugin])
    runs = {r.name: r for r in report.investigators}
    assert runs["garbage"].status is InvestigatorStatus.FAILED
    assert "expected Finding" in (runs["garbage"].error or "")
    assert runs["good"].status is InvestigatorStatus.OK


def test_events_are_streamed_in_order() -> None:
    events: list[str] = []
    plugin = Plugin(Investigator(name="good", investigate=good))
    run_incident(
        "Orders failing", config=_config(), at=AT, plugins=[plugin], on_event=lambda e: events.append(e.kind)
    )
    assert events[0] == "run.started"
    assert events[-1] == "run.finished"
    assert "investigator.finished" in events
    phases = [e for e in events if e == "phase.started"]
    assert len(phases) == 4


def test_the_audit_trail_closes_with_the_hash_the_report_carries() -> None:
    plugin = Plugin(Investigator(name="good", investigate=good))
    report = run_incident("Orders failing", config=_config(), at=AT, plugins=[plugin])
    assert report.audit["error"] is None
    result = verify_trail(report.audit["path"], expected_final_hash=report.audit["final_hash"])
    assert result.ok, result.problem
    assert result.records == report.audit["records"]


def test_an_empty_environment_still_reports_from_the_description(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    report = run_incident("Website returning 502 errors for all users", severity="critical", at=AT)
    assert report.assessment.severity.value == "critical"
    assert report.root_causes == ()
    assert any("No sources are configured" in n for n in report.notes)


def test_arun_incident_runs_on_the_callers_loop() -> None:
    plugin = Plugin(Investigator(name="good", investigate=good))
    report = asyncio.run(arun_incident("Orders failing", config=_config(), at=AT, plugins=[plugin]))
    assert report.findings


def test_run_incident_works_inside_a_running_loop() -> None:
    async def handler() -> str:
        report = run_incident(
            "Orders failing",
            config=_config(),
            at=AT,
            plugins=[Plugin(Investigator(name="good", investigate=good))],
        )
        return report.findings[0].component

    assert asyncio.run(handler()) == "orders"


def test_detection_time_without_offset_is_utc() -> None:
    report = run_incident("Orders failing", config=_config(), at="2026-03-14T14:10:00")
    assert report.incident.detected_at == AT
    assert report.incident.detected_at - AT == timedelta(0)


@pytest.mark.parametrize("bad", ["2026-13-45", "yesterday"])
def test_a_bad_detection_time_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        run_incident("Orders failing", config=_config(), at=bad)
