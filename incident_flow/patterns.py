"""``incident-flow patterns``: the message templates of one log file, what an on-call runs first."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TextIO

import attrs

from incident_flow.analysis.templates import TemplateMiner
from incident_flow.logs import read_records
from incident_flow.sources import LogRecord
from incident_flow.timeutil import format_time, parse_time

__all__ = ["TemplateCount", "count_templates", "print_patterns"]


@attrs.define
class TemplateCount:
    """One template of a file: how often, where (1-based record start lines) and when."""

    id: str
    template: str
    count: int = 0
    lines: list[int] = attrs.field(factory=list)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, record: LogRecord) -> None:
        self.count += 1
        self.lines.append(record.line)
        if record.at is not None:
            self.add_time(record.at)

    def merge(self, other: TemplateCount) -> None:
        self.count += other.count
        self.lines = sorted([*self.lines, *other.lines])
        for at in (other.first, other.last):
            if at is not None:
                self.add_time(at)

    def add_time(self, at: datetime) -> None:
        self.first = at if self.first is None or at < self.first else self.first
        self.last = at if self.last is None or at > self.last else self.last


def count_templates(records: Iterable[LogRecord]) -> list[TemplateCount]:
    """Mine templates over the records; every record lands in exactly one template."""
    miner = TemplateMiner()
    counts: dict[str, TemplateCount] = {}
    for record in records:
        template = miner.add(record.message)
        entry = counts.get(template.id)
        if entry is None:
            entry = counts[template.id] = TemplateCount(id=template.id, template="")
        entry.add(record)
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


def print_patterns(
    path: Path,
    *,
    fmt: str = "auto",
    pattern: str | None = None,
    since: str | None = None,
    until: str | None = None,
    as_json: bool = False,
    out: TextIO,
) -> None:
    """Print the templates of ``path`` as text (counts, first and last seen) or as JSON."""
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
    if start or end:
        records = (
            r
            for r in records
            if r.at is None or ((start is None or r.at >= start) and (end is None or r.at < end))
        )
    templates = count_templates(records)
    if as_json:
        data: dict[str, object] = {
            "templates": [
                {"id": t.id, "template": t.template, "count": t.count, "lines": t.lines} for t in templates
            ]
        }
        if warnings:
            data["warnings"] = warnings
        out.write(json.dumps(data) + "\n")
        return
    for t in templates:
        first = format_time(t.first) if t.first else "-"
        last = format_time(t.last) if t.last else "-"
        out.write(f"{t.id}  {t.count:>8}  {first}  {last}  {t.template}\n")
    for warning in warnings:
        out.write(f"# warning: {warning}\n")
