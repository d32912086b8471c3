"""The seed's step-1 assessment and the report's narrative, written by Claude and checked.

One request (no tools) asks for both, from the findings and causes already checked against the
evidence. Each half is validated on its own and falls back on its own to the deterministic text:

- **assessment**: severity and category from the seed's sets; Claude may raise the severity but
  never lower it below the measured one (a log line must not be able to talk an outage down); the
  category is taken only when a ranked cause has it (the category follows the cause); components
  only when the run knows them; figures in the user impact only when the data holds them;
- **narrative**: a summary and lessons learned whose every number appears in the data given, so a
  made-up figure sends the report back to its own text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from incident_flow.llm.citations import Shown
from incident_flow.llm.client import ClaudeClient, ClaudeUnavailable
from incident_flow.llm.cost import TokenBudget, TokenUsage
from incident_flow.llm.outcome import Narrative
from incident_flow.llm.prompts import (
    INCIDENT_REFERENCE,
    SYNTHESIS_PROMPT,
    SYNTHESIS_SYSTEM_PROMPT,
    data_block,
)
from incident_flow.llm.redaction import SafeText
from incident_flow.llm.settings import LlmSettings
from incident_flow.model import Assessment, Category, RootCause, Severity

__all__ = ["AssessmentOverride", "SynthesisResult", "parse_answer", "synthesize"]


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _any_map(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MAX_ACTIONS = 6


@attrs.frozen
class AssessmentOverride:
    """Claude's validated assessment, applied over the deterministic one by :meth:`apply`."""

    severity: Severity
    category: Category | None
    affected_components: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    user_impact: Mapping[str, Any] = attrs.field(factory=dict, converter=_any_map)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    priority_actions: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def apply(self, base: Assessment) -> Assessment:
        """``base`` with Claude's view laid over it; the worse severity and measured facts win."""
        affected = list(self.affected_components)
        affected += [name for name in base.affected_components if name not in affected]
        impact = dict(base.user_impact)
        for key, value in self.user_impact.items():
            impact.setdefault(key, value)
        actions = list(self.priority_actions)
        actions += [a for a in base.priority_actions if a not in actions]
        return attrs.evolve(
            base,
            severity=max(base.severity, self.severity),
            category=self.category or base.category,
            affected_components=affected,
            user_impact=impact,
            reasons=(*base.reasons, *(f"Claude: {r}" for r in self.reasons)),
            priority_actions=actions[:_MAX_ACTIONS],
        )


@attrs.frozen
class SynthesisResult:
    assessment: AssessmentOverride | None = None
    narrative: Narrative | None = None
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    notes: tuple[str, ...] = ()
    answered: bool = False


def parse_answer(text: str) -> Any:
    """The first JSON object in ``text`` (models sometimes wrap it in prose or a code fence)."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return value
    raise ValueError("no JSON object in the answer")


def _strings(value: Any, key: str, limit: int, most: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    out = [" ".join(v.split())[:limit] for v in value if v.strip()]
    return out[:most]


def _numbers_shown(text: str, shown: Shown) -> list[str]:
    """The numbers in ``text`` that the data did not contain (single digits are let through)."""
    missing = []
    for token in _NUMBER.findall(text):
        if len(token.replace(".", "").replace(",", "")) < 2:
            continue
        value = float(token.replace(",", "."))
        if not (shown.has_figure(value) or token in shown.corpus):
            missing.append(token)
    return missing


def check_assessment(
    raw: Any,
    *,
    base: Assessment,
    causes: Sequence[RootCause],
    known_components: Iterable[str],
    shown: Shown,
    safe: SafeText,
) -> AssessmentOverride:
    """Validate Claude's assessment; ValueError names what was wrong (then it falls back)."""
    if not isinstance(raw, Mapping):
        raise ValueError("assessment must be an object")
    try:
        severity = Severity(str(raw.get("severity", "")).lower())
    except ValueError:
        raise ValueError("severity must be critical, high or medium") from None
    try:
        category: Category | None = Category(str(raw.get("category", "")).lower())
    except ValueError:
        raise ValueError("category must be infrastructure, code, performance or security") from None
    if causes and category not in {c.category for c in causes}:
        category = None  # not backed by a ranked cause: the deterministic category stands
    known = set(known_components)
    affected = [
        safe.restore(c) for c in _strings(raw.get("affected_components", []), "affected_components", 120, 10)
    ]
    affected = [c for c in affected if c in known]
    impact_raw = raw.get("user_impact", {})
    if not isinstance(impact_raw, Mapping):
        raise ValueError("user_impact must be an object")
    impact: dict[str, Any] = {}
    for key, value in list(impact_raw.items())[:6]:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            continue
        text = str(value)[:300]
        if _numbers_shown(text, shown):
            continue  # a figure the data does not hold is not an impact we can state
        impact[str(key)[:60]] = safe.restore(text) if isinstance(value, str) else value
    actions = [
        safe.restore(a)
        for a in _strings(raw.get("priority_actions", []), "priority_actions", 300, _MAX_ACTIONS)
    ]
    if not actions:
        raise ValueError("priority_actions must list at least one action")
    reasons = [
        safe.restore(r)
        for r in _strings(raw.get("reasons", []), "reasons", 300, 4)
        if not _numbers_shown(r, shown)  # a reason that states a figure the data lacks is left out
    ]
    return AssessmentOverride(
        severity=max(severity, base.severity),
        category=category,
        affected_components=affected,
        user_impact=impact,
        reasons=reasons,
        priority_actions=actions,
    )


