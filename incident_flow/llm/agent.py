"""One Claude investigator: a bounded tool-use loop that ends in ``report_findings``.

The loop is the Messages API's: each response's ``tool_use`` blocks are answered by ``tool_result``
blocks keyed by their ``tool_use_id``, and the conversation goes on until the model calls
``report_findings`` (checked by :func:`~incident_flow.llm.citations.check_findings`), or a bound is
reached. The bounds, each ending the agent with what it has (nothing, unless it reported):

- **steps**: at most ``max_steps`` requests; the model is told when one turn is left;
- **time**: a wall-clock deadline; requests and tool calls get only what is left of it;
- **tokens**: the run's shared :class:`~incident_flow.llm.cost.TokenBudget`;
- **loops**: an identical repeated call is refused, and an A-B-A-B alternation stops the search
  (the model gets one turn to report).

The request is laid out for prompt caching: tools, then the system prompt, each marked
``cache_control: ephemeral`` (identical for the four agents, so they share one cache entry), and a
moving breakpoint on the newest user turn so that each step re-reads the conversation from cache.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from incident_flow.llm.citations import REPORT_FINDINGS_TOOL, Shown, check_findings
from incident_flow.llm.client import ClaudeClient, ClaudeUnavailable
from incident_flow.llm.cost import TokenBudget, TokenUsage
from incident_flow.llm.outcome import AgentRun, DroppedClaim
from incident_flow.llm.prompts import AGENT_SYSTEM_PROMPT, Investigation
from incident_flow.llm.redaction import SafeText
from incident_flow.llm.settings import LlmSettings
from incident_flow.llm.tools import Toolbox
from incident_flow.model import Change, Finding

__all__ = ["AgentResult", "LoopGuard", "run_agent"]

EPHEMERAL = {"type": "ephemeral"}


class LoopGuard:
    """Refuses identical repeated calls and stops A-B-A-B alternation.

    A model that repeats itself is stuck; answering again would only spend the budget. A refused
    call is answered with a message that says so; three refusals, or one alternation, stop the
    search and leave the model one turn to report.
    """

    MAX_REFUSALS = 3

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refusals = 0
        self.stopped = False

    def check(self, name: str, arguments: Any) -> str | None:
        """None to let the call through, or the message that refuses it."""
        key = name + json.dumps(arguments, sort_keys=True, default=str)
        history = self.calls
        self.calls = [*history, key]
        seq = self.calls
        if len(seq) >= 4 and seq[-1] == seq[-3] and seq[-2] == seq[-4] and seq[-1] != seq[-2]:
            self.stopped = True
            return (
                "Stopped: you are alternating between the same two calls. Call report_findings now "
                "with what the evidence already shows."
            )
        if key in history:
            self.refusals += 1
            if self.refusals >= self.MAX_REFUSALS:
                self.stopped = True
                return "Stopped: too many repeated calls. Call report_findings now with what you have."
            return (
                "Refused: this exact call was already answered above and its result has not changed. "
                "Change or narrow the query, or call report_findings."
            )
        return None


@attrs.frozen
class AgentResult:
    """What one agent produced, and what it cost."""

    run: AgentRun
    findings: tuple[Finding, ...] = ()
    dropped: tuple[DroppedClaim, ...] = ()
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    notes: tuple[str, ...] = ()


def _with_breakpoints(messages: Sequence[Mapping[str, Any]]) -> list[Any]:
    """A copy of ``messages`` with a cache breakpoint on the last block of the newest user turn."""
    out: list[Any] = list(messages)
    for i in range(len(out) - 1, -1, -1):
        message = out[i]
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list) and content:
            last = content[-1]
            if isinstance(last, Mapping):
                out[i] = {**message, "content": [*content[:-1], {**last, "cache_control": EPHEMERAL}]}
            break
    return out


def request_prefix(tools: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The cached part of every agent request: tools (breakpoint on the last) and the system prompt."""
    cached_tools = [dict(t) for t in tools]
    if cached_tools:
        cached_tools[-1] = {**cached_tools[-1], "cache_control": EPHEMERAL}
    system = [{"type": "text", "text": AGENT_SYSTEM_PROMPT, "cache_control": EPHEMERAL}]
    return cached_tools, system


def _estimate_tokens(params: Mapping[str, Any]) -> int:
    """Characters / 4 of what a request will carry: the budget's pre-check, not a bill."""
    return len(json.dumps(params, default=str)) // 4


