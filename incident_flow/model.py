"""The values that flow between the phases of a run.

Every type is frozen and validated at construction, so a phase can trust what it receives and a
plugin cannot hand the core a finding without evidence or a confidence outside 0..1.
``attrs.evolve`` makes a changed copy.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "Assessment",
    "Category",
    "Change",
    "Event",
    "Evidence",
    "Finding",
    "Incident",
    "InvestigatorRun",
    "InvestigatorStatus",
    "Mitigation",
    "Report",
    "RootCause",
    "Severity",
    "SourceProblem",
    "TimelineEvent",
    "format_offset",
]


class Severity(enum.StrEnum):
    """The seed's three levels; ordered so that ``max()`` picks the worse."""

    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


class Category(enum.StrEnum):
    """What kind of cause: decided by the cause, not by the symptom (see DESIGN.md's report rules)."""

    INFRASTRUCTURE = "infrastructure"
    CODE = "code"
    PERFORMANCE = "performance"
    SECURITY = "security"


class InvestigatorStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"


def _aware(_inst: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{attribute.name} must carry a time zone, got naive {value.isoformat()}")


def _unit_interval(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"{attribute.name} must be within 0..1, got {value!r}")


def _non_empty(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value or not value.strip():
        raise ValueError(f"{attribute.name} must not be empty")


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


def _str_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or ())


# Typed converters: mypy's attrs plugin cannot see through a bare ``converter=tuple``.
def _tuple_of_root_causes(value: Iterable[RootCause]) -> tuple[RootCause, ...]:
    return tuple(value)


def _tuple_of_findings(value: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(value)


def _tuple_of_mitigations(value: Iterable[Mitigation]) -> tuple[Mitigation, ...]:
    return tuple(value)


def _tuple_of_timeline(value: Iterable[TimelineEvent]) -> tuple[TimelineEvent, ...]:
    return tuple(value)


def _tuple_of_investigators(value: Iterable[InvestigatorRun]) -> tuple[InvestigatorRun, ...]:
    return tuple(value)


def _tuple_of_source_problems(value: Iterable[SourceProblem]) -> tuple[SourceProblem, ...]:
    return tuple(value)


def _tuple_of_extensions(value: Iterable[Mapping[str, str]]) -> tuple[Mapping[str, str], ...]:
    return tuple(dict(item) for item in value)


def _evidence(value: Iterable[Evidence]) -> tuple[Evidence, ...]:
    return tuple(value)


def format_offset(at: datetime, detected_at: datetime) -> str:
    """``T+4m`` / ``T-7m`` / ``T+0``: minutes from detection, as the seed's timeline writes them."""
    seconds = (at - detected_at).total_seconds()
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    if seconds < 60:
        return "T+0" if seconds < 30 else f"T{sign}1m"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"T{sign}{minutes}m"
    hours, rest = divmod(minutes, 60)
    return f"T{sign}{hours}h{rest:02d}m" if rest else f"T{sign}{hours}h"


@attrs.frozen
class Incident:
    """What was reported: the description, the declared severity and focus, and when it was detected."""

    id: str = attrs.field(validator=_non_empty)
    description: str = attrs.field(validator=_non_empty)
    detected_at: datetime = attrs.field(validator=_aware)
    severity_hint: Severity | None = attrs.field(default=None, converter=attrs.converters.optional(Severity))
    system: str | None = None


@attrs.frozen
class Evidence:
    """One checkable fact: where it came from, what was asked, the lines or figures that show it."""

    source: str = attrs.field(validator=_non_empty)
    kind: str = attrs.field(validator=_non_empty)
    summary: str = attrs.field(validator=_non_empty)
    at_from: datetime | None = attrs.field(default=None, validator=_aware)
    at_to: datetime | None = attrs.field(default=None, validator=_aware)
    query: str | None = None
    lines: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    figures: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)

    def __attrs_post_init__(self) -> None:
        if not self.lines and not self.figures and not self.query:
            raise ValueError("evidence needs something checkable: lines, figures or the query that found it")


@attrs.frozen
class Change:
    """A change that may have caused the incident: a commit, a deploy, a flag flip, a migration."""

    id: str = attrs.field(validator=_non_empty)
    summary: str
    at: datetime = attrs.field(validator=_aware)
    author: str | None = None
    kind: str = "commit"
    component: str | None = None
    files: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


@attrs.frozen
class Finding:
    """What one investigator concluded about one component, with the evidence that shows it.

    ``category`` is the kind of cause this finding points to if it is the cause; ``symptom`` marks a
    finding that shows how the incident looked (latency, error rates) rather than what caused it;
    ``depends_on`` names a component that this one's errors point at (the edge the ranking uses to
    tell a failed dependency from its callers); ``onset`` is when the investigator saw it start;
    ``mitigations`` are the steps the investigator proposes for what it found.
    """

    investigator: str = attrs.field(validator=_non_empty)
    component: str = attrs.field(validator=_non_empty)
    title: str = attrs.field(validator=_non_empty)
    summary: str
    confidence: float = attrs.field(converter=float, validator=_unit_interval)
    evidence: tuple[Evidence, ...] = attrs.field(converter=_evidence)
    category: Category | None = attrs.field(default=None, converter=attrs.converters.optional(Category))
    severity: Severity | None = attrs.field(default=None, converter=attrs.converters.optional(Severity))
    symptom: bool = False
    indicator: str | None = None
    onset: datetime | None = attrs.field(default=None, validator=_aware)
    change: Change | None = None
    depends_on: str | None = None
    #: Steps this investigator knows fit what it found (a DDL to review, a block rule...);
    #: they lead the report's mitigations when this finding's component is a leading cause.
    mitigations: tuple[Mitigation, ...] = attrs.field(default=(), converter=_tuple_of_mitigations)

    @evidence.validator
    def _has_evidence(self, _attribute: attrs.Attribute[Any], value: tuple[Evidence, ...]) -> None:
        if not value:
            raise ValueError(f"finding {self.title!r} has no evidence: a claim without evidence is dropped")
        for item in value:
            if not isinstance(item, Evidence):
                raise TypeError(f"evidence items must be Evidence, got {type(item).__name__}")


@attrs.frozen
class Assessment:
    """Phase 1: how bad, what kind, what is affected, what to do first."""

    severity: Severity = attrs.field(converter=Severity)
    category: Category = attrs.field(converter=Category)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    affected_components: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    user_impact: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    priority_actions: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    declared_severity: Severity | None = attrs.field(
        default=None, converter=attrs.converters.optional(Severity)
    )


@attrs.frozen
class RootCause:
    """A ranked hypothesis: rank 1 is the most likely cause."""

    rank: int = attrs.field(validator=attrs.validators.ge(1))
    component: str = attrs.field(validator=_non_empty)
    category: Category = attrs.field(converter=Category)
    summary: str
    confidence: float = attrs.field(converter=float, validator=_unit_interval)
    evidence: tuple[Evidence, ...] = attrs.field(converter=_evidence)
    indicator: str | None = None
    change: Change | None = None


@attrs.frozen
class Mitigation:
    """A step to restore service; ``command`` is an argument list, never a shell string."""

    action: str = attrs.field(validator=_non_empty)
    target: str
    rationale: str
    risk: str = attrs.field(validator=attrs.validators.in_(("low", "medium", "high")))
    requires_approval: bool = True
    command: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_str_tuple)
    )
    kind: str = attrs.field(default="immediate", validator=attrs.validators.in_(("immediate", "fix")))


