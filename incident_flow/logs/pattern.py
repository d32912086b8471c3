"""``format = "pattern"``: a line layout in the loghub notation, or a regex with named groups.

The loghub notation (``<Date> <Time> <Level> \\[<Process>\\] <Component>: <Content>``) is how the
logparser benchmark describes a log's header, so a layout written for Drain works here unchanged and
means the same thing: each ``<Name>`` is a non-greedy group, the text between is a regex in which a
run of spaces matches any run of white space, and the layout spans the whole (stripped) line.

A layout describes exactly one line, so with a pattern a line that does not match is a record of its
own (its message is the whole line), never folded into the one before: the user said what a record
looks like, and guessing otherwise would hide lines. How a layout is matched safely is in
:mod:`incident_flow.logs.layout`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import cast

import attrs

from incident_flow.logs.base import FieldNames, LineFormat, Parsed
from incident_flow.logs.layout import Layout, compile_layout
from incident_flow.logs.levels import normalize_level
from incident_flow.logs.timestamps import TimeParser

__all__ = ["CompiledPattern", "PatternFormat", "compile_pattern"]

_MESSAGE_NAMES = ("content", "message", "msg")
_DATE_NAMES = ("month", "date", "day")
_TIME_NAMES = ("time",)
_STAMP_NAMES = ("timestamp", "datetime")


@attrs.frozen
class CompiledPattern:
    """A compiled ``pattern`` value: a loghub ``layout``, or a plain ``regex`` with named groups."""

    regex: re.Pattern[str]
    source: str
    layout: Layout | None = None


def compile_pattern(value: str) -> CompiledPattern:
    """Compile a ``pattern`` value. Raises ValueError with a one-line reason when it cannot be used."""
    if "(?P<" in value:
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"a regular expression that compiles ({exc})") from None
        if not regex.groupindex:
            raise ValueError("a regular expression with named groups")
        return CompiledPattern(regex, value)
    layout = compile_layout(value)
    return CompiledPattern(layout.regex, value, layout)


def _named(groups: list[str], wanted: tuple[str, ...]) -> list[str]:
    return [g for g in groups if g.lower() in wanted]


class PatternFormat(LineFormat):
    """Lines read by a user's layout; the groups are the record's fields.

    ``Content`` (or ``Message``) is the message; ``Date``/``Time``/``Timestamp`` (and loghub's
    ``Month``/``Day``) together are the time; ``Level`` and ``Component`` map to the level and the
    component when they hold one. ``time_field``, ``level_field`` and ``message_field`` name other
    groups.
    """

    name = "pattern"
    standalone = True

    def __init__(self, times: TimeParser, pattern: CompiledPattern, names: FieldNames | None = None) -> None:
        super().__init__(times)
        names = names or FieldNames()
        self.pattern = pattern
        regex = pattern.regex
        groups = list(regex.groupindex)
        self.message_key = names.message or next(iter(_named(groups, _MESSAGE_NAMES)), None)
        self.level_key = names.level or next(iter(_named(groups, ("level", "severity"))), None)
        self.component_key = next(iter(_named(groups, ("component",))), None)
        self.time_candidates = self._time_candidates(groups, names.time)
        self._best = 0

    @staticmethod
    def _time_candidates(groups: list[str], time_field: str | None) -> list[tuple[str, ...]]:
        """The groups to join into a timestamp, best guess first (BGL has both an epoch and a date)."""
        if time_field:
            return [(time_field,)]
        timeish = _named(groups, _DATE_NAMES + _TIME_NAMES + _STAMP_NAMES)
        dated = _named(groups, _DATE_NAMES + _TIME_NAMES)
        candidates = [
            tuple(timeish),
            *((name,) for name in _named(groups, _STAMP_NAMES)),
            tuple(dated),
            *((name,) for name in _named(groups, _TIME_NAMES)),
            *((name,) for name in timeish),
        ]
        unique: list[tuple[str, ...]] = []
        for candidate in candidates:
            if candidate and candidate not in unique:
                unique.append(candidate)
        return unique

    def parse(self, line: str) -> Parsed | None:
        stripped = line.strip()
        groups = self.match(stripped)
        if groups is None:
            return None
        # Optional groups that did not take part are left out; the common case copies nothing.
        fields = (
            {k: v for k, v in groups.items() if v is not None}
            if None in groups.values()
            else cast(dict[str, str], groups)
        )
        message_key = self.message_key
        message = fields.get(message_key, stripped) if message_key else stripped
        level_key = self.level_key
        level = normalize_level(fields.get(level_key)) if level_key else None
        component_key = self.component_key
        component = (fields.get(component_key) or None) if component_key else None
        at = self._time(fields) if self.time_candidates else None
        return (message, at, level, component, fields, None)

    def match(self, line: str) -> dict[str, str | None] | None:
        """The groups of a stripped line, or None."""
        layout = self.pattern.layout
        if layout is not None:
            return layout.match(line)
        m = self.pattern.regex.search(line)
        return m.groupdict() if m is not None else None

    def _time(self, fields: dict[str, str]) -> datetime | None:
        candidates = self.time_candidates
        best = self._best
        at = self._time_from(candidates[best], fields)
        if at is None:
            for index, keys in enumerate(candidates):
                if index != best:
                    at = self._time_from(keys, fields)
                    if at is not None:
                        self._best = index  # the file keeps its layout: try this one first next time
                        break
        return at

    def _time_from(self, keys: tuple[str, ...], fields: dict[str, str]) -> datetime | None:
        if len(keys) == 1:
            text = fields.get(keys[0])
        else:
            values = [fields[k] for k in keys if k in fields]
            text = " ".join(values) if len(values) == len(keys) else None
        if not text:
            return None
        if len(text) >= 19 and text[4] == "-" and text[10] in "T ":
            return self.times.iso(text)
        return self.times.parse(text)
