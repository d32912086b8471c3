"""What every log format shares: the parse result, the format interface and the read options.

A format only answers one question per line: "does this line start a record, and what does it say?"
(:meth:`LineFormat.parse`). Joining continuation lines, reading files and filtering by time live
elsewhere, so a format is a few regular expressions and a mapping to the record's fields.
"""

from __future__ import annotations

import abc
import re
from datetime import datetime

import attrs

from incident_flow.logs.timestamps import TimeParser

__all__ = [
    "MAX_TEXT",
    "FieldNames",
    "LineFormat",
    "Parsed",
    "strip_ansi",
    "unparsed",
]

#: The most characters a record's ``text`` (and so its message) keeps; the rest is cut and marked.
#: A runaway line or a stack trace that never ends must not hold memory during an outage.
MAX_TEXT = 64 * 1024

#: What a format reads from a line that starts a record:
#: ``(message, at, level, component, fields, extra_text)``. ``extra_text`` is text the record carries
#: beyond its line (a JSON record's stack trace) and is appended to the record's ``text``.
#: A plain tuple, not a class: it is built once per line on the hot path.
Parsed = tuple[str, datetime | None, str | None, str | None, dict[str, str], str | None]

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """Remove terminal colour and cursor escapes (colourised loggers write them into files)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def unparsed(line: str) -> Parsed:
    """A record for a line no rule could read: the whole line is the message, nothing else is known."""
    return (line.strip(), None, None, None, {}, None)


@attrs.frozen
class FieldNames:
    """Which keys hold the time, level and message, for formats with named fields.

    ``None`` means "the usual names" (see :mod:`incident_flow.logs.structured` and
    :mod:`incident_flow.logs.pattern`).
    """

    time: str | None = None
    level: str | None = None
    message: str | None = None


class LineFormat(abc.ABC):
    """One log format: recognises the lines that start a record and reads them."""

    #: The name used in ``format = "..."``.
    name: str = ""
    #: True when every line is a record of its own and is never folded into the one before
    #: (``pattern``: a line that does not match is still a record).
    standalone: bool = False
    #: True when the format accepts nearly any line (``plain``), so inside a stack trace the
    #: lines that look like frames or the final exception are kept with the trace.
    weak: bool = False

    def __init__(self, times: TimeParser) -> None:
        self.times = times

    @abc.abstractmethod
    def parse(self, line: str) -> Parsed | None:
        """The record a line starts, or None when the line continues the record before.

        ``line`` has no line ending, no trailing white space and no ANSI escapes. Must never raise.
        """

    def recognizes(self, line: str) -> bool:
        """Whether a line is written in this format, even one that continues a record.

        Auto-detection counts these: PostgreSQL's ``DETAIL:`` lines are PostgreSQL lines even though
        they continue the error before them.
        """
        return self.parse(line) is not None
