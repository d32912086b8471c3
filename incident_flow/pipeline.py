"""The four phases as one run: assess, investigate, correlate, mitigate (and verify), report.

Each phase is a function from values to values (see :mod:`incident_flow.assess`,
:mod:`incident_flow.correlate`, :mod:`incident_flow.mitigate`); this module only sequences them,
runs the investigators concurrently under their time budgets, hands the approvable steps to the
approval gate (:mod:`incident_flow.actions.gate`), re-checks the signals after an action ran
(:mod:`incident_flow.verify`), and keeps the audit trail.
Investigators that are plain functions run in daemon threads: a hung one is abandoned at its
timeout and never keeps the process alive, which ``asyncio.to_thread`` could not promise.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from incident_flow import __version__
from incident_flow.actions import ActionContext, is_replay
from incident_flow.actions.gate import Approver, carry_out, plan
from incident_flow.assess import assess_description, reassess
from incident_flow.audit import AuditTrail
from incident_flow.config import Config, ConfigError, build_source_specs
from incident_flow.context import InvestigationContext, RunState
from incident_flow.correlate import NOTABLE, correlate, settle_onset
from incident_flow.impact import measure_impact
from incident_flow.investigators import Investigator
from incident_flow.logger import get_logger
from incident_flow.mitigate import propose_mitigations
from incident_flow.model import (
    Event,
    Finding,
    Incident,
    InvestigatorRun,
    InvestigatorStatus,
    Mitigation,
    Report,
    RootCause,
    SourceProblem,
    TimelineEvent,
    Verification,
)
from incident_flow.plugins import PluginHost
from incident_flow.sources import LogSource, Source, SourceError
from incident_flow.verify import verify

__all__ = ["EventListener", "build_sources", "checked_findings", "execute"]

EventListener = Callable[[Event], None]
log = get_logger(__name__)


def build_sources(
    config: Config, host: PluginHost, detected_at: datetime
) -> tuple[list[Source], list[SourceProblem]]:
    """Build each configured source; one that cannot start is a problem, not a failed run.

    A :class:`ConfigError` (a bad option value a source type found) still stops the run: the user
    must fix the file, so it is re-raised naming the file and the key as the loader names them.
    """
    types = host.source_types()
    sources: list[Source] = []
    problems: list[SourceProblem] = []
    for written, spec in zip(config.sources, build_source_specs(config), strict=True):
        source_type = types.get(spec.type)
        if source_type is None:
            problems.append(SourceProblem(spec.name, f"no plugin provides source type {spec.type!r}"))
            continue
        try:
            source = source_type.factory(spec)
        except ConfigError as exc:
            if exc.path is not None:
                raise
            key = (exc.key or "").removeprefix(f"sources.{spec.name}.")
            raise ConfigError(config.path, f"sources[{written.index}].{key}", exc.message) from None
        except (SourceError, OSError) as exc:
            problems.append(SourceProblem(spec.name, str(exc)))
            continue
        if hasattr(source, "reference_time"):
            source.reference_time = detected_at  # year-less syslog times resolve near detection
        sources.append(source)
    return sources, problems


def _known_components(config: Config) -> list[str]:
    names = list(config.components)
    for source in config.sources:
        component = source.options.get("component")
        if isinstance(component, str) and component not in names:
            names.append(component)
    return names


class _Dispatcher:
    """Delivers events to listeners on the loop's thread, whichever thread emitted them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: PluginHost, listeners: Sequence[EventListener]):
        self._loop = loop
        self._host = host
        self._listeners = listeners
        self._thread = threading.get_ident()

    def __call__(self, event: Event) -> None:
        if threading.get_ident() == self._thread:
            self._deliver(event)
        else:
            self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:
        self._host.emit(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception as exc:  # a listener's bug must not stop the run
                log.warning("event listener raised", error=f"{type(exc).__name__}: {exc}")


async def _in_thread(func: Callable[[], Any]) -> Any:
    """Run ``func`` in a daemon thread; awaiting it can time out without joining the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def deliver(result: Any, error: BaseException | None) -> None:
        # The run may have ended (loop closed) before this abandoned thread finished.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    def target() -> None:
        try:
            result = func()
        except BaseException as exc:
            deliver(None, exc)
        else:
            deliver(result, None)

    threading.Thread(target=target, name="incident-flow-investigator", daemon=True).start()
    return await future


def checked_findings(result: Any, investigator: str) -> list[Finding]:
    """An investigator's return value as a list of findings stamped with its name, or TypeError."""
    if result is None:
        return []
    if not isinstance(result, Iterable):
        raise TypeError(f"returned {type(result).__name__}, expected an iterable of Finding")
    findings: list[Finding] = []
    for item in result:
        if not isinstance(item, Finding):
            raise TypeError(f"returned a {type(item).__name__} among its findings, expected Finding")
        findings.append(
            item if item.investigator == investigator else attrs.evolve(item, investigator=investigator)
        )
    return findings


async def _run_investigator(
    investigator: Investigator, ctx: InvestigationContext, timeout: float
) -> tuple[InvestigatorRun, list[Finding]]:
    started = time.monotonic()
    ctx.emit("investigator.started", timeout_s=timeout)
    status, error, findings = InvestigatorStatus.OK, None, []
    try:
        if inspect.iscoroutinefunction(investigator.investigate):
            result = await asyncio.wait_for(investigator.investigate(ctx), timeout)
            findings = checked_findings(result, investigator.name)
        else:
            findings = await asyncio.wait_for(
                _in_thread(lambda: checked_findings(investigator.investigate(ctx), investigator.name)),
                timeout,
            )
    except TimeoutError:
        status, error = InvestigatorStatus.TIMED_OUT, f"no answer within {timeout:g}s"
    except Exception as exc:
        status, error = InvestigatorStatus.FAILED, f"{type(exc).__name__}: {exc}"
    duration = round(time.monotonic() - started, 3)
    run = InvestigatorRun(
        name=investigator.name, status=status, duration_s=duration, error=error, findings=len(findings)
    )
    for finding in findings:
        ctx.audit("finding", title=finding.title, component=finding.component, confidence=finding.confidence)
    ctx.audit("investigator.finished", status=status.value, duration_s=duration, error=error)
    ctx.emit(
        "investigator.finished", status=status.value, duration_s=duration, error=error, findings=len(findings)
    )
    return run, findings


async def _impact(
    ctx: InvestigationContext, onset: datetime | None, timeout: float, notes: list[str]
) -> dict[str, Any]:
    """Impact figures from the logs since the onset, in a worker thread under a time limit."""
    if onset is None or not ctx.sources(LogSource):
        return {}
    try:
        result: dict[str, Any] = await asyncio.wait_for(
            _in_thread(lambda: measure_impact(ctx.log_records(since=onset), onset)), timeout
        )
    except TimeoutError:
        notes.append(
            f"Impact was not measured: reading the logs since the onset took more than {timeout:g}s."
        )
        return {}
    return result


def _timeline(
    incident: Incident, onset: datetime | None, findings: Sequence[Finding], causes: Sequence[RootCause]
) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    if onset is not None:
        lead = f" in {causes[0].component}" if causes else ""
        events.append(TimelineEvent(at=onset, event=f"Onset: first anomaly{lead}", source="correlate"))
    events.append(
        TimelineEvent(at=incident.detected_at, event="Detection: incident reported", source="incident")
    )
    seen: set[tuple[str, str]] = set()
    for finding in findings:
        key = (finding.component, finding.title)
        if finding.onset is None or finding.confidence < NOTABLE or key in seen:
            continue
        seen.add(key)
        events.append(
            TimelineEvent(
                at=finding.onset, event=f"{finding.component}: {finding.title}", source=finding.investigator
            )
        )
    for change in {f.change for f in findings if f.change is not None and f.confidence >= NOTABLE}:
        events.append(
            TimelineEvent(
                at=change.at, event=f"Change {change.id[:12]}: {change.summary}", source=change.kind
            )
        )
    return sorted(events, key=lambda e: e.at)


async def execute(
    incident: Incident,
    config: Config,
    host: PluginHost,
    *,
    listeners: Sequence[EventListener] = (),
    only: Sequence[str] | None = None,
    llm_http_client: Any = None,
    approve: Approver | None = None,
    dry_run: bool = False,
    replay: bool | None = None,
) -> Report:
    """Run every phase for ``incident`` with ``config``'s sources and ``host``'s plugins.

    ``approve`` is asked about each step an action can carry out (none runs without it);
    ``dry_run`` asks for dry runs only; ``replay`` (default: detection more than
    :data:`~incident_flow.actions.REPLAY_AFTER` before now) forbids every action.
    """
    trail = AuditTrail.open(config.settings.audit_dir, incident.id, incident=incident, version=__version__)
    started = datetime.now(UTC)
    gate = _GateOptions(
        approve=approve,
        dry_run=dry_run,
        replay=is_replay(incident.detected_at, started) if replay is None else replay,
    )
    try:
        return await _phases(
            trail,
            incident,
            config,
            host,
            listeners=listeners,
            only=only,
            llm_http_client=llm_http_client,
            gate=gate,
        )
    except BaseException as exc:
        # Ctrl-C cancels the run's task, an embedder may cancel it, a bug may raise: the trail
        # still ends with a close record, so it verifies and says why the run stopped.
        if not trail.closed:
            trail.record("run.interrupted", reason=type(exc).__name__, detail=str(exc)[:500])
            trail.close()
        raise


@attrs.frozen
class _GateOptions:
    approve: Approver | None
    dry_run: bool
    replay: bool


def _executed_events(steps: Sequence[Mitigation]) -> list[TimelineEvent]:
    events = []
    for step in steps:
        execution = step.execution
        if execution is None or execution.at is None or execution.status == "refused":
            continue
        what = {
            "executed": "Mitigation executed",
            "dry_run": "Mitigation dry-run (nothing changed)",
            "failed": "Mitigation failed",
        }[execution.status]
        by = f", approved by {execution.approved_by}" if execution.approved_by else ""
        events.append(
            TimelineEvent(
                at=execution.at,
                event=f"{what}: {step.id} ({step.action}){by}",
                source=f"action:{step.executor}",
            )
        )
    return events


def _verified_event(verification: Verification) -> TimelineEvent:
    text = {
        "recovered": "Verified: the incident's signals are back within their baselines",
        "improved": "Verification: the incident's signals improved but are not back within their baselines",
        "not_recovered": "Verification: the incident's signals are not back within their baselines",
        "unverifiable": "Verification: the incident's signals could not be re-checked",
    }[verification.outcome]
    rounds = f" ({verification.rounds} check(s))" if verification.rounds else ""
    return TimelineEvent(at=verification.finished_at, event=text + rounds, source="verify")


async def _mitigate(
    trail: AuditTrail,
    incident: Incident,
    config: Config,
    host: PluginHost,
    sources: Sequence[Source],
    causes: Sequence[RootCause],
    findings: Sequence[Finding],
    gate: _GateOptions,
    emit: Callable[..., None],
    notes: list[str],
) -> list[Mitigation]:
    """Propose (pure), let the actions claim and add steps, then ask and run what is approved."""
    proposed = propose_mitigations(causes, findings)
    actions = host.actions()
    actx = ActionContext(
        incident=incident,
        causes=tuple(causes),
        findings=tuple(findings),
        config=config,
        sources=tuple(sources),
        audit=trail.record,
    )
    steps = plan(proposed, actions, actx, notes)
    steps = await carry_out(
        steps,
        actions,
        actx,
        approve=gate.approve,
        dry_run=gate.dry_run,
        replay=gate.replay,
        budget=config.settings.phase_budgets.get("mitigate", 900.0),
        in_thread=_in_thread,
        emit=emit,
        notes=notes,
    )
    trail.record(
        "mitigations",
        proposed=[m.action for m in steps],
        ids=[m.id for m in steps],
        executable=[m.id for m in steps if m.executor is not None],
        executed=[m.id for m in steps if m.executed],
        replay=gate.replay,
    )
    return steps


async def _phases(
    trail: AuditTrail,
    incident: Incident,
    config: Config,
    host: PluginHost,
    *,
    listeners: Sequence[EventListener],
    only: Sequence[str] | None,
    llm_http_client: Any,
    gate: _GateOptions,
) -> Report:
    """The phases themselves, writing to an open audit trail."""
    settings = config.settings
    dispatch = _Dispatcher(asyncio.get_running_loop(), host, listeners)
    notes: list[str] = []

    def emit(kind: str, **data: Any) -> None:
        dispatch(Event(kind=kind, at=datetime.now(UTC), data=data))

    emit("run.started", incident=incident.id, description=incident.description)
    sources, problems = build_sources(config, host, incident.detected_at)
    trail.record(
        "sources", built=[s.describe() for s in sources], problems=[attrs.asdict(p) for p in problems]
    )
    state = RunState(sources, audit=trail.record, emit=dispatch)
    for problem in problems:
        state.problem(problem.source, problem.error)

    emit("phase.started", phase="assess")
    initial = assess_description(incident, _known_components(config))
    trail.record(
        "assessment", stage="description", severity=initial.severity.value, reasons=list(initial.reasons)
    )

    emit("phase.started", phase="investigate")
    ctx = InvestigationContext(incident, settings, state, components=config.components)
    investigators = host.investigators()
    selected = [inv for name, inv in sorted(investigators.items()) if only is None or name in only]
    budget = settings.phase_budgets.get("investigate", 600.0)
    runs: list[InvestigatorRun] = []
    findings: list[Finding] = []
    if selected:
        tasks = [
            _run_investigator(
                inv, ctx.for_investigator(inv.name), min(inv.timeout or settings.investigator_timeout, budget)
            )
            for inv in selected
        ]
        for run, found in await asyncio.gather(*tasks):
            runs.append(run)
            findings.extend(found)
        if any(r.status is InvestigatorStatus.TIMED_OUT and r.duration_s >= budget for r in runs):
            notes.append(
                f"The investigate phase ran out of its {budget:g}s budget; "
                "timed-out investigators gave nothing."
            )
    else:
        notes.append("No investigator is installed: the report rests on the description alone.")
    # A plugin that failed to load, validate or register shows as a skipped investigator.
    for failure in host.failures:
        if failure.skipped:
            runs.append(
                InvestigatorRun(name=failure.plugin, status=InvestigatorStatus.SKIPPED, error=failure.error)
            )

    emit("phase.started", phase="correlate")
    causes = correlate(findings)
    onset = settle_onset(causes, findings)
    for cause in causes:
        trail.record(
            "root_cause",
            rank=cause.rank,
            component=cause.component,
            category=cause.category.value,
            confidence=cause.confidence,
            change=cause.change.id if cause.change else None,
        )
    assessment = reassess(initial, causes, findings)
    llm: dict[str, Any] = {}
    if settings.llm.mode != "off":
        from incident_flow.llm.stage import run_llm_stage

        outcome = await run_llm_stage(
            incident,
            ctx,
            findings,
            assessment,
            causes,
            settings.llm,
            onset=onset,
            http_client=llm_http_client,
        )
        if outcome.findings:
            findings = [*findings, *outcome.findings]
            causes = correlate(findings)
            onset = settle_onset(causes, findings)
            assessment = reassess(initial, causes, findings)
        if outcome.assessment is not None:
            assessment = outcome.assessment.apply(assessment)
        runs.extend(outcome.investigator_runs())
        notes.extend(outcome.notes)
        if outcome.status != "off":
            llm = outcome.to_report_dict()
    identified_at = datetime.now(UTC)  # the ranking is settled: "root cause identified"
    impact = await _impact(ctx, onset, settings.investigator_timeout, notes)
    if impact:
        assessment = attrs.evolve(assessment, user_impact={**assessment.user_impact, **impact})
    trail.record(
        "assessment",
        stage="measured",
        severity=assessment.severity.value,
        reasons=list(assessment.reasons),
        user_impact=dict(assessment.user_impact),
    )

    emit("phase.started", phase="mitigate")
    mitigations = await _mitigate(trail, incident, config, host, sources, causes, findings, gate, emit, notes)
    timeline = _timeline(incident, onset, findings, causes) + _executed_events(mitigations)
    verification: Verification | None = None
    executed = [m.execution.at for m in mitigations if m.executed and m.execution and m.execution.at]
    if executed:
        # Verification waits only after an action ran; a replay never gets here (nothing runs).
        emit("phase.started", phase="verify")
        verification = await verify(
            ctx.for_investigator("verify"),
            causes,
            findings,
            onset=onset,
            since=max(executed),
            budget=settings.phase_budgets.get("verify", 900.0),
            in_thread=_in_thread,
            emit=emit,
        )
        timeline.append(_verified_event(verification))
    status = (
        "ongoing"
        if verification is None
        else "resolved"
        if verification.outcome == "recovered"
        else "mitigated"
    )
    if not sources and not config.sources:
        notes.append("No sources are configured: add an incident-flow.toml to investigate telemetry.")

    report = Report(
        incident=incident,
        assessment=assessment,
        root_causes=causes,
        findings=sorted(findings, key=lambda f: (-f.confidence, f.investigator, f.component)),
        mitigations=mitigations,
        timeline=sorted(timeline, key=lambda e: e.at),
        investigators=runs,
        source_problems=state.problems(),
        notes=notes,
        onset=onset,
        status=status,
        llm=llm,
        generated_at=datetime.now(UTC),
        verification=verification,
    )
    from incident_flow.followup import with_followups  # phase 4's follow-ups (see followup.py)

    report = with_followups(
        report, sources, config.components, settings.lookback, ctx.metric_series, identified_at
    )
    report = attrs.evolve(report, extensions=host.extend_report(report))
    hook_failures = [f"Plugin {f.plugin}: {f.error}" for f in host.failures if not f.skipped]
    if hook_failures:
        report = attrs.evolve(report, notes=(*report.notes, *hook_failures))
    for source in sources:
        try:
            source.close()
        except Exception as exc:  # closing must never lose the report
            log.warning("source close failed", source=source.name, error=str(exc))
    summary = trail.close()
    audit: Mapping[str, Any] = {
        "path": str(summary.path) if summary.path else None,
        "records": summary.records,
        "final_hash": summary.final_hash,
        "error": summary.error,
    }
    report = attrs.evolve(report, audit=audit)
    emit("run.finished", incident=incident.id, root_causes=len(causes))
    return report
