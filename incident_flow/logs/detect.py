"""``format = "auto"``: choosing a file's format from its first lines.

Each candidate format reads a sample (the first 50 non-empty lines); the one that recognises the most
lines wins, ties going to the earlier one in :data:`~incident_flow.logs.formats.DETECTED_FORMATS`.
Lines that look like stack traces (markers, frames, ``ValueError: ...``, ``panic: ...``) are left out
of the count, since no format reads them. The winner must read at
least half of the sample: a JSON line or two in a text log must not turn every other line into a
continuation of a JSON record, so below that the file is read as ``plain``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from incident_flow.logs.base import LineFormat, strip_ansi
from incident_flow.logs.formats import DETECTED_FORMATS, FormatOptions, make_format
from incident_flow.logs.multiline import looks_like_trace
from incident_flow.logs.timestamps import TimeParser

__all__ = ["SAMPLE_LINES", "choose_format", "detect_format", "sample"]

#: How many non-empty lines of a file auto-detection reads.
SAMPLE_LINES = 50


def sample(lines: Iterator[str], count: int = SAMPLE_LINES) -> tuple[list[str], Iterator[str]]:
    """The first lines up to ``count`` non-empty ones, and an iterator over all lines again."""
    head: list[str] = []
    filled = 0
    for line in lines:
        head.append(line)
        if line and not line.isspace():
            filled += 1
            if filled >= count:
                break
    return head, itertools.chain(head, lines)


def choose_format(
    lines: Sequence[str], times: TimeParser, options: FormatOptions | None = None
) -> LineFormat:
    """The format that reads most of ``lines``, or ``plain`` when none reads at least half."""
    considered = []
    for line in lines:
        clean = strip_ansi(line).rstrip()
        if clean and not looks_like_trace(clean):
            considered.append(clean)
    best: LineFormat | None = None
    best_score = 0
    if considered:
        for name in DETECTED_FORMATS:
            candidate = make_format(name, times, options)
            score = sum(1 for line in considered if candidate.recognizes(line))
            if score > best_score:
                best, best_score = candidate, score
                if score == len(considered):
                    break
    if best is None or best_score * 2 < len(considered):
        return make_format("plain", times, options)
    return best


def detect_format(lines: Sequence[str], times: TimeParser | None = None) -> str:
    """The name of the format ``auto`` would choose for a file starting with ``lines``."""
    head, _ = sample(iter(lines))
    return choose_format(head, times or TimeParser()).name
