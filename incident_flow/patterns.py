"""``incident-flow patterns``: the message templates of one log file, what an on-call runs first."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, TextIO

import attrs

from incident_flow.analysis.stats import RateChange, is_surge, rate_change
from incident_flow.analysis.templates import TemplateMiner
from incident_flow.logs import read_records
from incident_flow.sources import LogRecord
from incident_flow.timeutil import format_time, parse_time

__all__ = ["Surge", "TemplateCount", "count_templates", "print_patterns", "surges"]


@attrs.define
class TemplateCount:
    """One template of a file: how often, where (1-based record start lines) and when.

    ``before`` counts the records that came before the comparison point, when there is one.
    """

    id: str
    template: str
    count: int = 0
    before: int = 0
    #: 4 bytes a record (not a Python int's 28 plus the list's slot): memory stays near flat.
    lines: array[int] = attrs.field(factory=lambda: array("I"))
    first: datetime | None = None
    last: datetime | None = None

    def add(self, record: LogRecord, split: datetime | None = None) -> None:
        self.count += 1
        self.lines.append(record.line)
        if record.at is not None:
            self.add_time(record.at)
            if split is not None and record.at < split:
                self.before += 1

    def merge(self, other: TemplateCount) -> None:
        self.count += other.count
        self.before += other.before
        self.lines = array("I", sorted([*self.lines, *other.lines]))
        for at in (other.first, other.last):
            if at is not None:
                self.add_time(at)

    def add_time(self, at: datetime) -> None:
        self.first = at if self.first is None or at < self.first else self.first
        self.last = at if self.last is None or at > self.last else self.last


def count_templates(records: Iterable[LogRecord], *, split: datetime | None = None) -> list[TemplateCount]:
    """Mine templates over the records; every record lands in exactly one template.

    With ``split``, each template also counts its records before that time (the baseline).
    """
    miner = TemplateMiner()
    counts: dict[str, TemplateCount] = {}
    for record in records:
        template = miner.add(record.message)
        entry = counts.get(template.id)
        if entry is None:
            entry = counts[template.id] = TemplateCount(id=template.id, template="")
        entry.add(record, split)
    final: dict[str, TemplateCount] = {}
    for template_id, entry in counts.items():
        resolved = miner.resolve(template_id)
        if resolved in final:
            final[resolved].merge(entry)
        else:
            entry.id = resolved
            final[resolved] = entry
    for entry in final.values():
        entry.template = miner.get(entry.id).template
    return sorted(final.values(), key=lambda t: (-t.count, t.lines[0] if t.lines else 0))


@attrs.frozen
class Surge:
    """A template new or significantly more frequent in the window than in the baseline before it."""

    template: TemplateCount
    change: RateChange

    @property
    def label(self) -> str:
        return "NEW" if self.change.before == 0 else f"x{self.change.ratio:.1f}"


def surges(
    templates: Iterable[TemplateCount], start: datetime, baseline_from: datetime, end: datetime
) -> list[Surge]:
    """The templates whose rate in ``[start, end)`` is significantly above ``[baseline_from, start)``."""
    minutes_before = max((start - baseline_from).total_seconds() / 60.0, 1.0)
    minutes_after = max((end - start).total_seconds() / 60.0, 1.0)
    found = []
    for template in templates:
        change = rate_change(template.before, minutes_before, template.count - template.before, minutes_after)
        if is_surge(change):
            found.append(Surge(template, change))
    return sorted(found, key=lambda s: (s.change.before > 0, -s.change.after))


def print_patterns(
    path: Path,
    *,
    fmt: str = "auto",
    pattern: str | None = None,
    since: str | None = None,
    until: str | None = None,
    compare: bool = False,
    as_json: bool = False,
    out: TextIO,
    err: IO[str],
) -> None:
    """Print the templates of ``path`` as text (counts, first and last seen) or as JSON.

    With ``compare``, the records before ``since`` are the baseline and only the templates new or
    surging in the window are printed: what an on-call engineer asks a log first.
    """
    warnings: list[str] = []
    records = read_records(
        [path],
        format="pattern" if pattern else fmt,
        pattern=pattern,
        warn=warnings.append,
        source_name=path.name,
    )
    start = parse_time(since) if since else None
    end = parse_time(until) if until else None
    low = None if compare else start
    if low or end:
        records = (
            r
            for r in records
            if r.at is None or ((low is None or r.at >= low) and (end is None or r.at < end))
        )
    templates = count_templates(records, split=start if compare else None)
    for warning in warnings:
        err.write(f"incident-flow patterns: warning: {warning}\n")
    if compare and start is not None:
        _print_surges(templates, start, end, as_json, out)
        return
    if as_json:
        data = [
            {"id": t.id, "template": t.template, "count": t.count, "lines": t.lines.tolist()}
            for t in templates
        ]
        out.write(json.dumps({"templates": data}) + "\n")
        return
    for t in templates:
        first = format_time(t.first) if t.first else "-"
        last = format_time(t.last) if t.last else "-"
        out.write(f"{t.id}  {t.count:>8}  {first}  {last}  {t.template}\n")


def _print_surges(
    templates: list[TemplateCount], start: datetime, end: datetime | None, as_json: bool, out: TextIO
) -> None:
    firsts = [t.first for t in templates if t.first is not None]
    lasts = [t.last for t in templates if t.last is not None]
    if not firsts or min(firsts) >= start:
        out.write("# no records before --since: there is no baseline to compare with\n")
        return
    window_end = end or max(lasts)
    found = surges(templates, start, min(firsts), window_end)
    if as_json:
        data = [
            {
                "id": s.template.id,
                "template": s.template.template,
                "before": s.change.before,
                "after": s.change.after,
                "rate_before_per_min": round(s.change.rate_before, 4),
                "rate_after_per_min": round(s.change.rate_after, 4),
                "p_value": s.change.p_value,
                "lines": s.template.lines[-s.change.after :].tolist(),
            }
            for s in found
        ]
        out.write(json.dumps({"surges": data}) + "\n")
        return
    out.write(
        f"# templates new or surging since {format_time(start)} (baseline from {format_time(min(firsts))})\n"
    )
    for s in found:
        counts = f"{s.change.before:>7} -> {s.change.after:<7}"
        out.write(f"{s.template.id}  {s.label:>6}  {counts}  {s.template.template}\n")
    if not found:
        out.write("# none\n")
