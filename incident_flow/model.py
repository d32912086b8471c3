"""The values that flow between the phases of a run.

Every type is frozen and validated at construction, so a phase can trust what it receives and a
plugin cannot hand the core a finding without evidence or a confidence outside 0..1.
``attrs.evolve`` makes a changed copy.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

__all__ = [
    "ActionItem",
    "ActionRequest",
    "ActionResult",
    "AlertRule",
    "Approval",
    "Assessment",
    "Category",
    "Change",
    "Event",
    "Evidence",
    "Execution",
    "Finding",
    "Incident",
    "InvestigatorRun",
    "InvestigatorStatus",
    "Mitigation",
    "Report",
    "RootCause",
    "Severity",
    "SignalCheck",
    "SourceProblem",
    "TimelineEvent",
    "Verification",
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


def _tuple_of_action_items(value: Iterable[ActionItem]) -> tuple[ActionItem, ...]:
    return tuple(value)


def _tuple_of_alert_rules(value: Iterable[AlertRule]) -> tuple[AlertRule, ...]:
    return tuple(value)


def _pointers(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    """A follow-up rests on the report's own evidence: at least one JSON pointer into the report."""
    if not value:
        raise ValueError(
            f"{attribute.name} must name the evidence it rests on (JSON pointers into the report)"
        )
    for pointer in value:
        if not pointer.startswith("/"):
            raise ValueError(f"{attribute.name}: {pointer!r} is not a JSON pointer (RFC 6901)")


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


_STEP_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")


def _step_id(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not _STEP_ID.fullmatch(value):
        raise ValueError(
            f"{attribute.name} must be 1-80 lower-case letters, digits, '.', '_' or '-' "
            f"starting with a letter or digit, got {value!r}"
        )


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
    #: A short name people type to approve the step (``revert-1a2b3c4d5e6f``); the core gives one
    #: to every step that has none (see :func:`incident_flow.mitigate.assign_ids`).
    id: str | None = attrs.field(default=None, validator=attrs.validators.optional(_step_id))
    #: The registered :class:`~incident_flow.actions.Action` that can carry the step out, if any.
    executor: str | None = None
    #: What became of the step when an action was asked to carry it out; None when nobody asked.
    execution: Execution | None = None

    @property
    def executed(self) -> bool:
        """Whether incident-flow ran this step for real (not a dry run) and it succeeded."""
        return self.execution is not None and self.execution.status == "executed"


@attrs.frozen
class ActionRequest:
    """What an approver is asked: carry out (or dry-run) the step ``id`` with the action ``action``.

    ``command`` is what will run when the action runs a command (an argument list), else None.
    """

    id: str
    action: str
    mitigation: Mitigation
    dry_run: bool
    command: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_str_tuple)
    )
    description: str = ""


@attrs.frozen
class Approval:
    """An approver's decision on one :class:`ActionRequest`; only :meth:`grant` lets a step run.

    It names the step (``id``) and the mode (``dry_run``) it was given for, so a decision can never
    be reused for another step, or a dry run's approval for a real run. ``by`` is who decided.
    """

    id: str
    approved: bool
    by: str
    dry_run: bool
    reason: str = ""
    at: datetime | None = attrs.field(default=None, validator=_aware)

    def __attrs_post_init__(self) -> None:
        if self.approved and not self.by.strip():
            raise ValueError("an approval must say who approved (by)")

    @classmethod
    def grant(cls, request: ActionRequest, by: str, reason: str = "") -> Approval:
        """Approve ``request`` (and only it) in the name of ``by``."""
        return cls(
            id=request.id, approved=True, by=by, dry_run=request.dry_run, reason=reason, at=datetime.now(UTC)
        )

    @classmethod
    def refuse(cls, request: ActionRequest, reason: str, by: str = "") -> Approval:
        """Refuse ``request``, saying why."""
        return cls(
            id=request.id, approved=False, by=by, dry_run=request.dry_run, reason=reason, at=datetime.now(UTC)
        )


@attrs.frozen
class ActionResult:
    """What an action's ``run`` or ``dry_run`` returns: whether it worked, and what it did.

    ``summary`` is one line for the report; ``output`` the command's captured output (bounded);
    ``details`` figures a reader can check (the branch and commit a revert made, an exit code).
    """

    ok: bool
    summary: str
    error: str | None = None
    output: str = ""
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen
class Execution:
    """What became of a step an action could carry out: refused, dry-run, executed or failed.

    ``status``: ``refused`` (not approved; ``reason`` says why), ``dry_run`` (only the dry run was
    asked for; ``dry_run_result`` holds it), ``executed`` (ran and succeeded), ``failed`` (the
    pre-flight dry run or the run failed, ``result``/``dry_run_result`` say how).
    """

    status: str = attrs.field(validator=attrs.validators.in_(("refused", "dry_run", "executed", "failed")))
    approved_by: str | None = None
    reason: str = ""
    at: datetime | None = attrs.field(default=None, validator=_aware)
    duration_s: float = 0.0
    dry_run_result: ActionResult | None = None
    result: ActionResult | None = None


