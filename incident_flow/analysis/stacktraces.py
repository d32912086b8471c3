"""Stack traces out of log text: exception, message and frames, for five runtimes.

The seed's Code Analysis asks for "error stack traces" and "exact code locations". Log records keep a
trace whole in ``record.text`` (see :mod:`incident_flow.logs.multiline`); this module reads it back
into values an investigator can compare, group and map onto a repository:

- **Python**: ``Traceback (most recent call last):`` blocks, chained with "During handling of the
  above exception..." (the earlier exception is the *context*) and "The above exception was the
  direct cause..." (the *cause*).
- **Java** (and Kotlin, Scala): ``at pkg.Class.method(File.java:42)`` frames, ``Caused by:`` chains and
  ``... N more``, whose frames are filled in from the enclosing trace, as the JVM elided them.
- **Go**: ``panic:`` and ``fatal error:`` with their goroutine dump; every goroutine is kept.
- **Node.js**: ``at fn (/usr/src/app/x.js:10:5)`` and ``at /x.js:10:5`` frames, ``[cause]:`` chains.
- **.NET**: ``at Ns.Type.Method(args) in C:\\src\\X.cs:line 42``, with ``--->`` inner exceptions.

Every trace's ``frames`` are ordered **innermost first**, whatever order the runtime printed them in,
so ``frames[0]`` is where the exception was raised in every language. Parsing never raises: text
that is not a trace gives no trace, and a half-written one gives what could be read.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import attrs

__all__ = [
    "LANGUAGES",
    "ErrorClass",
    "Frame",
    "Goroutine",
    "PathIndex",
    "StackTrace",
    "classify_error",
    "fingerprint",
    "looks_like_trace",
    "parse_traces",
]

#: The runtimes whose traces are read, as ``StackTrace.language`` names them.
LANGUAGES = ("python", "java", "go", "node", "dotnet")

#: The most lines of one text that are scanned, and the most frames kept per trace: a runaway
#: recursion prints thousands of identical frames and they add nothing but time.
MAX_LINES = 20_000
MAX_FRAMES = 256
MAX_LINE_LENGTH = 2000
_MAX_TEXT = 500

_LINE_NO = r"[0-9]{1,9}"  # \d would take other scripts' digits, and int() of 5000 digits raises


def _text(value: str | None, limit: int = _MAX_TEXT) -> str | None:
    """One line, trimmed, bounded: what a frame or header field may hold."""
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        return None
    return value if len(value) <= limit else value[:limit] + "…"


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be a positive number or None, got {value!r}")


def _one_line(_inst: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (not value.strip() or "\n" in value or "\r" in value):
        raise ValueError(f"{attribute.name} must be a non-empty single line or None, got {value!r}")


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    number = int(text)
    return number if number >= 1 else None


@attrs.frozen
class Frame:
    """One frame: where the code was when the exception passed through.

    ``file`` is the path as the runtime wrote it (``/srv/app/orders/api.py``, ``OrderService.java``,
    ``C:\\src\\X.cs``); :attr:`path` is the form to match against a repository. ``module`` is the
    Java class or the Go package when the runtime names one; ``code`` is the source line Python
    prints under its frames.
    """

    file: str | None = attrs.field(default=None, validator=_one_line)
    line: int | None = attrs.field(default=None, validator=_positive)
    function: str | None = attrs.field(default=None, validator=_one_line)
    module: str | None = attrs.field(default=None, validator=_one_line)
    column: int | None = attrs.field(default=None, validator=_positive)
    code: str | None = attrs.field(default=None, validator=_one_line)

    @property
    def path(self) -> str | None:
        """The file as a ``/``-separated path, with the package folders a JVM frame implies.

        Java prints only ``OrderService.java``; its class ``com.acme.orders.OrderService`` says the
        file is ``com/acme/orders/OrderService.java`` under some source root, which is what a
        repository holds.
        """
        if self.file is None:
            return None
        path = self.file.replace("\\", "/")
        for prefix in ("file://", "webpack:///", "webpack://"):
            if path.startswith(prefix):
                path = path[len(prefix) :]
        if "/" not in path and self.module and "." in self.module and not self.module.startswith("/"):
            module = self.module.rsplit("/", 1)[-1]  # java.base/java.lang.Thread, app//com.acme.X
            package = module.rsplit(".", 1)[0]
            if package and package != module:
                path = package.replace(".", "/") + "/" + path
        return path or None

    def location(self) -> str:
        """``path:line in function``, the way a person reads a code location."""
        where = self.path or "?"
        if self.line is not None:
            where += f":{self.line}"
        if self.function:
            where += f" in {self.function}"
        return where


@attrs.frozen
class Goroutine:
    """One goroutine of a Go dump: its id, its state (``running``, ``chan receive, 5 minutes``...)."""

    id: int
    state: str
    frames: tuple[Frame, ...] = ()


@attrs.frozen
class StackTrace:
    """One exception and its frames, innermost first; ``cause`` is the exception underneath it.

    ``cause_relation`` says how ``cause`` relates: ``"cause"`` (Python's explicit ``raise ... from``,
    Java's and Node's ``Caused by``), ``"context"`` (Python's "during handling of the above
    exception") or ``"inner"`` (.NET's inner exception). ``omitted`` counts frames the text elided
    (Java's ``... 12 more``; they are filled in from the enclosing trace when it has them).
    """

    language: str
    exception: str
    message: str
    frames: tuple[Frame, ...] = ()
    cause: StackTrace | None = None
    cause_relation: str | None = None
    omitted: int = 0
    goroutines: tuple[Goroutine, ...] = ()

    @property
    def chain(self) -> tuple[StackTrace, ...]:
        """This trace, then its cause, then that one's cause..."""
        out: list[StackTrace] = []
        trace: StackTrace | None = self
        while trace is not None and len(out) < 64:
            out.append(trace)
            trace = trace.cause
        return tuple(out)

    @property
    def root(self) -> StackTrace:
        """The deepest cause: the exception that started it all."""
        return self.chain[-1]

    @property
    def top(self) -> Frame | None:
        """Where this exception was raised (the innermost frame)."""
        return self.frames[0] if self.frames else None

    def all_frames(self) -> tuple[Frame, ...]:
        """Every frame of the chain, the root cause's first (where the failure started)."""
        out: list[Frame] = []
        for trace in reversed(self.chain):
            out.extend(trace.frames)
        return tuple(out)

    def headline(self) -> str:
        """``KeyError: 'discount'``: the exception and message as the runtime prints them."""
        if self.exception and self.message:
            return f"{self.exception}: {self.message}"
        return self.exception or self.message or "(no message)"


# -- shared helpers -------------------------------------------------------------------------------


def _balanced_open(text: str) -> int:
    """The index of the ``(`` that the final ``)`` of ``text`` closes, or -1."""
    if not text.endswith(")"):
        return -1
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _frames(frames: Iterable[Frame]) -> tuple[Frame, ...]:
    return tuple(frames)[:MAX_FRAMES]


_Found = tuple[int, int, StackTrace]  # (first line, last line, trace)

# A JVM or .NET exception type named in a header line; the suffix keeps logger names out.
_TYPED_HEADER = re.compile(
    r"(?<![\w$.])(?P<type>(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(?:Exception|Error|Throwable|Failure|Fault))"
    r"(?=$|[:\s])(?::\s*(?P<msg>.*))?"
)
_QUALIFIED_HEADER = re.compile(r"(?P<type>(?:[a-z_$][\w$]*\.)+[A-Z$][\w$]*)(?::\s*(?P<msg>.*))?")


def _header(line: str) -> tuple[str, str]:
    """(exception type, message) from a header line that may carry a log prefix."""
    stripped = line.strip()
    for prefix in ("Exception in thread ", "Unhandled exception. ", "Unhandled Exception: ", "Uncaught "):
        at = stripped.find(prefix)
        if at >= 0:
            stripped = stripped[at + len(prefix) :]
            if stripped.startswith('"'):
                end = stripped.find('" ', 1)
                stripped = stripped[end + 2 :] if end > 0 else stripped
    match = _TYPED_HEADER.search(stripped)
    if match is None:
        match = _QUALIFIED_HEADER.fullmatch(stripped)
    if match is None:
        return "", _text(stripped) or ""
    return _text(match.group("type")) or "", _text(match.group("msg") or "") or ""


def _is_headerish(line: str) -> bool:
    return _TYPED_HEADER.search(line) is not None


def _find_header(lines: list[str], first_frame: int, floor: int) -> int:
    """The header line of a JVM/.NET/Node trace: the nearest typed line above its first frame."""
    for index in range(first_frame - 1, max(floor, first_frame - 6) - 1, -1):
        if _is_headerish(lines[index]):
            return index
    return first_frame - 1 if first_frame - 1 >= floor else first_frame


# -- Python ---------------------------------------------------------------------------------------

_PY_TRACEBACK = re.compile(r"Traceback \(most recent call last\):\s*$")
_PY_FRAME = re.compile(
    rf'^(?P<indent>[ \t]*)File "(?P<file>[^"\n]+)", line (?P<line>{_LINE_NO})(?:, in (?P<func>.+?))?\s*$'
)
_PY_CHAIN = {
    "During handling of the above exception, another exception occurred:": "context",
    "The above exception was the direct cause of the following exception:": "cause",
}
_PY_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _python_one(lines: list[str], at: int) -> tuple[list[Frame], str, str, int]:
    """One ``Traceback`` block from line ``at``: frames (printed order), type, message, next line."""
    n = len(lines)
    j = at + 1
    frames: list[Frame] = []
    while j < n:
        line = lines[j]
        match = _PY_FRAME.match(line)
        if match is not None:
            depth = len(match.group("indent"))
            code = None
            j += 1
            # The source line, then the caret lines of Python 3.11+: deeper than the frame.
            while j < n and lines[j].strip() and _indent(lines[j]) > depth and not _PY_FRAME.match(lines[j]):
                if code is None:
                    code = _text(lines[j])
                j += 1
            frames.append(
                Frame(
                    file=_text(match.group("file")),
                    line=_int(match.group("line")),
                    function=_text(match.group("func")),
                    code=code,
                )
            )
            continue
        if line.strip().startswith("[Previous line repeated"):
            j += 1
            continue
        break
    exception, message = "", ""
    if j < n and lines[j].strip() and not _PY_TRACEBACK.search(lines[j]):
        stripped = lines[j].strip()
        match = _PY_EXCEPTION.match(stripped)
        if match is not None:
            exception = match.group("type")
            message = _text(match.group("msg") or "") or ""
        else:
            message = _text(stripped) or ""
        j += 1
    return frames, exception, message, j


def _python(lines: list[str]) -> list[_Found]:
    found: list[_Found] = []
    n = len(lines)
    i = 0
    while i < n:
        if not _PY_TRACEBACK.search(lines[i]):
            i += 1
            continue
        start = i
        parts: list[tuple[list[Frame], str, str, str | None]] = []
        relation: str | None = None
        while True:
            frames, exception, message, i = _python_one(lines, i)
            parts.append((frames, exception, message, relation))
            j = i
            while j < n and not lines[j].strip():
                j += 1
            link = _PY_CHAIN.get(lines[j].strip()) if j < n else None
            if link is not None:
                k = j + 1
                while k < n and not lines[k].strip():
                    k += 1
                if k < n and _PY_TRACEBACK.search(lines[k]):
                    relation, i = link, k
                    continue
            break
        # Python prints the cause first and the exception that surfaced last; each link belongs
        # to the later trace of its pair.
        trace: StackTrace | None = None
        for frames, exception, message, link_in in parts:
            trace = StackTrace(
                language="python",
                exception=exception,
                message=message,
                frames=_frames(reversed(frames)),
                cause=trace,
                cause_relation=link_in if trace is not None else None,
            )
        if trace is not None and trace.all_frames():
            found.append((start, max(start, i - 1), trace))
        i = max(i, start + 1)
    return found


# -- Java -----------------------------------------------------------------------------------------

_JAVA_FRAME = re.compile(r"^\s*at\s+(?P<method>[^\s()]+)\((?P<loc>[^()]*)\)(?:\s+~?\[[^\]]*\])?\s*$")
_JAVA_LOC = re.compile(
    r"(?P<file>[^\s:()]+\.(?:java|kt|kts|scala|groovy|clj|cljc|jav))(?::(?P<line>" + _LINE_NO + r"))?"
    r"|Native Method|Unknown Source(?::" + _LINE_NO + r")?|<generated>|SourceFile(?::" + _LINE_NO + r")?"
)
_JAVA_MORE = re.compile(rf"^\s*\.\.\. (?P<n>{_LINE_NO}) (?:more|common frames omitted)\s*$")
_JAVA_CAUSED = re.compile(r"^(?P<indent>\s*)Caused by:\s*(?P<header>.*)$")
_JAVA_SUPPRESSED = re.compile(r"^(?P<indent>\s*)Suppressed:\s*(?P<header>.*)$")


def _java_frame(line: str) -> Frame | None:
    match = _JAVA_FRAME.match(line)
    if match is None:
        return None
    loc = _JAVA_LOC.fullmatch(match.group("loc").strip())
    if loc is None:
        return None
    method = match.group("method")
    module, _, function = method.rpartition(".")
    return Frame(
        file=_text(loc.group("file")),
        line=_int(loc.group("line")),
        function=_text(method),
        module=_text(module) if function else None,
    )


def _java(lines: list[str]) -> list[_Found]:
    found: list[_Found] = []
    n = len(lines)
    floor = 0
    i = 0
    while i < n:
        first = _java_frame(lines[i])
        if first is None:
            i += 1
            continue
        start = _find_header(lines, i, floor)
        exception, message = _header(lines[start]) if start < i else ("", "")
        levels: list[dict[str, Any]] = [
            {"exception": exception, "message": message, "frames": [], "omitted": 0}
        ]
        suppressed_indent: int | None = None
        j = i
        while j < n:
            line = lines[j]
            if suppressed_indent is not None:
                caused = _JAVA_CAUSED.match(line)
                deeper = _indent(line) > suppressed_indent
                if deeper and (caused or _java_frame(line) or _JAVA_MORE.match(line)):
                    j += 1
                    continue
                suppressed_indent = None
            frame = _java_frame(line)
            if frame is not None:
                levels[-1]["frames"].append(frame)
            elif (more := _JAVA_MORE.match(line)) is not None:
                levels[-1]["omitted"] = int(more.group("n"))
            elif (caused := _JAVA_CAUSED.match(line)) is not None:
                exception, message = _header(caused.group("header"))
                levels.append({"exception": exception, "message": message, "frames": [], "omitted": 0})
            elif (suppressed := _JAVA_SUPPRESSED.match(line)) is not None:
                suppressed_indent = len(suppressed.group("indent"))
            elif not levels[-1]["frames"] and len(levels) > 1 and line.strip():
                # A multi-line message under "Caused by:" (a driver's "Detail: ..." line).
                extra = _text(line) or ""
                levels[-1]["message"] = _text(f"{levels[-1]['message']} {extra}".strip()) or ""
            else:
                break
            j += 1
        # "... N more": the last N frames equal the enclosing trace's last N.
        for index in range(1, len(levels)):
            omitted = levels[index]["omitted"]
            enclosing = levels[index - 1]["frames"]
            if omitted and omitted <= len(enclosing):
                levels[index]["frames"].extend(enclosing[-omitted:])
        trace: StackTrace | None = None
        for level in reversed(levels):
            trace = StackTrace(
                language="java",
                exception=level["exception"],
                message=level["message"],
                frames=_frames(level["frames"]),
                cause=trace,
                cause_relation="cause" if trace is not None else None,
                omitted=level["omitted"],
            )
        assert trace is not None
        found.append((start, j - 1, trace))
        floor = i = j
    return found


# -- .NET -----------------------------------------------------------------------------------------

_NET_FRAME = re.compile(
    r"^\s*at (?P<func>[^\s()]+)\((?P<args>[^()]*)\)"
    r"(?: in (?P<file>.+?):line (?P<line>" + _LINE_NO + r"))?\s*$"
)
_NET_END_INNER = re.compile(r"^\s*--- End of inner exception stack trace ---\s*$")
_NET_END_OTHER = re.compile(r"^\s*--- End of stack trace from previous location.*---\s*$")
_NET_INNER = re.compile(r"^\s*---> (?P<header>.*)$")


def _net_frame(line: str) -> Frame | None:
    match = _NET_FRAME.match(line)
    if match is None:
        return None
    args = match.group("args")
    if match.group("file") is None:
        if _JAVA_LOC.fullmatch(args.strip()):
            return None  # a JVM frame
        if args and " " not in args.strip():
            return None  # neither an empty list nor "Type name" pairs
    func = match.group("func")
    module, _, _name = func.rpartition(".")
    return Frame(
        file=_text(match.group("file")),
        line=_int(match.group("line")),
        function=_text(func),
        module=_text(module),
    )


def _dotnet(lines: list[str]) -> list[_Found]:
    found: list[_Found] = []
    n = len(lines)
    floor = 0
    i = 0
    while i < n:
        if _net_frame(lines[i]) is None:
            i += 1
            continue
        # The header: a typed line above, and the "---> Inner: ..." lines under it.
        start = i
        k = i - 1
        while k >= floor and _NET_INNER.match(lines[k]):
            k -= 1
        if k >= floor and i - k <= 12:
            start = k
        header_lines = [lines[index] for index in range(start, i)]
        headers: list[tuple[str, str]] = []
        for line in header_lines:
            inner = _NET_INNER.match(line)
            text = inner.group("header") if inner else line
            for piece in text.split(" ---> "):
                if piece.strip():
                    headers.append(_header(piece))
        if not headers:
            headers = [("", "")]
        levels: list[list[Frame]] = [[] for _ in headers]
        current = len(headers) - 1
        j = i
        while j < n:
            line = lines[j]
            frame = _net_frame(line)
            if frame is not None:
                levels[current].append(frame)
            elif _NET_END_INNER.match(line):
                current = max(0, current - 1)
            elif not _NET_END_OTHER.match(line):
                break
            j += 1
        trace: StackTrace | None = None
        for (exception, message), frames in reversed(list(zip(headers, levels, strict=True))):
            trace = StackTrace(
                language="dotnet",
                exception=exception,
                message=message,
                frames=_frames(frames),
                cause=trace,
                cause_relation="inner" if trace is not None else None,
            )
        assert trace is not None
        found.append((start, j - 1, trace))
        floor = i = j
    return found


# -- Node.js --------------------------------------------------------------------------------------

_NODE_LOC = re.compile(rf"(?P<file>.+?):(?P<line>{_LINE_NO})(?::(?P<col>{_LINE_NO}))?")
_NODE_HEADER = re.compile(
    r"(?P<type>\b[A-Z][\w$]*(?:Error|Exception)|\bError)(?:\s*\[(?P<code>[\w.]+)\])?(?::\s?(?P<msg>.*))?$"
)
_NODE_CAUSE = re.compile(r"^\s*\[cause\]:\s*(?P<header>.*?)\s*\{?\s*$")


def _node_frame(line: str) -> Frame | None:
    stripped = line.strip()
    if not stripped.startswith("at "):
        return None
    rest = stripped[3:].strip()
    if rest.endswith(" {"):  # the frame before an error's own properties
        rest = rest[:-2].rstrip()
    function: str | None = None
    loc = rest
    if rest.endswith(")"):
        opening = _balanced_open(rest)
        if opening <= 0 or rest[opening - 1] != " ":
            return None  # JVM and .NET frames have no space before the parenthesis
        function, loc = rest[:opening].strip(), rest[opening + 1 : -1].strip()
    elif "(" in rest or ")" in rest or " " in rest:
        return None
    if loc in ("native", "<anonymous>") or loc.startswith(("index ", "eval at ")):
        if function is None:
            return None
        return Frame(function=_text(function))
    match = _NODE_LOC.fullmatch(loc)
    if match is None:
        return None
    file = match.group("file")
    if file.endswith((".java", ".kt", ".scala", ".cs")):
        return None
    return Frame(
        file=_text(file),
        line=_int(match.group("line")),
        function=_text(function),
        column=_int(match.group("col")),
    )


def _node_header(line: str) -> tuple[str, str]:
    stripped = line.strip()
    match = _NODE_HEADER.search(stripped)
    if match is None:
        return "", _text(stripped) or ""
    return match.group("type"), _text(match.group("msg") or "") or ""


def _node(lines: list[str]) -> list[_Found]:
    found: list[_Found] = []
    n = len(lines)
    floor = 0
    i = 0
    while i < n:
        if _node_frame(lines[i]) is None:
            i += 1
            continue
        start = i
        for index in range(i - 1, max(floor, i - 6) - 1, -1):
            if _NODE_HEADER.search(lines[index].strip()):
                start = index
                break
        else:
            start = i - 1 if i - 1 >= floor else i
        exception, message = _node_header(lines[start]) if start < i else ("", "")
        levels: list[dict[str, Any]] = [{"exception": exception, "message": message, "frames": []}]
        j = i
        while j < n:
            line = lines[j]
            frame = _node_frame(line)
            if frame is not None:
                levels[-1]["frames"].append(frame)
            elif (cause := _NODE_CAUSE.match(line)) is not None:
                exception, message = _node_header(cause.group("header"))
                levels.append({"exception": exception, "message": message, "frames": []})
            elif line.strip() in ("}", "{") or re.match(r"^\s+[\w$]+: .*,?$", line):
                pass  # an error's own properties, printed between braces
            else:
                break
            j += 1
        trace: StackTrace | None = None
        for level in reversed(levels):
            trace = StackTrace(
                language="node",
                exception=level["exception"],
                message=level["message"],
                frames=_frames(level["frames"]),
                cause=trace,
                cause_relation="cause" if trace is not None else None,
            )
        assert trace is not None
        end = j - 1
        while end > i and not lines[end].strip():
            end -= 1
        found.append((start, end, trace))
        floor = i = j
    return found


# -- Go -------------------------------------------------------------------------------------------

_GO_HEADER = re.compile(r"^\s*(?P<kind>panic|fatal error): (?P<msg>.*?)(?: \[recovered\])?\s*$")
_GO_GOROUTINE = re.compile(r"^\s*goroutine (?P<id>[0-9]{1,12}) \[(?P<state>[^\]]*)\]:\s*$")
_GO_FILE = re.compile(rf"^\s+(?P<file>\S.*?):(?P<line>{_LINE_NO})(?: \+0x[0-9a-fA-F]+)?(?: fp=.*)?\s*$")
_GO_SIGQUIT = re.compile(r"^\s*SIGQUIT: quit\s*$")


def _go_function(line: str) -> str | None:
    stripped = line.strip()
    if stripped.startswith("created by "):
        return None
    opening = _balanced_open(stripped)
    if opening <= 0:
        return None
    name = stripped[:opening]
    if " " in name or "\t" in name:
        return None
    return name


def _go_package(function: str) -> str | None:
    slash = function.rfind("/")
    dot = function.find(".", slash + 1)
    return function[:dot] if dot > 0 else None


def _go_block(lines: list[str], at: int) -> tuple[list[Frame], int]:
    """The frames of one goroutine whose header is at ``at``; returns the line after it."""
    n = len(lines)
    frames: list[Frame] = []
    j = at + 1
    while j + 1 < n:
        line = lines[j]
        file = _GO_FILE.match(lines[j + 1])
        if file is None:
            break
        if line.strip().startswith("created by "):
            j += 2
            continue
        function = _go_function(line)
        if function is None:
            break
        frames.append(
            Frame(
                file=_text(file.group("file")),
                line=_int(file.group("line")),
                function=_text(function),
                module=_text(_go_package(function)),
            )
        )
        j += 2
    return frames, j


def _go(lines: list[str]) -> list[_Found]:
    found: list[_Found] = []
    n = len(lines)
    floor = 0
    i = 0
    while i < n:
        match = _GO_GOROUTINE.match(lines[i])
        if match is None:
            i += 1
            continue
        goroutines: list[Goroutine] = []
        j = i
        while j < n:
            match = _GO_GOROUTINE.match(lines[j])
            if match is None:
                break
            frames, j = _go_block(lines, j)
            goroutines.append(
                Goroutine(id=int(match.group("id")), state=match.group("state"), frames=tuple(frames))
            )
            k = j
            while k < n and not lines[k].strip():
                k += 1
            if k < n and _GO_GOROUTINE.match(lines[k]):
                j = k
                continue
            break
        start, kind, message = i, "goroutine dump", f"{len(goroutines)} goroutine(s)"
        for index in range(i - 1, max(floor, i - 12) - 1, -1):
            header = _GO_HEADER.match(lines[index])
            if header is not None:
                start, kind, message = index, header.group("kind"), _text(header.group("msg")) or ""
                break
            if _GO_SIGQUIT.match(lines[index]):
                start = index
                break
        if any(g.frames for g in goroutines):
            first = next(g for g in goroutines if g.frames)
            trace = StackTrace(
                language="go",
                exception=kind,
                message=message,
                frames=_frames(first.frames),
                goroutines=tuple(goroutines[:MAX_FRAMES]),
            )
            found.append((start, max(start, j - 1), trace))
        floor = i = max(j, i + 1)
    return found


# -- the public entry points ----------------------------------------------------------------------

_HINT = re.compile(
    r'Traceback \(most recent call last\)|^\s*at \S|^\s*goroutine [0-9]+ \[|^\s*File "',
    re.MULTILINE,
)
_SCANNERS: tuple[Callable[[list[str]], list[_Found]], ...] = (_python, _go, _dotnet, _java, _node)


def looks_like_trace(text: str) -> bool:
    """A cheap test: could ``text`` hold a stack trace? (Most log records cannot.)"""
    return bool(text) and _HINT.search(text) is not None


def parse_traces(text: str) -> list[StackTrace]:
    """Every stack trace in ``text``, in order of appearance; never raises.

    A trace with a chain (Python's "During handling...", Java's ``Caused by``, .NET's ``--->``) is
    one :class:`StackTrace` whose ``cause`` holds the rest.
    """
    if not looks_like_trace(text):
        return []
    # A frame or header line is never this long; cutting keeps every regex linear on runaway lines.
    lines = [line[:MAX_LINE_LENGTH] for line in text.splitlines()[:MAX_LINES]]
    found: list[_Found] = []
    for scanner in _SCANNERS:
        try:
            found.extend(scanner(lines))
        except (ValueError, IndexError, RecursionError):  # a defect here must not lose the record
            continue
    found.sort(key=lambda item: (item[0], -item[1]))
    result: list[StackTrace] = []
    covered = -1
    for start, end, trace in found:
        if start <= covered:
            continue
        result.append(trace)
        covered = max(covered, end)
    return result


def fingerprint(trace: StackTrace, *, depth: int = 12) -> str:
    """A key that is equal for the same failure: exception types and code locations, not values.

    Messages (ids, amounts) and line numbers (which shift with every release) are left out; the
    functions and files of the top ``depth`` frames of each exception in the chain are kept.
    """
    digest = hashlib.sha1(usedforsecurity=False)
    for trace_part in trace.chain:
        digest.update(f"{trace_part.language}|{trace_part.exception}\n".encode())
        for frame in trace_part.frames[:depth]:
            digest.update(f"{frame.path or ''}|{frame.function or ''}\n".encode(errors="replace"))
    return digest.hexdigest()[:16]


class PathIndex:
    """A repository's files, to find the file a frame names.

    Deployed code runs from another place than the repository (``/srv/app/``, ``/usr/src/app/``,
    ``C:\\build\\``, a ``site-packages`` folder), and a JVM frame names its file by package
    (``com/acme/X.java``) without the source root (``src/main/java/``). So a frame is matched by its
    path's tail: among the repository files with its name, the one that shares the most trailing
    folders with it, when exactly one does and at least one folder matches. A file at the
    repository's root matches a frame with no folder in common only when the frame's path is not in
    a library folder (``site-packages``, ``node_modules``...), so ``flask/app.py`` never becomes the
    project's ``app.py`` while ``/usr/src/app/index.js`` is its ``index.js``.
    """

    _LIBRARY = re.compile(
        r"(?:^|/)(?:site-packages|dist-packages|node_modules|vendor|\.m2|gems|pkg/mod|go/src|jdk[^/]*|"
        r"lib/python[\d.]*|usr/lib|usr/local/lib|usr/share)(?:/|$)|^<|^node:"
    )

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = frozenset(p.replace("\\", "/").lstrip("/") for p in paths)
        by_name: defaultdict[str, list[str]] = defaultdict(list)
        for path in self.paths:
            by_name[path.rsplit("/", 1)[-1]].append(path)
        self._by_name = dict(by_name)

    def __len__(self) -> int:
        return len(self.paths)

    def resolve(self, path: str | None) -> str | None:
        """The repository path of a frame's file, or None when the file is not in the repository."""
        if not path:
            return None
        parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts:
            return None
        candidates = self._by_name.get(parts[-1], [])
        if len(parts) == 1 or not candidates:
            return candidates[0] if len(candidates) == 1 else None
        best: str | None = None
        best_shared, tie = 0, False
        for candidate in candidates:
            own = candidate.split("/")
            shared = 0
            while shared < min(len(own), len(parts)) and own[-1 - shared] == parts[-1 - shared]:
                shared += 1
            if shared > best_shared:
                best, best_shared, tie = candidate, shared, False
            elif shared == best_shared:
                tie = True
        if best is None or tie:
            return None
        if best_shared >= 2:
            return best
        # Only the name matches: a root-level file, when the frame is not in a library folder.
        if "/" not in best and len(candidates) == 1 and not self._LIBRARY.search("/".join(parts[:-1])):
            return best
        return None


# -- race conditions and data validation ----------------------------------------------------------


@attrs.frozen
class ErrorClass:
    """What kind of defect an error points at: ``kind`` is ``concurrency`` or ``validation``.

    ``reason`` names the pattern (``deadlock``, ``duplicate key``, ``optimistic lock``,
    ``concurrent modification``, ``lock timeout``; ``missing field``, ``null field``,
    ``malformed value``, ``schema mismatch``, ``unknown field``); ``field`` is the input field or
    key the error names, when it names one.
    """

    kind: str
    reason: str
    field: str | None = None


_CONCURRENCY: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "deadlock",
        re.compile(r"\bdeadlock|DeadlockLoser|SQLSTATE\W*40P01|all goroutines are asleep", re.IGNORECASE),
    ),
    (
        "duplicate key",
        re.compile(
            r"duplicate key|Duplicate entry .* for key|UNIQUE constraint failed|E11000|DuplicateKey|"
            r"UniqueViolation|unique_violation|SQLSTATE\W*23505|violates unique constraint",
            re.IGNORECASE,
        ),
    ),
    (
        "optimistic lock",
        re.compile(
            r"OptimisticLock|StaleObjectState|StaleDataError|StaleStateException|"
            r"Row was updated or deleted by another transaction|version[_ ]conflict|"
            r"could not serialize access|SerializationFailure|SQLSTATE\W*40001|WriteConflict|"
            r"DbUpdateConcurrencyException",
            re.IGNORECASE,
        ),
    ),
    (
        "concurrent modification",
        re.compile(
            r"ConcurrentModification|changed size during iteration|concurrent map (?:read and map )?writes?|"
            r"DATA RACE|Collection was modified; enumeration operation may not execute|"
            r"Operations that change non-concurrent collections",
            re.IGNORECASE,
        ),
    ),
    (
        "lock timeout",
        re.compile(
            r"Lock wait timeout exceeded|lock timeout|LockTimeout|LockAcquisition|could not obtain lock|"
            r"canceling statement due to lock timeout",
            re.IGNORECASE,
        ),
    ),
)

