"""Loghub layouts (``<Date> <Time> <Level> \\[<Process>\\] <Component>: <Content>``), matched with
loghub's meaning and without its worst case.

loghub turns a layout into one regex of non-greedy groups. That regex is the meaning, but not a
safe way to match: when a line does not fit, Python's backtracking tries every way to place the
fields, which grows with the cube of the line's words for Hadoop's layout and faster for longer
ones. One hostile or unexpected 64 KiB line (a request body logged with its newlines, a layout used
on the wrong file) would stall a run for hours. So :class:`Layout` matches in two steps:

1. **fast**: the same regex with header fields that hold no white space (``\\S*?``). When loghub's
   match has no white space in those fields, which is nearly always, this finds exactly that match
   (there is only one way to place each field) in microseconds;
2. **planned**: otherwise the fields are placed by dynamic programming. For each separator (the regex
   between two fields) every position where it matches is listed once, from the last separator to
   the first, keeping only those from which the rest of the layout can still match; then each field
   takes the nearest such position, as a non-greedy group does. Work is linear in the line's length.
   It differs from the regex only when a separator would have to give back part of its own match
   (``\\s+`` leaving a space to an empty field), where it reports no match.

Both steps read the header from at most :data:`HEADER_LIMIT` characters; a last field that ends the
layout takes the rest of the line, however long, as it would have anyway.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

import attrs

__all__ = ["HEADER_LIMIT", "Layout", "LayoutError", "build_layout", "compile_layout"]

#: How far into a line the header of a layout (everything before its last field) may reach.
HEADER_LIMIT = 2048

_FIELD = re.compile(r"(<[^<>]+>)")
_SPACES = re.compile(" +")


class LayoutError(ValueError):
    """A layout that cannot be used; the message says what was expected."""


@attrs.frozen
class _Plan:
    """The layout cut at its top-level fields: ``separators[i]`` comes before ``fields[i]``."""

    fields: tuple[str, ...]
    separators: tuple[re.Pattern[str], ...]  # one more than fields when the layout ends in text
    tail: re.Pattern[str] | None  # the text after the last field, anchored at the end of the line
    inner: frozenset[str]  # fields inside a separator's group, like Linux's (\[<PID>\])?


@attrs.frozen
class Layout:
    """A compiled loghub layout; :meth:`match` returns its fields for a (stripped) line, or None."""

    source: str
    regex: re.Pattern[str]  # loghub's own regex: the meaning
    fast: re.Pattern[str]
    open_ended: bool  # the layout ends with a field, which takes the rest of the line
    plan: _Plan | None
    names: tuple[str, ...]  # every field, in layout order

    def match(self, line: str) -> dict[str, str | None] | None:
        """The fields of ``line`` (None for an optional field that is absent), or None."""
        long = len(line) > HEADER_LIMIT
        if long and not self.open_ended:
            return None
        head = line[:HEADER_LIMIT] if long else line
        m = self.fast.fullmatch(head)
        if m is not None:
            fields: dict[str, str | None] | None = m.groupdict()
        elif self.plan is not None:
            fields = self._planned(head)
        else:  # a layout the planner cannot cut: the exact regex, on a window short enough to be safe
            window = head[:160]
            if len(window) < len(head) and not self.open_ended:
                return None
            exact = self.regex.fullmatch(window)
            fields = exact.groupdict() if exact is not None else None
            head = window
        if fields is not None and len(head) < len(line):
            last = self.names[-1]
            fields[last] = (fields[last] or "") + line[len(head) :]
        return fields

    def _planned(self, line: str) -> dict[str, str | None] | None:
        plan = self.plan
        assert plan is not None
        n = len(line)
        fields, separators = plan.fields, plan.separators
        count = len(fields)
        # The last field can start at any position up to `reach`.
        if plan.tail is None:
            reach = n
            tail_starts: list[int] = []
        else:
            tail_starts = _starts(plan.tail, line, n)
            if not tail_starts:
                return None
            reach = tail_starts[-1]
        # Separators between fields, last first: keep the matches after which the rest can match.
        good: list[list[re.Match[str]]] = [[] for _ in range(count)]
        for index in range(count - 1, 0, -1):
            kept = [m for m in _matches(separators[index], line, n) if m.end() <= reach]
            if not kept:
                return None
            good[index] = kept
            reach = kept[-1].start()
        first = separators[0].match(line)
        if first is None or first.end() > reach:
            return None
        result: dict[str, str | None] = dict.fromkeys(self.names)
        result.update(first.groupdict())
        position = first.end()
        for index in range(count - 1):
            kept = good[index + 1]
            chosen = kept[bisect.bisect_left(kept, position, key=_start)]  # exists: see `reach`
            result[fields[index]] = line[position : chosen.start()]
            result.update(chosen.groupdict())
            position = chosen.end()
        if plan.tail is None:
            result[fields[-1]] = line[position:]
        else:
            end = tail_starts[bisect.bisect_left(tail_starts, position)]
            result[fields[-1]] = line[position:end]
            tail = plan.tail.match(line, end)
            assert tail is not None
            result.update(tail.groupdict())
        return result


def _matches(separator: re.Pattern[str], line: str, n: int) -> list[re.Match[str]]:
    """Every position where ``separator`` matches, with its first-choice match there."""
    found = []
    position = 0
    while position <= n:
        m = separator.search(line, position)
        if m is None:
            break
        found.append(m)
        position = m.start() + 1
    return found


def _start(m: re.Match[str]) -> int:
    return m.start()


def _starts(tail: re.Pattern[str], line: str, n: int) -> list[int]:
    return [m.start() for m in _matches(tail, line, n)]


def _depth_after(text: str, depth: int) -> int:
    """The parenthesis depth after a piece of regex text (escapes and character classes skipped)."""
    index = 0
    in_class = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        index += 1
    return depth


def compile_layout(value: str) -> Layout:
    """Compile a loghub layout. Raises :class:`LayoutError` saying what a usable layout looks like."""
    parts = _FIELD.split(value)
    if len(parts) < 3:
        raise LayoutError("a layout with at least one <Field>, such as '<Date> <Time> <Level> <Content>'")
    names = [part[1:-1].strip() for part in parts[1::2]]
    for name in names:
        if not name.isidentifier():
            raise LayoutError(f"field names made of letters, digits and _ (got <{name}>)")
        if names.count(name) > 1:
            raise LayoutError(f"each field once (<{name}> appears twice)")
    return build_layout(
        value,
        parts[0::2],
        names,
        separator=lambda text: _SPACES.sub(r"\\s+", text),
        # Possessive in the fast form: a run of spaces is never split between a separator and an
        # empty field, which is what keeps the fast form linear.
        fast_separator=lambda text: _SPACES.sub(r"\\s++", text),
        fast_field=lambda following: r"\S*?",
    )


def build_layout(
    source: str,
    texts: list[str],
    names: list[str],
    *,
    separator: Callable[[str], str],
    fast_separator: Callable[[str], str],
    fast_field: Callable[[str], str],
) -> Layout:
    """A layout from its pieces: ``texts[i]`` comes before ``names[i]`` (one more text than names).

    ``separator`` turns a text into its regex, ``fast_separator`` into the fast form's, and
    ``fast_field`` gives a field's pattern in the fast form from the text that follows it. Field
    names must be unique identifiers. Raises :class:`LayoutError` when a regex does not compile.
    """
    exact: list[str] = []
    fast: list[str] = []
    open_ended = texts[-1] == ""
    # For the planner: separators (regex text) between top-level fields.
    top_fields: list[str] = []
    separators: list[str] = [""]
    inner: set[str] = set()
    depth = 0
    for index, text in enumerate(texts):
        regex_text = separator(text)
        exact.append(regex_text)
        fast.append(fast_separator(text))
        separators[-1] += regex_text
        depth = _depth_after(regex_text, depth)
        if index == len(names):
            break
        name = names[index]
        if index == len(names) - 1 and open_ended:
            # The last field takes the rest of the line: greedy and lazy give the same match there,
            # and greedy is much cheaper on long lines.
            exact.append(f"(?P<{name}>.*)")
            fast.append(f"(?P<{name}>.*)")
        else:
            exact.append(f"(?P<{name}>.*?)")
            fast.append(f"(?P<{name}>{fast_field(texts[index + 1])})")
        if depth > 0:
            inner.add(name)
            separators[-1] += f"(?P<{name}>.*?)"
        else:
            top_fields.append(name)
            separators.append("")
    try:
        regex = re.compile("".join(exact))
        quick = re.compile("".join(fast))
    except re.error as exc:
        raise LayoutError(f"a layout whose text between fields is a valid regex ({exc})") from None
    return Layout(source, regex, quick, open_ended, _plan(top_fields, separators, inner), tuple(names))


def _plan(fields: list[str], separators: list[str], inner: set[str]) -> _Plan | None:
    """Cut the layout at its top-level fields, or None when a piece is not a regex on its own."""
    if not fields:
        return None
    trailing = separators[len(fields)]
    try:
        compiled = [re.compile(text) for text in separators[: len(fields)]]
        tail = re.compile(f"(?:{trailing})\\Z") if trailing else None
    except re.error:
        return None
    return _Plan(tuple(fields), tuple(compiled), tail, frozenset(inner))
