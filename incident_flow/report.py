"""The two faces of a :class:`~incident_flow.model.Report`: the seed's Markdown and the JSON contract.

The JSON report is a **contract** (DESIGN.md, "Reports"): scripts, webhook handlers and the project's
benchmarks read it, so it is versioned (:data:`SCHEMA_VERSION`), described by a JSON Schema that ships
in the package (:func:`load_schema`) and built here field by field rather than with ``attrs.asdict``,
so that a new attribute on a model type never leaks into the contract by accident.

The Markdown report follows the seed's "Incident Report Template" section for section. It is written
for people, but much of its text comes from logs, users and plugins, so every piece of untrusted text
goes through one of three doors: :func:`_inline` (escaped prose), :func:`_code` (a code span) or
:func:`_fence` (a fenced block whose fence is longer than any backtick run inside). Nothing in a log
line can add a heading, a table row, a link or HTML to the report. What the run cannot know (the end
of an incident still going on, the lessons only people can draw) is said to be unknown, never made up.

Both renderers are pure functions of the report: no clock, no environment, so the same report always
renders to the same bytes.

Both redact first (:func:`redacted`): a report is pasted into tickets and chat rooms, so a password,
a token or an e-mail address that an investigator quoted from a log becomes a placeholder
(``[REDACTED-SECRET-1]``, :mod:`incident_flow.analysis.redact`), the same one wherever it appears in
the report. Names (ids, components, sources) and the commands of mitigations are kept as they are: a
command shown must be exactly the one that would run.
"""

from __future__ import annotations

import enum
import json
import math
import numbers
import re
import shlex
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import attrs

from incident_flow.actions import is_replay
from incident_flow.analysis.redact import Redactor
from incident_flow.followup import lessons, span
from incident_flow.model import (
    ActionItem,
    ActionResult,
    AlertRule,
    Assessment,
    Change,
    Evidence,
    Execution,
    Finding,
    Incident,
    InvestigatorRun,
    InvestigatorStatus,
    Mitigation,
    Report,
    RootCause,
    Severity,
    SignalCheck,
    TimelineEvent,
    Verification,
    format_offset,
)

__all__ = [
    "SCHEMA_RESOURCE",
    "SCHEMA_VERSION",
    "SEED_SECTIONS",
    "load_schema",
    "redacted",
    "render_json",
    "render_markdown",
    "report_to_dict",
]

SCHEMA_VERSION = "1.2"
"""The version of the JSON report. A new field raises the minor version; a renamed or removed one the
major version. Consumers check it before they read."""

SCHEMA_RESOURCE = "schema/report.schema.json"
"""Where the JSON Schema lives inside the ``incident_flow`` package (shipped as package data)."""

SEED_SECTIONS: tuple[str, ...] = (
    "Summary",
    "Timeline",
    "Root Cause",
    "Resolution",
    "Impact",
    "Action Items",
    "Lessons Learned",
)
"""The ``###`` sections of the seed's template, in its order; each appears exactly once."""

_ALL_SECTIONS = (*SEED_SECTIONS, "Prevention", "Findings", "Investigators", "What was missing", "Audit trail")

_MAX_LINES_PER_EVIDENCE = 8
#: Figures longer than this (score breakdowns, lists of runners-up) stay in the JSON report.
_MAX_FIGURE_CHARS = 100
_MAX_LINE_CHARS = 400
_MAX_JSON_DEPTH = 32


def load_schema() -> dict[str, Any]:
    """Return the JSON Schema of the report (draft 2020-12) as shipped in the package.

    It is read through :mod:`importlib.resources` so that it works from a wheel, a zip or an editable
    install alike; every call returns a fresh dict, so a caller may change it freely.
    """
    text = resources.files("incident_flow").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --------------------------------------------------------------------------------------------------
# Redaction

# Fields that name things (ids, components, sources, kinds) or are commands, kept as they are; every
# other text field of the model types is redacted. The audit and llm mappings are the run's own. An
# alert's ``expr`` and ``rule`` are built from the redacted template (incident_flow.followup), so
# they hold no secret, and redacting them again would break the pattern a reader pastes.
_KEEP_FIELDS = frozenset(
    {"id", "component", "investigator", "source", "kind", "command", "system", "target", "depends_on",
     "files", "author", "audit", "llm", "status", "risk", "owners", "contact", "basis",
     "expr", "rule"}
)  # fmt: skip


def redacted(report: Report, redactor: Redactor | None = None) -> Report:
    """``report`` with secrets and personal data in its text replaced by placeholders.

    One :class:`~incident_flow.analysis.redact.Redactor` serves the whole report, so the same secret
    gets the same placeholder everywhere in it; the traversal order is fixed, so the Markdown and the
    JSON of one report name them alike. Redacting a redacted report changes nothing.
    """
    value = _redact_value(report, redactor or Redactor(), 0)
    assert isinstance(value, Report)
    return value