_FIELD = r"[A-Za-z_][\w.\-\[\]]{0,80}"
_VALIDATION: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("missing field", re.compile(rf"\bKeyError: ['\"](?P<field>{_FIELD})['\"]")),
    ("missing field", re.compile(rf"['\"](?P<field>{_FIELD})['\"] is a required property")),
    (
        "missing field",
        re.compile(
            r"\bmissing (?:required )?(?:field|property|key|parameter|attribute)s?:?\s+"
            rf"['\"`]?(?P<field>{_FIELD})",
            re.IGNORECASE,
        ),
    ),
    (
        "missing field",
        re.compile(
            rf"validation errors? for \w+\s*\n\s*(?P<field>{_FIELD})\s*\n\s*(?:Field required|field required)"
        ),
    ),
    (
        "missing field",
        re.compile(rf"KeyNotFoundException: The given key '(?P<field>{_FIELD})' was not present"),
    ),
    (
        "null field",
        re.compile(rf"Cannot read propert(?:y|ies) of (?:undefined|null) \(reading '(?P<field>{_FIELD})'\)"),
    ),
    ("null field", re.compile(rf"Cannot read property '(?P<field>{_FIELD})' of (?:undefined|null)")),
    ("null field", re.compile(rf"'NoneType' object has no attribute '(?P<field>{_FIELD})'")),
    (
        "null field",
        re.compile(r"because the return value of \"[\w.$]+\.(?:get|is)(?P<getter>[A-Z]\w*)\(\)\" is null"),
    ),
    ("null field", re.compile(rf"NullPointerException.*because \"(?:this\.)?(?P<field>{_FIELD})\" is null")),
    ("null field", re.compile(rf"Value cannot be null\. \(Parameter '(?P<field>{_FIELD})'\)")),
    ("unknown field", re.compile(rf"Unrecognized field \"(?P<field>{_FIELD})\"")),
    ("unknown field", re.compile(rf"json: unknown field \"(?P<field>{_FIELD})\"")),
    (
        "malformed value",
        re.compile(rf"json: cannot unmarshal \w+ into Go (?:struct field|value of type) (?P<field>{_FIELD})"),
    ),
    (
        "schema mismatch",
        re.compile(
            rf"column \"(?P<field>{_FIELD})\" (?:of relation \"\w+\" )?does not exist|"
            rf"Unknown column '(?P<field2>{_FIELD})'|no such column: (?P<field3>{_FIELD})"
        ),
    ),
    ("schema mismatch", re.compile(r"schema mismatch|SchemaError|schema validation failed", re.IGNORECASE)),
    (
        "malformed value",
        re.compile(
            r"invalid literal for \w+\(\)|JSONDecodeError|NumberFormatException|invalid input syntax for|"
            r"MismatchedInputException|InvalidFormatException|JsonParseException|"
            r"SyntaxError: Unexpected token|"
            r"FormatException|ValidationError|ValidationException|InvalidRequest|MethodArgumentNotValid|"
            r"malformed",
        ),
    ),
)