def check_narrative(raw: Any, *, shown: Shown, safe: SafeText) -> Narrative:
    """Validate the narrative; ValueError names what was wrong (then it falls back)."""
    if not isinstance(raw, Mapping):
        raise ValueError("narrative must be an object")
    summary = raw.get("summary")
    if not isinstance(summary, str) or len(summary.strip()) < 20:
        raise ValueError("summary must be a sentence or more")
    summary = " ".join(summary.split())
    if len(summary) > 1500:
        raise ValueError("summary is longer than 1500 characters")
    lessons = _strings(raw.get("lessons_learned", []), "lessons_learned", 300, 5)
    missing = _numbers_shown(" ".join([summary, *lessons]), shown)
    if missing:
        raise ValueError(f"numbers not in the data: {', '.join(missing[:5])}")
    return Narrative(summary=safe.restore(summary), lessons_learned=tuple(safe.restore(x) for x in lessons))


async def synthesize(
    *,
    client: ClaudeClient,
    settings: LlmSettings,
    budget: TokenBudget,
    payload: Mapping[str, Any],
    base: Assessment,
    causes: Sequence[RootCause],
    known_components: Iterable[str],
    safe: SafeText,
    deadline: float,
    audit: Any,
) -> SynthesisResult:
    """Ask for the assessment and the narrative; each half validated, each falling back alone."""
    shown = Shown()
    shown.add(payload)
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": SYNTHESIS_PROMPT.format(incident=INCIDENT_REFERENCE)},
                {"type": "text", "text": data_block(payload)},
            ],
        }
    ]
    params: dict[str, Any] = {
        "model": settings.model,
        "max_tokens": settings.max_output_tokens,
        "system": SYNTHESIS_SYSTEM_PROMPT,
        "messages": messages,
    }
    hold = len(json.dumps(params, default=str)) // 4 + settings.max_output_tokens
    if not budget.reserve(hold):
        return SynthesisResult(notes=("Claude's narrative was skipped: the run's token budget is spent.",))
    try:
        response = await client.create(
            deadline=deadline,
            on_retry=lambda info: audit("llm.retry", investigation="synthesis", **info),
            **params,
        )
    except ClaudeUnavailable as exc:
        budget.settle(hold)
        return SynthesisResult(notes=(f"Claude's assessment and narrative are missing: {exc}.",))
    except BaseException:
        budget.settle(hold)
        raise
    usage = TokenUsage.from_response(response.usage)
    budget.settle(hold, usage)
    audit(
        "llm.request",
        investigation="synthesis",
        step=1,
        stop_reason=response.stop_reason,
        usage=usage.to_dict(),
    )
    text = "".join(getattr(b, "text", "") for b in response.content if getattr(b, "type", None) == "text")
    notes: list[str] = []
    try:
        answer = parse_answer(text)
        if not isinstance(answer, Mapping):
            raise ValueError("the answer is not a JSON object")
    except ValueError as exc:
        notes.append(
            f"Claude's assessment and narrative were not valid JSON ({exc}): the deterministic text stands."
        )
        return SynthesisResult(usage=usage, notes=tuple(notes), answered=True)
    assessment: AssessmentOverride | None = None
    narrative: Narrative | None = None
    try:
        assessment = check_assessment(
            answer.get("assessment"),
            base=base,
            causes=causes,
            known_components=known_components,
            shown=shown,
            safe=safe,
        )
    except ValueError as exc:
        notes.append(f"Claude's assessment was invalid ({exc}): the deterministic assessment stands.")
    try:
        narrative = check_narrative(answer.get("narrative"), shown=shown, safe=safe)
    except ValueError as exc:
        notes.append(f"Claude's narrative was invalid ({exc}): the report keeps its deterministic text.")
    audit(
        "llm.synthesis",
        assessment="claude" if assessment else "deterministic",
        narrative="claude" if narrative else "deterministic",
        problems=notes,
    )
    return SynthesisResult(assessment, narrative, usage, tuple(notes), answered=True)
