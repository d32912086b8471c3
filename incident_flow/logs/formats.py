"""The format names a source can use, and building a format from a name and the source's options."""

from __future__ import annotations

import attrs

from incident_flow.logs.applogs import GoFormat, Log4jFormat, PlainFormat, PythonFormat
from incident_flow.logs.base import FieldNames, LineFormat
from incident_flow.logs.layout import Layout
from incident_flow.logs.nginx import NginxErrorFormat, NginxFormat
from incident_flow.logs.pattern import CompiledPattern, PatternFormat
from incident_flow.logs.postgres import PostgresFormat
from incident_flow.logs.structured import JsonFormat, LogfmtFormat
from incident_flow.logs.syslog import SyslogFormat
from incident_flow.logs.timestamps import TimeParser

__all__ = ["DETECTED_FORMATS", "FORMATS", "FormatOptions", "make_format"]

#: Every value ``format`` accepts, with the line for the config reference.
FORMATS: dict[str, str] = {
    "auto": "detect per file from its first 50 non-empty lines (the formats below, else plain)",
    "json": "JSON lines; time/level/message from the usual keys or time_field/level_field/message_field",
    "logfmt": "key=value pairs (logfmt, logrus and zerolog text); the same keys as json",
    "nginx": "nginx/Apache combined access log, optionally + $request_time $upstream_response_time, "
    "or the source's log_format",
    "nginx-error": "nginx error log: 2024/01/02 03:04:05 [error] 123#0: *45 message",
    "syslog": "syslog files, RFC 3164 (year taken nearest to the detection time) and RFC 5424",
    "postgres": "PostgreSQL's log with the default log_line_prefix '%m [%p] ' (DETAIL/STATEMENT lines join)",
    "log4j": "log4j/logback/Spring Boot: TIMESTAMP [thread] LEVEL logger - message and its variants",
    "python": "Python logging: TIMESTAMP LEVEL [component] message, TIMESTAMP - name - LEVEL - message",
    "go": "Go's log package (2024/01/02 03:04:05 msg), klog (E0102 03:04:05.123 ...] msg), zap console",
    "plain": "each line a record, with the timestamp and level read from its start when present",
    "pattern": "the layout in `pattern` (loghub notation, or a regex with named groups)",
}

#: The formats ``auto`` tries, in order; a tie goes to the earlier one. log4j comes before python
#: because its layouts are stricter: a line both read (``TS INFO [main] org.x.Y: msg``) is Java's.
DETECTED_FORMATS = ("json", "logfmt", "nginx", "nginx-error", "syslog", "postgres", "log4j", "python", "go")


@attrs.frozen
class FormatOptions:
    """The options that shape a format, validated and compiled."""

    pattern: CompiledPattern | None = None
    log_format: Layout | None = None
    names: FieldNames = attrs.field(factory=FieldNames)


def make_format(name: str, times: TimeParser, options: FormatOptions | None = None) -> LineFormat:
    """A fresh format instance (formats keep per-file state such as the layout that matched last)."""
    options = options or FormatOptions()
    if name == "json":
        return JsonFormat(times, options.names)
    if name == "logfmt":
        return LogfmtFormat(times, options.names)
    if name == "nginx":
        return NginxFormat(times, options.log_format)
    if name == "nginx-error":
        return NginxErrorFormat(times)
    if name == "syslog":
        return SyslogFormat(times)
    if name == "postgres":
        return PostgresFormat(times)
    if name == "log4j":
        return Log4jFormat(times)
    if name == "python":
        return PythonFormat(times)
    if name == "go":
        return GoFormat(times)
    if name == "plain":
        return PlainFormat(times)
    if name == "pattern":
        if options.pattern is None:
            raise ValueError("format 'pattern' needs a pattern")
        return PatternFormat(times, options.pattern, options.names)
    raise ValueError(f"unknown log format {name!r}")