def _clean_field(field: str) -> str:
    field = field.strip(".-[]")
    # Go's "Order.amount": the struct's field; Java's "<local4>" names nothing useful.
    return field.rsplit(".", 1)[-1] if "." in field else field


_FRAME_LINE = re.compile(r'\s+(?:at |File "|\.\.\. \d|\S+\.go:\d)')


def _essential(text: str) -> str:
    """The text without its stack frames (and Python's source lines): the words that classify it."""
    if "\n" not in text:
        return text
    kept: list[str] = []
    skip_code = False
    for line in text.split("\n"):
        if _FRAME_LINE.match(line):
            skip_code = line.lstrip().startswith("File ")
            continue
        if skip_code and line[:1] in (" ", "\t") and line.strip():
            continue  # the source line under a Python frame, and its carets
        skip_code = False
        kept.append(line)
    return "\n".join(kept)


def classify_error(text: str) -> ErrorClass | None:
    """Whether an error's text shows a race (``concurrency``) or bad input (``validation``).

    ``text`` is the record's text (message and trace); only its first 8,000 characters are read.
    Concurrency wins when both match: a duplicate key is a race even though it is reported as a
    constraint violation on a field.
    """
    if not text:
        return None
    text = _essential(text[:8000])
    for reason, pattern in _CONCURRENCY:
        if pattern.search(text):
            field = None
            key = re.search(r"Key \((?P<f>[\w, ]{1,80})\)=|for key '(?P<g>[\w.]{1,80})'", text)
            if reason == "duplicate key" and key is not None:
                field = _clean_field(key.group("f") or key.group("g"))
            return ErrorClass(kind="concurrency", reason=reason, field=field)
    for reason, pattern in _VALIDATION:
        match = pattern.search(text)
        if match is None:
            continue
        groups = {k: v for k, v in match.groupdict().items() if v}
        field = groups.get("field") or groups.get("field2") or groups.get("field3")
        if field is None and "getter" in groups:
            getter = groups["getter"]
            field = getter[0].lower() + getter[1:]
        if field is not None:
            field = _clean_field(field) or None
        return ErrorClass(kind="validation", reason=reason, field=field)
    return None
