"""Joining lines into records: a stack trace is one record, not forty.

The rule (DESIGN.md): a line that does not start a record by the format's own rule continues the
record before. A line continues when it is indented, is a stack-trace marker (``Traceback``,
``Caused by:``, ``... 12 more``, ``goroutine 7 [running]:``...) or does not parse in the file's
format. Blank lines inside a record stay in its text when the record goes on after them; blank lines
between records belong to none (they carry nothing). With ``standalone`` formats (``pattern``) every
non-blank line is a record.

Every other line is accounted for: a continuation line with no record before it (the top of a file
cut mid-trace) becomes a record of its own, and a record cut at :data:`MAX_TEXT` says how many lines
it dropped, in its text and in a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from incident_flow.logs.base import MAX_TEXT, LineFormat, Parsed, strip_ansi, unparsed
from incident_flow.logs.reader import Warn
from incident_flow.sources import LogRecord

__all__ = ["CONTINUATION", "assemble", "is_continuation", "looks_like_trace"]

#: Lines that never start a record outside ``pattern``: indentation and stack-trace markers of
#: Python, Java and Go.
CONTINUATION = re.compile(
    r"[ \t]"
    r"|Traceback \(most recent call last\)"
    r"|Caused by:"
    r"|Suppressed:"
    r"|\.\.\. \d+ (?:more|common frames omitted)"
    r"|goroutine \d+ \["
    r"|During handling of the above exception"
    r"|The above exception was the direct cause"
    r"|\[signal "
    r"|created by [\w./*()$\[\]-]+(?: in goroutine \d+)?$"
)

# Inside a trace (a record that already has continuation lines), lines that look like the rest of a
# trace: Python's closing "ValueError: ...", Java's "java.lang.IllegalStateException: ...", Go's
# "main.(*Server).handle(0x0)" frames. Used only by formats that accept any line (``plain``).
_TRACE_TAIL = re.compile(
    r"[A-Za-z_][\w.$]*(?:Error|Exception|Exit|Interrupt|Warning|Throwable)\b"
    r"|[\w./*()$\[\]-]+\(.*\)(?: \{\.\.\.\})?$"
    r"|panic: |\[recovered\]|exit status \d+$"
)


_MAX_BLANKS = 1024


def is_continuation(line: str) -> bool:
    """Whether a line is a stack-trace line that never starts a record (outside ``pattern``)."""
    return CONTINUATION.match(line) is not None


def looks_like_trace(line: str) -> bool:
    """Whether a line looks like part of a stack trace (a marker, a frame, an exception line)."""
    return CONTINUATION.match(line) is not None or _TRACE_TAIL.match(line) is not None


def assemble(
    lines: Iterable[str],
    fmt: LineFormat,
    *,
    source: str,
    path: str,
    component: str | None = None,
    component_field: str | None = None,
    warn: Warn | None = None,
) -> Iterator[LogRecord]:
    """The records of one file's lines, in order. ``line`` numbers are 1-based.

    ``component`` fixes the component; ``component_field`` names the field that holds it; otherwise
    the format's own component (a Python ``[component]``, the syslog app) is used.
    """

    def record(start: int, parsed: Parsed, text: str) -> LogRecord:
        message, at, level, own_component, fields, extra = parsed
        if extra:
            text = f"{text}\n{extra}"
            if len(text) > MAX_TEXT:
                text = text[:MAX_TEXT] + "… [record truncated]"
        comp: str | None
        if component is not None:
            comp = component
        elif component_field is not None:
            comp = fields.get(component_field) or None
        else:
            comp = own_component
        return LogRecord(message, source, start, text, at, level, comp, path, fields)

    if fmt.standalone:
        yield from _standalone(lines, fmt, record)
        return

    parse = fmt.parse
    continuation = CONTINUATION.match
    trace_tail = _TRACE_TAIL.match if fmt.weak else None

    start = 0  # the line number of the record being built; 0 when there is none
    parsed: Parsed | None = None
    first = ""  # its first line
    parts: list[str] | None = None  # all its lines, once it has more than one
    size = 0
    dropped = 0  # continuation lines cut off at MAX_TEXT
    blanks: list[str] = []  # blank lines waiting to see whether the record goes on
    blank_overflow = 0
    truncated_records = 0
    first_truncated = 0

    for lineno, line in enumerate(lines, 1):
        if not line or line.isspace():
            if start:
                if len(blanks) < _MAX_BLANKS:
                    blanks.append(line)
                else:  # a flood of blank lines is counted, not held
                    blank_overflow += 1
            continue
        clean = strip_ansi(line).rstrip() if "\x1b" in line else line.rstrip()
        if continuation(clean) is None:
            new = parse(clean)
            if new is not None and (trace_tail is None or parts is None or trace_tail(clean) is None):
                if start:
                    assert parsed is not None
                    if dropped:
                        truncated_records += 1
                        first_truncated = first_truncated or start
                    yield record(start, parsed, _text(first, parts, dropped))
                start, parsed, first, parts, size, dropped = lineno, new, line, None, len(line), 0
                blanks.clear()
                blank_overflow = 0
                continue
        # The line continues the record before, if there is one.
        if not start:
            start, parsed, first, parts, size, dropped = lineno, unparsed(clean), line, None, len(line), 0
            continue
        if parts is None:
            parts = [first]
        if blanks:
            grown = size + sum(len(b) + 1 for b in blanks)
            if dropped or blank_overflow or grown > MAX_TEXT:
                dropped += len(blanks) + blank_overflow
            else:
                parts.extend(blanks)
                size = grown
            blanks.clear()
            blank_overflow = 0
        if dropped or size + len(line) + 1 > MAX_TEXT:
            dropped += 1
        else:
            parts.append(line)
            size += len(line) + 1
    if start:
        assert parsed is not None
        if dropped:
            truncated_records += 1
            first_truncated = first_truncated or start
        yield record(start, parsed, _text(first, parts, dropped))
    if truncated_records and warn is not None:
        warn(
            f"{path}: {truncated_records} record(s) longer than {MAX_TEXT // 1024} KiB were cut "
            f"(first at line {first_truncated})"
        )


def _text(first: str, parts: list[str] | None, dropped: int) -> str:
    if parts is None:
        return first
    text = "\n".join(parts)
    if dropped:
        text += f"\n… [record truncated: {dropped} more line(s)]"
    return text


def _standalone(
    lines: Iterable[str], fmt: LineFormat, build: Callable[[int, Parsed, str], LogRecord]
) -> Iterator[LogRecord]:
    """Every non-blank line is a record; a line the format cannot read keeps the whole line as message."""
    parse = fmt.parse
    for lineno, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        clean = strip_ansi(line).rstrip() if "\x1b" in line else line.rstrip()
        parsed = parse(clean)
        yield build(lineno, parsed if parsed is not None else unparsed(clean), line)
