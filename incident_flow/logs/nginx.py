"""nginx (and Apache) access logs, nginx's own ``log_format`` strings, and nginx's error log.

An access-log record is a request: its message is the request line and the status
(``GET /api/orders HTTP/1.1 502``), which groups well into templates, and its level follows the
status (5xx error, 4xx warning, else info) so "more errors" means the same thing as in an
application log. The fields keep nginx's variable names, so ``component_field = "host"`` or a
security rule on ``http_user_agent`` reads the same as the nginx.conf that wrote the line.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from incident_flow.logs.base import LineFormat, Parsed
from incident_flow.logs.layout import Layout, build_layout
from incident_flow.logs.levels import level_from_status, normalize_level
from incident_flow.logs.timestamps import MONTHS, TimeParser

__all__ = ["NginxErrorFormat", "NginxFormat", "compile_log_format"]

# A quoted value; nginx escapes quotes inside as \x22, Apache as \". (Unrolled: no per-character
# alternation, which matters at a million lines.)
_QUOTED = r'[^"\\]*(?:\\.[^"\\]*)*'

# $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
#   "$http_referer" "$http_user_agent"   (the referer and agent are absent in Apache's common log)
# optionally followed by $request_time $upstream_response_time ("0.012, 0.004" when retried);
# anything after that (an X-Forwarded-For, say) stays in the record's text.
_COMBINED = re.compile(
    r"(?P<remote_addr>\S+) \S+ (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "
    rf'"(?P<request>(?P<method>[A-Z][A-Z_-]*) (?P<path>[^\s"]+)(?: (?P<protocol>[A-Z]+/[\d.]+))?|{_QUOTED})" '
    r"(?P<status>\d{3}) (?P<body_bytes_sent>\d+|-)"
    rf'(?: "(?P<http_referer>{_QUOTED})" "(?P<http_user_agent>{_QUOTED})")?'
    r"(?:\s+(?P<request_time>\d+(?:\.\d+)?|-)"
    r"(?:\s+(?P<upstream_response_time>[\d.]+(?:\s*[,:]\s*[\d.]+)*|-))?)?"
    r"(?:\s.*)?"
)
_REQUEST = re.compile(r"(?P<method>[A-Z][A-Z_-]*) (?P<path>\S+)(?: (?P<protocol>[A-Z]+/[\d.]+))?")

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _log_format_text(value: str) -> str:
    """The format string itself, from either the string or a ``log_format`` directive as pasted.

    ``log_format main '$remote_addr - ...' '"$http_user_agent"';`` becomes the concatenation of its
    quoted pieces, which is what nginx does with them.
    """
    text = value.strip()
    directive = re.match(r"log_format\s+\S+\s+(?:escape=\S+\s+)?", text)
    if directive:
        text = text[directive.end() :]
    text = text.rstrip().removesuffix(";").rstrip()
    pieces = re.findall(r"'([^']*)'|\"((?:[^\"\\]|\\.)*)\"", text)
    rebuilt = re.sub(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"", "", text)
    if pieces and (directive or text[0] in "'\"") and not rebuilt.strip():
        return "".join(single or double for single, double in pieces)
    return text


def _fast_variable(following: str) -> str:
    # A variable followed by a quote or a bracket stops there (nginx escapes both inside values);
    # any other takes no white space in the fast form (the planner handles "0.012, 0.004").
    stop = following[:1]
    if stop in ('"', "]", "'"):
        return f"[^{re.escape(stop)}]*"
    return r"\S*?"


def compile_log_format(value: str) -> Layout:
    """A layout for lines written by an nginx ``log_format``: each ``$variable`` is a field.

    Matched like a loghub layout (non-greedy fields, bounded work, see
    :mod:`incident_flow.logs.layout`). Raises ValueError when there is no variable.
    """
    text = _log_format_text(value)
    parts = _VARIABLE.split(text)
    # split() gives: literal, braced-name, bare-name, literal, ...
    literals = parts[0::3]
    names: list[str] = []
    for braced, bare in zip(parts[1::3], parts[2::3], strict=True):
        name = braced or bare
        if not name.isidentifier() or name in names:  # $1, or a variable logged twice
            name = f"var_{len(names) + 1}"
        names.append(name)
    if not names:
        raise ValueError("no $variable in the log_format")
    return build_layout(
        text,
        literals,
        names,
        separator=re.escape,
        fast_separator=re.escape,
        fast_field=_fast_variable,
    )


class NginxFormat(LineFormat):
    """The combined access-log layout (optionally with request and upstream times), or a log_format."""

    name = "nginx"

    def __init__(self, times: TimeParser, log_format: Layout | None = None) -> None:
        super().__init__(times)
        self.layout = log_format
        self._local_cache: dict[str, datetime | None] = {}

    def parse(self, line: str) -> Parsed | None:
        if self.layout is not None:
            return self._parse_custom(line)
        m = _COMBINED.fullmatch(line)
        if m is None:
            return None
        fields = {k: v for k, v in m.groupdict().items() if v is not None}
        status = fields["status"]
        return (
            f"{fields['request']} {status}",
            self.time_local(fields["time_local"]),
            level_from_status(status),
            None,
            fields,
            None,
        )

    def _parse_custom(self, line: str) -> Parsed | None:
        assert self.layout is not None
        groups = self.layout.match(line)
        if groups is None:
            return None
        fields = {k: v for k, v in groups.items() if v is not None}
        at = None
        if "time_local" in fields:
            at = self.time_local(fields["time_local"])
        elif "time_iso8601" in fields:
            at = self.times.iso(fields["time_iso8601"])
        elif "msec" in fields:
            at = self.times.parse(fields["msec"])
        status = fields.get("status")
        request = fields.get("request")
        if request is not None:
            self._split_request(request, fields)
        elif "request_method" in fields and "request_uri" in fields:
            request = f"{fields['request_method']} {fields['request_uri']}"
        message = line if request is None else f"{request} {status}" if status else request
        level = level_from_status(status) if status and status.isdigit() else None
        return (message, at, level, None, fields, None)

    @staticmethod
    def _split_request(request: str, fields: dict[str, str]) -> None:
        parts = _REQUEST.fullmatch(request)
        if parts is not None:
            fields["method"] = parts.group("method")
            fields["path"] = parts.group("path")
            if parts.group("protocol"):
                fields["protocol"] = parts.group("protocol")

    def time_local(self, text: str) -> datetime | None:
        """``02/Jan/2024:03:04:05 +0000``, cached: a busy server writes the same second many times."""
        cache = self._local_cache
        if text in cache:
            return cache[text]
        result: datetime | None
        try:
            day, month, rest = text[:2], text[3:6], text[7:]
            year, hh, mm, ss = int(rest[:4]), int(rest[5:7]), int(rest[8:10]), int(rest[11:13])
            naive = datetime(year, MONTHS[month], int(day), hh, mm, ss)
            offset = rest[14:].strip()
            if offset and offset[0] in "+-" and len(offset) >= 5:
                minutes = int(offset[1:3]) * 60 + int(offset[-2:])
                zone = timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
                result = naive.replace(tzinfo=zone)
            else:
                result = self.times.attach(naive)
        except (KeyError, ValueError, IndexError):
            result = self.times.parse(text)
        if len(cache) > 4096:
            cache.clear()
        cache[text] = result
        return result


# 2024/01/02 03:04:05 [error] 123#0: *45 connect() failed ..., client: 10.0.0.1, server: _, ...
_ERROR = re.compile(
    r"(?P<ts>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+): "
    r"(?:\*(?P<connection>\d+) )?(?P<msg>.*)"
)
_ERROR_CONTEXT = re.compile(rf', (client|server|request|upstream|host|referrer): ("{_QUOTED}"|[^,]*)')


class NginxErrorFormat(LineFormat):
    """nginx's error log; the ``client:``, ``server:``, ``request:``, ``upstream:`` tail becomes fields."""

    name = "nginx-error"

    def parse(self, line: str) -> Parsed | None:
        m = _ERROR.fullmatch(line)
        if m is None:
            return None
        ts, level, pid, tid, connection, message = m.groups()
        fields = {"pid": pid, "tid": tid}
        if connection:
            fields["connection"] = connection
        if ", " in message:
            for key, value in _ERROR_CONTEXT.findall(message):
                fields[key] = value[1:-1] if value[:1] == '"' else value
        at = self.times.iso(ts.replace("/", "-"))
        return (message, at, normalize_level(level), None, fields, None)