@attrs.frozen
class TimelineEvent:
    at: datetime = attrs.field(validator=_aware)
    event: str = attrs.field(validator=_non_empty)
    source: str


@attrs.frozen
class InvestigatorRun:
    """How one investigator's run ended: the report says which ran, which failed and why."""

    name: str
    status: InvestigatorStatus = attrs.field(converter=InvestigatorStatus)
    duration_s: float = 0.0
    error: str | None = None
    findings: int = 0


@attrs.frozen
class SourceProblem:
    """A source that could not be read, and why: the report lists what was missing."""

    source: str
    error: str


@attrs.frozen
class Event:
    """A progress event, streamed to callbacks and to the ``on_event`` hook while a run goes on."""

    kind: str
    at: datetime
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen
class Report:
    """The outcome of a run. ``to_markdown()``/``to_json()`` live in :mod:`incident_flow.report`."""

    incident: Incident
    assessment: Assessment
    root_causes: tuple[RootCause, ...] = attrs.field(default=(), converter=_tuple_of_root_causes)
    findings: tuple[Finding, ...] = attrs.field(default=(), converter=_tuple_of_findings)
    mitigations: tuple[Mitigation, ...] = attrs.field(default=(), converter=_tuple_of_mitigations)
    timeline: tuple[TimelineEvent, ...] = attrs.field(default=(), converter=_tuple_of_timeline)
    investigators: tuple[InvestigatorRun, ...] = attrs.field(default=(), converter=_tuple_of_investigators)
    source_problems: tuple[SourceProblem, ...] = attrs.field(default=(), converter=_tuple_of_source_problems)
    notes: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    onset: datetime | None = attrs.field(default=None, validator=_aware)
    status: str = attrs.field(
        default="ongoing", validator=attrs.validators.in_(("resolved", "mitigated", "ongoing"))
    )
    audit: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    extensions: tuple[Mapping[str, str], ...] = attrs.field(default=(), converter=_tuple_of_extensions)
    #: What the optional Claude layer did (status, narrative, tokens, cost); empty when it was off.
    llm: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    generated_at: datetime | None = attrs.field(default=None, validator=_aware)

    def to_markdown(self) -> str:
        from incident_flow.report import render_markdown

        return render_markdown(self)

    def to_dict(self) -> dict[str, Any]:
        from incident_flow.report import report_to_dict

        return report_to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        from incident_flow.report import render_json

        return render_json(self, indent=indent)
