"""Cite or drop: every claim the model makes must rest on something the conversation showed it.

:class:`Shown` collects what the model was given as data in one conversation (the deterministic
findings it started from and every tool result), without what it wrote itself: the echo of its own
query arguments and our notes are left out, or a model could cite the words it searched for.

:func:`check_findings` turns the ``report_findings`` input into :class:`~incident_flow.model.Finding`
values. A finding is kept only when it fits the model and *every* evidence item it gives is found:
each quoted line verbatim (white space aside) in one shown string, each figure among the shown
values (a number equal to one shown, to the precision the model wrote it; a text value as a
substring). One fabricated citation drops the whole claim, and the drop is recorded with what
could not be found.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from incident_flow.llm.outcome import DroppedClaim
from incident_flow.llm.redaction import SafeText
from incident_flow.llm.tools import UNCITABLE_KEYS
from incident_flow.model import Category, Change, Evidence, Finding, Severity
from incident_flow.timeutil import parse_time

__all__ = [
    "MAX_FINDINGS",
    "MIN_LINE_CHARS",
    "REPORT_FINDINGS_TOOL",
    "CheckedReport",
    "Shown",
    "check_findings",
]

MIN_LINE_CHARS = 12
"""A quoted line shorter than this is not specific enough to check (``ERROR`` is everywhere)."""

MAX_FINDINGS = 5
"""How many findings one investigation may add; more are dropped as ``over_limit``."""

CONFIDENCE_CAP = 0.75
"""A model's confidence is its opinion: capped, so a claim alone never outweighs strong measured
evidence in the ranking (``correlate`` combines confidences)."""

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_REF_PREFIX = re.compile(r"^\S+?:\d+:?\s+")

_CATEGORIES = [c.value for c in Category]
_SEVERITIES = [s.value for s in Severity]

REPORT_FINDINGS_TOOL: dict[str, Any] = {
    "name": "report_findings",
    "description": "End the investigation: the findings it adds, with evidence copied verbatim. [] if none.",
    "input_schema": {
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "component": {"type": "string"},
                        "title": {"type": "string"},
                        "summary": {"type": "string"},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "category": {"type": "string", "enum": _CATEGORIES},
                        "severity": {"type": "string", "enum": _SEVERITIES},
                        "symptom": {"type": "boolean"},
                        "indicator": {"type": "string"},
                        "depends_on": {"type": "string"},
                        "change_id": {"type": "string"},
                        "onset": {"type": "string"},
                        "evidence": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "source": {"type": "string"},
                                    "kind": {"type": "string"},
                                    "summary": {"type": "string"},
                                    "lines": {"type": "array", "items": {"type": "string"}},
                                    "figures": {
                                        "type": "object",
                                        "additionalProperties": {"type": ["number", "string"]},
                                    },
                                    "query": {"type": "string"},
                                },
                                "required": ["source", "summary"],
                            },
                        },
                    },
                    "required": ["component", "title", "summary", "confidence", "evidence"],
                },
            }
        },
        "required": ["findings"],
    },
}
"""The closing tool: its schema is the :class:`~incident_flow.model.Finding` model as the model may
fill it (the investigator name, mitigations and the change object are the run's to set)."""


def _normal(text: str) -> str:
    # The data block writes "</" as the JSON escape "<\\/"; a model may quote either form.
    text = text.replace("<\\/", "</")
    return " ".join(text.split())


class Shown:
    """Everything a conversation showed the model as data: strings and figures, for checking."""

    def __init__(self) -> None:
        self._strings: list[str] = []
        self._numbers: list[float] = []
        self._corpus: str | None = None
        self.changes: dict[str, Change] = {}

    def add(self, payload: Any) -> None:
        """Index a payload (a tool result's shown JSON value); skips our notes and the model's echo."""
        self._walk(payload)
        self._corpus = None

    def _walk(self, value: Any) -> None:
        if isinstance(value, str):
            self._strings.append(_normal(value))
            self._numbers.extend(float(n) for n in _NUMBER.findall(value))
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            if math.isfinite(value):
                self._numbers.append(float(value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key not in UNCITABLE_KEYS:
                    self._walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self._walk(item)

    @property
    def corpus(self) -> str:
        if self._corpus is None:
            self._corpus = "\n".join(self._strings)
        return self._corpus

    def has_line(self, line: str) -> bool:
        """Whether ``line`` (white space aside, a trailing ellipsis allowed) was shown verbatim."""
        text = _normal(line)
        for cut in ("…", "..."):  # a quote of a line the tool had shortened
            if text.endswith(cut):
                text = text[: -len(cut)].rstrip()
        if len(text) < MIN_LINE_CHARS:
            return False
        if text in self.corpus:
            return True
        # "checkout.log:1113: <record text>": the reference and the text are shown apart.
        rest = _REF_PREFIX.sub("", text, count=1)
        return rest != text and len(rest) >= MIN_LINE_CHARS and rest in self.corpus

    def has_figure(self, value: Any) -> bool:
        """Whether a figure's value was shown: a number to the precision written, or a text."""
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            if not math.isfinite(value):
                return False
            written = repr(value)
            decimals = len(written.split(".")[1]) if "." in written and "e" not in written.lower() else 0
            tolerance = 0.5 * 10**-decimals + 1e-9 * max(abs(value), 1.0)
            return any(abs(shown - value) <= tolerance for shown in self._numbers)
        if isinstance(value, str):
            text = _normal(value)
            return bool(text) and text in self.corpus
        return False


@attrs.frozen
class CheckedReport:
    """What a ``report_findings`` call gave: kept findings, dropped claims, or a shape error."""

    findings: tuple[Finding, ...] = ()
    dropped: tuple[DroppedClaim, ...] = ()
    error: str | None = None


def _str(item: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 2000) -> str | None:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value.strip()[:limit]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_time(value, UTC)
    except ValueError:
        return None


def _strip_ref(line: str) -> str:
    return _normal(_REF_PREFIX.sub("", line, count=1))


def check_findings(
    raw: Any,
    *,
    investigation: str,
    investigator: str,
    shown: Shown,
    safe: SafeText,
    source_names: Iterable[str],
    known_lines: Mapping[str, set[str]] | None = None,
) -> CheckedReport:
    """Validate a ``report_findings`` input against the Finding model and the conversation.

    ``known_lines`` maps a component to the (reference-free) lines of the deterministic findings
    about it: a claim whose every line is among them restates one and is dropped as ``duplicate``.
    Text the model wrote is restored (placeholders back to the originals) only after checking, for
    the local report.
    """
    if not isinstance(raw, Mapping) or not isinstance(raw.get("findings"), list):
        return CheckedReport(error='expected {"findings": [...]} (an empty list when there is nothing new)')
    sources = set(source_names)
    kept: list[Finding] = []
    dropped: list[DroppedClaim] = []
    for index, item in enumerate(raw["findings"]):
        title = (
            str(item.get("title") or f"finding {index + 1}")
            if isinstance(item, Mapping)
            else f"finding {index + 1}"
        )
        component = str(item.get("component") or "?") if isinstance(item, Mapping) else "?"
        title, component = title[:200], component[:120]

        def drop(
            reason: str, detail: str, missing: Iterable[str] = (), *, t: str = title, c: str = component
        ) -> None:
            dropped.append(
                DroppedClaim(investigation, safe.restore(t), safe.restore(c), reason, detail, tuple(missing))
            )

        if len(kept) >= MAX_FINDINGS:
            drop("over_limit", f"an investigation adds at most {MAX_FINDINGS} findings")
            continue
        if not isinstance(item, Mapping):
            drop("invalid", "a finding must be an object")
            continue
        try:
            finding, missing = _build(item, investigator, shown, safe, sources)
        except (ValueError, TypeError) as exc:
            drop("invalid", str(exc))
            continue
        if missing:
            drop("uncited", "evidence not found in this conversation's data", missing)
            continue
        if finding is None:
            continue
        lines = {_strip_ref(line) for e in finding.evidence for line in e.lines}
        known = (known_lines or {}).get(finding.component, set())
        if lines and lines <= known and not any(e.figures for e in finding.evidence):
            drop("duplicate", "restates a deterministic finding")
            continue
        kept.append(_restored(finding, safe))
    return CheckedReport(findings=tuple(kept), dropped=tuple(dropped))


def _build(
    item: Mapping[str, Any], investigator: str, shown: Shown, safe: SafeText, sources: set[str]
) -> tuple[Finding | None, list[str]]:
    component = _str(item, "component", required=True, limit=120) or ""
    title = _str(item, "title", required=True, limit=200) or ""
    summary = _str(item, "summary", limit=1500) or ""
    confidence = item.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        raise ValueError("confidence must be a number within 0..1")
    category = _str(item, "category")
    if category is not None and category not in _CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(_CATEGORIES)}")
    severity = _str(item, "severity")
    if severity is not None and severity not in _SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(_SEVERITIES)}")
    raw_evidence = item.get("evidence")
    if not isinstance(raw_evidence, list) or not raw_evidence:
        raise ValueError("evidence must be a non-empty list: a claim without evidence is dropped")
    missing: list[str] = []
    evidence: list[Evidence] = []
    for entry in raw_evidence[:5]:
        if not isinstance(entry, Mapping):
            raise ValueError("each evidence item must be an object")
        lines = entry.get("lines") or []
        figures = entry.get("figures") or {}
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise ValueError("evidence lines must be a list of strings")
        if not isinstance(figures, Mapping):
            raise ValueError("evidence figures must be an object")
        if not lines and not figures:
            raise ValueError("each evidence item needs lines or figures copied from the data")
        for line in lines[:8]:
            if not shown.has_line(line):
                missing.append(f"line: {line[:200]}")
        for key, value in list(figures.items())[:12]:
            if not shown.has_figure(value):
                missing.append(f"figure {str(key)[:60]}={json.dumps(value, default=str)[:80]}")
        source = _str(entry, "source") or "claude"
        evidence.append(
            Evidence(
                source=source if source in sources else f"claude:{source[:60]}",
                kind=(_str(entry, "kind", limit=60) or "citation"),
                summary=_str(entry, "summary", limit=500) or title or "cited evidence",
                query=_str(entry, "query", limit=500),
                lines=tuple(line[:1000] for line in lines[:8]),
                figures={str(k)[:60]: v for k, v in list(figures.items())[:12]},
            )
        )
    change: Change | None = None
    change_id = _str(item, "change_id", limit=80)
    if change_id is not None:
        matches = [c for cid, c in shown.changes.items() if cid == change_id or cid.startswith(change_id)]
        if len(matches) != 1 or len(change_id) < 7:
            missing.append(f"change_id: {change_id} (not one change that list_changes showed)")
        else:
            change = matches[0]
    finding = Finding(
        investigator=investigator,
        component=component,
        title=title,
        summary=summary,
        confidence=min(float(confidence), CONFIDENCE_CAP),
        evidence=tuple(evidence),
        category=category,
        severity=severity,
        symptom=bool(item.get("symptom", False)),
        indicator=_str(item, "indicator", limit=300),
        onset=_time(item.get("onset")),
        change=change,
        depends_on=_str(item, "depends_on", limit=120),
    )
    return finding, missing


def _restored(finding: Finding, safe: SafeText) -> Finding:
    """Placeholders back to their originals: the report stays on this machine."""
    r = safe.restore
    return attrs.evolve(
        finding,
        component=r(finding.component),
        title=r(finding.title),
        summary=r(finding.summary),
        indicator=r(finding.indicator) if finding.indicator else None,
        depends_on=r(finding.depends_on) if finding.depends_on else None,
        evidence=tuple(
            attrs.evolve(
                e,
                summary=r(e.summary),
                query=r(e.query) if e.query else None,
                lines=tuple(r(line) for line in e.lines),
                figures={k: r(v) if isinstance(v, str) else v for k, v in e.figures.items()},
            )
            for e in finding.evidence
        ),
    )
