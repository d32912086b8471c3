"""The Claude stage of a run: four investigators in parallel, then the assessment and narrative.

:func:`run_llm_stage` is called by the pipeline after ``correlate`` with what the deterministic
investigators found. With Claude off (no key, ``llm = "off"``, ``--no-llm``, or no ``anthropic``
package) it returns at once, having imported nothing and connected nowhere. Otherwise:

1. one :class:`~incident_flow.llm.redaction.SafeText` for the run (stable placeholders across agents);
2. the seed's four investigations as agents on one ``AsyncAnthropic`` client, concurrently, each
   starting from the deterministic findings and the seed's prompt, with the run's sources as tools;
3. their checked findings are ranked with the deterministic ones, and one more request writes the
   assessment and the narrative, each validated and each falling back on its own;
4. tokens and the estimated cost go into the outcome and the audit trail.

It never raises for the API, the model or a source: whatever fails becomes a note, and the run
finishes on its deterministic findings.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incident_flow.correlate import correlate, settle_onset
from incident_flow.llm.agent import AgentResult, run_agent
from incident_flow.llm.client import ClaudeClient
from incident_flow.llm.cost import TokenBudget, TokenUsage, estimate_cost, price_for
from incident_flow.llm.outcome import AgentRun, DroppedClaim, LlmOutcome
from incident_flow.llm.prompts import Investigation, data_block, investigation
from incident_flow.llm.redaction import SafeText
from incident_flow.llm.settings import API_KEY_ENV, LlmSettings, availability
from incident_flow.llm.synthesis import SynthesisResult, synthesize
from incident_flow.llm.tools import SourceIndex, Toolbox
from incident_flow.model import Assessment, Change, Finding, Incident, RootCause
from incident_flow.timeutil import format_time

if TYPE_CHECKING:
    from incident_flow.context import InvestigationContext

__all__ = ["opening_turn", "run_llm_stage"]

_MAX_DIGEST_FINDINGS = 4
#: Which deterministic investigator speaks to which of the seed's investigations: an agent sees
#: its own side's findings first.
_SIDE = {"ops": "system", "debugger": "code", "performance": "performance", "security": "security"}
_PATH_PREFIX = re.compile(r"^\S*/(?=[^/\s]+:\d+:\s)")


def _short_line(line: str, limit: int = 300) -> str:
    """A deterministic evidence line without its folder (``checkout.log:1113: ...``), shortened."""
    line = _PATH_PREFIX.sub("", line, count=1)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _numeric_figures(figures: Mapping[str, Any], most: int = 4) -> dict[str, Any]:
    """The first few numeric figures: the checkable part, in few tokens."""
    out: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and len(out) < most:
            out[str(key)] = value
    return out


def _finding_digest(finding: Finding, *, lines: int = 1, summary: bool = False) -> dict[str, Any]:
    """A finding in few tokens: what, where, how sure, and its first evidence line and figures."""
    digest: dict[str, Any] = {
        "investigator": finding.investigator,
        "component": finding.component,
        "title": finding.title[:120],
        "confidence": round(finding.confidence, 2),
        "category": finding.category.value if finding.category else None,
    }
    if summary and finding.summary and finding.summary != finding.title:
        digest["summary"] = _cut(finding.summary, 160)
    for key, value in (
        ("symptom", finding.symptom or None),
        ("depends_on", finding.depends_on),
        ("onset", format_time(finding.onset) if finding.onset else None),
        (
            "change",
            {"id": finding.change.id, "summary": finding.change.summary[:120]} if finding.change else None,
        ),
    ):
        if value is not None:
            digest[key] = value
    evidence = finding.evidence[0]
    shown: dict[str, Any] = {"source": evidence.source}
    if lines and evidence.lines:
        shown["lines"] = [_short_line(line, 160) for line in evidence.lines[:lines]]
    figures = _numeric_figures(evidence.figures)
    if figures:
        shown["figures"] = figures
    digest["evidence"] = shown
    return digest


def _cause_digest(cause: RootCause) -> dict[str, Any]:
    # The summary and indicator repeat the findings behind the cause: left out to spare tokens.
    digest: dict[str, Any] = {
        "rank": cause.rank,
        "component": cause.component,
        "category": cause.category.value,
        "confidence": round(cause.confidence, 2),
    }
    if cause.change is not None:
        digest["change"] = {"id": cause.change.id, "summary": cause.change.summary[:120]}
    return digest


def _incident_digest(incident: Incident, ctx: InvestigationContext, pivot: datetime) -> dict[str, Any]:
    return {
        "description": incident.description,
        "severity_hint": incident.severity_hint.value if incident.severity_hint else None,
        "system": incident.system,
        "detected_at": format_time(incident.detected_at),
        "pivot": format_time(pivot),
    }


def _known_components(
    ctx: InvestigationContext, findings: Iterable[Finding], causes: Iterable[RootCause]
) -> list[str]:
    names: list[str] = []
    for name in [
        *ctx.components,
        *(c.component for c in causes),
        *(f.component for f in findings),
        *(f.depends_on for f in findings if f.depends_on),
        *([ctx.incident.system] if ctx.incident.system else []),
    ]:
        if name and name not in names:
            names.append(name)
    return names


def opening_turn(
    inv: Investigation,
    *,
    incident: Incident,
    ctx: InvestigationContext,
    findings: Sequence[Finding],
    causes: Sequence[RootCause],
    pivot: datetime,
    tools: Sequence[str],
    settings: LlmSettings,
    safe: SafeText,
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Change]]:
    """The first user turn (instruction, then data), its citable payload and the changes it names.

    The instruction is a fixed string; the description, findings and causes are data, redacted.
    """
    ranked = sorted(
        findings,
        key=lambda f: (_SIDE.get(f.investigator) != inv.key, -f.confidence, f.investigator, f.component),
    )
    shown_causes, shown_findings = causes[:3], ranked[:_MAX_DIGEST_FINDINGS]
    citable = safe.redact_value(
        {
            "causes": [_cause_digest(c) for c in shown_causes],
            "findings": [_finding_digest(f) for f in shown_findings],
        }
    )
    named = [*(c.change for c in shown_causes), *(f.change for f in shown_findings)]
    changes = {change.id: change for change in named if change is not None}
    payload = {
        "incident": safe.redact_value(_incident_digest(incident, ctx, pivot)),
        "components": safe.redact_value(_known_components(ctx, findings, causes)),
        **citable,
    }
    no_tools = "" if tools else " No source can be queried: judge from the findings alone."
    instruction = (
        f"{inv.prompt}\n\nThe data block holds the deterministic findings and ranked causes; the pivot "
        f"is the measured onset.{no_tools} At most {settings.max_steps} turns; end with report_findings."
    )
    blocks = [{"type": "text", "text": instruction}, {"type": "text", "text": data_block(payload)}]
    return blocks, citable, changes


def _synthesis_payload(
    incident: Incident,
    ctx: InvestigationContext,
    assessment: Assessment,
    findings: Sequence[Finding],
    causes: Sequence[RootCause],
    pivot: datetime,
    safe: SafeText,
) -> dict[str, Any]:
    ranked = sorted(findings, key=lambda f: (-f.confidence, f.investigator, f.component))
    return dict(
        safe.redact_value(
            {
                "incident": _incident_digest(incident, ctx, pivot),
                "deterministic_assessment": {
                    "severity": assessment.severity.value,
                    "category": assessment.category.value,
                    "affected_components": list(assessment.affected_components),
                    "user_impact": dict(assessment.user_impact),
                },
                "components": _known_components(ctx, findings, causes),
                "causes": [_cause_digest(c) for c in causes[:5]],
                "findings": [_finding_digest(f, lines=0, summary=True) for f in ranked[:5]],
            }
        )
    )


def _known_lines(findings: Iterable[Finding]) -> dict[str, set[str]]:
    from incident_flow.llm.citations import _strip_ref

    known: dict[str, set[str]] = {}
    for finding in findings:
        lines = known.setdefault(finding.component, set())
        for evidence in finding.evidence:
            lines.update(_strip_ref(_short_line(line, 10_000)) for line in evidence.lines)
    return known


def _status(agents: Sequence[AgentRun], synthesis: SynthesisResult, usage: TokenUsage) -> str:
    if usage.requests == 0:
        return "failed"
    if all(a.status == "ok" for a in agents) and synthesis.assessment and synthesis.narrative:
        return "ok"
    return "partial"


async def run_llm_stage(
    incident: Incident,
    ctx: InvestigationContext,
    findings: Sequence[Finding],
    assessment: Assessment,
    causes: Sequence[RootCause],
    settings: LlmSettings,
    *,
    http_client: Any = None,
    environ: Mapping[str, str] | None = None,
    onset: datetime | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> LlmOutcome:
    """Investigate further with Claude and write the narrative; see the module docstring.

    :param findings: the deterministic findings (the pipeline's, after the investigators).
    :param assessment: the measured assessment (``reassess`` after ``correlate``).
    :param causes: the ranked causes from ``correlate``.
    :param http_client: an ``httpx2.AsyncClient`` (or an ``httpx.AsyncClient``, bridged) for the
        SDK; tests pass one with a mock transport.
    :param environ: where ``ANTHROPIC_API_KEY`` is read (default ``os.environ``).
    :param onset: the settled onset (default: computed from ``causes`` and ``findings``); the tools
        split counts there.
    """
    started = clock()
    env = os.environ if environ is None else environ
    verdict = availability(settings, env)
    if not verdict.enabled:
        status = "unavailable" if verdict.problem else "off"
        return LlmOutcome(
            status=status, reason=verdict.reason, notes=(verdict.reason,) if verdict.problem else ()
        )
    safe = SafeText(redact_ips=settings.redact_ips)
    pivot = onset or settle_onset(causes, findings) or incident.detected_at
    index = SourceIndex(ctx, pivot)
    budget = TokenBudget(settings.max_run_tokens)
    notes: list[str] = []
    try:
        client = ClaudeClient(
            settings, env[API_KEY_ENV].strip(), http_client=http_client, sleep=sleep, clock=clock
        )
    except Exception as exc:  # a broken SDK install must not cost the report
        reason = f"Claude could not start: {type(exc).__name__}: {exc}"
        return LlmOutcome(status="failed", reason=reason, model=settings.model, notes=(reason,))
    ctx.audit(
        "llm.started",
        model=settings.model,
        investigations=list(settings.investigations),
        redact_ips=settings.redact_ips,
        budgets={
            "max_steps": settings.max_steps,
            "max_run_tokens": settings.max_run_tokens,
            "agent_timeout_s": settings.agent_timeout,
        },
    )
    agents: list[AgentRun] = []
    new_findings: list[Finding] = []
    dropped: list[DroppedClaim] = []
    usage = TokenUsage()
    synthesis = SynthesisResult()
    try:
        known = _known_lines(findings)
        jobs = []
        for key in settings.investigations:
            inv = investigation(key)
            toolbox = Toolbox(
                ctx.for_investigator(inv.investigator), index, safe, result_chars=settings.tool_result_chars
            )
            opening, citable, named = opening_turn(
                inv,
                incident=incident,
                ctx=ctx,
                findings=findings,
                causes=causes,
                pivot=pivot,
                tools=toolbox.names,
                settings=settings,
                safe=safe,
            )
            jobs.append(
                run_agent(
                    inv,
                    client=client,
                    toolbox=toolbox,
                    safe=safe,
                    settings=settings,
                    budget=budget,
                    opening=opening,
                    opening_payload=citable,
                    known_lines=known,
                    opening_changes=named,
                    clock=clock,
                )
            )
        results: list[AgentResult | BaseException] = await asyncio.gather(*jobs, return_exceptions=True)
        for key, result in zip(settings.investigations, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                agents.append(AgentRun(key, "failed", error=f"{type(result).__name__}: {result}"))
                continue
            agents.append(result.run)
            new_findings.extend(result.findings)
            dropped.extend(result.dropped)
            usage += result.usage
            notes.extend(result.notes)
        for run in agents:
            if run.status != "ok":
                notes.append(
                    f"Claude's {run.investigation} investigation ended without a report "
                    f"({run.status}: {run.error})."
                )
        all_findings = [*findings, *new_findings]
        ranked = correlate(all_findings) if new_findings else list(causes)
        synthesis = await synthesize(
            client=client,
            settings=settings,
            budget=budget,
            payload=_synthesis_payload(incident, ctx, assessment, all_findings, ranked, pivot, safe),
            base=assessment,
            causes=ranked,
            known_components=_known_components(ctx, all_findings, ranked),
            safe=safe,
            deadline=clock() + settings.synthesis_timeout,
            audit=ctx.audit,
        )
        usage += synthesis.usage
        notes.extend(synthesis.notes)
    finally:
        await client.close()
    cost = estimate_cost(usage, settings.model)
    if cost is None and usage.requests:
        notes.append(f"No price is on file for {settings.model}: the cost of this run is not estimated.")
    status = _status(agents, synthesis, usage)
    if status == "failed":
        notes.insert(
            0,
            "Claude could not be reached within the budget: the report rests on the deterministic findings.",
        )
    reason = (
        f"Claude ({settings.model}) investigated with the run's sources as tools."
        if status != "failed"
        else "Claude was enabled but no request succeeded."
    )
    outcome = LlmOutcome(
        status=status,
        reason=reason,
        model=settings.model,
        findings=new_findings,
        dropped=dropped,
        assessment=synthesis.assessment,
        narrative=synthesis.narrative,
        usage=usage,
        cost_usd=cost,
        agents=agents,
        notes=notes,
        redactions=safe.counts,
        duration_s=round(clock() - started, 3),
    )
    ctx.audit(
        "llm.finished",
        status=status,
        model=settings.model,
        usage=usage.to_dict(),
        estimated_cost_usd=cost,
        priced=price_for(settings.model) is not None,
        findings=len(new_findings),
        dropped=len(dropped),
        redactions=dict(safe.counts),
        duration_s=outcome.duration_s,
    )
    return outcome