@attrs.frozen
class SignalCheck:
    """One re-check of a signal that defined the incident, after an action ran.

    ``state``: ``recovered`` (back within its baseline), ``improved`` (at least halfway back),
    ``not_improved``, or ``no_data`` (nothing recorded since the action to judge by).
    """

    at: datetime = attrs.field(validator=_aware)
    round: int
    signal: str
    kind: str
    component: str
    state: str = attrs.field(
        validator=attrs.validators.in_(("recovered", "improved", "not_improved", "no_data"))
    )
    figures: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


def _tuple_of_checks(value: Iterable[SignalCheck]) -> tuple[SignalCheck, ...]:
    return tuple(value)


@attrs.frozen
class Verification:
    """The verify phase: the signals re-checked after an action ran, and how they ended.

    ``outcome``: ``recovered`` (every signal back within its baseline), ``improved``,
    ``not_recovered``, or ``unverifiable`` (no signal could be re-checked). ``since`` is when the
    first action finished: only data from then on counts as "after".
    """

    outcome: str = attrs.field(
        validator=attrs.validators.in_(("recovered", "improved", "not_recovered", "unverifiable"))
    )
    since: datetime = attrs.field(validator=_aware)
    started_at: datetime = attrs.field(validator=_aware)
    finished_at: datetime = attrs.field(validator=_aware)
    budget_s: float
    rounds: int
    signals: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    checks: tuple[SignalCheck, ...] = attrs.field(default=(), converter=_tuple_of_checks)
    skipped: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    note: str | None = None


@attrs.frozen
class ActionItem:
    """A follow-up of the post-incident report, typed as the seed's Phase 4 asks.

    ``kind`` is ``mitigate`` (restore service, if not done yet), ``prevent`` (the permanent fix, the
    test that would have caught it, the configuration or infrastructure change) or ``process`` (how
    changes ship, how the incident was detected, what the run could not see). ``owners`` come from
    CODEOWNERS and ``owner_source`` says which rule matched which path, or why nobody is assigned;
    ``contact`` is context for an unassigned item (the author of the change), never blame.
    ``basis`` holds JSON pointers (RFC 6901) into the report's JSON: the evidence the item rests on.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(("mitigate", "prevent", "process")))
    text: str = attrs.field(validator=_non_empty)
    basis: tuple[str, ...] = attrs.field(converter=_str_tuple, validator=_pointers)
    owners: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    owner_source: str = ""
    contact: str | None = None
    component: str | None = None
    indicator: str | None = None


@attrs.frozen
class AlertRule:
    """An alert the evidence says would have caught the incident, concrete enough to paste.

    ``kind`` is ``metric`` (``expr`` is PromQL, ``rule`` a Prometheus alerting rule) or ``log``
    (``expr`` is a regular expression for the log template, ``threshold`` a count per ``window_s``).
    ``baseline`` and ``level`` are the evidence's figures before and after the onset, ``peak`` the
    highest value after it when the series was read. ``would_fire_at`` is computed by replaying the
    rule over the recorded series (None when it could not be), ``fired_before_onset`` how many times
    it would have fired in the look-back before the onset (its false alarms; None when not replayed),
    ``ramp_s`` how long the rule's expression took from first crossing the threshold to 90% of the
    incident level.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(("metric", "log")))
    component: str = attrs.field(validator=_non_empty)
    signal: str = attrs.field(validator=_non_empty)
    source: str
    expr: str = attrs.field(validator=_non_empty)
    comparison: str = attrs.field(validator=attrs.validators.in_((">", "<")))
    threshold: float = attrs.field(converter=float)
    baseline: float = attrs.field(converter=float)
    level: float = attrs.field(converter=float)
    window_s: int
    for_s: int
    rule: str = attrs.field(validator=_non_empty)
    basis: tuple[str, ...] = attrs.field(converter=_str_tuple, validator=_pointers)
    unit: str | None = None
    peak: float | None = None
    would_fire_at: datetime | None = attrs.field(default=None, validator=_aware)
    fired_before_onset: int | None = None
    ramp_s: float | None = None

    @threshold.validator
    def _between(self, _attribute: attrs.Attribute[Any], value: float) -> None:
        low, high = sorted((self.baseline, self.level))
        if not (low <= value <= high) or value == self.level:
            raise ValueError(f"threshold {value!r} must lie between the baseline and the incident level")


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
    #: The post-incident follow-ups (:mod:`incident_flow.followup`): typed, owned, evidence-backed.
    action_items: tuple[ActionItem, ...] = attrs.field(default=(), converter=_tuple_of_action_items)
    #: Alerts that would have caught this incident earlier, replayed over the recorded data.
    monitoring: tuple[AlertRule, ...] = attrs.field(default=(), converter=_tuple_of_alert_rules)
    #: The verify phase, when an approved action ran; None otherwise (``status`` is then ongoing).
    verification: Verification | None = None

    def to_markdown(self) -> str:
        from incident_flow.report import render_markdown

        return render_markdown(self)

    def to_dict(self) -> dict[str, Any]:
        from incident_flow.report import report_to_dict

        return report_to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        from incident_flow.report import render_json

        return render_json(self, indent=indent)
