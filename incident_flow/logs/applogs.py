"""Application logs written as ``TIMESTAMP LEVEL [component] message`` by Python, Java and Go, and
the ``plain`` fallback for anything else.

Each format is a short list of layouts, the commonest first; the one that matched last is tried
first on the next line, since a file keeps its layout. The layouts are deliberately strict about what
comes before the message (a timestamp, a known level word, brackets), because "this line does not
start a record" is what keeps a stack trace in one piece.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from incident_flow.logs.base import LineFormat, Parsed
from incident_flow.logs.levels import normalize_level
from incident_flow.logs.structured import flatten_json
from incident_flow.logs.timestamps import TimeParser

__all__ = ["GoFormat", "Log4jFormat", "PlainFormat", "PythonFormat"]

_ISO_TS = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?: ?(?:Z|[+-]\d\d(?::?\d\d)?))?"
# Java loggers also write a time of day only (logback's default), Spark's yy/MM/dd and HDFS's yyMMdd.
_JAVA_TS = rf"{_ISO_TS}|\d\d:\d\d:\d\d[.,]\d{{3}}|\d\d/\d\d/\d\d \d\d:\d\d:\d\d|\d{{6}} \d{{6}}"
_LEVEL_WORDS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "SEVERE")
_LEVEL = "(?:" + "|".join(w for word in _LEVEL_WORDS for w in (word, word.lower(), word.title())) + ")"
_LEVEL_UPPER = "(?:" + "|".join(_LEVEL_WORDS) + ")"

_LayoutList = list[re.Pattern[str]]


def _first_match(layouts: _LayoutList, line: str) -> re.Match[str] | None:
    """The first layout that matches the whole line; the winner moves to the front."""
    for index, layout in enumerate(layouts):
        m = layout.fullmatch(line)
        if m is not None:
            if index:
                layouts.insert(0, layouts.pop(index))
            return m
    return None


def _fields(m: re.Match[str], skip: frozenset[str]) -> dict[str, str]:
    return {k: v for k, v in m.groupdict().items() if v is not None and k not in skip}


_SKIP = frozenset({"ts", "level", "msg"})


class _TimestampedFormat(LineFormat):
    def timestamp(self, text: str) -> datetime | None:
        if len(text) >= 19 and text[4] == "-" and text[10] in "T ":
            return self.times.iso(text)
        return self.times.parse(text)


class PythonFormat(_TimestampedFormat):
    """Python ``logging`` layouts.

    - ``2024-01-02 03:04:05,123 ERROR [orders] msg`` (the bracket is the component)
    - ``2024-01-02 03:04:05,123 - orders.api - ERROR - msg`` (the logger goes to field ``logger``)
    - ``2024-01-02 03:04:05,123 [ERROR] msg``, ``[2024-01-02 03:04:05 +0000] [12] [INFO] msg`` (gunicorn)
    - ``ERROR:orders:msg`` (``logging.basicConfig()``'s default, which has no time)
    """

    name = "python"

    def __init__(self, times: TimeParser) -> None:
        super().__init__(times)
        self.layouts: _LayoutList = [
            re.compile(
                rf"\[?(?P<ts>{_ISO_TS})\]?(?:\s+-)?\s+(?:\[(?P<pid>\d+)\]\s+)?(?:(?P<logger>[\w.\-]+)\s+)?"
                rf"\[?(?P<level>{_LEVEL})\]?:?(?:\s+-)?(?:\s+\[(?P<component>[^\]]*)\]:?)?(?:\s+(?P<msg>.*))?"
            ),
            re.compile(
                rf"\[?(?P<ts>{_ISO_TS})\]?\s+-\s+(?P<logger>\S+)\s+-\s+(?P<level>{_LEVEL})\s+-(?:\s+(?P<msg>.*))?"
            ),
            re.compile(r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<logger>[^:\s]*):(?P<msg>.*)"),
        ]

    def parse(self, line: str) -> Parsed | None:
        m = _first_match(self.layouts, line)
        if m is None:
            return None
        groups = m.groupdict()
        ts = groups.get("ts")
        fields = _fields(m, _SKIP)
        return (
            groups["msg"] or "",
            self.timestamp(ts) if ts else None,
            normalize_level(groups["level"]),
            groups.get("component"),
            fields,
            None,
        )


class Log4jFormat(_TimestampedFormat):
    """log4j, logback and Spring Boot layouts.

    - ``2024-01-02 03:04:05.123 [main] ERROR com.x.Y - msg`` (logback's default, also time-only)
    - ``2024-01-02T03:04:05.123Z ERROR [main] com.x.Y: msg``, ``... INFO com.x.Y - msg``
    - ``2024-01-02 03:04:05.123  INFO 123 --- [main] o.s.b.Foo : msg`` (Spring Boot)
    - ``2024-01-02 03:04:05,747 - INFO  [main:Foo@774] - msg`` (ZooKeeper)

    The bracket is the thread (field ``thread``), not a component; the class is field ``logger``.
    Spring Boot's application name, when it writes one, is the component.
    """

    name = "log4j"

    def __init__(self, times: TimeParser) -> None:
        super().__init__(times)
        self.layouts: _LayoutList = [
            re.compile(
                rf"(?P<ts>{_JAVA_TS})\s+\[(?P<thread>[^\]]*)\]\s+(?P<level>{_LEVEL})\s+(?P<logger>\S+)"
                r"\s+-(?:\s+(?P<msg>.*))?"
            ),
            re.compile(
                rf"(?P<ts>{_JAVA_TS})\s+(?:(?P<tid>\d+)\s+)?(?P<level>{_LEVEL})\s+(?:\[(?P<thread>[^\]]*)\]\s+)?"
                r"(?:(?P<logger>[\w$]+(?:\.[\w$]+)*):|(?P<short_logger>[\w$.]+)\s+-)(?:\s+(?P<msg>.*))?"
            ),
            re.compile(
                rf"(?P<ts>{_ISO_TS})\s+(?P<level>{_LEVEL})\s+(?P<pid>\d+)\s+---\s+(?:\[(?P<app>[^\]]*)\]\s+)?"
                r"\[\s*(?P<thread>[^\]]*)\]\s+(?P<logger>\S+)\s*:(?:\s+(?P<msg>.*))?"
            ),
            re.compile(
                rf"(?P<ts>{_ISO_TS})\s+-\s+(?P<level>{_LEVEL})\s+\[(?P<thread>.*?)\]\s+-(?:\s+(?P<msg>.*))?"
            ),
        ]

    def parse(self, line: str) -> Parsed | None:
        m = _first_match(self.layouts, line)
        if m is None:
            return None
        groups = m.groupdict()
        fields = _fields(m, _SKIP)
        short = fields.pop("short_logger", None)
        if short is not None:
            fields["logger"] = short
        app = fields.get("app")
        return (
            groups["msg"] or "",
            self.timestamp(groups["ts"]),
            normalize_level(groups["level"]),
            (app.strip() or None) if app else None,
            fields,
            None,
        )


_GO_STD = re.compile(
    r"(?P<ts>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})?)"
    rf"(?:\s+(?:(?P<caller>[\w./-]+\.go:\d+):\s*)?(?:\[?(?P<level>{_LEVEL})\]?:?(?:\s+|$))?(?P<msg>.*))?"
)
_KLOG = re.compile(
    r"(?P<level>[IWEF])(?P<month>\d\d)(?P<day>\d\d) "
    r"(?P<hh>\d\d):(?P<mm>\d\d):(?P<ss>\d\d)(?:\.(?P<frac>\d+))?"
    r"\s+(?P<pid>\d+) (?P<caller>[^\]\s]+)\](?:\s(?P<msg>.*))?"
)
_ZAP = re.compile(
    rf"(?P<ts>{_ISO_TS})\t(?P<level>[A-Za-z]+)\t(?:(?P<logger>[^\t]+)\t)?(?P<caller>[^\t\s]+:\d+)\t"
    r"(?P<msg>[^\t]*)(?:\t(?P<context>\{.*\}))?"
)


class GoFormat(_TimestampedFormat):
    """Go's ``log`` package (``2024/01/02 03:04:05 msg``, with ``Lshortfile`` and ``Lmicroseconds``),
    klog/glog (``E0102 03:04:05.123456   123 file.go:42] msg``, Kubernetes) and zap's console encoder.

    Go panics and goroutine dumps do not match, so they stay with the record before them.
    logrus and zap's logfmt-like text reads as ``logfmt``.
    """

    name = "go"

    def parse(self, line: str) -> Parsed | None:
        first = line[:1]
        if first.isdigit():
            m = _GO_STD.fullmatch(line)
            if m is not None:
                ts, caller, level, message = m.groups()
                fields = {"caller": caller} if caller else {}
                return (
                    message or "",
                    self.times.iso(ts.replace("/", "-")),
                    normalize_level(level),
                    None,
                    fields,
                    None,
                )
            m = _ZAP.fullmatch(line)
            if m is not None:
                return self._zap(m)
            return None
        if first in "IWEF":
            m = _KLOG.fullmatch(line)
            if m is not None:
                return self._klog(m)
        return None

    def _klog(self, m: re.Match[str]) -> Parsed | None:
        g = m.groupdict()
        frac = g["frac"] or ""
        try:
            at: datetime | None = self.times.yearless(
                int(g["month"]),
                int(g["day"]),
                int(g["hh"]),
                int(g["mm"]),
                int(g["ss"]),
                int((frac + "000000")[:6]),
            )
        except ValueError:
            at = None
        fields = {"pid": g["pid"], "caller": g["caller"]}
        return (g["msg"] or "", at, normalize_level(g["level"]), None, fields, None)

    def _zap(self, m: re.Match[str]) -> Parsed:
        g = m.groupdict()
        fields = {k: v for k, v in g.items() if v is not None and k not in ("ts", "level", "msg", "context")}
        context = g["context"]
        if context:
            try:
                obj = json.loads(context)
                if isinstance(obj, dict):
                    flatten_json(obj, fields)
            except (ValueError, RecursionError):
                fields["context"] = context
        return (g["msg"], self.timestamp(g["ts"]), normalize_level(g["level"]), None, fields, None)


_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_PLAIN = re.compile(
    r"(?:\[?(?P<ts>"
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d(?::?\d\d)?| UTC| GMT)?"
    r"|\d{4}/\d\d/\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?"
    rf"|{_MONTH} {{1,2}}\d{{1,2}} \d\d:\d\d:\d\d"
    rf"|\d\d/{_MONTH}/\d{{4}}:\d\d:\d\d:\d\d(?: [+-]\d{{4}})?"
    r")\]?(?:[\s,|-]+|:\s+|$))?"
    rf"(?:\[?(?P<level>{_LEVEL_UPPER})\]?:?(?:\s+|$))?"
)


class PlainFormat(_TimestampedFormat):
    """Every line is a record; a timestamp at the start of the line (ISO 8601, ``2024/01/02``,
    syslog's ``Mar  1``, Apache's ``02/Jan/2024:...``) and an upper-case level word after it are read
    when present. Indented lines and stack-trace markers still continue the record before.
    """

    name = "plain"
    weak = True

    def parse(self, line: str) -> Parsed | None:
        m = _PLAIN.match(line)
        end = m.end() if m is not None else 0
        if not end:
            return (line, None, None, None, {}, None)
        assert m is not None
        ts, level = m.groups()
        message = line[end:] or line
        return (message, self.timestamp(ts) if ts else None, normalize_level(level), None, {}, None)
