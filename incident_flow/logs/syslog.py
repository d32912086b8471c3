"""Syslog lines, as files on disk hold them: RFC 3164 (BSD) and RFC 5424.

The fields are syslog's own: ``host``, ``app`` (the tag), ``pid``, and for RFC 5424 ``msgid`` and
``structured_data``. The component is the app, since a syslog file mixes many programs; a source
whose hosts are the components says ``component_field = "host"``. RFC 3164 stamps carry no year: they
take the year nearest to the run's detection time (see :mod:`incident_flow.logs.timestamps`). The
level comes from the PRI when the line carries one (rsyslog's file output usually does not).
"""

from __future__ import annotations

import re

from incident_flow.logs.base import LineFormat, Parsed
from incident_flow.logs.levels import level_from_syslog

__all__ = ["SyslogFormat"]

_RFC3164 = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?"
    r"(?P<ts>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d\d:\d\d:\d\d"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?) "
    r"(?P<host>\S+) (?:(?P<app>[^\s\[:]+)(?:\[(?P<pid>[^\]]*)\])?: ?)?(?P<msg>.*)"
)
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?"
)


class SyslogFormat(LineFormat):
    """RFC 3164 (``Mar  1 10:00:00 host app[pid]: msg``, optionally ``<PRI>``-prefixed, or with an
    RFC 3339 stamp as rsyslog's high-precision template writes) and RFC 5424."""

    name = "syslog"

    def parse(self, line: str) -> Parsed | None:
        if line[:1] == "<":
            m = _RFC5424.fullmatch(line)
            if m is not None:
                return self._rfc5424(m)
        m = _RFC3164.fullmatch(line)
        if m is None:
            return None
        pri, ts, host, app, pid, message = m.groups()
        fields = {"host": host}
        if app:
            fields["app"] = app
        if pid:
            fields["pid"] = pid
        level = None
        if pri is not None:
            level = self._priority(int(pri), fields)
        at = self.times.iso(ts) if ts[0].isdigit() else self.times.parse(ts)
        return (message, at, level, app, fields, None)

    def _rfc5424(self, m: re.Match[str]) -> Parsed:
        pri, ts, host, app, pid, msgid, sd, message = m.groups()
        fields: dict[str, str] = {}
        for key, value in (
            ("host", host),
            ("app", app),
            ("pid", pid),
            ("msgid", msgid),
            ("structured_data", sd),
        ):
            if value != "-":
                fields[key] = value
        level = self._priority(int(pri), fields)
        at = None if ts == "-" else self.times.iso(ts)
        message = (message or "").removeprefix("\ufeff")
        return (message, at, level, fields.get("app"), fields, None)

    @staticmethod
    def _priority(pri: int, fields: dict[str, str]) -> str:
        fields["facility"] = str(pri // 8)
        fields["severity"] = str(pri % 8)
        return level_from_syslog(pri)