async def run_agent(
    investigation: Investigation,
    *,
    client: ClaudeClient,
    toolbox: Toolbox,
    safe: SafeText,
    settings: LlmSettings,
    budget: TokenBudget,
    opening: Sequence[Mapping[str, Any]],
    opening_payload: Any,
    known_lines: Mapping[str, set[str]],
    opening_changes: Mapping[str, Change] | None = None,
    clock: Any = time.monotonic,
) -> AgentResult:
    """Run one investigation's conversation to its end; never raises for the API or the model.

    ``opening`` is the first user turn's content blocks (instructions and the data block);
    ``opening_payload`` the data it showed, which the model may cite like a tool result, and
    ``opening_changes`` the changes it named, which a finding may link by id.
    """
    started = clock()
    deadline = started + settings.agent_timeout
    ctx = toolbox.ctx
    tools = [*toolbox.specs(), REPORT_FINDINGS_TOOL]
    cached_tools, system = request_prefix(tools)
    shown = Shown()
    shown.add(opening_payload)
    shown.changes.update(opening_changes or {})
    guard = LoopGuard()
    messages: list[Any] = [{"role": "user", "content": list(opening)}]
    usage = TokenUsage()
    steps = tool_calls = 0
    nudged = False
    stop_after: int | None = None  # once the loop guard stops the search: the last step allowed
    notes: list[str] = []
    source_names = {s.name for s in _all_sources(toolbox)}

    def finish(status: str, error: str | None = None, report: Any = None) -> AgentResult:
        findings = tuple(report.findings) if report is not None else ()
        dropped = tuple(report.dropped) if report is not None else ()
        run = AgentRun(
            investigation=investigation.key,
            status=status,
            steps=steps,
            tool_calls=tool_calls,
            duration_s=round(clock() - started, 3),
            findings=len(findings),
            error=error,
        )
        ctx.audit(
            "llm.agent",
            investigation=investigation.key,
            status=status,
            steps=steps,
            tool_calls=tool_calls,
            findings=len(findings),
            dropped=[{"title": d.title, "reason": d.reason, "missing": list(d.missing)} for d in dropped],
            usage=usage.to_dict(),
            error=error,
        )
        return AgentResult(run, findings, dropped, usage, tuple(notes))

    while True:
        if stop_after is not None and steps >= stop_after:
            return finish("stopped", "repeated tool calls: the search was stopped and no report followed")
        if steps >= settings.max_steps:
            return finish(
                "no_report", f"the step budget ({settings.max_steps}) ran out before report_findings"
            )
        if clock() >= deadline:
            return finish("timed_out", f"no report within {settings.agent_timeout:g}s")
        params: dict[str, Any] = {
            "model": settings.model,
            "max_tokens": settings.max_output_tokens,
            "system": system,
            "tools": cached_tools,
            "messages": _with_breakpoints(messages),
        }
        # The whole output allowance is held: a long answer must not overshoot the ceiling.
        hold = _estimate_tokens(params) + settings.max_output_tokens
        if not budget.reserve(hold):
            return finish("budget", f"the run's token budget ({budget.limit}) is spent")
        steps += 1
        sent = clock()
        try:
            response = await client.create(
                deadline=deadline,
                on_retry=lambda info: ctx.audit("llm.retry", investigation=investigation.key, **info),
                **params,
            )
        except ClaudeUnavailable as exc:
            budget.settle(hold)
            return finish("failed", str(exc))
        except BaseException:
            budget.settle(hold)
            raise
        spent = TokenUsage.from_response(response.usage)
        usage += spent
        budget.settle(hold, spent)
        ctx.audit(
            "llm.request",
            investigation=investigation.key,
            step=steps,
            model=getattr(response, "model", settings.model),
            stop_reason=response.stop_reason,
            usage=spent.to_dict(),
            duration_s=round(clock() - sent, 3),
        )
        messages.append(response.to_param())
        if response.stop_reason == "refusal":
            return finish("refused", "the model declined to continue")
        calls = [block for block in response.content if getattr(block, "type", None) == "tool_use"]
        if not calls:
            if stop_after is not None:
                return finish("stopped", "repeated tool calls: the search was stopped and no report followed")
            if nudged:
                return finish("no_report", "the model ended without calling report_findings")
            nudged = True
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "Call report_findings now (an empty list if nothing new is supported "
                            "by evidence).",
                        }
                    ],
                }
            )
            continue
        results: list[dict[str, Any]] = []
        report = None
        for block in calls:
            if block.name == REPORT_FINDINGS_TOOL["name"]:
                checked = check_findings(
                    block.input,
                    investigation=investigation.key,
                    investigator=investigation.investigator,
                    shown=shown,
                    safe=safe,
                    source_names=source_names,
                    known_lines=known_lines,
                )
                if checked.error is not None:
                    results.append(_result(block.id, f"Invalid report_findings input: {checked.error}", True))
                    continue
                report = checked
                break
            tool_calls += 1
            was_stopped = guard.stopped
            refusal = guard.check(block.name, block.input)
            if was_stopped:
                refusal = "Stopped: the search is over. Call report_findings now."
            if refusal is not None:
                results.append(_result(block.id, refusal, True))
                continue
            outcome = await toolbox.call(block.name, block.input, timeout=max(deadline - clock(), 0.01))
            if not outcome.is_error:
                shown.add(outcome.payload)
                shown.changes.update(outcome.changes)
            results.append(_result(block.id, outcome.text, outcome.is_error))
        if report is not None:
            if report.dropped:
                notes.append(
                    f"Claude's {investigation.key} investigation: {len(report.dropped)} claim(s) dropped "
                    f"({', '.join(sorted({d.reason for d in report.dropped}))})."
                )
            return finish("ok", report=report)
        if guard.stopped and stop_after is None:
            stop_after = steps + 1
        if steps == settings.max_steps - 1 or guard.stopped:
            results.append({"type": "text", "text": "One turn left: call report_findings now."})
        messages.append({"role": "user", "content": results})


def _result(tool_use_id: str, text: str, is_error: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": text}
    if is_error:
        block["is_error"] = True
    return block


def _all_sources(toolbox: Toolbox) -> list[Any]:
    from incident_flow.sources import Source

    return toolbox.ctx.sources(Source)