def _redact_value(value: Any, redactor: Redactor, depth: int) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if depth > _MAX_JSON_DEPTH:
        return value
    if attrs.has(type(value)):
        changes = {}
        for field in attrs.fields(type(value)):
            if field.name in _KEEP_FIELDS or not field.init:
                continue
            current = getattr(value, field.name)
            new = _redact_value(current, redactor, depth + 1)
            if new is not current:
                changes[field.name] = new
        return attrs.evolve(value, **changes) if changes else value
    if isinstance(value, Mapping):
        return {
            (redactor.redact(k) if isinstance(k, str) else k): _redact_value(v, redactor, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, tuple | list):
        items = [_redact_value(item, redactor, depth + 1) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    return value


# --------------------------------------------------------------------------------------------------
# JSON


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON contract as plain Python values (str, int, float, bool, None, list, dict).

    Keys come in a fixed order, times are RFC 3339 in UTC (``Z``), enums are their lower-case values,
    free-form mappings (``user_impact``, evidence ``figures``) are made JSON-safe (a NaN or an infinity
    becomes ``null``, a datetime a string), and root causes come by rank and the timeline in time
    order. ``declared_severity`` falls back to the incident's ``severity_hint``: both are what the
    reporter declared. The text is redacted (:func:`redacted`).
    """
    report = redacted(report)
    detected_at = report.incident.detected_at
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "incident": _incident_dict(report.incident),
        "assessment": _assessment_dict(report.assessment, report.incident),
        "root_causes": [_root_cause_dict(cause) for cause in _ranked(report.root_causes)],
        "findings": [_finding_dict(finding) for finding in report.findings],
        "mitigations": [_mitigation_dict(mitigation) for mitigation in report.mitigations],
        "timeline": [_timeline_dict(event, detected_at) for event in _chronological(report.timeline)],
        "investigators": [_investigator_dict(run) for run in report.investigators],
        "onset": _opt_time(report.onset),
        "status": report.status,
        "verification": _verification_dict(report.verification, detected_at),
        "sources_missing": [
            {"source": _clean(problem.source), "error": _clean(problem.error)}
            for problem in report.source_problems
        ],
        "notes": [_clean(note) for note in report.notes],
        "audit": _audit_dict(report.audit),
        "extensions": [
            {"title": _clean(str(ext.get("title") or "")), "markdown": _clean(str(ext.get("markdown") or ""))}
            for ext in report.extensions
        ],
        "action_items": [_action_item_dict(item) for item in report.action_items],
        "monitoring": [_alert_dict(rule, detected_at) for rule in report.monitoring],
        "generated_at": _opt_time(report.generated_at),
    }
    if report.llm:  # only when the Claude layer was on: an offline report is unchanged
        data["llm"] = _json_safe(dict(report.llm), 0)
    return data


def render_json(report: Report, indent: int | None = 2) -> str:
    """The JSON report as text: UTF-8 characters kept as they are, and never a bare ``NaN``.

    ``allow_nan=False`` turns a non-finite float that slipped past :func:`report_to_dict` into an
    error here rather than into a file that strict JSON parsers reject.
    """
    return json.dumps(report_to_dict(report), indent=indent, ensure_ascii=False, allow_nan=False)


def _incident_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": _clean(incident.id),
        "description": _clean(incident.description),
        "severity_hint": _enum(incident.severity_hint),
        "system": _opt_str(incident.system),
        "detected_at": _time(incident.detected_at),
    }


def _declared(assessment: Assessment, incident: Incident) -> Severity | None:
    return (
        assessment.declared_severity if assessment.declared_severity is not None else incident.severity_hint
    )


def _assessment_dict(assessment: Assessment, incident: Incident) -> dict[str, Any]:
    return {
        "severity": assessment.severity.value,
        "declared_severity": _enum(_declared(assessment, incident)),
        "reasons": [_clean(reason) for reason in assessment.reasons],
        "category": assessment.category.value,
        "affected_components": [_clean(name) for name in assessment.affected_components],
        "user_impact": _json_mapping(assessment.user_impact, 0),
        "priority_actions": [_clean(action) for action in assessment.priority_actions],
    }


def _change_dict(change: Change | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "id": _clean(change.id),
        "summary": _clean(change.summary),
        "author": _opt_str(change.author),
        "at": _time(change.at),
        "kind": _clean(change.kind),
        "component": _opt_str(change.component),
        "files": [_clean(path) for path in change.files],
    }


def _evidence_dict(evidence: Evidence) -> dict[str, Any]:
    return {
        "source": _clean(evidence.source),
        "kind": _clean(evidence.kind),
        "summary": _clean(evidence.summary),
        "at_from": _opt_time(evidence.at_from),
        "at_to": _opt_time(evidence.at_to),
        "query": _opt_str(evidence.query),
        "lines": [_clean(line) for line in evidence.lines],
        "figures": _json_mapping(evidence.figures, 0),
    }


def _root_cause_dict(cause: RootCause) -> dict[str, Any]:
    return {
        "rank": int(cause.rank),
        "component": _clean(cause.component),
        "category": cause.category.value,
        "indicator": _opt_str(cause.indicator),
        "change": _change_dict(cause.change),
        "summary": _clean(cause.summary),
        "confidence": float(cause.confidence),
        "evidence": [_evidence_dict(item) for item in cause.evidence],
    }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "investigator": _clean(finding.investigator),
        "component": _clean(finding.component),
        "title": _clean(finding.title),
        "summary": _clean(finding.summary),
        "confidence": float(finding.confidence),
        "category": _enum(finding.category),
        "severity": _enum(finding.severity),
        "symptom": bool(finding.symptom),
        "indicator": _opt_str(finding.indicator),
        "onset": _opt_time(finding.onset),
        "depends_on": _opt_str(finding.depends_on),
        "change": _change_dict(finding.change),
        "evidence": [_evidence_dict(item) for item in finding.evidence],
    }


def _mitigation_dict(mitigation: Mitigation) -> dict[str, Any]:
    return {
        "action": _clean(mitigation.action),
        "target": _clean(mitigation.target),
        "rationale": _clean(mitigation.rationale),
        "risk": mitigation.risk,
        "requires_approval": bool(mitigation.requires_approval),
        "command": None if mitigation.command is None else [_clean(arg) for arg in mitigation.command],
        "kind": mitigation.kind,
        "id": _opt_str(mitigation.id),
        "executor": _opt_str(mitigation.executor),
        "execution": _execution_dict(mitigation.execution),
    }


def _action_result_dict(result: ActionResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "ok": bool(result.ok),
        "summary": _clean(result.summary),
        "error": _opt_str(result.error),
        "output": _clean(result.output),
        "details": _json_mapping(result.details, 0),
    }


def _execution_dict(execution: Execution | None) -> dict[str, Any] | None:
    """Whether the step was refused, dry-run, executed or failed, by whose approval, with the results."""
    if execution is None:
        return None
    return {
        "status": execution.status,
        "approved_by": _opt_str(execution.approved_by),
        "reason": _clean(execution.reason),
        "at": _opt_time(execution.at),
        "duration_s": _finite(execution.duration_s),
        "dry_run": _action_result_dict(execution.dry_run_result),
        "result": _action_result_dict(execution.result),
    }


def _verification_dict(verification: Verification | None, detected_at: datetime) -> dict[str, Any] | None:
    if verification is None:
        return None
    return {
        "outcome": verification.outcome,
        "since": _time(verification.since),
        "started_at": _time(verification.started_at),
        "finished_at": _time(verification.finished_at),
        "budget_s": _finite(verification.budget_s),
        "rounds": verification.rounds,
        "signals": [_clean(signal) for signal in verification.signals],
        "skipped": [_clean(reason) for reason in verification.skipped],
        "note": _opt_str(verification.note),
        "checks": [
            {
                "at": _time(check.at),
                "offset": format_offset(check.at, detected_at),
                "round": check.round,
                "signal": _clean(check.signal),
                "kind": check.kind,
                "component": _clean(check.component),
                "state": check.state,
                "figures": _json_mapping(check.figures, 0),
            }
            for check in verification.checks
        ],
    }


def _action_item_dict(item: ActionItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "text": _clean(item.text),
        "owners": [_clean(owner) for owner in item.owners],
        "owner_source": _clean(item.owner_source),
        "contact": _opt_str(item.contact),
        "component": _opt_str(item.component),
        "indicator": _opt_str(item.indicator),
        "basis": [_clean(pointer) for pointer in item.basis],
    }


def _alert_dict(rule: AlertRule, detected_at: datetime) -> dict[str, Any]:
    fire_at = rule.would_fire_at
    return {
        "kind": rule.kind,
        "component": _clean(rule.component),
        "signal": _clean(rule.signal),
        "source": _clean(rule.source),
        "expr": _clean(rule.expr),
        "comparison": rule.comparison,
        "threshold": _finite(rule.threshold),
        "unit": _opt_str(rule.unit),
        "baseline": _finite(rule.baseline),
        "level": _finite(rule.level),
        "peak": _finite(rule.peak),
        "window_s": int(rule.window_s),
        "for_s": int(rule.for_s),
        "would_fire_at": _opt_time(fire_at),
        "lead_s": None if fire_at is None else _finite((detected_at - fire_at).total_seconds()),
        "fired_before_onset": rule.fired_before_onset,
        "ramp_s": _finite(rule.ramp_s),
        "rule": _clean(rule.rule),
        "basis": [_clean(pointer) for pointer in rule.basis],
    }


def _timeline_dict(event: TimelineEvent, detected_at: datetime) -> dict[str, Any]:
    return {
        "at": _time(event.at),
        "offset": format_offset(event.at, detected_at),
        "event": _clean(event.event),
        "source": _clean(event.source),
    }


def _investigator_dict(run: InvestigatorRun) -> dict[str, Any]:
    return {
        "name": _clean(run.name),
        "status": InvestigatorStatus(run.status).value,
        "duration_s": _finite(run.duration_s),
        "error": _opt_str(run.error),
        "findings": int(run.findings),
    }


def _audit_dict(audit: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the four keys of the contract, ``null`` where the run had nothing to say."""
    return {
        "path": _opt_str(audit.get("path")),
        "records": _opt_count(audit.get("records")),
        "final_hash": _opt_str(audit.get("final_hash")),
        "error": _opt_str(audit.get("error")),
    }


def _ranked(causes: Iterable[RootCause]) -> list[RootCause]:
    return sorted(causes, key=lambda cause: cause.rank)


def _chronological(events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    return sorted(events, key=lambda event: event.at)


def _clean(text: str) -> str:
    """Replace lone surrogates (from logs decoded with ``surrogateescape``) so the text encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _opt_str(value: object) -> str | None:
    return None if value is None else _clean(str(value))


def _enum(value: enum.Enum | None) -> Any:
    return None if value is None else value.value


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _opt_count(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, numbers.Integral):
        return int(value) if int(value) >= 0 else None
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value.strip())
    return None


def _utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive time is taken as UTC (DESIGN.md: times without an offset are UTC)."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    try:
        return at.astimezone(UTC)
    except OverflowError:  # within hours of datetime.min/max: keep the time as it was given
        return at


def _time(at: datetime) -> str:
    """RFC 3339, UTC written as ``Z``."""
    text = _utc(at).isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def _opt_time(at: datetime | None) -> str | None:
    return None if at is None else _time(at)


def _json_key(key: object) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    return _clean(key if isinstance(key, str) else str(key))


def _json_mapping(mapping: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    return {_json_key(key): _json_safe(value, depth + 1) for key, value in mapping.items()}


def _json_safe(value: Any, depth: int) -> Any:
    """A free-form value (figures, user impact) as something ``json.dumps`` writes strictly and the
    same way every time: sets are sorted, non-finite numbers are ``null``, unknown objects are text."""
    if depth > _MAX_JSON_DEPTH:
        return _clean(repr(value))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return _json_safe(value.value, depth + 1)
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real | Decimal):
        return _finite(value)
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _finite(value.total_seconds())
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return _json_mapping(value, depth)
    if isinstance(value, set | frozenset):
        items = [_json_safe(item, depth + 1) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, allow_nan=False))
    if isinstance(value, list | tuple):
        return [_json_safe(item, depth + 1) for item in value]
    if attrs.has(type(value)):
        return _json_mapping(attrs.asdict(value, recurse=False), depth)
    return _clean(str(value))


# --------------------------------------------------------------------------------------------------
# Untrusted text in Markdown

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b[]P^_X][^\x07\x1b\n]*(?:\x07|\x1b\\)"  # OSC (titles, hyperlinks), DCS, PM, APC, SOS
    r"|\x1b[ -/]*[0-~]?"  # any other escape sequence (or a lone ESC)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
# C0 and C1 controls except tab and newline, and the bidirectional overrides that can make a line
# read differently from what it says ("Trojan source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\n\u2028\u2029]")
_INLINE_SPECIAL = re.compile(r"[\\`*_\[\]|~<>&]")
_INLINE_REPLACEMENT = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# What starts a block when it opens a line: a heading, a list item, a quote, a setext underline.
_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?=[ \t]|$)|[-+](?=[ \t]|$)|-[- \t]*$|=+[ \t]*$|\d{1,9}(?=[.)](?:[ \t]|$)))"
)
_BACKTICKS = re.compile(r"`+")


def _strip_controls(text: str) -> str:
    """Remove ANSI escapes and control characters; line endings become ``\\n``."""
    text = _clean(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _ANSI.sub("", text))


def _one_line(value: object) -> str:
    text = _LINE_BREAKS.sub(" ", _strip_controls(str(value))).replace("\t", " ")
    return re.sub(" {2,}", " ", text).strip()


def _inline(value: object) -> str:
    """Untrusted text as Markdown prose that cannot change the report's structure.

    One line (a line break in a log message could otherwise start a heading), no control characters,
    the characters that make emphasis, code, links, HTML or table cells escaped, and what would open
    a block at the start of a line (``#``, ``-``, ``1.``, ``=``) escaped too.
    """
    text = _INLINE_SPECIAL.sub(
        lambda match: _INLINE_REPLACEMENT.get(match.group(), "\\" + match.group()), _one_line(value)
    )
    match = _BLOCK_START.match(text)
    if match is None:
        return text
    if match.group()[0].isdigit():  # "1. foo" would be a list item: escape the dot
        end = match.end()
        return text[:end] + "\\" + text[end:]
    return "\\" + text


def _code(value: object) -> str:
    """Untrusted text as a code span: literal, on one line, delimited by a longer backtick run."""
    text = _LINE_BREAKS.sub(" ", _strip_controls(str(value))).strip()
    if not text:
        return "(empty)"
    runs = [len(run) for run in _BACKTICKS.findall(text)]
    fence = "`" * (max(runs, default=0) + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _fence(lines: Iterable[str], info: str = "text", indent: str = "") -> list[str]:
    """Untrusted lines as a fenced code block that no line inside can close.

    The fence is one backtick longer than the longest backtick run in the content (at least three),
    so a log line holding ```` ``` ```` stays inside the block.
    """
    content: list[str] = []
    for line in lines:
        content.extend(_strip_controls(line).split("\n"))
    runs = [len(run) for line in content for run in _BACKTICKS.findall(line)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [f"{indent}{fence}{info}", *(f"{indent}{line}".rstrip() for line in content), f"{indent}{fence}"]


def _truncate(line: str, limit: int = _MAX_LINE_CHARS) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")
_ATX_HEADING = re.compile(r"^( {0,3})(#{1,3})(?=[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
# HTML blocks that end only at their own closing marker, not at a blank line: unclosed, they would
# swallow the rest of the report.
_RAW_HTML_BLOCK = re.compile(
    r"^( {0,3})<(?=(?:script|pre|style|textarea)(?:[\s>]|$)|!--|\?|![A-Za-z]|!\[CDATA\[)", re.I
)


def _nested_markdown(text: str) -> list[str]:
    """A plugin's Markdown, kept as Markdown but nested under its own ``###`` heading.

    Headings of levels 1-3 become level 4 and setext underlines are escaped, so an extension cannot
    add or duplicate a section of the report; a fence it leaves open is closed, and raw HTML blocks
    that only end at their own marker (``<script>``, ``<!--``) are escaped, so it cannot swallow what
    follows. Fenced code inside is left untouched.
    """
    out: list[str] = []
    fence: str | None = None
    previous_blank = True
    for line in _strip_controls(text).split("\n"):
        if fence is not None:
            out.append(line)
            stripped = line.strip()
            if (
                stripped
                and set(stripped) == {fence[0]}
                and len(stripped) >= len(fence)
                and not line.startswith("    ")
            ):
                fence = None
            continue
        opening = _FENCE_OPEN.match(line)
        if opening:
            fence = opening.group(1)
        elif heading := _ATX_HEADING.match(line):
            line = heading.group(1) + "####" + line[heading.end() :]
        elif not previous_blank and _SETEXT_UNDERLINE.match(line):
            line = "\\" + line.lstrip()
        elif html := _RAW_HTML_BLOCK.match(line):
            line = html.group(1) + "&lt;" + line[html.end() :]
        out.append(line)
        previous_blank = not line.strip()
    if fence is not None:
        out.append(fence)
    while out and not out[-1].strip():
        out.pop()
    while out and not out[0].strip():
        out.pop(0)
    return out


# --------------------------------------------------------------------------------------------------
# Markdown


def render_markdown(report: Report) -> str:
    """The seed's "Incident Report" template, filled from the report, section for section.

    After the seed's sections come the ones the seed's Phase 4 asks for (Prevention) and those that
    make the report checkable: every finding, how each investigator ended, what was missing, the
    audit trail; then each plugin's extension under its own heading. The text is redacted
    (:func:`redacted`).
    """
    report = redacted(report)
    blocks: list[list[str]] = [
        ["## Incident Report"],
        *_header(report),
        _section("Summary", _summary(report)),
        _section("Timeline", _timeline(report)),
        _section("Root Cause", _root_cause(report)),
        _section("Resolution", _resolution(report)),
        _section("Impact", _impact(report)),
        _section("Action Items", _action_items(report)),
        _section("Lessons Learned", _lessons(report)),
        _section("Prevention", _prevention(report)),
        _section("Findings", _findings(report)),
        _section("Investigators", _investigators(report)),
    ]
    missing = _missing(report)
    if missing:
        blocks.append(_section("What was missing", missing))
    blocks.append(_section("Audit trail", _audit(report)))
    blocks.extend(_extensions(report))
    return _clean("\n\n".join("\n".join(block) for block in blocks) + "\n")


def _section(title: str, body: list[list[str]]) -> list[str]:
    lines = [f"### {title}"]
    for block in body:
        lines.append("")
        lines.extend(block)
    return lines


def _stamp(at: datetime) -> str:
    """``2024-05-01 14:03 UTC``."""
    utc = _utc(at)
    return f"{utc.date().isoformat()} {utc:%H:%M} UTC"


def _clock(at: datetime, reference: datetime) -> str:
    """``14:03 UTC``, with the date when it differs from the reference (detection)."""
    utc = _utc(at)
    if utc.date() != _utc(reference).date():
        return _stamp(at)
    return f"{utc:%H:%M} UTC"


_span = span  # durations read the same in the report and in its follow-ups


def _confidence(value: float) -> str:
    return f"{value:.2f}"


def _title_case(severity: Severity) -> str:
    return severity.value.capitalize()


def _rank1(report: Report) -> RootCause | None:
    causes = _ranked(report.root_causes)
    return causes[0] if causes else None


def _short_id(change: Change) -> str:
    """A commit's short SHA (12 hex digits, as git prints when it must be unambiguous); other ids whole."""
    if re.fullmatch(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", change.id):
        return change.id[:12]
    return change.id


def _change_text(change: Change, reference: datetime) -> str:
    parts = [_code(_short_id(change))]
    if change.summary.strip():
        parts.append(f"“{_inline(change.summary)}”")
    if change.author:
        parts.append(f"by {_inline(change.author)}")
    parts.append(f"at {_clock(change.at, reference)}")
    text = " ".join(parts)
    details = [] if change.kind == "commit" else [_inline(change.kind)]
    if change.component:
        details.append(f"on {_code(change.component)}")
    if change.files:
        shown = ", ".join(_code(path) for path in change.files[:5])
        more = f" and {len(change.files) - 5} more" if len(change.files) > 5 else ""
        details.append(f"files {shown}{more}")
    return f"{text} ({'; '.join(details)})" if details else text


def _sentence(text: str) -> str:
    """End generated prose with a full stop unless the (untrusted) text already ends a sentence."""
    return text if text.endswith((".", "!", "?", "…", ":")) else text + "."


def _command_text(command: Iterable[str]) -> str:
    """An argument list as one shell line: ``shlex.join``, except that an argument holding a control or
    other unprintable character is written in bash's ``$'...'`` quoting, so what is shown is exactly
    what would run (stripping the character would show a different command)."""
    return " ".join(shlex.quote(arg) if arg.isprintable() else _ansi_c_quote(arg) for arg in command)


def _ansi_c_quote(arg: str) -> str:
    out = []
    for char in arg:
        if char in "\\'":
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "$'" + "".join(out) + "'"


def _executed(mitigation: Mitigation) -> bool:
    """Whether incident-flow ran this step for real, after approval, and it succeeded."""
    return mitigation.executed


# --- header -----------------------------------------------------------------------------------------


def _header(report: Report) -> list[list[str]]:
    incident = report.incident
    time = f"**Time**: {_stamp(incident.detected_at)} (detected)"
    if report.onset is not None:
        offset = format_offset(report.onset, incident.detected_at)
        time += f"; onset {_clock(report.onset, incident.detected_at)} ({offset})"
    return [
        [time],
        [f"**Severity**: {_severity_text(report)}"],
        [f"**Duration**: {_duration_text(report)}"],
        [f"**Status**: {report.status.capitalize()}"],
    ]


def _severity_text(report: Report) -> str:
    assessed = report.assessment.severity
    declared = _declared(report.assessment, report.incident)
    if declared is None or declared == assessed:
        return _title_case(assessed)
    reasons = "; ".join(_inline(reason) for reason in report.assessment.reasons) or "no reason was recorded"
    return f"{_title_case(assessed)} (assessed; declared {_title_case(declared)}). Why: {reasons}"


def _duration_text(report: Report) -> str:
    onset, now = report.onset, report.generated_at
    if onset is None:
        tail = (
            "still ongoing"
            if report.status == "ongoing"
            else f"{report.status}; resolution time not recorded"
        )
        return f"not known: the onset could not be measured ({tail})"
    since = f"onset {_stamp(onset)}"
    if now is None or now < onset:
        if report.status == "ongoing":
            return f"still ongoing since the {since}; no end yet"
        return f"not known: {report.status}, but the resolution time was not recorded ({since})"
    detected = report.incident.detected_at
    if report.status == "ongoing" and is_replay(detected, now):
        # A replay of recorded data: the time since onset says nothing about the incident.
        lasted = span(max((detected - onset).total_seconds(), 0.0))
        return (
            f"not known: this run replays data recorded {span((now - detected).total_seconds())} before it; "
            f"the incident had lasted {lasted} when it was detected ({since})"
        )
    elapsed = span((now - onset).total_seconds())
    if report.status == "ongoing":
        return f"still ongoing: {elapsed} since the {since}, as of {_stamp(now)}; no end yet"
    return (
        f"at most {elapsed}: from the {since} to this report at {_stamp(now)} "
        f"({report.status}; the resolution time was not recorded)"
    )


# --- summary ----------------------------------------------------------------------------------------


def _summary(report: Report) -> list[list[str]]:
    """What broke, how bad, why and what to do now, each from a field of the report; then the
    assessment's reasons and Claude's narrative when there is one."""
    incident, assessment = report.incident, report.assessment
    blocks = [[_inline(incident.description) or "(no description)"]]
    cause = _rank1(report)
    detected, onset = incident.detected_at, report.onset
    lines = []
    if cause is not None:
        what = f"- **What broke**: {_code(cause.component)}"
        if onset is not None:
            lead = (detected - onset).total_seconds()
            when = f"{span(lead)} before detection" if lead >= 0 else f"{span(lead)} after detection"
            what += f", failing since {_clock(onset, detected)} ({format_offset(onset, detected)}, {when})"
        lines.append(what + ".")
    bad = [f"severity **{assessment.severity.value}**"]
    impact = assessment.user_impact
    if any(not str(key).startswith("data_loss") for key in impact):
        bad.append(_users_text(impact))
    if "data_loss" in impact:
        bad.append(f"data loss {_data_loss_word(report)} (see Impact)")
    lines.append(_sentence("- **How bad**: " + "; ".join(bad)))
    if cause is not None:
        rank = (
            f"rank 1 of {len(report.root_causes)} hypotheses, confidence {_confidence(cause.confidence)}, "
            f"category {cause.category.value}"
        )
        if cause.change is not None:
            change = cause.change
            why = f"change {_code(_short_id(change))}"
            if change.summary.strip():
                why += f" “{_inline(change.summary)}”"
            why += f" at {_clock(change.at, detected)}"
            if onset is not None and change.at <= onset:
                why += f", {span((onset - change.at).total_seconds())} before the onset"
            trace = next((e for e in cause.evidence if e.kind == "stack_trace"), None)
            if trace is not None:
                why += f"; {_inline(trace.summary)}"
        else:
            why = _inline(cause.summary) or f"a cause in {_code(cause.component)}"
        lines.append(f"{_sentence(f'- **Why**: {why}')} {rank[0].upper()}{rank[1:]}.")
        step = next((item for item in report.action_items if item.kind == "mitigate"), None)
        if step is not None:
            lines.append(f"- **Do now**: {_prose(step.text)}")
        else:
            lines.append(
                "- **Do now**: no immediate step could be derived from the evidence (see Resolution)."
            )
    else:
        lines.append(
            "- **Why**: no root cause could be established from the evidence gathered (see Findings)."
        )
    blocks.append(lines)
    facts = f"Incident {_code(incident.id)}, category **{assessment.category.value}**"
    if incident.system:
        facts += f", focus {_code(incident.system)}"
    if assessment.reasons:
        facts += ". Why this severity: " + "; ".join(_inline(reason) for reason in assessment.reasons)
    blocks.append([_sentence(facts)])
    narrative = report.llm.get("summary") if report.llm else None
    if narrative:
        blocks.append(
            [_sentence("Claude's summary (checked against the evidence below): " + _inline(str(narrative)))]
        )
    return blocks


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _prose(text: str) -> str:
    """Generated text whose backtick spans are names: each span becomes a code span, the rest is
    escaped prose, so untrusted parts inside either still cannot change the structure."""
    out = []
    for index, part in enumerate(_CODE_SPAN.split(text)):
        if index % 2:
            out.append(_code(part))
        elif part:
            # _inline trims its text; the spaces around a code span are part of the sentence.
            lead = " " if part[:1].isspace() else ""
            tail = " " if part[-1:].isspace() and part.strip() else ""
            out.append(lead + _inline(part) + tail)
    return "".join(out)


# --- timeline ---------------------------------------------------------------------------------------


def _timeline(report: Report) -> list[list[str]]:
    """The report's events, with detection (T+0) and the onset added when the timeline lacks them:
    both are facts the report holds, and the seed's timeline starts from them. Events of one source
    in the same minute share a line, so a burst of findings reads as one step."""
    detected_at = report.incident.detected_at
    events = [(event.at, _inline(event.event), event.source) for event in report.timeline]
    instants = {event.at for event in report.timeline}
    if detected_at not in instants:
        events.append((detected_at, "Detection: incident reported", ""))
    if report.onset is not None and report.onset not in instants:
        events.append((report.onset, "Onset: first anomaly measured", ""))
    merged: list[tuple[datetime, list[str], str]] = []
    for at, text, source in sorted(events, key=lambda item: item[0]):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last[2] == source
            and format_offset(last[0], detected_at) == format_offset(at, detected_at)
            and _clock(last[0], detected_at) == _clock(at, detected_at)
        ):
            last[1].append(text)
        else:
            merged.append((at, [text], source))
    lines = []
    for at, texts, source in merged:
        where = f" (source {_code(source)})" if source.strip() else ""
        lines.append(
            f"- {format_offset(at, detected_at)} ({_clock(at, detected_at)}): {'; '.join(texts)}{where}"
        )
    return [lines]


# --- root cause -------------------------------------------------------------------------------------


def _root_cause(report: Report) -> list[list[str]]:
    """Every hypothesis by rank: the rank-1 cause with its evidence in full, the others with their
    evidence in one line each (their figures and lines are in the JSON report)."""
    causes = _ranked(report.root_causes)
    if not causes:
        return [
            [
                "No root-cause hypothesis is supported by the evidence gathered; "
                "the findings and the list of what was missing below show how far the run got."
            ]
        ]
    detected_at = report.incident.detected_at
    blocks: list[list[str]] = []
    for cause in causes:
        blocks.append(
            [
                f"#### {cause.rank}. {_code(cause.component)} ({cause.category.value}, "
                f"confidence {_confidence(cause.confidence)})"
            ]
        )
        summary = _inline(cause.summary)
        if summary:
            blocks.append([summary])
        facts = []
        if cause.indicator:
            facts.append(f"- Indicator: {_code(cause.indicator)}")
        facts.append(
            f"- Change: {_change_text(cause.change, detected_at)}"
            if cause.change
            else "- Change: none identified"
        )
        blocks.append(facts)
        if cause is causes[0]:
            for number, evidence in enumerate(cause.evidence, start=1):
                blocks.extend(_evidence(evidence, number, detected_at))
        elif cause.evidence:
            blocks.append(
                [
                    f"- Evidence {number}: {_inline(evidence.summary)} (source {_code(evidence.source)})"
                    for number, evidence in enumerate(cause.evidence, start=1)
                ]
            )
    return blocks


def _evidence(evidence: Evidence, number: int, detected_at: datetime) -> list[list[str]]:
    head = f"**Evidence {number}**: {_inline(evidence.summary)} "
    head += f"(source {_code(evidence.source)}, {_inline(evidence.kind)}"
    if evidence.at_from is not None or evidence.at_to is not None:
        start = _clock(evidence.at_from, detected_at) if evidence.at_from else "…"
        end = _clock(evidence.at_to, detected_at) if evidence.at_to else "…"
        head += f", {start} to {end}"
    blocks = [[head + ")"]]
    details = []
    if evidence.query:
        details.append(f"- Query: {_code(evidence.query)}")
    if evidence.figures:
        texts = _figures(evidence.figures)
        shown = [text for text in texts if len(text) <= _MAX_FIGURE_CHARS]
        line = "- Figures: " + ", ".join(_code(text) for text in shown)
        hidden = len(texts) - len(shown)
        if hidden:
            plural = "s" if hidden > 1 else ""
            line += f"{', ' if shown else ''}and {hidden} longer one{plural} in the JSON report"
        details.append(line)
    if details:
        blocks.append(details)
    if evidence.lines:
        shown_lines = [_truncate(line) for line in evidence.lines[:_MAX_LINES_PER_EVIDENCE]]
        blocks.append(_fence(shown_lines))
        more = len(evidence.lines) - len(shown_lines)
        if more > 0:
            blocks.append([f"({more} more line{'s' if more > 1 else ''} in the JSON report)"])
    return blocks


_PAIRS = (("before", "after"), ("baseline", "current"), ("baseline", "value"), ("baseline", "observed"))


def _figure_value(value: Any) -> str:
    safe = _json_safe(value, 0)
    if safe is None:
        return "n/a"
    if isinstance(safe, bool):
        return "true" if safe else "false"
    if isinstance(safe, float):
        return f"{safe:.6g}"
    if isinstance(safe, int | str):
        return str(safe)
    return json.dumps(safe, ensure_ascii=False, sort_keys=True)


def _figures(figures: Mapping[str, Any]) -> list[str]:
    """Figures as ``name: before → after`` where they pair up, else ``key=value``.

    Pairs are a nested ``{"before": .., "after": ..}`` (or baseline and current/value/observed), the
    bare keys ``before``/``after``, or ``<name>_before``/``<name>_after``.
    """
    keys = [str(key) for key in figures]
    values = {str(key): value for key, value in figures.items()}
    used: set[str] = set()
    texts: list[str] = []
    for key in keys:
        if key in used:
            continue
        value = values[key]
        if isinstance(value, Mapping):
            pair = next((p for p in _PAIRS if p[0] in value and p[1] in value), None)
            if pair and len(value) == 2:
                texts.append(f"{key}: {_figure_value(value[pair[0]])} → {_figure_value(value[pair[1]])}")
                used.add(key)
                continue
        paired = False
        for first, second in _PAIRS:
            name, partner = None, None
            if key == first and second in values:
                name, partner = "", second
            elif key.endswith("_" + first) and key[: -len(first)] + second in values:
                name, partner = key[: -len(first) - 1], key[: -len(first)] + second
            if partner is not None and partner not in used:
                label = f"{name}: " if name else ""
                texts.append(f"{label}{_figure_value(value)} → {_figure_value(values[partner])}")
                used.update((key, partner))
                paired = True
                break
        if not paired:
            texts.append(f"{key}={_figure_value(value)}")
            used.add(key)
    return texts


# --- resolution -------------------------------------------------------------------------------------


def _mitigation_line(mitigation: Mitigation) -> list[str]:
    target = f" on {_code(mitigation.target)}" if mitigation.target.strip() else ""
    rationale = _inline(mitigation.rationale)
    approval = "yes" if mitigation.requires_approval else "no"
    done = " Executed by incident-flow." if _executed(mitigation) else ""
    ident = f" Id: {_code(mitigation.id)}." if mitigation.id else ""
    text = f"- **{_inline(mitigation.action)}**{target}"
    text = _sentence(f"{text}: {rationale}" if rationale else text)
    lines = [f"{text} Risk: {mitigation.risk}; approval needed: {approval}.{ident}{done}"]
    if mitigation.command is not None:
        command = _command_text(mitigation.command)
        if len(command) > 200:
            lines.append("  - Command:")
            lines.append("")
            lines.extend(_fence([command], info="sh", indent="    "))
        else:
            lines.append(f"  - Command: {_code(command)}")
    lines.extend(_execution_lines(mitigation))
    return lines


def _execution_lines(mitigation: Mitigation) -> list[str]:
    """What became of a step an action can carry out, with who approved it and what it did."""
    if mitigation.executor is None:
        return []
    execution = mitigation.execution
    action = _code(mitigation.executor)
    if execution is None:
        approve = _code(f"--approve {mitigation.id}") if mitigation.id else "approval"
        return [
            f"  - The {action} action can carry this out once approved ({approve}; a dry run runs first)."
        ]
    by = f", approved by {_inline(execution.approved_by)}" if execution.approved_by else ""
    lines = []
    if execution.status == "refused":
        lines.append(f"  - Not run: {_inline(_sentence(execution.reason or 'refused'))}")
    elif execution.status == "dry_run":
        lines.append(f"  - Dry run by the {action} action{by}; nothing was changed.")
    elif execution.status == "executed":
        lines.append(f"  - Executed by the {action} action{by}, in {execution.duration_s:g} s.")
    else:
        lines.append(
            f"  - Failed in the {action} action{by}: {_inline(_sentence(execution.reason or 'see below'))}"
        )
    for label, result in (("Dry run", execution.dry_run_result), ("Result", execution.result)):
        if result is None:
            continue
        outcome = "ok" if result.ok else "failed"
        lines.append(f"    - {label} ({outcome}): {_inline(_sentence(result.summary))}")
        if result.output.strip():
            shown = [_truncate(line) for line in result.output.strip().splitlines()[:_MAX_LINES_PER_EVIDENCE]]
            lines.append("")
            lines.extend(_fence(shown, indent="      "))
    return lines


def _resolution(report: Report) -> list[list[str]]:
    mitigations = report.mitigations
    executed = [m for m in mitigations if _executed(m)]
    asked = [m for m in mitigations if m.execution is not None]
    if not mitigations:
        blocks = [
            ["No action was executed by incident-flow, and no mitigation could be derived from the evidence."]
        ]
    elif not executed:
        dry = sum(m.execution is not None and m.execution.status == "dry_run" for m in mitigations)
        extra = f" {dry} step(s) were dry-run only." if dry else ""
        refused = len(asked) - dry
        extra += f" {refused} step(s) offered were not run (see below)." if refused else ""
        blocks = [
            [
                "No action was executed by incident-flow; the steps below are proposed and need approval."
                + extra
            ]
        ]
    else:
        blocks = [
            [
                f"incident-flow executed {len(executed)} of {len(mitigations)} steps (marked below); "
                "the others are proposed and need approval."
            ]
        ]
    for kind, label in (("immediate", "Immediate mitigation"), ("fix", "Root-cause fix")):
        steps = [m for m in mitigations if m.kind == kind]
        if steps:
            blocks.append([f"**{label}**"])
            blocks.append([line for step in steps for line in _mitigation_line(step)])
    if report.verification is not None:
        blocks.extend(_verification_blocks(report.verification, report.incident.detected_at))
    if report.assessment.priority_actions:
        blocks.append(["**Priority actions from the assessment**"])
        blocks.append([f"- {_inline(action)}" for action in report.assessment.priority_actions])
    return blocks


_OUTCOMES = {
    "recovered": "every signal that defined the incident is back within its baseline",
    "improved": "the signals improved but are not all back within their baselines",
    "not_recovered": "the signals are not back within their baselines",
    "unverifiable": "the signals could not be re-checked",
}
_MAX_CHECK_ROWS = 24


def _check_row(check: SignalCheck, detected_at: datetime) -> str:
    f = check.figures
    if check.kind == "metric" and {"baseline", "tolerance", "incident", "current"} <= set(f):
        figures = (
            f"baseline {_code(_figure_value(f['baseline']))} ± {_code(_figure_value(f['tolerance']))}, "
            f"incident {_code(_figure_value(f['incident']))}, now {_code(_figure_value(f['current']))} "
            f"({_figure_value(f.get('points_since_action'))} point(s) since the action)"
        )
    else:
        figures = ", ".join(_code(text) for text in _figures(f))
    when = f"{format_offset(check.at, detected_at)} ({_clock(check.at, detected_at)})"
    signal = f"{_code(check.signal)} ({check.kind.replace('_', ' ')}, {_code(check.component)})"
    return f"| {check.round} | {when} | {signal} | {check.state.replace('_', ' ')} | {figures} |"


def _verification_blocks(verification: Verification, detected_at: datetime) -> list[list[str]]:
    head = (
        f"**Verification**: {_OUTCOMES[verification.outcome]} "
        f"({verification.rounds} check(s) within a budget of {span(verification.budget_s)}, "
        f"data since {_clock(verification.since, detected_at)} counted as after the action)."
    )
    blocks = [[head]]
    notes = [f"- {_inline(_sentence(verification.note))}"] if verification.note else []
    notes += [f"- Not re-checked: {_inline(reason)}" for reason in verification.skipped]
    if notes:
        blocks.append(notes)
    if verification.checks:
        shown = list(verification.checks[:_MAX_CHECK_ROWS])
        rows = ["| Check | Time | Signal | State | Figures |", "| --- | --- | --- | --- | --- |"]
        rows += [_check_row(check, detected_at) for check in shown]
        blocks.append(rows)
        hidden = len(verification.checks) - len(shown)
        if hidden:
            blocks.append([f"({hidden} more check(s) in the JSON report)"])
    return blocks


# --- impact -----------------------------------------------------------------------------------------

_USERS_KEYS = ("users_affected", "affected_users", "users")
_DATA_LOSS_WORDS = {
    "yes": "yes",
    "no": "no",
    "possible": "possible",
    "true": "yes",
    "false": "no",
    "maybe": "possible",
}


def _users_text(impact: Mapping[str, Any]) -> str:
    primary = next((key for key in _USERS_KEYS if impact.get(key) not in (None, "")), None)
    others = [
        (str(key), value)
        for key, value in impact.items()
        if key != primary and not str(key).startswith("data_loss") and value not in (None, "")
    ]
    rest = ", ".join(
        f"{_inline(key.replace('_', ' '))}: {_inline(_figure_value(value))}" for key, value in others
    )
    if primary is not None:
        text = _inline(_figure_value(impact[primary]))
        return f"{text} ({rest})" if rest else text
    return rest or "not measured"


def _data_loss_text(impact: Mapping[str, Any]) -> str:
    if "data_loss" not in impact or impact["data_loss"] is None:
        return "not determined"
    value = impact["data_loss"]
    reason = impact.get("data_loss_reason")
    if isinstance(value, Mapping):
        reason = value.get("reason", reason)
        value = next((value[key] for key in ("value", "status", "data_loss") if key in value), None)
        if value is None:
            return "not determined"
    if isinstance(value, bool):
        word = "yes" if value else "no"
    else:
        word = _DATA_LOSS_WORDS.get(str(value).strip().lower(), "")
        word = word or _inline(value)
    return f"{word} ({_inline(reason)})" if reason not in (None, "") else word


def _data_loss_word(report: Report) -> str:
    return _data_loss_text(report.assessment.user_impact).split(" ", 1)[0]


def _impact(report: Report) -> list[list[str]]:
    impact = report.assessment.user_impact
    services = ", ".join(_code(name) for name in report.assessment.affected_components) or "not determined"
    return [
        [
            f"- Users affected: {_users_text(impact)}",
            f"- Services impacted: {services}",
            f"- Data loss: {_data_loss_text(impact)}",
        ]
    ]


# --- action items, lessons, prevention --------------------------------------------------------------


def _action_items(report: Report) -> list[list[str]]:
    """The typed follow-ups (:mod:`incident_flow.followup`), each with its owner and the evidence it
    rests on; the decisions only people can take are left to them and said so."""
    if not report.action_items:
        return [["No action item can be derived from the evidence; the people involved should add them."]]
    lines = []
    for number, item in enumerate(report.action_items, start=1):
        text = f"{number}. **{item.kind.capitalize()}**: {_prose(item.text)}"
        owner = ", ".join(_code(name) for name in item.owners)
        text += (
            f" Owner: {owner} ({_prose(item.owner_source)})"
            if owner
            else f" Owner: {_prose(item.owner_source)}"
        )
        if item.contact:
            text += f"; contact: {_inline(item.contact)}"
        text += f". Rests on: {_basis_labels(report, item.basis)}."
        lines.append(text)
    return [lines]


def _basis_labels(report: Report, pointers: Iterable[str]) -> str:
    """JSON pointers of the report as the Markdown reader finds them: ``root cause 1 (evidence 1, 2;
    change)``, ``alert 1 in Prevention``, ``Impact``."""
    causes = _ranked(report.root_causes)
    order: list[int | str] = []  # a cause's rank, or another section's label
    details: dict[int, list[str]] = {}
    for pointer in pointers:
        parts = pointer.strip("/").split("/")
        if parts[0] == "root_causes" and parts[1:2] and parts[1].isdigit() and int(parts[1]) < len(causes):
            rank = causes[int(parts[1])].rank
            if rank not in details:
                details[rank] = []
                order.append(rank)
            if parts[2:3] == ["evidence"] and parts[3:4] and parts[3].isdigit():
                details[rank].append(str(int(parts[3]) + 1))
            elif parts[2:3] == ["change"]:
                details[rank].append("change")
            continue
        label = _basis_label(report, parts)
        if label not in order:
            order.append(label)
    texts = []
    for key in order:
        if isinstance(key, str):
            texts.append(key)
            continue
        numbers = sorted({d for d in details[key] if d.isdigit()}, key=int)
        inner = [f"evidence {', '.join(numbers)}"] if numbers else []
        inner += ["change"] if "change" in details[key] else []
        texts.append(f"root cause {key}" + (f" ({'; '.join(inner)})" if inner else ""))
    return "; ".join(texts)


def _basis_label(report: Report, parts: list[str]) -> str:
    """One JSON pointer (split) outside the root causes, named after the section that shows it."""
    if parts[0] == "monitoring" and len(parts) == 2 and parts[1].isdigit():
        return f"alert {int(parts[1]) + 1} in Prevention"
    if (
        parts[0] == "findings"
        and len(parts) >= 2
        and parts[1].isdigit()
        and int(parts[1]) < len(report.findings)
    ):
        return f"finding “{_inline(report.findings[int(parts[1])].title)}”"
    named = {
        "onset": "the onset",
        "incident": "the detection time",
        "mitigations": "Resolution",
        "assessment": "Impact",
        "sources_missing": "What was missing",
        "investigators": "Investigators",
    }
    return named.get(parts[0], _code("/" + "/".join(parts)))


def _lessons(report: Report) -> list[list[str]]:
    lines = [f"- {_prose(lesson.text)}" for lesson in lessons(report)]
    for lesson in (report.llm.get("lessons_learned") or ()) if report.llm else ():
        lines.append(f"- {_inline(str(lesson))} (Claude)")
    lines.append(
        "- Why the checks and reviews on the way to production did not stop this, and what to change in "
        "them, is for the people involved to draw in the review; this report does not invent it."
    )
    return [lines]


def _prevention(report: Report) -> list[list[str]]:
    """The alerts that would have caught the incident, ready to paste, with when they would have fired."""
    if not report.monitoring:
        return [
            [
                "No signal of the cause had the figures (a baseline and an incident level) to set a "
                "threshold from, so this run suggests no alert."
            ]
        ]
    detected = report.incident.detected_at
    blocks: list[list[str]] = []
    for number, rule in enumerate(report.monitoring, start=1):
        unit = f" {_inline(rule.unit)}" if rule.unit and rule.kind == "metric" else ""
        if rule.kind == "metric":
            head = (
                f"{number}. **Metric alert on {_code(rule.signal)}** in {_code(rule.component)}: "
                f"{_code(rule.expr)} for {rule.for_s // 60}m. Before the onset the series sat at "
                f"{_number(rule.baseline)}{unit}, after it at {_number(rule.level)}{unit}"
            )
            head += f" (peak {_number(rule.peak)}{unit})" if rule.peak is not None else ""
            head += "; the threshold lies between."
        else:
            head = (
                f"{number}. **Log alert on the template {_code(rule.signal)}** in {_code(rule.source)}: "
                f"more than {rule.threshold:g} matching lines in {rule.window_s // 60} minutes (before the "
                f"onset {_number(rule.baseline)}, after it {_number(rule.level)} per {rule.window_s // 60} "
                "minutes)."
            )
        if rule.would_fire_at is not None:
            fire = rule.would_fire_at
            lead = (detected - fire).total_seconds()
            when = f"{span(lead)} before detection" if lead > 0 else f"{span(lead)} after detection"
            head += (
                f" Replayed over the recorded series it fires at {_clock(fire, detected)} "
                f"({format_offset(fire, detected)}), {when}"
            )
            if rule.fired_before_onset is not None:
                head += (
                    ", and never in the look-back before the onset"
                    if rule.fired_before_onset == 0
                    else f", and {rule.fired_before_onset} time(s) in the look-back before the onset"
                )
            head += "."
        elif rule.kind == "metric" and rule.fired_before_onset is not None:
            head += (
                f" Replayed over the recorded series it does not fire in the incident: the condition never "
                f"held for {rule.for_s // 60}m."
            )
        elif rule.kind == "metric":
            head += " It was not replayed: the series could not be read again."
        else:
            head += " When it would have fired is not computed: the report keeps no per-minute counts."
        blocks.append([head])
        blocks.append(
            _fence(rule.rule.split("\n"), info="yaml" if rule.kind == "metric" else "text", indent="   ")
        )
    return blocks


def _number(value: float) -> str:
    return f"{value:.3g}"


# --- findings, investigators, missing, audit, extensions ---------------------------------------------


def _findings(report: Report) -> list[list[str]]:
    """Every finding, grouped by investigator; evidence already shown under Root Cause is named, not
    repeated."""
    if not report.findings:
        return [["No investigator reported a finding."]]
    # Evidence is compared, not hashed: its figures are a plain dict.
    shown = [
        (evidence, f"/root_causes/{index}/evidence/{number}")
        for index, cause in enumerate(_ranked(report.root_causes))
        for number, evidence in enumerate(cause.evidence)
    ]

    def label(evidence: Evidence) -> str | None:
        return next((text for item, text in shown if item == evidence), None)

    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(finding.investigator, []).append(finding)
    blocks: list[list[str]] = []
    for investigator, findings in groups.items():
        blocks.append([f"#### {_inline(investigator)}"])
        lines = []
        for finding in findings:
            tags = [f"confidence {_confidence(finding.confidence)}"]
            if finding.category is not None:
                tags.append(finding.category.value)
            if finding.severity is not None:
                tags.append(f"severity {finding.severity.value}")
            if finding.symptom:
                tags.append("symptom")
            if finding.depends_on:
                tags.append(f"depends on {_code(finding.depends_on)}")
            summary = _inline(finding.summary)
            lines.append(
                f"- **{_inline(finding.title)}** in {_code(finding.component)} ({', '.join(tags)})"
                + (f": {summary}" if summary else "")
            )
            seen = [text for text in map(label, finding.evidence) if text is not None]
            if seen:
                lines.append(f"  - Evidence shown under Root Cause: {_basis_labels(report, seen)}")
            for evidence in finding.evidence:
                if label(evidence) is not None:
                    continue
                query = f": {_code(evidence.query)}" if evidence.query else ""
                lines.append(f"  - {_inline(evidence.summary)} (source {_code(evidence.source)}){query}")
        blocks.append(lines)
    return blocks


def _investigators(report: Report) -> list[list[str]]:
    if not report.investigators:
        return [["No investigator ran."]]
    rows = [
        "| Investigator | Status | Duration | Findings | Error |",
        "| --- | --- | --- | --- | --- |",
    ]
    for run in report.investigators:
        duration = _finite(run.duration_s)
        shown = "n/a" if duration is None else f"{duration:.1f} s"
        error = _inline(run.error) if run.error else ""
        name = _inline(run.name) or "(unnamed)"
        rows.append(f"| {name} | {run.status.value} | {shown} | {run.findings} | {error} |")
    return [rows]


def _missing(report: Report) -> list[list[str]]:
    blocks: list[list[str]] = []
    if report.source_problems:
        blocks.append(["Sources that could not be read:"])
        blocks.append([f"- {_code(p.source)}: {_inline(p.error)}" for p in report.source_problems])
    if report.notes:
        blocks.append(["Notes:"])
        blocks.append([f"- {_inline(note)}" for note in report.notes])
    return blocks


def _audit(report: Report) -> list[list[str]]:
    audit = _audit_dict(report.audit)
    lines = []
    if audit["error"]:
        lines.append(f"- The audit trail could not be written: {_inline(audit['error'])}")
    if audit["path"]:
        lines.append(f"- Path: {_code(audit['path'])}")
    if audit["records"] is not None:
        lines.append(f"- Records: {audit['records']}")
    if audit["final_hash"]:
        lines.append(f"- Final hash: {_code(audit['final_hash'])}")
    if not lines:
        return [["No audit trail was recorded for this run."]]
    if audit["path"] and not audit["error"]:
        lines.append(
            f"- Check it with {_code(shlex.join(['incident-flow', 'audit', 'verify', audit['path']]))}"
        )
    return [lines]


def _extensions(report: Report) -> list[list[str]]:
    reserved = {title.casefold() for title in _ALL_SECTIONS}
    sections: list[list[str]] = []
    for extension in report.extensions:
        title = _inline(extension.get("title") or "") or "Extension"
        if _one_line(extension.get("title") or "").casefold() in reserved:
            title += " (extension)"
        body = _nested_markdown(str(extension.get("markdown") or ""))
        sections.append([f"### {title}", *(["", *body] if body else [])])
    return sections
