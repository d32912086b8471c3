"""What the Claude stage hands back to the pipeline, and its JSON form for the report.

:class:`LlmOutcome` is a value like the rest of the model: the extra findings (already checked
against the evidence the model was shown), the claims that were dropped and why, an optional
assessment override and narrative, the tokens spent and their estimated price, one line per agent,
and notes for the report. :meth:`LlmOutcome.to_report_dict` is the ``llm`` object proposed for the
JSON report; :data:`REPORT_SCHEMA_FRAGMENT` is its JSON Schema (strict, like the rest of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from incident_flow.llm.cost import TokenUsage
from incident_flow.model import Finding, InvestigatorRun, InvestigatorStatus

if TYPE_CHECKING:
    from incident_flow.llm.synthesis import AssessmentOverride

__all__ = [
    "AGENT_STATUSES",
    "OUTCOME_STATUSES",
    "REPORT_SCHEMA_FRAGMENT",
    "AgentRun",
    "DroppedClaim",
    "LlmOutcome",
    "Narrative",
]

OUTCOME_STATUSES = ("off", "unavailable", "ok", "partial", "failed")
"""``off``: not enabled; ``unavailable``: asked for but no key or package; ``ok``: every agent and the
synthesis answered; ``partial``: some did; ``failed``: none did (the run is the offline one)."""

AGENT_STATUSES = ("ok", "no_report", "stopped", "timed_out", "budget", "refused", "failed")

DROP_REASONS = ("uncited", "invalid", "duplicate", "over_limit")
"""``uncited``: evidence not found verbatim in what the conversation showed; ``invalid``: the claim
breaks the Finding model; ``duplicate``: it restates a deterministic finding; ``over_limit``: more
findings than one investigation may add."""


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _int_map(value: Mapping[str, int]) -> dict[str, int]:
    return dict(value)


@attrs.frozen
class DroppedClaim:
    """A finding the model reported that did not make it into the report, and why."""

    investigation: str
    title: str
    component: str
    reason: str = attrs.field(validator=attrs.validators.in_(DROP_REASONS))
    detail: str = ""
    missing: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


@attrs.frozen
class AgentRun:
    """How one investigation's agent ended."""

    investigation: str
    status: str = attrs.field(validator=attrs.validators.in_(AGENT_STATUSES))
    steps: int = 0
    tool_calls: int = 0
    duration_s: float = 0.0
    findings: int = 0
    error: str | None = None


@attrs.frozen
class Narrative:
    """The report's prose written by Claude: a summary and lessons learned, validated."""

    summary: str
    lessons_learned: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


