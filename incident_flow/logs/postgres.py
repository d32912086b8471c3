"""PostgreSQL's server log with the default ``log_line_prefix`` (``'%m [%p] '``) and its usual
extension ``'%m [%p] %q%u@%d '``.

PostgreSQL writes the context of a message as lines of their own with the same prefix (``DETAIL:``,
``HINT:``, ``CONTEXT:``, ``STATEMENT:``, ``QUERY:``, ``LOCATION:``): by this format's rule those lines
continue the record before, so an error and the statement that caused it stay one record.
"""

from __future__ import annotations

import re
from datetime import datetime

from incident_flow.logs.base import LineFormat, Parsed
from incident_flow.logs.levels import normalize_level

__all__ = ["PostgresFormat"]

_LINE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: (?P<zone>[A-Za-z]{1,5}|[+-]\d\d(?::?\d\d)?))? "
    r"\[(?P<pid>\d+)\](?:-\d+)? (?:(?P<user>[^@\s\[\]]*)@(?P<database>\S*) )?"
    r"(?P<severity>DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC"
    r"|DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):(?:\s+(?P<msg>.*))?"
)
_CONTEXT = frozenset({"DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION"})


class PostgresFormat(LineFormat):
    """``2024-01-02 03:04:05.123 UTC [123] ERROR:  duplicate key value violates unique constraint``."""

    name = "postgres"

    def parse(self, line: str) -> Parsed | None:
        m = _LINE.fullmatch(line)
        if m is None:
            return None
        ts, zone, pid, user, database, severity, message = m.groups()
        if severity in _CONTEXT:
            return None
        fields = {"pid": pid, "severity": severity}
        if user:
            fields["user"] = user
        if database:
            fields["database"] = database
        times = self.times
        if zone is None:
            at = times.iso(ts)
        elif zone == "UTC":
            at = times.iso(ts + "+00:00")
        else:
            try:
                at = times.with_zone_name(datetime.fromisoformat(ts), zone)
            except ValueError:
                at = None
        return (message or "", at, normalize_level(severity), None, fields, None)

    def recognizes(self, line: str) -> bool:
        return _LINE.fullmatch(line) is not None