def _findings(value: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(value)


def _drops(value: Iterable[DroppedClaim]) -> tuple[DroppedClaim, ...]:
    return tuple(value)


def _agents(value: Iterable[AgentRun]) -> tuple[AgentRun, ...]:
    return tuple(value)


def _notes(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class LlmOutcome:
    """The Claude stage's result.

    ``reason`` is one line on whether Claude ran and why (or why not). ``notes`` are for the report;
    they are empty when Claude is off, so an offline run's report does not change at all.
    ``assessment`` is applied with ``outcome.assessment.apply(assessment)`` (see
    :class:`~incident_flow.llm.synthesis.AssessmentOverride`); ``narrative`` None means the report
    keeps its deterministic summary and lessons.
    """

    status: str = attrs.field(validator=attrs.validators.in_(OUTCOME_STATUSES))
    reason: str = ""
    model: str | None = None
    findings: tuple[Finding, ...] = attrs.field(default=(), converter=_findings)
    dropped: tuple[DroppedClaim, ...] = attrs.field(default=(), converter=_drops)
    assessment: AssessmentOverride | None = None
    narrative: Narrative | None = None
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    cost_usd: float | None = None
    agents: tuple[AgentRun, ...] = attrs.field(default=(), converter=_agents)
    notes: tuple[str, ...] = attrs.field(default=(), converter=_notes)
    redactions: Mapping[str, int] = attrs.field(factory=dict, converter=_int_map)
    duration_s: float = 0.0

    @property
    def ran(self) -> bool:
        """Whether anything was sent to the API."""
        return self.usage.requests > 0 or any(a.steps for a in self.agents)

    def investigator_runs(self) -> list[InvestigatorRun]:
        """One line per agent for the report's ``investigators`` table (``claude-system``...).

        The table's statuses are ok, failed, timed_out and skipped: an agent that ended without a
        report (steps, loop guard, token budget, refusal) shows as failed with the reason.
        """
        statuses = {"ok": InvestigatorStatus.OK, "timed_out": InvestigatorStatus.TIMED_OUT}
        return [
            InvestigatorRun(
                name=f"claude-{agent.investigation}",
                status=statuses.get(agent.status, InvestigatorStatus.FAILED),
                duration_s=agent.duration_s,
                error=None if agent.status == "ok" else f"{agent.status}: {agent.error or 'no report'}",
                findings=agent.findings,
            )
            for agent in self.agents
        ]

    def to_report_dict(self) -> dict[str, Any]:
        """The ``llm`` object of the JSON report (see :data:`REPORT_SCHEMA_FRAGMENT`)."""
        return {
            "status": self.status,
            "reason": self.reason,
            "model": self.model,
            "summary": self.narrative.summary if self.narrative else None,
            "lessons_learned": list(self.narrative.lessons_learned) if self.narrative else [],
            "assessment_source": "claude" if self.assessment is not None else "deterministic",
            "usage": self.usage.to_dict(),
            "estimated_cost_usd": self.cost_usd,
            "agents": [
                {
                    "investigation": a.investigation,
                    "status": a.status,
                    "steps": a.steps,
                    "tool_calls": a.tool_calls,
                    "duration_s": round(a.duration_s, 3),
                    "findings": a.findings,
                    "error": a.error,
                }
                for a in self.agents
            ],
            "dropped_claims": [
                {
                    "investigation": d.investigation,
                    "component": d.component,
                    "title": d.title,
                    "reason": d.reason,
                    "detail": d.detail,
                    "missing": list(d.missing),
                }
                for d in self.dropped
            ],
            "redactions": dict(self.redactions),
            "notes": list(self.notes),
        }


_INT = {"type": "integer", "minimum": 0}
_STR_OR_NULL = {"type": ["string", "null"]}

REPORT_SCHEMA_FRAGMENT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "status",
        "reason",
        "model",
        "summary",
        "lessons_learned",
        "assessment_source",
        "usage",
        "estimated_cost_usd",
        "agents",
        "dropped_claims",
        "redactions",
        "notes",
    ],
    "properties": {
        "status": {"enum": list(OUTCOME_STATUSES)},
        "reason": {"type": "string"},
        "model": _STR_OR_NULL,
        "summary": _STR_OR_NULL,
        "lessons_learned": {"type": "array", "items": {"type": "string"}},
        "assessment_source": {"enum": ["claude", "deterministic"]},
        "usage": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "requests",
                "input_tokens",
                "output_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            ],
            "properties": {
                "requests": _INT,
                "input_tokens": _INT,
                "output_tokens": _INT,
                "cache_creation_input_tokens": _INT,
                "cache_read_input_tokens": _INT,
            },
        },
        "estimated_cost_usd": {"type": ["number", "null"], "minimum": 0},
        "agents": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "investigation",
                    "status",
                    "steps",
                    "tool_calls",
                    "duration_s",
                    "findings",
                    "error",
                ],
                "properties": {
                    "investigation": {"type": "string"},
                    "status": {"enum": list(AGENT_STATUSES)},
                    "steps": _INT,
                    "tool_calls": _INT,
                    "duration_s": {"type": "number", "minimum": 0},
                    "findings": _INT,
                    "error": _STR_OR_NULL,
                },
            },
        },
        "dropped_claims": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["investigation", "component", "title", "reason", "detail", "missing"],
                "properties": {
                    "investigation": {"type": "string"},
                    "component": {"type": "string"},
                    "title": {"type": "string"},
                    "reason": {"enum": list(DROP_REASONS)},
                    "detail": {"type": "string"},
                    "missing": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "redactions": {"type": "object", "additionalProperties": _INT},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
"""The JSON Schema of the report's proposed ``llm`` property (draft 2020-12, strict)."""
